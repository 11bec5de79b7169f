//! `kcf up`: the sandbox emulators (seeded), the server and the workers on an embedded SQLite
//! file, one connector from the ERP emulator to each store emulator (`--stores`, BigCommerce
//! and Shopify by default), the initial sync, and a banner that says where to look. Stops
//! gracefully on Ctrl-C or SIGTERM.

use std::{io::Write, path::PathBuf, process::ExitCode};

use anyhow::Context;
use kcf_domain::{ConnectorId, Secret};
use kcf_engine::registry::StoreKind;
use kcf_sandbox::{Dataset, Faults, SeedSize};
use kcf_server::{AppConfig, wiring};

use crate::{
    application::{Application, Build},
    cli::UpArgs,
    config::Config,
};

async fn listen(port: u16, flag: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port} ({flag}); is it in use?"))
}

/// Runs everything until interrupted.
pub async fn run(args: UpArgs, config: Config) -> anyhow::Result<ExitCode> {
    let data_dir = args.data_dir.unwrap_or_else(|| PathBuf::from("kcf-data"));
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    // One kcf up per data directory: a second would share the SQLite file and the sandbox
    // state with the first. The lock goes with the process, however it ends.
    let lock = std::fs::File::create(data_dir.join("kcf-up.lock"))
        .with_context(|| format!("cannot write in the data directory {}", data_dir.display()))?;
    if lock.try_lock().is_err() {
        anyhow::bail!(
            "another kcf up is running on the data directory {} (stop it, or pass another --data-dir)",
            data_dir.display()
        );
    }
    let seed: SeedSize = args
        .seed
        .as_deref()
        .unwrap_or("small")
        .parse()
        .map_err(anyhow::Error::msg)?;
    let mut kinds: Vec<StoreKind> = Vec::new();
    for name in &args.stores {
        let kind = StoreKind::parse(name).map_err(anyhow::Error::msg)?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        anyhow::bail!("--stores names no store; use bigcommerce, shopify or both");
    }
    let api_listener = listen(args.port.unwrap_or(8080), "--port").await?;
    let acu_listener = listen(args.acumatica_port.unwrap_or(8081), "--acumatica-port").await?;
    let dataset = Dataset::generate(seed);
    // The sandbox keeps its data next to kcf's database, so a restart finds both as they were.
    let acu_state = data_dir.join("sandbox-acumatica.json");
    let restored = acu_state.exists();
    let mut acu_config = kcf_sandbox::acumatica::AcumaticaConfig {
        state_file: Some(acu_state),
        ..Default::default()
    };
    // kcf's workers hold a few sessions per connector; a person's script may want one too.
    acu_config.max_sessions = acu_config.max_sessions.max(8 * kinds.len());
    let acumatica = kcf_sandbox::start(
        acu_listener,
        kcf_sandbox::EmulatorConfig::Acumatica(acu_config),
        Faults::default(),
        &dataset,
        kcf_sandbox::Transport::Http,
    )
    .await?;
    let mut stores = Vec::new();
    for kind in &kinds {
        let (port, flag, config) = match kind {
            StoreKind::BigCommerce => (
                args.bigcommerce_port.unwrap_or(8082),
                "--bigcommerce-port",
                kcf_sandbox::EmulatorConfig::BigCommerce(
                    kcf_sandbox::bigcommerce::BigCommerceConfig {
                        state_file: Some(data_dir.join("sandbox-bigcommerce.json")),
                        ..Default::default()
                    },
                ),
            ),
            StoreKind::Shopify => (
                args.shopify_port.unwrap_or(8083),
                "--shopify-port",
                kcf_sandbox::EmulatorConfig::Shopify(kcf_sandbox::shopify::ShopifyConfig {
                    state_file: Some(data_dir.join("sandbox-shopify.json")),
                    ..Default::default()
                }),
            ),
        };
        let emulator = kcf_sandbox::start(
            listen(port, flag).await?,
            config,
            Faults::default(),
            &dataset,
            kcf_sandbox::Transport::Http,
        )
        .await?;
        // BigCommerce's connector keeps the id it always had.
        let id = match kind {
            StoreKind::BigCommerce => "sandbox",
            StoreKind::Shopify => "shopify",
        };
        stores.push((
            *kind,
            ConnectorId::parse(id).map_err(anyhow::Error::msg)?,
            emulator,
        ));
    }

    let db = data_dir.join("kcf.db");
    let mut store_config = config.store_config();
    store_config.url = format!("sqlite://{}", db.display());
    let application = Application::build(Build {
        store: &store_config,
        key_dir: Some(&data_dir),
        // The sandbox's connectors are made anew each run from public sandbox credentials:
        // nothing sealed under a lost key is worth refusing to start over.
        reseal: true,
        admin: Some(args.admin_password.as_deref()),
        connectors: stores
            .iter()
            .map(|(kind, id, emulator)| {
                wiring::sandbox_connector(id.clone(), &acumatica.url(), *kind, &emulator.url())
            })
            .collect(),
        restore: false,
    })
    .await?;
    let admin_password = application.admin_password.clone();
    let engine = application.engine.clone();
    let token = args.api_token.unwrap_or_else(|| {
        use rand::RngExt;
        format!("kcf_{:032x}", rand::rng().random::<u128>())
    });
    let app = kcf_server::start(
        engine.clone(),
        Some(api_listener),
        AppConfig {
            api_tokens: vec![Secret::new(token.clone())],
            worker_loops: 2,
            ..AppConfig::default()
        },
    )
    .await?;
    let url = app.url().unwrap_or_default();
    let mut runs = Vec::new();
    for (_, id, _) in &stores {
        wiring::wire_sandbox(&engine, id, &url, &acumatica.url()).await?;
    }
    if !args.no_initial_sync {
        for (_, id, _) in &stores {
            // Listing waits out rate limits and retries an unavailable system; anything that
            // still stops it is reported, and kcf keeps running (list again in Batch
            // Processes).
            match wiring::initial_sync(&engine, id).await {
                Ok(r) => runs.extend(r),
                Err(e) => {
                    tracing::warn!(error = %e, connector = %id, "the initial sync stopped");
                    eprintln!(
                        "warning: the initial sync of connector {id} stopped: {e}\n         kcf \
                         keeps running; list again in Batch Processes (or kcf batch list …) once \
                         the cause is fixed"
                    );
                }
            }
        }
    }
    let store_lines: String = stores
        .iter()
        .map(|(kind, id, emulator)| match kind {
            StoreKind::BigCommerce => format!(
                "BigCommerce       {}/stores/sandbox/v3   (X-Auth-Token: sandbox)   connector {id}\n",
                emulator.url()
            ),
            StoreKind::Shopify => format!(
                "Shopify           {}/admin/api/{}/graphql.json   (X-Shopify-Access-Token: shpat_sandbox)   connector {id}\n",
                emulator.url(),
                kcf_shopify::config::API_VERSION
            ),
        })
        .collect();
    let connectors: Vec<String> = stores.iter().map(|(_, id, _)| id.to_string()).collect();
    let banner = format!(
        "\nkcf is up.\n\n\
         workspace         {url}/   user admin, password {admin}\n\
         api & metrics     {url}/api/v1   {url}/metrics   {url}/healthz\n\
         api token         {token}\n\
         Acumatica         {acu}/entity/Default/24.200.001   (admin / sandbox, tenant Company)\n\
         {store_lines}\
         database          {db}\n\
         sandbox data      {sandbox_data} (kept in the data directory; delete it to start fresh)\n\
         connectors        {connectors}: push notifications and webhooks wired; initial sync \
         queued (batch runs {runs:?})\n\n\
         try:  export KCF_URL={url} KCF_TOKEN={token}\n      \
         kcf messages list --status failed\n      \
         kcf batch list product --from 2020-01-01 --to 2030-01-01\n\n\
         Ctrl-C stops it.\n",
        admin = match &admin_password {
            Some(p) => format!("{p}   (generated; shown this once)"),
            None if args.admin_password.is_some() => "as given by --admin-password".into(),
            None => "as set before (reset it with --admin-password)".into(),
        },
        acu = acumatica.url(),
        connectors = connectors.join(", "),
        db = db.display(),
        sandbox_data = if restored {
            "restored from the last run"
        } else {
            "seeded"
        },
    );
    let _ = std::io::stdout().write_all(banner.as_bytes());
    let _ = std::io::stdout().flush();
    crate::signals::wait().await;
    tracing::info!("stopping: finishing in-flight work");
    app.shutdown().await;
    application.sign_out().await;
    for (_, _, emulator) in stores {
        emulator.stop().await;
    }
    acumatica.stop().await;
    Ok(ExitCode::SUCCESS)
}
