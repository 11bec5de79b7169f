//! `kcf serve`: the api and/or worker roles against the systems the configuration names.

use std::{process::ExitCode, time::Duration};

use anyhow::{Context, bail};
use kcf_server::AppConfig;

use crate::{
    application::{Application, Build},
    cli::{Role, ServeArgs},
    config::Config,
};

/// Runs until interrupted.
pub async fn run(
    args: ServeArgs,
    config: Config,
    config_path: Option<std::path::PathBuf>,
) -> anyhow::Result<ExitCode> {
    let config = config.with_database_url(args.database_url)?;
    let specs = config.connector_specs()?;
    if specs.is_empty() && config_path.is_none() {
        bail!(
            "no connectors configured: pass --config with a [[connectors]] table (see \
             docs/kcf.sample.toml)"
        );
    }
    let (api, worker) = match args.role {
        Role::All => (true, true),
        Role::Api => (true, false),
        Role::Worker => (false, true),
    };
    // The credentials key: KCF_SECRET_KEY, else secret.key next to the config file.
    let key_dir = config_path
        .as_deref()
        .and_then(std::path::Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    let admin = std::env::var("KCF_ADMIN_PASSWORD").ok();
    let application = Application::build(Build {
        store: &config.store_config(),
        key_dir: Some(&key_dir),
        admin: Some(admin.as_deref()),
        connectors: specs,
        restore: true,
    })
    .await?;
    if let Some(generated) = &application.admin_password {
        // Printed once, at the first start; reset it with KCF_ADMIN_PASSWORD.
        eprintln!("workspace user 'admin' created with password {generated}");
    }
    let engine = application.engine.clone();
    if engine.runtimes().is_empty() {
        bail!(
            "no connectors configured: add a [[connectors]] table to the --config file (see \
             docs/kcf.sample.toml)"
        );
    }
    let listener = if api {
        Some(
            tokio::net::TcpListener::bind(&config.server.listen)
                .await
                .with_context(|| {
                    format!("cannot listen on {} (server.listen)", config.server.listen)
                })?,
        )
    } else {
        None
    };
    let mut workers = kcf_engine::WorkerConfig {
        concurrency: config.worker.concurrency,
        lease: Duration::from_secs(config.worker.lease_secs),
        ..kcf_engine::WorkerConfig::default()
    };
    if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
        workers.owner = format!("{}-{}", host.trim(), std::process::id());
    }
    let app = kcf_server::start(
        engine.clone(),
        listener,
        AppConfig {
            api,
            worker,
            workers,
            worker_loops: config.worker.loops,
            api_tokens: config.server.api_tokens.clone(),
            ..AppConfig::default()
        },
    )
    .await?;
    if let Some(url) = app.url() {
        eprintln!(
            "kcf serving on {url} (api{})",
            if worker { " + workers" } else { "" }
        );
    } else {
        eprintln!("kcf worker running");
    }
    crate::signals::wait().await;
    tracing::info!("stopping: finishing in-flight work");
    app.shutdown().await;
    application.sign_out().await;
    Ok(ExitCode::SUCCESS)
}
