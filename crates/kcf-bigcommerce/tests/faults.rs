//! Failures classified: server errors, timeouts and lost connections are retried; bad
//! tokens, unknown stores and unreadable answers are not.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Setup, Store};
use kcf_bigcommerce::{BigCommerceClient, BigCommerceConfig, Error, ProductQuery};
use kcf_domain::Secret;
use kcf_sandbox::{Faults, SeedSize};

#[tokio::test]
async fn server_errors_are_retriable() {
    let s = Store::with(Setup {
        faults: Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
        ..Setup::default()
    })
    .await;
    let e = s
        .client
        .products(&ProductQuery::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Server { status: 500, .. }), "{e:?}");
    assert!(e.is_retriable());
    assert!(e.is_unavailable());
    assert!(
        !e.to_string().contains("will try again"),
        "an error promises nothing; the message's status says what happens next: {e}"
    );
    let e = s.client.order(1).await.unwrap_err();
    assert!(e.is_retriable(), "{e:?}");
}

#[tokio::test]
async fn unreadable_answers_are_retried() {
    let s = Store::with(Setup {
        faults: Faults {
            malformed_rate: 1.0,
            ..Faults::default()
        },
        ..Setup::default()
    })
    .await;
    let e = s
        .client
        .products(&ProductQuery::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(
        e.is_retriable() && e.is_unavailable(),
        "a cut-short answer is not the record's fault"
    );
    assert!(e.to_string().contains("reading products"), "{e}");
}

#[tokio::test]
async fn timeouts_and_unreachable_stores_are_retriable() {
    let s = Store::with(Setup {
        faults: Faults {
            timeout_rate: 1.0,
            timeout_ms: 3_000,
            ..Faults::default()
        },
        client: |c| c.timeout = Duration::from_millis(300),
        ..Setup::default()
    })
    .await;
    let e = s
        .client
        .products(&ProductQuery::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(e.is_retriable());

    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let client =
        BigCommerceClient::new(BigCommerceConfig::sandbox(format!("http://{addr}"))).unwrap();
    let e = client.test_connection().await.unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    assert!(e.is_retriable());
}

#[tokio::test]
async fn wrong_tokens_and_stores_are_fatal() {
    let s = Store::start(SeedSize::Empty).await;
    s.client.test_connection().await.unwrap();

    let mut config = BigCommerceConfig::sandbox(s.emulator.url());
    config.access_token = Secret::new("wrong");
    let client = BigCommerceClient::new(config).unwrap();
    let e = client.test_connection().await.unwrap_err();
    assert!(
        matches!(e, Error::Unauthorized { status: 401, .. }),
        "{e:?}"
    );
    assert!(!e.is_retriable());
    assert!(e.to_string().contains("access token"), "{e}");

    let mut config = BigCommerceConfig::sandbox(s.emulator.url());
    config.store_hash = "otherstore".into();
    let client = BigCommerceClient::new(config).unwrap();
    let e = client.test_connection().await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("no store 'otherstore'"), "{e}");

    // The real API is https: the TLS provider is in place.
    let real = BigCommerceConfig {
        store_hash: "abc123".into(),
        access_token: Secret::new("token"),
        ..BigCommerceConfig::default()
    };
    BigCommerceClient::new(real).unwrap();
    let e = BigCommerceClient::new(BigCommerceConfig::default()).unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e:?}");
    assert!(e.to_string().contains("store hash"), "{e}");
}
