//! Orders: `orders` (searched by `updated_at`, `name`, `status`…) and `order`, with line
//! items, addresses and money sets; and the seed's order history. The writes are in
//! `order_writes.rs`, fulfillment in `fulfillments.rs`.

use std::collections::BTreeMap;

use async_graphql::{Context, ID, Object, SimpleObject, connection::Connection};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    Data,
    customers::{Address, CustomerNode, MailingAddress},
    fulfillments::FulfillmentNode,
    fulfillments::FulfillmentOrderNode,
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
    pub company: Option<String>,
    pub number: Option<String>,
    pub url: Option<String>,
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
    /// The payment gateway (`manual`, `shopify_payments`…).
    #[serde(default)]
    pub gateway: String,
    /// The shipping rate chosen at checkout.
    #[serde(default)]
    pub shipping_title: String,
    /// `namespace.key` → (type, value).
    pub metafields: BTreeMap<String, (String, String)>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl Order {
    pub(crate) fn subtotal(&self) -> f64 {
        self.lines.iter().map(|l| l.price * l.quantity as f64).sum()
    }

    pub(crate) fn total(&self) -> f64 {
        self.subtotal() + self.shipping + self.tax
    }

    pub(crate) fn fulfilled(&self, line: u64) -> i64 {
        self.fulfillments
            .iter()
            .flat_map(|f| &f.lines)
            .filter(|(l, _)| *l == line)
            .map(|(_, q)| q)
            .sum()
    }

    pub(crate) fn remaining(&self, line: &LineItem) -> i64 {
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

    pub(crate) fn status(&self) -> &'static str {
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
pub(crate) struct Metafield {
    pub id: ID,
    pub namespace: String,
    pub key: String,
    pub value: String,
    #[graphql(name = "type")]
    pub kind: String,
}

/// `ShippingLine`.
#[derive(Debug, Clone, SimpleObject)]
struct ShippingLine {
    title: String,
    original_price_set: MoneyBag,
}

/// `Job`: an asynchronous operation.
#[derive(Debug, Clone, SimpleObject)]
pub(crate) struct Job {
    pub id: ID,
    pub done: bool,
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
    async fn payment_gateway_names(&self) -> Vec<String> {
        (!self.0.gateway.is_empty())
            .then(|| self.0.gateway.clone())
            .into_iter()
            .collect()
    }
    async fn shipping_line(&self) -> Option<ShippingLine> {
        (!self.0.shipping_title.is_empty()).then(|| ShippingLine {
            title: self.0.shipping_title.clone(),
            original_price_set: MoneyBag::of(self.0.shipping),
        })
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
    pub line: LineItem,
    pub remaining: i64,
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
                gateway: "manual".into(),
                shipping_title: "Standard".into(),
                metafields: BTreeMap::new(),
                created_ms: placed,
                updated_ms: placed,
            },
        );
    }
}
