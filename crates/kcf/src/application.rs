//! One step that assembles kcf: the store (opened and migrated), the credentials vault, the
//! workspace's admin user, the engine and its connectors. `kcf serve`, `kcf up` and the
//! benchmarks build through it, so each starts kcf the same way.

use std::{path::Path, sync::Arc};

use kcf_engine::{ConnectorSpec, Engine, Vault};
use kcf_store::StoreConfig;

/// What to build.
#[derive(Debug)]
pub struct Build<'a> {
    /// kcf's database.
    pub store: &'a StoreConfig,
    /// Where `secret.key` lives (`KCF_SECRET_KEY` wins); `None`: a throwaway key (benchmarks).
    pub key_dir: Option<&'a Path>,
    /// Make sure the workspace's `admin` user exists, with this password when one is given.
    pub admin: Option<Option<&'a str>>,
    /// The connectors to configure.
    pub connectors: Vec<ConnectorSpec>,
    /// Also bring up the connectors stored by earlier runs.
    pub restore: bool,
    /// Seal the given connectors under this key even when it does not open what earlier runs
    /// stored (their key was lost); otherwise such a key is refused.
    pub reseal: bool,
}

/// kcf, assembled.
#[derive(Debug)]
pub struct Application {
    /// The engine (its store inside).
    pub engine: Arc<Engine>,
    /// The admin password generated at this first start, if one was.
    pub admin_password: Option<String>,
}

impl Application {
    /// Opens and migrates the store, loads the vault, makes sure of the admin user, and
    /// configures the connectors.
    pub async fn build(b: Build<'_>) -> anyhow::Result<Self> {
        let store = kcf_store::open(b.store).await?;
        store.migrate().await?;
        let vault = match b.key_dir {
            Some(dir) => Vault::load(dir)?,
            None => Vault::random(),
        };
        let admin_password = match b.admin {
            Some(given) => kcf_server::auth::ensure_admin(&*store, given)
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?,
            None => None,
        };
        let engine = Engine::with_vault(store, vault);
        if let Some(dir) = b.key_dir
            && !b.reseal
        {
            let locked = engine.connectors_this_key_cannot_open().await?;
            if !locked.is_empty() {
                let names: Vec<&str> = locked.iter().map(|c| c.as_str()).collect();
                let key = if std::env::var_os(kcf_engine::vault::KEY_ENV).is_some() {
                    kcf_engine::vault::KEY_ENV.to_owned()
                } else {
                    dir.join(kcf_engine::vault::KEY_FILE).display().to_string()
                };
                anyhow::bail!(
                    "the credentials key ({key}) does not open the stored settings of connector \
                     {}: it is not the key they were sealed with. Start kcf with that key (restore \
                     the key file from a backup, or set {} to it); kcf does not seal them again \
                     under another key by itself. If that key is lost, start once with --reseal: \
                     the configuration file's connectors are sealed under this key, and stored \
                     settings it cannot open must be entered again.",
                    names.join(", "),
                    kcf_engine::vault::KEY_ENV
                );
            }
        }
        for spec in b.connectors {
            let id = spec.id.clone();
            engine.add_connector(spec).await?;
            tracing::info!(connector = %id, "connector configured");
        }
        if b.restore {
            for (id, e) in engine.restore_connectors().await? {
                tracing::error!(connector = %id, error = %e, "a stored connector could not be started");
            }
        }
        Ok(Self {
            engine,
            admin_password,
        })
    }

    /// Signs every connector out of its ERP (best effort), freeing licensed sessions.
    pub async fn sign_out(&self) {
        for conn in self.engine.runtimes() {
            conn.erp.sign_out().await;
        }
    }
}
