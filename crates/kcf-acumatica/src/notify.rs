//! Acumatica push notifications: a webhook POST of
//! `{"Inserted": [rows], "Deleted": [rows], "Query", "CompanyId", "Id", "TimeStamp",
//! "AdditionalInfo"}`, rows being flat columns of the query (not value-wrapped). An update
//! arrives as the old row in `Deleted` and the new one in `Inserted`. Delivery is at least
//! once and unsigned: the only check is the destination's custom header
//! ([`header_matches`]), and the record is re-read over REST before it is used.

use kcf_domain::Entity;
use serde_json::{Map, Value};

/// A notification that cannot be used. Acumatica resends on an error reply, which will not
/// help with these; the receiver should still refuse them so they show on SM502000.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// Not JSON at all.
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    /// JSON, but not an object.
    #[error("the body is not a JSON object")]
    NotAnObject,
    /// A required member is missing or empty.
    #[error("'{0}' is missing")]
    Missing(&'static str),
    /// A member has the wrong type.
    #[error("'{0}' {1}")]
    WrongType(&'static str, &'static str),
    /// A row carries none of the key columns kcf knows.
    #[error(
        "a row has no key column (InventoryID, TemplateItemID, CategoryID, CustomerID, OrderNbr \
         or ShipmentNbr)"
    )]
    NoKey,
}

/// One push notification.
#[derive(Debug, Clone, PartialEq)]
pub struct PushNotification {
    /// The transaction id: with `query`, what identifies a delivery.
    pub id: String,
    /// The query (generic inquiry or built-in definition) that fired.
    pub query: String,
    /// The tenant.
    pub company_id: String,
    /// A rising number: later notifications have larger ones.
    pub timestamp: i64,
    /// New rows (inserts, and the new side of updates).
    pub inserted: Vec<Map<String, Value>>,
    /// Old rows (deletes, and the old side of updates).
    pub deleted: Vec<Map<String, Value>>,
}

/// One record a notification says changed.
#[derive(Debug, Clone, PartialEq)]
pub struct PushChange {
    /// What kind of record, from the key column its rows carry.
    pub entity: Entity,
    /// kcf's record key: InventoryID, CategoryID, CustomerID, `OrderType/OrderNbr` or
    /// ShipmentNbr.
    pub record_key: String,
    /// Only the old row came: the record left the query (deleted, or no longer matching).
    pub deleted: bool,
    /// The newest row about it.
    pub row: Value,
    /// `Id:Query:record_key`: the same for a redelivery of the same notification.
    pub dedup_key: String,
}

/// Parses a notification body.
pub fn parse(body: &[u8]) -> Result<PushNotification, NotifyError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| NotifyError::NotJson(e.to_string()))?;
    let obj = value.as_object().ok_or(NotifyError::NotAnObject)?;
    let text = |name: &'static str| -> Result<String, NotifyError> {
        match obj.get(name) {
            None | Some(Value::Null) => Err(NotifyError::Missing(name)),
            Some(Value::String(s)) if s.trim().is_empty() => Err(NotifyError::Missing(name)),
            Some(Value::String(s)) => Ok(s.trim().to_owned()),
            Some(_) => Err(NotifyError::WrongType(name, "must be text")),
        }
    };
    let timestamp = match obj.get("TimeStamp") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n.as_i64().ok_or(NotifyError::WrongType(
            "TimeStamp",
            "must be a whole number that fits in 64 bits",
        ))?,
        Some(_) => return Err(NotifyError::WrongType("TimeStamp", "must be a number")),
    };
    Ok(PushNotification {
        id: text("Id")?,
        query: text("Query")?,
        company_id: match obj.get("CompanyId") {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => String::new(),
            Some(_) => return Err(NotifyError::WrongType("CompanyId", "must be text")),
        },
        timestamp,
        inserted: rows(obj, "Inserted")?,
        deleted: rows(obj, "Deleted")?,
    })
}

fn rows(
    obj: &Map<String, Value>,
    name: &'static str,
) -> Result<Vec<Map<String, Value>>, NotifyError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|r| {
                r.as_object()
                    .cloned()
                    .ok_or(NotifyError::WrongType(name, "must hold objects (rows)"))
            })
            .collect(),
        Some(_) => Err(NotifyError::WrongType(name, "must be a list of rows")),
    }
}

/// A column's value, matched without regard to case (merchants name their inquiry columns).
fn column<'a>(row: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    row.get(name).or_else(|| {
        row.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn text_of(row: &Map<String, Value>, name: &str) -> Option<String> {
    match column(row, name)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        // Numeric keys (CategoryID) are whole numbers; anything else names no record.
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// The entity and record key a row is about. The most specific key wins: a shipment row
/// also names its customer, an order line names its item.
fn identify(row: &Map<String, Value>) -> Result<(Entity, String), NotifyError> {
    if let Some(nbr) = text_of(row, "ShipmentNbr") {
        return Ok((Entity::Shipment, nbr));
    }
    if let Some(nbr) = text_of(row, "OrderNbr") {
        let order_type = text_of(row, "OrderType").unwrap_or_else(|| "SO".into());
        return Ok((Entity::OrderStatus, format!("{order_type}/{nbr}")));
    }
    let item = text_of(row, "InventoryID");
    if item.is_none()
        && let Some(id) = text_of(row, "TemplateItemID")
    {
        return Ok((Entity::TemplateItem, id));
    }
    if let Some(id) = item {
        // A row per item and warehouse is about stock.
        if text_of(row, "WarehouseID").is_some() {
            return Ok((Entity::Availability, id));
        }
        return Ok((Entity::Product, id));
    }
    if let Some(id) = text_of(row, "CategoryID") {
        return Ok((Entity::Category, id));
    }
    if let Some(id) = text_of(row, "CustomerID") {
        return Ok((Entity::Customer, id));
    }
    Err(NotifyError::NoKey)
}

impl PushNotification {
    /// One change per record the notification touches (deleted rows are read first, so an
    /// update becomes one change that is not a delete).
    pub fn changes(&self) -> Result<Vec<PushChange>, NotifyError> {
        let mut out: Vec<PushChange> = Vec::new();
        let mut note = |row: &Map<String, Value>, inserted: bool| -> Result<(), NotifyError> {
            let (entity, record_key) = identify(row)?;
            match out
                .iter_mut()
                .find(|c| c.entity == entity && c.record_key == record_key)
            {
                Some(change) => {
                    if inserted {
                        change.deleted = false;
                        change.row = Value::Object(row.clone());
                    }
                }
                None => out.push(PushChange {
                    entity,
                    dedup_key: format!("{}:{}:{record_key}", self.id, self.query),
                    record_key,
                    deleted: !inserted,
                    row: Value::Object(row.clone()),
                }),
            }
            Ok(())
        };
        for row in &self.deleted {
            note(row, false)?;
        }
        for row in &self.inserted {
            note(row, true)?;
        }
        Ok(out)
    }
}

/// Whether the destination's custom header carries the expected value, compared in constant
/// time. An empty expected value matches nothing: a receiver without a secret is open.
pub use kcf_platform::header_matches;

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;
