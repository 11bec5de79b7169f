//! Test support shared by kcf's crates: [`TestDb`], a fresh SQLite file or a fresh PostgreSQL
//! database for one test, removed when it is dropped, so every store test can run once per
//! backend without sharing state.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::PathBuf, sync::Arc, time::Duration};

use kcf_domain::RetryPolicy;
use kcf_store::{Store, StoreConfig};
use rand::RngExt;

/// Where the tests find PostgreSQL (an admin connection that may create databases):
/// `KCF_TEST_POSTGRES_URL`, or the machine's server on 127.0.0.1:5432.
pub fn postgres_admin_url() -> String {
    std::env::var("KCF_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A test's figures for the reliability report: printed, and when the suite runs from
/// `scripts/test.sh` (`KCF_TEST_RELIABILITY_DIR` set) appended to `{dir}/{test}.txt`, from
/// which the run regenerates `docs/RELIABILITY.md`'s summary. `test` is the name the test
/// harness prints (`postgres::faults_…`).
pub fn report(test: &str, figures: &str) {
    eprintln!("{test}: {figures}");
    let Some(dir) = std::env::var_os("KCF_TEST_RELIABILITY_DIR") else {
        return;
    };
    let _ = std::fs::create_dir_all(&dir);
    let path = std::path::Path::new(&dir).join(format!("{test}.txt"));
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        use std::io::Write as _;
        let _ = writeln!(f, "{figures}");
    }
}

/// Backoff short enough for tests that wait for retries.
pub const FAST_RETRY: RetryPolicy = RetryPolicy {
    base: Duration::from_millis(10),
    cap: Duration::from_millis(40),
};

/// A fresh database for one test.
#[derive(Debug)]
pub struct TestDb {
    /// The store on it.
    pub store: Arc<dyn Store>,
    /// How it was opened (to open another store on the same database).
    pub config: StoreConfig,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Dir(PathBuf),
    Database { admin_url: String, name: String },
}

fn unique_name() -> String {
    format!(
        "kcf_test_{}_{:08x}",
        std::process::id(),
        rand::rng().random::<u32>()
    )
}

impl TestDb {
    /// A fresh SQLite file with [`FAST_RETRY`].
    pub async fn sqlite() -> Self {
        Self::sqlite_with(FAST_RETRY).await
    }

    /// A fresh PostgreSQL database with [`FAST_RETRY`].
    pub async fn postgres() -> Self {
        Self::postgres_with(FAST_RETRY).await
    }

    /// `sqlite` or `postgres`, with this backoff.
    pub async fn open(backend: &str, retry: RetryPolicy) -> Self {
        match backend {
            "postgres" => Self::postgres_with(retry).await,
            _ => Self::sqlite_with(retry).await,
        }
    }

    /// A fresh SQLite file.
    pub async fn sqlite_with(retry: RetryPolicy) -> Self {
        let dir = std::env::temp_dir().join(unique_name());
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = StoreConfig::new(format!("sqlite://{}", dir.join("kcf.db").display()));
        config.retry = retry;
        config.crash_backoff = FAST_RETRY;
        let store = kcf_store::open(&config).await.expect("open sqlite store");
        Self {
            store,
            config,
            cleanup: Cleanup::Dir(dir),
        }
    }

    /// A fresh PostgreSQL database, dropped afterwards.
    pub async fn postgres_with(retry: RetryPolicy) -> Self {
        let admin_url = postgres_admin_url();
        let name = unique_name();
        let admin = admin_pool(&admin_url).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("create test database");
        admin.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&admin_url);
        let mut config = StoreConfig::new(format!("{base}/{name}"));
        config.retry = retry;
        config.crash_backoff = FAST_RETRY;
        let store = kcf_store::open(&config).await.expect("open postgres store");
        Self {
            store,
            config,
            cleanup: Cleanup::Database { admin_url, name },
        }
    }

    /// Another store on the same database, with its own connections (another process, in
    /// effect).
    pub async fn open_another(&self) -> Arc<dyn Store> {
        kcf_store::open(&self.config)
            .await
            .expect("open another store")
    }
}

async fn admin_pool(url: &str) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {url}: {e}. The PostgreSQL half of the suite \
                 needs it: start it (scripts/test.sh starts an installed cluster) or point \
                 KCF_TEST_POSTGRES_URL at one."
            )
        })
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime: do the async cleanup on a thread of its own.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    if let Ok(rt) = rt {
                        rt.block_on(async {
                            let admin = admin_pool(&admin_url).await;
                            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                            let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await;
                        });
                    }
                })
                .join();
            }
        }
    }
}
