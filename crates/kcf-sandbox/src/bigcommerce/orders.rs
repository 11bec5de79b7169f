//! v2 orders: list (a bare array; 204 when empty), get, create, update (status), their
//! products and shipping addresses, shipments, and the order statuses.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Value, json};

use super::{
    Bc, Data,
    error::{BcError, BcResult},
    now_ms,
    params::{Fields, Params, json_body, rfc2822},
};
use crate::seed::SeedOrder;

/// BigCommerce's order statuses, by id.
pub const STATUSES: [&str; 15] = [
    "Incomplete",
    "Pending",
    "Shipped",
    "Partially Shipped",
    "Refunded",
    "Cancelled",
    "Declined",
    "Awaiting Payment",
    "Awaiting Pickup",
    "Awaiting Shipment",
    "Completed",
    "Awaiting Fulfillment",
    "Manual Verification Required",
    "Disputed",
    "Partially Refunded",
];

/// An order line (`/v2/orders/{id}/products`).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct OrderProduct {
    id: u64,
    order_id: u64,
    product_id: u64,
    order_address_id: u64,
    name: String,
    sku: String,
    quantity: u32,
    quantity_shipped: u32,
    price_ex_tax: String,
    price_inc_tax: String,
    total_ex_tax: String,
    total_inc_tax: String,
}

/// A shipment (`/v2/orders/{id}/shipments`).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Shipment {
    id: u64,
    order_id: u64,
    customer_id: u64,
    order_address_id: u64,
    date_created: String,
    tracking_number: String,
    shipping_method: String,
    shipping_provider: String,
    tracking_carrier: String,
    tracking_link: String,
    generated_tracking_link: String,
    comments: String,
    items: Vec<Value>,
}

/// An order with its lines, addresses and shipments.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Order {
    pub(super) id: u64,
    customer_id: u64,
    status_id: u64,
    created_ms: i64,
    modified_ms: i64,
    shipped_ms: Option<i64>,
    billing_address: Value,
    shipping_addresses: Vec<Value>,
    lines: Vec<OrderProduct>,
    shipments: Vec<Shipment>,
    external_id: Option<String>,
    payment_method: String,
    customer_message: String,
    staff_notes: String,
}

fn money(v: f64) -> String {
    format!("{v:.4}")
}

impl Order {
    fn email(&self) -> &str {
        self.billing_address["email"].as_str().unwrap_or("")
    }

    fn to_json(&self, base: &str) -> Value {
        let subtotal: f64 = self
            .lines
            .iter()
            .map(|l| l.total_inc_tax.parse::<f64>().unwrap_or(0.0))
            .sum();
        let items_total: u32 = self.lines.iter().map(|l| l.quantity).sum();
        let items_shipped: u32 = self.lines.iter().map(|l| l.quantity_shipped).sum();
        let link = |what: &str| json!({ "url": format!("{base}/v2/orders/{}/{what}", self.id), "resource": format!("/orders/{}/{what}", self.id) });
        json!({
            "id": self.id,
            "customer_id": self.customer_id,
            "date_created": rfc2822(self.created_ms),
            "date_modified": rfc2822(self.modified_ms),
            "date_shipped": self.shipped_ms.map(rfc2822).unwrap_or_default(),
            "status_id": self.status_id,
            "status": STATUSES.get(self.status_id as usize).copied().unwrap_or("Unknown"),
            "subtotal_ex_tax": money(subtotal),
            "subtotal_inc_tax": money(subtotal),
            "total_ex_tax": money(subtotal),
            "total_inc_tax": money(subtotal),
            "items_total": items_total,
            "items_shipped": items_shipped,
            "payment_method": self.payment_method,
            "payment_status": if self.status_id == 5 { "void" } else { "captured" },
            "currency_code": "USD",
            "channel_id": 1,
            "external_id": self.external_id,
            "customer_message": self.customer_message,
            "staff_notes": self.staff_notes,
            "billing_address": self.billing_address,
            "products": link("products"),
            "shipping_addresses": link("shipping_addresses"),
            "shipments": link("shipments"),
        })
    }

    pub(super) fn seeded(o: &SeedOrder, data: &Data, now: i64) -> Option<Self> {
        let customer = data.customers.get(&o.customer_id)?;
        let address = json!({
            "first_name": customer_field(customer, "first_name"),
            "last_name": customer_field(customer, "last_name"),
            "company": "", "street_1": "1 Sample Street", "street_2": "", "city": "Austin",
            "state": "Texas", "zip": "78701", "country": "United States", "country_iso2": "US",
            "phone": "", "email": customer_field(customer, "email"),
        });
        let mut order = Order {
            id: o.id,
            customer_id: o.customer_id,
            status_id: 11,
            created_ms: now,
            modified_ms: now,
            shipped_ms: None,
            billing_address: address.clone(),
            shipping_addresses: Vec::new(),
            lines: Vec::new(),
            shipments: Vec::new(),
            external_id: None,
            payment_method: "Credit Card".into(),
            customer_message: String::new(),
            staff_notes: String::new(),
        };
        let address_id = o.id * 10 + 1;
        order
            .shipping_addresses
            .push(shipping_address(address_id, o.id, &address));
        for (n, (product_id, qty)) in o.lines.iter().enumerate() {
            let p = data.products.get(product_id)?;
            order.lines.push(line(
                o.id * 100 + n as u64 + 1,
                o.id,
                address_id,
                *product_id,
                product_field(p, "name"),
                product_field(p, "sku"),
                *qty,
                product_price(p),
            ));
        }
        Some(order)
    }
}

fn customer_field(c: &super::Customer, name: &str) -> String {
    serde_json::to_value(c)
        .ok()
        .and_then(|v| v[name].as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn product_field(p: &super::Product, name: &str) -> String {
    serde_json::to_value(p)
        .ok()
        .and_then(|v| v[name].as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn product_price(p: &super::Product) -> f64 {
    serde_json::to_value(p)
        .ok()
        .and_then(|v| v["price"].as_f64())
        .unwrap_or(0.0)
}

#[allow(clippy::too_many_arguments)]
fn line(
    id: u64,
    order_id: u64,
    address_id: u64,
    product_id: u64,
    name: String,
    sku: String,
    qty: u32,
    price: f64,
) -> OrderProduct {
    OrderProduct {
        id,
        order_id,
        product_id,
        order_address_id: address_id,
        name,
        sku,
        quantity: qty,
        quantity_shipped: 0,
        price_ex_tax: money(price),
        price_inc_tax: money(price),
        total_ex_tax: money(price * f64::from(qty)),
        total_inc_tax: money(price * f64::from(qty)),
    }
}

fn shipping_address(id: u64, order_id: u64, address: &Value) -> Value {
    let mut a = address.clone();
    a["id"] = json!(id);
    a["order_id"] = json!(order_id);
    a["shipping_method"] = json!("Flat Rate");
    a
}

fn order_or_404(data: &Data, id: u64) -> BcResult<&Order> {
    data.orders
        .get(&id)
        .ok_or_else(|| BcError::not_found("order"))
}

fn base_url(bc: &Bc) -> String {
    format!("/stores/{}", bc.config.store_hash)
}

pub(super) async fn statuses() -> Json<Value> {
    Json(Value::Array(
        STATUSES
            .iter()
            .enumerate()
            .map(|(id, name)| json!({ "id": id, "name": name, "system_label": name, "custom_label": name, "system_description": "", "order": id }))
            .collect(),
    ))
}

pub(super) async fn list(
    State(bc): State<Arc<Bc>>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> BcResult<Response> {
    let p = Params::new(pairs);
    let (min_id, max_id) = (p.int("min_id")?, p.int("max_id")?);
    let status = p.int("status_id")?;
    let customer = p.int("customer_id")?;
    let email = p.get("email").map(str::to_lowercase);
    let (c_min, c_max) = (p.time("min_date_created")?, p.time("max_date_created")?);
    let (m_min, m_max) = (p.time("min_date_modified")?, p.time("max_date_modified")?);
    let page = p.page()?;
    let base = base_url(&bc);
    let data = bc.read();
    let mut found: Vec<&Order> = data
        .orders
        .values()
        .filter(|o| {
            min_id.is_none_or(|v| o.id as i64 >= v) && max_id.is_none_or(|v| o.id as i64 <= v)
        })
        .filter(|o| status.is_none_or(|s| o.status_id as i64 == s))
        .filter(|o| customer.is_none_or(|c| o.customer_id as i64 == c))
        .filter(|o| {
            email
                .as_ref()
                .is_none_or(|e| o.email().to_lowercase() == *e)
        })
        .filter(|o| {
            c_min.is_none_or(|t| o.created_ms >= t) && c_max.is_none_or(|t| o.created_ms <= t)
        })
        .filter(|o| {
            m_min.is_none_or(|t| o.modified_ms >= t) && m_max.is_none_or(|t| o.modified_ms <= t)
        })
        .collect();
    match p.get("sort").unwrap_or("id:asc") {
        "id:asc" | "id" => {}
        "id:desc" => found.reverse(),
        "date_modified:asc" => found.sort_by_key(|o| (o.modified_ms, o.id)),
        "date_modified:desc" => found.sort_by_key(|o| std::cmp::Reverse((o.modified_ms, o.id))),
        "date_created:asc" => found.sort_by_key(|o| (o.created_ms, o.id)),
        other => {
            return Err(BcError::new(
                StatusCode::BAD_REQUEST,
                format!("The sort '{other}' is not supported."),
            ));
        }
    }
    let (items, _) = page.slice(&found, "/v2/orders");
    if items.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(Value::Array(
        items.iter().map(|o| o.to_json(&base)).collect(),
    ))
    .into_response())
}

pub(super) async fn get_one(
    State(bc): State<Arc<Bc>>,
    Path((_, id)): Path<(String, u64)>,
) -> BcResult<Json<Value>> {
    let base = base_url(&bc);
    Ok(Json(order_or_404(&bc.read(), id)?.to_json(&base)))
}

pub(super) async fn products(
    State(bc): State<Arc<Bc>>,
    Path((_, id)): Path<(String, u64)>,
) -> BcResult<Json<Value>> {
    Ok(Json(json!(order_or_404(&bc.read(), id)?.lines)))
}

pub(super) async fn shipping_addresses(
    State(bc): State<Arc<Bc>>,
    Path((_, id)): Path<(String, u64)>,
) -> BcResult<Json<Value>> {
    Ok(Json(json!(
        order_or_404(&bc.read(), id)?.shipping_addresses
    )))
}

pub(super) async fn create(
    State(bc): State<Arc<Bc>>,
    body: Bytes,
) -> BcResult<(StatusCode, Json<Value>)> {
    let body = json_body(&body)?;
    let mut f = Fields::of(&body, "order")?;
    f.require("billing_address");
    f.require("products");
    let customer_id = f.uint("customer_id").unwrap_or(0);
    let status_id = f.uint("status_id").unwrap_or(1);
    if status_id as usize >= STATUSES.len() {
        f.errors.insert(
            "status_id".into(),
            "status_id must be between 0 and 14".into(),
        );
    }
    let external_id = f.string("external_id");
    let payment_method = f
        .string("payment_method")
        .unwrap_or_else(|| "Manual".into());
    let customer_message = f.string("customer_message").unwrap_or_default();
    let billing = body.get("billing_address").cloned().unwrap_or(Value::Null);
    if !billing.is_object() && f.has("billing_address") {
        f.errors.insert(
            "billing_address".into(),
            "billing_address must be an object".into(),
        );
    }
    let lines_in = body
        .get("products")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if f.has("products") && lines_in.is_empty() {
        f.errors.insert(
            "products".into(),
            "products must be a non-empty array".into(),
        );
    }
    f.finish()?;
    let now = now_ms();
    let base = base_url(&bc);
    let mut data = bc.write();
    if customer_id != 0 && !data.customers.contains_key(&customer_id) {
        return Err(BcError::new(
            StatusCode::BAD_REQUEST,
            format!("The customer {customer_id} does not exist."),
        ));
    }
    let id = data.next_order + 1;
    let address_id = id * 10 + 1;
    let shipping = body
        .get("shipping_addresses")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .cloned()
        .unwrap_or_else(|| billing.clone());
    let mut lines = Vec::new();
    for (n, item) in lines_in.iter().enumerate() {
        let qty = item
            .get("quantity")
            .and_then(Value::as_u64)
            .filter(|q| *q > 0)
            .ok_or_else(|| {
                BcError::new(
                    StatusCode::BAD_REQUEST,
                    format!("products[{n}].quantity must be a positive integer"),
                )
            })? as u32;
        let line_id = id * 100 + n as u64 + 1;
        let price_given = item
            .get("price_inc_tax")
            .or_else(|| item.get("price_ex_tax"))
            .and_then(Value::as_f64);
        // A catalog line names its product, or a product's or variant's SKU.
        let by_sku = item
            .get("name")
            .is_none()
            .then(|| item.get("sku").and_then(Value::as_str))
            .flatten()
            .and_then(|sku| {
                data.sku_target(sku)
                    .map(|(pid, _)| (pid, Some(sku.to_owned())))
            });
        let catalog = item
            .get("product_id")
            .and_then(Value::as_u64)
            .map(|pid| (pid, None))
            .or(by_sku);
        match catalog {
            Some((pid, sku)) => {
                let p = data.products.get(&pid).ok_or_else(|| {
                    BcError::new(
                        StatusCode::BAD_REQUEST,
                        format!("products[{n}]: the product {pid} does not exist."),
                    )
                })?;
                let price = price_given.unwrap_or_else(|| product_price(p));
                lines.push(line(
                    line_id,
                    id,
                    address_id,
                    pid,
                    product_field(p, "name"),
                    sku.unwrap_or_else(|| product_field(p, "sku")),
                    qty,
                    price,
                ));
            }
            None => {
                let name = item.get("name").and_then(Value::as_str).ok_or_else(|| {
                    BcError::new(
                        StatusCode::BAD_REQUEST,
                        format!("products[{n}] needs a product_id or a name"),
                    )
                })?;
                let sku = item
                    .get("sku")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                lines.push(line(
                    line_id,
                    id,
                    address_id,
                    0,
                    name.to_owned(),
                    sku,
                    qty,
                    price_given.unwrap_or(0.0),
                ));
            }
        }
    }
    let order = Order {
        id,
        customer_id,
        status_id,
        created_ms: now,
        modified_ms: now,
        shipped_ms: None,
        billing_address: billing,
        shipping_addresses: vec![shipping_address(address_id, id, &shipping)],
        lines,
        shipments: Vec::new(),
        external_id,
        payment_method,
        customer_message,
        staff_notes: String::new(),
    };
    data.next_order = id;
    let answer = order.to_json(&base);
    // The store takes what was sold from its stock at once.
    let sold: Vec<(String, i64)> = order
        .lines
        .iter()
        .filter(|l| !l.sku.is_empty())
        .map(|l| (l.sku.clone(), i64::from(l.quantity)))
        .collect();
    for (sku, qty) in sold {
        data.sell(&sku, qty);
    }
    data.orders.insert(id, order);
    drop(data);
    bc.control().wrote(format!("order/{id}"));
    bc.emit("store/order/created", json!({ "type": "order", "id": id }));
    Ok((StatusCode::CREATED, Json(answer)))
}

pub(super) async fn update(
    State(bc): State<Arc<Bc>>,
    Path((_, id)): Path<(String, u64)>,
    body: Bytes,
) -> BcResult<Json<Value>> {
    let body = json_body(&body)?;
    let mut f = Fields::of(&body, "order")?;
    let status_id = f.uint("status_id");
    if status_id.is_some_and(|s| s as usize >= STATUSES.len()) {
        f.errors.insert(
            "status_id".into(),
            "status_id must be between 0 and 14".into(),
        );
    }
    let external_id = f.string("external_id");
    let staff_notes = f.string("staff_notes");
    let customer_message = f.string("customer_message");
    f.finish()?;
    let base = base_url(&bc);
    let (answer, previous) = {
        let mut data = bc.write();
        let order = data
            .orders
            .get_mut(&id)
            .ok_or_else(|| BcError::not_found("order"))?;
        let previous = order.status_id;
        if let Some(s) = status_id {
            order.status_id = s;
        }
        if let Some(v) = external_id {
            order.external_id = Some(v);
        }
        if let Some(v) = staff_notes {
            order.staff_notes = v;
        }
        if let Some(v) = customer_message {
            order.customer_message = v;
        }
        order.modified_ms = now_ms();
        (order.to_json(&base), previous)
    };
    bc.control().wrote(format!("order/{id}"));
    bc.emit("store/order/updated", json!({ "type": "order", "id": id }));
    if let Some(new) = status_id.filter(|s| *s != previous) {
        bc.emit(
            "store/order/statusUpdated",
            json!({ "type": "order", "id": id, "status": { "previous_status_id": previous, "new_status_id": new } }),
        );
    }
    Ok(Json(answer))
}

pub(super) async fn list_shipments(
    State(bc): State<Arc<Bc>>,
    Path((_, id)): Path<(String, u64)>,
) -> BcResult<Response> {
    let data = bc.read();
    let order = order_or_404(&data, id)?;
    if order.shipments.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(json!(order.shipments)).into_response())
}

/// `POST /v2/orders/{id}/shipments`: ships quantities of lines from one address; the order
/// becomes Partially Shipped or Shipped.
pub(super) async fn create_shipment(
    State(bc): State<Arc<Bc>>,
    Path((_, id)): Path<(String, u64)>,
    body: Bytes,
) -> BcResult<(StatusCode, Json<Value>)> {
    let body = json_body(&body)?;
    let mut f = Fields::of(&body, "shipment")?;
    f.require("order_address_id");
    f.require("items");
    let address_id = f.uint("order_address_id");
    let tracking_number = f.string("tracking_number").unwrap_or_default();
    let provider = f.string("shipping_provider").unwrap_or_default();
    let carrier = f.string("tracking_carrier").unwrap_or_default();
    let method = f.string("shipping_method").unwrap_or_default();
    let comments = f.string("comments").unwrap_or_default();
    let tracking_link = f.string("tracking_link").unwrap_or_default();
    f.finish()?;
    let items = body
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if items.is_empty() {
        return Err(BcError::new(
            StatusCode::BAD_REQUEST,
            "items must be a non-empty array",
        ));
    }
    let now = now_ms();
    let mut data = bc.write();
    let next_shipment = data.next_shipment + 1;
    let order = data
        .orders
        .get_mut(&id)
        .ok_or_else(|| BcError::not_found("order"))?;
    let address_id = address_id.unwrap_or(0);
    if !order
        .shipping_addresses
        .iter()
        .any(|a| a["id"].as_u64() == Some(address_id))
    {
        return Err(BcError::new(
            StatusCode::BAD_REQUEST,
            format!("The order address {address_id} does not belong to order {id}."),
        ));
    }
    let mut wanted = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let line_id = item.get("order_product_id").and_then(Value::as_u64);
        let qty = item
            .get("quantity")
            .and_then(Value::as_u64)
            .filter(|q| *q > 0);
        let (Some(line_id), Some(qty)) = (line_id, qty) else {
            return Err(BcError::new(
                StatusCode::BAD_REQUEST,
                format!("items[{n}] needs order_product_id and a positive quantity"),
            ));
        };
        let Some(line) = order.lines.iter().find(|l| l.id == line_id) else {
            return Err(BcError::new(
                StatusCode::BAD_REQUEST,
                format!("items[{n}]: order product {line_id} is not on order {id}"),
            ));
        };
        if u64::from(line.quantity - line.quantity_shipped) < qty {
            return Err(BcError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "items[{n}]: only {} of order product {line_id} are left to ship",
                    line.quantity - line.quantity_shipped
                ),
            ));
        }
        wanted.push((line_id, line.product_id, qty as u32));
    }
    for (line_id, _, qty) in &wanted {
        if let Some(line) = order.lines.iter_mut().find(|l| l.id == *line_id) {
            line.quantity_shipped += qty;
        }
    }
    let generated = if tracking_number.is_empty() {
        String::new()
    } else {
        format!("https://track.example/{carrier}{provider}/{tracking_number}")
    };
    let shipment = Shipment {
        id: next_shipment,
        order_id: id,
        customer_id: order.customer_id,
        order_address_id: address_id,
        date_created: rfc2822(now),
        tracking_number,
        shipping_method: method,
        shipping_provider: provider,
        tracking_carrier: carrier,
        tracking_link,
        generated_tracking_link: generated,
        comments,
        items: wanted
            .iter()
            .map(|(l, p, q)| json!({ "order_product_id": l, "product_id": p, "quantity": q }))
            .collect(),
    };
    order.shipments.push(shipment.clone());
    let previous = order.status_id;
    let all_shipped = order.lines.iter().all(|l| l.quantity_shipped == l.quantity);
    order.status_id = if all_shipped { 2 } else { 3 };
    order.shipped_ms = Some(now);
    order.modified_ms = now;
    let new_status = order.status_id;
    data.next_shipment = next_shipment;
    drop(data);
    bc.control().wrote(format!("shipment/{next_shipment}"));
    bc.emit(
        "store/shipment/created",
        json!({ "type": "shipment", "id": next_shipment, "orderId": id }),
    );
    if new_status != previous {
        bc.emit(
            "store/order/statusUpdated",
            json!({ "type": "order", "id": id, "status": { "previous_status_id": previous, "new_status_id": new_status } }),
        );
    }
    Ok((StatusCode::CREATED, Json(json!(shipment))))
}
