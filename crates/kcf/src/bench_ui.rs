//! `kcf bench ui`: how long the workspace and the API take to serve a page of 50 messages
//! with a million messages stored.
//!
//! The api role runs in this process over a scratch database (SQLite file or PostgreSQL
//! database). Every page is requested over HTTP as a signed-in user would; the figure is the
//! server's own time from the `Server-Timing` header (the client's round trip is shown too).
//! The baseline is the same pages with 1,000 messages stored, measured first in the same
//! process, so the ratio shows what a million messages cost.

use std::{sync::Arc, time::Instant};

use anyhow::{Context, bail};
use kcf_domain::{
    Connector, ConnectorId, Direction, Entity, Mode, NewMessage, Platform, RecordKey, Secret,
    Timestamp,
};
use kcf_engine::Engine;
use kcf_server::AppConfig;
use kcf_store::Store;
use sqlx::Executor;

use crate::{bench::Scratch, cli::BenchUiArgs};

const BASELINE_MESSAGES: usize = 1_000;
const PASSWORD: &str = "bench-password";
/// Seeded messages are spread over this many days, oldest first.
const DAYS: i64 = 90;

/// Runs the benchmark and prints its figures.
pub async fn run(args: &BenchUiArgs) -> anyhow::Result<()> {
    let scratch = Scratch::create(args.backend, &args.postgres_url).await?;
    let result = measure(args, &scratch).await;
    scratch.remove().await;
    result
}

struct Site {
    http: reqwest::Client,
    url: String,
    cookie: String,
}

impl Site {
    /// Requests `path` `samples` times (after 3 warm-ups); returns server-time and round-trip
    /// medians and the server-time 95th percentile and maximum.
    async fn time(&self, path: &str, samples: usize) -> anyhow::Result<Timing> {
        let mut server = Vec::with_capacity(samples);
        let mut client = Vec::with_capacity(samples);
        for i in 0..samples + 3 {
            let started = Instant::now();
            let r = self
                .http
                .get(format!("{}{path}", self.url))
                .header("cookie", &self.cookie)
                .bearer_auth("bench")
                .send()
                .await?;
            let status = r.status();
            let header = r
                .headers()
                .get("server-timing")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("app;dur="))
                .and_then(|v| v.parse::<f64>().ok());
            let body = r.text().await?;
            let round_trip = started.elapsed().as_secs_f64() * 1e3;
            if !status.is_success() {
                bail!(
                    "GET {path} answered {status}: {}",
                    body.chars().take(300).collect::<String>()
                );
            }
            let Some(took) = header else {
                bail!("GET {path} has no Server-Timing header");
            };
            if i >= 3 {
                server.push(took);
                client.push(round_trip);
            }
        }
        Ok(Timing::of(server, client))
    }
}

#[derive(Debug, Clone, Copy)]
struct Timing {
    p50: f64,
    p95: f64,
    max: f64,
    round_trip_p50: f64,
}

impl Timing {
    fn of(mut server: Vec<f64>, mut client: Vec<f64>) -> Self {
        server.sort_by(f64::total_cmp);
        client.sort_by(f64::total_cmp);
        let at = |v: &[f64], q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
        Self {
            p50: at(&server, 0.5),
            p95: at(&server, 0.95),
            max: at(&server, 1.0),
            round_trip_p50: at(&client, 0.5),
        }
    }
}

/// The pages timed, as (label, path). `mid` is a message id halfway down the table.
fn pages(mid: i64, failed: i64, day: &str) -> Vec<(&'static str, String)> {
    let rt = "/connectors/bench/realtime/order";
    vec![
        ("workspace home (counts, recent failures)", "/".to_owned()),
        ("Real-Time Order, first page", rt.to_owned()),
        (
            "Real-Time Order, a page halfway down",
            format!("{rt}?before={mid}"),
        ),
        (
            "Real-Time Order, status Failed",
            format!("{rt}?status=failed"),
        ),
        (
            "Real-Time Order, one day 30 days ago",
            format!("{rt}?from={day}&to={day}"),
        ),
        (
            "Real-Time Order, text search (1 match)",
            format!("{rt}?q=ORD-{:07}", 4_001),
        ),
        ("record detail", format!("/messages/{failed}")),
        (
            "API GET /messages, 50 Order",
            "/api/v1/messages?connector=bench&entity=order&limit=50".to_owned(),
        ),
    ]
}

async fn measure(args: &BenchUiArgs, scratch: &Scratch) -> anyhow::Result<()> {
    let n = args.messages.max(BASELINE_MESSAGES * 2);
    let samples = args.samples.max(5);
    let store = kcf_store::open(&scratch.config).await?;
    let id = ConnectorId::parse("bench").map_err(anyhow::Error::msg)?;
    store
        .put_connector(&Connector::new(
            id.clone(),
            "bench",
            Platform::Acumatica,
            Platform::BigCommerce,
        ))
        .await?;
    kcf_server::auth::ensure_admin(store.as_ref(), Some(PASSWORD))
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let engine = Engine::new(store.clone());
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
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let r = http
        .post(format!("{url}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username=admin&password={PASSWORD}&next=/"))
        .send()
        .await?;
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .with_context(|| format!("signing in answered {} without a session", r.status()))?;
    let site = Site { http, url, cookie };

    println!(
        "kcf bench ui: backend {:?}, {n} messages, {samples} requests per page, {} CPUs; \
         server time from Server-Timing, ms",
        args.backend,
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
    let now = Timestamp::now();
    let day = jiff::Timestamp::from_millisecond(now.0 - 30 * 86_400_000)?
        .strftime("%Y-%m-%d")
        .to_string();

    seed(&store, &id, 0, BASELINE_MESSAGES).await?;
    shape(&scratch.config, BASELINE_MESSAGES, now).await?;
    search_index_caught_up(&store).await?;
    let baseline_pages = pages(BASELINE_MESSAGES as i64 / 2, 47, &day);
    let mut baseline = Vec::new();
    for (_, path) in &baseline_pages {
        baseline.push(site.time(path, samples).await?);
    }

    let started = Instant::now();
    seed(&store, &id, BASELINE_MESSAGES, n).await?;
    let seeded = started.elapsed();
    let started = Instant::now();
    shape(&scratch.config, n, now).await?;
    println!(
        "  seeded {} messages through the store in {:.1} s ({:.0}/s), statuses and dates set in {:.1} s",
        n - BASELINE_MESSAGES,
        seeded.as_secs_f64(),
        (n - BASELINE_MESSAGES) as f64 / seeded.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let behind = store.search_lag().await?;
    let started = Instant::now();
    search_index_caught_up(&store).await?;
    println!(
        "  search index: {behind} messages behind after seeding, caught up in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "  {:<42} {:>9} {:>8} {:>8} {:>8} {:>10} {:>9}",
        "page", "base p50", "p50", "p95", "max", "round-trip", "× base"
    );
    let mut worst: f64 = 0.0;
    for ((label, path), base) in pages(n as i64 / 2, 47, &day).iter().zip(&baseline) {
        let t = site.time(path, samples).await?;
        if label.contains("first page") || label.contains("halfway") || label.contains("API") {
            worst = worst.max(t.p95);
        }
        println!(
            "  {label:<42} {:>9.2} {:>8.2} {:>8.2} {:>8.2} {:>10.2} {:>8.1}×",
            base.p50,
            t.p50,
            t.p95,
            t.max,
            t.round_trip_p50,
            t.p50 / base.p50
        );
    }
    println!(
        "  a page of 50 messages: p95 {worst:.2} ms server time with {n} stored (target < 100 ms): {}",
        if worst < 100.0 { "ok" } else { "TOO SLOW" }
    );
    app.shutdown().await;
    Ok(())
}

/// Waits until the search index holds every message (it is written after them, off the
/// ingest path), so that the pages are timed in the steady state.
async fn search_index_caught_up(store: &Arc<dyn Store>) -> anyhow::Result<()> {
    let deadline = Instant::now() + std::time::Duration::from_secs(1_800);
    while store.search_lag().await? > 0 {
        if Instant::now() > deadline {
            bail!("the search index did not catch up within 30 minutes");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Enqueues messages `from..to` through the store, 1,000 per call, like real traffic: 40 %
/// orders, 30 % products, 15 % customers, 10 % shipments, the rest categories and order
/// statuses.
async fn seed(
    store: &Arc<dyn Store>,
    id: &ConnectorId,
    from: usize,
    to: usize,
) -> anyhow::Result<()> {
    let mut i = from;
    while i < to {
        let end = (i + 1_000).min(to);
        let batch = (i..end)
            .map(|i| message(id, i))
            .collect::<anyhow::Result<Vec<_>>>()?;
        store.enqueue_many(batch).await?;
        i = end;
    }
    Ok(())
}

fn message(id: &ConnectorId, i: usize) -> anyhow::Result<NewMessage> {
    let (entity, prefix, direction) = match i % 20 {
        0..8 => (Entity::Order, "ORD", Direction::StoreToErp),
        8..14 => (Entity::Product, "SKU", Direction::ErpToStore),
        14..17 => (Entity::Customer, "C", Direction::ErpToStore),
        17..19 => (Entity::Shipment, "SHP", Direction::ErpToStore),
        _ if i % 40 == 19 => (Entity::Category, "CAT", Direction::ErpToStore),
        _ => (Entity::OrderStatus, "ST", Direction::ErpToStore),
    };
    let key = format!("{prefix}-{:07}", i / 2);
    Ok(NewMessage::new(
        id.clone(),
        entity,
        direction,
        Mode::RealTime,
        RecordKey::parse(key.clone())?,
        if direction == Direction::StoreToErp {
            "bigcommerce"
        } else {
            "acumatica"
        },
    )
    .with_dedup_key(format!("bench-{i}"))
    .with_description(format!("{} {key}", entity.as_str()))
    .with_payload(serde_json::json!({
        "id": i, "key": key, "status": "Awaiting Fulfillment", "total": "129.95",
        "customer": { "email": format!("buyer{}@example.com", i % 5_000), "name": "A Buyer" },
        "lines": [{ "sku": format!("SKU-{:05}", i % 10_000), "qty": 2, "price": "64.975" }],
    })))
}

/// Gives the first `n` messages the life they would have had: spread evenly over the last
/// `DAYS` days, about 2 % failed with an error, 10 % still pending, the rest processed. On
/// PostgreSQL the table is then vacuumed and analysed, as autovacuum would have done.
async fn shape(config: &kcf_store::StoreConfig, n: usize, now: Timestamp) -> anyhow::Result<()> {
    let span = DAYS * 86_400_000;
    let sql = format!(
        "UPDATE messages SET
             created_at = {start} + (id * {span} / {n}),
             updated_at = {start} + (id * {span} / {n}),
             status = CASE WHEN id % 47 = 0 THEN 'failed' WHEN id % 10 = 1 THEN 'pending'
                           ELSE 'processed' END,
             attempts = CASE WHEN id % 47 = 0 THEN 3 WHEN id % 10 = 1 THEN 0 ELSE 1 END,
             last_error = CASE WHEN id % 47 = 0 THEN
                 'BigCommerce refused the product (422): the SKU is already used by another product'
                 ELSE NULL END,
             next_attempt_at = {far}",
        start = now.0 - span,
        far = now.0 + span,
    );
    use sqlx::ConnectOptions;
    use std::str::FromStr;
    if config.url.starts_with("postgres") {
        let mut c = sqlx::postgres::PgConnectOptions::from_str(&config.url)?
            .disable_statement_logging()
            .connect()
            .await?;
        c.execute(sqlx::AssertSqlSafe(sql)).await?;
        // What autovacuum would have done by the time a million messages had come in.
        c.execute("VACUUM ANALYZE messages").await?;
    } else {
        let mut c = sqlx::sqlite::SqliteConnectOptions::from_str(&config.url)?
            .disable_statement_logging()
            .connect()
            .await?;
        c.execute(sqlx::AssertSqlSafe(sql)).await?;
    }
    Ok(())
}
