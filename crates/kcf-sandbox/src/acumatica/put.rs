//! Writing records: `PUT` upserts with `If-None-Match: *` / `If-Match: *`, detail lines merged by key, an order's totals and status derived.

use super::*;
use super::{
    records::{list_param, spec_of},
    wire::{unwrap_field, unwrap_plain, wrap},
};

/// `PUT /{Entity}`: update the record the body names (by `id` or key fields), or create it.
pub(super) async fn put(
    State(acu): State<Arc<Acu>>,
    Path(entity): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let spec = match spec_of(&entity) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let (input, plain, mut field_errors) = match read_body(spec, &body) {
        Ok(read) => read,
        Err(message) => return acu_error(StatusCode::BAD_REQUEST, &message),
    };
    let now = now_iso();
    let mut data = acu.data.write().unwrap_or_else(|p| p.into_inner());
    let line_errors = check_references(&data, spec, &plain, &mut field_errors);
    let mut plain = plain;
    describe_attributes(&data, &mut plain);
    let existing = existing_row(&data, spec, &plain);
    let if_none_match = headers.get(header::IF_NONE_MATCH).is_some_and(|v| v == "*");
    let if_match = headers.get(header::IF_MATCH).is_some_and(|v| v == "*");
    if existing.is_some() && if_none_match {
        return acu_error(
            StatusCode::PRECONDITION_FAILED,
            &format!("The {entity} already exists."),
        );
    }
    if existing.is_none() && if_match {
        return acu_error(
            StatusCode::PRECONDITION_FAILED,
            &format!("The {entity} does not exist."),
        );
    }
    if existing.is_none() {
        for key in spec.keys {
            if Some(*key) == spec.autonumber || spec.name == "SalesOrder" && *key == "OrderType" {
                continue;
            }
            if plain.get(*key).is_none_or(Value::is_null) {
                field_errors.insert((*key).into(), format!("'{key}' cannot be empty."));
            }
        }
    }
    if !field_errors.is_empty() {
        return unprocessable(&entity, input, &field_errors, &line_errors);
    }
    let before_record = existing
        .and_then(|row| data.records.get(spec.name).and_then(|m| m.get(&row)))
        .cloned();
    let before = before_record.as_ref().map(|r| push::row(spec.name, r));
    let mut touched = before_record
        .as_ref()
        .map(|r| stock::items_of(spec.name, r))
        .unwrap_or_default();
    let row = match existing {
        Some(row) => row,
        None => new_row(&mut data, spec, &now),
    };
    let Some(record) = data
        .records
        .get_mut(spec.name)
        .and_then(|m| m.get_mut(&row))
    else {
        return acu_error(StatusCode::INTERNAL_SERVER_ERROR, "The record vanished.");
    };
    for (k, v) in plain {
        if k == "id" {
            continue;
        }
        if spec.detail(&k).is_some() {
            merge_lines(record, &k, v);
        } else {
            record.insert(k, v);
        }
    }
    match spec.name {
        "SalesOrder" => derive_order(record),
        "Shipment" | "InventoryReceipt" | "InventoryAdjustment" => derive_document(record),
        _ => {}
    }
    for stamp in ["LastModifiedDateTime", "LastModified"] {
        if spec.kind(stamp).is_some() {
            record.insert(stamp.into(), json!(now));
        }
    }
    let answer = wrap(spec, record, 1, &list_param(&q, "$expand"), None);
    let after = push::row(spec.name, record);
    let keys: Vec<String> = spec
        .keys
        .iter()
        .map(|k| {
            record.get(*k).map_or(String::new(), |v| {
                v.as_str().map_or_else(|| v.to_string(), str::to_owned)
            })
        })
        .collect();
    let created_shipment = (spec.name == "Shipment" && existing.is_none()).then(|| record.clone());
    touched.extend(stock::items_of(spec.name, record));
    data.reindex(spec, row);
    acu.control.wrote(format!("{entity}/{}", keys.join("/")));
    let _ = acu.changes.send(push::Change {
        entity: spec.name,
        old: before,
        new: Some(after),
    });
    if let Some(shipment) = created_shipment {
        actions::link_shipment(&acu, &mut data, &shipment);
    }
    if matches!(spec.name, "StockItem" | "SalesOrder") {
        stock::refresh(&acu, &mut data, touched);
    }
    drop(data);
    Json(answer).into_response()
}

/// A body's fields, unwrapped and type-checked: the body as sent, the plain record, and an
/// error per bad field; why not, when the body is not a JSON object.
type Read = (Value, Record, BTreeMap<String, String>);

fn read_body(spec: &Spec, body: &[u8]) -> Result<Read, String> {
    let input: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Err(format!("The request body is not valid JSON: {e}"));
        }
    };
    let Some(obj) = input.as_object() else {
        return Err("The request body must be a JSON object.".into());
    };
    // Unwrap and type-check every field; collect errors per field.
    let mut plain = Record::new();
    let mut field_errors: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in obj {
        if k == "id" {
            plain.insert("id".into(), v.clone());
        } else if let Some(kind) = spec.kind(k) {
            match unwrap_field(kind, v) {
                Ok(val) => {
                    plain.insert(k.clone(), val);
                }
                Err(e) => {
                    field_errors.insert(k.clone(), e);
                }
            }
        } else if let Some(kinds) = spec.detail(k) {
            let mut errors = Vec::new();
            let lines: Vec<Value> = v
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|l| unwrap_plain(l, Some(kinds), &mut errors))
                        .collect()
                })
                .unwrap_or_default();
            if !errors.is_empty() {
                field_errors.insert(k.clone(), errors.join("; "));
            }
            plain.insert(k.clone(), Value::Array(lines));
        } else if spec.is_linked(k) {
            let mut errors = Vec::new();
            plain.insert(k.clone(), unwrap_plain(v, None, &mut errors));
        }
    }
    Ok((input, plain, field_errors))
}

/// One bad field of one detail line: (detail, line index, field, message).
type LineError = (&'static str, usize, &'static str, String);

/// Referential checks, as Acumatica's graph would do them: the customer and every line's
/// item must exist. Acumatica marks the bad field of the bad line.
fn check_references(
    data: &Data,
    spec: &'static Spec,
    plain: &Record,
    field_errors: &mut BTreeMap<String, String>,
) -> Vec<LineError> {
    if let Some(Value::String(customer)) = plain.get("CustomerID")
        && spec.name != "Customer"
        && find(data, schema::spec("Customer").unwrap_or(spec), customer).is_none()
    {
        field_errors.insert(
            "CustomerID".into(),
            "'Customer' cannot be found in the system.".into(),
        );
    }
    if let Some(Value::String(template)) = plain.get("TemplateItemID")
        && !template.trim().is_empty()
        && let Some(templates) = schema::spec("TemplateItems")
        && find(data, templates, template).is_none()
    {
        field_errors.insert(
            "TemplateItemID".into(),
            format!("'Template Item' {template} cannot be found in the system."),
        );
    }
    let mut line_errors: Vec<LineError> = Vec::new();
    for (detail, _) in spec.details {
        for (n, line) in plain
            .get(*detail)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(Value::String(item)) = line.get("InventoryID")
                && !matches!(spec.name, "ItemSalesCategory" | "TemplateItems")
                && find(data, schema::spec("StockItem").unwrap_or(spec), item).is_none()
            {
                let message = format!("'Inventory ID' {item} cannot be found in the system.");
                field_errors.insert(format!("{detail}.InventoryID"), message.clone());
                line_errors.push((detail, n, "InventoryID", message));
            }
        }
    }
    line_errors
}

/// An attribute value's description, filled in from its definition (as Acumatica shows it).
fn describe_attributes(data: &Data, plain: &mut Record) {
    let Some(Value::Array(lines)) = plain.get_mut("Attributes") else {
        return;
    };
    let Some(spec) = schema::spec("AttributeDefinition") else {
        return;
    };
    for line in lines.iter_mut() {
        let (Some(attribute), Some(value)) = (
            line.get("AttributeID").and_then(Value::as_str),
            line.get("Value").and_then(Value::as_str),
        ) else {
            continue;
        };
        if line.get("ValueDescription").is_some_and(|d| !d.is_null()) {
            continue;
        }
        let description = find(data, spec, attribute).and_then(|(_, def)| {
            def.get("Values")?
                .as_array()?
                .iter()
                .find(|v| {
                    v.get("ValueID")
                        .and_then(Value::as_str)
                        .is_some_and(|id| id.eq_ignore_ascii_case(value))
                })?
                .get("Description")
                .cloned()
        });
        if let Some(d) = description {
            line["ValueDescription"] = d;
        }
    }
}

/// The record a body names: by id, or by all key fields.
fn existing_row(data: &Data, spec: &Spec, plain: &Record) -> Option<u64> {
    match plain.get("id").and_then(Value::as_str) {
        Some(id) => find(data, spec, id).map(|(row, _)| row),
        None => {
            let keys: Option<Vec<String>> = spec
                .keys
                .iter()
                .map(|k| {
                    plain
                        .get(*k)
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                })
                .collect();
            keys.and_then(|ks| find(data, spec, &ks.join("/")))
                .map(|(row, _)| row)
        }
    }
}

/// 422: the entity echoed with an error on each bad field.
fn unprocessable(
    entity: &str,
    input: Value,
    field_errors: &BTreeMap<String, String>,
    line_errors: &[LineError],
) -> Response {
    let mut echo = input;
    for (detail, n, field, message) in line_errors {
        if let Some(Value::Object(f)) = echo
            .get_mut(*detail)
            .and_then(|d| d.get_mut(*n))
            .and_then(|l| l.get_mut(*field))
        {
            f.insert("error".into(), json!(message));
        }
    }
    for (field, message) in field_errors {
        let top = field.split('.').next().unwrap_or(field);
        if field.contains('.') && echo.get(top).is_some_and(Value::is_array) {
            continue;
        }
        match echo.get_mut(top) {
            Some(Value::Object(o)) => {
                o.insert("error".into(), json!(message));
            }
            _ => {
                echo[top] = json!({ "value": null, "error": message });
            }
        }
    }
    echo["error"] = json!(format!(
        "{entity} has errors: {}",
        field_errors.keys().cloned().collect::<Vec<_>>().join(", ")
    ));
    (StatusCode::UNPROCESSABLE_ENTITY, Json(echo)).into_response()
}

/// A new record's row, with its id, autonumber and creation defaults.
fn new_row(data: &mut Data, spec: &'static Spec, now: &str) -> u64 {
    data.next_row += 1;
    let row = data.next_row;
    let mut fresh = Record::new();
    fresh.insert("id".into(), json!(new_guid()));
    if let Some(auto) = spec.autonumber {
        let n = data.counters.entry(spec.name).or_insert(0);
        *n += 1;
        let value = if spec.kind(auto) == Some(Kind::Int) {
            json!(*n)
        } else {
            json!(format!("{:06}", *n))
        };
        fresh.insert(auto.into(), value);
    }
    if spec.name == "SalesOrder" {
        fresh.insert("OrderType".into(), json!("SO"));
        fresh.insert("Status".into(), json!("Open"));
        fresh.insert("CreatedDate".into(), json!(now));
    }
    if spec.kind("CreatedDateTime").is_some() {
        fresh.insert("CreatedDateTime".into(), json!(now));
    }
    data.records
        .entry(spec.name)
        .or_default()
        .insert(row, fresh);
    row
}

/// Merges detail lines: a line with an `id` updates (or, with `delete: true`, removes) that
/// line; a line without one is added.
pub(super) fn merge_lines(record: &mut Record, detail: &str, incoming: Value) {
    let mut lines = record
        .get(detail)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for line in incoming.as_array().into_iter().flatten() {
        let id = line.get("id").and_then(Value::as_str).map(str::to_owned);
        let delete = line.get("delete").and_then(Value::as_bool) == Some(true);
        match id.and_then(|id| {
            lines
                .iter()
                .position(|l| l.get("id").and_then(Value::as_str) == Some(id.as_str()))
        }) {
            Some(i) if delete => {
                lines.remove(i);
            }
            Some(i) => {
                if let (Some(target), Some(src)) = (lines[i].as_object_mut(), line.as_object()) {
                    for (k, v) in src {
                        target.insert(k.clone(), v.clone());
                    }
                }
            }
            None if delete => {}
            None => {
                let mut new = line.as_object().cloned().unwrap_or_default();
                new.insert("id".into(), json!(new_guid()));
                if !new.contains_key("LineNbr") && detail != "Categories" && detail != "Members" {
                    new.insert("LineNbr".into(), json!(lines.len() + 1));
                }
                lines.push(Value::Object(new));
            }
        }
    }
    record.insert(detail.into(), Value::Array(lines));
}

/// A document whose status follows its `Hold` box until it is released or confirmed: On Hold
/// or, for a shipment, Open (a receipt or adjustment: Balanced).
pub(super) fn derive_document(record: &mut Record) {
    let status = record.get("Status").and_then(Value::as_str).unwrap_or("");
    if matches!(status, "Confirmed" | "Released" | "Completed") {
        return;
    }
    let hold = record.get("Hold").and_then(Value::as_bool) == Some(true);
    let shipment = record.contains_key("ShipmentNbr");
    let status = match (hold, shipment) {
        (true, _) => "On Hold",
        (false, true) => "Open",
        (false, false) => "Balanced",
    };
    record.insert("Status".into(), json!(status));
    let qty_field = if shipment { "ShippedQty" } else { "Qty" };
    let total: f64 = record
        .get("Details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|l| l.get(qty_field).and_then(Value::as_f64).unwrap_or(0.0))
        .sum();
    record.insert(
        if shipment { "ShippedQty" } else { "TotalQty" }.into(),
        json!(total),
    );
    if shipment && record.get("Type").is_none_or(Value::is_null) {
        record.insert("Type".into(), json!("Shipment"));
        record.insert("Operation".into(), json!("Issue"));
    }
}

pub(super) fn derive_order(order: &mut Record) {
    let lines = order
        .get("Details")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut total = 0.0;
    let mut qty = 0.0;
    let mut lines_out = Vec::new();
    for mut line in lines {
        let q = line.get("OrderQty").and_then(Value::as_f64).unwrap_or(0.0);
        let p = line.get("UnitPrice").and_then(Value::as_f64).unwrap_or(0.0);
        line["ExtendedPrice"] = json!(q * p);
        line["Amount"] = json!(q * p);
        if line.get("OpenQty").is_none() {
            line["OpenQty"] = json!(q);
        }
        if line.get("WarehouseID").is_none_or(Value::is_null) {
            line["WarehouseID"] = json!(stock::DEFAULT_WAREHOUSE);
        }
        total += q * p;
        qty += q;
        lines_out.push(line);
    }
    order.insert("Details".into(), Value::Array(lines_out));
    order.insert("OrderTotal".into(), json!(total));
    order.insert("OrderedQty".into(), json!(qty));
}
