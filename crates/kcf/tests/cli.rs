//! The `kcf` binary, run as a user would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Output};

use common::KillOnDrop;

fn kcf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kcf"))
        .args(args)
        .env_remove("KCF_DATABASE_URL")
        .output()
        .expect("run kcf")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kcf-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn version_is_printed() {
    let out = kcf(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        text(&out).trim(),
        format!("kcf {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn migrate_sqlite_twice() {
    let dir = scratch_dir("migrate");
    let url = format!("sqlite://{}", dir.join("kcf.db").display());
    for _ in 0..2 {
        let out = kcf(&["migrate", "--database-url", &url]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("Sqlite store at"), "{}", text(&out));
    }
    assert!(dir.join("kcf.db").exists());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn migrate_postgres_twice() {
    let admin = std::env::var("KCF_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("kcf_cli_{}", std::process::id());
    let psql = |sql: &str| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use sqlx::{Connection, Executor};
            let mut c = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                panic!("PostgreSQL is not reachable at {admin}: {e}; start it or set KCF_TEST_POSTGRES_URL")
            });
            c.execute(sqlx::AssertSqlSafe(sql.to_owned())).await.unwrap();
        });
    };
    psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    psql(&format!("CREATE DATABASE {name}"));
    let base = admin.rsplit_once('/').unwrap().0;
    let url = format!("{base}/{name}");
    for _ in 0..2 {
        let out = kcf(&["migrate", "--database-url", &url]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("Postgres store at"), "{}", text(&out));
    }
    psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}

#[test]
fn prune_runs_with_the_configured_retention() {
    let dir = scratch_dir("prune");
    let url = format!("sqlite://{}", dir.join("kcf.db").display());
    let out = kcf(&["prune", "--database-url", &url, "--older-than-days", "0"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("pruned 0 finished messages older than 0 days"),
        "{}",
        text(&out)
    );
    let out = kcf(&["prune", "--database-url", &url]);
    assert!(
        text(&out).contains("older than 30 days"),
        "default from retention.finished_days"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_unopenable_sqlite_path_names_the_setting() {
    let out = kcf(&[
        "migrate",
        "--database-url",
        // kcf migrate makes a missing directory; none can be made under /proc.
        "sqlite:///proc/kcf-nonexistent-dir/kcf.db",
    ]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("cannot open the SQLite store at /proc/kcf-nonexistent-dir/kcf.db"),
        "{t}"
    );
    assert!(t.contains("database_url"), "{t}");
    assert!(t.contains("directory exists"), "{t}");
}

#[test]
fn postgres_down_fails_fast_with_a_hint() {
    let started = std::time::Instant::now();
    let out = kcf(&[
        "migrate",
        "--database-url",
        "postgres://kcf:secret@127.0.0.1:1/kcf",
    ]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("cannot open the PostgreSQL store at postgres://kcf:***@127.0.0.1:1/kcf"),
        "{t}"
    );
    assert!(t.contains("Is PostgreSQL running"), "{t}");
    assert!(
        !t.contains("secret"),
        "the password must not be printed: {t}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn bad_configuration_is_explained() {
    let dir = scratch_dir("config");
    let file = dir.join("kcf.toml");
    std::fs::write(&file, "database_url = \"mysql://x/y\"\n").unwrap();
    let out = kcf(&["--config", file.to_str().unwrap(), "migrate"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("unknown scheme"), "{}", text(&out));
    std::fs::write(&file, "[store]\nmax_connection = 3\n").unwrap();
    let out = kcf(&["--config", file.to_str().unwrap(), "migrate"]);
    assert!(text(&out).contains("max_connection"), "{}", text(&out));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn remote_commands_and_serve_say_what_is_missing() {
    let out = kcf(&["serve"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("no connectors configured"),
        "{}",
        text(&out)
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kcf"))
        .args(["messages", "list"])
        .env_remove("KCF_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("API token is needed"), "{}", text(&out));
    let out = kcf(&["batch", "list"]);
    assert_eq!(out.status.code(), Some(2), "clap usage error");
}

#[test]
fn sandbox_serves_both_emulators_until_stopped() {
    use std::io::{BufRead, BufReader};
    kcf_sandbox::install_crypto_provider();
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (port, acu_port, shop_port) = (free_port(), free_port(), free_port());
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_kcf"))
            .args(["sandbox", "--seed", "small"])
            .args([
                "--bigcommerce-port",
                &port.to_string(),
                "--acumatica-port",
                &acu_port.to_string(),
                "--shopify-port",
                &shop_port.to_string(),
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start kcf sandbox"),
    );
    let mut reader = BufReader::new(child.0.stdout.take().unwrap());
    let (mut first, mut second, mut third) = (String::new(), String::new(), String::new());
    reader.read_line(&mut first).unwrap();
    reader.read_line(&mut second).unwrap();
    reader.read_line(&mut third).unwrap();
    assert!(
        third.contains(&format!("127.0.0.1:{shop_port}/admin/api/")),
        "{third}"
    );
    assert!(
        first.contains(&format!("127.0.0.1:{port}/stores/sandbox/v3")),
        "{first}"
    );
    assert!(
        second.contains(&format!("127.0.0.1:{acu_port}/entity/Default/24.200.001")),
        "{second}"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (total, endpoint) = rt.block_on(async {
        let http = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}/stores/sandbox/v3/catalog/products");
        let products: serde_json::Value = http
            .get(url)
            .header("X-Auth-Token", "sandbox")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let url = format!("http://127.0.0.1:{acu_port}/entity");
        let endpoints: serde_json::Value =
            http.get(url).send().await.unwrap().json().await.unwrap();
        (
            products["meta"]["pagination"]["total"].as_u64(),
            endpoints["endpoints"][0]["name"].clone(),
        )
    });
    assert_eq!(total, Some(50));
    assert_eq!(endpoint, "Default");
    drop(reader);
}

#[test]
fn sandbox_refuses_bad_flags_clearly() {
    let out = kcf(&["sandbox", "--seed", "huge"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("seed 'huge' is not small, medium, large"),
        "{}",
        text(&out)
    );
    let out = kcf(&["sandbox", "--faults", "error_rate=3"]);
    assert!(text(&out).contains("between 0 and 1"), "{}", text(&out));
}
