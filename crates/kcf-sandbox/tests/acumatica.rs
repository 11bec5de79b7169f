//! The Acumatica emulator over real HTTP: sign-in, the value wrapper, queries, upserts.

#![allow(clippy::unwrap_used)]

use kcf_sandbox::{Dataset, Faults, SeedSize, acumatica::AcumaticaConfig};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const BASE: &str = "/entity/Default/24.200.001";

struct Erp {
    emulator: kcf_sandbox::Emulator,
    http: Client,
}

impl Erp {
    async fn start(config: AcumaticaConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let emulator = kcf_sandbox::start_acumatica(
            listener,
            config,
            Faults::default(),
            &Dataset::generate(SeedSize::Small),
        )
        .await
        .unwrap();
        let http = Client::builder().cookie_store(true).build().unwrap();
        Self { emulator, http }
    }

    async fn signed_in() -> Self {
        let erp = Self::start(AcumaticaConfig::default()).await;
        assert_eq!(erp.login(&erp.http, "sandbox").await, 204);
        erp
    }

    async fn login(&self, http: &Client, password: &str) -> StatusCode {
        let body = json!({ "name": "admin", "password": password, "tenant": "Company" });
        http.post(format!("{}/entity/auth/login", self.emulator.url()))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{BASE}{path}", self.emulator.url()));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap()
            },
        )
    }
}

#[tokio::test]
async fn sessions_sign_in_out_and_are_limited() {
    let erp = Erp::start(AcumaticaConfig {
        max_sessions: 2,
        ..Default::default()
    })
    .await;
    let (status, body) = erp.call(Method::GET, "/StockItem", None).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["message"],
        "Authorization has been denied for this request."
    );
    assert_eq!(erp.login(&erp.http, "wrong").await, 500);
    assert_eq!(erp.login(&erp.http, "sandbox").await, 204);
    assert_eq!(
        erp.call(Method::GET, "/StockItem?$top=1", None).await.0,
        200
    );
    let second = Client::builder().cookie_store(true).build().unwrap();
    assert_eq!(erp.login(&second, "sandbox").await, 204);
    let third = Client::builder().cookie_store(true).build().unwrap();
    assert_eq!(
        erp.login(&third, "sandbox").await,
        429,
        "the license allows two API users"
    );
    let out = erp
        .http
        .post(format!("{}/entity/auth/logout", erp.emulator.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(
        erp.call(Method::GET, "/StockItem", None).await.0,
        401,
        "signed out"
    );
    assert_eq!(
        erp.login(&third, "sandbox").await,
        204,
        "the slot was freed"
    );
    let list: Value = erp
        .http
        .get(format!("{}/entity", erp.emulator.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["endpoints"][0]["version"], "24.200.001");
}

#[tokio::test]
async fn records_come_value_wrapped_with_details_only_when_expanded() {
    let erp = Erp::signed_in().await;
    let (status, items) = erp
        .call(
            Method::GET,
            "/StockItem?$filter=InventoryID eq 'SKU-000003'",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let item = &items[0];
    assert_eq!(item["InventoryID"], json!({ "value": "SKU-000003" }));
    assert!(item["DefaultPrice"]["value"].is_number());
    assert!(item["id"].as_str().unwrap().len() == 36);
    assert!(item.get("Categories").is_none(), "details need $expand");
    assert!(
        item["_links"]["self"]
            .as_str()
            .unwrap()
            .starts_with("/entity/Default/24.200.001/StockItem/")
    );
    let (_, expanded) = erp
        .call(
            Method::GET,
            "/StockItem/SKU-000003?$expand=Categories",
            None,
        )
        .await;
    assert!(
        expanded["Categories"][0]["CategoryID"]["value"].is_number(),
        "{expanded}"
    );
    let id = item["id"].as_str().unwrap();
    let (status, by_id) = erp
        .call(Method::GET, &format!("/StockItem/{id}"), None)
        .await;
    assert_eq!(
        (status, &by_id["InventoryID"]),
        (StatusCode::OK, &item["InventoryID"])
    );
    let (_, selected) = erp
        .call(
            Method::GET,
            "/StockItem/SKU-000003?$select=Description",
            None,
        )
        .await;
    assert!(selected.get("DefaultPrice").is_none() && selected["Description"].is_object());
    let (_, customers) = erp
        .call(
            Method::GET,
            "/Customer?$expand=MainContact&$filter=MainContact/Email eq 'x'",
            None,
        )
        .await;
    assert_eq!(customers, json!([]));
    let (_, c) = erp
        .call(Method::GET, "/Customer/C000001?$expand=MainContact", None)
        .await;
    let email = c["MainContact"]["Email"]["value"]
        .as_str()
        .unwrap()
        .to_uppercase();
    let (_, found) = erp
        .call(
            Method::GET,
            &format!("/Customer?$filter=MainContact/Email eq '{email}'"),
            None,
        )
        .await;
    assert_eq!(
        found.as_array().unwrap().len(),
        1,
        "linked fields filter, case-insensitively"
    );
}

#[tokio::test]
async fn top_and_skip_page_through_everything_once() {
    let erp = Erp::signed_in().await;
    let mut seen = Vec::new();
    let mut skip = 0;
    loop {
        let (_, page) = erp
            .call(
                Method::GET,
                &format!("/StockItem?$top=8&$skip={skip}"),
                None,
            )
            .await;
        let page = page.as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        seen.extend(
            page.iter()
                .map(|r| r["InventoryID"]["value"].as_str().unwrap().to_owned()),
        );
        skip += 8;
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 50);
    let (status, body) = erp
        .call(
            Method::GET,
            "/StockItem?$filter=InventoryID equals 'x'",
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not a comparison operator"),
        "{body}"
    );
    assert_eq!(
        erp.call(Method::GET, "/StockItem?$top=-1", None).await.0,
        400
    );
    assert_eq!(erp.call(Method::GET, "/Invoice", None).await.0, 404);
    let (_, recent) = erp
        .call(Method::GET, "/StockItem?$filter=LastModifiedDateTime gt datetimeoffset'2000-01-01T00:00:00Z' and ItemStatus eq 'Active'&$top=500", None)
        .await;
    assert!(!recent.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn put_upserts_with_preconditions_and_field_errors() {
    let erp = Erp::signed_in().await;
    let item = json!({ "InventoryID": { "value": "NEWITEM" }, "Description": { "value": "New item" }, "DefaultPrice": { "value": 12.5 } });
    let url = format!("{}{BASE}/StockItem", erp.emulator.url());
    let r = erp
        .http
        .put(&url)
        .header("If-None-Match", "*")
        .json(&item)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["Description"]["value"], "New item");
    let r = erp
        .http
        .put(&url)
        .header("If-None-Match", "*")
        .json(&item)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412, "create-only when it exists");
    let missing = json!({ "InventoryID": { "value": "NOPE" } });
    let r = erp
        .http
        .put(&url)
        .header("If-Match", "*")
        .json(&missing)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412, "update-only when it is missing");
    let change =
        json!({ "InventoryID": { "value": "NEWITEM" }, "DefaultPrice": { "value": 15.0 } });
    let (status, updated) = erp.call(Method::PUT, "/StockItem", Some(change)).await;
    assert_eq!(
        (status, updated["DefaultPrice"]["value"].as_f64()),
        (StatusCode::OK, Some(15.0))
    );
    assert_eq!(
        updated["Description"]["value"], "New item",
        "only sent fields change"
    );
    assert_ne!(
        updated["LastModifiedDateTime"],
        created["LastModifiedDateTime"]
    );
    let bad =
        json!({ "InventoryID": { "value": "NEWITEM" }, "DefaultPrice": { "value": "cheap" } });
    let (status, body) = erp.call(Method::PUT, "/StockItem", Some(bad)).await;
    assert_eq!(status, 422);
    assert!(
        body["DefaultPrice"]["error"]
            .as_str()
            .unwrap()
            .contains("not a valid Decimal"),
        "{body}"
    );
    let flat = json!({ "InventoryID": "FLAT" });
    let (status, body) = erp.call(Method::PUT, "/StockItem", Some(flat)).await;
    assert_eq!(status, 422, "flat values are refused: {body}");
    let (status, _) = erp.call(Method::PUT, "/StockItem", Some(json!([1]))).await;
    assert_eq!(status, 400);
    assert_eq!(
        erp.call(Method::DELETE, "/StockItem/NEWITEM", None).await.0,
        204
    );
    assert_eq!(
        erp.call(Method::GET, "/StockItem/NEWITEM", None).await.0,
        404
    );
}

#[tokio::test]
async fn sales_orders_check_customers_and_items_and_find_by_external_ref() {
    let erp = Erp::signed_in().await;
    let order = json!({
        "CustomerID": { "value": "C000002" },
        "ExternalRef": { "value": "BC-110" },
        "Details": [
            { "InventoryID": { "value": "SKU-000001" }, "OrderQty": { "value": 2 }, "UnitPrice": { "value": 10.0 } },
            { "InventoryID": { "value": "SKU-000002" }, "OrderQty": { "value": 1 }, "UnitPrice": { "value": 5.5 } }
        ]
    });
    let (status, created) = erp
        .call(Method::PUT, "/SalesOrder?$expand=Details", Some(order))
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["OrderType"]["value"], "SO");
    assert_eq!(created["OrderNbr"]["value"], "000001");
    assert_eq!(created["Status"]["value"], "Open");
    assert_eq!(created["OrderTotal"]["value"], 25.5);
    assert_eq!(created["Details"].as_array().unwrap().len(), 2);
    let (status, by_keys) = erp.call(Method::GET, "/SalesOrder/SO/000001", None).await;
    assert_eq!(
        (status, &by_keys["ExternalRef"]["value"]),
        (StatusCode::OK, &json!("BC-110"))
    );
    let (_, found) = erp
        .call(
            Method::GET,
            "/SalesOrder?$filter=ExternalRef eq 'BC-110'",
            None,
        )
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    let line = created["Details"][1]["id"].clone();
    let change = json!({ "OrderType": { "value": "SO" }, "OrderNbr": { "value": "000001" }, "Details": [ { "id": line, "delete": true } ] });
    let (_, changed) = erp
        .call(Method::PUT, "/SalesOrder?$expand=Details", Some(change))
        .await;
    assert_eq!(
        changed["Details"].as_array().unwrap().len(),
        1,
        "a detail line is deleted with delete: true"
    );
    assert_eq!(changed["OrderTotal"]["value"], 20.0);
    let bad = json!({
        "CustomerID": { "value": "NOBODY" },
        "Details": [ { "InventoryID": { "value": "NOTHING" }, "OrderQty": { "value": 1 } } ]
    });
    let (status, body) = erp.call(Method::PUT, "/SalesOrder", Some(bad)).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["CustomerID"]["error"],
        "'Customer' cannot be found in the system."
    );
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("Details.InventoryID"),
        "{body}"
    );
    let (_, orders) = erp.call(Method::GET, "/SalesOrder", None).await;
    assert_eq!(
        orders.as_array().unwrap().len(),
        1,
        "nothing was stored for the bad order"
    );
}
