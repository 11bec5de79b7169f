//! Locations and inventory: `locations`, `inventoryItems`, each item's levels per location
//! with their named quantities (`available`, `committed`, `on_hand`), and the writes
//! `inventorySetQuantities` (with compare-and-set) and `inventoryAdjustQuantities`, both all
//! or nothing.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, connection::Connection};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Data, UserError, now_ms, search::*, shop};

/// Quantities one request may set.
pub const MAX_QUANTITIES: usize = 250;

/// The reasons Shopify accepts for a change of quantities.
const REASONS: &[&str] = &[
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "movement_updated",
    "movement_received",
    "movement_canceled",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
];

/// A location stock is kept at.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Location {
    pub id: u64,
    pub name: String,
}

/// An item's stock at a location.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Level {
    /// Available to sell.
    pub available: i64,
    /// Held by open orders not yet fulfilled.
    pub committed: i64,
}

/// `Location`.
#[derive(Debug, Clone)]
pub(crate) struct LocationNode(pub Location);

#[Object(name = "Location")]
impl LocationNode {
    async fn id(&self) -> ID {
        gid("Location", self.0.id)
    }
    async fn legacy_resource_id(&self) -> String {
        self.0.id.to_string()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn is_active(&self) -> bool {
        true
    }
    async fn fulfills_online_orders(&self) -> bool {
        true
    }
}

/// `InventoryItem` (one per variant, with the variant's number).
#[derive(Debug, Clone)]
pub(crate) struct InventoryItemNode {
    pub id: u64,
    pub sku: String,
}

/// `InventoryQuantity`.
#[derive(Debug, Clone, SimpleObject)]
struct InventoryQuantity {
    name: String,
    quantity: i64,
}

/// `InventoryLevel`.
#[derive(Debug, Clone)]
struct LevelNode {
    item: u64,
    sku: String,
    location: Location,
    level: Level,
}

#[Object(name = "InventoryLevel")]
impl LevelNode {
    async fn id(&self) -> ID {
        ID(format!(
            "gid://shopify/InventoryLevel/{}?inventory_item_id={}",
            self.location.id, self.item
        ))
    }
    async fn location(&self) -> LocationNode {
        LocationNode(self.location.clone())
    }
    async fn item(&self) -> InventoryItemNode {
        InventoryItemNode {
            id: self.item,
            sku: self.sku.clone(),
        }
    }
    /// The named quantities (`available`, `committed`, `on_hand`; others are 0).
    async fn quantities(&self, names: Vec<String>) -> Vec<InventoryQuantity> {
        names
            .into_iter()
            .map(|name| {
                let quantity = match name.as_str() {
                    "available" => self.level.available,
                    "committed" => self.level.committed,
                    "on_hand" => self.level.available + self.level.committed,
                    _ => 0,
                };
                InventoryQuantity { name, quantity }
            })
            .collect()
    }
    async fn updated_at(&self) -> DateTime {
        DateTime::of(now_ms())
    }
}

fn levels_of(data: &Data, item: u64) -> Vec<LevelNode> {
    let sku = data
        .variants
        .get(&item)
        .map(|v| v.sku.clone())
        .unwrap_or_default();
    data.levels
        .get(&item)
        .into_iter()
        .flatten()
        .filter_map(|(loc, level)| {
            Some(LevelNode {
                item,
                sku: sku.clone(),
                location: data.locations.get(loc)?.clone(),
                level: *level,
            })
        })
        .collect()
}

#[Object(name = "InventoryItem")]
impl InventoryItemNode {
    async fn id(&self) -> ID {
        gid("InventoryItem", self.id)
    }
    async fn legacy_resource_id(&self) -> String {
        self.id.to_string()
    }
    async fn sku(&self) -> Option<&str> {
        Some(self.sku.as_str()).filter(|s| !s.is_empty())
    }
    async fn tracked(&self) -> bool {
        true
    }
    /// Its weight (the variant's), when one was given.
    async fn measurement(&self, ctx: &Context<'_>) -> super::measurement::InventoryItemMeasurement {
        super::measurement::InventoryItemMeasurement {
            id: gid("InventoryItemMeasurement", self.id),
            weight: shop(ctx)
                .read()
                .variants
                .get(&self.id)
                .and_then(|v| v.weight),
        }
    }
    async fn inventory_levels(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, LevelNode>> {
        let data = shop(ctx).read();
        let items = levels_of(&data, self.id)
            .into_iter()
            .map(|l| ((l.location.id as i64, l.location.id), l))
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
    async fn inventory_level(&self, ctx: &Context<'_>, location_id: ID) -> Option<LevelNode> {
        let loc = id_of("Location", &location_id)?;
        let data = shop(ctx).read();
        levels_of(&data, self.id)
            .into_iter()
            .find(|l| l.location.id == loc)
    }
    async fn variant(&self, ctx: &Context<'_>) -> Option<super::variants::VariantNode> {
        shop(ctx)
            .read()
            .variants
            .get(&self.id)
            .cloned()
            .map(super::variants::VariantNode)
    }
}

#[derive(Default)]
pub(crate) struct InventoryQuery;

#[Object]
impl InventoryQuery {
    async fn locations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, LocationNode>> {
        let data = shop(ctx).read();
        let items = data
            .locations
            .values()
            .map(|l| ((l.id as i64, l.id), LocationNode(l.clone())))
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

    async fn location(&self, ctx: &Context<'_>, id: ID) -> Option<LocationNode> {
        let id = id_of("Location", &id)?;
        shop(ctx)
            .read()
            .locations
            .get(&id)
            .cloned()
            .map(LocationNode)
    }

    async fn inventory_items(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        query: Option<String>,
    ) -> async_graphql::Result<Connection<String, InventoryItemNode>> {
        let data = shop(ctx).read();
        let search = Search::parse(query.as_deref());
        let items = data
            .variants
            .values()
            .filter(|v| {
                search.matches(|f| match f {
                    "sku" | "default" => Some(vec![Field::Text(v.sku.clone())]),
                    "id" => Some(vec![Field::Number(v.id as i64)]),
                    "updated_at" => Some(vec![Field::Time(v.updated_ms)]),
                    _ => None,
                })
            })
            .map(|v| {
                (
                    (v.id as i64, v.id),
                    InventoryItemNode {
                        id: v.id,
                        sku: v.sku.clone(),
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

    async fn inventory_item(&self, ctx: &Context<'_>, id: ID) -> Option<InventoryItemNode> {
        let id = id_of("InventoryItem", &id)?;
        shop(ctx)
            .read()
            .variants
            .get(&id)
            .map(|v| InventoryItemNode {
                id: v.id,
                sku: v.sku.clone(),
            })
    }
}

/// `InventoryQuantityInput` (`compareQuantity`, or `changeFromQuantity` from 2026-04).
#[derive(Debug, Clone, InputObject)]
struct InventoryQuantityInput {
    inventory_item_id: ID,
    location_id: ID,
    quantity: i64,
    compare_quantity: Option<i64>,
    change_from_quantity: Option<i64>,
}

/// `InventorySetQuantitiesInput`.
#[derive(Debug, Clone, InputObject)]
struct InventorySetQuantitiesInput {
    name: String,
    reason: String,
    #[graphql(default)]
    ignore_compare_quantity: bool,
    reference_document_uri: Option<String>,
    quantities: Vec<InventoryQuantityInput>,
}

/// `InventoryChangeInput`.
#[derive(Debug, Clone, InputObject)]
struct InventoryChangeInput {
    inventory_item_id: ID,
    location_id: ID,
    delta: i64,
}

/// `InventoryAdjustQuantitiesInput`.
#[derive(Debug, Clone, InputObject)]
struct InventoryAdjustQuantitiesInput {
    name: String,
    reason: String,
    reference_document_uri: Option<String>,
    changes: Vec<InventoryChangeInput>,
}

/// `InventoryChange`.
#[derive(Debug, Clone, SimpleObject)]
struct InventoryChange {
    name: String,
    delta: i64,
    quantity_after_change: i64,
    item: InventoryItemNode,
    location: LocationNode,
}

/// `InventoryAdjustmentGroup`.
#[derive(Debug, Clone, SimpleObject)]
struct AdjustmentGroup {
    id: ID,
    created_at: DateTime,
    reason: String,
    reference_document_uri: Option<String>,
    changes: Vec<InventoryChange>,
}

/// `InventorySetQuantitiesPayload` / `InventoryAdjustQuantitiesPayload`.
#[derive(SimpleObject)]
struct InventoryPayload {
    inventory_adjustment_group: Option<AdjustmentGroup>,
    user_errors: Vec<UserError>,
}

impl InventoryPayload {
    fn refused(errors: Vec<UserError>) -> Self {
        Self {
            inventory_adjustment_group: None,
            user_errors: errors,
        }
    }
}

/// One change to apply: (item, location, new available).
type Planned = Vec<(u64, u64, i64)>;

fn check_common(name: &str, reason: &str, count: usize) -> Option<UserError> {
    if name != "available" {
        return Some(UserError::new(
            &["input", "name"],
            format!("The quantity name '{name}' is not supported here; use 'available'"),
            "INVALID_NAME",
        ));
    }
    if !REASONS.contains(&reason) {
        return Some(UserError::new(
            &["input", "reason"],
            format!("The reason '{reason}' is not a valid inventory reason"),
            "INVALID_REASON",
        ));
    }
    if count > MAX_QUANTITIES {
        return Some(UserError::new(
            &["input", "quantities"],
            format!("At most {MAX_QUANTITIES} quantities may be changed at once"),
            "INVALID_QUANTITY_TOO_HIGH",
        ));
    }
    None
}

fn target(
    data: &Data,
    item: &ID,
    location: &ID,
    n: usize,
    list: &str,
) -> Result<(u64, u64, Level), UserError> {
    let n = n.to_string();
    let item_id = id_of("InventoryItem", item)
        .filter(|i| data.variants.contains_key(i))
        .ok_or_else(|| {
            UserError::new(
                &["input", list, &n, "inventoryItemId"],
                format!("The inventory item {} could not be found", item.0),
                "INVALID_INVENTORY_ITEM",
            )
        })?;
    let loc = id_of("Location", location)
        .filter(|l| data.locations.contains_key(l))
        .ok_or_else(|| {
            UserError::new(
                &["input", list, &n, "locationId"],
                format!("The location {} could not be found", location.0),
                "INVALID_LOCATION",
            )
        })?;
    let level = data
        .levels
        .get(&item_id)
        .and_then(|l| l.get(&loc))
        .copied()
        .unwrap_or_default();
    Ok((item_id, loc, level))
}

fn apply(
    shop: &super::Shop,
    planned: Planned,
    reason: String,
    uri: Option<String>,
) -> InventoryPayload {
    let changes = {
        let mut data = shop.write();
        let mut changes = Vec::new();
        for (item, loc, quantity) in planned {
            let level = data.levels.entry(item).or_default().entry(loc).or_default();
            let delta = quantity - level.available;
            level.available = quantity;
            let sku = data
                .variants
                .get(&item)
                .map(|v| v.sku.clone())
                .unwrap_or_default();
            let location = data.locations.get(&loc).cloned();
            if let Some(location) = location {
                changes.push(InventoryChange {
                    name: "available".into(),
                    delta,
                    quantity_after_change: quantity,
                    item: InventoryItemNode { id: item, sku },
                    location: LocationNode(location),
                });
            }
        }
        changes
    };
    for c in &changes {
        shop.changed(
            format!("inventory_levels/{}/{}", c.item.id, c.location.0.id),
            "inventory_levels/update",
            json!({
                "inventory_item_id": c.item.id,
                "location_id": c.location.0.id,
                "available": c.quantity_after_change,
                "updated_at": DateTime::of(now_ms()).0,
            }),
        );
    }
    let id = shop.write().id();
    InventoryPayload {
        inventory_adjustment_group: Some(AdjustmentGroup {
            id: gid("InventoryAdjustmentGroup", id),
            created_at: DateTime::of(now_ms()),
            reason,
            reference_document_uri: uri,
            changes,
        }),
        user_errors: Vec::new(),
    }
}

#[derive(Default)]
pub(crate) struct InventoryMutation;

#[Object]
impl InventoryMutation {
    /// Sets available quantities, all or none; with compare quantities, only if each level
    /// still holds what the caller read.
    async fn inventory_set_quantities(
        &self,
        ctx: &Context<'_>,
        input: InventorySetQuantitiesInput,
    ) -> InventoryPayload {
        if let Some(e) = check_common(&input.name, &input.reason, input.quantities.len()) {
            return InventoryPayload::refused(vec![e]);
        }
        let shop = shop(ctx);
        let planned = {
            let data = shop.read();
            let mut planned = Vec::new();
            let mut errors = Vec::new();
            for (n, q) in input.quantities.iter().enumerate() {
                match target(&data, &q.inventory_item_id, &q.location_id, n, "quantities") {
                    Ok((item, loc, level)) => {
                        let compare = q.change_from_quantity.or(q.compare_quantity);
                        if !input.ignore_compare_quantity {
                            match compare {
                                None => errors.push(UserError::new(
                                    &["input", "quantities", &n.to_string(), "compareQuantity"],
                                    "A compare quantity is required unless ignoreCompareQuantity is true",
                                    "COMPARE_QUANTITY_REQUIRED",
                                )),
                                Some(c) if c != level.available => errors.push(UserError::new(
                                    &["input", "quantities", &n.to_string(), "compareQuantity"],
                                    format!(
                                        "The compare quantity ({c}) does not match the stored quantity ({})",
                                        level.available
                                    ),
                                    "COMPARE_QUANTITY_STALE",
                                )),
                                Some(_) => {}
                            }
                        }
                        planned.push((item, loc, q.quantity));
                    }
                    Err(e) => errors.push(e),
                }
            }
            if !errors.is_empty() {
                return InventoryPayload::refused(errors);
            }
            planned
        };
        apply(shop, planned, input.reason, input.reference_document_uri)
    }

    /// Adds deltas to available quantities, all or none.
    async fn inventory_adjust_quantities(
        &self,
        ctx: &Context<'_>,
        input: InventoryAdjustQuantitiesInput,
    ) -> InventoryPayload {
        if let Some(e) = check_common(&input.name, &input.reason, input.changes.len()) {
            return InventoryPayload::refused(vec![e]);
        }
        let shop = shop(ctx);
        let planned = {
            let data = shop.read();
            let mut planned = Vec::new();
            let mut errors = Vec::new();
            for (n, c) in input.changes.iter().enumerate() {
                match target(&data, &c.inventory_item_id, &c.location_id, n, "changes") {
                    Ok((item, loc, level)) => planned.push((item, loc, level.available + c.delta)),
                    Err(e) => errors.push(e),
                }
            }
            if !errors.is_empty() {
                return InventoryPayload::refused(errors);
            }
            planned
        };
        apply(shop, planned, input.reason, input.reference_document_uri)
    }
}

/// The shop's two locations.
pub(super) fn seed_locations(data: &mut Data) {
    for name in ["Default location", "West warehouse"] {
        let id = data.id();
        data.locations.insert(
            id,
            Location {
                id,
                name: name.into(),
            },
        );
    }
}
