//! "Acknowledged means durable", with real processes: the api process dies at each point of
//! the ingress path (before the commit; after the commit and before the reply; after the
//! reply), is started again, and the sender does what a sender does (retries what it got no
//! 2xx for, and may resend what it did). Afterwards the notification is stored exactly once:
//! nothing acknowledged is lost, and dedup holds across the restart. On SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    process::{Command, Stdio},
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

async fn acknowledged_means_durable(db: &str, dir: &std::path::Path, point: Point) -> String {
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
    let url = format!("http://127.0.0.1:{port}");
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
