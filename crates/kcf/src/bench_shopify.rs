//! `kcf bench shopify-stock`: kcf's Shopify stock writes against the emulator's query-cost
//! bucket, the way the availability processor sends them (50 SKUs per group, each group one
//! compare-and-set read and one `inventorySetQuantities`), from several workers at once.
//! It prints the points kcf spent against what the bucket could give in that time (its size
//! plus its restore rate × the elapsed time) and how many queries Shopify refused
//! THROTTLED; the target is ≥ 0.95 of the bucket with none refused.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Instant,
};

use anyhow::Context;
use kcf_platform::{ErrorKind, StockWrite, Storefront, Unrecorded};
use kcf_sandbox::{Dataset, Faults, SeedSize};
use kcf_shopify::{ShopifyConfig, ShopifyStore};
use serde_json::Value;

use crate::cli::BenchShopifyArgs;

/// SKUs per group, as the availability processor sends them.
const GROUP: usize = 50;

/// Runs the benchmark and prints its figures.
pub async fn run(args: &BenchShopifyArgs) -> anyhow::Result<()> {
    kcf_sandbox::install_crypto_provider();
    let dataset = Dataset::generate(SeedSize::Products(args.variants));
    let emulator = kcf_sandbox::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await?,
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
    let store = Arc::new(ShopifyStore::new(ShopifyConfig::sandbox(emulator.url()))?);
    let location = store
        .locations()
        .await?
        .into_iter()
        .next()
        .context("the emulator has no location")?
        .0;
    let groups: VecDeque<Vec<StockWrite>> = dataset
        .products
        .chunks(GROUP)
        .enumerate()
        .map(|(n, chunk)| {
            chunk
                .iter()
                .map(|p| StockWrite {
                    sku: p.sku.clone(),
                    location: location.clone(),
                    quantity: 10 + (n % 7) as i64,
                })
                .collect()
        })
        .collect();
    let total = groups.len();
    let queue = Arc::new(Mutex::new(groups));
    let waits = Arc::new(Mutex::new(0u64));
    println!(
        "kcf bench shopify-stock: {} variants in {total} groups of {GROUP}, {} workers, bucket {} points, {} per second",
        args.variants, args.workers, args.points, args.restore
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.workers {
        let (queue, store, waits) = (queue.clone(), store.clone(), waits.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(group) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
                else {
                    return Ok::<(), anyhow::Error>(());
                };
                loop {
                    match store.set_stock(&group, &Unrecorded).await {
                        Ok(()) => break,
                        // As the engine does: the message waits, spending no attempt.
                        Err(e) if matches!(e.kind, ErrorKind::RateLimited { .. }) => {
                            *waits.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                            tokio::time::sleep(e.retry_after().unwrap_or_default()).await;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cost: Value = reqwest::get(format!("{}/_sandbox/cost", emulator.url()))
        .await?
        .json()
        .await?;
    let spent = cost["points_spent"].as_f64().unwrap_or(0.0);
    let throttled = cost["throttled"].as_u64().unwrap_or(0);
    let capacity = args.points + args.restore * elapsed;
    let sample: Vec<String> = dataset
        .products
        .iter()
        .step_by((args.variants / 100).max(1))
        .map(|p| p.sku.clone())
        .collect();
    let levels = loop {
        match store.stock_levels(&sample).await {
            Ok(l) => break l,
            Err(e) if matches!(e.kind, ErrorKind::RateLimited { .. }) => {
                tokio::time::sleep(e.retry_after().unwrap_or_default()).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    let written = sample
        .iter()
        .filter(|s| levels.contains_key(&(s.to_uppercase(), location.clone())))
        .count();
    println!("| figure | value |");
    println!("|---|---|");
    println!("| groups written | {total} ({} variants) |", args.variants);
    println!("| elapsed | {elapsed:.1} s |");
    println!("| points spent (the emulator's count) | {spent:.0} |");
    println!(
        "| bucket capacity in that time ({} + {} × {elapsed:.1} s) | {capacity:.0} |",
        args.points, args.restore
    );
    println!("| share of the bucket used | {:.3} |", spent / capacity);
    println!(
        "| spent per second / restore rate | {:.3} |",
        (spent - args.points).max(0.0) / elapsed / args.restore
    );
    println!("| THROTTLED answers | {throttled} |");
    println!(
        "| waits kcf chose (short of points, no request sent) | {} |",
        waits.lock().unwrap_or_else(|p| p.into_inner())
    );
    println!(
        "| sampled levels read back | {written} of {} |",
        sample.len()
    );
    emulator.stop().await;
    Ok(())
}
