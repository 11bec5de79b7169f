//! A connector at run time: its two clients, the secrets its notification receivers check, and
//! the bindings helpers every processor uses.

use std::{collections::BTreeMap, sync::Arc};

use kcf_acumatica::{AcumaticaClient, AcumaticaConfig};
use kcf_bigcommerce::{BigCommerceClient, BigCommerceConfig};
use kcf_domain::{Binding, ConnectorId, Entity, MappingKind, Secret, Timestamp};
use kcf_store::{BindingKey, Store};
use serde::{Deserialize, Serialize};

use crate::error::{ApplyResult, EngineError};

/// How a connector is configured (from `kcf serve`'s file, or wired by `kcf up`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorSpec {
    /// Its id, used in URLs (`/push/acumatica/{id}`).
    pub id: ConnectorId,
    /// A human name.
    #[serde(default)]
    pub name: String,
    /// The ERP.
    pub acumatica: AcumaticaConfig,
    /// The store.
    pub bigcommerce: BigCommerceConfig,
    /// What the notification receivers check.
    #[serde(default)]
    pub ingress: IngressSecrets,
}

/// The secrets that authenticate notifications for one connector.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IngressSecrets {
    /// The header Acumatica's push destination sends (SM302000 → Header Name).
    #[serde(default = "default_push_header")]
    pub push_header: String,
    /// Its value (Header Value). Empty: push notifications are refused.
    #[serde(default)]
    pub push_secret: Secret,
    /// The custom header the BigCommerce hooks are registered with.
    #[serde(default = "default_webhook_header")]
    pub webhook_header: String,
    /// Its value. Empty: only the signature is checked.
    #[serde(default)]
    pub webhook_secret: Secret,
    /// The app's client secret, which signs webhooks (Standard Webhooks); empty: not checked.
    #[serde(default)]
    pub signing_secret: Secret,
}

fn default_push_header() -> String {
    "X-KCF-Push-Secret".into()
}

fn default_webhook_header() -> String {
    "X-KCF-Webhook-Secret".into()
}

impl Default for IngressSecrets {
    fn default() -> Self {
        Self {
            push_header: default_push_header(),
            push_secret: Secret::default(),
            webhook_header: default_webhook_header(),
            webhook_secret: Secret::default(),
            signing_secret: Secret::default(),
        }
    }
}

/// A connector's live parts.
#[derive(Debug)]
pub struct ConnectorRuntime {
    /// Its id.
    pub id: ConnectorId,
    /// How it was configured.
    pub spec: ConnectorSpec,
    /// The ERP client.
    pub erp: AcumaticaClient,
    /// The store client (its rate limiter is the connector's budget).
    pub store: BigCommerceClient,
    /// The store's category tree, looked up once.
    tree_id: tokio::sync::OnceCell<u64>,
    /// Serialises category creation in this process: products being applied in parallel may
    /// all need the same new category.
    pub(crate) category_lock: tokio::sync::Mutex<()>,
    /// Failures of the other systems in a row, as this process saw them.
    pub health: crate::health::Health,
}

impl ConnectorRuntime {
    /// Builds the clients.
    pub fn new(spec: ConnectorSpec) -> Result<Self, EngineError> {
        let erp = AcumaticaClient::new(spec.acumatica.clone())
            .map_err(|e| EngineError::Setup(format!("connector {}: Acumatica: {e}", spec.id)))?;
        let store = BigCommerceClient::new(spec.bigcommerce.clone())
            .map_err(|e| EngineError::Setup(format!("connector {}: BigCommerce: {e}", spec.id)))?;
        Ok(Self {
            id: spec.id.clone(),
            spec,
            erp,
            store,
            tree_id: tokio::sync::OnceCell::new(),
            category_lock: tokio::sync::Mutex::new(()),
            health: crate::health::Health::default(),
        })
    }

    /// The store's category tree (one request per process, not one per category).
    pub async fn tree_id(&self) -> Result<u64, kcf_bigcommerce::Error> {
        self.tree_id
            .get_or_try_init(|| self.store.default_tree_id())
            .await
            .copied()
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

impl Ctx {
    /// A context for applying messages of one connector.
    pub fn new(store: Arc<dyn Store>, conn: Arc<ConnectorRuntime>) -> Self {
        Self {
            store,
            conn,
            sent: Arc::default(),
        }
    }

    /// Notes the document about to be written to the other system (the record as mapped), so
    /// the record page can show what kcf sent even when the write is refused. `key` names
    /// the message's record when one call applies many.
    pub fn sending(
        &self,
        key: Option<&str>,
        target: impl Into<String>,
        body: &impl serde::Serialize,
    ) {
        let body = serde_json::to_value(body)
            .unwrap_or_else(|e| serde_json::Value::String(format!("(not shown: {e})")));
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Sent {
                key: key.map(str::to_owned),
                target: target.into(),
                body,
            });
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
