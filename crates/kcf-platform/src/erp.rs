//! What the engine needs from an ERP.

use std::sync::Arc;

use kcf_domain::{
    Entity, MappingKind, Platform,
    records::{
        CategoryRecord, CustomerRecord, OrderRecord, ProductRecord, ShipmentRecord, StockLevel,
        TemplateRecord,
    },
};

use crate::{Inbound, ListedPage, Outbox, Result, SessionKeeper, Window};

/// A sales order as the engine needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErpOrder {
    /// Its key, in the ERP's canonical form (Acumatica: `OrderType/OrderNbr`).
    pub key: String,
    /// The store order it came from (its external reference; empty when none).
    pub external_ref: String,
    /// Its status as the ERP names it (the order-status mapping's ERP side).
    pub status: String,
    /// Some lines shipped, some still open.
    pub partially_shipped: bool,
    /// Fully shipped (completed).
    pub completed: bool,
    /// Cancelled.
    pub cancelled: bool,
}

/// The ERP side of a connector. Every read answers `Ok(None)` for a record that does not
/// exist; every write notes what it sends in the [`Outbox`] first.
#[async_trait::async_trait]
pub trait Erp: Send + Sync + std::fmt::Debug {
    /// Which platform this is.
    fn platform(&self) -> Platform;
    /// Its notification receiver, when it notifies.
    fn inbound(&self) -> Option<&dyn Inbound> {
        None
    }
    /// Keeps the signed-in session in `keeper` (shared by every process of the connector).
    fn keep_session_in(&self, _keeper: Arc<dyn SessionKeeper>) {}
    /// Requests sent so far (for metrics).
    fn requests_sent(&self) -> u64;
    /// One cheap call that signs in.
    async fn test_connection(&self) -> Result<()>;
    /// Signs out (best effort), freeing a licensed session.
    async fn sign_out(&self);

    /// A stock item, as a product.
    async fn product(&self, key: &str) -> Result<Option<ProductRecord>>;
    /// A template (matrix) item with its variants.
    async fn template(&self, key: &str) -> Result<Option<TemplateRecord>>;
    /// An item's stock in each warehouse (none: it has none, or it does not exist).
    async fn stock(&self, key: &str) -> Result<Vec<StockLevel>>;
    /// A sales category.
    async fn category(&self, key: &str) -> Result<Option<CategoryRecord>>;
    /// A customer.
    async fn customer(&self, key: &str) -> Result<Option<CustomerRecord>>;
    /// The key of the customer with this e-mail address.
    async fn customer_by_email(&self, email: &str) -> Result<Option<String>>;
    /// Keys to try, in order, for a new customer made from `record`.
    fn new_customer_keys(&self, record: &CustomerRecord) -> Vec<String>;
    /// Updates customer `key` (of customer class `class`, when mapped); `NotFound` when it
    /// is gone.
    async fn update_customer(
        &self,
        key: &str,
        record: &CustomerRecord,
        class: Option<&str>,
        out: &dyn Outbox,
    ) -> Result<()>;
    /// Creates customer `key`; `Conflict` when the key is taken.
    async fn create_customer(
        &self,
        key: &str,
        record: &CustomerRecord,
        class: Option<&str>,
        out: &dyn Outbox,
    ) -> Result<()>;

    /// The canonical form of an order key (a bare order number gets the default type).
    fn order_key(&self, key: &str) -> String;
    /// A sales order.
    async fn order(&self, key: &str) -> Result<Option<ErpOrder>>;
    /// The sales order made from store order `external`.
    async fn order_by_external_ref(&self, external: &str) -> Result<Option<ErpOrder>>;
    /// Creates the sales order of a store order, for customer `customer`, with the mapped
    /// payment method and ship via; returns its key.
    async fn create_order(
        &self,
        record: &OrderRecord,
        customer: &str,
        payment: Option<&str>,
        ship_via: Option<&str>,
        out: &dyn Outbox,
    ) -> Result<String>;
    /// Cancels sales order `key`.
    async fn cancel_order(&self, key: &str, out: &dyn Outbox) -> Result<()>;

    /// A shipment (its order key in canonical form).
    async fn shipment(&self, key: &str) -> Result<Option<ShipmentRecord>>;

    /// One page of the records of `entity` changed in `window`, after checkpoint `after`.
    async fn changed(
        &self,
        entity: Entity,
        window: &Window,
        after: Option<&str>,
    ) -> Result<ListedPage>;
    /// Whether record `key` of `entity` exists (a binding import checks it).
    async fn exists(&self, entity: Entity, key: &str) -> Result<bool>;
    /// The values a mapping of `kind` may take on this side: (value, what a person reads);
    /// empty: free text.
    async fn choices(&self, kind: MappingKind) -> Result<Vec<(String, String)>>;
}
