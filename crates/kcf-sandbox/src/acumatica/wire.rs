//! The value wrapper: `{"value": …}` around every field, on the way out and the way in.

use super::*;

// ------------------------------------------------------------------ value wrapper

/// Wraps a plain record for output: `{"value": …}` per field, details and linked objects
/// only when expanded, `$select` applied to top-level fields.
pub(super) fn wrap(
    spec: &Spec,
    r: &Record,
    row: u64,
    expand: &[String],
    select: Option<&[String]>,
) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), r.get("id").cloned().unwrap_or(Value::Null));
    out.insert("rowNumber".into(), json!(row));
    out.insert(
        "note".into(),
        json!({ "value": r.get("note").and_then(Value::as_str).unwrap_or("") }),
    );
    let selected = |name: &str| {
        select.is_none_or(|s| {
            s.iter()
                .any(|f| f == name || f.starts_with(&format!("{name}/")))
        })
    };
    for (name, _) in spec.fields {
        if let Some(v) = r.get(*name).filter(|_| selected(name)) {
            out.insert((*name).into(), json!({ "value": v }));
        }
    }
    for (name, _) in spec.details {
        if expand.iter().any(|e| e == name) {
            let lines = r
                .get(*name)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let lines: Vec<Value> = lines
                .iter()
                .enumerate()
                .map(|(n, l)| wrap_plain(l, n as u64 + 1))
                .collect();
            out.insert((*name).into(), Value::Array(lines));
        }
    }
    for name in spec.linked {
        if expand.iter().any(|e| e == name)
            && let Some(obj) = r.get(*name)
        {
            out.insert((*name).into(), wrap_plain(obj, 1));
        }
    }
    out.insert("custom".into(), json!({}));
    let id = r.get("id").and_then(Value::as_str).unwrap_or("");
    out.insert(
        "_links".into(),
        json!({ "self": format!("{ENDPOINT}/{}/{id}", spec.name) }),
    );
    Value::Object(out)
}

pub(super) fn wrap_plain(v: &Value, row: u64) -> Value {
    let Some(obj) = v.as_object() else {
        return json!({ "value": v });
    };
    let mut out = Map::new();
    out.insert(
        "id".into(),
        obj.get("id").cloned().unwrap_or_else(|| json!(new_guid())),
    );
    out.insert("rowNumber".into(), json!(row));
    for (k, v) in obj {
        if k == "id" {
            continue;
        }
        out.insert(
            k.clone(),
            if v.is_object() {
                wrap_plain(v, 1)
            } else {
                json!({ "value": v })
            },
        );
    }
    Value::Object(out)
}

/// Unwraps one `{"value": …}` field, checking its type; `Err` is the field's error text.
pub(super) fn unwrap_field(kind: Kind, v: &Value) -> Result<Value, String> {
    let Some(obj) = v.as_object() else {
        return Err("A field must be an object such as {\"value\": …}.".into());
    };
    let value = obj.get("value").cloned().unwrap_or(Value::Null);
    let ok = match kind {
        _ if value.is_null() => true,
        Kind::Text => value.is_string(),
        Kind::Decimal => value.is_number(),
        Kind::Int => value.as_i64().is_some(),
        Kind::Bool => value.is_boolean(),
        Kind::DateTime => value.as_str().and_then(filter::instant).is_some(),
    };
    if ok {
        Ok(value)
    } else {
        Err(format!("The value {value} is not a valid {kind:?}."))
    }
}

/// Unwraps a detail line or linked object: every member is a wrapped field or a nested object.
pub(super) fn unwrap_plain(
    v: &Value,
    kinds: Option<schema::Fields>,
    errors: &mut Vec<String>,
) -> Value {
    let Some(obj) = v.as_object() else {
        return Value::Null;
    };
    let mut out = Map::new();
    for (k, v) in obj {
        match k.as_str() {
            "id" => {
                out.insert("id".into(), v.clone());
            }
            "delete" => {
                out.insert("delete".into(), v.clone());
            }
            "rowNumber" | "_links" | "custom" | "note" => {}
            _ if v.get("value").is_none() && v.is_object() => {
                out.insert(k.clone(), unwrap_plain(v, None, errors));
            }
            _ => {
                let kind = kinds
                    .and_then(|ks| ks.iter().find(|(n, _)| n == k).map(|(_, kind)| *kind))
                    .unwrap_or(Kind::Text);
                match unwrap_field(kind, v) {
                    Ok(val) => {
                        out.insert(k.clone(), val);
                    }
                    Err(e) => errors.push(format!("{k}: {e}")),
                }
            }
        }
    }
    Value::Object(out)
}
