//! Acumatica's value wrapper: every field travels as `{"value": x}` (with an `error` beside it
//! on a refused field), detail collections as arrays of such objects, linked entities nested.
//! Everything else in the crate works on plain JSON (`{"Field": x}`); these functions are the
//! only crossing.

use serde_json::{Map, Value};

/// Members that are not fields and pass through wrapping untouched.
const RAW_MEMBERS: &[&str] = &["id", "delete", "rowNumber", "custom", "_links", "files"];

/// Members of an answer that carry no data for kcf.
const DROPPED_MEMBERS: &[&str] = &["rowNumber", "custom", "_links", "files", "error"];

/// Wraps a plain body for a request: scalars become `{"value": x}`, objects are linked
/// entities (wrapped member by member), arrays are detail lines; `id`, `delete` and `custom`
/// stay as they are.
pub fn wrap(plain: &Value) -> Value {
    match plain {
        Value::Object(obj) => {
            let mut out = Map::with_capacity(obj.len());
            for (k, v) in obj {
                let member = if RAW_MEMBERS.contains(&k.as_str()) {
                    v.clone()
                } else {
                    wrap_member(v)
                };
                out.insert(k.clone(), member);
            }
            Value::Object(out)
        }
        other => wrap_member(other),
    }
}

fn wrap_member(v: &Value) -> Value {
    match v {
        Value::Object(_) => wrap(v),
        Value::Array(lines) => Value::Array(lines.iter().map(wrap).collect()),
        scalar => {
            let mut field = Map::with_capacity(1);
            field.insert("value".into(), scalar.clone());
            Value::Object(field)
        }
    }
}

/// Unwraps an answer to plain JSON: `{"value": x}` becomes `x`, an empty field object (how
/// Acumatica sends an empty value) becomes `null`, linked entities and detail lines are
/// unwrapped in place; `id` is kept; `rowNumber`, `_links`, `custom`, `files` and `error` go.
pub fn unwrap(wrapped: &Value) -> Value {
    match wrapped {
        Value::Object(obj) => {
            if let Some(v) = obj.get("value") {
                return v.clone();
            }
            if obj.is_empty() {
                return Value::Null;
            }
            let mut out = Map::with_capacity(obj.len());
            for (k, v) in obj {
                if DROPPED_MEMBERS.contains(&k.as_str()) {
                    continue;
                }
                out.insert(k.clone(), unwrap(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(unwrap).collect()),
        scalar => scalar.clone(),
    }
}

/// The field errors of a refused record (a 422 echo): `(path, message)` with paths such as
/// `CustomerID`, `Details.InventoryID` or `MainContact.Email`, each once, in the order found.
/// When no field carries an error, the record's own `error` (or the body's message) is given
/// with an empty path.
pub fn field_errors(body: &[u8]) -> Vec<(String, String)> {
    let Ok(echo) = serde_json::from_slice::<Value>(body) else {
        return vec![(String::new(), crate::error::message_of(body))];
    };
    let mut out = Vec::new();
    collect(&echo, "", &mut out);
    if out.is_empty() {
        let whole = echo
            .get("error")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| crate::error::message_of(body));
        out.push((String::new(), whole));
    }
    out
}

fn collect(entity: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    let Some(obj) = entity.as_object() else {
        return;
    };
    for (k, v) in obj {
        if RAW_MEMBERS.contains(&k.as_str()) || k == "error" {
            continue;
        }
        let path = format!("{prefix}{k}");
        match v {
            Value::Object(field) if is_field(field) => {
                if let Some(message) = field.get("error").and_then(Value::as_str)
                    && !message.trim().is_empty()
                {
                    push_once(out, path, message.trim().to_owned());
                }
            }
            Value::Object(_) => collect(v, &format!("{path}."), out),
            Value::Array(lines) => {
                for line in lines {
                    collect(line, &format!("{path}."), out);
                }
            }
            _ => {}
        }
    }
}

/// A field object (`{"value": …, "error": …}`) rather than a linked entity.
fn is_field(obj: &Map<String, Value>) -> bool {
    obj.contains_key("value")
        || (obj.contains_key("error") && obj.keys().all(|k| k == "value" || k == "error"))
}

fn push_once(out: &mut Vec<(String, String)>, path: String, message: String) {
    if !out.iter().any(|(p, m)| *p == path && *m == message) {
        out.push((path, message));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn wraps_fields_lines_and_linked_entities() {
        let plain = json!({
            "id": "a629", "OrderType": "SO", "OrderTotal": 12.5, "Hold": false, "Note": null,
            "Details": [ { "InventoryID": "AAA", "OrderQty": 2 }, { "id": "l2", "delete": true } ],
            "ShipToAddress": { "City": "Oslo", "Geo": { "Lat": 59.9 } },
            "custom": { "Document": { "UsrX": { "type": "CustomStringField", "value": "x" } } }
        });
        let wrapped = wrap(&plain);
        assert_eq!(
            wrapped,
            json!({
                "id": "a629", "OrderType": { "value": "SO" }, "OrderTotal": { "value": 12.5 },
                "Hold": { "value": false }, "Note": { "value": null },
                "Details": [
                    { "InventoryID": { "value": "AAA" }, "OrderQty": { "value": 2 } },
                    { "id": "l2", "delete": true }
                ],
                "ShipToAddress": { "City": { "value": "Oslo" }, "Geo": { "Lat": { "value": 59.9 } } },
                "custom": { "Document": { "UsrX": { "type": "CustomStringField", "value": "x" } } }
            })
        );
    }

    #[test]
    fn unwraps_answers_to_plain_json() {
        let answer = json!({
            "id": "a629", "rowNumber": 1, "note": { "value": "" },
            "InventoryID": { "value": "AACOMPUT01" }, "Description": {},
            "Categories": [ { "id": "c1", "rowNumber": 1, "CategoryID": { "value": 5 } } ],
            "MainContact": { "id": "m1", "rowNumber": 1, "Email": { "value": "a@b.c" },
                             "Address": { "id": "x", "City": { "value": "Oslo" } } },
            "custom": {}, "_links": { "self": "/entity/…" }, "files": []
        });
        assert_eq!(
            unwrap(&answer),
            json!({
                "id": "a629", "note": "", "InventoryID": "AACOMPUT01", "Description": null,
                "Categories": [ { "id": "c1", "CategoryID": 5 } ],
                "MainContact": { "id": "m1", "Email": "a@b.c", "Address": { "id": "x", "City": "Oslo" } }
            })
        );
        assert_eq!(
            unwrap(&json!([{ "A": { "value": 1 } }])),
            json!([{ "A": 1 }])
        );
    }

    #[test]
    fn round_trips_plain_records() {
        let plain = json!({ "CustomerID": "C1", "MainContact": { "Email": "a@b.c" },
                            "Contacts": [ { "FirstName": "Jane" } ] });
        assert_eq!(unwrap(&wrap(&plain)), plain);
    }

    #[test]
    fn finds_field_errors_on_fields_lines_and_linked_entities() {
        let echo = json!({
            "CustomerID": { "value": "X", "error": "'Customer' cannot be found in the system." },
            "Details": [
                { "InventoryID": { "value": "XYZ", "error": "'Inventory ID' XYZ cannot be found in the system." } },
                { "InventoryID": { "value": "XYZ", "error": "'Inventory ID' XYZ cannot be found in the system." } },
                { "InventoryID": { "value": "OK" } }
            ],
            "MainContact": { "Email": { "value": "bad", "error": "Email is not valid." } },
            "error": "SalesOrder has errors"
        });
        let errors = field_errors(echo.to_string().as_bytes());
        assert_eq!(
            errors,
            vec![
                (
                    "CustomerID".into(),
                    "'Customer' cannot be found in the system.".into()
                ),
                (
                    "Details.InventoryID".into(),
                    "'Inventory ID' XYZ cannot be found in the system.".into()
                ),
                ("MainContact.Email".into(), "Email is not valid.".into()),
            ]
        );
        let whole = field_errors(br#"{"InventoryID": {"value": "A"}, "error": "Locked."}"#);
        assert_eq!(whole, vec![(String::new(), "Locked.".into())]);
        let exception = field_errors(br#"{"message": "No lines left to ship."}"#);
        assert_eq!(
            exception,
            vec![(String::new(), "No lines left to ship.".into())]
        );
    }
}
