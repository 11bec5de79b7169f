//! End to end, over real HTTP: changes made through the emulators' public APIs reach the other
//! side through kcf's ingress, queue, workers and clients. Every test runs on SQLite and on
//! PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Harness, WAIT, eventually};
use kcf_domain::{Entity, MessageStatus};
use reqwest::Method;
use serde_json::{Value, json};

both_backends!(
    stock_items_and_categories_reach_the_store,
    store_orders_reach_the_erp_exactly_once,
    shipments_and_statuses_follow_the_erp,
    cancellations_go_both_ways,
    customers_sync_both_ways_matched_by_email,
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
