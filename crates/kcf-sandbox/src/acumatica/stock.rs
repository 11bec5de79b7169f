//! Stock as Acumatica keeps it, per item and warehouse: **on hand** (a stock item's
//! `WarehouseDetails`), **allocated** (the open quantity of the lines of sales orders that are
//! open, on back order or shipping, and not on hold, by each line's warehouse) and
//! **available** (on hand − allocated). A sales order allocates, a confirmed shipment issues
//! (on hand and the order's open quantity both drop), a released `InventoryReceipt` or
//! `InventoryAdjustment` moves on hand. Every change of these numbers updates the item's
//! `InventoryQuantityAvailable` rows and is announced like any other change (a push
//! notification of query "Inventory Quantity Available").

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{Acu, Data, Record, find, new_guid, now_iso, push, schema};

/// The warehouse of a line that names none (the item's default warehouse in Acumatica).
pub(super) const DEFAULT_WAREHOUSE: &str = "MAIN";

/// The inquiry entity the numbers are kept in.
pub(super) const ENTITY: &str = "InventoryQuantityAvailable";

fn number(v: Option<&Value>) -> f64 {
    v.and_then(Value::as_f64).unwrap_or(0.0)
}

fn text(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The items whose stock a record of `entity` bears on.
pub(super) fn items_of(entity: &str, record: &Record) -> Vec<String> {
    match entity {
        "StockItem" => text(record.get("InventoryID"))
            .map(|s| vec![s.to_uppercase()])
            .unwrap_or_default(),
        "SalesOrder" | "Shipment" | "InventoryReceipt" | "InventoryAdjustment" => record
            .get("Details")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| text(l.get("InventoryID")).map(str::to_uppercase))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether an order's open lines hold stock.
fn allocates(order: &Record) -> bool {
    let status = order.get("Status").and_then(Value::as_str).unwrap_or("");
    matches!(status, "Open" | "Back Order" | "Shipping")
        && order.get("Hold").and_then(Value::as_bool) != Some(true)
}

/// The warehouse of an order line.
pub(super) fn line_warehouse(line: &Value) -> String {
    text(line.get("WarehouseID"))
        .unwrap_or(DEFAULT_WAREHOUSE)
        .to_uppercase()
}

/// (item, warehouse) → allocated, over every order (or only `items`).
fn allocations(data: &Data, items: Option<&BTreeSet<String>>) -> BTreeMap<(String, String), f64> {
    let mut out: BTreeMap<(String, String), f64> = BTreeMap::new();
    for order in data
        .records
        .get("SalesOrder")
        .into_iter()
        .flat_map(|m| m.values())
    {
        if !allocates(order) {
            continue;
        }
        for line in order
            .get("Details")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(item) = text(line.get("InventoryID")).map(str::to_uppercase) else {
                continue;
            };
            if items.is_some_and(|set| !set.contains(&item)) {
                continue;
            }
            let open = number(line.get("OpenQty"));
            if open > 0.0 {
                *out.entry((item, line_warehouse(line))).or_default() += open;
            }
        }
    }
    out
}

/// An item's on hand by warehouse (as its `WarehouseDetails` keep it).
fn on_hand(data: &Data, item: &str) -> (Option<String>, BTreeMap<String, f64>) {
    let Some(spec) = schema::spec("StockItem") else {
        return (None, BTreeMap::new());
    };
    let Some((_, record)) = find(data, spec, item) else {
        return (None, BTreeMap::new());
    };
    let id = text(record.get("InventoryID")).map(str::to_owned);
    let mut out = BTreeMap::new();
    for line in record
        .get("WarehouseDetails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(w) = text(line.get("WarehouseID")) {
            *out.entry(w.to_uppercase()).or_default() += number(line.get("QtyOnHand"));
        }
    }
    (id, out)
}

/// Moves item `item`'s on hand in `warehouse` by `delta` (below zero only when
/// `allow_negative`); the new figure, or why not.
pub(super) fn move_on_hand(
    data: &mut Data,
    item: &str,
    warehouse: &str,
    delta: f64,
    allow_negative: bool,
) -> Result<f64, String> {
    let spec = schema::spec("StockItem").ok_or("no StockItem entity")?;
    let row = find(data, spec, item)
        .map(|(row, _)| row)
        .ok_or_else(|| format!("'Inventory ID' {item} cannot be found in the system."))?;
    let record = data
        .records
        .get_mut(spec.name)
        .and_then(|m| m.get_mut(&row))
        .ok_or("the item vanished")?;
    let mut lines = record
        .get("WarehouseDetails")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let position = lines.iter().position(|l| {
        text(l.get("WarehouseID")).is_some_and(|w| w.eq_ignore_ascii_case(warehouse))
    });
    let now = number(position.and_then(|i| lines[i].get("QtyOnHand"))) + delta;
    if now < 0.0 && !allow_negative {
        return Err(format!(
            "The quantity on hand of {item} in warehouse {warehouse} would become negative \
             ({now})."
        ));
    }
    match position {
        Some(i) => lines[i]["QtyOnHand"] = json!(now),
        None => lines.push(
            json!({ "id": new_guid(), "WarehouseID": warehouse.to_uppercase(), "QtyOnHand": now }),
        ),
    }
    record.insert("WarehouseDetails".into(), Value::Array(lines));
    let stamp = now_iso();
    record.insert("LastModifiedDateTime".into(), json!(stamp));
    Ok(now)
}

/// Recomputes the numbers of `items` and announces each row that changed.
pub(super) fn refresh(acu: &Acu, data: &mut Data, items: impl IntoIterator<Item = String>) {
    let items: BTreeSet<String> = items.into_iter().map(|i| i.to_uppercase()).collect();
    if items.is_empty() {
        return;
    }
    let allocated = allocations(data, Some(&items));
    let mut rows = warehouse_rows(data, Some(&items));
    for item in &items {
        let existing = rows.remove(item).unwrap_or_default();
        for change in update_rows(data, item, &allocated, existing) {
            acu.control.wrote(format!("{ENTITY}/{item}"));
            let _ = acu.changes.send(change);
        }
    }
}

/// Computes every item's rows (the seed; nothing is announced).
pub(super) fn refresh_all(data: &mut Data) {
    let allocated = allocations(data, None);
    let items: Vec<String> = data
        .records
        .get("StockItem")
        .into_iter()
        .flat_map(|m| m.values())
        .filter_map(|r| text(r.get("InventoryID")).map(str::to_uppercase))
        .collect();
    let mut rows = warehouse_rows(data, None);
    for item in items {
        let existing = rows.remove(&item).unwrap_or_default();
        update_rows(data, &item, &allocated, existing);
    }
}

/// The warehouses each item (of `items`, or every item) has availability rows in, from one
/// pass over the rows: finding them per item was a pass per item, and seeding a catalogue of
/// 20,000 items took minutes.
fn warehouse_rows(
    data: &Data,
    items: Option<&BTreeSet<String>>,
) -> std::collections::HashMap<String, BTreeSet<String>> {
    let mut out: std::collections::HashMap<String, BTreeSet<String>> = Default::default();
    for record in data
        .records
        .get(ENTITY)
        .into_iter()
        .flat_map(|m| m.values())
    {
        let (Some(item), Some(w)) = (
            text(record.get("InventoryID")),
            text(record.get("WarehouseID")),
        ) else {
            continue;
        };
        let item = item.to_uppercase();
        if items.is_none_or(|wanted| wanted.contains(&item)) {
            out.entry(item).or_default().insert(w.to_uppercase());
        }
    }
    out
}

/// Brings item `item`'s rows up to date; the changes to announce.
fn update_rows(
    data: &mut Data,
    item: &str,
    allocated: &BTreeMap<(String, String), f64>,
    existing_rows: BTreeSet<String>,
) -> Vec<push::Change> {
    let Some(spec) = schema::spec(ENTITY) else {
        return Vec::new();
    };
    let (id, hand) = on_hand(data, item);
    let Some(id) = id else {
        return Vec::new();
    };
    let mut warehouses: BTreeSet<String> = hand.keys().cloned().collect();
    warehouses.extend(
        allocated
            .range((item.to_owned(), String::new())..)
            .take_while(|((i, _), _)| i == item)
            .map(|((_, w), _)| w.clone()),
    );
    // Rows of warehouses that no longer hold or owe anything stay, at zero.
    warehouses.extend(existing_rows);
    let now = now_iso();
    let mut changes = Vec::new();
    for warehouse in warehouses {
        let on_hand = hand.get(&warehouse).copied().unwrap_or(0.0);
        let held = allocated
            .get(&(item.to_owned(), warehouse.clone()))
            .copied()
            .unwrap_or(0.0);
        let available = on_hand - held;
        let existing =
            find(data, spec, &format!("{item}/{warehouse}")).map(|(row, r)| (row, r.clone()));
        let same = existing.as_ref().is_some_and(|(_, r)| {
            number(r.get("OnHand")) == on_hand
                && number(r.get("Allocated")) == held
                && number(r.get("Available")) == available
        });
        if same {
            continue;
        }
        let old = existing.as_ref().map(|(_, r)| push::row(ENTITY, r));
        let (row, mut record) = match existing {
            Some((row, r)) => (row, r),
            None => {
                data.next_row += 1;
                let mut r = Record::new();
                r.insert("id".into(), json!(new_guid()));
                r.insert("InventoryID".into(), json!(id));
                r.insert("WarehouseID".into(), json!(warehouse));
                (data.next_row, r)
            }
        };
        record.insert("OnHand".into(), json!(on_hand));
        record.insert("Allocated".into(), json!(held));
        record.insert("Available".into(), json!(available));
        record.insert("LastModifiedDateTime".into(), json!(now));
        let new = push::row(ENTITY, &record);
        data.store(spec, row, record);
        changes.push(push::Change {
            entity: ENTITY,
            old,
            new: Some(new),
        });
    }
    changes
}
