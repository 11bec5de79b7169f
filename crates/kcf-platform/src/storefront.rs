//! What the engine needs from a store.

use std::{any::Any, collections::BTreeMap};

use kcf_domain::{
    Entity, MappingKind, Platform,
    records::{
        CategoryRecord, CustomerRecord, OrderRecord, ProductRecord, ShipmentRecord, TemplateRecord,
    },
};

use crate::{Capabilities, Inbound, ListedPage, Outbox, Result, Window};

/// A product to write: the record as mapped, its store category ids, and the fields that do
/// not sync.
#[derive(Debug, Clone)]
pub struct ProductWrite {
    /// The ERP key of the record it comes from (the outbox note names it).
    pub key: String,
    /// The record.
    pub record: ProductRecord,
    /// The store ids of its categories.
    pub category_ids: Vec<String>,
    /// Fields switched off (left alone on an update; a create is always whole).
    pub fields_off: Vec<String>,
}

/// A product with options and variants to write.
#[derive(Debug, Clone)]
pub struct TemplateWrite {
    /// The ERP key of the template it comes from.
    pub key: String,
    /// The template, checked: every variant has a SKU and a value of every option.
    pub record: TemplateRecord,
    /// The store ids of its categories.
    pub category_ids: Vec<String>,
}

/// A stock level to set: `quantity` of `sku` at store location `location`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockWrite {
    /// The product's or variant's SKU.
    pub sku: String,
    /// The store's location id.
    pub location: String,
    /// Available to sell.
    pub quantity: i64,
}

/// Where a store's rate-limit budget stands (requests, or points for a query-cost limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Budget {
    /// Per window (or the bucket's size).
    pub quota: u32,
    /// Left now, when known.
    pub remaining: Option<u32>,
    /// The window (or the time to refill the bucket), in milliseconds.
    pub window_ms: u64,
    /// Until when kcf sends nothing (a 429 or a spent budget).
    pub paused_until: Option<kcf_domain::Timestamp>,
    /// Counted in query-cost points (a bucket refilled over `window_ms`), not requests.
    pub points: bool,
}

/// An order's status in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderState {
    /// The status as the store keeps it (the order-status mapping's store side).
    pub status: String,
    /// What a person reads.
    pub label: String,
    /// Checkout not finished: not an order yet.
    pub incomplete: bool,
    /// Cancelled in the store.
    pub cancelled: bool,
    /// Final in the store (refunded, cancelled, declined): the ERP does not overwrite it.
    pub closed: bool,
}

/// A store order, as read.
#[derive(Debug, Clone)]
pub struct StoreOrder {
    /// Its id.
    pub id: String,
    /// Its status.
    pub state: OrderState,
    /// The order as the store sent it (the adapter reads it back).
    pub detail: serde_json::Value,
}

/// The store side of a connector. Ids are the store's, as text. Every write notes what it
/// sends in the [`Outbox`] first.
#[async_trait::async_trait]
pub trait Storefront: Send + Sync + std::fmt::Debug {
    /// Which platform this is.
    fn platform(&self) -> Platform;
    /// What it can do.
    fn capabilities(&self) -> Capabilities;
    /// Its notification receiver, when it notifies.
    fn inbound(&self) -> Option<&dyn Inbound> {
        None
    }
    /// Where a person edits record `id` of `entity` in the store (its control panel; the API
    /// resource for an emulator).
    fn admin_link(&self, entity: Entity, id: &str) -> Option<String>;
    /// The concrete client, for tools and tests that need it.
    fn as_any(&self) -> &dyn Any;
    /// Requests sent so far (for metrics).
    fn requests_sent(&self) -> u64;
    /// Where its rate-limit budget stands.
    fn budget(&self) -> Budget;
    /// Its client's own record of the requests it started and the pauses it learnt of.
    fn rate_limit_journal(&self) -> crate::RateLimitJournal {
        crate::RateLimitJournal::default()
    }
    /// One cheap call.
    async fn test_connection(&self) -> Result<()>;
    /// Whether `id` can be one of the store's ids of `entity` (checked without asking the
    /// store); the refusal, as a [`crate::ErrorKind::Record`] error, when it cannot.
    fn check_id(&self, entity: Entity, id: &str) -> Result<()>;
    /// Subscribes `url` (with `headers`) to the changes kcf syncs, idempotently; returns
    /// how many subscriptions there are.
    async fn subscribe(&self, url: &str, headers: &BTreeMap<String, String>) -> Result<usize>;

    /// The ids of the products with these SKUs, by upper-cased SKU.
    async fn product_ids_by_sku(&self, skus: &[String]) -> Result<BTreeMap<String, String>>;
    /// The id of the product with this SKU.
    async fn product_by_sku(&self, sku: &str) -> Result<Option<String>>;
    /// Creates a product, whole; `Conflict` when one with its SKU or name exists.
    async fn create_product(&self, product: &ProductWrite, out: &dyn Outbox) -> Result<String>;
    /// Updates one product, whole (adopting one found by SKU).
    async fn update_product(&self, id: &str, product: &ProductWrite) -> Result<()>;
    /// Updates products, at most [`Capabilities::write_batch`] at a time, leaving their
    /// switched-off fields alone; one result per product (`NotFound` for one deleted in the
    /// store), or one error for the whole request.
    async fn update_products(
        &self,
        products: &[(String, ProductWrite)],
        whole: bool,
        out: &dyn Outbox,
    ) -> Result<Vec<Result<()>>>;

    /// Creates the product of a template with all its variants at once (all or nothing);
    /// `Conflict` when its name or a SKU is taken. Returns its id.
    async fn create_template(&self, write: &TemplateWrite, out: &dyn Outbox) -> Result<String>;
    /// Brings product `id` in line with a template: its fields, and its variants (adding the
    /// new, updating the changed, deleting those the template no longer has); `NotFound`
    /// when the product is gone.
    async fn update_template(
        &self,
        id: &str,
        write: &TemplateWrite,
        out: &dyn Outbox,
    ) -> Result<()>;
    /// The product that has a variant (not the product itself) with this SKU, if any.
    async fn product_of_variant(&self, sku: &str) -> Result<Option<String>>;
    /// Hides product `id` from shoppers (or, with `delete`, deletes it); `NotFound` when it
    /// is gone.
    async fn retire_product(&self, id: &str, delete: bool, out: &dyn Outbox) -> Result<()>;
    /// The store's stock of these SKUs by (upper-cased SKU, location); the SKUs it does not
    /// know are left out.
    async fn stock_levels(&self, skus: &[String]) -> Result<BTreeMap<(String, String), i64>>;
    /// Sets stock levels, at most [`Capabilities::stock_batch`] at a time, all or none;
    /// `Record` when a SKU is unknown to the store.
    async fn set_stock(&self, levels: &[StockWrite], out: &dyn Outbox) -> Result<()>;
    /// The store's locations: (id, name); empty when it has one implicit location.
    async fn locations(&self) -> Result<Vec<(String, String)>>;

    /// Updates category `id` (under `parent`, none: a root); `NotFound` when it is gone.
    async fn update_category(
        &self,
        id: &str,
        record: &CategoryRecord,
        parent: Option<&str>,
        out: &dyn Outbox,
    ) -> Result<()>;
    /// Hides category `id` from shoppers (or, with `delete`, deletes it and the categories
    /// under it); `NotFound` when it is gone.
    async fn retire_category(&self, id: &str, delete: bool, out: &dyn Outbox) -> Result<()>;
    /// Adopts the category of `record`'s name under `parent` (updating it), or creates it;
    /// returns its id and whether it was adopted.
    async fn put_category(
        &self,
        record: &CategoryRecord,
        parent: Option<&str>,
        out: &dyn Outbox,
    ) -> Result<(String, bool)>;

    /// A customer.
    async fn customer(&self, id: &str) -> Result<Option<CustomerRecord>>;
    /// The id of the customer with this e-mail address.
    async fn customer_by_email(&self, email: &str) -> Result<Option<String>>;
    /// Updates customer `id` (its group: `record.class`, the store's value); `NotFound`
    /// when it is gone.
    async fn update_customer(
        &self,
        id: &str,
        record: &CustomerRecord,
        out: &dyn Outbox,
    ) -> Result<()>;
    /// Creates a customer; returns its id.
    async fn create_customer(&self, record: &CustomerRecord, out: &dyn Outbox) -> Result<String>;

    /// An order.
    async fn order(&self, id: &str) -> Result<Option<StoreOrder>>;
    /// An order with its lines and shipping address, as a record.
    async fn order_record(&self, order: &StoreOrder) -> Result<OrderRecord>;
    /// Whether `status` is one the store's orders can have (as it keeps them).
    fn is_status(&self, status: &str) -> bool;
    /// The status of a partially shipped order.
    fn partially_shipped_status(&self) -> &'static str;
    /// The status of a cancelled order.
    fn cancelled_status(&self) -> &'static str;
    /// Sets order `id`'s status.
    async fn set_order_status(&self, id: &str, status: &str, out: &dyn Outbox) -> Result<()>;

    /// The id of the shipment on order `order` whose note holds `marker`.
    async fn shipment_marked(&self, order: &str, marker: &str) -> Result<Option<String>>;
    /// Creates the shipment of `record` on order `order`, its note `marker`; returns its id.
    async fn create_shipment(
        &self,
        order: &str,
        record: &ShipmentRecord,
        marker: &str,
        out: &dyn Outbox,
    ) -> Result<String>;

    /// One page of the records of `entity` changed in `window`, after checkpoint `after`.
    async fn changed(
        &self,
        entity: Entity,
        window: &Window,
        after: Option<&str>,
    ) -> Result<ListedPage>;
    /// Whether record `id` of `entity` exists; Err(why) when it cannot be looked up.
    async fn exists(&self, entity: Entity, id: &str) -> Result<bool>;
    /// The values a mapping of `kind` may take on this side: (value, what a person reads);
    /// empty: free text.
    async fn choices(&self, kind: MappingKind) -> Result<Vec<(String, String)>>;
}
