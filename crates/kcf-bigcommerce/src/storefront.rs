//! BigCommerce as a kcf store: the [`kcf_platform::Storefront`] port over
//! [`BigCommerceClient`]. Every BigCommerce fact the engine must not know lives here: numeric
//! ids, status ids (0 Incomplete, 3 Partially Shipped, 5 Cancelled; 4, 5, 6 final), ten
//! products per update, the category tree, the webhook scopes, v2 orders and shipments.

use std::{any::Any, collections::BTreeMap};

use kcf_domain::{
    Entity, MappingKind, Platform, Timestamp,
    records::{CategoryRecord, CustomerRecord, OrderRecord, ShipmentRecord},
};
use kcf_platform::{
    Budget, Capabilities, ErrorKind, Inbound, Listed, ListedPage, OrderState, Outbox,
    PlatformError, ProductWrite, RateLimitModel, Result, StockWrite, StoreOrder, Storefront,
    TemplateWrite, Window,
};
use serde_json::Value;

use crate::{
    BigCommerceClient, BigCommerceConfig, CategoryQuery, Error, Order, OrderQuery, ProductInput,
    ProductQuery, catalog, mapping,
};

/// Variants (SKUs) a product may have (BigCommerce's limit).
pub const MAX_VARIANTS: usize = 600;

/// Products updated per request (BigCommerce's limit).
pub const WRITE_BATCH: usize = 10;
/// Orders per listing page.
const ORDER_PAGE: u32 = 250;
/// The webhook scopes a connector listens to.
pub const WEBHOOK_SCOPES: &[&str] = &[
    "store/order/created",
    "store/order/updated",
    "store/order/statusUpdated",
    "store/customer/created",
    "store/customer/updated",
];
/// Incomplete: checkout not finished.
const INCOMPLETE: i64 = 0;
/// Partially Shipped.
const PARTIALLY_SHIPPED: &str = "3";
/// Cancelled.
const CANCELLED: i64 = 5;
/// Cancelled, as the order-status mapping keeps it.
const CANCELLED_STATUS: &str = "5";
/// Refunded, Cancelled, Declined: final in the store.
const FINAL: &[i64] = &[4, 5, 6];

/// BigCommerce behind the store port.
#[derive(Debug)]
pub struct BigCommerceStore {
    client: BigCommerceClient,
    /// Where the store is (for admin links).
    base_url: String,
    store_hash: String,
    inbound: crate::inbound::WebhookReceiver,
    /// The store's category tree, looked up once.
    tree_id: tokio::sync::OnceCell<u64>,
    /// The store's inventory locations and when they were read (they rarely change; a stock
    /// write must not spend a request of the budget on them each time).
    locations: std::sync::Mutex<Option<(std::time::Instant, Locations)>>,
}

/// Locations: (id, name).
type Locations = Vec<(String, String)>;

/// How long the list of locations is trusted.
const LOCATIONS_FOR: std::time::Duration = std::time::Duration::from_secs(300);

impl BigCommerceStore {
    /// The port over a client for `config`.
    pub fn new(config: BigCommerceConfig) -> Result<Self, Error> {
        Ok(Self {
            base_url: config.base_url.clone(),
            store_hash: config.store_hash.clone(),
            client: BigCommerceClient::new(config)?,
            inbound: crate::inbound::WebhookReceiver,
            tree_id: tokio::sync::OnceCell::new(),
            locations: std::sync::Mutex::new(None),
        })
    }

    /// The concrete client.
    pub fn client(&self) -> &BigCommerceClient {
        &self.client
    }

    async fn tree_id(&self) -> Result<u64, Error> {
        self.tree_id
            .get_or_try_init(|| self.client.default_tree_id())
            .await
            .copied()
    }
}

/// Sorts a client error by what the worker does about it.
pub fn kind_of(e: &Error) -> ErrorKind {
    match e {
        Error::RateLimited { retry_after } => ErrorKind::RateLimited {
            retry_after: Some(*retry_after),
        },
        Error::Unauthorized { .. } => ErrorKind::SignInRefused,
        Error::NotFound { .. } => ErrorKind::NotFound,
        Error::Conflict { .. } => ErrorKind::Conflict,
        _ => ErrorKind::from_client(e.is_unavailable(), e.is_retriable(), e.retry_after()),
    }
}

impl From<Error> for PlatformError {
    fn from(e: Error) -> Self {
        PlatformError::new(Platform::BigCommerce, kind_of(&e), e)
    }
}

/// A store id, which BigCommerce keeps as a number.
fn number(id: &str, what: &str) -> Result<u64> {
    id.trim().parse().map_err(|_| {
        PlatformError::record(
            Platform::BigCommerce,
            format!("'{id}' is not a store {what} id"),
        )
    })
}

fn note(out: &dyn Outbox, key: Option<&str>, target: String, body: &impl serde::Serialize) {
    let body =
        serde_json::to_value(body).unwrap_or_else(|e| Value::String(format!("(not shown: {e})")));
    out.sending(key, target, body);
}

fn product_input(p: &ProductWrite, whole: bool) -> ProductInput {
    let ids = p
        .category_ids
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect();
    let mut input = mapping::product_input(&p.record, ids);
    if whole {
        return input;
    }
    let off = |f: &str| p.fields_off.iter().any(|o| o == f);
    if off("name") {
        input.name.clear();
    }
    if off("price") {
        input.price = None;
    }
    if off("weight") {
        input.weight = None;
    }
    if off("visibility") {
        input.is_visible = None;
    }
    if off("categories") {
        input.categories.clear();
    }
    input
}

fn state_of(o: &Order) -> OrderState {
    OrderState {
        status: o.status_id.to_string(),
        label: o.status.clone(),
        incomplete: o.status_id == INCOMPLETE,
        cancelled: o.status_id == CANCELLED,
        closed: FINAL.contains(&o.status_id),
    }
}

fn numbered(list: Vec<(u64, String)>) -> Vec<(String, String)> {
    list.into_iter()
        .map(|(id, n)| (id.to_string(), n))
        .collect()
}

#[async_trait::async_trait]
impl Storefront for BigCommerceStore {
    fn platform(&self) -> Platform {
        Platform::BigCommerce
    }

    fn capabilities(&self) -> Capabilities {
        let limit = self.client.rate_limit();
        Capabilities {
            write_batch: WRITE_BATCH,
            notifies: true,
            rate_limit: RateLimitModel::FixedWindow {
                requests: limit.quota,
                window: std::time::Duration::from_millis(limit.window_ms),
            },
            stock_batch: crate::client::ADJUSTMENT_BATCH,
            max_options: None,
            max_variants: MAX_VARIANTS,
        }
    }

    fn inbound(&self) -> Option<&dyn Inbound> {
        Some(&self.inbound)
    }

    fn admin_link(&self, entity: Entity, id: &str) -> Option<String> {
        let real = self.base_url.contains("api.bigcommerce.com");
        let path = match (entity, real) {
            (Entity::Product | Entity::TemplateItem | Entity::Availability, true) => {
                format!("manage/products/edit/{id}")
            }
            (Entity::Order | Entity::OrderStatus | Entity::Shipment, true) => {
                format!("manage/orders/{id}")
            }
            (Entity::Customer, true) => format!("manage/customers/{id}/edit"),
            (Entity::Category, true) => format!("manage/products/categories/{id}/edit"),
            (Entity::Product, false) => format!("v3/catalog/products/{id}"),
            (Entity::TemplateItem, false) => {
                format!("v3/catalog/products/{id}?include=variants,options")
            }
            (Entity::Availability, false) => format!("v3/inventory/items?sku:in={id}"),
            (Entity::Category, false) => format!("v3/catalog/categories/{id}"),
            (Entity::Customer, false) => format!("v3/customers?id:in={id}"),
            (_, false) => format!("v2/orders/{id}"),
        };
        Some(if real {
            format!("https://store-{}.mybigcommerce.com/{path}", self.store_hash)
        } else {
            format!(
                "{}/stores/{}/{path}",
                self.base_url.trim_end_matches('/'),
                self.store_hash
            )
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn requests_sent(&self) -> u64 {
        self.client.requests_sent()
    }

    fn budget(&self) -> Budget {
        let l = self.client.rate_limit();
        Budget {
            quota: l.quota,
            remaining: l.remaining,
            window_ms: l.window_ms,
            paused_until: l.paused_until,
            points: false,
        }
    }

    fn rate_limit_journal(&self) -> kcf_platform::RateLimitJournal {
        self.client.rate_limit_journal()
    }

    async fn test_connection(&self) -> Result<()> {
        Ok(self.client.test_connection().await?)
    }

    fn check_id(&self, entity: Entity, id: &str) -> Result<()> {
        number(id, entity.word()).map(|_| ())
    }

    async fn subscribe(&self, url: &str, headers: &BTreeMap<String, String>) -> Result<usize> {
        Ok(self
            .client
            .ensure_hooks(WEBHOOK_SCOPES, url, headers)
            .await?
            .len())
    }

    async fn product_ids_by_sku(&self, skus: &[String]) -> Result<BTreeMap<String, String>> {
        let query = ProductQuery {
            skus: skus.to_vec(),
            limit: 250,
            page: 1,
            ..ProductQuery::default()
        };
        Ok(self
            .client
            .products(&query)
            .await?
            .items
            .into_iter()
            .map(|p| (p.sku.to_uppercase(), p.id.to_string()))
            .collect())
    }

    async fn product_by_sku(&self, sku: &str) -> Result<Option<String>> {
        Ok(self
            .client
            .product_by_sku(sku)
            .await?
            .map(|p| p.id.to_string()))
    }

    async fn create_product(&self, product: &ProductWrite, out: &dyn Outbox) -> Result<String> {
        let input = product_input(product, true);
        note(
            out,
            Some(&product.key),
            "BigCommerce product (create)".into(),
            &input,
        );
        Ok(self.client.create_product(&input).await?.id.to_string())
    }

    async fn update_product(&self, id: &str, product: &ProductWrite) -> Result<()> {
        let id = number(id, "product")?;
        self.client
            .update_product(id, &product_input(product, true))
            .await?;
        Ok(())
    }

    async fn update_products(
        &self,
        products: &[(String, ProductWrite)],
        whole: bool,
        out: &dyn Outbox,
    ) -> Result<Vec<Result<()>>> {
        let mut items = Vec::with_capacity(products.len());
        for (id, p) in products {
            let id = number(id, "product")?;
            let input = product_input(p, whole);
            note(
                out,
                Some(&p.key),
                format!("BigCommerce product {id} (update)"),
                &input,
            );
            items.push((id, input));
        }
        Ok(self
            .client
            .update_products(&items)
            .await?
            .into_iter()
            .map(|r| r.map(|_| ()).map_err(PlatformError::from))
            .collect())
    }

    async fn create_template(&self, write: &TemplateWrite, out: &dyn Outbox) -> Result<String> {
        let input = catalog::product_input(write);
        let variants: Vec<Value> = write
            .record
            .variants
            .iter()
            .map(catalog::variant_body)
            .collect();
        let mut body = serde_json::to_value(&input).unwrap_or(Value::Null);
        body["variants"] = Value::Array(variants.clone());
        note(
            out,
            Some(&write.key),
            "BigCommerce product with variants (create)".into(),
            &body,
        );
        Ok(self
            .client
            .create_product_with_variants(&input, &variants)
            .await?
            .id
            .to_string())
    }

    async fn update_template(
        &self,
        id: &str,
        write: &TemplateWrite,
        out: &dyn Outbox,
    ) -> Result<()> {
        let id = number(id, "product")?;
        let input = catalog::product_input(write);
        note(
            out,
            Some(&write.key),
            format!("BigCommerce product {id} and its variants"),
            &input,
        );
        self.client.update_product(id, &input).await?;
        catalog::sync_variants(&self.client, id, write).await?;
        Ok(())
    }

    async fn product_of_variant(&self, sku: &str) -> Result<Option<String>> {
        let found = self.client.variants_by_sku(&[sku.to_owned()]).await?;
        // A product without options has one base variant, with the product's own SKU.
        Ok(found
            .into_iter()
            .find(|v| v.sku.eq_ignore_ascii_case(sku) && !v.option_values.is_empty())
            .map(|v| v.product_id.to_string()))
    }

    async fn retire_product(&self, id: &str, delete: bool, out: &dyn Outbox) -> Result<()> {
        let id = number(id, "product")?;
        if delete {
            note(
                out,
                None,
                format!("BigCommerce product {id} (delete)"),
                &Value::Null,
            );
            return Ok(self.client.delete_product(id).await?);
        }
        let input = ProductInput {
            is_visible: Some(false),
            ..ProductInput::default()
        };
        note(
            out,
            None,
            format!("BigCommerce product {id} (hide)"),
            &input,
        );
        self.client.update_product(id, &input).await?;
        Ok(())
    }

    async fn stock_levels(&self, skus: &[String]) -> Result<BTreeMap<(String, String), i64>> {
        Ok(self
            .client
            .inventory(skus)
            .await?
            .into_iter()
            .map(|(sku, location, level)| ((sku.to_uppercase(), location.to_string()), level))
            .collect())
    }

    async fn set_stock(&self, levels: &[StockWrite], out: &dyn Outbox) -> Result<()> {
        let levels = catalog::levels(levels)?;
        note(
            out,
            None,
            "BigCommerce stock levels (absolute)".into(),
            &levels,
        );
        Ok(self.client.set_inventory(&levels).await?)
    }

    async fn locations(&self) -> Result<Vec<(String, String)>> {
        if let Some((at, list)) = &*self.locations.lock().unwrap_or_else(|p| p.into_inner())
            && at.elapsed() < LOCATIONS_FOR
        {
            return Ok(list.clone());
        }
        let list = numbered(self.client.locations().await?);
        *self.locations.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((std::time::Instant::now(), list.clone()));
        Ok(list)
    }

    async fn update_category(
        &self,
        id: &str,
        record: &CategoryRecord,
        parent: Option<&str>,
        out: &dyn Outbox,
    ) -> Result<()> {
        let id = number(id, "category")?;
        let parent = parent.map_or(Ok(0), |p| number(p, "category"))?;
        let input = mapping::category_input(record, parent, self.tree_id().await?);
        note(
            out,
            None,
            format!("BigCommerce category {id} (update)"),
            &input,
        );
        self.client.update_category(id, &input).await?;
        Ok(())
    }

    async fn retire_category(&self, id: &str, delete: bool, out: &dyn Outbox) -> Result<()> {
        catalog::retire_category(&self.client, number(id, "category")?, delete, out).await
    }

    async fn put_category(
        &self,
        record: &CategoryRecord,
        parent: Option<&str>,
        out: &dyn Outbox,
    ) -> Result<(String, bool)> {
        let parent_id = parent.map_or(Ok(0), |p| number(p, "category"))?;
        let tree_id = self.tree_id().await?;
        let input = mapping::category_input(record, parent_id, tree_id);
        // Not bound: a category of that name under that parent is ours to adopt.
        let query = CategoryQuery {
            name: Some(record.name.clone()),
            parent_id: Some(parent_id),
            tree_id: Some(tree_id),
            ..CategoryQuery::default()
        };
        let existing = self
            .client
            .categories(&query)
            .await?
            .items
            .into_iter()
            .next();
        note(
            out,
            None,
            "BigCommerce category (create or match by name)".into(),
            &input,
        );
        Ok(match existing {
            Some(c) => {
                self.client.update_category(c.category_id, &input).await?;
                (c.category_id.to_string(), true)
            }
            None => (
                self.client
                    .create_category(&input)
                    .await?
                    .category_id
                    .to_string(),
                false,
            ),
        })
    }

    async fn customer(&self, id: &str) -> Result<Option<CustomerRecord>> {
        let id = number(id, "customer")?;
        Ok(self
            .client
            .customer(id)
            .await?
            .map(|c| mapping::customer(&c)))
    }

    async fn customer_by_email(&self, email: &str) -> Result<Option<String>> {
        Ok(self
            .client
            .customer_by_email(email)
            .await?
            .map(|c| c.id.to_string()))
    }

    async fn update_customer(
        &self,
        id: &str,
        record: &CustomerRecord,
        out: &dyn Outbox,
    ) -> Result<()> {
        let id = number(id, "customer")?;
        let input = mapping::customer_input(record);
        note(
            out,
            None,
            format!("BigCommerce customer {id} (update)"),
            &input,
        );
        self.client.update_customer(id, &input).await?;
        Ok(())
    }

    async fn create_customer(&self, record: &CustomerRecord, out: &dyn Outbox) -> Result<String> {
        let input = mapping::customer_input(record);
        note(out, None, "BigCommerce customer (create)".into(), &input);
        Ok(self.client.create_customer(&input).await?.id.to_string())
    }

    async fn order(&self, id: &str) -> Result<Option<StoreOrder>> {
        let id = number(id, "order")?;
        Ok(self.client.order(id).await?.map(|o| StoreOrder {
            id: o.id.to_string(),
            state: state_of(&o),
            detail: serde_json::to_value(&o).unwrap_or(Value::Null),
        }))
    }

    async fn order_record(&self, order: &StoreOrder) -> Result<OrderRecord> {
        let o: Order = serde_json::from_value(order.detail.clone()).map_err(|e| {
            PlatformError::new(Platform::BigCommerce, ErrorKind::Invalid, e.to_string())
        })?;
        let products = self.client.order_products(o.id).await?;
        let shipping = self.client.order_shipping_addresses(o.id).await?;
        Ok(mapping::order(&o, &products, &shipping))
    }

    fn is_status(&self, status: &str) -> bool {
        status.parse::<i64>().is_ok()
    }

    fn partially_shipped_status(&self) -> &'static str {
        PARTIALLY_SHIPPED
    }

    fn cancelled_status(&self) -> &'static str {
        CANCELLED_STATUS
    }

    async fn set_order_status(&self, id: &str, status: &str, out: &dyn Outbox) -> Result<()> {
        let id = number(id, "order")?;
        let status_id: i64 = status.parse().map_err(|_| {
            PlatformError::record(
                Platform::BigCommerce,
                format!("'{status}' is not a store status id"),
            )
        })?;
        note(
            out,
            None,
            format!("BigCommerce order {id} (status update)"),
            &serde_json::json!({ "status_id": status_id }),
        );
        self.client.update_order_status(id, status_id).await?;
        Ok(())
    }

    async fn shipment_marked(&self, order: &str, marker: &str) -> Result<Option<String>> {
        let order = number(order, "order")?;
        Ok(self
            .client
            .shipments(order)
            .await?
            .into_iter()
            .find(|s| s.comments.contains(marker))
            .map(|s| s.id.to_string()))
    }

    async fn create_shipment(
        &self,
        order: &str,
        record: &ShipmentRecord,
        marker: &str,
        out: &dyn Outbox,
    ) -> Result<String> {
        let order_id = number(order, "order")?;
        let products = self.client.order_products(order_id).await?;
        let addresses = self.client.order_shipping_addresses(order_id).await?;
        let Some(address) = addresses.first() else {
            return Err(PlatformError::record(
                Platform::BigCommerce,
                format!("store order {order_id} has no shipping address to ship to"),
            ));
        };
        let mut input = mapping::shipment_input(record, &products, address.id).map_err(|e| {
            PlatformError::record(
                Platform::BigCommerce,
                format!("shipment {}: {e}", record.key),
            )
        })?;
        input.comments = marker.to_owned();
        note(
            out,
            None,
            format!("BigCommerce shipment on order {order_id} (create)"),
            &input,
        );
        Ok(self
            .client
            .create_shipment(order_id, &input)
            .await?
            .id
            .to_string())
    }

    async fn changed(
        &self,
        entity: Entity,
        window: &Window,
        after: Option<&str>,
    ) -> Result<ListedPage> {
        if entity != Entity::Order {
            return Err(PlatformError::record(
                Platform::BigCommerce,
                format!("{entity} has no batch process"),
            ));
        }
        let after: u64 = after.and_then(|c| c.parse().ok()).unwrap_or(0);
        let query = OrderQuery {
            min_date_modified: window.from,
            max_date_modified: Some(window.to),
            min_id: Some(after + 1),
            limit: ORDER_PAGE,
            page: 1,
            sort: Some("id:asc".into()),
            ..OrderQuery::default()
        };
        let orders = self
            .client
            .orders(&query)
            .await
            .map_err(|e| PlatformError::from(e).doing("listing orders"))?;
        let full = orders.len() >= ORDER_PAGE as usize;
        let last = orders.last().map(|o| o.id);
        let mut records = Vec::new();
        for o in orders {
            let modified = o.date_modified_ms().map(Timestamp);
            // The API's max is inclusive; the window's end is not.
            if modified.is_some_and(|m| m >= window.to) {
                continue;
            }
            records.push(Listed {
                key: o.id.to_string(),
                description: format!("Order #{} {} ({})", o.id, o.billing_address.email, o.status),
                payload: serde_json::to_value(&o).unwrap_or(Value::Null),
                modified,
            });
        }
        let next = if full {
            last.map(|id| id.to_string())
        } else {
            None
        };
        Ok(ListedPage { records, next })
    }

    async fn exists(&self, entity: Entity, id: &str) -> Result<bool> {
        let not_by_id = || {
            PlatformError::record(
                Platform::BigCommerce,
                "store shipments are not looked up by id",
            )
        };
        let Ok(n) = id.trim().parse::<u64>() else {
            return match entity {
                // A shipment's link is the store shipment's marker, not a number.
                Entity::Shipment => Err(not_by_id()),
                _ => Ok(false),
            };
        };
        let c = &self.client;
        Ok(match entity {
            Entity::Product | Entity::TemplateItem | Entity::Availability => !c
                .products(&ProductQuery {
                    ids: vec![n],
                    ..ProductQuery::default()
                })
                .await?
                .items
                .is_empty(),
            Entity::Category => !c
                .categories(&CategoryQuery {
                    ids: vec![n],
                    ..CategoryQuery::default()
                })
                .await?
                .items
                .is_empty(),
            Entity::Customer => c.customer(n).await?.is_some(),
            Entity::Order | Entity::OrderStatus => c.order(n).await?.is_some(),
            Entity::Shipment => return Err(not_by_id()),
        })
    }

    async fn choices(&self, kind: MappingKind) -> Result<Vec<(String, String)>> {
        let c = &self.client;
        Ok(match kind {
            MappingKind::OrderStatus => c
                .order_statuses()
                .await?
                .into_iter()
                .map(|(id, name)| (id.to_string(), name))
                .collect(),
            MappingKind::CustomerClass => numbered(c.customer_groups().await?),
            MappingKind::PaymentMethod => c.payment_methods().await?,
            // Shipping methods are per zone in BigCommerce: free text.
            MappingKind::ShipVia => Vec::new(),
            MappingKind::Warehouse => numbered(c.locations().await?),
        })
    }
}

/// The batch grid's columns of the records this store lists for `entity` (field, heading).
pub fn columns(entity: Entity) -> &'static [(&'static str, &'static str)] {
    match entity {
        Entity::Order => &[
            ("id", "Order ID"),
            ("status", "Status"),
            ("total_inc_tax", "Total"),
            ("date_created", "Created"),
            ("date_modified", "Last Modified On"),
        ],
        _ => &[],
    }
}

#[cfg(test)]
#[path = "storefront_tests.rs"]
mod tests;
