//! "Acknowledged means durable", with real processes: the api process dies at each point of
//! the ingress path (before the commit; after the commit and before the reply; after the
//! reply), is started again, and the sender does what a sender does (retries what it got no
//! 2xx for, and may resend what it did). Afterwards the notification is stored exactly once:
//! nothing acknowledged is lost, and dedup holds across the restart. On SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeSet,
    process::{Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};

mod common;

use common::{KillOnDrop, free_port, psql, wait_ready};

const TOKEN: &str = "ack-token";
const PUSH_SECRET: &str = "ack-push";

/// Where the api dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Point {
    BeforeCommit,
    AfterCommit,
    AfterReply,
}

impl Point {
    fn name(self) -> &'static str {
        match self {
            Self::BeforeCommit => "ingress-before-commit",
            Self::AfterCommit => "ingress-after-commit",
            Self::AfterReply => "ingress-after-reply",
        }
    }
}

fn api(config: &std::path::Path, db: &str, crash_at: Option<Point>) -> KillOnDrop {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kcf"));
    cmd.arg("--config")
        .arg(config)
        .args(["serve", "--role", "api", "--database-url", db])
        .env("KCF_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(p) = crash_at.filter(|p| *p != Point::AfterReply) {
        cmd.env("KCF_CRASH_AT", p.name());
    }
    KillOnDrop(cmd.spawn().unwrap())
}

/// A push notification of one stock item (the same bytes every time it is sent).
fn notification() -> String {
    json!({
        "Inserted": [{ "InventoryID": "ACK-1", "Description": "Ack", "ItemStatus": "Active", "DefaultPrice": 1 }],
        "Deleted": [], "Query": "Stock Items: Last Modified Date", "CompanyId": "Company",
        "Id": "7f3c8a52-0000-4000-8000-00000000ack1", "TimeStamp": 1, "AdditionalInfo": {},
    })
    .to_string()
}

async fn send(http: &reqwest::Client, url: &str) -> Option<u16> {
    http.post(format!("{url}/push/acumatica/shop"))
        .header("X-KCF-Push-Secret", PUSH_SECRET)
        .header("content-type", "application/json")
        .body(notification())
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

async fn stored(http: &reqwest::Client, url: &str) -> usize {
    let page: Value = http
        .get(format!("{url}/api/v1/messages?connector=shop&limit=100"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["items"].as_array().map_or(0, Vec::len)
}

/// Waits for the process to end by itself (it aborts at its crash point).
async fn died(child: &mut KillOnDrop) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if child.0.try_wait().unwrap().is_some() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Writes the api's config and migrates `db`; the config file and the api's URL.
fn set_up(db: &str, dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let port = free_port();
    let config = dir.join("kcf.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:{port}"
api_tokens = ["{TOKEN}"]
[[connectors]]
id = "shop"
[connectors.acumatica]
base_url = "http://127.0.0.1:9"
[connectors.acumatica.auth]
kind = "cookie"
username = "admin"
password = "sandbox"
tenant = "Company"
[connectors.bigcommerce]
base_url = "http://127.0.0.1:9"
store_hash = "sandbox"
access_token = "sandbox"
[connectors.ingress]
push_secret = "{PUSH_SECRET}"
webhook_secret = "ack-hook"
"#
        ),
    )
    .unwrap();
    let migrate = Command::new(env!("CARGO_BIN_EXE_kcf"))
        .args(["migrate", "--database-url", db])
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    (config, format!("http://127.0.0.1:{port}"))
}

async fn acknowledged_means_durable(db: &str, dir: &std::path::Path, point: Point) -> String {
    let (config, url) = set_up(db, dir);
    let http = reqwest::Client::new();

    let mut first = api(&config, db, Some(point));
    wait_ready(&http, &url, "the api").await;
    let answer = send(&http, &url).await;
    let acked = answer.is_some_and(|s| (200..300).contains(&s));
    match point {
        Point::AfterReply => {
            assert!(acked, "{point:?}: the first send is answered: {answer:?}");
            // Dies right after the reply: SIGKILL, no shutdown.
            first.0.kill().unwrap();
            first.0.wait().unwrap();
        }
        _ => {
            assert!(!acked, "{point:?}: no reply before dying: {answer:?}");
            assert!(
                died(&mut first).await,
                "{point:?}: the api died at its point"
            );
        }
    }
    drop(first);

    let _again = api(&config, db, None);
    wait_ready(&http, &url, "the api, started again").await;
    let before_resend = stored(&http, &url).await;
    let want_before = usize::from(point != Point::BeforeCommit);
    assert_eq!(
        before_resend, want_before,
        "{point:?}: what the dead process had committed"
    );
    // The sender retries (it got no 2xx), or resends anyway: one message either way.
    assert_eq!(send(&http, &url).await, Some(200), "{point:?}: the resend");
    assert_eq!(
        send(&http, &url).await,
        Some(200),
        "{point:?}: a second resend"
    );
    assert_eq!(
        stored(&http, &url).await,
        1,
        "{point:?}: stored exactly once"
    );
    format!(
        "killed {}: first send {}, {before_resend} stored after the restart, 1 after two resends",
        point.name().trim_start_matches("ingress-"),
        if acked {
            "answered 2xx"
        } else {
            "not answered"
        },
    )
}

async fn every_point(backend: &str, db: impl Fn(Point) -> (String, Option<String>)) {
    kcf_sandbox::install_crypto_provider();
    let mut figures = Vec::new();
    for point in [Point::BeforeCommit, Point::AfterCommit, Point::AfterReply] {
        let dir = std::env::temp_dir().join(format!(
            "kcf-ack-{backend}-{}-{}",
            point.name(),
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (url, pg) = db(point);
        if let Some(name) = &pg {
            psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
            psql(&format!("CREATE DATABASE {name}")).await;
        }
        let url = url.replace("{dir}", &dir.display().to_string());
        figures.push(acknowledged_means_durable(&url, &dir, point).await);
        if let Some(name) = &pg {
            psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
        let _ = std::fs::remove_dir_all(dir);
    }
    common::report(
        &format!("{backend}_acknowledged_notifications_survive_a_kill_at_each_point"),
        &figures.join("; "),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_acknowledged_notifications_survive_a_kill_at_each_point() {
    every_point("sqlite", |_| ("sqlite://{dir}/kcf.db".into(), None)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_acknowledged_notifications_survive_a_kill_at_each_point() {
    every_point("postgres", |point| {
        let name = format!(
            "kcf_ack_{}_{}",
            point.name().replace('-', "_"),
            std::process::id()
        );
        let admin = kcf_testkit::postgres_admin_url();
        (
            format!("{}/{name}", admin.rsplit_once('/').unwrap().0),
            Some(name),
        )
    })
    .await;
}

/// A unique push notification: stock item `ACK-FLOOD-{n}`.
fn flood_notification(n: u64) -> String {
    json!({
        "Inserted": [{ "InventoryID": format!("ACK-FLOOD-{n:06}"), "Description": "Flood", "ItemStatus": "Active", "DefaultPrice": 1 }],
        "Deleted": [], "Query": "Stock Items: Last Modified Date", "CompanyId": "Company",
        "Id": format!("7f3c8a52-0000-4000-8000-{n:012}"), "TimeStamp": n, "AdditionalInfo": {},
    })
    .to_string()
}

/// Every record key stored for the connector, read page by page through the API.
async fn stored_keys(http: &reqwest::Client, url: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut before: Option<i64> = None;
    loop {
        let mut page_url = format!("{url}/api/v1/messages?connector=shop&limit=500");
        if let Some(b) = before {
            page_url.push_str(&format!("&before={b}"));
        }
        let page: Value = http
            .get(page_url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for m in page["items"].as_array().unwrap() {
            keys.insert(m["record_key"].as_str().unwrap().to_owned());
        }
        match page["next"].as_i64() {
            Some(next) => before = Some(next),
            None => return keys,
        }
    }
}

/// 32 senders push unique notifications as fast as they are answered; the api process is
/// killed (SIGKILL) in the middle of it and started again. Every notification answered 2xx
/// is stored, and text search (whose index is written after the message) finds it.
async fn flood_killed_midway(backend: &str, db: &str, dir: &std::path::Path) {
    let (config, url) = set_up(db, dir);
    let http = reqwest::Client::new();
    let mut first = api(&config, db, None);
    wait_ready(&http, &url, "the api").await;
    let next = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut senders = Vec::new();
    for _ in 0..32 {
        let (http, url, next, acked) = (http.clone(), url.clone(), next.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let answer = http
                    .post(format!("{url}/push/acumatica/shop"))
                    .header("X-KCF-Push-Secret", PUSH_SECRET)
                    .header("content-type", "application/json")
                    .body(flood_notification(n))
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status().is_success() => {
                        acked.lock().unwrap().push(format!("ACK-FLOOD-{n:06}"))
                    }
                    // The process is gone: this sender stops.
                    _ => return,
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.lock().unwrap().len() < 1_500 {
        assert!(
            Instant::now() < deadline,
            "the api took no 1,500 notifications in 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    drop(first);
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    let sent = next.load(Ordering::Relaxed);

    let _again = api(&config, db, None);
    wait_ready(&http, &url, "the api, started again").await;
    let stored = stored_keys(&http, &url).await;
    let lost: Vec<&String> = acked.iter().filter(|k| !stored.contains(*k)).collect();
    assert!(lost.is_empty(), "acknowledged and not stored: {lost:?}");
    // Search finds acknowledged ones from the start, the middle and the end of the flood.
    for key in [&acked[0], &acked[acked.len() / 2], &acked[acked.len() - 1]] {
        let page: Value = http
            .get(format!("{url}/api/v1/messages?connector=shop&text={key}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["record_key"].as_str())
            .collect();
        assert_eq!(found, [key.as_str()], "searching {key}");
    }
    common::report(
        &format!("{backend}_a_flood_killed_midway_keeps_every_acknowledged_notification"),
        &format!(
            "{} sent, {} answered 2xx before the kill, {} stored after the restart, none lost",
            sent,
            acked.len(),
            stored.len()
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_flood_killed_midway_keeps_every_acknowledged_notification() {
    kcf_sandbox::install_crypto_provider();
    common::on_scratch_db("sqlite", "ack_flood", |dir, db| async move {
        flood_killed_midway("sqlite", &db, &dir).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_flood_killed_midway_keeps_every_acknowledged_notification() {
    kcf_sandbox::install_crypto_provider();
    common::on_scratch_db("postgres", "ack_flood", |dir, db| async move {
        flood_killed_midway("postgres", &db, &dir).await;
    })
    .await;
}
