//! Crash safety, with real processes: one api process and two worker processes share one
//! database (an SQLite file, or PostgreSQL) while orders arrive; a worker is killed with
//! SIGKILL every 150–350 ms (a fixed seed picks which), 50 times, and restarted. When the
//! kills stop and the queue drains: every store order is in the ERP exactly once, nothing is
//! left processing, nothing was lost.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

mod common;

use common::{
    KillOnDrop, TOKEN, connector_config, erp_session, free_port, migrate, psql, serve, wait_ready,
};

const ORDERS: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_workers_killed_at_random_lose_and_duplicate_nothing() {
    let dir = std::env::temp_dir().join(format!("kcf-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("kcf.db").display());
    soak(&dir, &db).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_workers_killed_at_random_lose_and_duplicate_nothing() {
    let dir = std::env::temp_dir().join(format!("kcf-crash-pg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let name = format!("kcf_crash_{}", std::process::id());
    psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    psql(&format!("CREATE DATABASE {name}")).await;
    let admin = kcf_testkit::postgres_admin_url();
    let db = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    soak(&dir, &db).await;
    psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    let _ = std::fs::remove_dir_all(dir);
}

async fn soak(dir: &std::path::Path, db: &str) {
    kcf_sandbox::install_crypto_provider();
    let (api, acu, bc) = (free_port(), free_port(), free_port());
    // Slow the emulators a little, so kills land in the middle of applies.
    let _sandbox = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_kcf"))
            .args([
                "sandbox",
                "--seed",
                "small",
                "--faults",
                "latency=15ms",
                "--bigcommerce-quota",
                "0",
            ])
            .args([
                "--acumatica-port",
                &acu.to_string(),
                "--bigcommerce-port",
                &bc.to_string(),
                "--shopify-port",
                &free_port().to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let config = connector_config(dir, api, acu, bc, 4);
    migrate(db);
    let _api = serve(&config, db, "api");
    let mut workers = [serve(&config, db, "worker"), serve(&config, db, "worker")];
    let url = format!("http://127.0.0.1:{api}");
    let http = reqwest::Client::new();
    wait_ready(&http, &url, "the api never became ready").await;
    let r = http
        .post(format!("{url}/api/v1/connectors/shop/realtime"))
        .bearer_auth(TOKEN)
        .json(&json!({ "webhook_url": format!("{url}/webhooks/bigcommerce/shop") }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // Orders arrive while workers die.
    let store = format!("http://127.0.0.1:{bc}/stores/sandbox");
    let products: Value = http
        .get(format!("{store}/v3/catalog/products?limit=10"))
        .header("X-Auth-Token", "sandbox")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let products = products["data"].as_array().unwrap().clone();
    let mut seed: u64 = 0x6b63_6620_6372_6173;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        seed >> 33
    };
    let mut kills = 0;
    let mut order_ids = Vec::new();
    let mut last_kill = Instant::now();
    let started = Instant::now();
    let mut placed = 0;
    loop {
        if placed < ORDERS {
            let p = &products[placed % products.len()];
            let order: Value = http
                .post(format!("{store}/v2/orders"))
                .header("X-Auth-Token", "sandbox")
                .json(&json!({
                    "customer_id": 0, "status_id": 11,
                    "billing_address": { "first_name": "C", "last_name": "K", "street_1": "1 Main",
                        "city": "Austin", "state": "Texas", "zip": "78701", "country": "United States",
                        "country_iso2": "US", "email": format!("crash{}@example.com", placed % 7) },
                    "products": [{ "product_id": p["id"], "quantity": 1 }],
                }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            order_ids.push(order["id"].as_u64().unwrap());
            placed += 1;
        }
        if last_kill.elapsed() >= Duration::from_millis(150 + next() % 200) {
            let victim = (next() % 2) as usize;
            let _ = workers[victim].0.kill();
            let _ = workers[victim].0.wait();
            // Nothing cleans up after the killed worker: it never signs out. Its Acumatica
            // session is kcf's one kept session, which its replacement and the survivor
            // resume, so the license's four API-user slots never fill.
            workers[victim] = serve(&config, db, "worker");
            kills += 1;
            last_kill = Instant::now();
        }
        if placed >= ORDERS && kills >= 50 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "soak took too long"
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
    }

    // Kills stop; the survivors (and the reaper, once leases run out) drain the queue.
    let acu_url = format!("http://127.0.0.1:{acu}");
    let erp = erp_session(&acu_url).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let counts = loop {
        let counts: Value = http
            .get(format!("{url}/api/v1/messages/counts"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let open: u64 = counts
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| {
                matches!(
                    c["status"].as_str(),
                    Some("pending" | "processing" | "failed")
                )
            })
            .map(|c| c["count"].as_u64().unwrap())
            .sum();
        let orders: u64 = counts
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["entity"] == "order")
            .map(|c| c["count"].as_u64().unwrap())
            .sum();
        if open == 0 && orders >= ORDERS as u64 {
            break counts;
        }
        assert!(
            Instant::now() < deadline,
            "the queue did not drain: {counts}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let stuck: Vec<&Value> = counts
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !matches!(c["status"].as_str(), Some("processed" | "filtered")))
        .collect();
    if !stuck.is_empty() {
        let failed: Value = http
            .get(format!(
                "{url}/api/v1/messages?status=aborted,invalid&limit=3"
            ))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        panic!("every message processed: {counts}\n{failed:#}");
    }

    let sales: Value = erp
        .get(format!(
            "{acu_url}/entity/Default/24.200.001/SalesOrder?$select=OrderNbr,ExternalRef"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for id in &order_ids {
        let n = sales
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["ExternalRef"]["value"].as_str() == Some(id.to_string().as_str()))
            .count();
        assert_eq!(
            n, 1,
            "store order {id} is in the ERP exactly once (kills: {kills})"
        );
    }
    // The kills left nothing held in the ERP: kcf's processes share one kept session (the
    // test's own is the other one).
    let live: Value = http
        .get(format!("{acu_url}/_sandbox/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sessions = live["sessions"].as_u64().unwrap();
    assert!(
        sessions <= 3,
        "{kills} kills left {sessions} Acumatica sessions open: {live}"
    );
    common::report(
        &format!(
            "{}_workers_killed_at_random_lose_and_duplicate_nothing",
            if db.starts_with("sqlite") {
                "sqlite"
            } else {
                "postgres"
            }
        ),
        &format!(
            "{ORDERS} store orders, {kills} worker kills (SIGKILL): 0 lost, 0 duplicated, \
             nothing left Processing, {sessions} ERP sessions open"
        ),
    );
}
