//! Helpers for tests that run the `kcf` binary as separate processes.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::json;

/// Kills the child process however the test ends, so no orphan keeps the test's pipes open.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[allow(unused_imports)]
pub use kcf_testkit::report;

/// Runs one SQL statement on the PostgreSQL admin connection (to make or drop a scratch
/// database), failing with a clear message when the server is not there.
pub async fn psql(sql: &str) {
    use sqlx::{Connection, Executor};
    let admin = kcf_testkit::postgres_admin_url();
    let mut c = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {admin}: {e}; start it or set KCF_TEST_POSTGRES_URL"
            )
        });
    c.execute(sqlx::AssertSqlSafe(sql.to_owned()))
        .await
        .unwrap();
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `kcf ARGS…` quietly.
pub fn spawn_kcf(args: &[&str]) -> KillOnDrop {
    KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_kcf"))
            .args(args)
            .env("KCF_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// Waits until `{url}/readyz` answers 200.
pub async fn wait_ready(http: &reqwest::Client, url: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while http
        .get(format!("{url}/readyz"))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "{what} never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends SIGTERM and expects a clean exit within 30 s.
pub async fn terminate(child: &mut KillOnDrop, what: &str) {
    let pid = child.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            assert!(status.success(), "{what} exited with {status}");
            return;
        }
        assert!(Instant::now() < deadline, "{what} did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A cookie session on the Acumatica sandbox at `acu_url`, signing in again as a real client
/// would while the license is full.
pub async fn erp_session(acu_url: &str) -> reqwest::Client {
    // Waits (up to a minute) while the license's sessions are all taken: killed workers'
    // sessions are freed only by the ERP's idle timeout.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let erp = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let login = erp
            .post(format!("{acu_url}/entity/auth/login"))
            .json(&json!({ "name": "admin", "password": "sandbox", "tenant": "Company" }))
            .send()
            .await;
        match login {
            Ok(r) if r.status() == 204 => return erp,
            other => {
                let why = other.map_or_else(|e| e.to_string(), |r| r.status().to_string());
                assert!(
                    Instant::now() < deadline,
                    "cannot sign in to the ERP: {why}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// The API token of [`connector_config`]'s server.
pub const TOKEN: &str = "multi-process-token";
/// The push secret of [`connector_config`]'s connector.
pub const PUSH_SECRET: &str = "multi-process-push";

/// Writes `dir/kcf.toml`: the api on `api`, and one connector `shop` from the Acumatica
/// emulator on `acu` to the BigCommerce emulator on `bc` (no quota), with leases of 5 s and
/// quick retries, so processes killed or frozen are noticed within seconds.
pub fn connector_config(
    dir: &std::path::Path,
    api: u16,
    acu: u16,
    bc: u16,
    concurrency: usize,
) -> std::path::PathBuf {
    let config = dir.join("kcf.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:{api}"
api_tokens = ["{TOKEN}"]
[worker]
concurrency = {concurrency}
loops = 1
lease_secs = 5
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
password = "sandbox"
tenant = "Company"
[connectors.bigcommerce]
base_url = "http://127.0.0.1:{bc}"
store_hash = "sandbox"
access_token = "sandbox"
quota = 100000
[connectors.ingress]
push_secret = "{PUSH_SECRET}"
webhook_secret = "multi-process-hook"
"#
        ),
    )
    .unwrap();
    config
}

/// Starts `kcf serve --role ROLE` with `config` on database `db`.
pub fn serve(config: &std::path::Path, db: &str, role: &str) -> KillOnDrop {
    KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_kcf"))
            .arg("--config")
            .arg(config)
            .args(["serve", "--role", role, "--database-url", db])
            .env("KCF_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// `kcf migrate` on database `db`.
pub fn migrate(db: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_kcf"))
        .args(["migrate", "--database-url", db])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `body(dir, database_url)` on a scratch database of `backend`: a fresh temporary
/// directory, holding the SQLite file, or a fresh PostgreSQL database named after `name`;
/// both removed afterwards (left behind if the body panics, for a look).
pub async fn on_scratch_db<F, Fut>(backend: &str, name: &str, body: F)
where
    F: FnOnce(std::path::PathBuf, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let id = std::process::id();
    let dir = std::env::temp_dir().join(format!("kcf-{name}-{backend}-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    match backend {
        "sqlite" => {
            let db = format!("sqlite://{}", dir.join("kcf.db").display());
            body(dir.clone(), db).await;
        }
        _ => {
            let database = format!("kcf_{name}_{id}");
            psql(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await;
            psql(&format!("CREATE DATABASE {database}")).await;
            let admin = kcf_testkit::postgres_admin_url();
            let db = format!("{}/{database}", admin.rsplit_once('/').unwrap().0);
            body(dir.clone(), db).await;
            psql(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await;
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}
