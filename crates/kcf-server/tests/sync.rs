//! End to end, over real HTTP: changes made through the emulators' public APIs reach the other
//! side through kcf's ingress, queue, workers and clients. Every test runs on SQLite and on
//! PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Harness, Options, WAIT, eventually};
use kcf_domain::{Entity, MessageStatus};
use kcf_sandbox::SeedSize;
use reqwest::Method;
use serde_json::{Value, json};

both_backends!(
    stock_items_and_categories_reach_the_store,
    store_orders_reach_the_erp_exactly_once,
    shipments_and_statuses_follow_the_erp,
    cancellations_go_both_ways,
    customers_sync_both_ways_matched_by_email,
    batch_lists_a_window_once_and_processes_it,
    field_toggles_keep_store_values,
    record_actions_and_connection_through_the_api,
    the_record_shows_what_was_sent_even_when_refused,
);

fn unique(prefix: &str) -> String {
    format!("{prefix}{:06}", rand_u32() % 1_000_000)
}

fn rand_u32() -> u32 {
    use rand::RngExt;
    rand::rng().random()
}

async fn category_of(h: &Harness, erp_id: i64) -> Value {
    let b =
        h.db.store
            .binding(
                &h.id,
                Entity::Category,
                kcf_store::BindingKey::Erp(&erp_id.to_string()),
            )
            .await
            .unwrap()
            .expect("category bound");
    let (_, body) = h
        .store(
            Method::GET,
            &format!(
                "/v3/catalog/trees/categories?category_id:in={}",
                b.external_id
            ),
            None,
        )
        .await;
    body["data"][0].clone()
}

async fn stock_items_and_categories_reach_the_store(backend: &str) {
    let h = Harness::start(backend).await;
    let root = h
        .erp_put(
            "ItemSalesCategory",
            json!({ "Description": unique("Root ") }),
        )
        .await;
    let root_id = root["CategoryID"].as_i64().unwrap();
    let child = h
        .erp_put(
            "ItemSalesCategory",
            json!({ "Description": unique("Child "), "ParentCategoryID": root_id }),
        )
        .await;
    let child_id = child["CategoryID"].as_i64().unwrap();
    let sku = unique("KCF-");
    let started = Instant::now();
    h.erp_put(
        "StockItem",
        json!({
            "InventoryID": sku, "Description": "Kcf Widget", "DefaultPrice": 12.5,
            "DimensionWeight": 1.5, "ItemStatus": "Active", "ItemClass": "STOCKITEM",
            "Categories": [{ "CategoryID": child_id }],
        }),
    )
    .await;
    let product = eventually("the new stock item in the store", WAIT, || async {
        h.products_with_sku(&sku).await.into_iter().next()
    })
    .await;
    let latency = started.elapsed();
    eprintln!("stock item → store product: {latency:?}");
    assert_eq!(product["name"], "Kcf Widget");
    assert_eq!(product["price"].as_f64(), Some(12.5));
    assert_eq!(product["weight"].as_f64(), Some(1.5));
    assert_eq!(product["is_visible"], true);
    // The category tree came along, parents first.
    let store_child = category_of(&h, child_id).await;
    let store_root = category_of(&h, root_id).await;
    assert_eq!(store_child["parent_id"], store_root["category_id"]);
    assert_eq!(product["categories"], json!([store_child["category_id"]]));

    h.erp_put(
        "StockItem",
        json!({ "InventoryID": sku, "Description": "Kcf Widget v2", "DefaultPrice": 13.0, "ItemStatus": "Inactive" }),
    )
    .await;
    let updated = eventually("the change in the store", WAIT, || async {
        h.products_with_sku(&sku)
            .await
            .into_iter()
            .find(|p| p["name"] == "Kcf Widget v2")
    })
    .await;
    assert_eq!(updated["price"].as_f64(), Some(13.0));
    assert_eq!(updated["is_visible"], false);
    assert_eq!(
        h.products_with_sku(&sku).await.len(),
        1,
        "one product per InventoryID"
    );
    let messages = h.settled(Entity::Product).await;
    assert!(
        messages
            .iter()
            .all(|m| m.status == MessageStatus::Processed),
        "{messages:#?}"
    );
    h.stop().await;
}

async fn erp_orders_for(h: &Harness, external: &str) -> Vec<Value> {
    let path = format!("/SalesOrder?$filter=ExternalRef eq '{external}'&$expand=Details");
    match h.erp_get(&path).await {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    }
}

async fn synced_order(h: &Harness, email: &str, lines: &[(&str, u32)]) -> (u64, Value) {
    let order = h.place_order(email, lines).await;
    let id = order["id"].as_u64().unwrap();
    let so = eventually("the store order in the ERP", WAIT, || async {
        erp_orders_for(h, &id.to_string()).await.into_iter().next()
    })
    .await;
    (id, so)
}

async fn store_orders_reach_the_erp_exactly_once(backend: &str) {
    let h = Harness::start(backend).await;
    let email = format!("{}@example.com", unique("buyer"));
    let started = Instant::now();
    let (id, so) = synced_order(&h, &email, &[("SKU-000001", 2), ("SKU-000002", 1)]).await;
    eprintln!("store order → sales order: {:?}", started.elapsed());
    assert_eq!(so["ExternalRef"], id.to_string());
    let lines = so["Details"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["InventoryID"], "SKU-000001");
    assert_eq!(lines[0]["OrderQty"].as_f64(), Some(2.0));
    // The buyer became (or matched) an ERP customer.
    let customer = so["CustomerID"].as_str().unwrap().to_owned();
    let c = h
        .erp_get(&format!("/Customer/{customer}?$expand=MainContact"))
        .await
        .unwrap();
    assert_eq!(c["MainContact"]["Email"], email);

    // Replays: the same delivery five times, concurrently; five distinct deliveries; a
    // status change. Never a second order.
    let conn = h.engine.runtime(&h.id).unwrap();
    let ingress = conn.spec.ingress.clone();
    let post = |hash: String, msg_id: String| {
        let body = json!({
            "scope": "store/order/created", "store_id": "1", "hash": hash,
            "created_at": 1, "producer": "stores/sandbox", "data": { "type": "order", "id": id },
        })
        .to_string();
        let ts = (kcf_domain::Timestamp::now().0 / 1000).to_string();
        let sig = common::sign(
            ingress.signing_secret.expose().as_bytes(),
            &msg_id,
            ts.parse().unwrap(),
            &body,
        );
        h.http
            .post(format!("{}/webhooks/bigcommerce/{}", h.url(), h.id))
            .header(
                ingress.webhook_header.as_str(),
                ingress.webhook_secret.expose(),
            )
            .header("webhook-id", msg_id)
            .header("webhook-timestamp", ts)
            .header("webhook-signature", sig)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    // A resend keeps its webhook-id (Standard Webhooks); distinct events have their own.
    let replayed_id = format!("msg_{}", rand_u32());
    let same = futures_util::future::join_all(
        (0..5).map(|_| post("replayed-hash".into(), replayed_id.clone())),
    )
    .await;
    assert!(same.iter().all(|r| r.as_ref().unwrap().status() == 200));
    let distinct = futures_util::future::join_all(
        (0..5).map(|n| post(format!("distinct-{n}"), format!("msg_{}", rand_u32()))),
    )
    .await;
    assert!(distinct.iter().all(|r| r.as_ref().unwrap().status() == 200));
    let (status, _) = h
        .store(
            Method::PUT,
            &format!("/v2/orders/{id}"),
            Some(json!({ "status_id": 9 })),
        )
        .await;
    assert_eq!(status, 200);
    eventually("every order message finished", WAIT, || async {
        let m = h.messages(Entity::Order).await;
        m.iter()
            .all(|m| m.status == MessageStatus::Processed)
            .then_some(())
    })
    .await;
    assert_eq!(
        erp_orders_for(&h, &id.to_string()).await.len(),
        1,
        "exactly one order"
    );
    let replayed = h
        .messages(Entity::Order)
        .await
        .into_iter()
        .filter(|m| {
            m.dedup_key
                .as_deref()
                .is_some_and(|k| k.starts_with("replayed-hash"))
        })
        .count();
    assert_eq!(replayed, 1, "a replayed webhook is stored once");
    h.stop().await;
}

async fn ship(h: &Harness, so: &Value, tracking: &str, partial: bool) -> String {
    let keys = json!({ "OrderType": so["OrderType"], "OrderNbr": so["OrderNbr"] });
    h.erp_action("/SalesOrder/SalesOrderCreateShipment", keys)
        .await;
    let order = h
        .erp_get(&format!(
            "/SalesOrder/{}/{}?$expand=Shipments",
            so["OrderType"].as_str().unwrap(),
            so["OrderNbr"].as_str().unwrap()
        ))
        .await
        .unwrap();
    let nbr = order["Shipments"].as_array().unwrap().last().unwrap()["ShipmentNbr"]
        .as_str()
        .unwrap()
        .to_owned();
    let shipment = h
        .erp_get(&format!("/Shipment/{nbr}?$expand=Details"))
        .await
        .unwrap();
    let mut details = Vec::new();
    if partial {
        let lines = shipment["Details"].as_array().unwrap();
        details.push(json!({ "id": lines[0]["id"], "ShippedQty": 1 }));
        for l in &lines[1..] {
            details.push(json!({ "id": l["id"], "delete": true }));
        }
    }
    let mut body = json!({
        "ShipmentNbr": nbr,
        "Packages": [{ "BoxID": "BOX", "TrackingNbr": tracking, "Weight": 1.0 }],
    });
    if partial {
        body["Details"] = Value::Array(details);
    }
    h.erp_put("Shipment", body).await;
    h.erp_action("/Shipment/ConfirmShipment", json!({ "ShipmentNbr": nbr }))
        .await;
    nbr
}

async fn store_order(h: &Harness, id: u64) -> Value {
    h.store(Method::GET, &format!("/v2/orders/{id}"), None)
        .await
        .1
}

async fn shipments_and_statuses_follow_the_erp(backend: &str) {
    let h = Harness::start(backend).await;
    let email = format!("{}@example.com", unique("ship"));
    let (id, so) = synced_order(&h, &email, &[("SKU-000003", 1), ("SKU-000004", 2)]).await;
    ship(&h, &so, "1Z-FULL-1", false).await;
    let shipment = eventually("the store shipment", WAIT, || async {
        let (_, list) = h
            .store(Method::GET, &format!("/v2/orders/{id}/shipments"), None)
            .await;
        list.as_array().and_then(|a| a.first().cloned())
    })
    .await;
    assert_eq!(shipment["tracking_number"], "1Z-FULL-1");
    let qty: u64 = shipment["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["quantity"].as_u64().unwrap())
        .sum();
    assert_eq!(qty, 3);
    eventually("the order Shipped", WAIT, || async {
        (store_order(&h, id).await["status_id"] == 2).then_some(())
    })
    .await;

    let (id2, so2) = synced_order(&h, &email, &[("SKU-000005", 2), ("SKU-000006", 1)]).await;
    ship(&h, &so2, "1Z-PART-1", true).await;
    eventually("a partial store shipment", WAIT, || async {
        let (_, list) = h
            .store(Method::GET, &format!("/v2/orders/{id2}/shipments"), None)
            .await;
        list.as_array()
            .and_then(|a| a.first().cloned())
            .filter(|s| s["tracking_number"] == "1Z-PART-1")
    })
    .await;
    // Let the order-status messages settle, then the order must read Partially Shipped.
    h.settled(Entity::OrderStatus).await;
    assert_eq!(
        store_order(&h, id2).await["status_id"],
        3,
        "Partially Shipped"
    );
    h.stop().await;
}

async fn cancellations_go_both_ways(backend: &str) {
    let h = Harness::start(backend).await;
    let email = format!("{}@example.com", unique("cancel"));
    let (id, so) = synced_order(&h, &email, &[("SKU-000007", 1)]).await;
    let (status, _) = h
        .store(
            Method::PUT,
            &format!("/v2/orders/{id}"),
            Some(json!({ "status_id": 5 })),
        )
        .await;
    assert_eq!(status, 200);
    let path = format!(
        "/SalesOrder/{}/{}",
        so["OrderType"].as_str().unwrap(),
        so["OrderNbr"].as_str().unwrap()
    );
    eventually("the ERP order cancelled", WAIT, || async {
        h.erp_get(&path)
            .await
            .filter(|o| o["Status"] == "Cancelled")
    })
    .await;

    let (id2, so2) = synced_order(&h, &email, &[("SKU-000008", 1)]).await;
    h.erp_action(
        "/SalesOrder/CancelSalesOrder",
        json!({ "OrderType": so2["OrderType"], "OrderNbr": so2["OrderNbr"] }),
    )
    .await;
    eventually("the store order cancelled", WAIT, || async {
        (store_order(&h, id2).await["status_id"] == 5).then_some(())
    })
    .await;
    h.stop().await;
}

async fn store_customers(h: &Harness, email: &str) -> Vec<Value> {
    let (_, body) = h
        .store(
            Method::GET,
            &format!("/v3/customers?email:in={email}"),
            None,
        )
        .await;
    body["data"].as_array().cloned().unwrap_or_default()
}

async fn customers_sync_both_ways_matched_by_email(backend: &str) {
    let h = Harness::start(backend).await;
    // Customer class WHOLESALE is store customer group 2, both ways.
    let (status, body) = h
        .api(
            Method::PUT,
            "/connectors/test/mappings",
            Some(json!({ "kind": "customer-class", "erp_value": "WHOLESALE", "store_value": "2" })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let web = format!("{}@example.com", unique("web"));
    let (status, body) = h
        .store(
            Method::POST,
            "/v3/customers",
            Some(json!([{ "email": web, "first_name": "Web", "last_name": "Shopper", "customer_group_id": 2 }])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let filter = |email: &str| {
        format!("/Customer?$filter=MainContact/Email eq '{email}'&$expand=MainContact")
    };
    let erp = eventually("the web customer in the ERP", WAIT, || async {
        match h.erp_get(&filter(&web)).await {
            Some(Value::Array(a)) if !a.is_empty() => Some(a),
            _ => None,
        }
    })
    .await;
    assert_eq!(erp.len(), 1);
    assert_eq!(erp[0]["MainContact"]["FirstName"], "Web");
    assert_eq!(erp[0]["CustomerClass"], "WHOLESALE", "group 2 mapped");

    let b2b = format!("{}@example.com", unique("b2b"));
    let cid = unique("B2B");
    h.erp_put(
        "Customer",
        json!({
            "CustomerID": cid, "CustomerName": "Trade Account", "Status": "Active",
            "CustomerClass": "WHOLESALE",
            "MainContact": { "Email": b2b, "FirstName": "Trade", "LastName": "Buyer" },
        }),
    )
    .await;
    let in_store = eventually("the ERP customer in the store", WAIT, || async {
        store_customers(&h, &b2b).await.into_iter().next()
    })
    .await;
    assert_eq!(in_store["customer_group_id"], 2, "class WHOLESALE mapped");
    // Let the echoes (our own writes notifying back) settle: still one on each side.
    let settled = h.settled(Entity::Customer).await;
    assert_eq!(store_customers(&h, &b2b).await.len(), 1);
    assert_eq!(store_customers(&h, &web).await.len(), 1);
    match h.erp_get(&filter(&b2b)).await {
        Some(Value::Array(a)) => assert_eq!(a.len(), 1),
        other => panic!("{other:?}"),
    }
    let failed: Vec<_> = settled
        .into_iter()
        .filter(|m| m.status != MessageStatus::Processed)
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");

    // A class change alone is a change, each way; and the echoes die out.
    let (status, body) = h
        .api(
            Method::PUT,
            "/connectors/test/mappings",
            Some(json!({ "kind": "customer-class", "erp_value": "RETAIL", "store_value": "1" })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    h.erp_put(
        "Customer",
        json!({ "CustomerID": cid, "CustomerClass": "RETAIL" }),
    )
    .await;
    eventually("the class change in the store", WAIT, || async {
        store_customers(&h, &b2b)
            .await
            .into_iter()
            .find(|c| c["customer_group_id"] == 1)
    })
    .await;
    let store_id = store_customers(&h, &b2b).await[0]["id"].clone();
    let (status, body) = h
        .store(
            Method::PUT,
            "/v3/customers",
            Some(json!([{ "id": store_id, "customer_group_id": 2 }])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    eventually("the group change in the ERP", WAIT, || async {
        match h.erp_get(&filter(&b2b)).await {
            Some(Value::Array(a)) => a.into_iter().find(|c| c["CustomerClass"] == "WHOLESALE"),
            _ => None,
        }
    })
    .await;
    let settled = h.settled(Entity::Customer).await.len();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        h.messages(Entity::Customer).await.len(),
        settled,
        "no ping-pong between the two sides"
    );
    assert_eq!(store_customers(&h, &b2b).await[0]["customer_group_id"], 2);
    h.stop().await;
}

async fn batch_lists_a_window_once_and_processes_it(backend: &str) {
    let h = Harness::with(
        backend,
        Options {
            seed: SeedSize::Products(1_000),
            ..Options::default()
        },
    )
    .await;
    h.set_settings(Entity::Product, |s| {
        s.auto_process = false;
        s.realtime = false;
    })
    .await;
    // The seed's 1,000 stock items share one LastModifiedDateTime: listing pages (500) split
    // them, and each must still be listed exactly once.
    let (status, view) = h
        .api(
            Method::POST,
            "/batches",
            Some(json!({ "connector": "test", "entity": "product", "from": "2020-01-01", "to": "2029-01-01" })),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    let run = view["run"]["id"].as_i64().unwrap();
    assert_eq!(view["run"]["listed"], 1000);
    let messages = h.messages(Entity::Product).await;
    let mut keys: Vec<_> = messages
        .iter()
        .map(|m| m.record_key.as_str().to_owned())
        .collect();
    keys.sort();
    keys.dedup();
    let total =
        h.db.store
            .count_by_status(&kcf_store::MessageFilter {
                batch_run: Some(run),
                ..Default::default()
            })
            .await
            .unwrap();
    assert_eq!(total.iter().map(|c| c.count).sum::<u64>(), 1000);
    assert!(
        total.iter().all(|c| c.status == MessageStatus::Pending),
        "auto-process off: they wait"
    );

    // The workspace's grid pages through the run by keyset: 500, then the other 500.
    let cookie = h.sign_in().await;
    let grid = |path: String| {
        let (h, cookie) = (&h, cookie.clone());
        async move {
            let html = h.page(&cookie, &path).await;
            let keys: Vec<String> = html
                .split("data-key=\"")
                .skip(1)
                .map(|rest| rest.split('"').next().unwrap().to_owned())
                .collect();
            let next = html
                .split("\" rel=\"next\"")
                .next()
                .filter(|_| html.contains("rel=\"next\""))
                .map(|head| {
                    head.rsplit("href=\"")
                        .next()
                        .unwrap()
                        .replace("&amp;", "&")
                        .replace("&#x2f;", "/")
                });
            (keys, next, html.contains(">First page<"))
        }
    };
    let (first, next, back) = grid(format!("/connectors/test/batch/product?run={run}")).await;
    assert_eq!(first.len(), 500);
    assert!(!back, "no First page link on the first page");
    let next = next.expect("a Next page link");
    let (second, after, back) = grid(next).await;
    assert_eq!(second.len(), 500);
    assert!(after.is_none() && back, "the last page links back only");
    let mut all: Vec<_> = first.into_iter().chain(second).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 1000, "every listed record once across the pages");

    // A window after the seed: exactly the items changed in it.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let from = kcf_domain::Timestamp::now();
    let skus: Vec<String> = (0..3).map(|_| unique("WIN-")).collect();
    for sku in &skus {
        h.erp_put(
            "StockItem",
            json!({ "InventoryID": sku, "Description": format!("Window {sku}"), "DefaultPrice": 5.0, "ItemStatus": "Active" }),
        )
        .await;
    }
    let to = kcf_domain::Timestamp::now().0 + 1;
    let (status, view) = h
        .api(
            Method::POST,
            "/batches",
            Some(json!({ "connector": "test", "entity": "product", "from": from.0.to_string(), "to": to.to_string() })),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["run"]["listed"], 3);
    let window = view["run"]["id"].as_i64().unwrap();
    let (status, report) = h
        .api(
            Method::POST,
            &format!("/batches/{window}/process"),
            Some(json!({ "all": true })),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["changed"].as_array().unwrap().len(), 3);
    for sku in &skus {
        eventually("the batch item in the store", WAIT, || async {
            h.products_with_sku(sku).await.into_iter().next()
        })
        .await;
    }
    h.stop().await;
}

async fn field_toggles_keep_store_values(backend: &str) {
    let h = Harness::start(backend).await;
    let sku = unique("TOG-");
    h.erp_put(
        "StockItem",
        json!({ "InventoryID": sku, "Description": "Toggle", "DefaultPrice": 10.0, "ItemStatus": "Active" }),
    )
    .await;
    eventually("the item in the store", WAIT, || async {
        h.products_with_sku(&sku).await.into_iter().next()
    })
    .await;
    // The merchant manages prices in the store: price stops syncing.
    let (status, body) = h
        .api(
            Method::PATCH,
            "/connectors/test/entities/product",
            Some(json!({ "fields": { "price": false } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["fields"]["price"], false);
    let (status, body) = h
        .api(
            Method::PATCH,
            "/connectors/test/entities/product",
            Some(json!({ "fields": { "colour": false } })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    h.erp_put(
        "StockItem",
        json!({ "InventoryID": sku, "Description": "Toggle renamed", "DefaultPrice": 99.0 }),
    )
    .await;
    let p = eventually("the rename in the store", WAIT, || async {
        h.products_with_sku(&sku)
            .await
            .into_iter()
            .find(|p| p["name"] == "Toggle renamed")
    })
    .await;
    assert_eq!(p["price"].as_f64(), Some(10.0), "the store's price is kept");
    // A price-only change is no change at all now.
    h.erp_put(
        "StockItem",
        json!({ "InventoryID": sku, "DefaultPrice": 98.0 }),
    )
    .await;
    eventually("the price-only change handled", WAIT, || async {
        let m = h.messages(Entity::Product).await;
        (m.len() >= 3 && m.iter().all(|m| m.status == MessageStatus::Processed)).then_some(())
    })
    .await;
    let newest = h.messages(Entity::Product).await.remove(0);
    let history = h.db.store.history(newest.id).await.unwrap();
    assert!(
        history
            .last()
            .unwrap()
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("unchanged"),
        "{history:?}"
    );
    h.stop().await;
}

/// Resync, Set as Processed and the connection settings, through the REST API.
async fn record_actions_and_connection_through_the_api(backend: &str) {
    let h = Harness::start(backend).await;
    let sku = unique("RES-");
    h.erp_put(
        "StockItem",
        json!({ "InventoryID": sku, "Description": "Resync Me", "DefaultPrice": 5.0, "ItemStatus": "Active" }),
    )
    .await;
    let product = eventually("the stock item in the store", WAIT, || async {
        h.products_with_sku(&sku).await.into_iter().next()
    })
    .await;
    let product_id = product["id"].as_i64().unwrap();
    // The write lands in the store a moment before the message is marked processed.
    let first = eventually("the message processed", WAIT, || async {
        h.messages(Entity::Product)
            .await
            .into_iter()
            .find(|m| m.record_key.as_str() == sku && m.status == MessageStatus::Processed)
    })
    .await;
    // The detail says what the record is linked to.
    let (status, detail) = h
        .api(Method::GET, &format!("/messages/{}", first.id.0), None)
        .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["binding"]["erp_key"], sku.as_str());
    assert_eq!(
        detail["binding"]["external_id"],
        product_id.to_string().as_str()
    );

    // Someone edits the product in the store; Resync puts the ERP's values back.
    let (status, _) = h
        .store(
            Method::PUT,
            &format!("/v3/catalog/products/{product_id}"),
            Some(json!({ "name": "Edited In The Store" })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, queued) = h
        .api(
            Method::POST,
            &format!("/messages/{}/resync", first.id.0),
            None,
        )
        .await;
    assert_eq!(status, 200, "{queued}");
    let again = queued["id"].as_i64().unwrap();
    assert_ne!(again, first.id.0);
    eventually("the resync processed", WAIT, || async {
        let m =
            h.db.store
                .message(kcf_domain::MessageId(again))
                .await
                .unwrap()?;
        (m.status == MessageStatus::Processed).then_some(())
    })
    .await;
    let restored = h.products_with_sku(&sku).await;
    assert_eq!(restored.len(), 1, "{restored:?}");
    assert_eq!(restored[0]["name"], "Resync Me");
    let (_, missing) = h
        .api(Method::POST, "/messages/999999999/resync", None)
        .await;
    assert!(
        missing["error"]["message"]
            .as_str()
            .unwrap()
            .contains("999999999")
    );

    // Set as Processed: the record is already in the store under another id.
    h.set_settings(Entity::Product, |s| s.auto_process = false)
        .await;
    let other = unique("SET-");
    h.erp_put(
        "StockItem",
        json!({ "InventoryID": other, "Description": "Already There", "DefaultPrice": 7.0, "ItemStatus": "Active" }),
    )
    .await;
    let waiting = eventually("the waiting message", WAIT, || async {
        h.messages(Entity::Product)
            .await
            .into_iter()
            .find(|m| m.record_key.as_str() == other)
    })
    .await;
    assert_eq!(waiting.status, MessageStatus::Pending);
    let path = format!("/messages/{}/set-processed", waiting.id.0);
    let (status, refused) = h
        .api(Method::POST, &path, Some(json!({ "external_id": "  " })))
        .await;
    assert_eq!(status, 400, "{refused}");
    let (status, binding) = h
        .api(
            Method::POST,
            &path,
            Some(json!({ "external_id": "424242" })),
        )
        .await;
    assert_eq!(status, 200, "{binding}");
    assert_eq!(binding["erp_key"], other.as_str());
    assert_eq!(binding["external_id"], "424242");
    let m = h.db.store.message(waiting.id).await.unwrap().unwrap();
    assert_eq!(m.status, MessageStatus::Processed);
    assert!(h.products_with_sku(&other).await.is_empty());

    // Connection settings: a change with a wrong token fails the test and is not saved; an
    // invalid URL or an unknown field is refused; an empty change keeps what works.
    let (status, report) = h
        .api(
            Method::POST,
            "/connectors/test/test",
            Some(json!({ "access_token": "not-the-token" })),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["acumatica"], "ok", "{report}");
    let (status, report) = h.api(Method::POST, "/connectors/test/test", None).await;
    assert_eq!((status, &report["ok"]), (200, &json!(true)), "{report}");
    let (status, e) = h
        .api(
            Method::PATCH,
            "/connectors/test/connection",
            Some(json!({ "acumatica_url": "not a url" })),
        )
        .await;
    assert_eq!(status, 400, "{e}");
    let (status, e) = h
        .api(
            Method::PATCH,
            "/connectors/test/connection",
            Some(json!({ "password": "x" })),
        )
        .await;
    assert_eq!(status, 400, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("password"),
        "{e}"
    );
    let (status, saved) = h
        .api(
            Method::PATCH,
            "/connectors/test/connection",
            Some(json!({ "acumatica_endpoint": "" })),
        )
        .await;
    assert_eq!((status, &saved["saved"]), (200, &json!(true)), "{saved}");
    let (_, report) = h.api(Method::POST, "/connectors/test/test", None).await;
    assert_eq!(report["ok"], true, "{report}");
    h.stop().await;
}

/// The order message of store order `id`, once it reached `status`, with its detail.
async fn order_detail(h: &Harness, id: u64, status: MessageStatus) -> Value {
    let m = eventually("the order message finished", WAIT, || async {
        h.messages(Entity::Order)
            .await
            .into_iter()
            .find(|m| m.record_key.as_str() == id.to_string() && m.status == status)
    })
    .await;
    let (code, detail) = h
        .api(Method::GET, &format!("/messages/{}", m.id.0), None)
        .await;
    assert_eq!(code, 200, "{detail}");
    detail
}

async fn the_record_shows_what_was_sent_even_when_refused(backend: &str) {
    let h = Harness::start(backend).await;
    let email = format!("{}@example.com", unique("mapped"));
    let (id, so) = synced_order(&h, &email, &[("SKU-000003", 2)]).await;
    let detail = order_detail(&h, id, MessageStatus::Processed).await;
    let sent = &detail["sent"];
    assert_eq!(
        sent["target"], "Acumatica SalesOrder (create)",
        "{detail:#}"
    );
    assert_eq!(sent["body"]["ExternalRef"], id.to_string());
    assert_eq!(sent["body"]["CustomerID"], so["CustomerID"]);
    assert_eq!(sent["body"]["Details"][0]["InventoryID"], "SKU-000003");
    assert_eq!(sent["body"]["Details"][0]["OrderQty"].as_f64(), Some(2.0));

    // A store product Acumatica has no stock item for: the sales order is refused, and the
    // record page still shows what kcf tried to send.
    let sku = unique("NOSUCH-");
    let (status, body) = h
        .store(
            Method::POST,
            "/v3/catalog/products",
            Some(json!({ "name": "Not in the ERP", "type": "physical", "sku": sku, "price": 5, "weight": 1 })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let order = h.place_order(&email, &[(sku.as_str(), 1)]).await;
    let refused_id = order["id"].as_u64().unwrap();
    let detail = order_detail(&h, refused_id, MessageStatus::Invalid).await;
    let error = detail["message"]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains(&sku), "{error}");
    assert_eq!(detail["sent"]["target"], "Acumatica SalesOrder (create)");
    assert_eq!(detail["sent"]["body"]["Details"][0]["InventoryID"], sku);

    // The workspace's record page shows both.
    let cookie = h.sign_in().await;
    let page = h
        .page(&cookie, &format!("/messages/{}", detail["message"]["id"]))
        .await;
    assert!(page.contains("Mapped to"), "{page}");
    assert!(page.contains("Acumatica SalesOrder (create)"), "{page}");
    assert!(page.contains(&sku));
    h.stop().await;
}
