//! Fulfillment: each order's fulfillment order (the emulator keeps one, at the order's
//! location) with what remains to ship, its fulfillments with tracking, and
//! `fulfillmentCreate`, which never ships more than a fulfillment order still holds.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, connection::Connection};

use super::{
    Data, UserError, now_ms,
    order_writes::announce,
    orders::{Fulfillment, LineItem, LineItemNode, Order, TrackingInfo},
    search::*,
    shop,
};

/// `FulfillmentOrder`: the emulator keeps one per order, at the order's location.
#[derive(Debug, Clone)]
pub(crate) struct FulfillmentOrderNode(pub Order);

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
pub(crate) struct FulfillmentNode {
    pub fulfillment: Fulfillment,
    pub order: Order,
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

#[derive(Default)]
pub(crate) struct FulfillmentQuery;

#[Object]
impl FulfillmentQuery {
    async fn fulfillment_order(&self, ctx: &Context<'_>, id: ID) -> Option<FulfillmentOrderNode> {
        let id = id_of("FulfillmentOrder", &id)?;
        shop(ctx)
            .read()
            .orders
            .get(&id)
            .cloned()
            .map(FulfillmentOrderNode)
    }
}

#[derive(Default)]
pub(crate) struct FulfillmentMutation;

#[Object]
impl FulfillmentMutation {
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
}

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
