//! State files: an emulator keeps its records across a restart (ids, indexes and
//! modification times included), and refuses a file it cannot read.

#![allow(clippy::unwrap_used)]

mod common;

use kcf_sandbox::{
    Dataset, Faults, SeedSize, acumatica::AcumaticaConfig, bigcommerce::BigCommerceConfig,
};
use reqwest::{Client, Method};
use serde_json::{Value, json};

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kcf-state-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("state.json")
}

async fn bigcommerce(file: &std::path::Path) -> std::io::Result<kcf_sandbox::Emulator> {
    kcf_sandbox::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        kcf_sandbox::EmulatorConfig::BigCommerce(BigCommerceConfig {
            state_file: Some(file.to_owned()),
            ..Default::default()
        }),
        Faults::default(),
        &Dataset::generate(SeedSize::Small),
        kcf_sandbox::Transport::Http,
    )
    .await
}

async fn bc(
    e: &kcf_sandbox::Emulator,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = Client::new()
        .request(method, format!("{}/stores/sandbox/v3{path}", e.url()))
        .header("X-Auth-Token", "sandbox");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let (status, v) = common::send(req).await;
    (status.as_u16(), v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bigcommerce_keeps_its_records_across_a_restart() {
    kcf_sandbox::install_crypto_provider();
    let file = temp("bc");
    let first = bigcommerce(&file).await.unwrap();
    // The seed's products are stamped at start; the window below must start after them.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let before = kcf_domain_free_now();
    let (status, created) = bc(
        &first,
        Method::POST,
        "/catalog/products",
        Some(json!({ "name": "Kept Product", "type": "physical", "weight": 1, "price": 5, "sku": "KEPT-1" })),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["data"]["id"].as_u64().unwrap();
    first.stop().await;
    assert!(file.exists(), "the state was written on stop");

    let second = bigcommerce(&file).await.unwrap();
    let (_, found) = bc(&second, Method::GET, "/catalog/products?sku=KEPT-1", None).await;
    assert_eq!(found["data"][0]["id"], id);
    let (_, recent) = bc(
        &second,
        Method::GET,
        &format!("/catalog/products?date_modified:min={before}"),
        None,
    )
    .await;
    let ids: Vec<_> = recent["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(
        ids,
        [json!(id)],
        "modification times survive: only the new product is recent"
    );
    let (_, next) = bc(
        &second,
        Method::POST,
        "/catalog/products",
        Some(json!({ "name": "Next Product", "type": "physical", "weight": 1, "price": 5 })),
    )
    .await;
    assert_eq!(next["data"]["id"].as_u64().unwrap(), id + 1, "ids go on");
    second.stop().await;

    std::fs::write(&file, "{ not json").unwrap();
    let err = bigcommerce(&file).await.unwrap_err();
    assert!(err.to_string().contains("not readable"), "{err}");
    let _ = std::fs::remove_dir_all(file.parent().unwrap());
}

/// Now as Unix seconds (the `date_modified:min` form).
fn kcf_domain_free_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn acumatica(file: &std::path::Path) -> (kcf_sandbox::Emulator, Client) {
    let e = kcf_sandbox::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        kcf_sandbox::EmulatorConfig::Acumatica(AcumaticaConfig {
            state_file: Some(file.to_owned()),
            ..Default::default()
        }),
        Faults::default(),
        &Dataset::generate(SeedSize::Small),
        kcf_sandbox::Transport::Http,
    )
    .await
    .unwrap();
    let http = Client::builder().cookie_store(true).build().unwrap();
    let r = http
        .post(format!("{}/entity/auth/login", e.url()))
        .json(&json!({ "name": "admin", "password": "sandbox", "tenant": "Company" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    (e, http)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acumatica_keeps_its_records_across_a_restart() {
    kcf_sandbox::install_crypto_provider();
    let file = temp("acu");
    let (first, http) = acumatica(&file).await;
    let base = format!("{}/entity/Default/24.200.001", first.url());
    let (status, _) = common::send(http.put(format!("{base}/StockItem")).json(&json!({
        "InventoryID": { "value": "KEPT-ITEM" }, "Description": { "value": "Kept" },
    })))
    .await;
    assert_eq!(status, 200);
    let (_, order) = common::send(http.put(format!("{base}/SalesOrder")).json(&json!({
        "CustomerID": { "value": "C000001" },
        "Details": [{ "InventoryID": { "value": "KEPT-ITEM" }, "OrderQty": { "value": 1 } }],
    })))
    .await;
    let nbr = order["OrderNbr"]["value"].as_str().unwrap().to_owned();
    first.stop().await;
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(
        saved.contains("KEPT-ITEM"),
        "saved: {}",
        &saved[..saved.len().min(300)]
    );

    let (second, http) = acumatica(&file).await;
    let base = format!("{}/entity/Default/24.200.001", second.url());
    let (status, item) = common::send(http.get(format!("{base}/StockItem/KEPT-ITEM"))).await;
    assert_eq!(status, 200, "found by key after the restart");
    assert_eq!(item["Description"]["value"], "Kept");
    let (_, again) = common::send(http.put(format!("{base}/SalesOrder")).json(&json!({
        "CustomerID": { "value": "C000001" },
        "Details": [{ "InventoryID": { "value": "KEPT-ITEM" }, "OrderQty": { "value": 1 } }],
    })))
    .await;
    let next = again["OrderNbr"]["value"].as_str().unwrap();
    assert!(
        next > nbr.as_str(),
        "order numbers go on: {nbr} then {next}"
    );
    second.stop().await;
    let _ = std::fs::remove_dir_all(file.parent().unwrap());
}
