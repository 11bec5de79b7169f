//! `kcf sandbox`: the emulators, in the foreground, until Ctrl-C.

use std::process::ExitCode;

use anyhow::Context;
use kcf_sandbox::{Dataset, Faults, SeedSize, bigcommerce::BigCommerceConfig};

use crate::cli::SandboxArgs;

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
    let port = args.bigcommerce_port.unwrap_or(8082);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| {
            format!("cannot listen on 127.0.0.1:{port} (--bigcommerce-port); is it in use?")
        })?;
    let dataset = Dataset::generate(seed);
    let bigcommerce =
        kcf_sandbox::start_bigcommerce(listener, BigCommerceConfig::default(), faults, &dataset)
            .await?;
    println!(
        "BigCommerce sandbox  {}/stores/sandbox/v3   (X-Auth-Token: sandbox)",
        bigcommerce.url()
    );
    println!(
        "  control            {}/_sandbox/ledger | counters | faults | webhooks",
        bigcommerce.url()
    );
    println!(
        "  seeded             {} products, {} categories, {} customers, {} orders",
        dataset.products.len(),
        dataset.categories.len(),
        dataset.customers.len(),
        dataset.orders.len()
    );
    if args.acumatica_port.is_some() {
        eprintln!("note: the Acumatica sandbox is not available yet; only BigCommerce is served.");
    } else {
        println!("Acumatica sandbox    not available yet");
    }
    tokio::signal::ctrl_c().await?;
    bigcommerce.stop().await;
    Ok(ExitCode::SUCCESS)
}
