//! `kcf bench shopify-stock --engine`: the whole availability sync against the Shopify
//! emulator's query-cost bucket. An inventory adjustment of every item is released in the
//! Acumatica emulator; its push notifications become availability messages that kcf's
//! workers apply to Shopify (the overselling guard's order listings included). The figures
//! are the emulator's own: points charged and queries refused THROTTLED, against what the
//! bucket could give from the release until the last message was processed.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use kcf_domain::{ConnectorId, Entity, MessageStatus, Secret};
use kcf_engine::WorkerConfig;
use kcf_engine::registry::StoreKind;
use kcf_sandbox::{Dataset, Faults, SeedSize};
use kcf_server::{AppConfig, wiring};
use kcf_store::MessageFilter;
use serde_json::{Value, json};

use crate::cli::BenchShopifyArgs;

const ACU: &str = "/entity/Default/24.200.001";

/// Runs the benchmark and prints its figures.
pub async fn run(args: &BenchShopifyArgs) -> anyhow::Result<()> {
    kcf_sandbox::install_crypto_provider();
    let dataset = Dataset::generate(SeedSize::Products(args.variants));
    let listen = || tokio::net::TcpListener::bind("127.0.0.1:0");
    let acu = kcf_sandbox::start(
        listen().await?,
        kcf_sandbox::EmulatorConfig::Acumatica(kcf_sandbox::acumatica::AcumaticaConfig {
            max_sessions: 16,
            ..Default::default()
        }),
        Faults::default(),
        &dataset,
        kcf_sandbox::Transport::Http,
    )
    .await?;
    let shop = kcf_sandbox::start(
        listen().await?,
        kcf_sandbox::EmulatorConfig::Shopify(kcf_sandbox::shopify::ShopifyConfig {
            cost_limit: Some(kcf_sandbox::shopify::CostLimit {
                maximum: args.points,
                restore_rate: args.restore,
            }),
            ..Default::default()
        }),
        Faults::default(),
        &dataset,
        kcf_sandbox::Transport::Http,
    )
    .await?;
    let dir = std::env::temp_dir().join(format!("kcf-bench-shopify-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let id = ConnectorId::parse("bench").map_err(anyhow::Error::msg)?;
    let mut spec =
        wiring::sandbox_connector(id.clone(), &acu.url(), StoreKind::Shopify, &shop.url());
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
        Some(listen().await?),
        AppConfig {
            workers: WorkerConfig {
                owner: "bench".into(),
                concurrency: args.workers.max(1),
                idle_wait: Duration::from_millis(200),
                ..WorkerConfig::default()
            },
            worker_loops: 1,
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
    println!(
        "kcf bench shopify-stock --engine: {} items adjusted in Acumatica, {} workers, bucket {} points, {} per second",
        args.variants, args.workers, args.points, args.restore
    );
    // Start with a full bucket, so that its capacity over the run is its size plus what it
    // restores meanwhile.
    tokio::time::sleep(Duration::from_secs_f64(
        args.points / args.restore.max(0.001) + 1.0,
    ))
    .await;
    let cost_url = format!("{}/_sandbox/cost", shop.url());
    let before: Value = reqwest::get(&cost_url).await?.json().await?;
    let lines: Vec<Value> = dataset
        .products
        .iter()
        .map(|p| json!({ "InventoryID": { "value": p.sku }, "WarehouseID": { "value": "MAIN" }, "Qty": { "value": 5.0 } }))
        .collect();
    let started = Instant::now();
    let adjustment: Value = erp
        .put(format!("{}{ACU}/InventoryAdjustment", acu.url()))
        .json(&json!({ "Hold": { "value": false }, "Description": { "value": "bench" }, "Details": lines }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let r = erp
        .post(format!(
            "{}{ACU}/InventoryAdjustment/ReleaseInventoryAdjustment",
            acu.url()
        ))
        .json(
            &json!({ "entity": { "ReferenceNbr": adjustment["ReferenceNbr"] }, "parameters": {} }),
        )
        .send()
        .await?;
    if r.status() != 202 {
        bail!("releasing the adjustment: {}", r.status());
    }
    let filter = MessageFilter {
        entity: Some(Entity::Availability),
        ..MessageFilter::default()
    };
    // The points charged, sampled as the run goes: the steady rate is read between a tenth
    // and nine tenths of the run's spending (the ramp-up is the ERP's notifications
    // arriving; the tail, the last groups).
    let mut samples: Vec<(f64, f64)> = Vec::new();
    let counts = loop {
        let now: Value = reqwest::get(&cost_url).await?.json().await?;
        samples.push((
            started.elapsed().as_secs_f64(),
            now["points_spent"].as_f64().unwrap_or(0.0)
                - before["points_spent"].as_f64().unwrap_or(0.0),
        ));
        let counts = engine.store.count_by_status(&filter).await?;
        let total: u64 = counts.iter().map(|c| c.count).sum();
        let open: u64 = counts
            .iter()
            .filter(|c| {
                matches!(
                    c.status,
                    MessageStatus::Pending | MessageStatus::Processing | MessageStatus::Failed
                )
            })
            .map(|c| c.count)
            .sum();
        if total >= args.variants as u64 && open == 0 {
            break counts;
        }
        if started.elapsed() > Duration::from_secs(3600) {
            bail!("the availability sync did not finish within an hour: {counts:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let elapsed = started.elapsed().as_secs_f64();
    let after: Value = reqwest::get(&cost_url).await?.json().await?;
    let spent = after["points_spent"].as_f64().unwrap_or(0.0)
        - before["points_spent"].as_f64().unwrap_or(0.0);
    let throttled =
        after["throttled"].as_u64().unwrap_or(0) - before["throttled"].as_u64().unwrap_or(0);
    let capacity = args.points + args.restore * elapsed;
    let processed = counts
        .iter()
        .filter(|c| c.status == MessageStatus::Processed)
        .map(|c| c.count)
        .sum::<u64>();
    let journal = engine.runtime(&id).map(|c| c.store.rate_limit_journal());
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| availability messages processed | {processed} of {} |",
        counts.iter().map(|c| c.count).sum::<u64>()
    );
    println!("| elapsed (release → last message processed) | {elapsed:.1} s |");
    println!("| points spent (the emulator's count) | {spent:.0} |");
    println!(
        "| bucket capacity in that time ({} + {} × {elapsed:.1} s) | {capacity:.0} |",
        args.points, args.restore
    );
    println!("| share of the bucket used | {:.3} |", spent / capacity);
    let at = |share: f64| {
        samples
            .iter()
            .find(|(_, p)| *p >= spent * share)
            .copied()
            .unwrap_or((elapsed, spent))
    };
    let ((t10, p10), (t90, p90)) = (at(0.1), at(0.9));
    println!(
        "| steady rate, {t10:.1} s to {t90:.1} s (a tenth to nine tenths of the points) | {:.0} points/s = {:.3} of the restore rate |",
        (p90 - p10) / (t90 - t10).max(0.001),
        (p90 - p10) / (t90 - t10).max(0.001) / args.restore
    );
    println!("| THROTTLED answers | {throttled} |");
    if let Some(j) = journal {
        println!(
            "| requests started during a known pause (kcf's journal) | {} |",
            j.started_during_pauses()
        );
    }
    app.shutdown().await;
    shop.stop().await;
    acu.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
