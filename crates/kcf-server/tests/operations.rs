//! A connector a merchant can leave running: work nobody asked for never holds real-time work
//! back, listing twice does not double the work, an outage of the store or answers cut short
//! spend no attempts and lose nothing, wrong credentials pause the connector instead of
//! failing records, and manual actions follow the state machine. Each test runs on SQLite and
//! on PostgreSQL, over real HTTP against the emulators.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{collections::BTreeMap, time::Duration};

use common::{Harness, Options, WAIT, eventually};
use kcf_domain::{Entity, MessageStatus, Mode};
use kcf_engine::registry::StoreKind;
use reqwest::Method;
use serde_json::{Value, json};

both_backends!(
    realtime_work_runs_ahead_of_a_waiting_batch_listing,
    wrong_erp_credentials_pause_the_connector_until_fixed,
    bindings_are_unbound_and_linked_after_a_check,
    mappings_are_checked_and_chosen_by_name,
    a_failure_fixed_by_a_later_message_leaves_recent_failures,
);
every_store!(
    a_store_outage_ends_processed_with_nothing_aborted,
    answers_cut_short_by_both_systems_lose_nothing,
);

/// How long the store is out in the outage test.
const OUTAGE: Duration = Duration::from_secs(120);

async fn set_faults(h: &Harness, url: &str, faults: Value) {
    let r = h
        .http
        .put(format!("{url}/_sandbox/faults"))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn connector(h: &Harness) -> Value {
    let (status, list) = h.api(Method::GET, "/connectors", None).await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "test")
        .cloned()
        .unwrap()
}

async fn set_price(h: &Harness, sku: &str, price: f64) {
    h.erp_put(
        "StockItem",
        json!({ "InventoryID": sku, "DefaultPrice": price, "ItemStatus": "Active" }),
    )
    .await;
}

async fn store_price(h: &Harness, sku: &str) -> Option<f64> {
    h.shop().product(sku).await.map(|p| p.price)
}

async fn list_window(h: &Harness) -> Value {
    let (status, view) = h
        .api(
            Method::POST,
            "/batches",
            Some(json!({ "connector": "test", "entity": "product", "from": "2020-01-01", "to": "2029-01-01" })),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    view
}

async fn realtime_work_runs_ahead_of_a_waiting_batch_listing(backend: &str) {
    let h = Harness::start(backend).await;
    let sku = "SKU-000002";
    set_price(&h, sku, 21.0).await;
    eventually("the first price in the store", WAIT, || async {
        (store_price(&h, sku).await == Some(21.0)).then_some(())
    })
    .await;
    h.settled(Entity::Product).await;

    // A person lists a window and leaves it there, twice.
    let first = list_window(&h).await;
    let listed = first["run"]["listed"].as_u64().unwrap();
    assert!(listed >= 10, "{first}");
    let second = list_window(&h).await;
    assert_eq!(second["run"]["listed"], listed);
    let waiting: Vec<_> = h
        .messages(Entity::Product)
        .await
        .into_iter()
        .filter(|m| m.mode == Mode::Batch && m.status == MessageStatus::Pending)
        .collect();
    let mut per_key: BTreeMap<String, usize> = BTreeMap::new();
    for m in &waiting {
        *per_key.entry(m.record_key.as_str().to_owned()).or_default() += 1;
    }
    assert_eq!(
        waiting.len() as u64,
        listed,
        "one waiting message per record"
    );
    assert!(per_key.values().all(|n| *n == 1), "{per_key:?}");
    let second_run = second["run"]["id"].as_i64().unwrap();
    assert!(
        waiting.iter().all(|m| m.batch_run == Some(second_run)),
        "the second listing holds them now"
    );
    let (_, earlier) = h
        .api(
            Method::GET,
            &format!("/batches/{}", first["run"]["id"]),
            None,
        )
        .await;
    assert_eq!(
        earlier["counts"].as_array().map(Vec::len),
        Some(0),
        "the first run holds nothing any more: {earlier}"
    );
    assert_eq!(
        earlier["progress"]["status"], "moved to a later run",
        "{earlier}"
    );
    let (_, holding) = h
        .api(Method::GET, &format!("/batches/{second_run}"), None)
        .await;
    assert_eq!(
        holding["progress"]["status"], "waiting for Process",
        "{holding}"
    );
    assert_eq!(holding["progress"]["pending"], listed, "{holding}");
    assert_eq!(holding["progress"]["processed"], 0, "{holding}");

    // A real-time change of a listed record reaches the store while its listing waits.
    set_price(&h, sku, 22.0).await;
    eventually("the real-time change in the store", WAIT, || async {
        (store_price(&h, sku).await == Some(22.0)).then_some(())
    })
    .await;
    let held = waiting
        .iter()
        .find(|m| m.record_key.as_str() == sku)
        .unwrap();
    let (_, detail) = h
        .api(Method::GET, &format!("/messages/{}", held.id.0), None)
        .await;
    assert_eq!(
        detail["message"]["status"], "pending",
        "the listing still waits for a person: {detail}"
    );
    let why = detail["waiting"].as_str().unwrap_or_default();
    assert!(
        why.contains("waiting for Process") && why.contains(&format!("#{second_run}")),
        "{detail}"
    );
    let realtime = h
        .messages(Entity::Product)
        .await
        .into_iter()
        .find(|m| m.record_key.as_str() == sku && m.mode == Mode::RealTime && m.id > held.id)
        .unwrap();
    eventually("the real-time message processed", WAIT, || async {
        let m = h.db.store.message(realtime.id).await.unwrap().unwrap();
        (m.status == MessageStatus::Processed).then_some(())
    })
    .await;

    // Processing the listing later finds the record already in the store.
    let (status, report) = h
        .api(
            Method::POST,
            &format!("/batches/{second_run}/process"),
            Some(json!({ "ids": [held.id.0] })),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    eventually("the listing processed", WAIT, || async {
        let m = h.db.store.message(held.id).await.unwrap().unwrap();
        (m.status == MessageStatus::Processed).then_some(())
    })
    .await;
    assert_eq!(store_price(&h, sku).await, Some(22.0));
    assert_eq!(h.products_with_sku(sku).await.len(), 1);
    h.stop().await;
}

async fn a_store_outage_ends_processed_with_nothing_aborted(store: StoreKind, backend: &str) {
    let h = Harness::with(
        backend,
        Options {
            store,
            ..Options::default()
        },
    )
    .await;
    let (system, title) = match store {
        StoreKind::BigCommerce => ("bigcommerce", "BigCommerce"),
        StoreKind::Shopify => ("shopify", "Shopify"),
    };
    let skus: Vec<String> = (1..=5).map(|n| format!("SKU-{:06}", n + 10)).collect();
    for sku in &skus {
        set_price(&h, sku, 30.0).await;
    }
    for sku in &skus {
        eventually("the prices before the outage", WAIT, || async {
            (store_price(&h, sku).await == Some(30.0)).then_some(())
        })
        .await;
    }
    h.settled(Entity::Product).await;

    // The store answers nothing but 500 for a while; the ERP changes meanwhile.
    set_faults(&h, &h.bc.url(), json!({ "error_rate": 1.0 })).await;
    for sku in &skus {
        set_price(&h, sku, 31.0).await;
    }
    let out = eventually("the connector shown as out", WAIT, || async {
        let c = connector(&h).await;
        c["outage"].is_object().then_some(c)
    })
    .await;
    assert_eq!(out["outage"]["system"], system, "{out}");
    assert_eq!(out["outage"]["needs_person"], false, "{out}");
    assert!(
        out["outage"]["reason"].as_str().unwrap().contains(title),
        "{out}"
    );
    let home = h.page(&h.sign_in().await, "/").await;
    assert!(
        home.contains(&format!("{system} is out")),
        "the home page says so"
    );
    let started = std::time::Instant::now();
    let mut probes_seen = 0;
    while started.elapsed() < OUTAGE {
        let c = connector(&h).await;
        assert!(c["outage"].is_object(), "still out while the store is: {c}");
        probes_seen = probes_seen.max(c["outage"]["probes"].as_u64().unwrap_or(0));
        for m in h.messages(Entity::Product).await {
            assert!(
                !matches!(m.status, MessageStatus::Aborted | MessageStatus::Invalid),
                "{m:?}"
            );
            assert!(m.attempts <= 1, "attempts spent during the outage: {m:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(probes_seen >= 2, "kcf kept probing: {probes_seen}");

    // Back: kcf notices by itself and everything goes through.
    set_faults(&h, &h.bc.url(), json!({})).await;
    eventually("the outage over", Duration::from_secs(120), || async {
        connector(&h).await["outage"].is_null().then_some(())
    })
    .await;
    let messages = h.settled(Entity::Product).await;
    for m in &messages {
        assert_eq!(m.status, MessageStatus::Processed, "{m:?}");
    }
    for sku in &skus {
        assert_eq!(store_price(&h, sku).await, Some(31.0), "{sku}");
    }
    common::report(
        &format!(
            "{}_{backend}::a_store_outage_ends_processed_with_nothing_aborted",
            store.name()
        ),
        &format!(
            "the store answered every request 5xx: the outage shown, {probes_seen} probes seen, \
             no attempt spent; when it came back, {} messages Processed, none Aborted",
            messages.len()
        ),
    );
    h.stop().await;
}

async fn answers_cut_short_by_both_systems_lose_nothing(store: StoreKind, backend: &str) {
    const ORDERS: usize = 40;
    let h = Harness::with(
        backend,
        Options {
            store,
            client_timeout: Duration::from_secs(2),
            ..Options::default()
        },
    )
    .await;
    for entity in [Entity::Order, Entity::Product, Entity::Customer] {
        h.set_settings(entity, |s| s.auto_process = false).await;
    }
    let mut order_ids = Vec::new();
    for n in 0..ORDERS {
        let email = format!("cut{}@example.com", n % 10);
        let sku = format!("SKU-{:06}", 1 + n % 20);
        let order = h
            .shop()
            .place_order(&email, &[(&sku, 1 + n as u32 % 3)])
            .await;
        order_ids.push(match store {
            StoreKind::BigCommerce => order,
            StoreKind::Shopify => format!("SHOP-{order}"),
        });
    }
    let skus: Vec<String> = (21..=40).map(|n| format!("SKU-{n:06}")).collect();
    for (n, sku) in skus.iter().enumerate() {
        set_price(&h, sku, 40.0 + n as f64).await;
    }
    eventually("every notification queued", WAIT, || async {
        let orders = h.messages(Entity::Order).await.len();
        let products = h.messages(Entity::Product).await.len();
        (orders >= ORDERS && products >= skus.len()).then_some(())
    })
    .await;

    // 3 % of successful answers from both systems are cut short from now on.
    for url in [h.acu.url(), h.bc.url()] {
        set_faults(&h, &url, json!({ "malformed_rate": 0.03 })).await;
    }
    for entity in [Entity::Order, Entity::Product, Entity::Customer] {
        h.set_settings(entity, |s| s.auto_process = true).await;
    }
    let waited = Duration::from_secs(480);
    for entity in [Entity::Order, Entity::Product] {
        let messages = eventually("every message finished", waited, || async {
            let m = h.messages(entity).await;
            m.iter()
                .all(|m| {
                    !matches!(
                        m.status,
                        MessageStatus::Pending | MessageStatus::Processing | MessageStatus::Failed
                    )
                })
                .then_some(m)
        })
        .await;
        for m in &messages {
            assert!(
                matches!(m.status, MessageStatus::Processed),
                "{entity} {} ended {}: {:?}",
                m.record_key,
                m.status,
                m.last_error
            );
        }
    }
    for url in [h.acu.url(), h.bc.url()] {
        set_faults(&h, &url, json!({})).await;
    }
    // One sales order per store order; every price arrived.
    let orders = h
        .erp_get("/SalesOrder?$select=OrderNbr,ExternalRef")
        .await
        .unwrap();
    let mut per_ref: BTreeMap<String, usize> = BTreeMap::new();
    for o in orders.as_array().unwrap() {
        *per_ref
            .entry(o["ExternalRef"].as_str().unwrap_or("").to_owned())
            .or_default() += 1;
    }
    for id in &order_ids {
        assert_eq!(per_ref.get(id), Some(&1), "store order {id}");
    }
    for (n, sku) in skus.iter().enumerate() {
        assert_eq!(store_price(&h, sku).await, Some(40.0 + n as f64), "{sku}");
        assert_eq!(h.shop().count(sku).await, 1, "{sku} once");
    }
    common::report(
        &format!(
            "{}_{backend}::answers_cut_short_by_both_systems_lose_nothing",
            store.name()
        ),
        &format!(
            "answers cut short mid-body and malformed from both systems: {} store orders each \
             in the ERP once, {} products each in the store once with its price",
            order_ids.len(),
            skus.len()
        ),
    );
    h.stop().await;
}

async fn wrong_erp_credentials_pause_the_connector_until_fixed(backend: &str) {
    let h = Harness::start(backend).await;
    // The stored session is dropped with the change, so the next call signs in again.
    let (status, saved) = h
        .api(
            Method::PATCH,
            "/connectors/test/connection",
            Some(json!({ "acumatica_password": "wrong" })),
        )
        .await;
    assert_eq!((status, &saved["saved"]), (200, &json!(true)), "{saved}");
    let order = h
        .place_order("wrongpw@example.com", &[("SKU-000005", 1)])
        .await;
    let id = order["id"].as_u64().unwrap().to_string();
    let out = eventually("the connector paused for the sign-in", WAIT, || async {
        let c = connector(&h).await;
        c["outage"].is_object().then_some(c)
    })
    .await;
    assert_eq!(out["outage"]["system"], "acumatica", "{out}");
    assert_eq!(out["outage"]["needs_person"], true, "{out}");
    let m = h
        .messages(Entity::Order)
        .await
        .into_iter()
        .find(|m| m.record_key.as_str() == id)
        .unwrap();
    assert!(
        matches!(m.status, MessageStatus::Failed | MessageStatus::Pending),
        "the order waits, not invalid: {m:?}"
    );
    assert_eq!(m.attempts, 0, "no attempt spent on a refused sign-in");
    let (_, detail) = h
        .api(Method::GET, &format!("/messages/{}", m.id.0), None)
        .await;
    assert!(
        detail["waiting"]
            .as_str()
            .unwrap_or_default()
            .contains("refused kcf's sign-in"),
        "{detail}"
    );
    // Fixed: the order goes through.
    let (status, saved) = h
        .api(
            Method::PATCH,
            "/connectors/test/connection",
            Some(json!({ "acumatica_password": "sandbox" })),
        )
        .await;
    assert_eq!((status, &saved["saved"]), (200, &json!(true)), "{saved}");
    eventually("the order processed", WAIT, || async {
        let m = h.db.store.message(m.id).await.unwrap().unwrap();
        (m.status == MessageStatus::Processed).then_some(())
    })
    .await;
    assert!(connector(&h).await["outage"].is_null());
    h.stop().await;
}

async fn bindings_are_unbound_and_linked_after_a_check(backend: &str) {
    let h = Harness::start(backend).await;
    let sku = "SKU-000003";
    set_price(&h, sku, 33.0).await;
    eventually("the product in the store", WAIT, || async {
        (store_price(&h, sku).await == Some(33.0)).then_some(())
    })
    .await;
    let product_id = h.products_with_sku(sku).await[0]["id"].as_u64().unwrap();
    let path = format!("/connectors/test/bindings/product/{sku}");
    let (status, body) = h.api(Method::DELETE, &path, None).await;
    assert_eq!((status, &body["unbound"]), (200, &json!(true)), "{body}");
    let (status, body) = h.api(Method::DELETE, &path, None).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not linked")
    );
    assert!(
        h.db.store
            .binding(&h.id, Entity::Product, kcf_store::BindingKey::Erp(sku))
            .await
            .unwrap()
            .is_none()
    );
    // Linked again by hand: rows whose records do not exist are refused, each saying which.
    let csv = format!(
        "erp_key,external_id\nNO-SUCH-ITEM,{product_id}\n{sku},999999\n{sku},{product_id}\n"
    );
    let (status, report) = h
        .api(
            Method::POST,
            "/connectors/test/bindings/product",
            Some(json!({ "csv": csv })),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["imported"], 1, "{report}");
    let refused = report["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 2, "{report}");
    assert!(
        refused[0]["error"]
            .as_str()
            .unwrap()
            .contains("does not exist in the ERP"),
        "{report}"
    );
    assert!(
        refused[1]["error"]
            .as_str()
            .unwrap()
            .contains("store product 999999 does not exist"),
        "{report}"
    );
    let b =
        h.db.store
            .binding(&h.id, Entity::Product, kcf_store::BindingKey::Erp(sku))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(b.external_id, product_id.to_string());
    // The workspace's Sync History unbinds too.
    let cookie = h.sign_in().await;
    let page = h.page(&cookie, "/connectors/test/history/product").await;
    assert!(
        page.contains(&format!("unbind {sku}")),
        "an Unbind button per row"
    );
    h.stop().await;
}

async fn mappings_are_checked_and_chosen_by_name(backend: &str) {
    let h = Harness::start(backend).await;
    let (_, statuses) = h.store(Method::GET, "/v2/order_statuses", None).await;
    let awaiting = statuses
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Awaiting Shipment")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let put = |erp: &str, store: &str| {
        h.api(
            Method::PUT,
            "/connectors/test/mappings",
            Some(json!({ "kind": "order-status", "erp_value": erp, "store_value": store })),
        )
    };
    // By name, as a person reads it: saved as the store's id.
    let (status, saved) = put("Open", "Awaiting Shipment").await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["store_value"], awaiting.to_string(), "{saved}");
    // A store status that does not exist, or an ERP status that does not, is refused.
    // (409: the request is well-formed; what the systems hold refuses it.)
    let (status, e) = put("Open", "Awaiting Shipmnt").await;
    assert_eq!(status, 409, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Awaiting Shipment"),
        "{e}"
    );
    let (status, e) = put("Opne", "Shipped").await;
    assert_eq!(status, 409, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Back Order"),
        "{e}"
    );
    // The other kinds too: ERP values from the ERP's own lists, store values from the store's.
    let put_kind = |kind: &'static str, erp: &'static str, store: &'static str| {
        h.api(
            Method::PUT,
            "/connectors/test/mappings",
            Some(json!({ "kind": kind, "erp_value": erp, "store_value": store })),
        )
    };
    let (status, saved) = put_kind("customer-class", "wholesale", "Wholesale").await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(
        (&saved["erp_value"], &saved["store_value"]),
        (&json!("WHOLESALE"), &json!("2"))
    );
    let (status, e) = put_kind("customer-class", "GOLD", "2").await;
    assert_eq!(status, 409, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("WHOLESALE"),
        "{e}"
    );
    let (status, saved) = put_kind("payment-method", "CREDITCARD", "Credit Card").await;
    assert_eq!(
        (status, &saved["store_value"]),
        (200, &json!("braintree.credit_card")),
        "{saved}"
    );
    let (status, saved) = put_kind("warehouse", "MAIN", "Default location").await;
    assert_eq!(
        (status, &saved["store_value"]),
        (200, &json!("1")),
        "{saved}"
    );
    let (status, e) = put_kind("ship-via", "DHL", "Express").await;
    assert_eq!(status, 409, "{e}");
    let (status, saved) = put_kind("ship-via", "UPS", "UPS Ground (store)").await;
    assert_eq!(
        (status, &saved["store_value"]),
        (200, &json!("UPS Ground (store)")),
        "{saved}"
    );
    // The settings screen offers both lists.
    let cookie = h.sign_in().await;
    let page = h.page(&cookie, "/connectors/test/settings").await;
    assert!(
        page.contains("store order status") && page.contains(">Awaiting Shipment<"),
        "a list to choose from"
    );
    h.stop().await;
}

async fn a_failure_fixed_by_a_later_message_leaves_recent_failures(backend: &str) {
    let h = Harness::with(
        backend,
        Options {
            workers: false,
            ..Options::default()
        },
    )
    .await;
    let store = &h.db.store;
    let connector = &h.id;
    let run = |key: &'static str, outcome: kcf_domain::Outcome| async move {
        let id = store
            .enqueue(kcf_domain::NewMessage::new(
                connector.clone(),
                Entity::Customer,
                kcf_domain::Direction::ErpToStore,
                Mode::RealTime,
                kcf_domain::RecordKey::parse(key).unwrap(),
                "test",
            ))
            .await
            .unwrap()
            .id;
        let claimed = store.claim("t", 10, Duration::from_secs(30)).await.unwrap();
        let c = claimed.iter().find(|c| c.message.id == id).unwrap();
        store
            .complete(&c.lease, outcome, Some("refused: no such class"))
            .await
            .unwrap();
        id
    };
    let fixed = run("C-FIXED", kcf_domain::Outcome::Invalid).await;
    let still = run("C-STILL", kcf_domain::Outcome::Invalid).await;
    run("C-FIXED", kcf_domain::Outcome::Processed).await;
    let cookie = h.sign_in().await;
    let home = h.page(&cookie, "/").await;
    assert!(
        home.contains(&format!("/messages/{}\"", still.0)),
        "an open failure is listed"
    );
    assert!(
        !home.contains(&format!("/messages/{}\"", fixed.0)),
        "a failure a later message fixed is not"
    );
    h.stop().await;
}
