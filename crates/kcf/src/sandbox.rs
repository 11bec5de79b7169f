//! `kcf sandbox`: the emulators, in the foreground, until Ctrl-C.

use std::{io::Write, process::ExitCode};

use anyhow::Context;
use kcf_sandbox::{
    Dataset, Faults, SeedSize, acumatica::AcumaticaConfig, bigcommerce::BigCommerceConfig,
};

use crate::cli::SandboxArgs;

async fn listen(port: u16, flag: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port} ({flag}); is it in use?"))
}

/// Starts the emulators and serves until interrupted.
pub async fn run(args: SandboxArgs) -> anyhow::Result<ExitCode> {
    let seed: SeedSize = args
        .seed
        .as_deref()
        .unwrap_or("small")
        .parse()
        .map_err(anyhow::Error::msg)?;
    let faults: Faults = args
        .faults
        .as_deref()
        .unwrap_or("")
        .parse()
        .map_err(anyhow::Error::msg)?;
    let throttle = args
        .acumatica_throttle
        .as_deref()
        .map(str::parse::<kcf_sandbox::acumatica::throttle::Limits>)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--acumatica-throttle: {e}"))?;
    let dataset = Dataset::generate(seed);
    let (acu_state, bc_state, shop_state) = match &args.state {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
            (
                Some(dir.join("acumatica.json")),
                Some(dir.join("bigcommerce.json")),
                Some(dir.join("shopify.json")),
            )
        }
        None => (None, None, None),
    };
    let cost_limit = match args.shopify_bucket.as_deref() {
        None => Some(kcf_sandbox::shopify::CostLimit::default()),
        Some(spec) => bucket(spec)?,
    };
    let restored = bc_state.as_ref().is_some_and(|p| p.exists());
    let rate_limit = match args.bigcommerce_quota {
        Some(0) => None,
        Some(quota) => Some(kcf_sandbox::bigcommerce::RateLimit {
            quota,
            ..Default::default()
        }),
        None => Some(kcf_sandbox::bigcommerce::RateLimit::default()),
    };
    let bc_listener = listen(args.bigcommerce_port.unwrap_or(8082), "--bigcommerce-port").await?;
    let acu_listener = listen(args.acumatica_port.unwrap_or(8081), "--acumatica-port").await?;
    let shop_listener = listen(args.shopify_port.unwrap_or(8083), "--shopify-port").await?;
    let transport = if args.bigcommerce_tls {
        kcf_sandbox::Transport::Https
    } else {
        kcf_sandbox::Transport::Http
    };
    let bigcommerce = kcf_sandbox::start(
        bc_listener,
        kcf_sandbox::EmulatorConfig::BigCommerce(BigCommerceConfig {
            state_file: bc_state.clone(),
            rate_limit,
            webhook_time_scale: args.webhook_time_scale,
            ..BigCommerceConfig::default()
        }),
        faults.clone(),
        &dataset,
        transport,
    )
    .await?;
    let shopify = kcf_sandbox::start(
        shop_listener,
        kcf_sandbox::EmulatorConfig::Shopify(kcf_sandbox::shopify::ShopifyConfig {
            state_file: shop_state,
            cost_limit,
            webhook_time_scale: args.webhook_time_scale,
            ..Default::default()
        }),
        faults.clone(),
        &dataset,
        if args.shopify_tls {
            kcf_sandbox::Transport::Https
        } else {
            kcf_sandbox::Transport::Http
        },
    )
    .await?;
    let mut tls_note = String::new();
    if args.bigcommerce_tls || args.shopify_tls {
        let cert = std::env::temp_dir().join("kcf-sandbox-ca.pem");
        std::fs::write(&cert, kcf_sandbox::tls::CERT_PEM)
            .with_context(|| format!("cannot write {}", cert.display()))?;
        tls_note = format!(
            "test certificate     {} (trust it: REQUESTS_CA_BUNDLE=…, curl --cacert …)\n",
            cert.display()
        );
    }
    let acumatica = kcf_sandbox::start(
        acu_listener,
        kcf_sandbox::EmulatorConfig::Acumatica(AcumaticaConfig {
            throttle,
            max_sessions: args.acumatica_sessions.max(1),
            state_file: acu_state,
            ..AcumaticaConfig::default()
        }),
        faults,
        &dataset,
        kcf_sandbox::Transport::Http,
    )
    .await?;
    let data = match (&args.state, restored) {
        (Some(dir), true) => format!(
            "data                 restored from {} (delete it to start from the seed)",
            dir.display()
        ),
        _ => format!(
            "seeded               {} products, {} categories, {} customers, {} orders",
            dataset.products.len(),
            dataset.categories.len(),
            dataset.customers.len(),
            dataset.orders.len()
        ),
    };
    let banner = format!(
        "BigCommerce sandbox  {bc}/stores/sandbox/v3   (X-Auth-Token: sandbox)\n\
         Acumatica sandbox    {acu}/entity/Default/24.200.001   (admin / sandbox, tenant Company)\n\
         Shopify sandbox      {shop}/admin/api/{version}/graphql.json   (X-Shopify-Access-Token: shpat_sandbox; OAuth client sandbox-client-id / sandbox-client-secret)\n\
         control              {bc}/_sandbox/… and {acu}/_sandbox/… (ledger, counters, faults, webhooks)\n\
         {tls_note}\
         {data}\n",
        bc = bigcommerce.url(),
        shop = shopify.url(),
        version = kcf_shopify::config::API_VERSION,
        acu = acumatica.url(),
    );
    // A closed stdout (a pipe whose reader went away) must not stop the emulators.
    let _ = std::io::stdout().write_all(banner.as_bytes());
    let _ = std::io::stdout().flush();
    tokio::signal::ctrl_c().await?;
    bigcommerce.stop().await;
    shopify.stop().await;
    acumatica.stop().await;
    Ok(ExitCode::SUCCESS)
}

/// `POINTS[,RESTORE]` for `--shopify-bucket`; 0 points: no limit.
fn bucket(spec: &str) -> anyhow::Result<Option<kcf_sandbox::shopify::CostLimit>> {
    let mut parts = spec.split(',').map(str::trim);
    let number = |p: Option<&str>, what: &str| -> anyhow::Result<Option<f64>> {
        p.map(|v| {
            v.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .ok_or_else(|| anyhow::anyhow!("--shopify-bucket: {what} '{v}' is not a number"))
        })
        .transpose()
    };
    let points = number(parts.next(), "points")?.unwrap_or(1000.0);
    let restore = number(parts.next(), "restore rate")?.unwrap_or(points / 20.0);
    Ok((points > 0.0).then_some(kcf_sandbox::shopify::CostLimit {
        maximum: points,
        restore_rate: restore.max(0.1),
    }))
}
