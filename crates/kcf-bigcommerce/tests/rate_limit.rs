//! The store's request budget against the emulator's fixed-window rate limit.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Setup, Store};
use kcf_bigcommerce::{Error, ProductQuery};
use kcf_domain::Timestamp;
use kcf_sandbox::bigcommerce::RateLimit;
use serde_json::Value;

fn one() -> ProductQuery {
    ProductQuery {
        limit: 1,
        ..ProductQuery::default()
    }
}

/// Makes `n` successful calls, waiting out every pause the client announces; returns how many
/// pauses there were.
async fn calls(s: &Store, n: usize) -> usize {
    let (mut done, mut pauses) = (0, 0);
    while done < n {
        match s.client.products(&one()).await {
            Ok(_) => done += 1,
            Err(Error::RateLimited { retry_after }) => {
                pauses += 1;
                tokio::time::sleep(retry_after).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
    pauses
}

async fn rate_limited(s: &Store) -> u64 {
    s.control("counters").await["rate_limited"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn the_proactive_limiter_provokes_no_429() {
    let s = Store::with(Setup {
        rate_limit: Some(RateLimit {
            quota: 10,
            window: Duration::from_secs(1),
        }),
        client: |c| {
            c.quota = 10;
            c.window = Duration::from_secs(1);
        },
        ..Setup::default()
    })
    .await;
    let pauses = calls(&s, 40).await;
    assert_eq!(rate_limited(&s).await, 0);
    assert!(pauses > 0, "the budget ran out and the client waited");
    let status = s.client.rate_limit();
    assert_eq!((status.quota, status.window_ms), (10, 1000));
}

#[tokio::test]
async fn the_headers_keep_a_generous_client_under_the_store_limit() {
    let s = Store::with(Setup {
        rate_limit: Some(RateLimit {
            quota: 10,
            window: Duration::from_secs(1),
        }),
        client: |c| c.quota = 1000,
        ..Setup::default()
    })
    .await;
    calls(&s, 40).await;
    assert_eq!(rate_limited(&s).await, 0);
}

#[tokio::test]
async fn after_a_429_nothing_is_sent_until_the_reset() {
    let s = Store::with(Setup {
        rate_limit: Some(RateLimit {
            quota: 10,
            window: Duration::from_secs(2),
        }),
        client: |c| c.quota = 1000,
        ..Setup::default()
    })
    .await;
    // Another app on the store spends the budget, leaving most of the window to run.
    loop {
        let r = s.raw("/v3/catalog/products?limit=1").send().await.unwrap();
        if r.status() != 429 {
            continue;
        }
        let reset: u64 = r.headers()["x-rate-limit-time-reset-ms"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        if reset >= 1000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(reset + 20)).await;
    }
    let refused_before = rate_limited(&s).await;
    let e = s.client.products(&one()).await.unwrap_err();
    let Error::RateLimited { retry_after } = e else {
        panic!("{e:?}")
    };
    assert!(e.is_retriable());
    assert!(retry_after > Duration::from_millis(900) && retry_after <= Duration::from_millis(2100));
    assert_eq!(rate_limited(&s).await, refused_before + 1);
    let paused_until = s.client.rate_limit().paused_until.unwrap();
    assert!(paused_until > Timestamp::now());

    let sent = s.requests().await;
    for _ in 0..5 {
        assert!(matches!(
            s.client.products(&one()).await,
            Err(Error::RateLimited { .. })
        ));
    }
    assert_eq!(s.requests().await, sent, "no request left while paused");

    tokio::time::sleep(retry_after).await;
    s.client.products(&one()).await.unwrap();
    let ledger = s.control("ledger").await;
    let entries = ledger.as_array().unwrap();
    let last_429 = entries.iter().rev().find(|e| e["status"] == 429).unwrap();
    let next = entries
        .iter()
        .find(|e| e["seq"].as_u64() > last_429["seq"].as_u64())
        .unwrap();
    assert_eq!(next["status"], 200);
    let gap = next["at_ms"].as_i64().unwrap() - last_429["at_ms"].as_i64().unwrap();
    assert!(
        gap >= 900,
        "the next request waited for the reset ({gap} ms)"
    );
}

#[tokio::test]
async fn a_bare_429_pauses_for_its_retry_after() {
    let s = Store::with(Setup {
        client: |c| c.quota = 1000,
        ..Setup::default()
    })
    .await;
    s.faults(serde_json::json!({ "throttle_rate": 1.0 })).await;
    let e = s.client.products(&one()).await.unwrap_err();
    assert!(
        matches!(e, Error::RateLimited { retry_after } if retry_after >= Duration::from_secs(1)),
        "{e:?}"
    );
    let sent = s.requests().await;
    assert!(s.client.products(&one()).await.is_err());
    assert_eq!(s.requests().await, sent);
    s.faults(Value::Object(serde_json::Map::new())).await;
    tokio::time::sleep(e.retry_after().unwrap()).await;
    s.client.products(&one()).await.unwrap();
}

#[tokio::test]
async fn a_pause_mirrored_from_another_process_holds_every_call() {
    let s = Store::start(kcf_sandbox::SeedSize::Small).await;
    s.client
        .pause_until(Timestamp::now().plus(Duration::from_millis(500)));
    let e = s.client.products(&one()).await.unwrap_err();
    assert!(matches!(e, Error::RateLimited { .. }), "{e:?}");
    assert_eq!(s.requests().await, 0);
    tokio::time::sleep(e.retry_after().unwrap()).await;
    s.client.products(&one()).await.unwrap();
    assert_eq!(s.client.rate_limit().paused_until, None);
}
