//! The OpenAPI document: the checked-in copy is current, and every operation it documents
//! exists, answers 401 without credentials and is routed with them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, Options, TOKEN};
use reqwest::Method;

both_backends!(every_documented_operation_is_served);

#[test]
fn the_checked_in_document_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let current = serde_json::to_string_pretty(&kcf_server::openapi::document()).unwrap() + "\n";
    if std::env::var("KCF_UPDATE_OPENAPI").is_ok() {
        std::fs::write(&path, &current).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == current,
        "docs/openapi.json is stale: run `KCF_UPDATE_OPENAPI=1 cargo test -p kcf-server --test openapi` and commit it"
    );
}

fn concrete(path: &str) -> String {
    path.replace("{id}/entities/{entity}", "test/entities/product")
        .replace("{id}/bindings/{entity}", "test/bindings/product")
        .replace("connectors/{id}", "connectors/test")
        .replace("{connector}", "test")
        .replace("{id}", "1")
}

async fn every_documented_operation_is_served(backend: &str) {
    let h = Harness::with(
        backend,
        Options {
            workers: false,
            ..Options::default()
        },
    )
    .await;
    let served: serde_json::Value = h
        .http
        .get(format!("{}/api/v1/openapi.json", h.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, kcf_server::openapi::document());
    for (method, path) in kcf_server::openapi::operations() {
        let url = format!("{}{}", h.url(), concrete(path));
        let method: Method = method.to_uppercase().parse().unwrap();
        let public = matches!(path, "/healthz" | "/readyz" | "/metrics");
        // Without credentials: refused (notification receivers check their own secret).
        let anonymous = h
            .http
            .request(method.clone(), &url)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        if public {
            assert_eq!(anonymous.status(), 200, "{method} {path}");
            continue;
        }
        assert_eq!(
            anonymous.status(),
            401,
            "{method} {path} without credentials"
        );
        if path.starts_with("/push") || path.starts_with("/webhooks") {
            continue;
        }
        // With a token: routed to a handler (which may still refuse the empty body, with an
        // error of its own, or not find record 1), never the router's 404/405.
        let r = h
            .http
            .request(method.clone(), &url)
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert_ne!(status, 405, "{method} {path}: {body}");
        if status == 404 {
            assert!(
                body.contains("\"error\""),
                "{method} {path}: the router's 404"
            );
        }
        assert!(status < 500, "{method} {path}: {status} {body}");
    }
    h.stop().await;
}
