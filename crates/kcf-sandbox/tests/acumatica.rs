//! The Acumatica emulator over real HTTP: sign-in, the value wrapper, queries, upserts.

#![allow(clippy::unwrap_used)]

mod common;

use common::Receiver;
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
        let emulator = kcf_sandbox::start(
            listener,
            kcf_sandbox::EmulatorConfig::Acumatica(config),
            Faults::default(),
            &Dataset::generate(SeedSize::Small),
            kcf_sandbox::Transport::Http,
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
        common::send(req).await
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
    // 50 items and the 36 matrix items of the seed's 3 templates.
    assert_eq!(seen.len(), 86);
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
    // After the seed's five orders from other channels.
    assert_eq!(created["OrderNbr"]["value"], "000006");
    assert_eq!(created["Status"]["value"], "Open");
    assert_eq!(created["OrderTotal"]["value"], 25.5);
    assert_eq!(created["Details"].as_array().unwrap().len(), 2);
    let (status, by_keys) = erp.call(Method::GET, "/SalesOrder/SO/000006", None).await;
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
    let change = json!({ "OrderType": { "value": "SO" }, "OrderNbr": { "value": "000006" }, "Details": [ { "id": line, "delete": true } ] });
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
    assert_eq!(
        body["Details"][0]["InventoryID"]["error"],
        "'Inventory ID' NOTHING cannot be found in the system.",
        "the bad field of the bad line carries the error: {body}"
    );
    let (_, orders) = erp.call(Method::GET, "/SalesOrder", None).await;
    assert_eq!(
        orders.as_array().unwrap().len(),
        6,
        "nothing was stored for the bad order"
    );
}

async fn push_erp() -> Erp {
    let config = AcumaticaConfig {
        push_retry_delay: std::time::Duration::from_millis(10),
        ..Default::default()
    };
    let erp = Erp::start(config).await;
    assert_eq!(erp.login(&erp.http, "sandbox").await, 204);
    erp
}

async fn set_destinations(erp: &Erp, destinations: Value) {
    let url = format!("{}/_sandbox/push/destinations", erp.emulator.url());
    let r = erp.http.put(url).json(&destinations).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn changes_push_one_notification_in_acumaticas_format() {
    let erp = push_erp().await;
    let (receiver, url) = Receiver::start(&[]).await;
    let (orders_only, orders_url) = Receiver::start(&[]).await;
    set_destinations(
        &erp,
        json!([
            { "name": "kcf", "address": url, "header_name": "X-Kcf-Push", "header_value": "s3cret" },
            { "name": "orders", "address": orders_url, "queries": ["Sales Orders"] }
        ]),
    )
    .await;
    let (_, before) = erp.call(Method::GET, "/StockItem/SKU-000004", None).await;
    let change =
        json!({ "InventoryID": { "value": "SKU-000004" }, "DefaultPrice": { "value": 77.0 } });
    assert_eq!(
        erp.call(Method::PUT, "/StockItem", Some(change)).await.0,
        200
    );
    let got = receiver.wait_for(1).await;
    assert_eq!(
        got.len(),
        1,
        "exactly one delivery when the receiver answers 200"
    );
    let (headers, n) = &got[0];
    assert_eq!(headers["x-kcf-push"], "s3cret");
    assert_eq!(n["Query"], "Stock Items: Last Modified Date");
    assert_eq!(n["CompanyId"], "Company");
    assert_eq!(n["Id"].as_str().unwrap().len(), 36);
    assert!(n["TimeStamp"].as_i64().unwrap() > 0);
    assert_eq!(n["Inserted"][0]["InventoryID"], "SKU-000004");
    assert_eq!(n["Inserted"][0]["DefaultPrice"], 77.0);
    assert_eq!(
        n["Deleted"][0]["DefaultPrice"], before["DefaultPrice"]["value"],
        "an update is a delete + insert"
    );

    let customer =
        json!({ "CustomerID": { "value": "NEWCUST" }, "CustomerName": { "value": "New Co" } });
    assert_eq!(
        erp.call(Method::PUT, "/Customer", Some(customer)).await.0,
        200
    );
    let got = receiver.wait_for(2).await;
    assert_eq!(got[1].1["Query"], "Customers");
    assert_eq!(
        got[1].1["Deleted"],
        json!([]),
        "an insert has no deleted row"
    );
    assert!(
        got[1].1["TimeStamp"].as_i64() > got[0].1["TimeStamp"].as_i64(),
        "TimeStamp rises"
    );
    assert_eq!(
        erp.call(Method::DELETE, "/Customer/NEWCUST", None).await.0,
        204
    );
    let got = receiver.wait_for(3).await;
    assert_eq!(
        (
            got[2].1["Inserted"].clone(),
            got[2].1["Deleted"][0]["CustomerID"].clone()
        ),
        (json!([]), json!("NEWCUST"))
    );
    assert!(
        orders_only.count() == 0,
        "a destination gets only its queries"
    );
}

#[tokio::test]
async fn an_error_reply_is_resent_at_most_five_times() {
    let erp = push_erp().await;
    let (receiver, url) = Receiver::start(&[500; 10]).await;
    set_destinations(&erp, json!([{ "name": "down", "address": url }])).await;
    let change =
        json!({ "InventoryID": { "value": "SKU-000001" }, "Description": { "value": "Renamed" } });
    assert_eq!(
        erp.call(Method::PUT, "/StockItem", Some(change)).await.0,
        200
    );
    let got = receiver.wait_for(5).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(receiver.count(), 5);
    let ids: std::collections::BTreeSet<String> =
        got.iter().map(|(_, n)| n["Id"].to_string()).collect();
    assert_eq!(ids.len(), 1, "every resend carries the same Id");
    let ledger: Value = erp
        .http
        .get(format!("{}/_sandbox/push", erp.emulator.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let attempts: Vec<u64> = ledger
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["attempt"].as_u64().unwrap())
        .collect();
    assert_eq!(attempts, [1, 2, 3, 4, 5]);
    let bad = erp
        .http
        .put(format!("{}/_sandbox/push/destinations", erp.emulator.url()))
        .json(&json!([{ "nme": "x" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn oauth2_password_grant_gives_a_bearer_token() {
    let erp = Erp::start(AcumaticaConfig::default()).await;
    let url = format!("{}/identity/connect/token", erp.emulator.url());
    let form = |secret: &str, grant: &str| {
        format!(
            "grant_type={grant}&client_id=sandbox-client&client_secret={secret}&username=admin&password=sandbox&scope=api"
        )
    };
    let post = |body: String| {
        erp.http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let r = post(form("sandbox", "password")).await.unwrap();
    assert_eq!(r.status(), 200);
    let token: Value = r.json().await.unwrap();
    assert_eq!(
        (token["token_type"].as_str(), token["expires_in"].as_i64()),
        (Some("Bearer"), Some(3600))
    );
    let bearer = token["access_token"].as_str().unwrap();
    let items = Client::new()
        .get(format!("{}{BASE}/StockItem?$top=1", erp.emulator.url()))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(items.status(), 200);
    let wrong = Client::new()
        .get(format!("{}{BASE}/StockItem", erp.emulator.url()))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let r = post(form("wrong", "password")).await.unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.json::<Value>().await.unwrap()["error"].clone()
        ),
        (400, json!("invalid_client"))
    );
    let r = post(form("sandbox", "client_credentials")).await.unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
}

async fn run_action(erp: &Erp, path: &str, entity: Value) -> StatusCode {
    let url = format!("{}{BASE}{path}", erp.emulator.url());
    let r = erp
        .http
        .post(url)
        .json(&json!({ "entity": entity, "parameters": {} }))
        .send()
        .await
        .unwrap();
    if r.status() != 202 {
        return r.status();
    }
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{BASE}{path}/status/")),
        "{location}"
    );
    let mut polls = Vec::new();
    loop {
        let p = erp
            .http
            .get(format!("{}{location}", erp.emulator.url()))
            .send()
            .await
            .unwrap()
            .status();
        polls.push(p.as_u16());
        if p != 202 || polls.len() > 100 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        polls.first(),
        Some(&202),
        "an action runs for a moment: {polls:?}"
    );
    StatusCode::from_u16(*polls.last().unwrap()).unwrap()
}

#[tokio::test]
async fn actions_ship_confirm_and_cancel_orders() {
    let erp = Erp::signed_in().await;
    let order = |ext: &str| {
        json!({
            "CustomerID": { "value": "C000001" }, "ExternalRef": { "value": ext },
            "Details": [
                { "InventoryID": { "value": "SKU-000001" }, "OrderQty": { "value": 2 }, "UnitPrice": { "value": 1.0 } },
                { "InventoryID": { "value": "SKU-000002" }, "OrderQty": { "value": 1 }, "UnitPrice": { "value": 1.0 } }
            ]
        })
    };
    let (_, first) = erp
        .call(Method::PUT, "/SalesOrder", Some(order("BC-1")))
        .await;
    let (_, second) = erp
        .call(Method::PUT, "/SalesOrder", Some(order("BC-2")))
        .await;
    let keys = |o: &Value| json!({ "OrderType": o["OrderType"], "OrderNbr": o["OrderNbr"] });
    assert_eq!(
        run_action(&erp, "/SalesOrder/SalesOrderCreateShipment", keys(&first)).await,
        204
    );
    let (_, shipping) = erp
        .call(
            Method::GET,
            &format!(
                "/SalesOrder/SO/{}?$expand=Shipments",
                first["OrderNbr"]["value"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(shipping["Status"]["value"], "Shipping");
    let nbr = shipping["Shipments"][0]["ShipmentNbr"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, shipment) = erp
        .call(
            Method::GET,
            &format!("/Shipment/{nbr}?$expand=Details,Orders"),
            None,
        )
        .await;
    assert_eq!(shipment["Status"]["value"], "Open");
    assert_eq!(shipment["ShippedQty"]["value"], 3.0);
    assert_eq!(shipment["Details"].as_array().unwrap().len(), 2);
    assert_eq!(
        shipment["Orders"][0]["OrderNbr"]["value"],
        first["OrderNbr"]["value"]
    );
    let by_id = json!({ "id": shipment["id"] });
    assert_eq!(
        run_action(&erp, "/Shipment/ConfirmShipment", by_id.clone()).await,
        204
    );
    let (_, done) = erp.call(Method::GET, "/SalesOrder/SO/000001", None).await;
    assert_eq!(done["Status"]["value"], "Completed");
    assert_eq!(
        run_action(&erp, "/Shipment/ConfirmShipment", by_id).await,
        422,
        "confirmed once only"
    );
    assert_eq!(
        run_action(&erp, "/SalesOrder/CancelSalesOrder", keys(&first)).await,
        422,
        "shipped orders stay"
    );
    assert_eq!(
        run_action(&erp, "/SalesOrder/CancelSalesOrder", keys(&second)).await,
        204
    );
    let (_, cancelled) = erp
        .call(
            Method::GET,
            &format!(
                "/SalesOrder/SO/{}",
                second["OrderNbr"]["value"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(cancelled["Status"]["value"], "Cancelled");
    assert_eq!(
        run_action(&erp, "/SalesOrder/SalesOrderCreateShipment", keys(&second)).await,
        422
    );
    assert_eq!(
        run_action(&erp, "/SalesOrder/Explode", keys(&second)).await,
        404
    );
    assert_eq!(
        run_action(
            &erp,
            "/SalesOrder/CancelSalesOrder",
            json!({ "OrderType": { "value": "SO" } })
        )
        .await,
        400
    );
}

#[tokio::test]
async fn the_openapi_document_describes_what_is_served() {
    let erp = Erp::signed_in().await;
    let (status, doc) = erp.call(Method::GET, "/swagger.json", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        (doc["openapi"].as_str(), doc["info"]["title"].as_str()),
        (Some("3.0.1"), Some("Default/24.200.001"))
    );
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        [
            "StockItem",
            "TemplateItems",
            "AttributeDefinition",
            "InventoryQuantityAvailable",
            "InventoryReceipt",
            "InventoryAdjustment",
            "ItemClass",
            "ItemSalesCategory",
            "Customer",
            "SalesOrder",
            "Shipment",
            "CustomerClass",
            "ShipVia",
            "PaymentMethod",
            "Warehouse"
        ]
    );
    assert_eq!(
        doc["paths"]["/StockItem"]["get"]["operationId"],
        "StockItem_GetList"
    );
    assert_eq!(
        doc["paths"]["/SalesOrder/{ids}"]["get"]["operationId"],
        "SalesOrder_GetByKeys"
    );
    assert_eq!(
        doc["paths"]["/Shipment/ConfirmShipment"]["post"]["operationId"],
        "Shipment_InvokeAction_ConfirmShipment"
    );
    let so = &doc["components"]["schemas"]["SalesOrder"]["allOf"];
    assert_eq!(so[0]["$ref"], "#/components/schemas/Entity");
    assert_eq!(
        so[1]["properties"]["OrderTotal"]["$ref"],
        "#/components/schemas/DecimalValue"
    );
    assert_eq!(
        so[1]["properties"]["Details"]["items"]["$ref"],
        "#/components/schemas/SalesOrderDetail"
    );
    // Every $ref points at something the document defines.
    let text = doc.to_string();
    for r in text.split("\"$ref\":\"#/components/").skip(1) {
        let target = &r[..r.find('"').unwrap()];
        let (section, name) = target.split_once('/').unwrap();
        assert!(
            doc["components"][section].get(name).is_some(),
            "dangling $ref {target}"
        );
    }
    let (status, schema) = erp.call(Method::GET, "/StockItem/$adHocSchema", None).await;
    assert_eq!(status, 200);
    assert!(schema["InventoryID"].is_object(), "{schema}");
}

#[tokio::test]
async fn license_throttling_paces_then_refuses_a_full_queue() {
    use kcf_sandbox::acumatica::throttle::Limits;
    use std::time::{Duration, Instant};
    let window = Duration::from_millis(1000);
    let erp = Erp::start(AcumaticaConfig {
        throttle: Some(Limits {
            per_minute: 4,
            concurrent: 2,
            window,
            max_wait: Duration::from_secs(600),
        }),
        ..Default::default()
    })
    .await;
    assert_eq!(erp.login(&erp.http, "sandbox").await, 204);
    let mut took = Vec::new();
    for _ in 0..4 {
        let started = Instant::now();
        assert_eq!(
            erp.call(Method::GET, "/StockItem?$top=1", None).await.0,
            200
        );
        took.push(started.elapsed());
    }
    // Under half the limit: no wait. From half on: (time left in the window) ÷ (requests left).
    assert!(
        took[0] < Duration::from_millis(200) && took[1] < Duration::from_millis(200),
        "{took:?}"
    );
    assert!(
        took[2] >= Duration::from_millis(250),
        "the third request is paced: {took:?}"
    );
    assert!(
        took[3] >= Duration::from_millis(150),
        "the fourth waits for the window: {took:?}"
    );

    let slow = Erp::start(AcumaticaConfig {
        throttle: Some(Limits {
            per_minute: 2,
            concurrent: 1,
            window: Duration::from_secs(30),
            max_wait: Duration::from_secs(600),
        }),
        ..Default::default()
    })
    .await;
    assert_eq!(slow.login(&slow.http, "sandbox").await, 204);
    let url = format!("{}{BASE}/StockItem?$top=1", slow.emulator.url());
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let (http, url) = (slow.http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            http.get(url).send().await.map(|r| r.status().as_u16())
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let refused = tasks.iter().filter(|t| t.is_finished()).count();
    let mut statuses = Vec::new();
    for t in tasks.into_iter().filter(|t| t.is_finished()) {
        statuses.push(t.await.unwrap().unwrap());
    }
    let too_many = statuses.iter().filter(|s| **s == 429).count();
    // 30 requests: one or two processed, 20 waiting in the queue, the rest refused at once.
    assert!(
        too_many >= 8,
        "429s: {too_many} of {refused} finished: {statuses:?}"
    );
}

#[tokio::test]
async fn lists_come_in_key_order_so_keyset_paging_works() {
    let erp = Erp::signed_in().await;
    for sku in ["zz-last", "AA-FIRST", "mm-middle", "Mm-Middle2"] {
        let item = json!({ "InventoryID": { "value": sku }, "Description": { "value": sku } });
        assert_eq!(erp.call(Method::PUT, "/StockItem", Some(item)).await.0, 200);
    }
    let ids = |page: &Value| -> Vec<String> {
        page.as_array()
            .unwrap()
            .iter()
            .map(|r| r["InventoryID"]["value"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, page) = erp
        .call(
            Method::GET,
            "/StockItem?$filter=InventoryID ne 'x'&$select=InventoryID",
            None,
        )
        .await;
    let all = ids(&page);
    let mut expected = all.clone();
    expected.sort_by_key(|s| s.to_lowercase());
    assert_eq!(all, expected, "text keys sort case-insensitively");
    assert_eq!(all.first().map(String::as_str), Some("AA-FIRST"));
    assert_eq!(all.last().map(String::as_str), Some("zz-last"));
    let (_, after) = erp
        .call(
            Method::GET,
            "/StockItem?$filter=InventoryID gt 'mm-middle'&$top=2",
            None,
        )
        .await;
    assert_eq!(ids(&after), ["Mm-Middle2", "SKU-000001"]);

    for id in [100, 20] {
        let c =
            json!({ "CategoryID": { "value": id }, "Description": { "value": format!("C{id}") } });
        assert_eq!(
            erp.call(Method::PUT, "/ItemSalesCategory", Some(c)).await.0,
            200
        );
    }
    let (_, cats) = erp
        .call(
            Method::GET,
            "/ItemSalesCategory?$filter=CategoryID gt 5",
            None,
        )
        .await;
    let cats: Vec<i64> = cats
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["CategoryID"]["value"].as_i64().unwrap())
        .collect();
    assert_eq!(
        cats,
        [6, 7, 8, 9, 10, 20, 100],
        "numeric keys sort numerically"
    );
}

#[tokio::test]
async fn sessions_can_be_listed_and_expired_from_the_control_api() {
    let erp = Erp::signed_in().await;
    let url = format!("{}/_sandbox/sessions", erp.emulator.url());
    let live: Value = erp
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(live["sessions"], 1);
    assert_eq!(erp.http.delete(&url).send().await.unwrap().status(), 204);
    let live: Value = erp
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (live["sessions"].as_u64(), live["tokens"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(
        erp.call(Method::GET, "/StockItem?$top=1", None).await.0,
        401,
        "an expired session must sign in again"
    );
}

#[tokio::test]
async fn license_throttling_refuses_a_request_that_waited_too_long() {
    use kcf_sandbox::acumatica::throttle::Limits;
    use std::time::{Duration, Instant};
    let erp = Erp::start(AcumaticaConfig {
        throttle: Some(Limits {
            per_minute: 4,
            concurrent: 1,
            window: Duration::from_secs(30),
            max_wait: Duration::from_millis(300),
        }),
        ..Default::default()
    })
    .await;
    // Two requests use half the window's budget; the next is paced for seconds, longer than
    // the queue allows, and refused.
    assert_eq!(erp.login(&erp.http, "sandbox").await, 204);
    for _ in 0..2 {
        assert_eq!(
            erp.call(Method::GET, "/StockItem?$top=1", None).await.0,
            200
        );
    }
    let started = Instant::now();
    let (status, body) = erp.call(Method::GET, "/StockItem?$top=1", None).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("waited too long"),
        "{body}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    assert_eq!("600,4".parse::<Limits>().unwrap(), Limits::new(600, 4));
    assert!("0".parse::<Limits>().is_err());
    assert!(
        "lots"
            .parse::<Limits>()
            .unwrap_err()
            .contains("positive number")
    );
}

#[tokio::test]
async fn idle_sessions_time_out_and_free_their_license_slot() {
    let erp = Erp::start(AcumaticaConfig {
        max_sessions: 1,
        session_idle: std::time::Duration::from_millis(1_000),
        ..Default::default()
    })
    .await;
    assert_eq!(erp.login(&erp.http, "sandbox").await, 204);
    // In use, it stays.
    for _ in 0..3 {
        // Margins wide enough for a loaded CI machine: used every 300 ms, idle after 1 s.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(
            erp.call(Method::GET, "/StockItem?$top=1", None).await.0,
            200
        );
    }
    let other = Client::builder().cookie_store(true).build().unwrap();
    assert_eq!(
        erp.login(&other, "sandbox").await,
        429,
        "the one slot is taken"
    );
    // Idle past the timeout: the slot frees and the old session is gone.
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    assert_eq!(erp.login(&other, "sandbox").await, 204);
    assert_eq!(
        erp.call(Method::GET, "/StockItem?$top=1", None).await.0,
        401
    );
}

/// The plain value of a wrapped field.
fn plain(v: &Value) -> Value {
    v.get("value").cloned().unwrap_or(Value::Null)
}

async fn stock_of(erp: &Erp, sku: &str, warehouse: &str) -> (f64, f64, f64) {
    let (_, row) = erp
        .call(
            Method::GET,
            &format!("/InventoryQuantityAvailable/{sku}/{warehouse}"),
            None,
        )
        .await;
    let n = |f: &str| plain(&row[f]).as_f64().unwrap_or(0.0);
    (n("OnHand"), n("Allocated"), n("Available"))
}

#[tokio::test]
async fn stock_moves_with_orders_shipments_and_adjustments() {
    let erp = Erp::signed_in().await;
    let sku = "SKU-000010";
    let (on_hand, allocated, available) = stock_of(&erp, sku, "MAIN").await;
    assert_eq!(available, on_hand - allocated);

    // An open order holds stock: available drops, on hand does not.
    let order = json!({ "CustomerID": { "value": "C000001" }, "Details": [
        { "InventoryID": { "value": sku }, "OrderQty": { "value": 2 }, "UnitPrice": { "value": 3.0 } } ] });
    let (_, order) = erp.call(Method::PUT, "/SalesOrder", Some(order)).await;
    let nbr = plain(&order["OrderNbr"]).as_str().unwrap().to_owned();
    assert_eq!(
        stock_of(&erp, sku, "MAIN").await,
        (on_hand, allocated + 2.0, available - 2.0)
    );

    // A shipment written by PUT with lines that name the order is linked to it; on hold it
    // cannot be confirmed.
    let shipment = json!({ "CustomerID": { "value": "C000001" }, "WarehouseID": { "value": "MAIN" }, "Hold": { "value": true },
        "Details": [ { "OrderType": { "value": "SO" }, "OrderNbr": { "value": nbr }, "OrderLineNbr": { "value": 1 },
                       "InventoryID": { "value": sku }, "ShippedQty": { "value": 2 } } ] });
    let (status, shipment) = erp.call(Method::PUT, "/Shipment", Some(shipment)).await;
    assert_eq!(status, StatusCode::OK, "{shipment}");
    assert_eq!(plain(&shipment["Status"]), "On Hold");
    let ship_nbr = plain(&shipment["ShipmentNbr"]).as_str().unwrap().to_owned();
    let (_, linked) = erp
        .call(
            Method::GET,
            &format!("/SalesOrder/SO/{nbr}?$expand=Details,Shipments"),
            None,
        )
        .await;
    assert_eq!(plain(&linked["Status"]), "Shipping");
    assert_eq!(plain(&linked["Shipments"][0]["ShipmentNbr"]), ship_nbr);
    assert_eq!(plain(&linked["Details"][0]["QtyOnShipments"]), 2.0);
    let keys = json!({ "ShipmentNbr": { "value": ship_nbr } });
    assert_eq!(
        run_action(&erp, "/Shipment/ConfirmShipment", keys.clone()).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let release = json!({ "ShipmentNbr": { "value": ship_nbr }, "Hold": { "value": false } });
    let (_, open) = erp.call(Method::PUT, "/Shipment", Some(release)).await;
    assert_eq!(plain(&open["Status"]), "Open");
    assert_eq!(
        run_action(&erp, "/Shipment/ConfirmShipment", keys).await,
        StatusCode::NO_CONTENT
    );
    // Confirmed: the stock left (on hand and the allocation drop together).
    assert_eq!(
        stock_of(&erp, sku, "MAIN").await,
        (on_hand - 2.0, allocated, available - 2.0)
    );
    let (_, done) = erp
        .call(Method::GET, &format!("/SalesOrder/SO/{nbr}"), None)
        .await;
    assert_eq!(plain(&done["Status"]), "Completed");

    // An adjustment that would take on hand below zero is refused whole.
    let adjustment = json!({ "Hold": { "value": false }, "Details": [
        { "InventoryID": { "value": sku }, "WarehouseID": { "value": "MAIN" }, "Qty": { "value": 1.0 } },
        { "InventoryID": { "value": sku }, "WarehouseID": { "value": "MAIN" }, "Qty": { "value": -100000.0 } } ] });
    let (_, adjustment) = erp
        .call(Method::PUT, "/InventoryAdjustment", Some(adjustment))
        .await;
    let refused = run_action(
        &erp,
        "/InventoryAdjustment/ReleaseInventoryAdjustment",
        json!({ "ReferenceNbr": adjustment["ReferenceNbr"] }),
    )
    .await;
    assert_eq!(refused, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        stock_of(&erp, sku, "MAIN").await.0,
        on_hand - 2.0,
        "nothing moved"
    );

    // A deactivated item is found by its status.
    let inactive =
        json!({ "InventoryID": { "value": sku }, "ItemStatus": { "value": "Inactive" } });
    erp.call(Method::PUT, "/StockItem", Some(inactive)).await;
    let (_, found) = erp
        .call(
            Method::GET,
            "/StockItem?$filter=ItemStatus eq 'Inactive'",
            None,
        )
        .await;
    assert!(
        found
            .as_array()
            .unwrap()
            .iter()
            .any(|r| plain(&r["InventoryID"]) == sku)
    );
}

#[tokio::test]
async fn a_template_lists_its_matrix_items() {
    let erp = Erp::signed_in().await;
    let (status, t) = erp
        .call(
            Method::GET,
            "/TemplateItems/TMPL-0001?$expand=Attributes,Matrix",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let matrix = t["Matrix"].as_array().unwrap();
    assert_eq!(matrix.len(), 9, "3 colours × 3 sizes");
    assert!(
        matrix
            .iter()
            .all(|m| plain(&m["TemplateItemID"]) == "TMPL-0001")
    );
    assert_eq!(t["Attributes"].as_array().unwrap().len(), 2);
    let (_, child) = erp
        .call(
            Method::GET,
            "/StockItem/TMPL-0001-RED-S?$expand=Attributes",
            None,
        )
        .await;
    let values: Vec<Value> = child["Attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| plain(&a["ValueDescription"]))
        .collect();
    assert_eq!(values, [json!("Red"), json!("Small")]);
    // A matrix item must name a template that exists.
    let orphan =
        json!({ "InventoryID": { "value": "ORPHAN" }, "TemplateItemID": { "value": "NOPE" } });
    let (status, body) = erp.call(Method::PUT, "/StockItem", Some(orphan)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}
