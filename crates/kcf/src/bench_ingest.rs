//! `kcf bench ingest`: durable ingest over HTTP, against a bare responder in the same run.
//!
//! The baseline is an axum route that reads the body and answers `200 {}` (no parsing, no
//! storage), served and loaded exactly as kcf is. Then the api role (no workers) over a
//! scratch database takes unique Acumatica push notifications of about 800 bytes from the
//! same load generator: `connections` keep-alive connections, each sending its next request
//! as soon as the last is answered, for `seconds`. Afterwards every 2xx is checked against the
//! store: as many messages stored as notifications acknowledged.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use axum::{Router, routing::post};
use kcf_domain::{ConnectorId, Secret};
use kcf_server::AppConfig;
use kcf_store::MessageFilter;
use serde_json::json;

use crate::{
    bench::Scratch,
    cli::{BenchIngestArgs, IngestKind},
};

/// Runs the benchmark and prints its figures.
pub async fn run(args: &BenchIngestArgs) -> anyhow::Result<()> {
    println!(
        "kcf bench ingest: {:?}, backend {:?}, {} connections, {} s per phase, {} CPUs",
        args.kind,
        args.backend,
        args.connections,
        args.seconds,
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
    let baseline = bare(args).await?;
    let scratch = Scratch::create(args.backend, &args.postgres_url).await?;
    let result = kcf(args, &scratch).await;
    scratch.remove().await;
    let kcf = result?;
    println!();
    println!(
        "{:<34} {:>10} {:>9} {:>9} {:>9}",
        "", "req/s", "p50 ms", "p99 ms", "errors"
    );
    for (label, r) in [
        ("bare axum responder (baseline)", &baseline),
        ("kcf durable ingest", &kcf),
    ] {
        println!(
            "{label:<34} {:>10.0} {:>9.2} {:>9.2} {:>9}",
            r.rate, r.p50, r.p99, r.errors
        );
    }
    println!(
        "ratio kcf / baseline: {:.3} (req/s)",
        kcf.rate / baseline.rate.max(1.0)
    );
    Ok(())
}

/// What one phase measured.
#[derive(Debug, Clone, Copy)]
struct Phase {
    rate: f64,
    p50: f64,
    p99: f64,
    errors: u64,
    ok: u64,
}

async fn bare(args: &BenchIngestArgs) -> anyhow::Result<Phase> {
    let responder = post(|_body: axum::body::Bytes| async { axum::Json(json!({})) });
    let app = Router::new()
        .route("/push/acumatica/{connector}", responder.clone())
        .route("/webhooks/shopify/{connector}", responder);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    // The same requests kcf gets, signatures included (the responder checks nothing).
    let requests = Requests::new(args.kind, "x-ignored", "", b"bench-secret");
    let phase = load(args, &format!("{url}{}", requests.path("bench")), requests).await;
    server.abort();
    phase
}

/// The requests of one kind, numbered: headers and a unique body of about 800 bytes.
#[derive(Clone)]
struct Requests {
    kind: IngestKind,
    header: String,
    secret: String,
    signing: Vec<u8>,
}

impl Requests {
    fn new(kind: IngestKind, header: &str, secret: &str, signing: &[u8]) -> Self {
        Self {
            kind,
            header: header.to_owned(),
            secret: secret.to_owned(),
            signing: signing.to_vec(),
        }
    }

    fn path(&self, connector: &str) -> String {
        match self.kind {
            IngestKind::Push => format!("/push/acumatica/{connector}"),
            IngestKind::ShopifyWebhook => format!("/webhooks/shopify/{connector}"),
        }
    }

    fn request(&self, client: &reqwest::Client, url: &str, n: u64) -> reqwest::RequestBuilder {
        let req = client.post(url).header("content-type", "application/json");
        match self.kind {
            IngestKind::Push => req
                .header(self.header.as_str(), self.secret.as_str())
                .body(notification(n)),
            IngestKind::ShopifyWebhook => {
                let body = order_webhook(n);
                req.header("x-shopify-topic", "orders/updated")
                    .header("x-shopify-webhook-id", format!("bench-{n:012}"))
                    .header("x-shopify-shop-domain", "sandbox.myshopify.com")
                    .header(
                        "x-shopify-hmac-sha256",
                        kcf_sandbox::shopify::sign(&self.signing, body.as_bytes()),
                    )
                    .body(body)
            }
        }
    }
}

/// A unique Shopify `orders/updated` webhook of about 800 bytes.
fn order_webhook(n: u64) -> String {
    json!({
        "id": 5_000_000_000u64 + n, "admin_graphql_api_id": format!("gid://shopify/Order/{}", 5_000_000_000u64 + n),
        "name": format!("#B{n}"), "email": format!("buyer{n}@example.com"),
        "updated_at": "2026-12-01T10:00:00-05:00", "created_at": "2026-12-01T09:59:00-05:00",
        "financial_status": "paid", "fulfillment_status": null, "currency": "USD",
        "total_price": "39.98", "subtotal_price": "39.98", "total_tax": "0.00",
        "line_items": [{ "id": n, "sku": "SKU-000001", "quantity": 2, "price": "19.99", "title": "A plain cotton tee" }],
        "note": "x".repeat(300),
    })
    .to_string()
}

async fn kcf(args: &BenchIngestArgs, scratch: &Scratch) -> anyhow::Result<Phase> {
    let id = ConnectorId::parse("bench").map_err(anyhow::Error::msg)?;
    // The emulators are not needed: ingest talks to neither system.
    let store = match args.kind {
        IngestKind::Push => kcf_engine::registry::StoreKind::BigCommerce,
        IngestKind::ShopifyWebhook => kcf_engine::registry::StoreKind::Shopify,
    };
    let spec = kcf_server::wiring::sandbox_connector(
        id.clone(),
        "http://127.0.0.1:9",
        store,
        "http://127.0.0.1:9",
    );
    let requests = Requests::new(
        args.kind,
        &spec.ingress.push_header,
        spec.ingress.push_secret.expose(),
        spec.ingress.signing_secret.expose().as_bytes(),
    );
    let engine = crate::application::Application::build(crate::application::Build {
        store: &scratch.config,
        key_dir: None,
        reseal: false,
        admin: None,
        connectors: vec![spec],
        restore: false,
    })
    .await?
    .engine;
    crate::bench::experiment(&scratch.config).await?;
    let store = engine.store.clone();
    let app = kcf_server::start(
        engine,
        Some(tokio::net::TcpListener::bind("127.0.0.1:0").await?),
        AppConfig {
            worker: false,
            api_tokens: vec![Secret::new("bench")],
            ..AppConfig::default()
        },
    )
    .await?;
    let url = app.url().context("api address")?;
    let phase = load(
        args,
        &format!("{url}{}", requests.path(id.as_str())),
        requests,
    )
    .await?;
    // Indexing for search waits for the flood to pass (up to a bound); how far it got.
    let behind = store.search_lag().await?;
    let stored: u64 = store
        .count_by_status(&MessageFilter::default())
        .await?
        .iter()
        .map(|c| c.count)
        .sum();
    if stored != phase.ok {
        bail!(
            "{} notifications were acknowledged but {stored} messages are stored",
            phase.ok
        );
    }
    println!("checked: {stored} acknowledged notifications, {stored} messages stored");
    println!(
        "search index: {} of them indexed when the load stopped, {behind} left for later",
        stored.saturating_sub(behind)
    );
    app.shutdown().await;
    Ok(phase)
}

/// A unique push notification of about 800 bytes.
fn notification(n: u64) -> String {
    json!({
        "Inserted": [{
            "InventoryID": format!("ING-{n:09}"),
            "Description": format!("Ingest benchmark item {n}, a plain cotton tee in a few sizes"),
            "ItemStatus": "Active", "ItemClass": "STOCKITEM", "PostingClass": "STOCKITEM",
            "TaxCategory": "TAXABLE", "BaseUnit": "EA", "DefaultPrice": 19.99,
            "DimensionWeight": 0.25, "LastModifiedDateTime": "2026-12-01T10:00:00.000+00:00",
            "Type": "Finished Good", "DefaultWarehouseID": "MAIN", "Note": "x".repeat(180),
        }],
        "Deleted": [], "Query": "Stock Items: Last Modified Date", "CompanyId": "Company",
        "Id": format!("00000000-0000-0000-0000-{n:012}"), "TimeStamp": n,
        "AdditionalInfo": { "PXPerformanceInfoStartTime": "2026-12-01T10:00:00.000+00:00" },
    })
    .to_string()
}

async fn load(args: &BenchIngestArgs, url: &str, requests: Requests) -> anyhow::Result<Phase> {
    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    // A short warm-up connects every client first.
    let started = Instant::now();
    for _ in 0..args.connections {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .http1_only()
            .build()?;
        let (url, requests) = (url.to_owned(), requests.clone());
        let (next, stop) = (next.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let (mut ok, mut errors) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let request = requests.request(&client, &url, n);
                let sent = Instant::now();
                let answer = request.send().await;
                let good = match answer {
                    Ok(r) => {
                        let status = r.status();
                        let _ = r.bytes().await;
                        status.is_success()
                    }
                    Err(_) => false,
                };
                latencies.push(sent.elapsed().as_secs_f64() * 1e3);
                if good {
                    ok += 1;
                } else {
                    errors += 1;
                }
            }
            (latencies, ok, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let (mut ok, mut errors) = (0, 0);
    for t in tasks {
        let (l, o, e) = t.await?;
        all.extend(l);
        ok += o;
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let at = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    Ok(Phase {
        rate: ok as f64 / elapsed,
        p50: at(0.5),
        p99: at(0.99),
        errors,
        ok,
    })
}
