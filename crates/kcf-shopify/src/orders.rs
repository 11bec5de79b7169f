//! Orders on Shopify: reading one (with its lines and addresses) into an order record, its
//! status as kcf keeps it (OPEN, CLOSED or CANCELLED: Shopify's own lifecycle, while payment
//! and fulfilment have their own statuses), shipments as fulfillments of the order's
//! fulfillment orders (with tracking), and the listing of orders changed in a window.
//!
//! A shipment's marker goes into an order metafield (`kcf.shipment_…` = the fulfillment's
//! number), which is how a lost binding is found again. Should kcf stop between creating
//! the fulfillment and writing the metafield, the retry finds the fulfillment it made (the
//! same tracking numbers and the same items) and adopts it instead of fulfilling again.

use kcf_domain::{
    Platform, Timestamp,
    records::{AddressRecord, OrderLineRecord, OrderRecord, ShipmentRecord},
};
use kcf_platform::{
    Listed, ListedPage, OrderState, Outbox, PlatformError, Result, StoreOrder, Window,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    catalog::note,
    client::{Page, ShopifyClient, gid, number_of},
};

/// Open (Shopify's own lifecycle; payment and fulfilment are statuses of their own).
pub const OPEN: &str = "OPEN";
/// Closed (archived).
pub const CLOSED: &str = "CLOSED";
/// Cancelled.
pub const CANCELLED: &str = "CANCELLED";
/// The statuses an order-status mapping may send an order to, with their labels.
pub const STATUSES: &[(&str, &str)] = &[
    (OPEN, "Open"),
    (CLOSED, "Closed (archived)"),
    (CANCELLED, "Cancelled"),
];

const ADDRESS: &str =
    "firstName lastName company address1 address2 city provinceCode zip countryCodeV2 phone";

fn order_fields(lines: bool) -> String {
    let lines = if lines {
        "lineItems(first: 100) { nodes { id sku name quantity originalUnitPriceSet { shopMoney { amount } } } }"
    } else {
        ""
    };
    format!(
        "id legacyResourceId name email createdAt updatedAt cancelledAt closed displayFinancialStatus \
         displayFulfillmentStatus currencyCode totalPriceSet {{ shopMoney {{ amount }} }} \
         paymentGatewayNames shippingLine {{ title }} customer {{ id email }} \
         billingAddress {{ {ADDRESS} }} shippingAddress {{ {ADDRESS} }} {lines}"
    )
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    id: String,
    name: String,
    email: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    cancelled_at: Option<String>,
    #[serde(default)]
    closed: bool,
    display_financial_status: Option<String>,
    display_fulfillment_status: Option<String>,
    currency_code: Option<String>,
    total_price_set: Option<MoneyBag>,
    #[serde(default)]
    payment_gateway_names: Vec<String>,
    shipping_line: Option<Titled>,
    customer: Option<CustomerRef>,
    billing_address: Option<Address>,
    shipping_address: Option<Address>,
    #[serde(default)]
    line_items: Option<Page<Line>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MoneyBag {
    shop_money: Money,
}

#[derive(Debug, Clone, Deserialize)]
struct Money {
    amount: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Titled {
    title: String,
}

#[derive(Debug, Clone, Deserialize)]
struct CustomerRef {
    id: String,
    email: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Address {
    first_name: Option<String>,
    last_name: Option<String>,
    company: Option<String>,
    address1: Option<String>,
    address2: Option<String>,
    city: Option<String>,
    province_code: Option<String>,
    zip: Option<String>,
    #[serde(rename = "countryCodeV2")]
    country_code: Option<String>,
    phone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Line {
    id: String,
    sku: Option<String>,
    name: String,
    quantity: f64,
    original_unit_price_set: MoneyBag,
}

fn time(t: &Option<String>) -> Option<Timestamp> {
    t.as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| Timestamp(t.as_millisecond()))
}

fn state_of(o: &Order) -> OrderState {
    let financial = o.display_financial_status.clone().unwrap_or_default();
    let status = if o.cancelled_at.is_some() {
        CANCELLED
    } else if o.closed {
        CLOSED
    } else {
        OPEN
    };
    let label = STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or(status, |(_, l)| l);
    OrderState {
        status: status.to_owned(),
        label: format!(
            "{label}, {}, {}",
            financial.to_lowercase().replace('_', " "),
            o.display_fulfillment_status
                .as_deref()
                .unwrap_or_default()
                .to_lowercase()
                .replace('_', " ")
        ),
        incomplete: false,
        cancelled: o.cancelled_at.is_some(),
        closed: o.cancelled_at.is_some() || matches!(financial.as_str(), "REFUNDED" | "VOIDED"),
    }
}

fn address(a: &Address, email: &str) -> AddressRecord {
    let t = |v: &Option<String>| v.clone().unwrap_or_default();
    AddressRecord {
        first_name: t(&a.first_name),
        last_name: t(&a.last_name),
        company: t(&a.company),
        line1: t(&a.address1),
        line2: t(&a.address2),
        city: t(&a.city),
        state: t(&a.province_code),
        postal_code: t(&a.zip),
        country: t(&a.country_code),
        phone: t(&a.phone),
        email: email.to_owned(),
    }
}

fn decode(v: &Value) -> Result<Order> {
    serde_json::from_value(v.clone()).map_err(|e| {
        PlatformError::new(
            Platform::Shopify,
            kcf_platform::ErrorKind::Invalid,
            format!("the order does not have the expected shape ({e})"),
        )
    })
}

/// An order, with its lines.
pub(crate) async fn order(client: &ShopifyClient, id: &str) -> Result<Option<StoreOrder>> {
    let data: Value = client
        .query(
            "order",
            &format!(
                "query Order($id: ID!) {{ order(id: $id) {{ {} }} }}",
                order_fields(true)
            ),
            json!({ "id": gid("Order", id) }),
            "reading an order",
        )
        .await?;
    if data["order"].is_null() {
        return Ok(None);
    }
    let o = decode(&data["order"])?;
    Ok(Some(StoreOrder {
        id: number_of(&o.id),
        state: state_of(&o),
        detail: data["order"].clone(),
    }))
}

/// The order as a record (read from what [`order`] returned).
pub(crate) fn order_record(order: &StoreOrder) -> Result<OrderRecord> {
    let o = decode(&order.detail)?;
    let email = o
        .email
        .clone()
        .or_else(|| o.customer.as_ref().and_then(|c| c.email.clone()))
        .unwrap_or_default();
    let billing = o
        .billing_address
        .as_ref()
        .or(o.shipping_address.as_ref())
        .map(|a| address(a, &email))
        .unwrap_or_else(|| AddressRecord {
            email: email.clone(),
            ..AddressRecord::default()
        });
    let amount = |m: &MoneyBag| m.shop_money.amount.parse::<f64>().unwrap_or(0.0);
    Ok(OrderRecord {
        external_id: number_of(&o.id),
        customer_external_id: o.customer.as_ref().map(|c| number_of(&c.id)),
        email: email.clone(),
        status_id: 0,
        status: o.display_financial_status.clone().unwrap_or_default(),
        currency: o.currency_code.clone().unwrap_or_else(|| "USD".into()),
        total: o.total_price_set.as_ref().map_or(0.0, amount),
        payment_method: o.payment_gateway_names.first().cloned().unwrap_or_default(),
        shipping_method: o
            .shipping_line
            .as_ref()
            .map(|s| s.title.clone())
            .unwrap_or_default(),
        billing,
        shipping: o.shipping_address.as_ref().map(|a| address(a, &email)),
        lines: o
            .line_items
            .iter()
            .flat_map(|p| &p.nodes)
            .map(|l| OrderLineRecord {
                external_id: number_of(&l.id),
                sku: l.sku.clone().unwrap_or_default(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: amount(&l.original_unit_price_set),
            })
            .collect(),
        created_at: time(&o.created_at),
        modified_at: time(&o.updated_at),
    })
}

/// Moves order `id` to `status` (OPEN, CLOSED or CANCELLED).
pub(crate) async fn set_status(
    client: &ShopifyClient,
    id: &str,
    status: &str,
    out: &dyn Outbox,
) -> Result<()> {
    let order = gid("Order", id);
    let (name, query, variables, field) = match status {
        OPEN => (
            "orderOpen",
            "mutation OrderOpen($input: OrderOpenInput!) { orderOpen(input: $input) { order { id } userErrors { field message } } }",
            json!({ "input": { "id": order } }),
            "orderOpen",
        ),
        CLOSED => (
            "orderClose",
            "mutation OrderClose($input: OrderCloseInput!) { orderClose(input: $input) { order { id } userErrors { field message } } }",
            json!({ "input": { "id": order } }),
            "orderClose",
        ),
        CANCELLED => (
            "orderCancel",
            "mutation OrderCancel($id: ID!) { orderCancel(orderId: $id, reason: OTHER, refund: false, restock: true, notifyCustomer: false) { job { id done } orderCancelUserErrors { field message code } } }",
            json!({ "id": order }),
            "orderCancel",
        ),
        other => {
            return Err(PlatformError::record(
                Platform::Shopify,
                format!("'{other}' is not a Shopify order status (OPEN, CLOSED or CANCELLED)"),
            ));
        }
    };
    note(
        out,
        None,
        format!("Shopify order {id} ({name})"),
        &variables,
    );
    match client
        .mutate::<Value>(name, query, variables, field, &format!("order {id}"))
        .await
    {
        Ok(_) => Ok(()),
        Err(crate::Error::Refused { errors, .. })
            if status == CANCELLED
                && errors
                    .iter()
                    .any(|e| e.message.contains("already been cancelled")) =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// The metafield key of a shipment marker.
fn marker_key(marker: &str) -> String {
    let mut key: String = marker
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    key.insert_str(0, "shipment_");
    key.truncate(64);
    key
}

/// The fulfillment on order `order` recorded under `marker`.
pub(crate) async fn shipment_marked(
    client: &ShopifyClient,
    order: &str,
    marker: &str,
) -> Result<Option<String>> {
    let data: Value = client
        .query(
            "shipmentMarker",
            "query Marker($id: ID!, $key: String!) { order(id: $id) { metafield(namespace: \"kcf\", key: $key) { value } } }",
            json!({ "id": gid("Order", order), "key": marker_key(marker) }),
            "looking for a shipment's marker",
        )
        .await?;
    Ok(data["order"]["metafield"]["value"]
        .as_str()
        .map(str::to_owned))
}

/// A fulfillment already on the order.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fulfillment {
    id: String,
    #[serde(default)]
    tracking_info: Vec<Tracking>,
    fulfillment_line_items: Page<FulfilledLine>,
}

#[derive(Debug, Deserialize)]
struct Tracking {
    number: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FulfilledLine {
    quantity: i64,
    line_item: FoLineItem,
}

impl Fulfillment {
    /// Whether this is the fulfillment of `record`: the same tracking numbers (at least
    /// one) and the same quantity of each SKU. That is how a fulfillment made just before a
    /// crash, whose marker was never written, is known again.
    fn is_of(&self, record: &ShipmentRecord) -> bool {
        let mut theirs: Vec<String> = self
            .tracking_info
            .iter()
            .filter_map(|t| t.number.clone())
            .collect();
        let mut ours = record.tracking_numbers.clone();
        theirs.sort();
        ours.sort();
        if ours.is_empty() || theirs != ours {
            return false;
        }
        let count = |pairs: &mut dyn Iterator<Item = (String, i64)>| {
            let mut by_sku = std::collections::BTreeMap::<String, i64>::new();
            for (sku, qty) in pairs {
                *by_sku.entry(sku.to_uppercase()).or_default() += qty;
            }
            by_sku
        };
        let shipped = count(
            &mut self
                .fulfillment_line_items
                .nodes
                .iter()
                .map(|l| (l.line_item.sku.clone().unwrap_or_default(), l.quantity)),
        );
        let wanted = count(
            &mut record
                .lines
                .iter()
                .map(|l| (l.sku.clone(), l.quantity.round() as i64)),
        );
        shipped == wanted
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FulfillmentOrder {
    id: String,
    status: String,
    line_items: Page<FoLine>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FoLine {
    id: String,
    remaining_quantity: i64,
    line_item: FoLineItem,
}

#[derive(Debug, Deserialize)]
struct FoLineItem {
    sku: Option<String>,
}

/// Fulfils `record`'s lines on order `order` (with its tracking), then records the
/// fulfillment under `marker`; returns the fulfillment's number.
pub(crate) async fn create_shipment(
    client: &ShopifyClient,
    order: &str,
    record: &ShipmentRecord,
    marker: &str,
    out: &dyn Outbox,
) -> Result<String> {
    let data: Value = client
        .query(
            "fulfillmentOrders",
            // Sized to stay well within Shopify's single-query limit of 1,000 points.
            "query FulfillmentOrders($id: ID!) { order(id: $id) { fulfillmentOrders(first: 5) { nodes { id status lineItems(first: 50) { nodes { id remainingQuantity lineItem { sku } } } } }
              fulfillments(first: 5) { id trackingInfo(first: 5) { number } fulfillmentLineItems(first: 30) { nodes { quantity lineItem { sku } } } } } }",
            json!({ "id": gid("Order", order) }),
            "reading an order's fulfillment orders",
        )
        .await?;
    if data["order"].is_null() {
        return Err(crate::Error::NotFound {
            message: format!("Shopify has no order {order}"),
        }
        .into());
    }
    let made: Vec<Fulfillment> =
        serde_json::from_value(data["order"]["fulfillments"].clone()).unwrap_or_default();
    if let Some(f) = made.iter().find(|f| f.is_of(record)) {
        let id = number_of(&f.id);
        mark(client, order, marker, &id).await?;
        return Ok(id);
    }
    let orders: Vec<FulfillmentOrder> =
        serde_json::from_value(data["order"]["fulfillmentOrders"]["nodes"].clone())
            .unwrap_or_default();
    let mut picked: Vec<(String, Vec<Value>)> = Vec::new();
    for line in &record.lines {
        let mut left = line.quantity.round() as i64;
        for fo in orders
            .iter()
            .filter(|f| matches!(f.status.as_str(), "OPEN" | "IN_PROGRESS"))
        {
            for l in &fo.line_items.nodes {
                let sku_matches = l
                    .line_item
                    .sku
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(&line.sku));
                if left == 0 || !sku_matches || l.remaining_quantity == 0 {
                    continue;
                }
                let take = left.min(l.remaining_quantity);
                left -= take;
                let entry = match picked.iter_mut().find(|(id, _)| *id == fo.id) {
                    Some(e) => e,
                    None => {
                        picked.push((fo.id.clone(), Vec::new()));
                        picked.last_mut().ok_or_else(|| {
                            PlatformError::record(Platform::Shopify, "no fulfillment order")
                        })?
                    }
                };
                entry.1.push(json!({ "id": l.id, "quantity": take }));
            }
        }
        if left > 0 {
            return Err(PlatformError::record(
                Platform::Shopify,
                format!(
                    "shipment {}: Shopify order {order} has {left} fewer of {} left to fulfil than \
                     the ERP shipped",
                    record.key, line.sku
                ),
            ));
        }
    }
    let mut first = None;
    for (fo, lines) in picked {
        let mut tracking = json!({ "company": record.carrier });
        match record.tracking_numbers.as_slice() {
            [] => {}
            [one] => tracking["number"] = json!(one),
            many => tracking["numbers"] = json!(many),
        }
        let body = json!({
            "lineItemsByFulfillmentOrder": [{ "fulfillmentOrderId": fo, "fulfillmentOrderLineItems": lines }],
            "trackingInfo": tracking,
            "notifyCustomer": true,
        });
        note(
            out,
            None,
            format!("Shopify fulfillment on order {order} (create)"),
            &body,
        );
        let payload: Value = client
            .mutate(
                "fulfillmentCreate",
                "mutation FulfillmentCreate($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) { fulfillment { id } userErrors { field message } } }",
                json!({ "f": body }),
                "fulfillmentCreate",
                &format!("the fulfillment of order {order}"),
            )
            .await?;
        if first.is_none() {
            first = payload["fulfillment"]["id"].as_str().map(number_of);
        }
    }
    let Some(id) = first else {
        return Err(PlatformError::record(
            Platform::Shopify,
            format!("shipment {} has no lines to fulfil", record.key),
        ));
    };
    mark(client, order, marker, &id).await?;
    Ok(id)
}

/// Records fulfillment `id` under `marker` on order `order`.
async fn mark(client: &ShopifyClient, order: &str, marker: &str, id: &str) -> Result<()> {
    let _: Value = client
        .mutate(
            "metafieldsSet",
            "mutation Marker($m: [MetafieldsSetInput!]!) { metafieldsSet(metafields: $m) { metafields { key } userErrors { field message code } } }",
            json!({ "m": [{
                "ownerId": gid("Order", order), "namespace": "kcf", "key": marker_key(marker),
                "type": "single_line_text_field", "value": id,
            }] }),
            "metafieldsSet",
            "the shipment's marker",
        )
        .await?;
    Ok(())
}

/// Orders per listing page.
const ORDER_PAGE: usize = 100;

fn search_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms - ms.rem_euclid(1000))
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// One page of the orders changed in `window`, after cursor `after`.
pub(crate) async fn changed(
    client: &ShopifyClient,
    window: &Window,
    after: Option<&str>,
) -> Result<ListedPage> {
    // Shopify's times have whole seconds: the window is widened to them, then cut exactly.
    let to = window.to.millis();
    let mut terms = Vec::new();
    if let Some(from) = window.from {
        terms.push(format!("updated_at:>='{}'", search_time(from.millis())));
    }
    let end_op = if to.rem_euclid(1000) == 0 { "<" } else { "<=" };
    terms.push(format!("updated_at:{end_op}'{}'", search_time(to)));
    let data: Value = client
        .query(
            "ordersChanged",
            &format!(
                "query Changed($q: String!, $after: String, $n: Int!) {{ orders(first: $n, after: $after, query: $q, sortKey: UPDATED_AT) {{ nodes {{ {} }} pageInfo {{ hasNextPage endCursor }} }} }}",
                order_fields(false)
            ),
            json!({ "q": terms.join(" AND "), "after": after, "n": ORDER_PAGE }),
            "listing orders",
        )
        .await
        .map_err(|e| PlatformError::from(e).doing("listing orders"))?;
    let nodes = data["orders"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut records = Vec::new();
    for node in nodes {
        let o = decode(&node)?;
        let modified = time(&o.updated_at);
        if modified.is_some_and(|m| m >= window.to)
            || window.from.is_some_and(|f| {
                modified.is_some_and(|m| m < Timestamp(f.millis() - f.millis().rem_euclid(1000)))
            })
        {
            continue;
        }
        let state = state_of(&o);
        records.push(Listed {
            key: number_of(&o.id),
            description: format!(
                "Order {} {} ({})",
                o.name,
                o.email.clone().unwrap_or_default(),
                state.label
            ),
            payload: node,
            modified,
        });
    }
    let info = &data["orders"]["pageInfo"];
    let next = if info["hasNextPage"].as_bool().unwrap_or(false) {
        info["endCursor"].as_str().map(str::to_owned)
    } else {
        None
    };
    Ok(ListedPage { records, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_become_metafield_keys() {
        assert_eq!(
            marker_key("Acumatica shipment SH-001"),
            "shipment_Acumatica_shipment_SH_001"
        );
        assert!(marker_key(&"x".repeat(200)).len() <= 64);
    }

    #[test]
    fn the_status_is_the_lifecycle_and_the_label_says_the_rest() {
        let o: Order = serde_json::from_value(json!({
            "id": "gid://shopify/Order/5", "name": "#1001", "closed": false,
            "displayFinancialStatus": "PAID", "displayFulfillmentStatus": "PARTIALLY_FULFILLED",
        }))
        .unwrap_or_else(|_| panic!("order decodes"));
        let s = state_of(&o);
        assert_eq!(s.status, OPEN);
        assert_eq!(s.label, "Open, paid, partially fulfilled");
        assert!(!s.closed && !s.cancelled);
    }
}
