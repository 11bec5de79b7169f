//! Injected faults are classified by the one retry classifier.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use kcf_acumatica::{AcumaticaClient, AcumaticaConfig, Error};
use serde_json::json;

#[tokio::test]
async fn server_errors_throttling_and_timeouts_are_retriable() {
    let (erp, client) = common::erp().await;
    client.login().await.unwrap();

    common::set_faults(&erp, json!({ "error_rate": 1.0 })).await;
    let e = client.stock_item("SKU-000001").await.unwrap_err();
    assert!(matches!(e, Error::Http { status: 500, .. }), "{e:?}");
    assert!(e.is_retriable() && e.retry_after().is_none());
    assert_eq!(
        e.to_string(),
        "Acumatica answered 500: injected server error"
    );

    common::set_faults(&erp, json!({ "throttle_rate": 1.0 })).await;
    let e = client.customer("C000001").await.unwrap_err();
    assert!(
        matches!(e, Error::Throttled { .. }) && e.is_retriable(),
        "{e:?}"
    );
    assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));

    common::set_faults(&erp, json!({ "malformed_rate": 1.0 })).await;
    let e = client.stock_item("SKU-000001").await.unwrap_err();
    assert!(
        matches!(e, Error::Decode(_)) && e.is_retriable() && e.is_unavailable(),
        "an answer cut short is not the record's fault: {e:?}"
    );

    common::set_faults(&erp, json!({ "timeout_rate": 1.0, "timeout_ms": 3000 })).await;
    let mut config = AcumaticaConfig::sandbox(erp.url());
    config.timeout = Duration::from_millis(300);
    let impatient = AcumaticaClient::new(config).unwrap();
    let e = impatient.login().await.unwrap_err();
    assert!(matches!(e, Error::Timeout(_)) && e.is_retriable(), "{e:?}");

    common::set_faults(&erp, json!({})).await;
    assert!(
        client.stock_item("SKU-000001").await.unwrap().is_some(),
        "well again"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_retriable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = AcumaticaClient::new(AcumaticaConfig::sandbox(url)).unwrap();
    let e = client.stock_item("SKU-000001").await.unwrap_err();
    assert!(matches!(e, Error::Connect(_)) && e.is_retriable(), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("could not reach Acumatica: POST /entity/auth/login"),
        "{e}"
    );
}

#[tokio::test]
async fn requests_in_flight_stay_within_the_limit() {
    let (erp, _) = common::erp().await;
    let mut config = AcumaticaConfig::sandbox(erp.url());
    config.max_concurrent = 2;
    let client = AcumaticaClient::new(config).unwrap();
    client.login().await.unwrap();
    common::set_faults(&erp, json!({ "latency_ms": 100 })).await;
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for n in 1..=6 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client.stock_item(&format!("SKU-{n:06}")).await
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().unwrap().is_some());
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(290),
        "six 100 ms requests two at a time take three rounds: {took:?}"
    );
}
