//! `kcf up` as a user runs it, driven through the sandboxes' public APIs and kcf's CLI: the
//! initial sync finishes, a batch window lists exactly what changed with the grid's columns
//! and processes it, and SIGTERM stops it cleanly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

mod common;

use common::{KillOnDrop, erp_session, free_port, terminate, wait_ready};

fn kcf(url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kcf"))
        .args(args)
        .env("KCF_URL", url)
        .env("KCF_TOKEN", "up-test-token")
        .output()
        .unwrap()
}

/// `GET {url}/api/v1{path}` with the test's token, as JSON.
async fn api_get(http: &reqwest::Client, url: &str, path: &str) -> Value {
    http.get(format!("{url}/api/v1{path}"))
        .bearer_auth("up-test-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits for `{url}/readyz` of `child`: `Err` when the process exited first.
async fn started(child: &mut KillOnDrop, http: &reqwest::Client, url: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let ready = http.get(format!("{url}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            return Ok(());
        }
        if let Some(status) = child.0.try_wait().unwrap() {
            return Err(format!("exited with {status} before it was ready"));
        }
        assert!(Instant::now() < deadline, "kcf up never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn counts(http: &reqwest::Client, url: &str) -> Vec<(String, String, u64)> {
    api_get(http, url, "/messages/counts")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["entity"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
                c["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_syncs_and_the_batch_commands_work() {
    kcf_sandbox::install_crypto_provider();
    let dir = std::env::temp_dir().join(format!("kcf-up-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let http = reqwest::Client::new();
    // Ports picked free can be taken before kcf binds them (by another test's outgoing
    // connection on a busy machine): kcf up then exits at once, and is started again on
    // other ports.
    let mut attempt = 0;
    let (mut child, [api, acu, bc, _shop]) = loop {
        attempt += 1;
        let ports = [free_port(), free_port(), free_port(), free_port()];
        let [api, acu, bc, shop] = ports;
        let mut child = KillOnDrop(
            Command::new(env!("CARGO_BIN_EXE_kcf"))
                .args(["up", "--seed", "small", "--api-token", "up-test-token"])
                .arg("--data-dir")
                .arg(&dir)
                .args(["--port", &api.to_string()])
                .args(["--acumatica-port", &acu.to_string()])
                .args(["--bigcommerce-port", &bc.to_string()])
                .args(["--shopify-port", &shop.to_string()])
                .env("KCF_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        match started(&mut child, &http, &format!("http://127.0.0.1:{api}")).await {
            Ok(()) => break (child, ports),
            Err(e) if attempt < 3 => {
                eprintln!("kcf up, attempt {attempt}: {e}; again on other ports");
                let _ = std::fs::remove_dir_all(&dir);
            }
            Err(e) => panic!("kcf up: {e}"),
        }
    };
    let url = format!("http://127.0.0.1:{api}");
    let acu_url = format!("http://127.0.0.1:{acu}");
    let bc_url = format!("http://127.0.0.1:{bc}");
    let started = Instant::now();
    // The initial sync: 50 products, 10 categories and the rest, within the store's budget
    // of 150 requests / 30 s (so it may take more than one window).
    loop {
        let c = counts(&http, &url).await;
        let open = c
            .iter()
            .filter(|(_, s, _)| matches!(s.as_str(), "pending" | "processing" | "failed"))
            .count();
        let products: u64 = c
            .iter()
            .filter(|(e, s, _)| e == "product" && s == "processed")
            .map(|(.., n)| *n)
            .sum();
        if open == 0 && products >= 50 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "initial sync: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let bad: Vec<_> = counts(&http, &url)
        .await
        .into_iter()
        .filter(|(_, s, _)| s != "processed" && s != "filtered")
        .collect();
    assert!(bad.is_empty(), "{bad:?}");

    // Product: auto-process and real-time off, so a batch window decides.
    let patch = http
        .patch(format!("{url}/api/v1/connectors/sandbox/entities/product"))
        .bearer_auth("up-test-token")
        .json(&json!({ "auto_process": false, "realtime": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 200);
    let erp = erp_session(&acu_url).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let from = jiff::Timestamp::now();
    for n in 1..=3 {
        let r = erp
            .put(format!("{acu_url}/entity/Default/24.200.001/StockItem"))
            .json(&json!({
                "InventoryID": { "value": format!("UPTEST-{n}") },
                "Description": { "value": format!("Up test item {n}") },
                "DefaultPrice": { "value": 9.5 }, "ItemStatus": { "value": "Active" },
                "ItemType": { "value": "Finished Good" }, "BaseUOM": { "value": "EA" },
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    let to = jiff::Timestamp::now();
    let (from, to) = (from.to_string(), to.to_string());

    let out = kcf(
        &url,
        &["batch", "list", "product", "--from", &from, "--to", &to],
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for heading in [
        "InventoryID",
        "Description",
        "Type",
        "Item Class",
        "Default Price",
        "Item Status",
        "Last Modified On",
    ] {
        assert!(text.contains(heading), "{heading} missing:\n{text}");
    }
    for n in 1..=3 {
        assert!(text.contains(&format!("UPTEST-{n}")), "{text}");
    }
    assert!(text.contains("3 listed"), "{text}");
    assert!(
        text.contains(&format!(
            "kcf batch process product --from {from} --to {to} --all"
        )),
        "the hint processes exactly the window listed:\n{text}"
    );
    assert!(
        !text.contains("SKU-000001"),
        "only what changed in the window:\n{text}"
    );

    let out = kcf(
        &url,
        &[
            "batch", "process", "product", "--from", &from, "--to", &to, "--all",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("3 processed"), "{text}");
    // Manual actions on a filter follow the state machine: a processed message is refused,
    // each with the reason.
    let out = kcf(
        &url,
        &[
            "messages",
            "retry",
            "--status",
            "processed",
            "--entity",
            "product",
        ],
    );
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(
        said.contains("0 changed") && said.contains("Resync"),
        "{said}"
    );
    let out = kcf(&url, &["messages", "list", "--limit", "1"]);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(said.contains("more: add --before"), "{said}");
    for n in 1..=3 {
        let v: Value = http
            .get(format!(
                "{bc_url}/stores/sandbox/v3/catalog/products?sku=UPTEST-{n}"
            ))
            .header("X-Auth-Token", "sandbox")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            v["data"].as_array().unwrap().len(),
            1,
            "UPTEST-{n} in the store"
        );
    }

    let out = kcf(
        &url,
        &["messages", "list", "--entity", "product", "--limit", "5"],
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("UPTEST-"));

    // One message in detail, then a resync of its record.
    let page = api_get(
        &http,
        &url,
        "/messages?connector=sandbox&entity=product&text=UPTEST-1&status=processed&limit=100",
    )
    .await;
    // The oldest: the one that created the store product (later ones found it unchanged).
    let id = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|m| m["record_key"] == "UPTEST-1")
        .unwrap()["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let out = kcf(&url, &["messages", "show", &id]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("UPTEST-1") && text.contains("binding      ERP UPTEST-1 ↔ "),
        "{text}"
    );
    assert!(
        text.contains("mapped to    BigCommerce product") && text.contains("\"sku\": \"UPTEST-1"),
        "what was sent to the store: {text}"
    );
    let out = kcf(&url, &["messages", "resync", &id]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.contains(&format!("resync of message {id} queued as message")),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kcf(&url, &["messages", "show", "999999999"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("there is no message 999999999"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // SIGTERM: a clean stop.
    terminate(&mut child, "kcf up").await;

    // A restart keeps the sandbox's data (state files in the data directory) and kcf's.
    let _again = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_kcf"))
            .args(["up", "--api-token", "up-test-token", "--data-dir"])
            .arg(&dir)
            .args([
                "--port",
                &api.to_string(),
                "--acumatica-port",
                &acu.to_string(),
            ])
            .args([
                "--bigcommerce-port",
                &bc.to_string(),
                "--stores",
                "bigcommerce",
            ])
            .env("KCF_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_ready(&http, &url, "kcf up did not come back").await;
    let v: Value = http
        .get(format!(
            "{bc_url}/stores/sandbox/v3/catalog/products?sku=UPTEST-1"
        ))
        .header("X-Auth-Token", "sandbox")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["data"].as_array().unwrap().len(),
        1,
        "the store kept UPTEST-1"
    );
    let r = erp
        .get(format!(
            "{acu_url}/entity/Default/24.200.001/StockItem/UPTEST-2"
        ))
        .send()
        .await
        .unwrap();
    // A fresh emulator: sign in again (sessions are not kept), then the item is there.
    let r = if r.status() == 401 {
        erp.post(format!("{acu_url}/entity/auth/login"))
            .json(&json!({ "name": "admin", "password": "sandbox", "tenant": "Company" }))
            .send()
            .await
            .unwrap();
        erp.get(format!(
            "{acu_url}/entity/Default/24.200.001/StockItem/UPTEST-2"
        ))
        .send()
        .await
        .unwrap()
    } else {
        r
    };
    assert_eq!(r.status(), 200, "Acumatica kept UPTEST-2");
    drop(_again);
    let _ = std::fs::remove_dir_all(dir);
}

/// With the medium seed the initial sync spends the store's 150 requests / 30 s at once, and
/// listing the store's orders meets the spent budget: kcf waits for the window to reset and
/// lists them, instead of exiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_with_the_medium_seed_waits_out_the_store_budget() {
    kcf_sandbox::install_crypto_provider();
    let (api, acu, bc) = (free_port(), free_port(), free_port());
    let dir = std::env::temp_dir().join(format!("kcf-up-medium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_kcf"))
            .args(["up", "--seed", "medium", "--api-token", "up-test-token"])
            .arg("--data-dir")
            .arg(&dir)
            .args(["--port", &api.to_string()])
            .args(["--acumatica-port", &acu.to_string()])
            .args([
                "--bigcommerce-port",
                &bc.to_string(),
                "--stores",
                "bigcommerce",
            ])
            .env("KCF_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{api}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    // Runs 1–4: categories, products, customers, then the store's orders.
    let orders = loop {
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "kcf up exited during the initial sync"
        );
        let run = http
            .get(format!("{url}/api/v1/batches/4"))
            .bearer_auth("up-test-token")
            .send()
            .await;
        if let Ok(r) = run
            && r.status() == 200
        {
            let v: Value = r.json().await.unwrap();
            if v["run"]["status"] != "listing" {
                break v;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the store's orders were never listed"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(orders["run"]["entity"], "order", "{orders}");
    assert_eq!(orders["run"]["status"], "listed", "{orders}");
    assert_eq!(orders["run"]["listed"], 500, "{orders}");
    // The budget was respected meanwhile: the store never answered kcf with a 429.
    let ledger: Vec<Value> = http
        .get(format!("http://127.0.0.1:{bc}/_sandbox/ledger?limit=20000"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let throttled = ledger.iter().filter(|e| e["status"] == 429).count();
    assert_eq!(throttled, 0, "requests over the store's budget");
    assert!(child.0.try_wait().unwrap().is_none(), "still running");
    terminate(&mut child, "kcf up --seed medium").await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_a_configured_connector_against_real_endpoints() {
    kcf_sandbox::install_crypto_provider();
    let (api, acu, bc) = (free_port(), free_port(), free_port());
    let dir = std::env::temp_dir().join(format!("kcf-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The "real endpoints" are the emulators, run as their own process.
    let _sandbox = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_kcf"))
            .args(["sandbox", "--seed", "small"])
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
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:{api}"
api_tokens = ["serve-token"]

[[connectors]]
id = "shop"
[connectors.acumatica]
base_url = "http://127.0.0.1:{acu}"
[connectors.acumatica.auth]
kind = "cookie"
username = "admin"
password = "sandbox"
tenant = "Company"
[connectors.bigcommerce]
base_url = "http://127.0.0.1:{bc}"
store_hash = "sandbox"
access_token = "sandbox"
[connectors.ingress]
push_secret = "push-secret-1"
webhook_secret = "hook-secret-1"
signing_secret = "sandbox-client-secret"
"#
    );
    let file = dir.join("kcf.toml");
    std::fs::write(&file, config).unwrap();
    let db = format!("sqlite://{}", dir.join("kcf.db").display());
    let mut serve = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_kcf"))
            .arg("--config")
            .arg(&file)
            .args(["serve", "--database-url", &db])
            .env("KCF_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{api}");
    let acu_url = format!("http://127.0.0.1:{acu}");
    let http = reqwest::Client::new();
    wait_ready(&http, &url, "kcf serve never became ready").await;
    // The generated admin password is in a file only this user reads, and it signs in.
    let password_file = dir.join("admin-password");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&password_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }
    let password = std::fs::read_to_string(&password_file).unwrap();
    let signed_in = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{url}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        // Generated passwords are letters and digits: nothing to encode.
        .body(format!(
            "username=admin&password={}&next=/",
            password.trim_end()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    // What a merchant does in Acumatica (SM302000), and "Start real-time" for the store.
    let r = http
        .put(format!("{acu_url}/_sandbox/push/destinations"))
        .json(
            &json!([{ "name": "kcf", "address": format!("{url}/push/acumatica/shop"),
            "header_name": "X-KCF-Push-Secret", "header_value": "push-secret-1" }]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(format!("{url}/api/v1/connectors/shop/realtime"))
        .bearer_auth("serve-token")
        .json(&json!({ "webhook_url": format!("{url}/webhooks/bigcommerce/shop") }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    let erp = erp_session(&acu_url).await;
    let r = erp
        .put(format!("{acu_url}/entity/Default/24.200.001/StockItem"))
        .json(
            &json!({ "InventoryID": { "value": "SERVE-1" }, "Description": { "value": "Served" },
            "DefaultPrice": { "value": 3.0 }, "ItemStatus": { "value": "Active" } }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let v: Value = http
            .get(format!(
                "http://127.0.0.1:{bc}/stores/sandbox/v3/catalog/products?sku=SERVE-1"
            ))
            .header("X-Auth-Token", "sandbox")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["data"].as_array().is_some_and(|a| a.len() == 1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stock item never reached the store"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = serve.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = serve.0.try_wait().unwrap() {
            assert!(status.success(), "kcf serve exited with {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "kcf serve did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = std::fs::remove_dir_all(dir);
}
