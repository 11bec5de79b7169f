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
        reseal: args.reseal,
    })
    .await?;
    if let Some(generated) = &application.admin_password {
        // Not into the log stream (logs are shipped and kept): into a file only this user
        // reads, next to the key. Reset it with KCF_ADMIN_PASSWORD.
        let file = key_dir.join("admin-password");
        match write_private(&file, generated) {
            Ok(()) => eprintln!(
                "workspace user 'admin' created; its password is in {} (readable by this user \
                 only: read it, then delete the file)",
                file.display()
            ),
            Err(e) => eprintln!(
                "workspace user 'admin' created, but its password could not be written to {} \
                 ({e}); set one with KCF_ADMIN_PASSWORD and restart",
                file.display()
            ),
        }
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

/// Writes `text` to a new file of mode 0600 (replacing an older one).
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    writeln!(f, "{text}")
}
