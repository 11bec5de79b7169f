//! `kcf bench sync`: kcf end to end against the emulators, in one process.
//!
//! 1. Latency: a stock item changed in Acumatica until the store product shows it, and an
//!    order placed in the store until its sales order exists, each measured by polling the
//!    other side; the baseline is the same change's own API call plus one read of the other
//!    side, without kcf in between. Measured at idle, then (`--load`) while other stock items
//!    change at a fraction of the capacity measured just before: the changes per second kcf
//!    carries end to end, from the ERP's push to the store's write.
//! 2. Throughput under the store's rate limit: a batch of N already-linked products against
//!    a quota of 150 requests per window, as a fraction of the quota kcf actually used.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use kcf_domain::{BatchMode, ConnectorId, Entity, Secret, Timestamp};
use kcf_engine::{BatchRequest, Engine, WorkerConfig};
use kcf_sandbox::{Dataset, Emulator, Faults, SeedSize};
use kcf_server::{AppConfig, Running, wiring};
use kcf_store::MessageFilter;
use serde_json::{Value, json};

use crate::cli::BenchSyncArgs;

struct Setup {
    acu: Emulator,
    bc: Emulator,
    engine: Arc<Engine>,
    app: Running,
    id: ConnectorId,
    erp: reqwest::Client,
    http: reqwest::Client,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn setup(seed: SeedSize, quota: Option<(u32, Duration)>) -> anyhow::Result<Setup> {
    let dataset = Dataset::generate(seed);
    let acu = kcf_sandbox::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await?,
        kcf_sandbox::EmulatorConfig::Acumatica(kcf_sandbox::acumatica::AcumaticaConfig {
            max_sessions: 16,
            ..Default::default()
        }),
        Faults::default(),
        &dataset,
        kcf_sandbox::Transport::Http,
    )
    .await?;
    let mut bc_config = kcf_sandbox::bigcommerce::BigCommerceConfig::default();
    match quota {
        Some((q, w)) => {
            if let Some(l) = bc_config.rate_limit.as_mut() {
                l.quota = q;
                l.window = w;
            }
        }
        None => bc_config.rate_limit = None,
    }
    let bc = kcf_sandbox::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await?,
        kcf_sandbox::EmulatorConfig::BigCommerce(bc_config),
        Faults::default(),
        &dataset,
        kcf_sandbox::Transport::Http,
    )
    .await?;
    let dir = std::env::temp_dir().join(format!("kcf-bench-sync-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let id = ConnectorId::parse("bench").map_err(anyhow::Error::msg)?;
    let mut spec = wiring::sandbox_connector(
        id.clone(),
        &acu.url(),
        kcf_engine::registry::StoreKind::BigCommerce,
        &bc.url(),
    );
    match quota {
        Some((q, w)) => {
            if let Some(bc) = spec.bigcommerce_mut() {
                bc.quota = q;
                bc.window = w;
            }
        }
        None => {
            if let Some(bc) = spec.bigcommerce_mut() {
                bc.quota = 1_000_000;
            }
        }
    }
    spec.acumatica.max_concurrent = 16;
    let store_config =
        kcf_store::StoreConfig::new(format!("sqlite://{}", dir.join("kcf.db").display()));
    let engine = crate::application::Application::build(crate::application::Build {
        store: &store_config,
        key_dir: None,
        reseal: false,
        admin: None,
        connectors: vec![spec],
        restore: false,
    })
    .await?
    .engine;
    let app = kcf_server::start(
        engine.clone(),
        Some(tokio::net::TcpListener::bind("127.0.0.1:0").await?),
        AppConfig {
            workers: WorkerConfig {
                owner: "bench".into(),
                concurrency: 16,
                idle_wait: Duration::from_millis(500),
                ..WorkerConfig::default()
            },
            worker_loops: 2,
            api_tokens: vec![Secret::new("bench")],
            ..AppConfig::default()
        },
    )
    .await?;
    let url = app.url().context("api address")?;
    wiring::wire_sandbox(&engine, &id, &url, &acu.url()).await?;
    let erp = reqwest::Client::builder().cookie_store(true).build()?;
    let r = erp
        .post(format!("{}/entity/auth/login", acu.url()))
        .json(&json!({ "name": "admin", "password": "sandbox", "tenant": "Company" }))
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("cannot sign in to the Acumatica emulator: {}", r.status());
    }
    Ok(Setup {
        acu,
        bc,
        engine,
        app,
        id,
        erp,
        http: reqwest::Client::new(),
        _dir: TempDir(dir),
    })
}

impl Setup {
    async fn put_item(&self, sku: &str, price: f64) -> anyhow::Result<()> {
        put_stock_item(&self.erp, &self.acu.url(), sku, price).await
    }

    async fn store_get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}/stores/sandbox{path}", self.bc.url()))
            .header("X-Auth-Token", "sandbox")
            .header("Accept", "application/json")
            .send()
            .await?
            .json()
            .await
            .unwrap_or(Value::Null))
    }

    async fn product_price(&self, sku: &str) -> anyhow::Result<Option<f64>> {
        let v = self
            .store_get(&format!("/v3/catalog/products?sku={sku}"))
            .await?;
        Ok(v["data"][0]["price"].as_f64())
    }

    async fn stop(self) {
        self.app.shutdown().await;
        self.bc.stop().await;
        self.acu.stop().await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: &BenchSyncArgs) -> anyhow::Result<()> {
    println!(
        "kcf bench sync: emulators, api, workers and SQLite in one process, {} CPUs",
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
    latency(args).await?;
    throughput(args).await?;
    Ok(())
}

/// Stock items changed by the background load and the capacity run (all linked to their
/// store products before the run, as in a connector that has been syncing for a while).
const LOAD_ITEMS: usize = 2_000;

async fn latency(args: &BenchSyncArgs) -> anyhow::Result<()> {
    let s = setup(SeedSize::Products(LOAD_ITEMS), None).await?;
    link_catalogue(&s).await?;
    // Warm up: sessions, the first binding.
    s.put_item("BENCH-LAT", 1.0).await?;
    wait_price(&s, "BENCH-LAT", 1.0, Duration::from_secs(30)).await?;
    let mut round = 0;
    probes(&s, args.samples, "at idle", &mut round).await?;
    if args.load > 0.0 {
        let capacity = capacity(&s).await?;
        let rate = capacity * args.load;
        println!(
            "  capacity  {LOAD_ITEMS} stock items changed at once, all in the store: {capacity:.0} changes/s end to end"
        );
        let load = Load::start(&s, rate);
        let label = format!("at {:.0} % load", args.load * 100.0);
        probes(&s, args.samples, &label, &mut round).await?;
        let (sent, took) = load.stop().await?;
        println!(
            "  load      {sent} other stock items changed during the probes: {:.1} changes/s ({:.1} % of capacity)",
            sent as f64 / took.as_secs_f64(),
            100.0 * sent as f64 / took.as_secs_f64() / capacity
        );
    }
    s.stop().await;
    Ok(())
}

/// Both directions' latency probes, `samples` each, labelled `when`.
async fn probes(s: &Setup, samples: usize, when: &str, round: &mut usize) -> anyhow::Result<()> {
    let mut kcf = Vec::new();
    let mut base = Vec::new();
    for _ in 0..samples {
        *round += 1;
        let price = 2.0 + *round as f64;
        let t = Instant::now();
        s.put_item("BENCH-LAT", price).await?;
        let _ = s.product_price("BENCH-LAT").await?;
        base.push(t.elapsed());
        let t = Instant::now();
        s.put_item("BENCH-LAT", price + 0.5).await?;
        wait_price(s, "BENCH-LAT", price + 0.5, Duration::from_secs(30)).await?;
        kcf.push(t.elapsed());
    }
    report(
        &format!("{when}: stock item → store product"),
        &mut kcf,
        &mut base,
    );

    let mut kcf = Vec::new();
    let mut base = Vec::new();
    let product = s.store_get("/v3/catalog/products?sku=SKU-000001").await?;
    let product_id = product["data"][0]["id"].clone();
    for n in 0..samples {
        let body = json!({
            "customer_id": 0, "status_id": 11,
            "billing_address": { "first_name": "B", "last_name": "L", "street_1": "1 Main", "city": "Austin",
                "state": "Texas", "zip": "78701", "country": "United States", "country_iso2": "US",
                "email": format!("bench{}@example.com", n % 5) },
            "products": [{ "product_id": product_id, "quantity": 1 }],
        });
        let t = Instant::now();
        let order: Value = s
            .http
            .post(format!("{}/stores/sandbox/v2/orders", s.bc.url()))
            .header("X-Auth-Token", "sandbox")
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        let id = order["id"].as_u64().context("order id")?;
        let sent = t.elapsed();
        let filter = format!(
            "{}/entity/Default/24.200.001/SalesOrder?$filter=ExternalRef eq '{id}'",
            s.acu.url()
        );
        let read = Instant::now();
        let _ = s.erp.get(&filter).send().await?;
        base.push(sent + read.elapsed());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found: Value = s.erp.get(&filter).send().await?.json().await?;
            if found.as_array().is_some_and(|a| !a.is_empty()) {
                break;
            }
            if Instant::now() > deadline {
                bail!("order {id} never reached the ERP");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        kcf.push(t.elapsed());
    }
    report(
        &format!("{when}: store order → sales order"),
        &mut kcf,
        &mut base,
    );
    Ok(())
}

/// Messages not finished yet (pending, processing or failed), over the whole store.
async fn open_messages(s: &Setup) -> anyhow::Result<u64> {
    let counts = s
        .engine
        .store
        .count_by_status(&MessageFilter::default())
        .await?;
    Ok(open_of(&counts))
}

/// How many of these counts are of messages not finished yet.
fn open_of(counts: &[kcf_store::StatusCount]) -> u64 {
    counts
        .iter()
        .filter(|c| {
            matches!(
                c.status,
                kcf_domain::MessageStatus::Pending
                    | kcf_domain::MessageStatus::Processing
                    | kcf_domain::MessageStatus::Failed
            )
        })
        .map(|c| c.count)
        .sum()
}

/// The stock changes per second kcf carries end to end: every one of `LOAD_ITEMS` items
/// changed in the ERP as fast as 16 callers can, timed until nothing is left open and the
/// last item shows its new price in the store.
async fn capacity(s: &Setup) -> anyhow::Result<f64> {
    let t = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(1));
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (erp, url, next) = (s.erp.clone(), s.acu.url(), next.clone());
        callers.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i > LOAD_ITEMS {
                    return anyhow::Ok(());
                }
                put_stock_item(&erp, &url, &format!("SKU-{i:06}"), 500.0 + i as f64).await?;
            }
        });
    }
    while let Some(done) = callers.join_next().await {
        done??;
    }
    let last = format!("SKU-{LOAD_ITEMS:06}");
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if open_messages(s).await? == 0
            && s.product_price(&last).await? == Some(500.0 + LOAD_ITEMS as f64)
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("the capacity run did not finish within 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(LOAD_ITEMS as f64 / t.elapsed().as_secs_f64())
}

/// A steady background load: one stock item changed in the ERP every `1 / rate` seconds,
/// round the `LOAD_ITEMS` items, each change in a task of its own so a slow answer does not
/// lower the rate.
struct Load {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<(u64, Duration)>>,
}

impl Load {
    fn start(s: &Setup, rate: f64) -> Self {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let (erp, url) = (s.erp.clone(), s.acu.url());
        let period = Duration::from_secs_f64(1.0 / rate.max(0.1));
        let task = tokio::spawn(async move {
            let t = Instant::now();
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut changes = tokio::task::JoinSet::new();
            let mut sent = 0u64;
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    _ = tick.tick() => {
                        let i = (sent as usize % LOAD_ITEMS) + 1;
                        let price = 1_000.0 + sent as f64;
                        let (erp, url) = (erp.clone(), url.clone());
                        changes.spawn(async move {
                            put_stock_item(&erp, &url, &format!("SKU-{i:06}"), price).await
                        });
                        sent += 1;
                    }
                }
                while let Some(done) = changes.try_join_next() {
                    done??;
                }
            }
            let took = t.elapsed();
            while let Some(done) = changes.join_next().await {
                done??;
            }
            Ok((sent, took))
        });
        Load { stop, task }
    }

    /// Stops the load; the changes made and over how long.
    async fn stop(self) -> anyhow::Result<(u64, Duration)> {
        let _ = self.stop.send(true);
        self.task.await?
    }
}

async fn put_stock_item(
    erp: &reqwest::Client,
    acu: &str,
    sku: &str,
    price: f64,
) -> anyhow::Result<()> {
    let r = erp
        .put(format!("{acu}/entity/Default/24.200.001/StockItem"))
        .json(&json!({ "InventoryID": { "value": sku }, "Description": { "value": format!("Bench {sku}") },
            "DefaultPrice": { "value": price }, "ItemStatus": { "value": "Active" } }))
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("PUT StockItem {sku}: {}", r.status());
    }
    Ok(())
}

async fn wait_price(s: &Setup, sku: &str, price: f64, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        if s.product_price(sku).await? == Some(price) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{sku} never reached price {price} in the store");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn report(what: &str, kcf: &mut [Duration], base: &mut [Duration]) {
    kcf.sort();
    base.sort();
    let (p50, p99) = (percentile(kcf, 0.5), percentile(kcf, 0.99));
    let (b50, b99) = (percentile(base, 0.5), percentile(base, 0.99));
    println!(
        "  latency   {what:<28} p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms   (baseline: the API calls alone p50 {:.1} ms p99 {:.1} ms; p50 {:.1}× baseline)",
        ms(p50),
        ms(p99),
        ms(*kcf.last().unwrap_or(&Duration::ZERO)),
        ms(b50),
        ms(b99),
        ms(p50) / ms(b50).max(0.001)
    );
}

/// Binds every store product to its ERP item by SKU and every store category to its ERP
/// category by name, as after an import of existing bindings; the products bound.
async fn link_catalogue(s: &Setup) -> anyhow::Result<usize> {
    let mut page = 1;
    let mut linked = 0;
    loop {
        let v = s
            .store_get(&format!("/v3/catalog/products?limit=250&page={page}"))
            .await?;
        let items = v["data"].as_array().cloned().unwrap_or_default();
        for p in &items {
            let (Some(sku), Some(pid)) = (p["sku"].as_str(), p["id"].as_u64()) else {
                continue;
            };
            s.engine
                .store
                .put_binding(&kcf_domain::Binding {
                    connector: s.id.clone(),
                    entity: Entity::Product,
                    erp_key: sku.to_owned(),
                    external_id: pid.to_string(),
                    fingerprint: None,
                    synced_at: Timestamp::now(),
                })
                .await?;
            linked += 1;
        }
        if items.len() < 250 {
            break;
        }
        page += 1;
    }
    let mut store_cats = Vec::new();
    for page in 1.. {
        let v = s
            .store_get(&format!(
                "/v3/catalog/trees/categories?limit=250&page={page}"
            ))
            .await?;
        let items = v["data"].as_array().cloned().unwrap_or_default();
        let last = items.len() < 250;
        store_cats.extend(items);
        if last {
            break;
        }
    }
    let erp_cats: Value = s
        .erp
        .get(format!(
            "{}/entity/Default/24.200.001/ItemSalesCategory",
            s.acu.url()
        ))
        .send()
        .await?
        .json()
        .await?;
    for c in erp_cats.as_array().into_iter().flatten() {
        let erp_id = c["CategoryID"]["value"].as_i64().unwrap_or_default();
        let name = c["Description"]["value"].as_str().unwrap_or_default();
        if let Some(bc) = store_cats.iter().find(|b| b["name"].as_str() == Some(name)) {
            s.engine
                .store
                .put_binding(&kcf_domain::Binding {
                    connector: s.id.clone(),
                    entity: Entity::Category,
                    erp_key: erp_id.to_string(),
                    external_id: bc["category_id"].to_string(),
                    fingerprint: None,
                    synced_at: Timestamp::now(),
                })
                .await?;
        }
    }
    Ok(linked)
}

async fn throughput(args: &BenchSyncArgs) -> anyhow::Result<()> {
    let window = Duration::from_millis(args.window_ms);
    let quota = 150;
    let s = setup(SeedSize::Products(args.products), Some((quota, window))).await?;
    // The products and categories are already linked (as after an import of existing
    // bindings), so each change costs one request per ten products.
    let linked = link_catalogue(&s).await?;
    // Start on a fresh window, so the set-up's requests do not count.
    tokio::time::sleep(window + Duration::from_millis(200)).await;
    let before: Value = s
        .http
        .get(format!("{}/_sandbox/counters", s.bc.url()))
        .send()
        .await?
        .json()
        .await?;
    let t = Instant::now();
    let run = s
        .engine
        .prepare_batch(BatchRequest {
            connector: s.id.clone(),
            entity: Entity::Product,
            mode: BatchMode::Full,
            from: Timestamp(0),
            to: Timestamp::now(),
        })
        .await?;
    loop {
        let counts = s
            .engine
            .store
            .count_by_status(&MessageFilter {
                batch_run: Some(run.id),
                ..MessageFilter::default()
            })
            .await?;
        if open_of(&counts) == 0 {
            break;
        }
        if t.elapsed() > Duration::from_secs(3600) {
            bail!("the batch did not finish within an hour: {counts:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = t.elapsed();
    let after: Value = s
        .http
        .get(format!("{}/_sandbox/counters", s.bc.url()))
        .send()
        .await?
        .json()
        .await?;
    let requests =
        after["requests"].as_u64().unwrap_or(0) - before["requests"].as_u64().unwrap_or(0);
    let throttled =
        after["rate_limited"].as_u64().unwrap_or(0) - before["rate_limited"].as_u64().unwrap_or(0);
    let quota_rate = f64::from(quota) / window.as_secs_f64();
    let used_rate = requests as f64 / elapsed.as_secs_f64();
    // The fastest any client could go against BigCommerce's fixed windows: one request per
    // ten products, `quota` of them per window, the last one at the start of its window.
    let needed = (args.products as u64).div_ceil(10).max(1);
    let ideal = ((needed - 1) / u64::from(quota)) as f64 * window.as_secs_f64();
    println!(
        "  batch     {} linked products, quota {quota} per {:.1} s: {:.1} s, {requests} store requests ({:.1} products/request), {throttled} answered 429",
        linked,
        window.as_secs_f64(),
        elapsed.as_secs_f64(),
        args.products as f64 / requests.max(1) as f64
    );
    println!(
        "            budget used {:.2} req/s of {:.2} allowed = {:.1} % of the quota; vs the ideal client ({:.1} s): {:.1} %",
        used_rate,
        quota_rate,
        100.0 * used_rate / quota_rate,
        ideal,
        100.0 * ideal / elapsed.as_secs_f64()
    );
    if let Some(routes) = after["per_route"].as_object() {
        let parts: Vec<String> = routes
            .iter()
            .filter_map(|(route, n)| {
                let n = n.as_u64()? - before["per_route"][route].as_u64().unwrap_or(0);
                (n > 0).then(|| format!("{route} {n}"))
            })
            .collect();
        println!("            store requests by route: {}", parts.join(", "));
    }
    s.stop().await;
    Ok(())
}
