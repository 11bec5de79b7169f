//! Orders: `orders` (searched by `updated_at`, `name`, `status`…), `order`, with line items,
//! addresses, money sets, fulfillment orders and fulfillments; the writes `orderCreate` (what
//! a shopper's checkout does), `orderUpdate`, `orderClose` / `orderOpen`, `orderCancel` (an
//! asynchronous job, as in Shopify), `fulfillmentCreate` (never more than a fulfillment order
//! still holds) and `metafieldsSet` on orders.

use std::collections::BTreeMap;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, connection::Connection};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    Data, Shop, UserError,
    customers::{Address, CustomerInput, CustomerNode, MailingAddress, MailingAddressInput},
    now_ms,
    search::*,
    shop,
    variants::VariantNode,
};
use crate::seed::Dataset;

/// A line of an order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LineItem {
    pub id: u64,
    pub variant_id: Option<u64>,
    pub product_id: Option<u64>,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub price: f64,
}

/// Tracking of a fulfillment.
#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject)]
pub(crate) struct TrackingInfo {
    company: Option<String>,
    number: Option<String>,
    url: Option<String>,
}

/// A fulfillment: what was shipped, with tracking.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Fulfillment {
    pub id: u64,
    /// (line item id, quantity).
    pub lines: Vec<(u64, i64)>,
    pub tracking: Vec<TrackingInfo>,
    pub created_ms: i64,
}

/// An order as the shop keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Order {
    pub id: u64,
    pub number: u64,
    pub email: String,
    pub customer_id: Option<u64>,
    pub lines: Vec<LineItem>,
    pub shipping_address: Option<Address>,
    pub billing_address: Option<Address>,
    pub shipping: f64,
    pub tax: f64,
    /// PAID, PENDING, AUTHORIZED, REFUNDED, VOIDED…
    pub financial_status: String,
    pub fulfillments: Vec<Fulfillment>,
    pub cancelled_ms: Option<i64>,
    pub cancel_reason: Option<String>,
    pub closed_ms: Option<i64>,
    pub note: String,
    pub tags: Vec<String>,
    pub source_name: String,
    /// The location its stock was taken from.
    pub location_id: Option<u64>,
    /// `namespace.key` → (type, value).
    pub metafields: BTreeMap<String, (String, String)>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl Order {
    fn subtotal(&self) -> f64 {
        self.lines.iter().map(|l| l.price * l.quantity as f64).sum()
    }

    fn total(&self) -> f64 {
        self.subtotal() + self.shipping + self.tax
    }

    fn fulfilled(&self, line: u64) -> i64 {
        self.fulfillments
            .iter()
            .flat_map(|f| &f.lines)
            .filter(|(l, _)| *l == line)
            .map(|(_, q)| q)
            .sum()
    }

    fn remaining(&self, line: &LineItem) -> i64 {
        (line.quantity - self.fulfilled(line.id)).max(0)
    }

    /// UNFULFILLED, PARTIALLY_FULFILLED or FULFILLED.
    pub(crate) fn fulfillment_status(&self) -> &'static str {
        let shipped: i64 = self.lines.iter().map(|l| self.fulfilled(l.id)).sum();
        if shipped == 0 {
            "UNFULFILLED"
        } else if self.lines.iter().all(|l| self.remaining(l) == 0) {
            "FULFILLED"
        } else {
            "PARTIALLY_FULFILLED"
        }
    }

    fn status(&self) -> &'static str {
        if self.cancelled_ms.is_some() {
            "cancelled"
        } else if self.closed_ms.is_some() {
            "closed"
        } else {
            "open"
        }
    }

    /// The REST-shaped order a webhook delivers.
    pub(crate) fn payload(&self, data: &Data) -> Value {
        let customer = self.customer_id.and_then(|c| data.customers.get(&c));
        let fulfillment = match self.fulfillment_status() {
            "FULFILLED" => json!("fulfilled"),
            "PARTIALLY_FULFILLED" => json!("partial"),
            _ => Value::Null,
        };
        json!({
            "id": self.id,
            "admin_graphql_api_id": gid("Order", self.id).0,
            "name": format!("#{}", self.number),
            "order_number": self.number,
            "email": self.email,
            "created_at": DateTime::of(self.created_ms).0,
            "updated_at": DateTime::of(self.updated_ms).0,
            "cancelled_at": self.cancelled_ms.map(|t| DateTime::of(t).0),
            "closed_at": self.closed_ms.map(|t| DateTime::of(t).0),
            "financial_status": self.financial_status.to_lowercase(),
            "fulfillment_status": fulfillment,
            "currency": "USD",
            "total_price": format!("{:.2}", self.total()),
            "customer": customer.map(|c| json!({
                "id": c.id, "email": c.email, "first_name": c.first_name, "last_name": c.last_name,
            })),
            "line_items": self.lines.iter().map(|l| json!({
                "id": l.id, "variant_id": l.variant_id, "product_id": l.product_id, "sku": l.sku,
                "title": l.title, "quantity": l.quantity, "price": format!("{:.2}", l.price),
            })).collect::<Vec<_>>(),
        })
    }
}

/// `Order`.
#[derive(Debug, Clone)]
pub(crate) struct OrderNode(pub Order);

/// `Metafield`.
#[derive(Debug, Clone, SimpleObject)]
struct Metafield {
    id: ID,
    namespace: String,
    key: String,
    value: String,
    #[graphql(name = "type")]
    kind: String,
}

/// `Job`: an asynchronous operation.
#[derive(Debug, Clone, SimpleObject)]
struct Job {
    id: ID,
    done: bool,
}

#[Object(name = "Order")]
impl OrderNode {
    async fn id(&self) -> ID {
        gid("Order", self.0.id)
    }
    async fn legacy_resource_id(&self) -> String {
        self.0.id.to_string()
    }
    async fn name(&self) -> String {
        format!("#{}", self.0.number)
    }
    async fn email(&self) -> Option<&str> {
        Some(self.0.email.as_str()).filter(|e| !e.is_empty())
    }
    async fn created_at(&self) -> DateTime {
        DateTime::of(self.0.created_ms)
    }
    async fn processed_at(&self) -> DateTime {
        DateTime::of(self.0.created_ms)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime::of(self.0.updated_ms)
    }
    async fn cancelled_at(&self) -> Option<DateTime> {
        self.0.cancelled_ms.map(DateTime::of)
    }
    async fn cancel_reason(&self) -> Option<&str> {
        self.0.cancel_reason.as_deref()
    }
    async fn closed(&self) -> bool {
        self.0.closed_ms.is_some()
    }
    async fn closed_at(&self) -> Option<DateTime> {
        self.0.closed_ms.map(DateTime::of)
    }
    async fn display_financial_status(&self) -> &str {
        &self.0.financial_status
    }
    async fn display_fulfillment_status(&self) -> &str {
        self.0.fulfillment_status()
    }
    async fn currency_code(&self) -> &str {
        "USD"
    }
    async fn note(&self) -> Option<&str> {
        Some(self.0.note.as_str()).filter(|n| !n.is_empty())
    }
    async fn tags(&self) -> &[String] {
        &self.0.tags
    }
    async fn source_name(&self) -> &str {
        &self.0.source_name
    }
    async fn customer(&self, ctx: &Context<'_>) -> Option<CustomerNode> {
        let id = self.0.customer_id?;
        shop(ctx)
            .read()
            .customers
            .get(&id)
            .cloned()
            .map(CustomerNode)
    }
    async fn shipping_address(&self) -> Option<MailingAddress> {
        self.0.shipping_address.as_ref().map(Address::node)
    }
    async fn billing_address(&self) -> Option<MailingAddress> {
        self.0.billing_address.as_ref().map(Address::node)
    }
    async fn subtotal_price_set(&self) -> MoneyBag {
        MoneyBag::of(self.0.subtotal())
    }
    async fn total_price_set(&self) -> MoneyBag {
        MoneyBag::of(self.0.total())
    }
    async fn total_shipping_price_set(&self) -> MoneyBag {
        MoneyBag::of(self.0.shipping)
    }
    async fn total_tax_set(&self) -> MoneyBag {
        MoneyBag::of(self.0.tax)
    }
    async fn line_items(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, LineItemNode>> {
        let items = self
            .0
            .lines
            .iter()
            .map(|l| {
                (
                    (l.id as i64, l.id),
                    LineItemNode {
                        line: l.clone(),
                        remaining: self.0.remaining(l),
                    },
                )
            })
            .collect();
        page(
            items,
            &Paging {
                first,
                after,
                ..Paging::default()
            },
        )
    }
    async fn fulfillment_orders(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, FulfillmentOrderNode>> {
        let fo = FulfillmentOrderNode(self.0.clone());
        page(
            vec![((self.0.id as i64, self.0.id), fo)],
            &Paging {
                first,
                after,
                ..Paging::default()
            },
        )
    }
    async fn fulfillments(&self, first: Option<i32>) -> Vec<FulfillmentNode> {
        let n = first.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(0));
        self.0
            .fulfillments
            .iter()
            .take(n)
            .map(|f| FulfillmentNode {
                fulfillment: f.clone(),
                order: self.0.clone(),
            })
            .collect()
    }
    async fn metafield(&self, namespace: Option<String>, key: String) -> Option<Metafield> {
        let namespace = namespace.unwrap_or_else(|| "custom".into());
        let (kind, value) = self.0.metafields.get(&format!("{namespace}.{key}"))?;
        Some(Metafield {
            id: ID(format!(
                "gid://shopify/Metafield/{}{}",
                self.0.id,
                key.len()
            )),
            namespace,
            key,
            value: value.clone(),
            kind: kind.clone(),
        })
    }
}

/// `LineItem`.
#[derive(Debug, Clone)]
pub(crate) struct LineItemNode {
    line: LineItem,
    remaining: i64,
}

#[Object(name = "LineItem")]
impl LineItemNode {
    async fn id(&self) -> ID {
        gid("LineItem", self.line.id)
    }
    async fn sku(&self) -> Option<&str> {
        Some(self.line.sku.as_str()).filter(|s| !s.is_empty())
    }
    async fn title(&self) -> &str {
        &self.line.title
    }
    async fn name(&self) -> &str {
        &self.line.title
    }
    async fn quantity(&self) -> i64 {
        self.line.quantity
    }
    async fn current_quantity(&self) -> i64 {
        self.line.quantity
    }
    async fn unfulfilled_quantity(&self) -> i64 {
        self.remaining
    }
    async fn original_unit_price_set(&self) -> MoneyBag {
        MoneyBag::of(self.line.price)
    }
    async fn discounted_unit_price_set(&self) -> MoneyBag {
        MoneyBag::of(self.line.price)
    }
    async fn variant(&self, ctx: &Context<'_>) -> Option<VariantNode> {
        let id = self.line.variant_id?;
        shop(ctx).read().variants.get(&id).cloned().map(VariantNode)
    }
}

/// `FulfillmentOrder`: the emulator keeps one per order, at the order's location.
#[derive(Debug, Clone)]
pub(crate) struct FulfillmentOrderNode(Order);

/// `FulfillmentOrderLineItem`.
#[derive(Debug, Clone)]
struct FulfillmentOrderLineNode {
    line: LineItem,
    remaining: i64,
}

#[Object(name = "FulfillmentOrderLineItem")]
impl FulfillmentOrderLineNode {
    async fn id(&self) -> ID {
        gid("FulfillmentOrderLineItem", self.line.id)
    }
    async fn sku(&self) -> Option<&str> {
        Some(self.line.sku.as_str()).filter(|s| !s.is_empty())
    }
    async fn total_quantity(&self) -> i64 {
        self.line.quantity
    }
    async fn remaining_quantity(&self) -> i64 {
        self.remaining
    }
    async fn line_item(&self) -> LineItemNode {
        LineItemNode {
            line: self.line.clone(),
            remaining: self.remaining,
        }
    }
}

#[Object(name = "FulfillmentOrder")]
impl FulfillmentOrderNode {
    async fn id(&self) -> ID {
        gid("FulfillmentOrder", self.0.id)
    }
    /// OPEN, IN_PROGRESS, CLOSED or CANCELLED.
    async fn status(&self) -> &str {
        if self.0.cancelled_ms.is_some() {
            "CANCELLED"
        } else {
            match self.0.fulfillment_status() {
                "FULFILLED" => "CLOSED",
                "PARTIALLY_FULFILLED" => "IN_PROGRESS",
                _ => "OPEN",
            }
        }
    }
    async fn order_id(&self) -> ID {
        gid("Order", self.0.id)
    }
    async fn line_items(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, FulfillmentOrderLineNode>> {
        let items = self
            .0
            .lines
            .iter()
            .map(|l| {
                (
                    (l.id as i64, l.id),
                    FulfillmentOrderLineNode {
                        line: l.clone(),
                        remaining: self.0.remaining(l),
                    },
                )
            })
            .collect();
        page(
            items,
            &Paging {
                first,
                after,
                ..Paging::default()
            },
        )
    }
}

/// `Fulfillment`.
#[derive(Debug, Clone)]
struct FulfillmentNode {
    fulfillment: Fulfillment,
    order: Order,
}

/// `FulfillmentLineItem`.
#[derive(Debug, Clone, SimpleObject)]
struct FulfillmentLine {
    id: ID,
    quantity: i64,
    line_item: LineItemNode,
}

#[Object(name = "Fulfillment")]
impl FulfillmentNode {
    async fn id(&self) -> ID {
        gid("Fulfillment", self.fulfillment.id)
    }
    async fn status(&self) -> &str {
        "SUCCESS"
    }
    async fn created_at(&self) -> DateTime {
        DateTime::of(self.fulfillment.created_ms)
    }
    async fn tracking_info(&self, first: Option<i32>) -> Vec<TrackingInfo> {
        let n = first.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(0));
        self.fulfillment.tracking.iter().take(n).cloned().collect()
    }
    async fn fulfillment_line_items(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, FulfillmentLine>> {
        let items = self
            .fulfillment
            .lines
            .iter()
            .filter_map(|(line, qty)| {
                let l = self.order.lines.iter().find(|l| l.id == *line)?;
                Some((
                    (l.id as i64, l.id),
                    FulfillmentLine {
                        id: gid(
                            "FulfillmentLineItem",
                            self.fulfillment.id * 1000 + l.id % 1000,
                        ),
                        quantity: *qty,
                        line_item: LineItemNode {
                            line: l.clone(),
                            remaining: self.order.remaining(l),
                        },
                    },
                ))
            })
            .collect();
        page(
            items,
            &Paging {
                first,
                after,
                ..Paging::default()
            },
        )
    }
}

fn order_field(data: &Data, o: &Order, field: &str) -> Option<Vec<Field>> {
    Some(match field {
        "id" => vec![Field::Number(o.id as i64)],
        "name" | "default" => vec![
            Field::Text(format!("#{}", o.number)),
            Field::Text(o.number.to_string()),
        ],
        "email" => vec![Field::Text(o.email.clone())],
        "status" => vec![Field::Text(o.status().into())],
        "financial_status" => vec![Field::Text(o.financial_status.to_lowercase())],
        "fulfillment_status" => vec![Field::Text(
            match o.fulfillment_status() {
                "FULFILLED" => "shipped",
                "PARTIALLY_FULFILLED" => "partial",
                _ => "unshipped",
            }
            .into(),
        )],
        "customer_id" => o
            .customer_id
            .map(|c| Field::Number(c as i64))
            .into_iter()
            .collect(),
        "sku" => o.lines.iter().map(|l| Field::Text(l.sku.clone())).collect(),
        "tag" => o.tags.iter().map(|t| Field::Text(t.clone())).collect(),
        "updated_at" => vec![Field::Time(o.updated_ms)],
        "created_at" | "processed_at" => vec![Field::Time(o.created_ms)],
        _ => {
            let _ = data;
            return None;
        }
    })
}

/// `OrderCancelReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub(crate) enum OrderCancelReason {
    Customer,
    Declined,
    Fraud,
    Inventory,
    Other,
    Staff,
}

/// How order lists sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub(crate) enum OrderSortKeys {
    Id,
    UpdatedAt,
    CreatedAt,
    ProcessedAt,
}

#[derive(Default)]
pub(crate) struct OrderQuery;

#[Object]
impl OrderQuery {
    #[allow(clippy::too_many_arguments)]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
        query: Option<String>,
        sort_key: Option<OrderSortKeys>,
    ) -> async_graphql::Result<Connection<String, OrderNode>> {
        let data = shop(ctx).read();
        let search = Search::parse(query.as_deref());
        let items = data
            .orders
            .values()
            .filter(|o| search.matches(|f| order_field(&data, o, f)))
            .map(|o| {
                let key = match sort_key.unwrap_or(OrderSortKeys::Id) {
                    OrderSortKeys::Id => (o.id as i64, o.id),
                    OrderSortKeys::UpdatedAt => (o.updated_ms, o.id),
                    OrderSortKeys::CreatedAt | OrderSortKeys::ProcessedAt => (o.created_ms, o.id),
                };
                (key, OrderNode(o.clone()))
            })
            .collect();
        page(
            items,
            &Paging {
                first,
                after,
                last,
                before,
                reverse: reverse.unwrap_or(false),
            },
        )
    }

    async fn order(&self, ctx: &Context<'_>, id: ID) -> Option<OrderNode> {
        let id = id_of("Order", &id)?;
        shop(ctx).read().orders.get(&id).cloned().map(OrderNode)
    }

    async fn fulfillment_order(&self, ctx: &Context<'_>, id: ID) -> Option<FulfillmentOrderNode> {
        let id = id_of("FulfillmentOrder", &id)?;
        shop(ctx)
            .read()
            .orders
            .get(&id)
            .cloned()
            .map(FulfillmentOrderNode)
    }

    async fn job(&self, ctx: &Context<'_>, id: ID) -> Option<Job> {
        let n = id_of("Job", &id)?;
        let done = shop(ctx)
            .read()
            .orders
            .values()
            .any(|o| o.cancelled_ms.is_some() && o.id == n);
        Some(Job { id, done })
    }
}

/// `OrderCreateLineItemInput`.
#[derive(Debug, Clone, InputObject)]
struct OrderLineInput {
    variant_id: Option<ID>,
    quantity: i64,
    title: Option<String>,
    sku: Option<String>,
    price_set: Option<MoneyBagInput>,
}

/// `MoneyBagInput`.
#[derive(Debug, Clone, InputObject)]
struct MoneyBagInput {
    shop_money: MoneyInput,
}

/// `MoneyInput`.
#[derive(Debug, Clone, InputObject)]
struct MoneyInput {
    amount: Money,
    currency_code: String,
}

/// `OrderCreateShippingLineInput`.
#[derive(Debug, Clone, InputObject)]
struct ShippingLineInput {
    title: Option<String>,
    price_set: MoneyBagInput,
}

/// `OrderCreateAssociateCustomerAttributesInput` / `OrderCreateUpsertCustomerAttributesInput`.
#[derive(Debug, Clone, InputObject)]
struct OrderCustomerInput {
    to_associate: Option<AssociateInput>,
    to_upsert: Option<UpsertInput>,
}

/// `OrderCreateAssociateCustomerAttributesInput`.
#[derive(Debug, Clone, InputObject)]
struct AssociateInput {
    id: ID,
}

/// `OrderCreateUpsertCustomerAttributesInput`.
#[derive(Debug, Clone, InputObject)]
struct UpsertInput {
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

/// `OrderCreateOrderInput`.
#[derive(Debug, Clone, InputObject)]
struct OrderCreateOrderInput {
    email: Option<String>,
    line_items: Vec<OrderLineInput>,
    customer: Option<OrderCustomerInput>,
    shipping_address: Option<MailingAddressInput>,
    billing_address: Option<MailingAddressInput>,
    shipping_lines: Option<Vec<ShippingLineInput>>,
    financial_status: Option<String>,
    note: Option<String>,
    tags: Option<Vec<String>>,
    source_name: Option<String>,
}

/// `OrderCreatePayload` / `OrderUpdatePayload` / `OrderClosePayload`.
#[derive(SimpleObject)]
struct OrderPayload {
    order: Option<OrderNode>,
    user_errors: Vec<UserError>,
}

impl OrderPayload {
    fn refused(e: UserError) -> Self {
        Self {
            order: None,
            user_errors: vec![e],
        }
    }
}

/// `OrderInput` (orderUpdate) / `OrderCloseInput`.
#[derive(Debug, Clone, InputObject)]
struct OrderInput {
    id: ID,
    email: Option<String>,
    note: Option<String>,
    tags: Option<Vec<String>>,
    shipping_address: Option<MailingAddressInput>,
}

/// `OrderCancelPayload`.
#[derive(SimpleObject)]
struct OrderCancelPayload {
    job: Option<Job>,
    order_cancel_user_errors: Vec<UserError>,
    user_errors: Vec<UserError>,
}

/// `FulfillmentOrderLineItemInput`.
#[derive(Debug, Clone, InputObject)]
struct FoLineInput {
    id: ID,
    quantity: i64,
}

/// `FulfillmentOrderLineItemsInput`.
#[derive(Debug, Clone, InputObject)]
struct FoInput {
    fulfillment_order_id: ID,
    fulfillment_order_line_items: Option<Vec<FoLineInput>>,
}

/// `FulfillmentTrackingInput`.
#[derive(Debug, Clone, InputObject)]
struct TrackingInput {
    company: Option<String>,
    number: Option<String>,
    numbers: Option<Vec<String>>,
    url: Option<String>,
}

/// `FulfillmentInput`.
#[derive(Debug, Clone, InputObject)]
struct FulfillmentInput {
    line_items_by_fulfillment_order: Vec<FoInput>,
    tracking_info: Option<TrackingInput>,
    notify_customer: Option<bool>,
}

/// `FulfillmentCreatePayload`.
#[derive(SimpleObject)]
struct FulfillmentPayload {
    fulfillment: Option<FulfillmentNode>,
    user_errors: Vec<UserError>,
}

/// `MetafieldsSetInput`.
#[derive(Debug, Clone, InputObject)]
struct MetafieldsSetInput {
    owner_id: ID,
    namespace: Option<String>,
    key: String,
    #[graphql(name = "type")]
    kind: Option<String>,
    value: String,
}

/// `MetafieldsSetPayload`.
#[derive(SimpleObject)]
struct MetafieldsSetPayload {
    metafields: Option<Vec<Metafield>>,
    user_errors: Vec<UserError>,
}

/// Announces an order change (`orders/updated`, and the topic of what happened).
pub(crate) fn announce(shop: &Shop, id: u64, topics: &[&str]) {
    let payload = {
        let data = shop.read();
        match data.orders.get(&id) {
            Some(o) => o.payload(&data),
            None => return,
        }
    };
    for topic in topics {
        shop.changed(format!("orders/{id}"), topic, payload.clone());
    }
}

fn create_order(data: &mut Data, input: OrderCreateOrderInput) -> Result<u64, UserError> {
    if input.line_items.is_empty() {
        return Err(UserError::new(
            &["order", "lineItems"],
            "Line items can't be empty",
            "BLANK",
        ));
    }
    let now = now_ms();
    let mut lines = Vec::new();
    for (n, l) in input.line_items.iter().enumerate() {
        let n = n.to_string();
        if l.quantity < 1 {
            return Err(UserError::new(
                &["order", "lineItems", &n, "quantity"],
                "Quantity must be at least 1",
                "INVALID",
            ));
        }
        let variant = match &l.variant_id {
            Some(id) => Some(
                id_of("ProductVariant", id)
                    .and_then(|v| data.variants.get(&v))
                    .cloned()
                    .ok_or_else(|| {
                        UserError::new(
                            &["order", "lineItems", &n, "variantId"],
                            "Variant does not exist",
                            "INVALID",
                        )
                    })?,
            ),
            None => None,
        };
        let title = match (&variant, &l.title) {
            (_, Some(t)) => t.clone(),
            (Some(v), None) => data
                .products
                .get(&v.product_id)
                .map(|p| p.title.clone())
                .unwrap_or_default(),
            (None, None) => {
                return Err(UserError::new(
                    &["order", "lineItems", &n],
                    "A custom line item needs a title",
                    "BLANK",
                ));
            }
        };
        lines.push(LineItem {
            id: 0,
            variant_id: variant.as_ref().map(|v| v.id),
            product_id: variant.as_ref().map(|v| v.product_id),
            sku: l
                .sku
                .clone()
                .or_else(|| variant.as_ref().map(|v| v.sku.clone()))
                .unwrap_or_default(),
            title,
            quantity: l.quantity,
            price: l
                .price_set
                .as_ref()
                .map(|p| p.shop_money.amount.value())
                .or_else(|| variant.as_ref().map(|v| v.price))
                .unwrap_or(0.0),
        });
    }
    let upsert = input.customer.as_ref().and_then(|c| c.to_upsert.clone());
    let email = input
        .email
        .clone()
        .or_else(|| upsert.as_ref().and_then(|u| u.email.clone()))
        .unwrap_or_default();
    let customer_id = match input
        .customer
        .as_ref()
        .and_then(|c| c.to_associate.as_ref())
    {
        Some(a) => Some(
            id_of("Customer", &a.id)
                .filter(|c| data.customers.contains_key(c))
                .ok_or_else(|| {
                    UserError::new(
                        &["order", "customer", "toAssociate", "id"],
                        "Customer does not exist",
                        "INVALID",
                    )
                })?,
        ),
        None if !email.is_empty() => {
            let existing = data
                .customers
                .values()
                .find(|c| c.email.eq_ignore_ascii_case(&email))
                .map(|c| c.id);
            match existing {
                Some(id) => Some(id),
                None => {
                    let input = CustomerInput::for_order(
                        &email,
                        upsert.as_ref().and_then(|u| u.first_name.clone()),
                        upsert.as_ref().and_then(|u| u.last_name.clone()),
                        input.shipping_address.clone(),
                    );
                    Some(super::customers::write(data, None, input)?.0.id)
                }
            }
        }
        None => None,
    };
    let location = data.locations.keys().next().copied();
    for l in &mut lines {
        l.id = data.id();
        if let (Some(v), Some(loc)) = (l.variant_id, location) {
            let level = data.levels.entry(v).or_default().entry(loc).or_default();
            level.available -= l.quantity;
            level.committed += l.quantity;
        }
    }
    let id = data.id();
    data.next_order_number += 1;
    let address = |a: &Option<MailingAddressInput>, data: &mut Data| {
        a.as_ref().map(|a| Address::from_input(data.id(), a))
    };
    let shipping_address = address(&input.shipping_address, data);
    let billing_address =
        address(&input.billing_address, data).or_else(|| shipping_address.clone());
    let order = Order {
        id,
        number: data.next_order_number,
        email,
        customer_id,
        lines,
        shipping_address,
        billing_address,
        shipping: input
            .shipping_lines
            .iter()
            .flatten()
            .map(|s| s.price_set.shop_money.amount.value())
            .sum(),
        tax: 0.0,
        financial_status: input
            .financial_status
            .unwrap_or_else(|| "PAID".into())
            .to_uppercase(),
        fulfillments: Vec::new(),
        cancelled_ms: None,
        cancel_reason: None,
        closed_ms: None,
        note: input.note.unwrap_or_default(),
        tags: input.tags.unwrap_or_default(),
        source_name: input.source_name.unwrap_or_else(|| "web".into()),
        location_id: location,
        metafields: BTreeMap::new(),
        created_ms: now,
        updated_ms: now,
    };
    data.orders.insert(id, order);
    Ok(id)
}

impl CustomerInput {
    fn for_order(
        email: &str,
        first_name: Option<String>,
        last_name: Option<String>,
        address: Option<MailingAddressInput>,
    ) -> Self {
        let first = first_name.or_else(|| address.as_ref().and_then(|a| a.first_name.clone()));
        let last = last_name.or_else(|| address.as_ref().and_then(|a| a.last_name.clone()));
        Self::new(email, first, last, address)
    }
}

fn order_in(data: &Data, id: &ID, field: &[&str]) -> Result<Order, UserError> {
    id_of("Order", id)
        .and_then(|n| data.orders.get(&n).cloned())
        .ok_or_else(|| UserError::new(field, "Order does not exist", "NOT_FOUND"))
}

fn cancel(shop: &Shop, id: u64, reason: String, refund: bool, restock: bool) {
    {
        let mut data = shop.write();
        let Some(mut order) = data.orders.get(&id).cloned() else {
            return;
        };
        let now = now_ms();
        order.cancelled_ms = Some(now);
        order.cancel_reason = Some(reason);
        order.closed_ms = Some(now);
        order.updated_ms = now;
        if refund {
            order.financial_status = match order.financial_status.as_str() {
                "PAID" | "PARTIALLY_PAID" => "REFUNDED".into(),
                _ => "VOIDED".into(),
            };
        }
        if let (true, Some(loc)) = (restock, order.location_id) {
            for l in &order.lines {
                let open = order.remaining(l);
                if let Some(v) = l.variant_id {
                    let level = data.levels.entry(v).or_default().entry(loc).or_default();
                    level.available += open;
                    level.committed -= open;
                }
            }
        }
        data.orders.insert(id, order);
    }
    announce(shop, id, &["orders/cancelled", "orders/updated"]);
}

#[derive(Default)]
pub(crate) struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Places an order, as a shopper's checkout does; its stock is taken from the first
    /// location.
    async fn order_create(&self, ctx: &Context<'_>, order: OrderCreateOrderInput) -> OrderPayload {
        let shop = shop(ctx);
        let created = create_order(&mut shop.write(), order);
        match created {
            Ok(id) => {
                announce(shop, id, &["orders/create"]);
                let order = shop.read().orders.get(&id).cloned().map(OrderNode);
                OrderPayload {
                    order,
                    user_errors: Vec::new(),
                }
            }
            Err(e) => OrderPayload::refused(e),
        }
    }

    async fn order_update(&self, ctx: &Context<'_>, input: OrderInput) -> OrderPayload {
        let shop = shop(ctx);
        let updated = {
            let mut data = shop.write();
            order_in(&data, &input.id, &["id"]).map(|mut o| {
                if let Some(e) = input.email {
                    o.email = e;
                }
                if let Some(n) = input.note {
                    o.note = n;
                }
                if let Some(t) = input.tags {
                    o.tags = t;
                }
                if let Some(a) = &input.shipping_address {
                    o.shipping_address = Some(Address::from_input(data.next_id + 1, a));
                    data.next_id += 1;
                }
                o.updated_ms = now_ms();
                data.orders.insert(o.id, o.clone());
                o
            })
        };
        match updated {
            Ok(o) => {
                announce(shop, o.id, &["orders/updated"]);
                OrderPayload {
                    order: Some(OrderNode(o)),
                    user_errors: Vec::new(),
                }
            }
            Err(e) => OrderPayload::refused(e),
        }
    }

    /// Closes an order (archives it).
    async fn order_close(&self, ctx: &Context<'_>, input: OrderInput) -> OrderPayload {
        set_closed(shop(ctx), &input.id, true)
    }

    /// Re-opens a closed order.
    async fn order_open(&self, ctx: &Context<'_>, input: OrderInput) -> OrderPayload {
        set_closed(shop(ctx), &input.id, false)
    }

    /// Cancels an order: answered at once with a job; the order is cancelled when the job
    /// runs, moments later.
    #[allow(clippy::too_many_arguments)]
    async fn order_cancel(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        reason: OrderCancelReason,
        refund: Option<bool>,
        restock: bool,
        notify_customer: Option<bool>,
        staff_note: Option<String>,
    ) -> OrderCancelPayload {
        let _ = (notify_customer, staff_note);
        let shop = shop(ctx);
        let checked = {
            let data = shop.read();
            order_in(&data, &order_id, &["orderId"]).and_then(|o| {
                if o.cancelled_ms.is_some() {
                    Err(UserError::new(
                        &["orderId"],
                        "Cannot cancel an order that has already been cancelled",
                        "INVALID",
                    ))
                } else if o.fulfillment_status() != "UNFULFILLED" {
                    Err(UserError::new(
                        &["orderId"],
                        "Cannot cancel an order with fulfillments; cancel them first",
                        "INVALID",
                    ))
                } else {
                    Ok(o)
                }
            })
        };
        match checked {
            Ok(o) => {
                let held = shop.clone();
                let refund = refund.unwrap_or(true);
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    let reason = format!("{reason:?}").to_uppercase();
                    cancel(&held, o.id, reason, refund, restock);
                });
                OrderCancelPayload {
                    job: Some(Job {
                        id: gid("Job", o.id),
                        done: false,
                    }),
                    order_cancel_user_errors: Vec::new(),
                    user_errors: Vec::new(),
                }
            }
            Err(e) => OrderCancelPayload {
                job: None,
                order_cancel_user_errors: vec![e.clone()],
                user_errors: vec![e],
            },
        }
    }

    /// Ships lines of fulfillment orders (all their remaining quantities when no lines are
    /// named), never more than they hold.
    async fn fulfillment_create(
        &self,
        ctx: &Context<'_>,
        fulfillment: FulfillmentInput,
        message: Option<String>,
    ) -> FulfillmentPayload {
        let _ = (message, fulfillment.notify_customer);
        let shop = shop(ctx);
        let made = {
            let mut data = shop.write();
            make_fulfillment(&mut data, &fulfillment)
        };
        match made {
            Ok((order_id, f)) => {
                let order = shop.read().orders.get(&order_id).cloned();
                let topic = match order.as_ref().map(Order::fulfillment_status) {
                    Some("FULFILLED") => "orders/fulfilled",
                    _ => "orders/partially_fulfilled",
                };
                announce(shop, order_id, &[topic, "orders/updated"]);
                FulfillmentPayload {
                    fulfillment: order.map(|order| FulfillmentNode {
                        fulfillment: f,
                        order,
                    }),
                    user_errors: Vec::new(),
                }
            }
            Err(e) => FulfillmentPayload {
                fulfillment: None,
                user_errors: vec![e],
            },
        }
    }

    /// Sets metafields on orders.
    async fn metafields_set(
        &self,
        ctx: &Context<'_>,
        metafields: Vec<MetafieldsSetInput>,
    ) -> MetafieldsSetPayload {
        let shop = shop(ctx);
        let mut data = shop.write();
        let mut out = Vec::new();
        for (n, m) in metafields.iter().enumerate() {
            let n = n.to_string();
            let Some(order) = id_of("Order", &m.owner_id).filter(|o| data.orders.contains_key(o))
            else {
                return MetafieldsSetPayload {
                    metafields: None,
                    user_errors: vec![UserError::new(
                        &["metafields", &n, "ownerId"],
                        "Owner does not exist (the emulator keeps metafields on orders)",
                        "INVALID_VALUE",
                    )],
                };
            };
            if m.key.trim().is_empty() || m.key.len() > 64 {
                return MetafieldsSetPayload {
                    metafields: None,
                    user_errors: vec![UserError::new(
                        &["metafields", &n, "key"],
                        "Key must be 1 to 64 characters",
                        "INVALID_VALUE",
                    )],
                };
            }
            out.push((order, m.clone()));
        }
        let mut set = Vec::new();
        for (order, m) in out {
            let namespace = m.namespace.unwrap_or_else(|| "custom".into());
            let kind = m.kind.unwrap_or_else(|| "single_line_text_field".into());
            if let Some(o) = data.orders.get_mut(&order) {
                o.metafields.insert(
                    format!("{namespace}.{}", m.key),
                    (kind.clone(), m.value.clone()),
                );
            }
            set.push(Metafield {
                id: ID(format!("gid://shopify/Metafield/{order}{}", m.key.len())),
                namespace,
                key: m.key,
                value: m.value,
                kind,
            });
        }
        MetafieldsSetPayload {
            metafields: Some(set),
            user_errors: Vec::new(),
        }
    }
}

fn set_closed(shop: &Arc<Shop>, id: &ID, closed: bool) -> OrderPayload {
    let updated = {
        let mut data = shop.write();
        order_in(&data, id, &["id"]).map(|mut o| {
            let now = now_ms();
            o.closed_ms = closed.then_some(now);
            o.updated_ms = now;
            data.orders.insert(o.id, o.clone());
            o
        })
    };
    match updated {
        Ok(o) => {
            announce(shop, o.id, &["orders/updated"]);
            OrderPayload {
                order: Some(OrderNode(o)),
                user_errors: Vec::new(),
            }
        }
        Err(e) => OrderPayload::refused(e),
    }
}

use std::sync::Arc;

fn make_fulfillment(
    data: &mut Data,
    input: &FulfillmentInput,
) -> Result<(u64, Fulfillment), UserError> {
    let [fo] = input.line_items_by_fulfillment_order.as_slice() else {
        return Err(UserError::new(
            &["fulfillment", "lineItemsByFulfillmentOrder"],
            "The emulator fulfills one fulfillment order per request",
            "INVALID",
        ));
    };
    let order = id_of("FulfillmentOrder", &fo.fulfillment_order_id)
        .and_then(|n| data.orders.get(&n).cloned())
        .ok_or_else(|| {
            UserError::new(
                &[
                    "fulfillment",
                    "lineItemsByFulfillmentOrder",
                    "0",
                    "fulfillmentOrderId",
                ],
                "Fulfillment order does not exist.",
                "NOT_FOUND",
            )
        })?;
    if order.cancelled_ms.is_some() {
        return Err(UserError::new(
            &["fulfillment"],
            "Fulfillment order is cancelled and cannot be fulfilled.",
            "INVALID",
        ));
    }
    let wanted: Vec<(u64, i64)> = match &fo.fulfillment_order_line_items {
        None => order
            .lines
            .iter()
            .map(|l| (l.id, order.remaining(l)))
            .filter(|(_, q)| *q > 0)
            .collect(),
        Some(items) => items
            .iter()
            .map(|i| {
                id_of("FulfillmentOrderLineItem", &i.id)
                    .filter(|l| order.lines.iter().any(|line| line.id == *l))
                    .map(|l| (l, i.quantity))
                    .ok_or_else(|| {
                        UserError::new(
                            &[
                                "fulfillment",
                                "lineItemsByFulfillmentOrder",
                                "0",
                                "fulfillmentOrderLineItems",
                            ],
                            format!("Fulfillment order line item {} does not exist.", i.id.0),
                            "NOT_FOUND",
                        )
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    if wanted.is_empty() {
        return Err(UserError::new(
            &["fulfillment"],
            "The fulfillment order has nothing left to fulfill.",
            "INVALID",
        ));
    }
    for (line, qty) in &wanted {
        let Some(l) = order.lines.iter().find(|l| l.id == *line) else {
            continue;
        };
        if *qty < 1 || *qty > order.remaining(l) {
            return Err(UserError::new(
                &[
                    "fulfillment",
                    "lineItemsByFulfillmentOrder",
                    "0",
                    "fulfillmentOrderLineItems",
                ],
                "Invalid fulfillment order line item quantity requested.",
                "INVALID",
            ));
        }
    }
    let tracking = input
        .tracking_info
        .as_ref()
        .map(|t| {
            let mut numbers: Vec<String> = t.numbers.clone().unwrap_or_default();
            if let Some(n) = &t.number {
                numbers.insert(0, n.clone());
            }
            if numbers.is_empty() {
                numbers.push(String::new());
            }
            numbers
                .into_iter()
                .map(|n| TrackingInfo {
                    company: t.company.clone(),
                    number: Some(n).filter(|n| !n.is_empty()),
                    url: t.url.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let now = now_ms();
    let f = Fulfillment {
        id: data.id(),
        lines: wanted.clone(),
        tracking,
        created_ms: now,
    };
    if let Some(loc) = order.location_id {
        for (line, qty) in &wanted {
            if let Some(v) = order
                .lines
                .iter()
                .find(|l| l.id == *line)
                .and_then(|l| l.variant_id)
            {
                data.levels
                    .entry(v)
                    .or_default()
                    .entry(loc)
                    .or_default()
                    .committed -= qty;
            }
        }
    }
    if let Some(o) = data.orders.get_mut(&order.id) {
        o.fulfillments.push(f.clone());
        o.updated_ms = now;
    }
    Ok((order.id, f))
}

/// The seed's orders: placed a day or more ago, ten minutes apart, paid and unfulfilled.
pub(super) fn seed(
    data: &mut Data,
    dataset: &Dataset,
    customers: &BTreeMap<u64, u64>,
    variants: &BTreeMap<u64, u64>,
    now: i64,
) {
    let count = dataset.orders.len() as i64;
    for (n, o) in dataset.orders.iter().enumerate() {
        let placed = now - 86_400_000 - (count - n as i64) * 600_000;
        let Some(customer) = customers
            .get(&o.customer_id)
            .and_then(|c| data.customers.get(c))
            .cloned()
        else {
            continue;
        };
        let mut lines = Vec::new();
        for (product, qty) in &o.lines {
            let Some(v) = variants
                .get(product)
                .and_then(|v| data.variants.get(v))
                .cloned()
            else {
                continue;
            };
            let title = data
                .products
                .get(&v.product_id)
                .map(|p| p.title.clone())
                .unwrap_or_default();
            lines.push(LineItem {
                id: data.id(),
                variant_id: Some(v.id),
                product_id: Some(v.product_id),
                sku: v.sku.clone(),
                title,
                quantity: i64::from(*qty),
                price: v.price,
            });
        }
        let id = data.id();
        data.next_order_number += 1;
        let address = customer.addresses.first().cloned();
        data.orders.insert(
            id,
            Order {
                id,
                number: data.next_order_number,
                email: customer.email.clone(),
                customer_id: Some(customer.id),
                lines,
                shipping_address: address.clone(),
                billing_address: address,
                shipping: 0.0,
                tax: 0.0,
                financial_status: "PAID".into(),
                fulfillments: Vec::new(),
                cancelled_ms: None,
                cancel_reason: None,
                closed_ms: None,
                note: String::new(),
                tags: Vec::new(),
                source_name: "web".into(),
                location_id: data.locations.keys().next().copied(),
                metafields: BTreeMap::new(),
                created_ms: placed,
                updated_ms: placed,
            },
        );
    }
}
