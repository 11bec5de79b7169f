//! `kcf bench queue`: the message store's speed on this machine, against a baseline of raw
//! single-row inserts (one transaction each) on the same database, run in the same process.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use kcf_domain::{
    Connector, ConnectorId, Direction, Entity, MessageStatus, Mode, NewMessage, Outcome, Platform,
    RecordKey,
};
use kcf_store::{MessageFilter, Store, StoreConfig};
use rand::RngExt;
use sqlx::{Connection, Executor};

use crate::cli::{BenchBackend, BenchQueueArgs};

/// Runs `KCF_TEST_EXPERIMENT_SQL`, when set, on the benchmark's database after its migrations:
/// a way to measure what an index or a trigger costs without a build (see BENCHMARKS.md).
pub(crate) async fn experiment(config: &StoreConfig) -> anyhow::Result<()> {
    let Ok(sql) = std::env::var("KCF_TEST_EXPERIMENT_SQL") else {
        return Ok(());
    };
    if config.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&config.url).await?;
        c.execute(sqlx::AssertSqlSafe(sql)).await?;
        c.close().await?;
    } else {
        let mut c = sqlx::PgConnection::connect(&config.url).await?;
        c.execute(sqlx::AssertSqlSafe(sql)).await?;
        c.close().await?;
    }
    println!("experiment applied: KCF_TEST_EXPERIMENT_SQL");
    Ok(())
}

/// A throw-away database for one benchmark run, removed by [`Scratch::remove`].
pub(crate) struct Scratch {
    pub(crate) config: StoreConfig,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    Database { admin_url: String, name: String },
}

impl Scratch {
    pub(crate) async fn create(backend: BenchBackend, postgres_url: &str) -> anyhow::Result<Self> {
        let name = format!(
            "kcf_bench_{}_{:06x}",
            std::process::id(),
            rand::rng().random::<u32>() >> 8
        );
        match backend {
            BenchBackend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir)?;
                let url = format!("sqlite://{}", dir.join("kcf.db").display());
                Ok(Self {
                    config: StoreConfig::new(url),
                    cleanup: Cleanup::Dir(dir),
                })
            }
            BenchBackend::Postgres => {
                let mut admin = sqlx::PgConnection::connect(postgres_url)
                    .await
                    .with_context(|| {
                        format!(
                            "cannot reach PostgreSQL at {} (--postgres-url); is it running?",
                            kcf_store::redact_url(postgres_url)
                        )
                    })?;
                admin
                    .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await?;
                admin.close().await?;
                let base = postgres_url
                    .rsplit_once('/')
                    .map_or(postgres_url, |(b, _)| b);
                let mut config = StoreConfig::new(format!("{base}/{name}"));
                config.max_connections = 16;
                Ok(Self {
                    config,
                    cleanup: Cleanup::Database {
                        admin_url: postgres_url.to_owned(),
                        name,
                    },
                })
            }
        }
    }

    pub(crate) async fn remove(self) {
        match self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database { admin_url, name } => {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = admin.execute(sqlx::AssertSqlSafe(sql)).await;
                }
            }
        }
    }
}

fn message(connector: &ConnectorId, key: String, origin: Instant) -> anyhow::Result<NewMessage> {
    let sent = origin.elapsed().as_micros() as u64;
    Ok(NewMessage::new(
        connector.clone(),
        Entity::Product,
        Direction::ErpToStore,
        Mode::RealTime,
        RecordKey::parse(key.clone())?,
        "acumatica",
    )
    .with_dedup_key(key.clone())
    .with_description(format!("Stock item {key}"))
    .with_payload(serde_json::json!({ "InventoryID": key, "sent_us": sent })))
}

fn rate(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}

/// Runs the queue benchmark and prints its figures.
pub async fn queue(args: &BenchQueueArgs) -> anyhow::Result<()> {
    let scratch = Scratch::create(args.backend, &args.postgres_url).await?;
    let result = run(args, &scratch.config).await;
    scratch.remove().await;
    result
}

async fn run(args: &BenchQueueArgs, config: &StoreConfig) -> anyhow::Result<()> {
    let n = args.messages.max(1_000);
    let store = kcf_store::open(config).await?;
    experiment(config).await?;
    let connector = ConnectorId::parse("bench")?;
    store
        .put_connector(&Connector::new(
            connector.clone(),
            "bench",
            Platform::Acumatica,
            Platform::BigCommerce,
        ))
        .await?;
    let origin = Instant::now();
    println!(
        "kcf bench queue: backend {:?}, {n} messages per phase, {} CPUs",
        args.backend,
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );

    let baseline = baseline(config, 500).await?;
    println!("  baseline  raw INSERT, 1 row/transaction, 1 caller   {baseline:>10.0} msg/s");

    // Durable enqueue, one message per call, from 64 concurrent callers.
    let started = Instant::now();
    let mut callers = Vec::new();
    for caller in 0..64 {
        let (store, connector) = (store.clone(), connector.clone());
        callers.push(tokio::spawn(async move {
            for i in (caller..n).step_by(64) {
                store
                    .enqueue(message(&connector, format!("ONE-{i}"), origin)?)
                    .await?;
            }
            anyhow::Ok(())
        }));
    }
    for c in callers {
        c.await??;
    }
    let one = rate(n, started.elapsed());
    println!(
        "  enqueue   1 per call, 64 concurrent callers         {one:>10.0} msg/s  ({:.1}× baseline)",
        one / baseline
    );

    // Durable enqueue in batches of 100 from one caller.
    let started = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let batch = chunk
            .iter()
            .map(|i| message(&connector, format!("BATCH-{i}"), origin))
            .collect::<anyhow::Result<Vec<_>>>()?;
        store.enqueue_many(batch).await?;
    }
    let batched = rate(n, started.elapsed());
    println!(
        "  enqueue   batches of 100, 1 caller                  {batched:>10.0} msg/s  ({:.1}× baseline)",
        batched / baseline
    );

    // Claim + complete, batched, with 1 and then 4 workers (each with its own connections).
    let single = drain(config, &store, 1, n, false).await?;
    println!(
        "  drain     claim 64 + complete 64, 1 worker          {single:>10.0} msg/s  ({:.1}× baseline)",
        single / baseline
    );
    let four = drain(config, &store, 4, n, false).await?;
    println!(
        "  drain     claim 64 + complete 64, 4 workers         {four:>10.0} msg/s  ({:.1}× baseline)",
        four / baseline
    );
    // The same with what a worker keeps per message for the record page ("Mapped to"): one
    // multi-row upsert of a sales-order-sized document per claimed group.
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let batch = chunk
            .iter()
            .map(|i| message(&connector, format!("SENT-{i}"), origin))
            .collect::<anyhow::Result<Vec<_>>>()?;
        store.enqueue_many(batch).await?;
    }
    let sent = drain(config, &store, 4, n, true).await?;
    println!(
        "  drain     + keep what was sent (1.2 KB), 4 workers  {sent:>10.0} msg/s  ({:.2}× the drain above)",
        sent / four
    );

    let (p50, p99, max) = latency(&store, &connector, origin, 2_000).await?;
    println!(
        "  latency   enqueue → claim, 1 idle worker, 2000 msgs  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    Ok(())
}

/// Raw single-row inserts, one transaction each, on the same database and settings.
async fn baseline(config: &StoreConfig, rows: usize) -> anyhow::Result<f64> {
    let payload = serde_json::json!({ "InventoryID": "BASE", "sent_us": 0 }).to_string();
    let started;
    if config.url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(&config.url).await?;
        c.execute("CREATE TABLE bench_baseline (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL)")
            .await?;
        started = Instant::now();
        for _ in 0..rows {
            sqlx::query("INSERT INTO bench_baseline (payload) VALUES ($1)")
                .bind(&payload)
                .execute(&mut c)
                .await?;
        }
    } else {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
        use std::str::FromStr;
        // A file of its own next to the store's: a table created in the store's file while
        // the store's connections are open makes them reload the schema, and since migration
        // 6 such a reload was seen to lose the `messages` table (not understood yet).
        let own = format!("{}.baseline", config.url);
        let options = SqliteConnectOptions::from_str(&own)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let mut c = sqlx::SqliteConnection::connect_with(&options).await?;
        c.execute("CREATE TABLE bench_baseline (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
            .await?;
        started = Instant::now();
        for _ in 0..rows {
            sqlx::query("INSERT INTO bench_baseline (payload) VALUES ($1)")
                .bind(&payload)
                .execute(&mut c)
                .await?;
        }
    }
    Ok(rate(rows, started.elapsed()))
}

/// Drains `n` messages (or all that wait, if fewer) with `workers` workers, each with its own
/// store (its own connections).
async fn drain(
    config: &StoreConfig,
    store: &Arc<dyn Store>,
    workers: usize,
    n: usize,
    keep_sent: bool,
) -> anyhow::Result<f64> {
    let waiting = MessageFilter {
        statuses: vec![MessageStatus::Pending],
        ..Default::default()
    };
    let pending: u64 = store
        .count_by_status(&waiting)
        .await?
        .iter()
        .map(|c| c.count)
        .sum();
    let n = n.min(pending as usize);
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut stores = Vec::new();
    for _ in 0..workers {
        stores.push(kcf_store::open(config).await?);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (w, store) in stores.into_iter().enumerate() {
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let owner = format!("bench-{w}");
            while done.load(std::sync::atomic::Ordering::Relaxed) < n {
                let claimed = store.claim(&owner, 64, Duration::from_secs(60)).await?;
                if claimed.is_empty() {
                    store.wait_for_work(Duration::from_millis(20)).await;
                    continue;
                }
                // As the worker does: the documents first, then the completions.
                if keep_sent {
                    let documents: Vec<_> = claimed
                        .iter()
                        .map(|c| kcf_domain::SentDocument {
                            message_id: c.message.id,
                            at: kcf_domain::Timestamp::now(),
                            target: "Acumatica SalesOrder (create)".into(),
                            body: sales_order_like(c.message.record_key.as_str()),
                        })
                        .collect();
                    store.record_sent(&documents).await?;
                }
                let items: Vec<_> = claimed
                    .iter()
                    .map(|c| kcf_store::Completion::new(c.lease.clone(), Outcome::Processed))
                    .collect();
                store.complete_many(&items).await?;
                done.fetch_add(items.len(), std::sync::atomic::Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(rate(
        done.load(std::sync::atomic::Ordering::Relaxed),
        started.elapsed(),
    ))
}

/// A document the size of a two-line sales order as kcf sends it (about 1.2 KB of JSON).
fn sales_order_like(key: &str) -> serde_json::Value {
    let address = serde_json::json!({ "AddressLine1": "1 Main St", "City": "Austin", "Country": "US", "PostalCode": "78701", "State": "Texas" });
    let contact = serde_json::json!({ "Attention": "Test Buyer", "Email": "buyer@example.com", "Phone1": "555-0100" });
    serde_json::json!({
        "OrderType": "SO", "CustomerID": "BUYEREXAMPLECOM0", "ExternalRef": key, "CustomerOrder": key,
        "Description": format!("BigCommerce order #{key}"), "Date": "2026-11-27T08:46:56.000+00:00",
        "Details": [
            { "InventoryID": "SKU-000001", "OrderQty": 2, "UnitPrice": 12.5, "LineDescription": "Widget, blue, large size" },
            { "InventoryID": "SKU-000002", "OrderQty": 1, "UnitPrice": 99.0, "LineDescription": "Gadget with a long name" },
        ],
        "BillToAddressOverride": true, "BillToContactOverride": true,
        "BillToAddress": address, "BillToContact": contact,
        "ShipToAddressOverride": true, "ShipToContactOverride": true,
        "ShipToAddress": address, "ShipToContact": contact,
        "PaymentMethod": "CREDITCARD", "ShipVia": "FEDEX", "Note": "Leave at the back door, please.",
    })
}

async fn latency(
    store: &Arc<dyn Store>,
    connector: &ConnectorId,
    origin: Instant,
    count: usize,
) -> anyhow::Result<(Duration, Duration, Duration)> {
    let worker = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut samples = Vec::with_capacity(count);
            while samples.len() < count {
                let claimed = store.claim("latency", 64, Duration::from_secs(60)).await?;
                let now = origin.elapsed().as_micros() as u64;
                if claimed.is_empty() {
                    store.wait_for_work(Duration::from_millis(500)).await;
                    continue;
                }
                for c in &claimed {
                    let sent = c.message.payload["sent_us"].as_u64().unwrap_or(now);
                    samples.push(Duration::from_micros(now.saturating_sub(sent)));
                }
                let items: Vec<_> = claimed
                    .iter()
                    .map(|c| kcf_store::Completion::new(c.lease.clone(), Outcome::Processed))
                    .collect();
                store.complete_many(&items).await?;
            }
            anyhow::Ok(samples)
        })
    };
    for i in 0..count {
        store
            .enqueue(message(connector, format!("LAT-{i}"), origin)?)
            .await?;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut samples = worker.await??;
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    Ok((at(0.50), at(0.99), at(1.0)))
}
