//! Lease fencing with a frozen worker, with real processes on SQLite and on PostgreSQL: a
//! worker is stopped with SIGSTOP in the middle of applying a store order (the emulators are
//! slowed so the apply takes seconds), stays frozen past its lease, and another worker takes
//! the message over and applies it. Then the frozen worker is let go (SIGCONT). Checked: the
//! order is in the ERP exactly once (the woken worker learnt it had lost the lease before it
//! sent anything more), the message ends Processed, and the woken worker is still running.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

mod common;

use common::{
    KillOnDrop, TOKEN, connector_config, erp_session, free_port, migrate, serve, wait_ready,
};

const ACU: &str = "/entity/Default/24.200.001";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_frozen_worker_loses_its_lease_and_sends_nothing_more() {
    common::on_scratch_db("sqlite", "fence", |dir, db| async move {
        frozen(&dir, &db, "sqlite").await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_frozen_worker_loses_its_lease_and_sends_nothing_more() {
    common::on_scratch_db("postgres", "fence", |dir, db| async move {
        frozen(&dir, &db, "postgres").await
    })
    .await;
}

fn signal(child: &KillOnDrop, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.0.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

async fn api_get(http: &reqwest::Client, url: &str, path: &str) -> Value {
    http.get(format!("{url}/api/v1{path}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap_or(Value::Null)
}

async fn frozen(dir: &Path, db: &str, backend: &str) {
    kcf_sandbox::install_crypto_provider();
    let (api, acu, bc) = (free_port(), free_port(), free_port());
    // Every call to either system takes 300 ms: an order's apply takes seconds.
    let _sandbox = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_kcf"))
            .args(["sandbox", "--seed", "small", "--faults", "latency=300ms"])
            .args(["--bigcommerce-quota", "0"])
            .args(["--acumatica-port", &acu.to_string()])
            .args(["--bigcommerce-port", &bc.to_string()])
            .args(["--shopify-port", &free_port().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let config = connector_config(dir, api, acu, bc, 1);
    migrate(db);
    let url = format!("http://127.0.0.1:{api}");
    let http = reqwest::Client::new();
    let _api = serve(&config, db, "api");
    wait_ready(&http, &url, "the api never became ready").await;
    let r = http
        .post(format!("{url}/api/v1/connectors/shop/realtime"))
        .bearer_auth(TOKEN)
        .json(&json!({ "webhook_url": format!("{url}/webhooks/bigcommerce/shop") }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let mut first = serve(&config, db, "worker");

    let store = format!("http://127.0.0.1:{bc}/stores/sandbox");
    let products: Value = http
        .get(format!("{store}/v3/catalog/products?limit=1"))
        .header("X-Auth-Token", "sandbox")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let order: Value = http
        .post(format!("{store}/v2/orders"))
        .header("X-Auth-Token", "sandbox")
        .json(&json!({
            "customer_id": 0, "status_id": 11,
            "billing_address": { "first_name": "F", "last_name": "Z", "street_1": "1 Main",
                "city": "Austin", "state": "Texas", "zip": "78701", "country": "United States",
                "country_iso2": "US", "email": format!("frozen-{backend}@example.com") },
            "products": [{ "product_id": products["data"][0]["id"], "quantity": 1 }],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let order_id = order["id"].as_u64().unwrap().to_string();

    // The first worker takes the order; a moment into its apply, it is frozen.
    let deadline = Instant::now() + Duration::from_secs(120);
    let message = loop {
        let list = api_get(
            &http,
            &url,
            &format!("/messages?entity=order&record_key={order_id}&limit=5"),
        )
        .await;
        if let Some(m) = list["items"]
            .as_array()
            .and_then(|l| l.iter().find(|m| m["status"] == "processing"))
        {
            break m.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the order was never taken: {list}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    signal(&first, "-STOP");
    let frozen_owner = message["lease_owner"].clone();

    // Past its lease, another worker takes the message over and applies it.
    let _second = serve(&config, db, "worker");
    let id = message["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    let done = loop {
        let m = api_get(&http, &url, &format!("/messages/{id}")).await["message"].clone();
        if m["status"] == "processed" {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "the frozen worker's message was never taken over: {m}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The frozen worker wakes up and has time to do whatever it would.
    signal(&first, "-CONT");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        first.0.try_wait().unwrap().is_none(),
        "the woken worker is still running"
    );

    let acu_url = format!("http://127.0.0.1:{acu}");
    let erp = erp_session(&acu_url).await;
    let sales: Value = erp
        .get(format!(
            "{acu_url}{ACU}/SalesOrder?$select=OrderNbr,ExternalRef"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let copies = sales
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["ExternalRef"]["value"].as_str() == Some(order_id.as_str()))
        .count();
    assert_eq!(copies, 1, "the order is in the ERP exactly once");
    let detail = api_get(&http, &url, &format!("/messages/{id}")).await;
    assert_eq!(detail["message"]["status"], "processed", "{detail}");
    // The takeover was the reaper's: the frozen worker's lease ran out (fencing, not luck).
    assert!(
        detail["history"]
            .as_array()
            .is_some_and(|h| h.iter().any(|e| e["actor"] == "reaper")),
        "the lease expired and was reaped: {detail}"
    );
    common::report(
        &format!("{backend}_a_frozen_worker_loses_its_lease_and_sends_nothing_more"),
        &format!(
            "a worker ({frozen_owner}) frozen with SIGSTOP mid-apply past its 5 s lease: \
             another worker took the order over and applied it (attempts {}); woken with \
             SIGCONT, the frozen worker sent nothing more: the order in the ERP once, the \
             message Processed",
            done["attempts"]
        ),
    );
}
