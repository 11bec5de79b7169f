//! A connector: one ERP tenant ↔ one store, with per-entity settings and value mappings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{ConnectorId, Entity, SyncDirection, Timestamp, named_enum};

named_enum! {
    /// An external system kcf talks to.
    pub enum Platform: "platform" {
        /// Acumatica ERP (contract-based REST API).
        Acumatica = "acumatica",
        /// BigCommerce (v2/v3 REST API).
        BigCommerce = "bigcommerce",
        /// Shopify (planned).
        Shopify = "shopify",
        /// Magento / Adobe Commerce (planned).
        Magento = "magento",
    }
}

impl Platform {
    /// Its name as people write it ("BigCommerce").
    pub fn label(self) -> &'static str {
        match self {
            Self::Acumatica => "Acumatica",
            Self::BigCommerce => "BigCommerce",
            Self::Shopify => "Shopify",
            Self::Magento => "Magento",
        }
    }
}

named_enum! {
    /// Whether a connector's messages are being processed.
    pub enum ConnectorState: "connector state" {
        /// Workers process its messages.
        Running = "running",
        /// Notifications are still captured; nothing is processed until it resumes.
        Paused = "paused",
        /// Neither captured nor processed.
        Stopped = "stopped",
    }
}

/// A connector between an ERP tenant and a store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connector {
    /// Its id, used in URLs.
    pub id: ConnectorId,
    /// A human name.
    pub name: String,
    /// The ERP side.
    pub erp: Platform,
    /// The store side.
    pub store: Platform,
    /// Running, paused or stopped (by a person).
    pub state: ConnectorState,
    /// Processing is held until then (a 429 from the store, a storm of 5xx).
    pub paused_until: Option<Timestamp>,
    /// Why it is paused, in plain words.
    pub pause_reason: Option<String>,
    /// Set while the other system is out (kcf found it, and probes until it answers).
    pub outage: Option<Outage>,
    /// Non-secret settings (endpoint URLs, company, store hash…).
    pub settings: serde_json::Value,
    /// Credentials, sealed (encrypted) by the caller; the store keeps bytes it cannot read.
    #[serde(skip)]
    pub sealed_credentials: Option<Vec<u8>>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Connector {
    /// A running connector with default settings.
    pub fn new(id: ConnectorId, name: impl Into<String>, erp: Platform, store: Platform) -> Self {
        let now = Timestamp::now();
        Self {
            id,
            name: name.into(),
            erp,
            store,
            state: ConnectorState::Running,
            paused_until: None,
            pause_reason: None,
            outage: None,
            settings: serde_json::Value::Object(Default::default()),
            sealed_credentials: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// An outage of a connector's other system: nothing is claimed for the connector while it
/// lasts, and one probe at a time, at growing intervals, finds out when it is back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Outage {
    /// Which system is out.
    pub system: Platform,
    /// When kcf found it.
    pub since: Timestamp,
    /// What the last failure said, in plain words.
    pub reason: String,
    /// Probes that failed since it began.
    pub probes: u32,
    /// When the next probe goes out.
    pub next_probe_at: Timestamp,
    /// No probes: a person must act first (the sign-in was refused; probing with wrong
    /// credentials could lock the user).
    pub needs_person: bool,
}

named_enum! {
    /// What happens in the store to a record deleted (or, for a category, removed) in the
    /// ERP.
    pub enum Removal: "removal" {
        /// Nothing: the store's record stays as it is (only the message records it).
        Keep = "keep",
        /// Hidden from shoppers and kept, so its orders and history still point somewhere.
        Hide = "hide",
        /// Deleted from the store.
        Delete = "delete",
    }
}

impl Removal {
    /// How it reads in the workspace.
    pub fn label(self) -> &'static str {
        match self {
            Self::Keep => "Keep it in the store",
            Self::Hide => "Hide it in the store",
            Self::Delete => "Delete it from the store",
        }
    }
}

/// How one entity syncs for one connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EntitySettings {
    /// The connector.
    pub connector: ConnectorId,
    /// The entity.
    pub entity: Entity,
    /// Whether it syncs at all.
    pub active: bool,
    /// Which way.
    pub direction: SyncDirection,
    /// Whether notifications become messages.
    pub realtime: bool,
    /// Whether workers process its messages by themselves; when off they wait for a person.
    pub auto_process: bool,
    /// Held: captured but not processed, not even by hand.
    pub paused: bool,
    /// A cron expression for scheduled incremental batches.
    pub schedule: Option<String>,
    /// Attempts before a message is aborted.
    pub max_attempts: u32,
    /// Which fields sync (field name → on/off); absent fields sync.
    pub fields: BTreeMap<String, bool>,
    /// What a deletion in the ERP does in the store, for the entities that have the choice
    /// (`EntityInfo::removals`); `None` for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_removal: Option<Removal>,
}

impl EntitySettings {
    /// The defaults from `reference/domain.md`.
    pub fn default_for(connector: ConnectorId, entity: Entity) -> Self {
        Self {
            connector,
            entity,
            active: true,
            direction: entity.default_direction(),
            realtime: true,
            auto_process: true,
            paused: false,
            schedule: None,
            max_attempts: 5,
            fields: BTreeMap::new(),
            on_removal: entity.info().removals.first().copied(),
        }
    }
}

named_enum! {
    /// A table of value mappings between the ERP and the store.
    pub enum MappingKind: "mapping kind" {
        /// ERP order status ↔ store status id.
        OrderStatus = "order-status",
        /// Store customer group ↔ ERP customer class.
        CustomerClass = "customer-class",
        /// Store payment method ↔ ERP payment method.
        PaymentMethod = "payment-method",
        /// Store shipping method ↔ ERP ship via.
        ShipVia = "ship-via",
        /// Store location ↔ ERP warehouse.
        Warehouse = "warehouse",
    }
}

/// One mapped value pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Mapping {
    /// The connector.
    pub connector: ConnectorId,
    /// Which table.
    pub kind: MappingKind,
    /// The ERP value ("Open", "Back Order"…).
    pub erp_value: String,
    /// The store value ("11", "9"…).
    pub store_value: String,
}

/// The link between a record in the ERP and its counterpart in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Binding {
    /// The connector.
    pub connector: ConnectorId,
    /// The entity.
    pub entity: Entity,
    /// The ERP key (InventoryID, CustomerID, OrderNbr…).
    pub erp_key: String,
    /// The store's id.
    pub external_id: String,
    /// The last synced fingerprint (a hash or source timestamp): unchanged means skip.
    pub fingerprint: Option<String>,
    /// When it was last synced.
    pub synced_at: Timestamp,
}
