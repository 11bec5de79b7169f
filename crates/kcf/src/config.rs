//! kcf's configuration, in layers: built-in defaults → a TOML file → `KCF_*` environment
//! variables (`__` separates levels: `KCF_STORE__MAX_CONNECTIONS=16`) → command-line flags.
//! This is the only module that reads the environment.

use std::{fmt, path::Path, time::Duration};

use anyhow::{Context, bail};
use kcf_domain::RetryPolicy;
use kcf_store::StoreConfig;
use serde::{Deserialize, Serialize};

/// Everything kcf can be configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `sqlite://PATH` (the default, embedded) or `postgres://USER:PASSWORD@HOST:PORT/DB`.
    pub database_url: DatabaseUrl,
    /// Connection and locking limits.
    pub store: StoreSection,
    /// Backoff for failed messages.
    pub retry: RetrySection,
    /// How long finished messages are kept.
    pub retention: RetentionSection,
    /// The api role.
    pub server: ServerSection,
    /// The worker role.
    pub worker: WorkerSection,
    /// Connectors (`[[connectors]]` tables; see `docs/kcf.sample.toml`).
    pub connectors: Vec<toml::Value>,
}

/// `[server]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Where the api listens.
    pub listen: String,
    /// Bearer tokens the REST API accepts.
    pub api_tokens: Vec<kcf_domain::Secret>,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            api_tokens: Vec::new(),
        }
    }
}

/// `[worker]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSection {
    /// Messages applied at once per loop.
    pub concurrency: usize,
    /// Worker loops in this process.
    pub loops: usize,
    /// Lease length in seconds.
    pub lease_secs: u64,
}

impl Default for WorkerSection {
    fn default() -> Self {
        Self {
            concurrency: 8,
            loops: 2,
            lease_secs: 60,
        }
    }
}

/// A database URL; `Debug` and `Display` hide its password.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(pub String);

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", kcf_store::redact_url(&self.0))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&kcf_store::redact_url(&self.0))
    }
}

/// `[store]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// Pool size (PostgreSQL) or readers (SQLite).
    pub max_connections: u32,
    /// How long to wait for a connection or a lock, in milliseconds.
    pub busy_timeout_ms: u64,
}

/// `[retry]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetrySection {
    /// The first retry waits up to this long (ms); each further one up to twice as long.
    pub base_ms: u64,
    /// No retry waits longer (ms).
    pub cap_ms: u64,
}

/// `[retention]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSection {
    /// Processed, skipped, filtered and deleted messages older than this are pruned.
    pub finished_days: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: DatabaseUrl("sqlite://kcf-data/kcf.db".into()),
            store: StoreSection::default(),
            retry: RetrySection::default(),
            retention: RetentionSection::default(),
            server: ServerSection::default(),
            worker: WorkerSection::default(),
            connectors: Vec::new(),
        }
    }
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            max_connections: 8,
            busy_timeout_ms: 5_000,
        }
    }
}

impl Default for RetrySection {
    fn default() -> Self {
        let p = RetryPolicy::default();
        Self {
            base_ms: p.base.as_millis() as u64,
            cap_ms: p.cap.as_millis() as u64,
        }
    }
}

impl Default for RetentionSection {
    fn default() -> Self {
        Self { finished_days: 30 }
    }
}

/// The environment, as the config layers see it.
pub type Env = Vec<(String, String)>;

/// Reads the process environment (the one place that does).
pub fn process_env() -> Env {
    // vars_os: a variable that is not UTF-8 must not crash kcf; ours are all ASCII.
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with("KCF_"))
        .collect()
}

impl Config {
    /// Builds the configuration from its layers (flags are applied by the caller).
    pub fn load(file: Option<&Path>, env: &Env) -> anyhow::Result<Self> {
        let mut value = toml::Value::try_from(Config::default())?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the configuration file {}", path.display())
            })?;
            let file: toml::Value = toml::from_str(&text)
                .with_context(|| format!("{} is not valid TOML", path.display()))?;
            merge(&mut value, file);
        }
        for (key, raw) in env {
            let Some(rest) = key.strip_prefix("KCF_") else {
                continue;
            };
            // Variables the CLI reads itself (the remote commands' URL and token, the log
            // filter, the credentials key, the admin password), the crash tests' kill point,
            // and the test suite's, are not configuration keys.
            if matches!(
                rest,
                "URL" | "TOKEN" | "LOG" | "SECRET_KEY" | "ADMIN_PASSWORD" | "CRASH_AT"
            ) || rest.starts_with("TEST_")
            {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
            set_path(&mut value, &path, scalar(raw));
        }
        let config: Config = value.try_into().map_err(|e: toml::de::Error| {
            anyhow::anyhow!("invalid configuration: {}", e.message())
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the values together, with messages that say what to do.
    pub fn validate(&self) -> anyhow::Result<()> {
        let url = &self.database_url.0;
        let known = ["sqlite:", "postgres://", "postgresql://"];
        if url.contains("://") && !known.iter().any(|k| url.starts_with(k)) {
            bail!(
                "database_url '{}' has an unknown scheme: use sqlite://PATH or \
                 postgres://USER@HOST:PORT/DB",
                self.database_url
            );
        }
        if self.store.max_connections == 0 {
            bail!("store.max_connections must be at least 1");
        }
        if self.retry.base_ms == 0 || self.retry.cap_ms < self.retry.base_ms {
            bail!("retry.base_ms must be positive and retry.cap_ms at least retry.base_ms");
        }
        if self.worker.concurrency == 0 || self.worker.loops == 0 {
            bail!("worker.concurrency and worker.loops must be at least 1");
        }
        if self.worker.lease_secs < 5 {
            bail!("worker.lease_secs must be at least 5");
        }
        self.connector_specs()?;
        Ok(())
    }

    /// This configuration with the database a `--database-url` flag named, if any.
    pub fn with_database_url(mut self, url: Option<String>) -> anyhow::Result<Self> {
        if let Some(url) = url {
            self.database_url = DatabaseUrl(url);
            self.validate()?;
        }
        Ok(self)
    }

    /// The `[[connectors]]`, parsed.
    pub fn connector_specs(&self) -> anyhow::Result<Vec<kcf_engine::ConnectorSpec>> {
        self.connectors
            .iter()
            .enumerate()
            .map(|(n, v)| {
                v.clone().try_into().map_err(|e: toml::de::Error| {
                    anyhow::anyhow!("connectors[{n}]: {}", e.message())
                })
            })
            .collect()
    }

    /// The store settings.
    pub fn store_config(&self) -> StoreConfig {
        let mut c = StoreConfig::new(self.database_url.0.clone());
        c.max_connections = self.store.max_connections;
        c.busy_timeout = Duration::from_millis(self.store.busy_timeout_ms);
        c.retry = RetryPolicy {
            base: Duration::from_millis(self.retry.base_ms),
            cap: Duration::from_millis(self.retry.cap_ms),
        };
        c
    }
}

fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

fn set_path(value: &mut toml::Value, path: &[String], leaf: toml::Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let toml::Value::Table(table) = value else {
        return;
    };
    if rest.is_empty() {
        table.insert(first.clone(), leaf);
        return;
    }
    let child = table
        .entry(first.clone())
        .or_insert_with(|| toml::Value::Table(Default::default()));
    set_path(child, rest, leaf);
}

fn scalar(raw: &str) -> toml::Value {
    if let Ok(i) = raw.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    if let Ok(b) = raw.parse::<bool>() {
        return toml::Value::Boolean(b);
    }
    toml::Value::String(raw.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = std::env::temp_dir().join(format!("kcf-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kcf.toml");
        std::fs::write(
            &file,
            "database_url = \"sqlite://from-file.db\"\n[store]\nmax_connections = 3\n",
        )
        .unwrap();
        let c = Config::load(Some(&file), &env(&[("KCF_STORE__MAX_CONNECTIONS", "12")])).unwrap();
        assert_eq!(c.database_url.0, "sqlite://from-file.db");
        assert_eq!(c.store.max_connections, 12, "environment beats file");
        assert_eq!(c.store.busy_timeout_ms, 5_000, "defaults fill the rest");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn unknown_keys_and_bad_values_say_what_is_wrong() {
        let e = Config::load(None, &env(&[("KCF_STORE__MAX_CONECTIONS", "3")])).unwrap_err();
        assert!(e.to_string().contains("max_conections"), "{e}");
        let e = Config::load(None, &env(&[("KCF_DATABASE_URL", "mysql://x")])).unwrap_err();
        assert!(e.to_string().contains("unknown scheme"), "{e}");
        let e = Config::load(None, &env(&[("KCF_RETRY__BASE_MS", "0")])).unwrap_err();
        assert!(e.to_string().contains("retry.base_ms"), "{e}");
        let e = Config::load(Some(Path::new("/nonexistent/kcf.toml")), &Env::new()).unwrap_err();
        assert!(
            e.to_string().contains("cannot read the configuration file"),
            "{e}"
        );
    }

    #[test]
    fn the_cli_and_test_variables_are_not_configuration() {
        let vars = env(&[
            ("KCF_URL", "http://x"),
            ("KCF_TOKEN", "t"),
            ("KCF_TEST_PYTHON", "/usr/bin/python3"),
            ("KCF_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("KCF_ADMIN_PASSWORD", "a long password"),
        ]);
        assert!(Config::load(None, &vars).is_ok());
    }

    #[test]
    fn the_sample_config_parses_with_its_connectors() {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/kcf.sample.toml");
        let c = Config::load(Some(&sample), &Env::new()).unwrap();
        let specs = c.connector_specs().unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].id.as_str(), "main");
        assert_eq!(
            specs[0].order_prefix, "",
            "BigCommerce's ExternalRefs stay bare"
        );
        let mut shop = specs[1].clone();
        assert_eq!(
            shop.shopify_mut().map(|s| s.api_version.clone()).as_deref(),
            Some("2025-07")
        );
        assert_eq!(shop.order_prefix, "SHOP-");
        assert_eq!(
            specs[0].clone().bigcommerce_mut().map(|b| b.quota),
            Some(150)
        );
        assert_eq!(c.worker.loops, 2);
        let shown = format!("{:?}", specs[0]);
        assert!(
            !shown.contains("CHANGE-ME-random"),
            "secrets hidden: {shown}"
        );
    }

    #[test]
    fn a_bad_connector_says_where() {
        let dir = std::env::temp_dir().join(format!("kcf-config-c-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kcf.toml");
        std::fs::write(&file, "[[connectors]]\nid = \"main\"\n").unwrap();
        let e = Config::load(Some(&file), &Env::new()).unwrap_err();
        assert!(e.to_string().contains("connectors[0]"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn debug_hides_the_database_password() {
        let c = Config::load(
            None,
            &env(&[("KCF_DATABASE_URL", "postgres://kcf:hunter2@db/kcf")]),
        )
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("postgres://kcf:***@db/kcf"));
    }
}
