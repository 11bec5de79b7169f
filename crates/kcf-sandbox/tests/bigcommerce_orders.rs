//! BigCommerce v2 orders, shipments and webhooks over real HTTP, with a real receiver.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::Receiver;
use kcf_sandbox::{Dataset, Faults, SeedSize, bigcommerce::BigCommerceConfig};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

struct Store {
    emulator: kcf_sandbox::Emulator,
    http: Client,
}

impl Store {
    async fn start(seed: SeedSize) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = BigCommerceConfig {
            rate_limit: None,
            webhook_time_scale: 0.00001,
            ..Default::default()
        };
        let emulator = kcf_sandbox::start(
            listener,
            kcf_sandbox::EmulatorConfig::BigCommerce(config),
            Faults::default(),
            &Dataset::generate(seed),
            kcf_sandbox::Transport::Http,
        )
        .await
        .unwrap();
        Self {
            emulator,
            http: Client::new(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let url = format!("{}/stores/sandbox{path}", self.emulator.url());
        let mut req = self
            .http
            .request(method, url)
            .header("X-Auth-Token", "sandbox");
        if let Some(body) = body {
            req = req.json(&body);
        }
        common::send(req).await
    }

    async fn deliveries(&self) -> Vec<Value> {
        let url = format!("{}/_sandbox/webhooks", self.emulator.url());
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn new_order() -> Value {
    json!({
        "customer_id": 3,
        "billing_address": { "first_name": "Ada", "last_name": "Quinn", "street_1": "1 Main", "city": "Austin",
                             "state": "Texas", "zip": "78701", "country": "United States", "country_iso2": "US",
                             "email": "ada@example.com" },
        "products": [ { "product_id": 5, "quantity": 2 }, { "product_id": 6, "quantity": 1, "price_inc_tax": 10.0 } ],
    })
}

#[tokio::test]
async fn orders_list_create_and_change_status() {
    let s = Store::start(SeedSize::Small).await;
    let (status, list) = s.call(Method::GET, "/v2/orders?limit=250", None).await;
    assert_eq!(status, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 10, "a bare array of the seeded orders");
    assert_eq!(list[0]["id"], 100);
    assert!(
        list[0]["date_modified"]
            .as_str()
            .unwrap()
            .ends_with("+0000"),
        "RFC 2822 dates"
    );
    let (status, _) = s.call(Method::GET, "/v2/orders?min_id=5000", None).await;
    assert_eq!(status, 204, "no orders: 204");

    let (status, order) = s.call(Method::POST, "/v2/orders", Some(new_order())).await;
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_u64().unwrap();
    assert_eq!(id, 110);
    assert_eq!(order["status_id"], 1);
    assert_eq!(order["items_total"], 3);
    let (_, lines) = s
        .call(Method::GET, &format!("/v2/orders/{id}/products"), None)
        .await;
    assert_eq!(lines[0]["sku"], "SKU-000005");
    assert_eq!(
        lines[1]["price_inc_tax"], "10.0000",
        "a given price wins; money is a string"
    );
    let (_, addresses) = s
        .call(
            Method::GET,
            &format!("/v2/orders/{id}/shipping_addresses"),
            None,
        )
        .await;
    assert_eq!(addresses[0]["city"], "Austin");

    let (status, changed) = s
        .call(
            Method::PUT,
            &format!("/v2/orders/{id}"),
            Some(json!({ "status_id": 11 })),
        )
        .await;
    assert_eq!(
        (status, changed["status"].as_str()),
        (StatusCode::OK, Some("Awaiting Fulfillment"))
    );
    let (status, body) = s
        .call(
            Method::PUT,
            &format!("/v2/orders/{id}"),
            Some(json!({ "status_id": 99 })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let mut bad = new_order();
    bad["products"][0]["product_id"] = json!(99_999);
    let (status, body) = s.call(Method::POST, "/v2/orders", Some(bad)).await;
    assert_eq!(status, 400);
    assert!(body["title"].as_str().unwrap().contains("99999"), "{body}");
    let (status, body) = s
        .call(Method::POST, "/v2/orders", Some(json!({ "products": [] })))
        .await;
    assert_eq!(status, 422);
    assert!(body["errors"]["billing_address"].is_string(), "{body}");
    let (_, statuses) = s.call(Method::GET, "/v2/order_statuses", None).await;
    assert_eq!(statuses.as_array().unwrap().len(), 15);
    assert_eq!(statuses[5]["name"], "Cancelled");
}

#[tokio::test]
async fn shipments_ship_lines_and_move_the_status() {
    let s = Store::start(SeedSize::Small).await;
    let (_, order) = s.call(Method::POST, "/v2/orders", Some(new_order())).await;
    let id = order["id"].as_u64().unwrap();
    assert_eq!(
        s.call(Method::GET, &format!("/v2/orders/{id}/shipments"), None)
            .await
            .0,
        204
    );
    let (_, lines) = s
        .call(Method::GET, &format!("/v2/orders/{id}/products"), None)
        .await;
    let (_, addresses) = s
        .call(
            Method::GET,
            &format!("/v2/orders/{id}/shipping_addresses"),
            None,
        )
        .await;
    let address = addresses[0]["id"].clone();
    let first = json!({
        "order_address_id": address, "tracking_number": "1Z999", "shipping_provider": "ups",
        "items": [ { "order_product_id": lines[0]["id"], "quantity": 1 } ],
    });
    let (status, shipment) = s
        .call(
            Method::POST,
            &format!("/v2/orders/{id}/shipments"),
            Some(first),
        )
        .await;
    assert_eq!(status, 201, "{shipment}");
    assert_eq!(shipment["tracking_number"], "1Z999");
    let (_, o) = s.call(Method::GET, &format!("/v2/orders/{id}"), None).await;
    assert_eq!(
        (o["status_id"].as_u64(), o["items_shipped"].as_u64()),
        (Some(3), Some(1)),
        "partially shipped"
    );
    let too_many = json!({ "order_address_id": address, "items": [ { "order_product_id": lines[0]["id"], "quantity": 5 } ] });
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/v2/orders/{id}/shipments"),
            Some(too_many),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["title"].as_str().unwrap().contains("only 1"), "{body}");
    let rest = json!({
        "order_address_id": address, "tracking_number": "1Z998",
        "items": [ { "order_product_id": lines[0]["id"], "quantity": 1 }, { "order_product_id": lines[1]["id"], "quantity": 1 } ],
    });
    assert_eq!(
        s.call(
            Method::POST,
            &format!("/v2/orders/{id}/shipments"),
            Some(rest)
        )
        .await
        .0,
        201
    );
    let (_, o) = s.call(Method::GET, &format!("/v2/orders/{id}"), None).await;
    assert_eq!(o["status_id"], 2, "shipped");
    let (_, all) = s
        .call(Method::GET, &format!("/v2/orders/{id}/shipments"), None)
        .await;
    assert_eq!(all.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn webhooks_are_signed_and_carry_the_hooks_headers() {
    let s = Store::start(SeedSize::Small).await;
    let (receiver, url) = Receiver::start(&[]).await;
    let hook = json!({ "scope": "store/order/*", "destination": url, "is_active": true, "headers": { "X-Kcf-Secret": "s3cret" } });
    let (status, created) = s.call(Method::POST, "/v3/hooks", Some(hook.clone())).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        s.call(Method::POST, "/v3/hooks", Some(hook)).await.0,
        409,
        "one hook per scope and destination"
    );
    let (status, body) = s
        .call(
            Method::POST,
            "/v3/hooks",
            Some(json!({ "scope": "store/nope", "destination": "ftp://x" })),
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        body["errors"]["scope"].is_string() && body["errors"]["destination"].is_string(),
        "{body}"
    );

    let (_, order) = s.call(Method::POST, "/v2/orders", Some(new_order())).await;
    let got = receiver.wait_for(1).await;
    assert_eq!(
        got.len(),
        1,
        "exactly one delivery when the receiver answers 200"
    );
    let (headers, payload) = &got[0];
    assert_eq!(headers["x-kcf-secret"], "s3cret");
    assert_eq!(payload["scope"], "store/order/created");
    assert_eq!(
        payload["data"],
        json!({ "type": "order", "id": order["id"] })
    );
    assert_eq!(payload["producer"], "stores/sandbox");
    assert_eq!(
        payload["hash"].as_str().unwrap().len(),
        40,
        "a SHA-1 hex hash"
    );
    let id = headers["webhook-id"].to_str().unwrap();
    let ts: i64 = headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let raw = receiver.raw(0);
    let expected = kcf_sandbox::bigcommerce::sign(b"sandbox-client-secret", id, ts, &raw);
    assert_eq!(headers["webhook-signature"].to_str().unwrap(), expected);

    let order_id = order["id"].as_u64().unwrap();
    s.call(
        Method::PUT,
        &format!("/v2/orders/{order_id}"),
        Some(json!({ "status_id": 5 })),
    )
    .await;
    let got = receiver.wait_for(3).await;
    let scopes: Vec<&str> = got
        .iter()
        .map(|(_, p)| p["scope"].as_str().unwrap())
        .collect();
    assert_eq!(
        scopes,
        [
            "store/order/created",
            "store/order/updated",
            "store/order/statusUpdated"
        ]
    );
    assert_eq!(
        got[2].1["data"]["status"],
        json!({ "previous_status_id": 1, "new_status_id": 5 })
    );
    let (_, hooks) = s.call(Method::GET, "/v3/hooks", None).await;
    let hook_id = hooks["data"][0]["id"].as_u64().unwrap();
    assert_eq!(
        s.call(Method::DELETE, &format!("/v3/hooks/{hook_id}"), None)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn failed_deliveries_follow_the_schedule_then_deactivate() {
    let s = Store::start(SeedSize::Small).await;
    // Fails twice, then accepts.
    let (flaky, flaky_url) = Receiver::start(&[500, 503]).await;
    // Always fails.
    let (dead, dead_url) = Receiver::start(&[500; 20]).await;
    for url in [&flaky_url, &dead_url] {
        let hook =
            json!({ "scope": "store/product/created", "destination": url, "is_active": true });
        assert_eq!(s.call(Method::POST, "/v3/hooks", Some(hook)).await.0, 200);
    }
    let (status, _) = s
        .call(
            Method::POST,
            "/v3/catalog/products",
            Some(json!({ "name": "Hook Test", "type": "physical", "weight": 1, "price": 2 })),
        )
        .await;
    assert_eq!(status, 200);
    let got = flaky.wait_for(3).await;
    assert_eq!(got.len(), 3);
    let hashes: std::collections::BTreeSet<_> =
        got.iter().map(|(_, p)| p["hash"].to_string()).collect();
    assert_eq!(hashes.len(), 1, "a retry resends the same message");
    let dead_got = dead.wait_for(12).await;
    assert_eq!(
        dead_got.len(),
        12,
        "one attempt and the 11 documented retries"
    );
    for _ in 0..100 {
        let (_, hooks) = s.call(Method::GET, "/v3/hooks", None).await;
        if hooks["data"][1]["is_active"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, hooks) = s.call(Method::GET, "/v3/hooks", None).await;
    assert_eq!(hooks["data"][0]["is_active"], true);
    assert_eq!(
        hooks["data"][1]["is_active"], false,
        "deactivated after the last retry"
    );
    let ledger = s.deliveries().await;
    assert_eq!(ledger.iter().filter(|d| d["status"] == 200).count(), 1);
    assert_eq!(ledger.len(), 15);
}

#[tokio::test]
async fn duplicates_can_be_injected() {
    let s = Store::start(SeedSize::Small).await;
    let (receiver, url) = Receiver::start(&[]).await;
    let hook = json!({ "scope": "store/customer/*", "destination": url });
    assert_eq!(s.call(Method::POST, "/v3/hooks", Some(hook)).await.0, 200);
    let faults = format!("{}/_sandbox/faults", s.emulator.url());
    s.http
        .put(&faults)
        .json(&json!({ "duplicate_notifications": 1.0 }))
        .send()
        .await
        .unwrap();
    let c = json!([{ "email": "dup@example.com", "first_name": "D", "last_name": "Up" }]);
    assert_eq!(s.call(Method::POST, "/v3/customers", Some(c)).await.0, 200);
    let got = receiver.wait_for(2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].1["hash"], got[1].1["hash"],
        "a duplicate repeats the hash"
    );
    assert_eq!(got[0].0["webhook-id"], got[1].0["webhook-id"]);
}
