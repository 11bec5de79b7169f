//! Shopify as a kcf store: the [`kcf_platform::Storefront`] port over [`ShopifyClient`].
//! Every Shopify fact the engine must not know lives here or in the modules it calls:
//! global ids (kcf keeps their numbers), `productSet` and its limits (3 options, 2,048
//! variants), collections for categories, the query-cost model, the order lifecycle
//! (OPEN / CLOSED / CANCELLED), fulfillment orders, and the webhook topics.

use std::{any::Any, collections::BTreeMap, time::Duration};

use kcf_domain::{
    Entity, MappingKind, Platform,
    records::{CategoryRecord, CustomerRecord, OrderRecord, ShipmentRecord},
};
use kcf_platform::{
    Budget, Capabilities, ErrorKind, Inbound, ListedPage, Outbox, PlatformError, ProductWrite,
    RateLimitModel, Result, StockWrite, StoreOrder, Storefront, TemplateWrite, Window,
};
use serde_json::{Value, json};

use crate::{
    ShopifyClient, ShopifyConfig, catalog,
    client::{gid, number_of},
    error::Error,
    inbound::WebhookReceiver,
    orders, people, stock,
};

/// Options a product may have (Shopify's limit).
pub const MAX_OPTIONS: usize = 3;
/// Variants a product may have (Shopify's limit).
pub const MAX_VARIANTS: usize = 2048;

/// The webhook topics a connector listens to.
pub const WEBHOOK_TOPICS: &[&str] = &[
    "ORDERS_CREATE",
    "ORDERS_UPDATED",
    "ORDERS_CANCELLED",
    "CUSTOMERS_CREATE",
    "CUSTOMERS_UPDATE",
];

/// Locations: (number, name).
type Locations = Vec<(String, String)>;

/// How long the list of locations is trusted.
const LOCATIONS_FOR: Duration = Duration::from_secs(300);

/// Shopify behind the store port.
#[derive(Debug)]
pub struct ShopifyStore {
    client: ShopifyClient,
    inbound: WebhookReceiver,
    locations: std::sync::Mutex<Option<(std::time::Instant, Locations)>>,
    weight_unit: crate::WeightUnit,
}

impl ShopifyStore {
    /// The port over a client for `config`.
    pub fn new(config: ShopifyConfig) -> std::result::Result<Self, Error> {
        Ok(Self {
            weight_unit: config.weight_unit,
            client: ShopifyClient::new(config)?,
            inbound: WebhookReceiver,
            locations: std::sync::Mutex::new(None),
        })
    }

    /// The concrete client.
    pub fn client(&self) -> &ShopifyClient {
        &self.client
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
        Error::Refused { errors, .. }
            if errors.iter().any(|e| e.code.as_deref() == Some("TAKEN")) =>
        {
            ErrorKind::Conflict
        }
        _ => ErrorKind::from_client(e.is_unavailable(), e.is_retriable(), e.retry_after()),
    }
}

impl From<Error> for PlatformError {
    fn from(e: Error) -> Self {
        PlatformError::new(Platform::Shopify, kind_of(&e), e)
    }
}

/// A Shopify number id, checked.
fn number(id: &str, what: &str) -> Result<String> {
    let id = id.trim();
    if !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id.to_owned())
    } else {
        Err(PlatformError::record(
            Platform::Shopify,
            format!("'{id}' is not a Shopify {what} id"),
        ))
    }
}

#[async_trait::async_trait]
impl Storefront for ShopifyStore {
    fn platform(&self) -> Platform {
        Platform::Shopify
    }

    fn capabilities(&self) -> Capabilities {
        let b = self.client.bucket();
        Capabilities {
            write_batch: catalog::WRITE_BATCH,
            notifies: true,
            rate_limit: RateLimitModel::QueryCost {
                points: b.maximum as u32,
                restore_per_second: b.restore_rate as u32,
            },
            stock_batch: stock::STOCK_BATCH,
            max_options: Some(MAX_OPTIONS),
            max_variants: MAX_VARIANTS,
        }
    }

    fn inbound(&self) -> Option<&dyn Inbound> {
        Some(&self.inbound)
    }

    fn admin_link(&self, entity: Entity, id: &str) -> Option<String> {
        let path = match entity {
            Entity::Product | Entity::TemplateItem | Entity::Availability => "products",
            Entity::Order | Entity::OrderStatus | Entity::Shipment => "orders",
            Entity::Customer => "customers",
            Entity::Category => "collections",
        };
        let config = self.client.config();
        Some(match config.shop_handle() {
            Some(shop) => format!("https://admin.shopify.com/store/{shop}/{path}/{id}"),
            None => format!(
                "{}/admin/{path}/{id}",
                config.shop_url.trim_end_matches('/')
            ),
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn requests_sent(&self) -> u64 {
        self.client.requests_sent()
    }

    fn budget(&self) -> Budget {
        let b = self.client.bucket();
        Budget {
            quota: b.maximum as u32,
            remaining: Some(b.available as u32),
            window_ms: (b.maximum / b.restore_rate.max(0.001) * 1000.0) as u64,
            paused_until: b.paused_until,
            points: true,
        }
    }

    fn rate_limit_journal(&self) -> kcf_platform::RateLimitJournal {
        self.client.rate_limit_journal()
    }

    async fn test_connection(&self) -> Result<()> {
        self.client.test_connection().await?;
        Ok(())
    }

    fn check_id(&self, entity: Entity, id: &str) -> Result<()> {
        number(id, entity.word()).map(|_| ())
    }

    async fn subscribe(&self, url: &str, _headers: &BTreeMap<String, String>) -> Result<usize> {
        // Shopify deliveries carry no custom headers: they are checked by their HMAC.
        let data: Value = self
            .client
            .query(
                "webhooks",
                "{ webhookSubscriptions(first: 100) { nodes { id topic endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } } } }",
                json!({}),
                "reading webhook subscriptions",
            )
            .await?;
        let have: Vec<(String, String)> = data["webhookSubscriptions"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| {
                (
                    n["topic"].as_str().unwrap_or_default().to_owned(),
                    n["endpoint"]["callbackUrl"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect();
        for topic in WEBHOOK_TOPICS {
            if have.iter().any(|(t, u)| t == topic && u == url) {
                continue;
            }
            let query = format!(
                "mutation Subscribe($url: URL!) {{ webhookSubscriptionCreate(topic: {topic}, webhookSubscription: {{ callbackUrl: $url, format: JSON }}) {{ webhookSubscription {{ id }} userErrors {{ field message }} }} }}"
            );
            let created: Result<Value, crate::Error> = self
                .client
                .mutate(
                    "webhookSubscriptionCreate",
                    &query,
                    json!({ "url": url }),
                    "webhookSubscriptionCreate",
                    "a webhook subscription",
                )
                .await;
            match created {
                Ok(_) => {}
                // Another kcf process subscribed it at the same moment: it is there.
                Err(e) if e.to_string().contains("already been taken") => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(WEBHOOK_TOPICS.len())
    }

    async fn product_ids_by_sku(&self, skus: &[String]) -> Result<BTreeMap<String, String>> {
        catalog::product_ids_by_sku(&self.client, skus).await
    }

    async fn product_by_sku(&self, sku: &str) -> Result<Option<String>> {
        catalog::product_by_sku(&self.client, sku).await
    }

    async fn create_product(&self, product: &ProductWrite, out: &dyn Outbox) -> Result<String> {
        let input = catalog::product_input(product, true, true, self.weight_unit);
        catalog::note(
            out,
            Some(&product.key),
            "Shopify product (create)".into(),
            &input,
        );
        catalog::set_product(&self.client, None, None, input, "the product").await
    }

    async fn update_product(&self, id: &str, product: &ProductWrite) -> Result<()> {
        let id = number(id, "product")?;
        let input = catalog::product_input(product, true, false, self.weight_unit);
        catalog::set_product(&self.client, Some(&id), None, input, "the product").await?;
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
            let input = catalog::product_input(p, whole, false, self.weight_unit);
            catalog::note(
                out,
                Some(&p.key),
                format!("Shopify product {id} (update)"),
                &input,
            );
            items.push((id, input));
        }
        catalog::set_products(&self.client, &items).await
    }

    async fn create_template(&self, write: &TemplateWrite, out: &dyn Outbox) -> Result<String> {
        let input = catalog::template_input(write, true, self.weight_unit);
        catalog::note(
            out,
            Some(&write.key),
            "Shopify product with variants (productSet)".into(),
            &input,
        );
        let handle = catalog::template_handle(&write.key, &write.record.product.name);
        catalog::set_product(
            &self.client,
            None,
            Some(&handle),
            input,
            "the product with its variants",
        )
        .await
    }

    async fn update_template(
        &self,
        id: &str,
        write: &TemplateWrite,
        out: &dyn Outbox,
    ) -> Result<()> {
        let id = number(id, "product")?;
        let input = catalog::template_input(write, false, self.weight_unit);
        catalog::note(
            out,
            Some(&write.key),
            format!("Shopify product {id} and its variants (productSet)"),
            &input,
        );
        catalog::set_product(
            &self.client,
            Some(&id),
            None,
            input,
            "the product with its variants",
        )
        .await?;
        Ok(())
    }

    async fn product_of_variant(&self, sku: &str) -> Result<Option<String>> {
        catalog::product_of_variant(&self.client, sku).await
    }

    async fn retire_product(&self, id: &str, delete: bool, out: &dyn Outbox) -> Result<()> {
        catalog::retire_product(&self.client, &number(id, "product")?, delete, out).await
    }

    async fn stock_levels(&self, skus: &[String]) -> Result<BTreeMap<(String, String), i64>> {
        let locations = self.locations().await?.len();
        Ok(stock::stock(&self.client, skus, locations)
            .await?
            .into_iter()
            .flat_map(|(sku, (_, levels))| {
                levels
                    .into_iter()
                    .map(move |(location, q)| ((sku.clone(), location), q))
            })
            .collect())
    }

    async fn set_stock(&self, levels: &[StockWrite], out: &dyn Outbox) -> Result<()> {
        let locations = self.locations().await?.len();
        stock::set_stock(&self.client, levels, locations, out).await
    }

    async fn locations(&self) -> Result<Vec<(String, String)>> {
        if let Some((at, list)) = &*self.locations.lock().unwrap_or_else(|p| p.into_inner())
            && at.elapsed() < LOCATIONS_FOR
        {
            return Ok(list.clone());
        }
        let list = stock::locations(&self.client).await?;
        *self.locations.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((std::time::Instant::now(), list.clone()));
        Ok(list)
    }

    async fn update_category(
        &self,
        id: &str,
        record: &CategoryRecord,
        _parent: Option<&str>,
        out: &dyn Outbox,
    ) -> Result<()> {
        catalog::update_category(&self.client, &number(id, "collection")?, record, out).await
    }

    async fn retire_category(&self, id: &str, delete: bool, out: &dyn Outbox) -> Result<()> {
        catalog::retire_category(&self.client, &number(id, "collection")?, delete, out).await
    }

    async fn put_category(
        &self,
        record: &CategoryRecord,
        _parent: Option<&str>,
        out: &dyn Outbox,
    ) -> Result<(String, bool)> {
        catalog::put_category(&self.client, record, out).await
    }

    async fn customer(&self, id: &str) -> Result<Option<CustomerRecord>> {
        people::customer(&self.client, &number(id, "customer")?).await
    }

    async fn customer_by_email(&self, email: &str) -> Result<Option<String>> {
        people::customer_by_email(&self.client, email).await
    }

    async fn update_customer(
        &self,
        id: &str,
        record: &CustomerRecord,
        out: &dyn Outbox,
    ) -> Result<()> {
        people::update_customer(&self.client, &number(id, "customer")?, record, out).await
    }

    async fn create_customer(&self, record: &CustomerRecord, out: &dyn Outbox) -> Result<String> {
        people::create_customer(&self.client, record, out).await
    }

    async fn order(&self, id: &str) -> Result<Option<StoreOrder>> {
        orders::order(&self.client, &number(id, "order")?).await
    }

    async fn order_record(&self, order: &StoreOrder) -> Result<OrderRecord> {
        orders::order_record(order)
    }

    fn is_status(&self, status: &str) -> bool {
        orders::STATUSES.iter().any(|(s, _)| *s == status.trim())
    }

    fn partially_shipped_status(&self) -> &'static str {
        orders::OPEN
    }

    fn cancelled_status(&self) -> &'static str {
        orders::CANCELLED
    }

    async fn set_order_status(&self, id: &str, status: &str, out: &dyn Outbox) -> Result<()> {
        orders::set_status(&self.client, &number(id, "order")?, status.trim(), out).await
    }

    async fn shipment_marked(&self, order: &str, marker: &str) -> Result<Option<String>> {
        orders::shipment_marked(&self.client, &number(order, "order")?, marker).await
    }

    async fn create_shipment(
        &self,
        order: &str,
        record: &ShipmentRecord,
        marker: &str,
        out: &dyn Outbox,
    ) -> Result<String> {
        orders::create_shipment(&self.client, &number(order, "order")?, record, marker, out).await
    }

    async fn changed(
        &self,
        entity: Entity,
        window: &Window,
        after: Option<&str>,
    ) -> Result<ListedPage> {
        if entity != Entity::Order {
            return Err(PlatformError::record(
                Platform::Shopify,
                format!("{entity} has no batch process"),
            ));
        }
        orders::changed(&self.client, window, after).await
    }

    async fn exists(&self, entity: Entity, id: &str) -> Result<bool> {
        if entity == Entity::Shipment {
            return Err(PlatformError::record(
                Platform::Shopify,
                "store shipments are not looked up by id",
            ));
        }
        let Ok(n) = number(id, entity.word()) else {
            return Ok(false);
        };
        let (field, kind) = match entity {
            Entity::Product | Entity::TemplateItem | Entity::Availability => ("product", "Product"),
            Entity::Category => ("collection", "Collection"),
            Entity::Customer => ("customer", "Customer"),
            _ => ("order", "Order"),
        };
        let data: Value = self
            .client
            .query(
                "exists",
                &format!("query Exists($id: ID!) {{ {field}(id: $id) {{ id }} }}"),
                json!({ "id": gid(kind, &n) }),
                "checking a record exists",
            )
            .await?;
        Ok(!data[field].is_null())
    }

    async fn choices(&self, kind: MappingKind) -> Result<Vec<(String, String)>> {
        Ok(match kind {
            MappingKind::OrderStatus => orders::STATUSES
                .iter()
                .map(|(s, l)| ((*s).to_owned(), (*l).to_owned()))
                .collect(),
            // No customer groups (a tag), payment gateways and shipping rates by name.
            MappingKind::CustomerClass | MappingKind::PaymentMethod | MappingKind::ShipVia => {
                Vec::new()
            }
            MappingKind::Warehouse => self.locations().await?,
        })
    }
}

/// The batch grid's columns of the records this store lists for `entity` (field, heading).
pub fn columns(entity: Entity) -> &'static [(&'static str, &'static str)] {
    match entity {
        Entity::Order => &[
            ("name", "Order"),
            ("displayFinancialStatus", "Payment"),
            ("displayFulfillmentStatus", "Fulfillment"),
            ("createdAt", "Created"),
            ("updatedAt", "Last Modified On"),
        ],
        _ => &[],
    }
}

/// The number of a global id, for callers that hold one.
pub fn id_number(gid: &str) -> String {
    number_of(gid)
}
