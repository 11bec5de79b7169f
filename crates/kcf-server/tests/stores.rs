//! The sync flows once per store platform (BigCommerce and Shopify) and once per backend
//! (SQLite and PostgreSQL), through the same harness and the same assertions: each store is
//! looked at over its own public API (`common/shop.rs`). Then one ERP serving both stores at
//! once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Harness, Options, WAIT, eventually, shop::Shop};
use kcf_domain::{Entity, MessageStatus};
use kcf_engine::registry::StoreKind;
use kcf_sandbox::SeedSize;
use reqwest::Method;
use serde_json::{Value, json};

every_store!(
    stock_items_reach_the_store,
    a_template_becomes_one_product_with_variants,
    stock_reaches_the_store,
    store_orders_reach_the_erp_exactly_once,
    replayed_webhooks_make_one_order,
    shipments_and_statuses_follow_the_erp,
    a_cancellation_in_the_store_cancels_the_erp_order,
    store_customers_reach_the_erp,
    erp_customers_reach_the_store_once,
    customer_classes_map_both_ways,
    a_batch_lists_the_stores_orders,
    batch_lists_a_window_once_and_processes_it,
    field_toggles_keep_store_values,
    record_actions_and_connection_through_the_api,
    the_record_shows_what_was_sent_even_when_refused,
);

both_backends!(
    one_erp_serves_two_stores,
    shopify_webhooks_are_verified_and_deduplicated,
    a_template_beyond_shopifys_option_limit_is_refused_whole,
);

fn unique(prefix: &str) -> String {
    use rand::RngExt;
    format!("{prefix}{:06}", rand::rng().random::<u32>() % 1_000_000)
}

async fn start(store: StoreKind, backend: &str) -> Harness {
    Harness::with(
        backend,
        Options {
            store,
            ..Options::default()
        },
    )
    .await
}

async fn in_store(
    h: &Harness,
    sku: &str,
    what: &str,
    want: impl Fn(&common::shop::StoreProduct) -> bool,
) -> common::shop::StoreProduct {
    let shop = h.shop();
    eventually(what, WAIT, || async {
        shop.product(sku).await.filter(|p| want(p))
    })
    .await
}

async fn stock_items_reach_the_store(store: StoreKind, backend: &str) {
    let h = start(store, backend).await;
    let root = h
        .erp_put(
            "ItemSalesCategory",
            json!({ "Description": unique("Root ") }),
        )
        .await;
    let root_id = root["CategoryID"].as_i64().unwrap();
    let child_name = unique("Child ");
    let child = h
        .erp_put(
            "ItemSalesCategory",
            json!({ "Description": child_name, "ParentCategoryID": root_id }),
        )
        .await;
    let child_id = child["CategoryID"].as_i64().unwrap();
    let sku = unique("KCF-");
    h.erp_put(
        "StockItem",
        json!({
            "InventoryID": sku, "Description": "Kcf Widget", "DefaultPrice": 12.5,
            "DimensionWeight": 1.5, "ItemStatus": "Active", "ItemClass": "STOCKITEM",
            "Categories": [{ "CategoryID": child_id }],
        }),
    )
    .await;
    let p = in_store(&h, &sku, "the new stock item in the store", |_| true).await;
    assert_eq!(
        (p.name.as_str(), p.price, p.visible, p.weight),
        ("Kcf Widget", 12.5, true, Some(1.5))
    );
    // The category tree came along, parents first; Shopify's collections are flat, so
    // there each category is a collection of its own.
    let shop = h.shop();
    let store_child = h.bound(Entity::Category, &child_id.to_string()).await;
    let store_root = h.bound(Entity::Category, &root_id.to_string()).await;
    let (store_child, store_root) = (store_child.unwrap(), store_root.unwrap());
    let category = shop
        .category(&store_child)
        .await
        .expect("the child category");
    assert_eq!(category.name, child_name);
    let parent = match store {
        StoreKind::BigCommerce => Some(store_root.clone()),
        StoreKind::Shopify => None,
    };
    assert_eq!(category.parent, parent);
    assert!(
        shop.category(&store_root).await.is_some(),
        "the root category"
    );
    assert_eq!(p.categories, [store_child]);

    h.erp_put(
        "StockItem",
        json!({ "InventoryID": sku, "Description": "Kcf Widget v2", "DefaultPrice": 13.0, "DimensionWeight": 2.0, "ItemStatus": "Inactive" }),
    )
    .await;
    let p2 = in_store(&h, &sku, "the change in the store", |p| {
        p.name == "Kcf Widget v2"
    })
    .await;
    assert_eq!((p2.price, p2.visible, p2.weight), (13.0, false, Some(2.0)));
    assert_eq!(p2.id, p.id, "one product per InventoryID");
    assert_eq!(shop.count(&sku).await, 1, "one product per InventoryID");
    let messages = h.settled(Entity::Product).await;
    assert!(
        messages
            .iter()
            .all(|m| m.status == MessageStatus::Processed),
        "{messages:#?}"
    );
    h.stop().await;
}

async fn a_template_becomes_one_product_with_variants(store: StoreKind, backend: &str) {
    let h = start(store, backend).await;
    let key = unique("TEE");
    h.erp_put(
        "TemplateItems",
        json!({
            "InventoryID": key, "Description": format!("Tee {key}"), "ItemStatus": "Active",
            "DefaultPrice": 20.0, "MSRP": 25.0,
            "Attributes": [
                { "AttributeID": "COLOR", "Description": "Color", "SortOrder": 0 },
                { "AttributeID": "SIZE", "Description": "Size", "SortOrder": 1 },
            ],
        }),
    )
    .await;
    for (color, size) in [("RED", "S"), ("RED", "M"), ("BLUE", "S")] {
        h.erp_put(
            "StockItem",
            json!({
                "InventoryID": format!("{key}-{color}-{size}"), "Description": format!("Tee {key} {color} {size}"),
                "ItemStatus": "Active", "DefaultPrice": 20.0, "TemplateItemID": key,
                "Attributes": [ { "AttributeID": "COLOR", "Value": color }, { "AttributeID": "SIZE", "Value": size } ],
            }),
        )
        .await;
    }
    let p = in_store(
        &h,
        &format!("{key}-RED-S"),
        "the template's product with its variants",
        |p| p.variant_skus.len() == 3,
    )
    .await;
    let mut skus = p.variant_skus.clone();
    skus.sort();
    assert_eq!(
        skus,
        [
            format!("{key}-BLUE-S"),
            format!("{key}-RED-M"),
            format!("{key}-RED-S")
        ]
    );
    let blue = h.shop().product(&format!("{key}-BLUE-S")).await.unwrap();
    assert_eq!(blue.id, p.id, "one product for the whole template");
    h.stop().await;
}

async fn stock_reaches_the_store(store: StoreKind, backend: &str) {
    let h = start(store, backend).await;
    let sku = unique("STK-");
    h.erp_put(
        "StockItem",
        json!({ "InventoryID": sku, "Description": format!("Item {sku}"), "DefaultPrice": 5.0, "ItemStatus": "Active" }),
    )
    .await;
    in_store(&h, &sku, "the item in the store", |_| true).await;
    let receipt = h
        .erp_put(
            "InventoryReceipt",
            json!({ "Hold": false, "Description": "test receipt",
                    "Details": [ { "InventoryID": sku, "WarehouseID": "MAIN", "Qty": 7.0 } ] }),
        )
        .await;
    h.erp_action(
        "/InventoryReceipt/ReleaseInventoryReceipt",
        json!({ "ReferenceNbr": receipt["ReferenceNbr"] }),
    )
    .await;
    let shop = h.shop();
    eventually(
        "the store's stock equal to the ERP's available",
        WAIT,
        || async { (shop.stock(&sku).await == Some(7)).then_some(()) },
    )
    .await;
    h.stop().await;
}

async fn erp_orders_for(h: &Harness, external: &str) -> Vec<Value> {
    let path = format!("/SalesOrder?$filter=ExternalRef eq '{external}'&$expand=Details");
    match h.erp_get(&path).await {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    }
}

/// The ERP's ExternalRef of a store order of this harness's connector.
fn external(h: &Harness, id: &str) -> String {
    h.engine.runtime(&h.id).unwrap().spec.external_ref(id)
}

async fn synced_order(h: &Harness, email: &str, lines: &[(&str, u32)]) -> (String, Value) {
    let id = h.shop().place_order(email, lines).await;
    let reference = external(h, &id);
    let so = eventually("the store order in the ERP", WAIT, || async {
        erp_orders_for(h, &reference).await.into_iter().next()
    })
    .await;
    (id, so)
}

async fn store_orders_reach_the_erp_exactly_once(store: StoreKind, backend: &str) {
    let h = start(store, backend).await;
    let email = format!("{}@example.com", unique("buyer"));
    let (id, so) = synced_order(&h, &email, &[("SKU-000001", 2), ("SKU-000002", 1)]).await;
    let lines = so["Details"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["InventoryID"], "SKU-000001");
    assert_eq!(lines[0]["OrderQty"].as_f64(), Some(2.0));
    if store == StoreKind::Shopify {
        assert_eq!(
            so["ExternalRef"],
            format!("SHOP-{id}"),
            "the store is named in the ERP"
        );
    }
    let customer = so["CustomerID"].as_str().unwrap().to_owned();
    let c = h
        .erp_get(&format!("/Customer/{customer}?$expand=MainContact"))
        .await
        .unwrap();
    assert_eq!(c["MainContact"]["Email"], email);
    // The order's own later changes (echoes of the webhook, kcf's writes) make no second one.
    eventually("every order message finished", WAIT, || async {
        let m = h.messages(Entity::Order).await;
        (!m.is_empty() && m.iter().all(|m| m.status == MessageStatus::Processed)).then_some(())
    })
    .await;
    assert_eq!(
        erp_orders_for(&h, &external(&h, &id)).await.len(),
        1,
        "exactly one order"
    );
    h.stop().await;
}

/// Delivers an order webhook for store order `id` the way the store signs it, with `marker`
/// as its delivery's identity (BigCommerce's hash and webhook-id; Shopify's
/// X-Shopify-Webhook-Id); the answer's status.
async fn deliver_order_webhook(h: &Harness, id: &str, marker: &str) -> u16 {
    let ingress = h.engine.runtime(&h.id).unwrap().spec.ingress.clone();
    let secret = ingress.signing_secret.expose().as_bytes().to_vec();
    let number: u64 = id.parse().unwrap();
    let req = match h.kind {
        StoreKind::BigCommerce => {
            let body = json!({
                "scope": "store/order/updated", "store_id": "1", "hash": marker,
                "created_at": 1, "producer": "stores/sandbox", "data": { "type": "order", "id": number },
            })
            .to_string();
            let ts = kcf_domain::Timestamp::now().0 / 1000;
            h.http
                .post(format!("{}/webhooks/bigcommerce/{}", h.url(), h.id))
                .header(
                    ingress.webhook_header.as_str(),
                    ingress.webhook_secret.expose(),
                )
                .header("webhook-id", marker)
                .header("webhook-timestamp", ts.to_string())
                .header(
                    "webhook-signature",
                    common::sign(&secret, marker, ts, &body),
                )
                .body(body)
        }
        StoreKind::Shopify => {
            let body =
                json!({ "id": number, "name": "#replay", "updated_at": "2026-01-01T00:00:00Z" })
                    .to_string();
            h.http
                .post(format!("{}/webhooks/shopify/{}", h.url(), h.id))
                .header("x-shopify-topic", "orders/updated")
                .header("x-shopify-webhook-id", marker)
                .header("x-shopify-hmac-sha256", shopify_signature(&secret, &body))
                .body(body)
        }
    };
    req.header("content-type", "application/json")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The same delivery five times at once (a store retrying), and five distinct deliveries at
/// once: every one is answered 200, the replay is stored once, and there is one ERP order.
async fn replayed_webhooks_make_one_order(store: StoreKind, backend: &str) {
    let h = start(store, backend).await;
    let email = format!("{}@example.com", unique("replay"));
    let (id, _) = synced_order(&h, &email, &[("SKU-000001", 1)]).await;
    let replayed = unique("replayed-");
    let same =
        futures_util::future::join_all((0..5).map(|_| deliver_order_webhook(&h, &id, &replayed)))
            .await;
    assert!(same.iter().all(|s| *s == 200), "{same:?}");
    let distinct: Vec<String> = (0..5).map(|n| unique(&format!("distinct-{n}-"))).collect();
    let answers =
        futures_util::future::join_all(distinct.iter().map(|m| deliver_order_webhook(&h, &id, m)))
            .await;
    assert!(answers.iter().all(|s| *s == 200), "{answers:?}");
    eventually("every order message finished", WAIT, || async {
        let m = h.messages(Entity::Order).await;
        m.iter()
            .all(|m| m.status == MessageStatus::Processed)
            .then_some(())
    })
    .await;
    assert_eq!(
        erp_orders_for(&h, &external(&h, &id)).await.len(),
        1,
        "exactly one order"
    );
    let messages = h.messages(Entity::Order).await;
    let stored = |marker: &str| {
        messages
            .iter()
            .filter(|m| m.dedup_key.as_deref().is_some_and(|k| k.contains(marker)))
            .count()
    };
    assert_eq!(stored(&replayed), 1, "a replayed delivery is stored once");
    for m in &distinct {
        assert_eq!(stored(m), 1, "each distinct delivery is stored: {m}");
    }
    h.stop().await;
}

async fn ship(h: &Harness, so: &Value, tracking: &str) {
    ship_lines(h, so, tracking, false).await;
}

/// Ships the order in the ERP: all of it, or (`partial`) one of its first line only.
async fn ship_lines(h: &Harness, so: &Value, tracking: &str, partial: bool) {
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
    let mut body = json!({
        "ShipmentNbr": nbr,
        "Packages": [{ "BoxID": "BOX", "TrackingNbr": tracking, "Weight": 1.0 }],
    });
    if partial {
        let shipment = h
            .erp_get(&format!("/Shipment/{nbr}?$expand=Details"))
            .await
            .unwrap();
        let lines = shipment["Details"].as_array().unwrap();
        let mut details = vec![json!({ "id": lines[0]["id"], "ShippedQty": 1 })];
        details.extend(
            lines[1..]
                .iter()
                .map(|l| json!({ "id": l["id"], "delete": true })),
        );
        body["Details"] = Value::Array(details);
    }
    h.erp_put("Shipment", body).await;
    h.erp_action("/Shipment/ConfirmShipment", json!({ "ShipmentNbr": nbr }))
        .await;
}

async fn shipments_and_statuses_follow_the_erp(store: StoreKind, backend: &str) {
    let h = start(store, backend).await;
    let shop = h.shop();
    let email = format!("{}@example.com", unique("ship"));
    let (id, so) = synced_order(&h, &email, &[("SKU-000003", 1), ("SKU-000004", 2)]).await;
    ship(&h, &so, "1Z-FULL-1").await;
    eventually("the store shipment with its tracking", WAIT, || async {
        (shop.tracking(&id).await == ["1Z-FULL-1"]).then_some(())
    })
    .await;
    eventually("the store order completed", WAIT, || async {
        (shop.order_status(&id).await == shop.completed()).then_some(())
    })
    .await;
    // Every shipment message ends Processed (or Filtered: a notification of the shipment
    // before it was confirmed), none failed.
    let shipments = h.settled(Entity::Shipment).await;
    assert!(
        shipments
            .iter()
            .all(|m| matches!(m.status, MessageStatus::Processed | MessageStatus::Filtered)),
        "{shipments:#?}"
    );
    assert_eq!(shop.tracking(&id).await.len(), 1, "shipped once");

    // A partial shipment: its tracking, and the store order partly fulfilled, still open.
    let (id3, so3) = synced_order(&h, &email, &[("SKU-000005", 2), ("SKU-000006", 1)]).await;
    ship_lines(&h, &so3, "1Z-PART-1", true).await;
    eventually("the partial shipment in the store", WAIT, || async {
        (shop.tracking(&id3).await == ["1Z-PART-1"]).then_some(())
    })
    .await;
    h.settled(Entity::OrderStatus).await;
    assert_eq!(shop.shipped(&id3).await, 1, "one of three items shipped");
    assert!(
        shop.partly_shipped(&id3).await,
        "the store says partly shipped"
    );

    // An ERP cancellation reaches the store.
    let (id2, so2) = synced_order(&h, &email, &[("SKU-000008", 1)]).await;
    h.erp_action(
        "/SalesOrder/CancelSalesOrder",
        json!({ "OrderType": so2["OrderType"], "OrderNbr": so2["OrderNbr"] }),
    )
    .await;
    eventually("the store order cancelled", WAIT, || async {
        (shop.order_status(&id2).await == shop.cancelled()).then_some(())
    })
    .await;
    h.stop().await;
}

async fn a_cancellation_in_the_store_cancels_the_erp_order(store: StoreKind, backend: &str) {
    let h = start(store, backend).await;
    let email = format!("{}@example.com", unique("cancel"));
    let (id, so) = synced_order(&h, &email, &[("SKU-000007", 1)]).await;
    h.shop().cancel(&id).await;
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
    h.stop().await;
}

async fn store_customers_reach_the_erp(store: StoreKind, backend: &str) {
    let h = start(store, backend).await;
    let email = format!("{}@example.com", unique("web"));
    h.shop().sign_up(&email, "Web", "Shopper").await;
    let filter = format!("/Customer?$filter=MainContact/Email eq '{email}'&$expand=MainContact");
    let erp = eventually("the web customer in the ERP", WAIT, || async {
        match h.erp_get(&filter).await {
            Some(Value::Array(a)) if !a.is_empty() => Some(a),
            _ => None,
        }
    })
    .await;
    assert_eq!(erp.len(), 1);
    assert_eq!(erp[0]["MainContact"]["FirstName"], "Web");
    // A change in the ERP goes back to the same store customer.
    let id = erp[0]["CustomerID"].as_str().unwrap().to_owned();
    h.erp_put(
        "Customer",
        json!({ "CustomerID": id, "MainContact": { "FirstName": "Changed", "LastName": "Shopper", "Email": email } }),
    )
    .await;
    let shop = h.shop();
    eventually("the ERP change in the store", WAIT, || async {
        shop.customer(&email)
            .await
            .filter(|(_, first)| first == "Changed")
    })
    .await;
    h.stop().await;
}

async fn erp_customers_reach_the_store_once(store: StoreKind, backend: &str) {
    let h = start(store, backend).await;
    let email = format!("{}@example.com", unique("trade"));
    let cid = unique("CT");
    h.erp_put(
        "Customer",
        json!({
            "CustomerID": cid, "CustomerName": "Trade Account", "Status": "Active",
            "MainContact": { "Email": email, "FirstName": "Trade", "LastName": "Buyer" },
        }),
    )
    .await;
    let shop = h.shop();
    let (first_id, _) = eventually("the ERP customer in the store", WAIT, || async {
        shop.customer(&email).await.filter(|(_, f)| f == "Trade")
    })
    .await;
    // A change made in the ERP reaches the same store customer.
    h.erp_put(
        "Customer",
        json!({ "CustomerID": cid, "MainContact": { "Email": email, "FirstName": "Traded", "LastName": "Buyer" } }),
    )
    .await;
    let (again, _) = eventually("the ERP change in the store", WAIT, || async {
        shop.customer(&email).await.filter(|(_, f)| f == "Traded")
    })
    .await;
    assert_eq!(again, first_id, "the same store customer");
    let settled = h.settled(Entity::Customer).await;
    assert!(
        settled.iter().all(|m| m.status == MessageStatus::Processed),
        "{settled:?}"
    );
    h.stop().await;
}

/// Customer class WHOLESALE is the store's group 2 (BigCommerce) or `class:wholesale` tag
/// (Shopify), both ways; a class change alone is a change each way, and the echoes die out.
async fn customer_classes_map_both_ways(store: StoreKind, backend: &str) {
    let h = start(store, backend).await;
    let shop = h.shop();
    let (wholesale, retail) = (
        shop.class_value(2, "wholesale"),
        shop.class_value(1, "retail"),
    );
    let map = |erp: &'static str, store_value: String| {
        let h = &h;
        async move {
            let (status, body) = h
                .api(
                    Method::PUT,
                    "/connectors/test/mappings",
                    Some(json!({ "kind": "customer-class", "erp_value": erp, "store_value": store_value })),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
    };
    map("WHOLESALE", wholesale.clone()).await;
    let filter = |email: &str| {
        format!("/Customer?$filter=MainContact/Email eq '{email}'&$expand=MainContact")
    };
    let erp_class = |email: String| {
        let (h, filter) = (&h, &filter);
        async move {
            match h.erp_get(&filter(&email)).await {
                Some(Value::Array(a)) if a.len() == 1 => {
                    a[0]["CustomerClass"].as_str().map(str::to_owned)
                }
                Some(Value::Array(a)) => {
                    assert!(a.is_empty(), "one ERP customer per e-mail: {a:?}");
                    None
                }
                _ => None,
            }
        }
    };
    // A store customer in the wholesale class becomes a WHOLESALE ERP customer.
    let web = format!("{}@example.com", unique("web"));
    shop.sign_up_in(&web, "Web", "Shopper", &wholesale).await;
    eventually("the web customer in the ERP as WHOLESALE", WAIT, || async {
        erp_class(web.clone()).await.filter(|c| c == "WHOLESALE")
    })
    .await;
    // A WHOLESALE ERP customer reaches the store in the wholesale class.
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
    eventually(
        "the ERP customer in the store's wholesale class",
        WAIT,
        || async { shop.customer_class(&b2b).await.filter(|c| *c == wholesale) },
    )
    .await;
    let settled = h.settled(Entity::Customer).await;
    assert!(
        settled.iter().all(|m| m.status == MessageStatus::Processed),
        "{settled:#?}"
    );
    assert_eq!(shop.customers_with(&b2b).await, 1);
    assert_eq!(shop.customers_with(&web).await, 1);

    // A class change alone goes to the store, and a group (tag) change alone to the ERP.
    map("RETAIL", retail.clone()).await;
    h.erp_put(
        "Customer",
        json!({ "CustomerID": cid, "CustomerClass": "RETAIL" }),
    )
    .await;
    eventually("the class change in the store", WAIT, || async {
        shop.customer_class(&b2b).await.filter(|c| *c == retail)
    })
    .await;
    h.settled(Entity::Customer).await;
    shop.set_customer_class(&b2b, &wholesale).await;
    eventually("the store's change in the ERP", WAIT, || async {
        erp_class(b2b.clone()).await.filter(|c| c == "WHOLESALE")
    })
    .await;
    // The echoes of kcf's own writes die out (a ping-pong would never go quiet: each side's
    // write making a change on the other), and both sides still say wholesale.
    eventually(
        "the customer messages quiet (no ping-pong)",
        WAIT,
        || async {
            let before = h.settled(Entity::Customer).await.len();
            tokio::time::sleep(Duration::from_secs(1)).await;
            (h.messages(Entity::Customer).await.len() == before).then_some(())
        },
    )
    .await;
    assert_eq!(shop.customer_class(&b2b).await, Some(wholesale));
    assert_eq!(erp_class(b2b.clone()).await.as_deref(), Some("WHOLESALE"));
    h.stop().await;
}

async fn a_batch_lists_the_stores_orders(store: StoreKind, backend: &str) {
    let h = start(store, backend).await;
    // Real-time is off for orders: only the batch brings this one in.
    h.set_settings(Entity::Order, |s| s.realtime = false).await;
    let from = kcf_domain::Timestamp::now().minus(Duration::from_secs(2));
    let email = format!("{}@example.com", unique("batch"));
    let id = h.shop().place_order(&email, &[("SKU-000005", 1)]).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let to = kcf_domain::Timestamp::now();
    let (status, body) = h
        .api(
            Method::POST,
            "/batches",
            Some(json!({ "connector": "test", "entity": "order", "from": from.0.to_string(), "to": to.0.to_string() })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["run"]["listed"].as_u64().unwrap() >= 1, "{body}");
    let run = body["run"]["id"].as_i64().unwrap();
    let (status, body) = h
        .api(
            Method::POST,
            &format!("/batches/{run}/process"),
            Some(json!({ "all": true })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let reference = external(&h, &id);
    eventually("the listed order in the ERP", WAIT, || async {
        erp_orders_for(&h, &reference).await.into_iter().next()
    })
    .await;
    h.stop().await;
}

async fn one_erp_serves_two_stores(backend: &str) {
    let h = Harness::with(
        backend,
        Options {
            store: StoreKind::BigCommerce,
            second_store: Some(StoreKind::Shopify),
            ..Options::default()
        },
    )
    .await;
    let (bc, shopify): (Shop, Shop) = (h.shop(), h.second_shop().unwrap());
    // A stock item reaches both stores.
    let sku = unique("BOTH-");
    h.erp_put(
        "StockItem",
        json!({ "InventoryID": sku, "Description": "In both", "DefaultPrice": 9.0, "ItemStatus": "Active" }),
    )
    .await;
    for shop in [&bc, &shopify] {
        eventually("the item in each store", WAIT, || async {
            shop.product(&sku).await
        })
        .await;
    }
    // One buyer orders in both: two sales orders, told apart by ExternalRef, one customer.
    let email = format!("{}@example.com", unique("twice"));
    let in_bc = bc.place_order(&email, &[("SKU-000001", 1)]).await;
    let in_shopify = shopify.place_order(&email, &[("SKU-000002", 1)]).await;
    let refs = [in_bc.clone(), format!("SHOP-{in_shopify}")];
    let mut customers = Vec::new();
    for r in &refs {
        let so = eventually("each store's order in the ERP", WAIT, || async {
            erp_orders_for(&h, r).await.into_iter().next()
        })
        .await;
        customers.push(so["CustomerID"].as_str().unwrap().to_owned());
    }
    assert_ne!(refs[0], refs[1]);
    assert_eq!(
        customers[0], customers[1],
        "one ERP customer for a buyer of both stores"
    );
    // Each connector keeps its own messages, budget and state.
    let (status, body) = h.api(Method::GET, "/connectors", None).await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> = body
        .as_array()
        .or_else(|| body["items"].as_array())
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(ids.contains(&"test") && ids.contains(&"test2"), "{body}");
    h.stop().await;
}

/// `X-Shopify-Hmac-Sha256` of `body` with `secret`.
fn shopify_signature(secret: &[u8], body: &str) -> String {
    use base64::Engine as _;
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(body.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn shopify_webhooks_are_verified_and_deduplicated(backend: &str) {
    let h = start(StoreKind::Shopify, backend).await;
    let secret = h
        .engine
        .runtime(&h.id)
        .unwrap()
        .spec
        .ingress
        .signing_secret
        .expose()
        .to_owned();
    // A real order, so the message has something to apply.
    let id = h
        .shop()
        .place_order("hooks@example.com", &[("SKU-000001", 1)])
        .await;
    let body = json!({ "id": id.parse::<u64>().unwrap(), "name": "#x", "updated_at": "2026-01-01T00:00:00Z" }).to_string();
    let post = |body: String, signature: Option<String>, webhook_id: &str| {
        let mut req = h
            .http
            .post(format!("{}/webhooks/shopify/{}", h.url(), h.id))
            .header("content-type", "application/json")
            .header("x-shopify-topic", "orders/updated")
            .header("x-shopify-webhook-id", webhook_id.to_owned())
            .body(body);
        if let Some(s) = signature {
            req = req.header("x-shopify-hmac-sha256", s);
        }
        req.send()
    };
    let good = shopify_signature(secret.as_bytes(), &body);
    let refusals = [
        post(body.replace("#x", "#y"), Some(good.clone()), "w-tampered")
            .await
            .unwrap()
            .status(),
        post(
            body.clone(),
            Some(shopify_signature(b"wrong secret", &body)),
            "w-wrong",
        )
        .await
        .unwrap()
        .status(),
        post(body.clone(), None, "w-missing")
            .await
            .unwrap()
            .status(),
        post(body.clone(), Some("not base64!".into()), "w-garbled")
            .await
            .unwrap()
            .status(),
    ];
    assert!(refusals.iter().all(|s| *s == 401), "{refusals:?}");
    // The store's own orders/create webhook arrives on its own time; the refused deliveries
    // are told by their webhook ids.
    let refused_ids = ["w-tampered", "w-wrong", "w-missing", "w-garbled"];
    let stored: Vec<_> = h
        .messages(Entity::Order)
        .await
        .into_iter()
        .filter(|m| {
            m.dedup_key
                .as_deref()
                .is_some_and(|k| refused_ids.contains(&k))
        })
        .collect();
    assert!(stored.is_empty(), "nothing refused is stored: {stored:?}");
    // The same delivery five times (Shopify's retries keep the webhook id): stored once.
    for _ in 0..5 {
        let r = post(body.clone(), Some(good.clone()), "w-replayed")
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let replayed = h
        .messages(Entity::Order)
        .await
        .into_iter()
        .filter(|m| m.dedup_key.as_deref() == Some("w-replayed"))
        .count();
    assert_eq!(replayed, 1, "a replayed webhook id is stored once");
    let reference = external(&h, &id);
    eventually("the order in the ERP", WAIT, || async {
        erp_orders_for(&h, &reference).await.into_iter().next()
    })
    .await;
    eventually("every order message finished", WAIT, || async {
        let m = h.messages(Entity::Order).await;
        m.iter()
            .all(|m| m.status == MessageStatus::Processed)
            .then_some(())
    })
    .await;
    assert_eq!(
        erp_orders_for(&h, &reference).await.len(),
        1,
        "one ERP order"
    );
    h.stop().await;
}

async fn a_template_beyond_shopifys_option_limit_is_refused_whole(backend: &str) {
    let h = start(StoreKind::Shopify, backend).await;
    // A fourth attribute: Shopify takes at most three options.
    h.erp_put(
        "AttributeDefinition",
        json!({ "AttributeID": "FIT", "Description": "Fit", "ControlType": "Combo",
                "Values": [ { "ValueID": "SLIM", "Description": "Slim", "SortOrder": 0 } ] }),
    )
    .await;
    let key = unique("FOUR");
    h.erp_put(
        "TemplateItems",
        json!({
            "InventoryID": key, "Description": format!("Four {key}"), "ItemStatus": "Active", "DefaultPrice": 20.0,
            "Attributes": [
                { "AttributeID": "COLOR", "Description": "Color", "SortOrder": 0 },
                { "AttributeID": "SIZE", "Description": "Size", "SortOrder": 1 },
                { "AttributeID": "SLEEVE", "Description": "Sleeve", "SortOrder": 2 },
                { "AttributeID": "FIT", "Description": "Fit", "SortOrder": 3 },
            ],
        }),
    )
    .await;
    let sku = format!("{key}-1");
    h.erp_put(
        "StockItem",
        json!({
            "InventoryID": sku, "Description": format!("Four {key} 1"), "ItemStatus": "Active",
            "DefaultPrice": 20.0, "TemplateItemID": key,
            "Attributes": [
                { "AttributeID": "COLOR", "Value": "RED" }, { "AttributeID": "SIZE", "Value": "S" },
                { "AttributeID": "SLEEVE", "Value": "SHORT" }, { "AttributeID": "FIT", "Value": "SLIM" },
            ],
        }),
    )
    .await;
    let refused = eventually("the template refused", WAIT, || async {
        h.messages(Entity::TemplateItem)
            .await
            .into_iter()
            .find(|m| m.record_key.as_str() == key && m.status == MessageStatus::Invalid)
    })
    .await;
    let error = refused.last_error.clone().unwrap_or_default();
    assert!(
        error.contains('3') && error.to_lowercase().contains("option"),
        "in plain words: {error}"
    );
    h.settled(Entity::Product).await;
    assert!(h.shop().product(&sku).await.is_none(), "no partial product");
    h.stop().await;
}

async fn batch_lists_a_window_once_and_processes_it(store: StoreKind, backend: &str) {
    let h = Harness::with(
        backend,
        Options {
            store,
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
        in_store(&h, sku, "the batch item in the store", |_| true).await;
    }
    h.stop().await;
}

async fn field_toggles_keep_store_values(store: StoreKind, backend: &str) {
    let h = start(store, backend).await;
    let sku = unique("TOG-");
    h.erp_put(
        "StockItem",
        json!({ "InventoryID": sku, "Description": "Toggle", "DefaultPrice": 10.0, "ItemStatus": "Active" }),
    )
    .await;
    in_store(&h, &sku, "the item in the store", |_| true).await;
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
    let p = in_store(&h, &sku, "the rename in the store", |p| {
        p.name == "Toggle renamed"
    })
    .await;
    assert_eq!(p.price, 10.0, "the store's price is kept");
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
async fn record_actions_and_connection_through_the_api(store: StoreKind, backend: &str) {
    let h = start(store, backend).await;
    let shop = h.shop();
    let sku = unique("RES-");
    h.erp_put(
        "StockItem",
        json!({ "InventoryID": sku, "Description": "Resync Me", "DefaultPrice": 5.0, "ItemStatus": "Active" }),
    )
    .await;
    let product_id = in_store(&h, &sku, "the stock item in the store", |_| true)
        .await
        .id;
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
    assert_eq!(detail["binding"]["external_id"], product_id.as_str());

    // Someone edits the product in the store; Resync puts the ERP's values back.
    shop.rename(&product_id, "Edited In The Store").await;
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
    assert_eq!(shop.count(&sku).await, 1, "one store product");
    assert_eq!(shop.product(&sku).await.unwrap().name, "Resync Me");
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
    assert_eq!(
        shop.count(&other).await,
        0,
        "nothing was written to the store"
    );

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
    assert_eq!(status, 422, "{e}");
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
async fn order_detail(h: &Harness, id: &str, status: MessageStatus) -> Value {
    let m = eventually("the order message finished", WAIT, || async {
        h.messages(Entity::Order)
            .await
            .into_iter()
            .find(|m| m.record_key.as_str() == id && m.status == status)
    })
    .await;
    let (code, detail) = h
        .api(Method::GET, &format!("/messages/{}", m.id.0), None)
        .await;
    assert_eq!(code, 200, "{detail}");
    detail
}

async fn the_record_shows_what_was_sent_even_when_refused(store: StoreKind, backend: &str) {
    let h = start(store, backend).await;
    let email = format!("{}@example.com", unique("mapped"));
    let (id, so) = synced_order(&h, &email, &[("SKU-000003", 2)]).await;
    let detail = order_detail(&h, &id, MessageStatus::Processed).await;
    let sent = &detail["sent"];
    assert_eq!(
        sent["target"], "Acumatica SalesOrder (create)",
        "{detail:#}"
    );
    assert_eq!(sent["body"]["ExternalRef"], external(&h, &id));
    assert_eq!(sent["body"]["CustomerID"], so["CustomerID"]);
    assert_eq!(sent["body"]["Details"][0]["InventoryID"], "SKU-000003");
    assert_eq!(sent["body"]["Details"][0]["OrderQty"].as_f64(), Some(2.0));

    // A store product Acumatica has no stock item for: the sales order is refused, and the
    // record page still shows what kcf tried to send.
    let sku = unique("NOSUCH-");
    let shop = h.shop();
    shop.create_product(&sku, "Not in the ERP", 5.0).await;
    let refused_id = shop.place_order(&email, &[(sku.as_str(), 1)]).await;
    let detail = order_detail(&h, &refused_id, MessageStatus::Invalid).await;
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
