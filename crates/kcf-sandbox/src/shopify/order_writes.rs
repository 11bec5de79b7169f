//! The writes on orders: `orderCreate` (what a shopper's checkout does; its stock is taken
//! from the first location), `orderUpdate`, `orderClose` / `orderOpen`, `orderCancel` (an
//! asynchronous job, as in Shopify) and `metafieldsSet` on orders.

use std::{collections::BTreeMap, sync::Arc};

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::{
    Data, Shop, UserError,
    customers::{Address, CustomerInput, MailingAddressInput},
    now_ms,
    orders::{Job, LineItem, Metafield, Order, OrderCancelReason, OrderNode},
    search::*,
    shop,
};

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
    /// Not in Shopify's input (the gateway comes from the transactions): the emulator takes
    /// it here so a test can name one.
    payment_gateway: Option<String>,
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

/// `OrderCloseInput` / `OrderOpenInput`.
#[derive(Debug, Clone, InputObject)]
#[graphql(name = "OrderCloseInput")]
struct OrderCloseInput {
    id: ID,
}

/// `OrderOpenInput`.
#[derive(Debug, Clone, InputObject)]
struct OrderOpenInput {
    id: ID,
}

/// `OrderCancelPayload`.
#[derive(SimpleObject)]
struct OrderCancelPayload {
    job: Option<Job>,
    order_cancel_user_errors: Vec<UserError>,
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
        gateway: input.payment_gateway.unwrap_or_else(|| "manual".into()),
        shipping_title: input
            .shipping_lines
            .iter()
            .flatten()
            .find_map(|s| s.title.clone())
            .unwrap_or_default(),
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
    async fn order_close(&self, ctx: &Context<'_>, input: OrderCloseInput) -> OrderPayload {
        set_closed(shop(ctx), &input.id, true)
    }

    /// Re-opens a closed order.
    async fn order_open(&self, ctx: &Context<'_>, input: OrderOpenInput) -> OrderPayload {
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
