//! Webhook registrations, `ensure_hooks`, and a delivery verified end to end.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{Receiver, Store};
use kcf_bigcommerce::{Error, HookInput, ProductInput, notify};
use kcf_domain::Entity;
use kcf_sandbox::SeedSize;

const SCOPES: &[&str] = &[
    "store/order/created",
    "store/order/statusUpdated",
    "store/customer/updated",
];

fn headers(secret: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("x-kcf-secret".to_owned(), secret.to_owned())])
}

#[tokio::test]
async fn hooks_are_created_listed_changed_and_deleted() {
    let s = Store::start(SeedSize::Empty).await;
    assert!(s.client.hooks().await.unwrap().is_empty());
    let wanted = HookInput {
        scope: "store/order/created".into(),
        destination: "https://kcf.example/webhooks/bigcommerce/main".into(),
        is_active: true,
        headers: headers("abc"),
    };
    let hook = s.client.create_hook(&wanted).await.unwrap();
    assert_eq!(
        (hook.scope.as_str(), hook.is_active, &hook.headers),
        ("store/order/created", true, &headers("abc"))
    );
    let e = s.client.create_hook(&wanted).await.unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    let e = s
        .client
        .create_hook(&HookInput {
            scope: "store/nothing/here".into(),
            ..wanted.clone()
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("scope"), "{e}");

    let listed = s.client.hooks().await.unwrap();
    assert_eq!(listed, vec![hook.clone()]);
    let off = s
        .client
        .update_hook(
            hook.id,
            &HookInput {
                is_active: false,
                ..wanted.clone()
            },
        )
        .await
        .unwrap();
    assert!(!off.is_active);
    s.client.delete_hook(hook.id).await.unwrap();
    assert!(s.client.hooks().await.unwrap().is_empty());
    let e = s.client.delete_hook(hook.id).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
}

/// Two kcf processes starting together (an api and a worker) each register the hooks: the
/// one that loses the race finds them there instead of failing (CI met a 502 from
/// "A webhook with this scope and destination already exists").
#[tokio::test]
async fn ensure_hooks_from_two_processes_at_once_both_succeed() {
    let s = Store::start(SeedSize::Empty).await;
    let url = "https://kcf.example/webhooks/bigcommerce/main";
    let wanted = headers("abc");
    for _ in 0..5 {
        let (a, b) = tokio::join!(
            s.client.ensure_hooks(SCOPES, url, &wanted),
            s.client.ensure_hooks(SCOPES, url, &wanted),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a, b);
        assert_eq!(s.client.hooks().await.unwrap().len(), SCOPES.len());
        for h in s.client.hooks().await.unwrap() {
            s.client.delete_hook(h.id).await.unwrap();
        }
    }
}

#[tokio::test]
async fn ensure_hooks_is_idempotent_and_repairs_drift() {
    let s = Store::start(SeedSize::Empty).await;
    let url = "https://kcf.example/webhooks/bigcommerce/main";
    let first = s
        .client
        .ensure_hooks(SCOPES, url, &headers("abc"))
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(|h| h.scope.as_str()).collect::<Vec<_>>(),
        SCOPES
    );
    let again = s
        .client
        .ensure_hooks(SCOPES, url, &headers("abc"))
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(s.client.hooks().await.unwrap().len(), SCOPES.len());
    assert_eq!(s.per_route("POST /stores/{hash}/v3/hooks").await, 3);
    assert_eq!(s.per_route("PUT /stores/{hash}/v3/hooks/{id}").await, 0);

    // BigCommerce switches a hook off after two days of failures; a new secret changes all.
    s.client
        .update_hook(
            first[1].id,
            &HookInput {
                scope: first[1].scope.clone(),
                destination: url.into(),
                is_active: false,
                headers: headers("abc"),
            },
        )
        .await
        .unwrap();
    let repaired = s
        .client
        .ensure_hooks(SCOPES, url, &headers("new"))
        .await
        .unwrap();
    assert_eq!(
        repaired.iter().map(|h| h.id).collect::<Vec<_>>(),
        first.iter().map(|h| h.id).collect::<Vec<_>>()
    );
    assert!(
        repaired
            .iter()
            .all(|h| h.is_active && h.headers == headers("new"))
    );
    // A new kcf address moves the hooks rather than adding more.
    let moved = s
        .client
        .ensure_hooks(SCOPES, "https://kcf2.example/hooks", &headers("new"))
        .await
        .unwrap();
    assert!(
        moved
            .iter()
            .all(|h| h.destination == "https://kcf2.example/hooks")
    );
    assert_eq!(s.client.hooks().await.unwrap().len(), SCOPES.len());
}

#[tokio::test]
async fn a_delivered_webhook_verifies_and_parses() {
    let s = Store::start(SeedSize::Empty).await;
    let (receiver, url) = Receiver::start().await;
    s.client
        .ensure_hooks(&["store/product/created"], &url, &headers("abc"))
        .await
        .unwrap();
    let product = s
        .client
        .create_product(&ProductInput {
            name: "Hooked".into(),
            kind: "physical".into(),
            sku: "HOOK-1".into(),
            price: Some(1.0),
            weight: Some(1.0),
            ..ProductInput::default()
        })
        .await
        .unwrap();
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1);
    let (h, body) = &got[0];
    let header = |name: &str| h.get(name).unwrap().to_str().unwrap().to_owned();
    let now = kcf_domain::Timestamp::now().0 / 1000;
    notify::verify_signature(
        b"sandbox-client-secret",
        &header("webhook-id"),
        &header("webhook-timestamp"),
        body.as_bytes(),
        &header("webhook-signature"),
        now,
        300,
    )
    .unwrap();
    assert_eq!(
        notify::verify_signature(
            b"another-secret",
            &header("webhook-id"),
            &header("webhook-timestamp"),
            body.as_bytes(),
            &header("webhook-signature"),
            now,
            300,
        ),
        Err(notify::NotifyError::BadSignature)
    );
    assert!(notify::header_matches(
        "abc",
        h.get("x-kcf-secret").map(|v| v.as_bytes())
    ));
    let event = notify::parse(body.as_bytes()).unwrap();
    assert_eq!(event.scope, "store/product/created");
    assert_eq!(event.entity, Some(Entity::Product));
    assert_eq!(event.resource_id, product.id.to_string());
    assert!(!event.hash.is_empty());
}
