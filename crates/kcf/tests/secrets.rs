//! No secret in any log, at any level: `kcf serve` runs with `KCF_LOG=trace` (every level of
//! every crate, kcf's and its libraries') and canary secrets in every place a secret enters:
//! the connector's ERP password and store token in the configuration file, its push and
//! webhook secrets, an API token, the admin password and the credentials key from the
//! environment, and a new ERP password and store token typed into the settings screen and sent
//! through the API. The test then uses each one (sign-ins refused and accepted, notifications,
//! API calls, Test Connection, the workers calling both systems with the wrong credentials),
//! and reads everything the process wrote: no canary, nor its base64 or URL-encoded form.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use base64::Engine as _;
use common::{KillOnDrop, free_port, migrate, wait_ready};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_no_secret_reaches_the_log_at_trace_level() {
    common::on_scratch_db("sqlite", "canary", |dir, db| async move {
        canaries(&dir, &db, "sqlite").await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_no_secret_reaches_the_log_at_trace_level() {
    common::on_scratch_db("postgres", "canary", |dir, db| async move {
        canaries(&dir, &db, "postgres").await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_key_that_does_not_open_the_stored_settings_is_refused() {
    common::on_scratch_db("sqlite", "key", |dir, db| async move {
        wrong_key(&dir, &db, "sqlite").await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_key_that_does_not_open_the_stored_settings_is_refused() {
    common::on_scratch_db("postgres", "key", |dir, db| async move {
        wrong_key(&dir, &db, "postgres").await
    })
    .await;
}

/// `kcf serve` with `key` (none: the key file next to the config); `Ok(stderr)` when it
/// refused to start, `Err(())` when it served (then stopped).
async fn start_with(
    dir: &Path,
    db: &str,
    api: u16,
    key: Option<&str>,
    extra: &[&str],
) -> Result<String, ()> {
    let err = dir.join("serve.err");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kcf"));
    cmd.arg("--config")
        .arg(dir.join("kcf.toml"))
        .args(["serve", "--database-url", db])
        .args(extra)
        .env("KCF_LOG", "warn")
        .env_remove("KCF_SECRET_KEY")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap());
    if let Some(key) = key {
        cmd.env("KCF_SECRET_KEY", key);
    }
    let mut child = KillOnDrop(cmd.spawn().unwrap());
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            assert!(!status.success(), "kcf serve exited successfully");
            return Ok(std::fs::read_to_string(&err).unwrap_or_default());
        }
        let ready = http
            .get(format!("http://127.0.0.1:{api}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ready || Instant::now() > deadline {
            common::terminate(&mut child, "kcf serve").await;
            return Err(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A key that is not the one the stored settings were sealed with (another key in the
/// environment, or the key file gone) is refused at start with a message that says so and
/// what to do, and nothing is sealed again under it; the right key starts; `--reseal` is the
/// explicit way past a lost key.
async fn wrong_key(dir: &Path, db: &str, backend: &str) {
    kcf_sandbox::install_crypto_provider();
    let api = free_port();
    std::fs::write(
        dir.join("kcf.toml"),
        format!(
            r#"
[server]
listen = "127.0.0.1:{api}"
[[connectors]]
id = "shop"
[connectors.acumatica]
base_url = "http://127.0.0.1:9"
[connectors.acumatica.auth]
kind = "cookie"
username = "admin"
password = "{ERP_PASSWORD}"
tenant = "Company"
[connectors.bigcommerce]
base_url = "http://127.0.0.1:9"
store_hash = "sandbox"
access_token = "{STORE_TOKEN}"
"#
        ),
    )
    .unwrap();
    let key = |b: u8| base64::engine::general_purpose::STANDARD.encode([b; 32]);
    let (right, other) = (key(1), key(2));
    migrate(db);
    // The first start seals the connector's settings under the right key.
    assert!(
        start_with(dir, db, api, Some(&right), &[]).await.is_err(),
        "the first start serves"
    );
    let mut refusals = 0;
    for (what, k) in [
        ("another key", Some(other.as_str())),
        ("no key (the file gone)", None),
    ] {
        let said = start_with(dir, db, api, k, &[])
            .await
            .unwrap_or_else(|()| panic!("{backend}: kcf started with {what}"));
        assert!(
            said.contains("does not open the stored settings of connector shop")
                && said.contains("--reseal"),
            "{what}: {said}"
        );
        assert!(
            !said.contains(&right) && !said.contains(&other),
            "a key in the message"
        );
        refusals += 1;
    }
    // Nothing was sealed again under the wrong keys: the right one still opens them.
    assert!(
        start_with(dir, db, api, Some(&right), &[]).await.is_err(),
        "the right key starts"
    );
    // A lost key: --reseal starts with another one, and from then on that one is the key.
    assert!(
        start_with(dir, db, api, Some(&other), &["--reseal"])
            .await
            .is_err()
    );
    assert!(start_with(dir, db, api, Some(&other), &[]).await.is_err());
    assert!(
        start_with(dir, db, api, Some(&right), &[]).await.is_ok(),
        "the old key is refused now"
    );
    common::report(
        &format!("{backend}_a_key_that_does_not_open_the_stored_settings_is_refused"),
        &format!(
            "{refusals} starts with a key that is not the sealing one (another key, the key file \
             gone) refused with what to do; the right key starts after them; --reseal moves to \
             a new key"
        ),
    );
}

/// The canaries, each unlike anything else the process could print.
const ERP_PASSWORD: &str = "canary-erp-password-7f3a91";
const STORE_TOKEN: &str = "canary-store-token-2b8e44";
const PUSH_SECRET: &str = "canary-push-secret-91c0d2";
const WEBHOOK_SECRET: &str = "canary-webhook-secret-5e77a1";
const API_TOKEN: &str = "canary-api-token-c4d210";
const ADMIN_PASSWORD: &str = "canary-admin-password-88f1b3";
const SCREEN_PASSWORD: &str = "canary-screen-password-0a9d5c";
const SCREEN_TOKEN: &str = "canary-screen-token-e61f08";
const API_PASSWORD: &str = "canary-api-password-3c5b7e";

async fn canaries(dir: &Path, db: &str, backend: &str) {
    kcf_sandbox::install_crypto_provider();
    let (api, acu, bc) = (free_port(), free_port(), free_port());
    let _sandbox = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_kcf"))
            .args(["sandbox", "--seed", "small"])
            .args(["--acumatica-port", &acu.to_string()])
            .args(["--bigcommerce-port", &bc.to_string()])
            .args(["--shopify-port", &free_port().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let config = dir.join("kcf.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:{api}"
api_tokens = ["{API_TOKEN}"]
[retry]
base_ms = 100
cap_ms = 1000
[[connectors]]
id = "shop"
[connectors.acumatica]
base_url = "http://127.0.0.1:{acu}"
[connectors.acumatica.auth]
kind = "cookie"
username = "admin"
password = "{ERP_PASSWORD}"
tenant = "Company"
[connectors.bigcommerce]
base_url = "http://127.0.0.1:{bc}"
store_hash = "sandbox"
access_token = "{STORE_TOKEN}"
[connectors.ingress]
push_secret = "{PUSH_SECRET}"
webhook_secret = "{WEBHOOK_SECRET}"
"#
        ),
    )
    .unwrap();
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    migrate(db);
    let log = dir.join("kcf.log");
    let mut server = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_kcf"))
            .arg("--config")
            .arg(&config)
            .args(["serve", "--database-url", db])
            .env("KCF_LOG", "trace")
            .env("KCF_SECRET_KEY", &key)
            .env("KCF_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.join("kcf.err")).unwrap())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{api}");
    let http = reqwest::Client::new();
    wait_ready(&http, &url, "kcf serve").await;

    // The API token, right and wrong.
    for token in [API_TOKEN, "not-the-token"] {
        http.get(format!("{url}/api/v1/connectors"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
    }
    // A push notification with the secret, and one with a wrong one.
    for secret in [PUSH_SECRET, "not-the-secret"] {
        http.post(format!("{url}/push/acumatica/shop"))
            .header("X-KCF-Push-Secret", secret)
            .json(&json!({
                "Query": "StockItems", "CompanyId": "Company", "Id": format!("canary-{secret}"),
                "TimeStamp": 1, "Inserted": [{ "InventoryID": "CANARY-1", "Description": "c" }],
                "Deleted": [],
            }))
            .send()
            .await
            .unwrap();
    }
    // A webhook with the custom header.
    http.post(format!("{url}/webhooks/bigcommerce/shop"))
        .header("X-KCF-Webhook-Secret", WEBHOOK_SECRET)
        .json(
            &json!({ "scope": "store/order/created", "store_id": "1", "hash": "canary-hook",
            "created_at": 1, "producer": "stores/sandbox", "data": { "type": "order", "id": 1 } }),
        )
        .send()
        .await
        .unwrap();
    // Sign in to the workspace with the admin password (and a wrong one), then type new
    // credentials into the settings screen and press Test.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for password in ["wrong-password", ADMIN_PASSWORD] {
        browser
            .post(format!("{url}/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            // The canaries need no URL-encoding.
            .body(format!("username=admin&password={password}"))
            .send()
            .await
            .unwrap();
    }
    let screen = browser
        .post(format!("{url}/connectors/shop/settings/connection"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "acumatica_password={SCREEN_PASSWORD}&access_token={SCREEN_TOKEN}&op=test"
        ))
        .send()
        .await
        .unwrap();
    assert!(
        screen.status().is_success() || screen.status().is_redirection(),
        "the settings screen: {}",
        screen.status()
    );
    // The same through the API: Test Connection with a new password, then saved.
    let tested = http
        .post(format!("{url}/api/v1/connectors/shop/test"))
        .bearer_auth(API_TOKEN)
        .json(&json!({ "acumatica_password": API_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(tested.status(), 200, "{}", tested.text().await.unwrap());
    let saved = http
        .patch(format!("{url}/api/v1/connectors/shop/connection"))
        .bearer_auth(API_TOKEN)
        .json(&json!({ "acumatica_password": API_PASSWORD, "access_token": SCREEN_TOKEN }))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    // The workers call both systems with the wrong credentials for a while: sign-ins refused,
    // retried, outages recorded.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("refused the sign-in") || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    common::terminate(&mut server, "kcf serve").await;

    let mut written = std::fs::read(&log).unwrap();
    written.extend(std::fs::read(dir.join("kcf.err")).unwrap());
    let text = String::from_utf8_lossy(&written);
    let lines = text.lines().count();
    assert!(
        lines > 200,
        "a trace log of {lines} lines is too short to mean anything"
    );
    for (what, needle) in [
        ("TRACE", "TRACE"),
        ("the ERP refusing the sign-in", "refused the sign-in"),
    ] {
        assert!(text.contains(needle), "the log does not show {what}");
    }
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut found = Vec::new();
    for secret in [
        ERP_PASSWORD,
        STORE_TOKEN,
        PUSH_SECRET,
        WEBHOOK_SECRET,
        API_TOKEN,
        ADMIN_PASSWORD,
        SCREEN_PASSWORD,
        SCREEN_TOKEN,
        API_PASSWORD,
        &key,
    ] {
        // The secret itself, its base64 (Basic auth), and a prefix of it long enough to be
        // recognised (a log that cuts values short still leaks them).
        for form in [
            secret.to_owned(),
            b64(secret),
            secret[..secret.len() - 4].to_owned(),
        ] {
            if text.contains(&form) {
                found.push(form);
            }
        }
    }
    assert!(
        found.is_empty(),
        "secrets in the {backend} trace log: {found:?}"
    );
    common::report(
        &format!("{backend}_no_secret_reaches_the_log_at_trace_level"),
        &format!(
            "10 canary secrets (config file, environment, settings screen, API) used for {lines} \
             lines of trace-level log: none there in plain text, base64 or cut short"
        ),
    );
}
