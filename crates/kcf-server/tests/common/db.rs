//! Test databases: a fresh SQLite file or a fresh PostgreSQL database per test, removed after.

use std::{path::PathBuf, sync::Arc, time::Duration};

use kcf_domain::RetryPolicy;
use kcf_store::{Store, StoreConfig};
use rand::RngExt;

/// Where the tests find PostgreSQL (an admin connection that may create databases).
pub fn postgres_admin_url() -> String {
    std::env::var("KCF_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh database for one test.
#[derive(Debug)]
pub struct TestDb {
    pub store: Arc<dyn Store>,
    pub config: StoreConfig,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Dir(PathBuf),
    Database { admin_url: String, name: String },
}

fn test_config(url: String) -> StoreConfig {
    let mut config = StoreConfig::new(url);
    config.retry = RetryPolicy {
        base: Duration::from_millis(50),
        cap: Duration::from_millis(400),
    };
    config
}

fn unique_name() -> String {
    format!(
        "kcf_sync_{}_{:08x}",
        std::process::id(),
        rand::rng().random::<u32>()
    )
}

impl TestDb {
    pub async fn open(backend: &str) -> Self {
        if backend == "postgres" {
            Self::postgres().await
        } else {
            Self::sqlite().await
        }
    }

    pub async fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(unique_name());
        std::fs::create_dir_all(&dir).unwrap();
        let config = test_config(format!("sqlite://{}", dir.join("kcf.db").display()));
        let store = kcf_store::open(&config).await.expect("open sqlite store");
        store.migrate().await.unwrap();
        Self {
            store,
            config,
            cleanup: Cleanup::Dir(dir),
        }
    }

    pub async fn postgres() -> Self {
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
        let config = test_config(format!("{base}/{name}"));
        let store = kcf_store::open(&config).await.expect("open postgres store");
        store.migrate().await.unwrap();
        Self {
            store,
            config,
            cleanup: Cleanup::Database { admin_url, name },
        }
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
