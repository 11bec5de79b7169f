//! `kcf bench sandbox`: how many requests the emulators answer per second, limits off, with
//! the load generated in the same process (so the figures include the client's share of the
//! CPU). The baseline is the cheapest route the same server has (`GET /_sandbox/faults`).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use kcf_sandbox::{Dataset, Faults, SeedSize, bigcommerce::BigCommerceConfig};
use rand::RngExt;

use crate::cli::BenchSandboxArgs;

#[derive(Clone, Copy)]
enum Load {
    Baseline,
    GetProduct,
    PutProduct,
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: &BenchSandboxArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let config = BigCommerceConfig {
        rate_limit: None,
        ..Default::default()
    };
    let dataset = Dataset::generate(SeedSize::Medium);
    let emulator =
        kcf_sandbox::start_bigcommerce(listener, config, Faults::default(), &dataset).await?;
    let base = emulator.url();
    println!(
        "kcf bench sandbox: BigCommerce emulator, {} products, {} clients, {} s per phase, {} CPUs",
        dataset.products.len(),
        args.clients,
        args.seconds,
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
    let baseline = phase(&base, Load::Baseline, args).await?;
    println!("  baseline  GET /_sandbox/faults                 {baseline:>9.0} req/s");
    let gets = phase(&base, Load::GetProduct, args).await?;
    println!(
        "  read      GET /v3/catalog/products/{{id}}        {gets:>9.0} req/s  ({:.2}× baseline)",
        gets / baseline
    );
    let puts = phase(&base, Load::PutProduct, args).await?;
    println!(
        "  write     PUT /v3/catalog/products/{{id}}        {puts:>9.0} req/s  ({:.2}× baseline)",
        puts / baseline
    );
    emulator.stop().await;
    Ok(())
}

async fn phase(base: &str, load: Load, args: &BenchSandboxArgs) -> anyhow::Result<f64> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (http, done, base) = (http.clone(), done.clone(), base.to_owned());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let id = rand::rng().random_range(1..=5_000u32);
                let request = match load {
                    Load::Baseline => http.get(format!("{base}/_sandbox/faults")),
                    Load::GetProduct => http
                        .get(format!("{base}/stores/sandbox/v3/catalog/products/{id}"))
                        .header("X-Auth-Token", "sandbox"),
                    Load::PutProduct => http
                        .put(format!("{base}/stores/sandbox/v3/catalog/products/{id}"))
                        .header("X-Auth-Token", "sandbox")
                        .header("content-type", "application/json")
                        .body(format!("{{\"price\": {}.5}}", id % 100)),
                };
                let response = request.send().await?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "status {}",
                    response.status()
                );
                response.bytes().await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}
