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

use kcf_sandbox::{
    Dataset, Faults, SeedSize, acumatica::AcumaticaConfig, bigcommerce::BigCommerceConfig,
};
use rand::RngExt;

use crate::cli::BenchSandboxArgs;

#[derive(Clone, Copy)]
enum Load {
    Baseline,
    GetProduct,
    PutProduct,
    GetStockItem,
    PutStockItem,
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: &BenchSandboxArgs) -> anyhow::Result<()> {
    seeding().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let config = BigCommerceConfig {
        rate_limit: None,
        ..Default::default()
    };
    let dataset = Dataset::generate(SeedSize::Medium);
    let emulator = kcf_sandbox::start(
        listener,
        kcf_sandbox::EmulatorConfig::BigCommerce(config),
        Faults::default(),
        &dataset,
        kcf_sandbox::Transport::Http,
    )
    .await?;
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

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let erp = kcf_sandbox::start(
        listener,
        kcf_sandbox::EmulatorConfig::Acumatica(AcumaticaConfig::default()),
        Faults::default(),
        &dataset,
        kcf_sandbox::Transport::Http,
    )
    .await?;
    let http = reqwest::Client::builder().cookie_store(true).build()?;
    let login = serde_json::json!({ "name": "admin", "password": "sandbox", "tenant": "Company" });
    let signed_in = http
        .post(format!("{}/entity/auth/login", erp.url()))
        .json(&login)
        .send()
        .await?;
    anyhow::ensure!(
        signed_in.status().is_success(),
        "sign-in failed: {}",
        signed_in.status()
    );
    let cookie = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ");
    let args_erp = BenchSandboxArgs {
        seconds: args.seconds,
        clients: args.clients,
    };
    let erp_url = format!("{}#{cookie}", erp.url());
    let gets = phase(&erp_url, Load::GetStockItem, &args_erp).await?;
    println!("Acumatica emulator, same data:");
    println!(
        "  read      GET /StockItem/{{InventoryID}}          {gets:>9.0} req/s  ({:.2}× baseline)",
        gets / baseline
    );
    let puts = phase(&erp_url, Load::PutStockItem, &args_erp).await?;
    println!(
        "  write     PUT /StockItem (update)               {puts:>9.0} req/s  ({:.2}× baseline)",
        puts / baseline
    );
    erp.stop().await;
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
        let (base, cookie) = base.split_once('#').unwrap_or((base, ""));
        let (http, done, base, cookie) = (
            http.clone(),
            done.clone(),
            base.to_owned(),
            cookie.to_owned(),
        );
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
                    Load::GetStockItem => http
                        .get(format!("{base}/entity/Default/24.200.001/StockItem/SKU-{id:06}"))
                        .header("cookie", &cookie),
                    Load::PutStockItem => http
                        .put(format!("{base}/entity/Default/24.200.001/StockItem"))
                        .header("cookie", &cookie)
                        .header("content-type", "application/json")
                        .body(format!(
                            "{{\"InventoryID\": {{\"value\": \"SKU-{id:06}\"}}, \"DefaultPrice\": {{\"value\": {}.5}}}}",
                            id % 100
                        )),
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

/// How long `--seed large` (100,000 products) takes: generating the data, then loading it into
/// each emulator; the baseline is generating `--seed small`.
async fn seeding() -> anyhow::Result<()> {
    let t = Instant::now();
    let small = Dataset::generate(SeedSize::Small);
    let baseline = t.elapsed();
    let t = Instant::now();
    let large = Dataset::generate(SeedSize::Large);
    let generate = t.elapsed();
    let t = Instant::now();
    let bc = kcf_sandbox::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await?,
        kcf_sandbox::EmulatorConfig::BigCommerce(BigCommerceConfig::default()),
        Faults::default(),
        &large,
        kcf_sandbox::Transport::Http,
    )
    .await?;
    let bc_load = t.elapsed();
    let t = Instant::now();
    let acu = kcf_sandbox::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await?,
        kcf_sandbox::EmulatorConfig::Acumatica(AcumaticaConfig::default()),
        Faults::default(),
        &large,
        kcf_sandbox::Transport::Http,
    )
    .await?;
    let acu_load = t.elapsed();
    println!(
        "  seed      large ({} products): generate {:.2} s, BigCommerce {:.2} s, Acumatica {:.2} s, total {:.2} s  (small: {:.1} ms, {} products)",
        large.products.len(),
        generate.as_secs_f64(),
        bc_load.as_secs_f64(),
        acu_load.as_secs_f64(),
        (generate + bc_load + acu_load).as_secs_f64(),
        baseline.as_secs_f64() * 1000.0,
        small.products.len()
    );
    bc.stop().await;
    acu.stop().await;
    Ok(())
}
