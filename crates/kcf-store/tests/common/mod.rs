//! Test databases: a fresh SQLite file or a fresh PostgreSQL database per test, removed after.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{path::PathBuf, sync::Arc, time::Duration};

use kcf_domain::{
    Connector, ConnectorId, Direction, Entity, Mode, NewMessage, Platform, RecordKey, RetryPolicy,
};
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
        base: Duration::from_millis(10),
        cap: Duration::from_millis(40),
    };
    config
}

fn unique_name() -> String {
    format!(
        "kcf_test_{}_{:08x}",
        std::process::id(),
        rand::rng().random::<u32>()
    )
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(unique_name());
        std::fs::create_dir_all(&dir).unwrap();
        let config = test_config(format!("sqlite://{}", dir.join("kcf.db").display()));
        let store = kcf_store::open(&config).await.expect("open sqlite store");
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

pub fn cid(s: &str) -> ConnectorId {
    ConnectorId::parse(s).unwrap()
}

/// Creates connector `id` (BigCommerce ↔ Acumatica) with default settings.
pub async fn connector(store: &dyn Store, id: &str) -> ConnectorId {
    let c = Connector::new(
        cid(id),
        format!("Connector {id}"),
        Platform::Acumatica,
        Platform::BigCommerce,
    );
    store.put_connector(&c).await.unwrap();
    c.id
}

/// A real-time product message for `key`.
pub fn msg(connector: &ConnectorId, key: &str) -> NewMessage {
    NewMessage::new(
        connector.clone(),
        Entity::Product,
        Direction::ErpToStore,
        Mode::RealTime,
        RecordKey::parse(key).unwrap(),
        "acumatica",
    )
    .with_description(format!("Stock item {key}"))
    .with_payload(serde_json::json!({ "InventoryID": key }))
}
