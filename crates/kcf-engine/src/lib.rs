//! kcf's sync engine: processors per entity and direction, real-time intake, batch windows,
//! workers and the scheduler. Data flows one way:
//!
//! ```text
//! notification / batch window ─> intake ─> message store ─> worker (claim, lease)
//!     ─> processor (fetch source, map, look up binding, upsert target) ─> complete / fail
//! ```

pub mod actions;
pub mod batch;
pub mod bindings;
pub mod connector;
pub mod error;
pub mod health;
pub mod intake;
pub mod mappings;
pub mod processors;
pub mod registry;
pub mod schedule;
pub mod session;
pub mod vault;
pub mod waiting;
pub mod worker;

use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
};

use kcf_domain::{Connector, ConnectorId, Mapping, MappingKind};
use kcf_store::Store;

pub use batch::BatchRequest;
pub use connector::{ConnectorRuntime, ConnectorSpec, Ctx, IngressSecrets};
pub use error::{Applied, ApplyError, EngineError};
pub use health::OutagePolicy;
pub use intake::{IntakeError, IntakeReport};
pub use registry::ConnectionChange;
pub use vault::Vault;
pub use worker::WorkerConfig;

/// The engine: the store and the connectors configured in this process.
#[derive(Debug)]
pub struct Engine {
    /// kcf's database.
    pub store: Arc<dyn Store>,
    connectors: RwLock<BTreeMap<ConnectorId, Arc<ConnectorRuntime>>>,
    vault: Vault,
    /// What intake reads of each connector's settings, kept briefly (see `intake.rs`).
    intake_settings: intake::SettingsCache,
}

impl Engine {
    /// An engine with no connectors yet, sealing credentials under a throwaway key (they are
    /// not readable by a later process: tests and benchmarks).
    pub fn new(store: Arc<dyn Store>) -> Arc<Self> {
        Self::with_vault(store, Vault::random())
    }

    /// An engine whose stored credentials are sealed by `vault`.
    pub fn with_vault(store: Arc<dyn Store>, vault: Vault) -> Arc<Self> {
        Arc::new(Self {
            store,
            connectors: RwLock::new(BTreeMap::new()),
            vault,
            intake_settings: intake::SettingsCache::default(),
        })
    }

    /// The stored connectors whose sealed credentials this key does not open (it is not the
    /// key they were sealed with).
    pub async fn connectors_this_key_cannot_open(&self) -> Result<Vec<ConnectorId>, EngineError> {
        let mut out = Vec::new();
        for c in self.store.connectors().await? {
            if let Some(sealed) = &c.sealed_credentials
                && self.vault.open(c.id.as_str(), sealed).is_err()
            {
                out.push(c.id);
            }
        }
        Ok(out)
    }

    /// Brings up every stored connector this process does not run yet, from its sealed
    /// credentials; a connector that cannot be restored is reported, not fatal.
    pub async fn restore_connectors(&self) -> Result<Vec<(ConnectorId, EngineError)>, EngineError> {
        let mut failed = Vec::new();
        for c in self.store.connectors().await? {
            if self.runtime(&c.id).is_some() {
                continue;
            }
            let Some(sealed) = &c.sealed_credentials else {
                continue;
            };
            let restored = self
                .vault
                .open(c.id.as_str(), sealed)
                .and_then(|plain| {
                    serde_json::from_slice::<ConnectorSpec>(&plain).map_err(|e| {
                        EngineError::Setup(format!(
                            "the stored settings of {} are unreadable: {e}",
                            c.id
                        ))
                    })
                })
                .and_then(|spec| ConnectorRuntime::new(spec).map(Arc::new));
            match restored {
                Ok(runtime) => {
                    self.keep_session(&runtime);
                    self.connectors
                        .write()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(c.id.clone(), runtime);
                }
                Err(e) => failed.push((c.id.clone(), e)),
            }
        }
        Ok(failed)
    }

    /// Configures a connector: stores it (keeping a person's Pause/Stop and their settings
    /// and mappings), seeds the default order-status mapping the first time, builds its
    /// clients.
    pub async fn add_connector(
        &self,
        spec: ConnectorSpec,
    ) -> Result<Arc<ConnectorRuntime>, EngineError> {
        let runtime = Arc::new(ConnectorRuntime::new(spec.clone())?);
        let existing = self.store.connector(&spec.id).await?;
        // A session kept for other ERP settings (another URL, user or tenant) is not this
        // connection's: it is forgotten, so the new settings sign in for themselves.
        let same_erp = existing
            .as_ref()
            .and_then(|c| c.sealed_credentials.as_ref())
            .and_then(|sealed| self.vault.open(spec.id.as_str(), sealed).ok())
            .and_then(|plain| serde_json::from_slice::<ConnectorSpec>(&plain).ok())
            .is_some_and(|old| old.same_erp(&spec));
        if existing.is_some() && !same_erp {
            self.store.put_erp_session(&spec.id, None).await?;
        }
        self.keep_session(&runtime);
        let mut connector = existing.clone().unwrap_or_else(|| {
            Connector::new(
                spec.id.clone(),
                spec.name.clone(),
                runtime.erp.platform(),
                runtime.store.platform(),
            )
        });
        if !spec.name.is_empty() {
            connector.name = spec.name.clone();
        }
        let plain = serde_json::to_vec(&spec)
            .map_err(|e| EngineError::Setup(format!("connector {}: {e}", spec.id)))?;
        connector.sealed_credentials = Some(self.vault.seal(spec.id.as_str(), &plain)?);
        connector.settings = spec.public_settings();
        self.store.put_connector(&connector).await?;
        // New settings (or a new start): whatever outage was recorded is looked at afresh.
        if existing.as_ref().is_some_and(|c| c.outage.is_some()) {
            self.store.set_outage(&spec.id, None).await?;
        }
        if existing.is_none() {
            for (erp, store) in registry::default_order_statuses(spec.store_kind()) {
                self.store
                    .put_mapping(&Mapping {
                        connector: spec.id.clone(),
                        kind: MappingKind::OrderStatus,
                        erp_value: (*erp).to_owned(),
                        store_value: (*store).to_owned(),
                    })
                    .await?;
            }
        }
        self.connectors
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(spec.id.clone(), runtime.clone());
        Ok(runtime)
    }

    /// Shares the connector's ERP session through kcf's database (see [`session`]).
    fn keep_session(&self, runtime: &ConnectorRuntime) {
        runtime
            .erp
            .keep_session_in(Arc::new(session::StoredSession::new(
                self.store.clone(),
                self.vault.clone(),
                runtime.id.clone(),
            )));
    }

    /// A configured connector.
    pub fn runtime(&self, id: &ConnectorId) -> Option<Arc<ConnectorRuntime>> {
        self.connectors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// The most records any connector's store writes in one request (claims are sized by it).
    pub fn write_batch(&self) -> usize {
        self.runtimes()
            .iter()
            .map(|r| r.store.capabilities().write_batch)
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// The records connector `id`'s store writes in one request.
    pub fn write_batch_of(&self, id: &ConnectorId) -> usize {
        self.runtime(id)
            .map_or(1, |r| r.store.capabilities().write_batch)
            .max(1)
    }

    /// Every configured connector.
    pub fn runtimes(&self) -> Vec<Arc<ConnectorRuntime>> {
        self.connectors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// "Start real-time": subscribes the store's notifications (pointing at `webhook_url`
    /// with the connector's secret header), idempotently; returns how many subscriptions
    /// there are.
    pub async fn start_realtime(
        &self,
        id: &ConnectorId,
        webhook_url: &str,
    ) -> Result<usize, EngineError> {
        let conn = self
            .runtime(id)
            .ok_or_else(|| EngineError::UnknownConnector(id.to_string()))?;
        let mut headers = BTreeMap::new();
        let ingress = &conn.spec.ingress;
        if !ingress.webhook_secret.is_empty() {
            headers.insert(
                ingress.webhook_header.clone(),
                ingress.webhook_secret.expose().to_owned(),
            );
        }
        // The store's budget may be spent by the other work of the connector: wait for it,
        // as every call does, rather than fail the start.
        let mut tries = 0u32;
        loop {
            match conn.store.subscribe(webhook_url, &headers).await {
                Ok(n) => return Ok(n),
                Err(e) => match ApplyError::from(e) {
                    ApplyError::RateLimited { until, .. } if tries < 20 => {
                        tries += 1;
                        let wait = (until.0 - kcf_domain::Timestamp::now().0).max(50) as u64;
                        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                    }
                    ApplyError::Unavailable { .. } if tries < 5 => {
                        tries += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(500 << tries)).await;
                    }
                    e => {
                        return Err(EngineError::External(format!(
                            "subscribing to the store's notifications: {e}"
                        )));
                    }
                },
            }
        }
    }
}
