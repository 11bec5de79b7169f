//! A connector at run time: its two sides (the platform ports the registry built), the secrets
//! its notification receivers check, and the bindings helpers every processor uses.

use std::{collections::BTreeMap, sync::Arc};

use kcf_domain::{Binding, ConnectorId, Entity, EntitySettings, MappingKind, Removal, Timestamp};
use kcf_platform::{Erp, Outbox, Storefront};
use kcf_store::{BindingKey, Store};

use crate::{
    error::{ApplyResult, EngineError},
    registry,
};

pub use kcf_platform::IngressSecrets;
pub use registry::ConnectorSpec;

/// A connector's live parts.
#[derive(Debug)]
pub struct ConnectorRuntime {
    /// Its id.
    pub id: ConnectorId,
    /// How it was configured.
    pub spec: ConnectorSpec,
    /// The ERP side.
    pub erp: Arc<dyn Erp>,
    /// The store side (its rate limiter is the connector's budget).
    pub store: Arc<dyn Storefront>,
    /// Serialises category creation in this process: products being applied in parallel may
    /// all need the same new category.
    pub(crate) category_lock: tokio::sync::Mutex<()>,
    /// Serialises template writes in this process: a template's own message and its matrix
    /// items' messages (other record keys, so the queue runs them at once) all sync the one
    /// product, and a store without unique SKUs (Shopify) would get one product per creator.
    pub(crate) template_lock: tokio::sync::Mutex<()>,
    /// The store's recently changed orders as last listed by the overselling guard, shared
    /// by the availability batches of the next moments (see `processors::availability`).
    pub(crate) recent_orders:
        tokio::sync::Mutex<Option<crate::processors::availability::RecentOrders>>,
    /// Failures of the other systems in a row, as this process saw them.
    pub health: crate::health::Health,
}

impl ConnectorRuntime {
    /// Builds both sides through the registry.
    pub fn new(spec: ConnectorSpec) -> Result<Self, EngineError> {
        let (erp, store) = registry::build(&spec)?;
        Ok(Self {
            id: spec.id.clone(),
            spec,
            erp,
            store,
            category_lock: tokio::sync::Mutex::new(()),
            template_lock: tokio::sync::Mutex::new(()),
            recent_orders: tokio::sync::Mutex::new(None),
            health: crate::health::Health::default(),
        })
    }
}

/// What a processor works with: the store and one connector, and a note of what it sent.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// kcf's database.
    pub store: Arc<dyn Store>,
    /// The connector.
    pub conn: Arc<ConnectorRuntime>,
    /// What the processors sent to the other system, in order (see [`Ctx::sending`]).
    sent: Arc<std::sync::Mutex<Vec<Sent>>>,
}

/// One document a processor sent (or was about to send) to the other system.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The record key of the message it was for, when the processor handles many at once;
    /// `None`: the one message being applied.
    pub key: Option<String>,
    /// Where it went, in words.
    pub target: String,
    /// The body.
    pub body: serde_json::Value,
}

impl Outbox for Ctx {
    fn sending(&self, key: Option<&str>, target: String, body: serde_json::Value) {
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Sent {
                key: key.map(str::to_owned),
                target,
                body,
            });
    }
}

impl Ctx {
    /// A context for applying messages of one connector.
    pub fn new(store: Arc<dyn Store>, conn: Arc<ConnectorRuntime>) -> Self {
        Self {
            store,
            conn,
            sent: Arc::default(),
        }
    }

    /// The ERP side.
    pub fn erp(&self) -> &dyn Erp {
        &*self.conn.erp
    }

    /// The store side.
    pub fn shop(&self) -> &dyn Storefront {
        &*self.conn.store
    }

    /// Takes what was noted as sent since the last call.
    pub fn take_sent(&self) -> Vec<Sent> {
        std::mem::take(
            &mut *self
                .sent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The connector's id.
    pub fn id(&self) -> &ConnectorId {
        &self.conn.id
    }

    /// The binding of an ERP key.
    pub async fn by_erp(&self, entity: Entity, key: &str) -> ApplyResult<Option<Binding>> {
        Ok(self
            .store
            .binding(self.id(), entity, BindingKey::Erp(key))
            .await?)
    }

    /// The binding of a store id.
    pub async fn by_external(&self, entity: Entity, id: &str) -> ApplyResult<Option<Binding>> {
        Ok(self
            .store
            .binding(self.id(), entity, BindingKey::External(id))
            .await?)
    }

    /// Records (or refreshes) a binding.
    pub async fn bind(
        &self,
        entity: Entity,
        erp_key: &str,
        external_id: &str,
        fingerprint: Option<String>,
    ) -> ApplyResult<()> {
        self.store
            .put_binding(&Binding {
                connector: self.id().clone(),
                entity,
                erp_key: erp_key.to_owned(),
                external_id: external_id.to_owned(),
                fingerprint,
                synced_at: Timestamp::now(),
            })
            .await?;
        Ok(())
    }

    /// The connector's settings of `entity`.
    pub async fn settings(&self, entity: Entity) -> ApplyResult<EntitySettings> {
        Ok(self
            .store
            .entity_settings(self.id())
            .await?
            .into_iter()
            .find(|s| s.entity == entity)
            .unwrap_or_else(|| EntitySettings::default_for(self.id().clone(), entity)))
    }

    /// What a deletion of an `entity` in the ERP does in the store.
    pub async fn removal(&self, entity: Entity) -> ApplyResult<Removal> {
        Ok(self
            .settings(entity)
            .await?
            .on_removal
            .unwrap_or(Removal::Keep))
    }

    /// A mapping table, ERP value → store value.
    pub async fn mapping(&self, kind: MappingKind) -> ApplyResult<BTreeMap<String, String>> {
        Ok(self
            .store
            .mappings(self.id(), Some(kind))
            .await?
            .into_iter()
            .map(|m| (m.erp_value, m.store_value))
            .collect())
    }
}
