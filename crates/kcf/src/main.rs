//! The `kcf` binary: parses the command line, loads the configuration, runs a command.

mod application;
mod bench;
mod bench_batch;
mod bench_ingest;
mod bench_sandbox;
mod bench_shopify;
mod bench_shopify_engine;
mod bench_sync;
mod bench_ui;
mod cli;
mod config;
mod remote;
mod sandbox;
mod serve;
mod signals;
mod up;

use std::{process::ExitCode, time::Duration};

use clap::Parser;
use cli::{Cli, Command};
use config::Config;
use kcf_domain::Timestamp;

#[tokio::main]
async fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    // reqwest is built without a default TLS provider (aws-lc is slow to build): use ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    init_tracing(cli.log_json);
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `kcf messages list | head` closes the pipe early: end quietly, as other command-line
/// tools do, instead of printing a panic and a backtrace.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if text.contains("failed printing to stdout") && text.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KCF_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// `kcf migrate --database-url sqlite://./kcf-data/kcf.db` on a fresh clone: the directory
/// is made, as `kcf up` makes its data directory. Best effort: when it cannot be made, opening
/// the store says what is wrong.
fn create_sqlite_dir(url: &str) {
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    if url.starts_with("postgres") || path.starts_with(':') {
        return;
    }
    let path = path.split('?').next().unwrap_or(path);
    if let Some(dir) = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        let _ = std::fs::create_dir_all(dir);
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let env = config::process_env();
    let config = Config::load(cli.config.as_deref(), &env)?;
    let config_path = cli.config.clone();
    Ok(match cli.command {
        Command::Up(args) => up::run(args, config).await?,
        Command::Serve(args) => serve::run(args, config, config_path).await?,
        Command::Sandbox(args) => sandbox::run(args).await?,
        Command::Batch(args) => remote::batch(args).await?,
        Command::Messages(args) => remote::messages(args).await?,
        Command::Bindings(args) => remote::bindings(args).await?,
        Command::Migrate(args) => {
            let config = config.with_database_url(args.database_url)?;
            create_sqlite_dir(&config.database_url.0);
            let store = kcf_store::open(&config.store_config()).await?;
            store.migrate().await?;
            println!(
                "{:?} store at {} is up to date",
                store.backend(),
                config.database_url
            );
            ExitCode::SUCCESS
        }
        Command::Prune(args) => {
            let config = config.with_database_url(args.database_url)?;
            let days = args
                .older_than_days
                .unwrap_or(config.retention.finished_days);
            let store = kcf_store::open(&config.store_config()).await?;
            let before = Timestamp::now().minus(Duration::from_secs(u64::from(days) * 86_400));
            let pruned = store.prune(before, 500).await?;
            println!("pruned {pruned} finished messages older than {days} days");
            ExitCode::SUCCESS
        }
        Command::Bench(cli::BenchCommand::Queue(args)) => {
            bench::queue(&args).await?;
            ExitCode::SUCCESS
        }
        Command::Bench(cli::BenchCommand::Sandbox(args)) => {
            bench_sandbox::run(&args).await?;
            ExitCode::SUCCESS
        }
        Command::Bench(cli::BenchCommand::Sync(args)) => {
            bench_sync::run(&args).await?;
            ExitCode::SUCCESS
        }
        Command::Bench(cli::BenchCommand::ShopifyStock(args)) => {
            if args.engine {
                bench_shopify_engine::run(&args).await?;
            } else {
                bench_shopify::run(&args).await?;
            }
            ExitCode::SUCCESS
        }
        Command::Bench(cli::BenchCommand::Ingest(args)) => {
            bench_ingest::run(&args).await?;
            ExitCode::SUCCESS
        }
        Command::Bench(cli::BenchCommand::Batch(args)) => {
            bench_batch::run(&args).await?;
            ExitCode::SUCCESS
        }
        Command::Bench(cli::BenchCommand::Ui(args)) => {
            bench_ui::run(&args).await?;
            ExitCode::SUCCESS
        }
    })
}
