//! Actions: `POST /{Entity}/{Action}` with `{"entity": {keys or id}, "parameters": {}}` answers
//! 202 with a `Location` to poll, which answers 202 while the action runs and 204 when done.
//! SalesOrderCreateShipment makes a shipment of the order's open lines (order → Shipping);
//! ConfirmShipment ships it (order → Completed, or Back Order when lines stay open);
//! CancelSalesOrder cancels an order that has nothing shipped; ReleaseInventoryReceipt and
//! ReleaseInventoryAdjustment move on hand by their lines.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{Acu, ENDPOINT, Record, acu_error, find, new_guid, now_iso, push, schema, stock};

/// How long an action reports itself as still running to the first polls.
const RUNNING_FOR_MS: i64 = 50;

fn key_path(spec: &schema::Spec, entity: &Value) -> Option<String> {
    if let Some(id) = entity.get("id").and_then(Value::as_str) {
        return Some(id.to_owned());
    }
    let parts: Option<Vec<String>> = spec
        .keys
        .iter()
        .map(|k| {
            entity
                .get(*k)
                .and_then(|v| v.get("value"))
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        })
        .collect();
    parts.map(|p| p.join("/"))
}

fn number(v: Option<&Value>) -> f64 {
    v.and_then(Value::as_f64).unwrap_or(0.0)
}

/// `POST /{Entity}/{Action}` (routed through the entity's `{*keys}` path).
pub(super) async fn invoke_any(
    State(acu): State<Arc<Acu>>,
    Path((entity, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if action.contains('/') {
        return acu_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "POST takes an action name: /{Entity}/{Action}.",
        );
    }
    let Some(spec) = schema::spec(&entity) else {
        return acu_error(
            StatusCode::NOT_FOUND,
            &format!("The entity '{entity}' is not part of endpoint Default/24.200.001."),
        );
    };
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return acu_error(
            StatusCode::BAD_REQUEST,
            "The request body must be JSON: {\"entity\": {…}, \"parameters\": {…}}.",
        );
    };
    let Some(keys) = body.get("entity").and_then(|e| key_path(spec, e)) else {
        return acu_error(
            StatusCode::BAD_REQUEST,
            "The action's entity must give the record's id or all of its key fields.",
        );
    };
    let result = match (entity.as_str(), action.as_str()) {
        ("SalesOrder", "SalesOrderCreateShipment") => create_shipment(&acu, &keys),
        ("Shipment", "ConfirmShipment") => confirm_shipment(&acu, &keys),
        ("SalesOrder", "CancelSalesOrder") => cancel_order(&acu, &keys),
        ("InventoryReceipt", "ReleaseInventoryReceipt") => release(&acu, "InventoryReceipt", &keys),
        ("InventoryAdjustment", "ReleaseInventoryAdjustment") => {
            release(&acu, "InventoryAdjustment", &keys)
        }
        _ => Err((
            StatusCode::NOT_FOUND,
            format!("The action '{action}' is not available on {entity}."),
        )),
    };
    if let Err((status, message)) = result {
        return acu_error(status, &message);
    }
    let id = new_guid();
    let done_at = jiff::Timestamp::now().as_millisecond() + RUNNING_FOR_MS;
    acu.actions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.clone(), done_at);
    let mut response = StatusCode::ACCEPTED.into_response();
    if let Ok(location) =
        HeaderValue::from_str(&format!("{ENDPOINT}/{entity}/{action}/status/{id}"))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// `GET /{Entity}/{Action}/status/{id}`: 202 while running, 204 when done.
pub(super) fn status(acu: &Acu, id: &str) -> Response {
    match acu
        .actions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(id)
    {
        Some(done_at) if *done_at > jiff::Timestamp::now().as_millisecond() => {
            StatusCode::ACCEPTED.into_response()
        }
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => acu_error(StatusCode::NOT_FOUND, "No such action is running."),
    }
}

type ActionResult = Result<(), (StatusCode, String)>;

fn missing(what: &str, keys: &str) -> (StatusCode, String) {
    (
        StatusCode::NOT_FOUND,
        format!("No {what} matches '{keys}'."),
    )
}

/// Applies `f` to the record at `row` and announces the change.
fn update(
    acu: &Acu,
    data: &mut super::Data,
    entity: &'static str,
    row: u64,
    f: impl FnOnce(&mut Record),
) {
    let Some(record) = data.records.get_mut(entity).and_then(|m| m.get_mut(&row)) else {
        return;
    };
    let before = push::row(entity, record);
    f(record);
    record.insert("LastModifiedDateTime".into(), json!(now_iso()));
    if entity == "SalesOrder" {
        record.insert("LastModified".into(), json!(now_iso()));
    }
    let after = push::row(entity, record);
    acu.control.wrote(format!(
        "{entity}/{}",
        record.get("id").and_then(Value::as_str).unwrap_or("")
    ));
    let _ = acu.changes.send(push::Change {
        entity,
        old: Some(before),
        new: Some(after),
    });
}

fn create_shipment(acu: &Acu, keys: &str) -> ActionResult {
    let order_spec = schema::spec("SalesOrder").ok_or_else(|| missing("SalesOrder", keys))?;
    let mut data = acu.data.write().unwrap_or_else(|p| p.into_inner());
    let (row, order) = find(&data, order_spec, keys)
        .map(|(r, o)| (r, o.clone()))
        .ok_or_else(|| missing("SalesOrder", keys))?;
    let status = order.get("Status").and_then(Value::as_str).unwrap_or("");
    if matches!(status, "Cancelled" | "Completed" | "On Hold") {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("A shipment cannot be created for an order that is {status}."),
        ));
    }
    let lines: Vec<Value> = order
        .get("Details")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let open: Vec<&Value> = lines
        .iter()
        .filter(|l| number(l.get("OpenQty")) - number(l.get("QtyOnShipments")) > 0.0)
        .collect();
    if open.is_empty() {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            "The order has no lines left to ship.".into(),
        ));
    }
    let (order_type, order_nbr) = (
        order.get("OrderType").cloned().unwrap_or(json!("SO")),
        order.get("OrderNbr").cloned().unwrap_or(Value::Null),
    );
    let counter = data.counters.entry("Shipment").or_insert(0);
    *counter += 1;
    let shipment_nbr = format!("{:06}", *counter);
    let details: Vec<Value> = open
        .iter()
        .enumerate()
        .map(|(n, l)| {
            let qty = number(l.get("OpenQty")) - number(l.get("QtyOnShipments"));
            json!({ "id": new_guid(), "LineNbr": n + 1, "OrderType": order_type, "OrderNbr": order_nbr,
                    "OrderLineNbr": l.get("LineNbr"), "InventoryID": l.get("InventoryID"), "ShippedQty": qty,
                    "OrderedQty": l.get("OrderQty"), "UOM": l.get("UOM").cloned().unwrap_or(json!("EA")) })
        })
        .collect();
    let total: f64 = details.iter().map(|d| number(d.get("ShippedQty"))).sum();
    let warehouse = open.first().map_or_else(
        || stock::DEFAULT_WAREHOUSE.to_owned(),
        |l| stock::line_warehouse(l),
    );
    let now = now_iso();
    let shipment = json!({
        "id": new_guid(), "ShipmentNbr": shipment_nbr, "Type": "Shipment", "Status": "Open", "Operation": "Issue",
        "CustomerID": order.get("CustomerID"), "WarehouseID": warehouse, "ShipmentDate": now, "Hold": false,
        "ShippedQty": total, "PackageCount": 0, "CreatedDateTime": now, "LastModifiedDateTime": now,
        "Details": details, "Packages": [],
        "Orders": [ { "id": new_guid(), "OrderType": order_type, "OrderNbr": order_nbr, "ShippedQty": total } ],
    });
    let shipment: Record = shipment.as_object().cloned().unwrap_or_default();
    data.next_row += 1;
    let shipment_row = data.next_row;
    let after = push::row("Shipment", &shipment);
    if let Some(spec) = schema::spec("Shipment") {
        data.store(spec, shipment_row, shipment);
    }
    acu.control.wrote(format!("Shipment/{shipment_nbr}"));
    let _ = acu.changes.send(push::Change {
        entity: "Shipment",
        old: None,
        new: Some(after),
    });
    update(acu, &mut data, "SalesOrder", row, |o| {
        o.insert("Status".into(), json!("Shipping"));
        let mut lines = o
            .get("Details")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for l in &mut lines {
            let open = number(l.get("OpenQty")) - number(l.get("QtyOnShipments"));
            if open > 0.0 {
                l["QtyOnShipments"] = json!(number(l.get("QtyOnShipments")) + open);
            }
        }
        o.insert("Details".into(), Value::Array(lines));
        let mut shipments = o
            .get("Shipments")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        shipments.push(json!({ "id": new_guid(), "ShipmentNbr": shipment_nbr, "ShipmentType": "Shipment", "Status": "Open", "ShippedQty": total, "ShipmentDate": now }));
        o.insert("Shipments".into(), Value::Array(shipments));
    });
    Ok(())
}

fn confirm_shipment(acu: &Acu, keys: &str) -> ActionResult {
    let shipment_spec = schema::spec("Shipment").ok_or_else(|| missing("Shipment", keys))?;
    let order_spec = schema::spec("SalesOrder").ok_or_else(|| missing("SalesOrder", keys))?;
    let mut data = acu.data.write().unwrap_or_else(|p| p.into_inner());
    let (row, shipment) = find(&data, shipment_spec, keys)
        .map(|(r, s)| (r, s.clone()))
        .ok_or_else(|| missing("Shipment", keys))?;
    if shipment.get("Status").and_then(Value::as_str) != Some("Open") {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            "Only an open shipment can be confirmed.".into(),
        ));
    }
    let nbr = shipment
        .get("ShipmentNbr")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if shipment.get("Hold").and_then(Value::as_bool) == Some(true) {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            "A shipment on hold cannot be confirmed.".into(),
        ));
    }
    // Issue the stock (the item classes here allow negative on hand, as Acumatica's can).
    let warehouse = shipment
        .get("WarehouseID")
        .and_then(Value::as_str)
        .unwrap_or(stock::DEFAULT_WAREHOUSE)
        .to_owned();
    let lines: Vec<Value> = shipment
        .get("Details")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut issued: Vec<(String, f64)> = Vec::new();
    for l in &lines {
        let (Some(item), qty) = (
            l.get("InventoryID").and_then(Value::as_str),
            number(l.get("ShippedQty")),
        ) else {
            continue;
        };
        if stock::move_on_hand(&mut data, item, &warehouse, -qty, true).is_ok() {
            issued.push((item.to_owned(), qty));
        }
    }
    update(acu, &mut data, "Shipment", row, |s| {
        s.insert("Status".into(), json!("Confirmed"));
    });
    let orders: Vec<Value> = shipment
        .get("Orders")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for o in orders {
        let key = format!(
            "{}/{}",
            o["OrderType"].as_str().unwrap_or("SO"),
            o["OrderNbr"].as_str().unwrap_or("")
        );
        let Some((order_row, _)) = find(&data, order_spec, &key) else {
            continue;
        };
        let shipped: Vec<Value> = shipment
            .get("Details")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        update(acu, &mut data, "SalesOrder", order_row, |order| {
            let mut lines = order
                .get("Details")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for d in &shipped {
                if let Some(l) = lines
                    .iter_mut()
                    .find(|l| l.get("LineNbr") == d.get("OrderLineNbr"))
                {
                    let qty = number(d.get("ShippedQty"));
                    l["OpenQty"] = json!((number(l.get("OpenQty")) - qty).max(0.0));
                    l["QtyOnShipments"] = json!((number(l.get("QtyOnShipments")) - qty).max(0.0));
                    l["Completed"] = json!(number(l.get("OpenQty")) <= 0.0);
                }
            }
            let done = lines.iter().all(|l| number(l.get("OpenQty")) <= 0.0);
            order.insert("Details".into(), Value::Array(lines));
            order.insert(
                "Status".into(),
                json!(if done { "Completed" } else { "Back Order" }),
            );
            let mut shipments = order
                .get("Shipments")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for s in &mut shipments {
                if s.get("ShipmentNbr").and_then(Value::as_str) == Some(nbr.as_str()) {
                    s["Status"] = json!("Confirmed");
                }
            }
            order.insert("Shipments".into(), Value::Array(shipments));
        });
    }
    stock::refresh(acu, &mut data, issued.into_iter().map(|(i, _)| i));
    Ok(())
}

/// A shipment written by `PUT` whose lines name an order: the order's lines get the shipped
/// quantities on shipments, the order lists the shipment and is Shipping (Acumatica's
/// shipment graph does this when lines are added from an order).
pub(super) fn link_shipment(acu: &Acu, data: &mut super::Data, shipment: &Record) {
    let Some(order_spec) = schema::spec("SalesOrder") else {
        return;
    };
    let nbr = shipment.get("ShipmentNbr").cloned().unwrap_or(Value::Null);
    let status = shipment.get("Status").cloned().unwrap_or(json!("Open"));
    let lines: Vec<Value> = shipment
        .get("Details")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut orders: Vec<(String, f64)> = Vec::new();
    for l in &lines {
        let Some(order_nbr) = l.get("OrderNbr").and_then(Value::as_str) else {
            continue;
        };
        let key = format!(
            "{}/{order_nbr}",
            l.get("OrderType").and_then(Value::as_str).unwrap_or("SO")
        );
        match orders.iter_mut().find(|(k, _)| *k == key) {
            Some((_, q)) => *q += number(l.get("ShippedQty")),
            None => orders.push((key, number(l.get("ShippedQty")))),
        }
    }
    for (key, total) in orders {
        let Some((order_row, _)) = find(data, order_spec, &key) else {
            continue;
        };
        let (order_type, order_nbr) = key.split_once('/').unwrap_or(("SO", &key));
        let mine: Vec<&Value> = lines
            .iter()
            .filter(|l| l.get("OrderNbr").and_then(Value::as_str) == Some(order_nbr))
            .collect();
        update(acu, data, "SalesOrder", order_row, |o| {
            let mut order_lines = o
                .get("Details")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for d in &mine {
                let target = order_lines
                    .iter_mut()
                    .find(|l| match d.get("OrderLineNbr") {
                        Some(n) if !n.is_null() => l.get("LineNbr") == Some(n),
                        _ => {
                            l.get("InventoryID")
                                .and_then(Value::as_str)
                                .map(str::to_uppercase)
                                == d.get("InventoryID")
                                    .and_then(Value::as_str)
                                    .map(str::to_uppercase)
                        }
                    });
                if let Some(l) = target {
                    l["QtyOnShipments"] =
                        json!(number(l.get("QtyOnShipments")) + number(d.get("ShippedQty")));
                }
            }
            o.insert("Details".into(), Value::Array(order_lines));
            let mut shipments = o
                .get("Shipments")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            shipments.push(json!({ "id": new_guid(), "ShipmentNbr": nbr, "ShipmentType": "Shipment", "Status": status, "ShippedQty": total, "ShipmentDate": now_iso() }));
            o.insert("Shipments".into(), Value::Array(shipments));
            if o.get("Status").and_then(Value::as_str) == Some("Open") {
                o.insert("Status".into(), json!("Shipping"));
            }
        });
        if let Some(spec) = schema::spec("Shipment")
            && let Some((row, _)) = find(data, spec, nbr.as_str().unwrap_or(""))
            && let Some(s) = data
                .records
                .get_mut("Shipment")
                .and_then(|m| m.get_mut(&row))
        {
            let mut listed = s
                .get("Orders")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            listed.push(json!({ "id": new_guid(), "OrderType": order_type, "OrderNbr": order_nbr, "ShippedQty": total }));
            s.insert("Orders".into(), Value::Array(listed));
        }
    }
}

/// Releases a receipt (each line adds its `Qty`) or an adjustment (each line moves on hand by
/// its signed `Qty`); all lines or none.
fn release(acu: &Acu, entity: &'static str, keys: &str) -> ActionResult {
    let spec = schema::spec(entity).ok_or_else(|| missing(entity, keys))?;
    let mut data = acu.data.write().unwrap_or_else(|p| p.into_inner());
    let (row, document) = find(&data, spec, keys)
        .map(|(r, d)| (r, d.clone()))
        .ok_or_else(|| missing(entity, keys))?;
    match document.get("Status").and_then(Value::as_str) {
        Some("Released") => {
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                "The document is already released.".into(),
            ));
        }
        Some("On Hold") => {
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                "A document on hold cannot be released.".into(),
            ));
        }
        _ => {}
    }
    let lines: Vec<Value> = document
        .get("Details")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut done: Vec<(String, String, f64)> = Vec::new();
    for l in &lines {
        let Some(item) = l.get("InventoryID").and_then(Value::as_str) else {
            continue;
        };
        let warehouse = stock::line_warehouse(l);
        let qty = number(l.get("Qty"));
        if entity == "InventoryReceipt" && qty < 0.0 {
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                "A receipt line's quantity cannot be negative.".into(),
            ));
        }
        if let Err(e) = stock::move_on_hand(&mut data, item, &warehouse, qty, false) {
            for (i, w, q) in &done {
                let _ = stock::move_on_hand(&mut data, i, w, -q, true);
            }
            return Err((StatusCode::UNPROCESSABLE_ENTITY, e));
        }
        done.push((item.to_owned(), warehouse, qty));
    }
    update(acu, &mut data, entity, row, |d| {
        d.insert("Status".into(), json!("Released"));
    });
    stock::refresh(acu, &mut data, done.into_iter().map(|(i, ..)| i));
    Ok(())
}

fn cancel_order(acu: &Acu, keys: &str) -> ActionResult {
    let spec = schema::spec("SalesOrder").ok_or_else(|| missing("SalesOrder", keys))?;
    let mut data = acu.data.write().unwrap_or_else(|p| p.into_inner());
    let (row, order) = find(&data, spec, keys)
        .map(|(r, o)| (r, o.clone()))
        .ok_or_else(|| missing("SalesOrder", keys))?;
    let shipped = order
        .get("Shipments")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|s| s.get("Status").and_then(Value::as_str) == Some("Confirmed"))
        });
    if shipped || order.get("Status").and_then(Value::as_str) == Some("Completed") {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            "The order has shipped and cannot be cancelled.".into(),
        ));
    }
    update(acu, &mut data, "SalesOrder", row, |o| {
        o.insert("Status".into(), json!("Cancelled"));
    });
    stock::refresh(acu, &mut data, stock::items_of("SalesOrder", &order));
    Ok(())
}
