//! Reading and deleting records: `GET` lists with `$filter`/`$select`/`$expand`/`$top`/`$skip`, one record by key, `DELETE`.

use super::wire::wrap;
use super::*;

// ------------------------------------------------------------------ handlers

/// An entity name the endpoint does not serve.
pub(super) struct UnknownEntity(String);

impl IntoResponse for UnknownEntity {
    fn into_response(self) -> Response {
        acu_error(
            StatusCode::NOT_FOUND,
            &format!(
                "The entity '{}' is not part of endpoint Default/24.200.001.",
                self.0
            ),
        )
    }
}

pub(super) fn spec_of(entity: &str) -> Result<&'static Spec, UnknownEntity> {
    schema::spec(entity).ok_or_else(|| UnknownEntity(entity.to_owned()))
}

pub(super) fn list_param(q: &HashMap<String, String>, name: &str) -> Vec<String> {
    q.get(name)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

pub(super) async fn list(
    State(acu): State<Arc<Acu>>,
    Path(entity): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let spec = match spec_of(&entity) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let filter = match q.get("$filter").map(|f| filter::parse(f)).transpose() {
        Ok(f) => f,
        Err(e) => return acu_error(StatusCode::BAD_REQUEST, &format!("$filter: {e}")),
    };
    let number = |name: &str| {
        q.get(name).map(|v| {
            v.parse::<usize>()
                .map_err(|_| format!("{name} must be a non-negative integer"))
        })
    };
    let (top, skip) = match (number("$top").transpose(), number("$skip").transpose()) {
        (Ok(t), Ok(s)) => (t, s.unwrap_or(0)),
        (Err(e), _) | (_, Err(e)) => return acu_error(StatusCode::BAD_REQUEST, &e),
    };
    let expand = list_param(&q, "$expand");
    let select = q.get("$select").map(|_| list_param(&q, "$select"));
    let data = acu.data.read().unwrap_or_else(|p| p.into_inner());
    // Acumatica answers lists in the order of the entity's key, which is what makes keyset
    // paging (`Key gt 'last'`) work; filter first so only the matches are sorted.
    let mut matches: Vec<&Record> = data
        .records
        .get(spec.name)
        .into_iter()
        .flat_map(|m| m.values())
        .filter(|r| filter.as_ref().is_none_or(|f| f.matches(r)))
        .collect();
    // A page of a big list: only the records up to its end need ordering (a catalogue of a
    // million items is listed in 2,000 pages; sorting it all for each took minutes).
    if let Some(end) = top.map(|t| skip.saturating_add(t))
        && end < matches.len()
    {
        if end == 0 {
            matches.clear();
        } else {
            matches.select_nth_unstable_by(end - 1, |a, b| key_cmp(spec, a, b));
            matches.truncate(end);
        }
    }
    matches.sort_unstable_by(|a, b| key_cmp(spec, a, b));
    let rows: Vec<Value> = matches
        .into_iter()
        .skip(skip)
        .take(top.unwrap_or(usize::MAX))
        .enumerate()
        .map(|(n, r)| {
            let r = with_derived(&data, spec, r, &expand);
            wrap(spec, &r, (skip + n + 1) as u64, &expand, select.as_deref())
        })
        .collect();
    Json(Value::Array(rows)).into_response()
}

/// A record with the details the emulator derives rather than stores: a template item's
/// `Matrix` (the stock items whose `TemplateItemID` names it, in key order).
pub(super) fn with_derived<'a>(
    data: &Data,
    spec: &Spec,
    record: &'a Record,
    expand: &[String],
) -> std::borrow::Cow<'a, Record> {
    if spec.name != "TemplateItems" || !expand.iter().any(|e| e == "Matrix") {
        return std::borrow::Cow::Borrowed(record);
    }
    let Some(id) = record.get("InventoryID").and_then(Value::as_str) else {
        return std::borrow::Cow::Borrowed(record);
    };
    let mut children: Vec<&Record> = data
        .records
        .get("StockItem")
        .into_iter()
        .flat_map(|m| m.values())
        .filter(|r| {
            r.get("TemplateItemID")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case(id))
        })
        .collect();
    children.sort_by_cached_key(|r| {
        r.get("InventoryID")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_lowercase()
    });
    let fields = spec.detail("Matrix").unwrap_or(&[]);
    let lines: Vec<Value> = children
        .into_iter()
        .map(|c| {
            let mut line = Record::new();
            line.insert("id".into(), c.get("id").cloned().unwrap_or(Value::Null));
            for (f, _) in fields {
                if let Some(v) = c.get(*f) {
                    line.insert((*f).into(), v.clone());
                }
            }
            Value::Object(line)
        })
        .collect();
    let mut out = record.clone();
    out.insert("Matrix".into(), Value::Array(lines));
    std::borrow::Cow::Owned(out)
}

/// One key field's value as lists order it: numbers numerically, text case-insensitively
/// (the database's collation), a missing value first.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum KeyPart {
    Missing,
    Number(i64),
    Text(String),
}

fn key_part(value: Option<&Value>) -> KeyPart {
    match value {
        Some(Value::Number(n)) => n
            .as_i64()
            .map_or_else(|| KeyPart::Text(n.to_string()), KeyPart::Number),
        Some(Value::String(s)) => KeyPart::Text(s.to_lowercase()),
        _ => KeyPart::Missing,
    }
}

/// Two records in the order of their keys' [`KeyPart`]s, without building them for the usual
/// kinds of values (whole numbers, ASCII text).
pub(super) fn key_cmp(spec: &Spec, a: &Record, b: &Record) -> std::cmp::Ordering {
    for k in spec.keys {
        let (x, y) = (a.get(*k), b.get(*k));
        let order = match (x, y) {
            (Some(Value::String(x)), Some(Value::String(y))) if x.is_ascii() && y.is_ascii() => x
                .bytes()
                .map(|c| c.to_ascii_lowercase())
                .cmp(y.bytes().map(|c| c.to_ascii_lowercase())),
            (Some(Value::Number(x)), Some(Value::Number(y)))
                if x.as_i64().is_some() && y.as_i64().is_some() =>
            {
                x.as_i64().cmp(&y.as_i64())
            }
            _ => key_part(x).cmp(&key_part(y)),
        };
        if order.is_ne() {
            return order;
        }
    }
    std::cmp::Ordering::Equal
}

pub(super) async fn get_one(
    State(acu): State<Arc<Acu>>,
    Path((entity, keys)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let spec = match spec_of(&entity) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    if let Some((_, id)) = keys.split_once("/status/") {
        return actions::status(&acu, id);
    }
    if keys == "$adHocSchema" {
        let blank: Record = spec
            .fields
            .iter()
            .map(|(f, _)| ((*f).to_owned(), Value::Null))
            .collect();
        return Json(wrap(spec, &blank, 1, &[], None)).into_response();
    }
    let data = acu.data.read().unwrap_or_else(|p| p.into_inner());
    match find(&data, spec, &keys) {
        Some((_, r)) => {
            let select = q.get("$select").map(|_| list_param(&q, "$select"));
            let expand = list_param(&q, "$expand");
            let r = with_derived(&data, spec, r, &expand);
            Json(wrap(spec, &r, 1, &expand, select.as_deref())).into_response()
        }
        None => acu_error(
            StatusCode::NOT_FOUND,
            &format!("No {entity} matches '{keys}'."),
        ),
    }
}

pub(super) async fn delete(
    State(acu): State<Arc<Acu>>,
    Path((entity, keys)): Path<(String, String)>,
) -> Response {
    let spec = match spec_of(&entity) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let mut data = acu.data.write().unwrap_or_else(|p| p.into_inner());
    let Some((row, _)) = find(&data, spec, &keys) else {
        return acu_error(
            StatusCode::NOT_FOUND,
            &format!("No {entity} matches '{keys}'."),
        );
    };
    let old = data.remove(spec, row);
    acu.control.wrote(format!("{entity}/{keys}"));
    if let Some(old) = old {
        let _ = acu.changes.send(push::Change {
            entity: spec.name,
            old: Some(push::row(spec.name, &old)),
            new: None,
        });
        if spec.name == "SalesOrder" {
            stock::refresh(&acu, &mut data, stock::items_of(spec.name, &old));
        }
    }
    drop(data);
    StatusCode::NO_CONTENT.into_response()
}
