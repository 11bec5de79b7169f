//! `kcf serve`: the api and/or worker roles against the systems the configuration names.

use std::{process::ExitCode, time::Duration};

use anyhow::{Context, bail};
use kcf_server::AppConfig;

use crate::{
    cli::{Role, ServeArgs},
    config::Config,
};

/// Runs until interrupted.
pub async fn run(args: ServeArgs, config: Config) -> anyhow::Result<ExitCode> {
    let config = config.with_database_url(args.database_url)?;
    let specs = config.connector_specs()?;
    if specs.is_empty() {
        bail!(
            "no connectors configured: add a [[connectors]] table to the --config file (see \
             docs/kcf.sample.toml)"
        );
    }
    let (api, worker) = match args.role {
        Role::All => (true, true),
        Role::Api => (true, false),
        Role::Worker => (false, true),
    };
    if api && config.server.api_tokens.iter().all(|t| t.is_empty()) {
        bail!("server.api_tokens is empty: add at least one token so the REST API can be used");
    }
    let store = kcf_store::open(&config.store_config()).await?;
    store.migrate().await?;
    let engine = kcf_engine::Engine::new(store);
    for spec in specs {
        let id = spec.id.clone();
        engine.add_connector(spec).await?;
        tracing::info!(connector = %id, "connector configured");
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
    for conn in engine.runtimes() {
        let _ = conn.erp.logout().await;
    }
    Ok(ExitCode::SUCCESS)
}
