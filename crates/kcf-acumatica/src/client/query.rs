//! Listing what changed in a time window, keyset-paged by the entity's key.
//!
//! Acumatica answers contract-based lists in key order, so `Key gt 'last seen'` + `$top` pages
//! through a window without the gaps and repeats that `$skip` suffers when records change
//! meanwhile, and without losing the many records that share one `LastModifiedDateTime` (an
//! import, a mass update) across a page boundary.

use kcf_domain::Timestamp;
use serde_json::Value;

use super::{AcumaticaClient, Call};
use crate::{Error, model::format_instant, wire};

/// The entities kcf reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErpEntity {
    /// `StockItem`, key `InventoryID`.
    StockItem,
    /// `ItemSalesCategory`, key `CategoryID` (a number).
    ItemSalesCategory,
    /// `Customer`, key `CustomerID`.
    Customer,
    /// `SalesOrder`, keys `OrderType` + `OrderNbr` (kcf lists type `SO`).
    SalesOrder,
    /// `Shipment`, key `ShipmentNbr`.
    Shipment,
    /// `TemplateItems` (matrix items' templates), key `InventoryID`.
    TemplateItems,
    /// `InventoryQuantityAvailable` (stock per item and warehouse), keys `InventoryID` and
    /// `WarehouseID`; kcf's record key is the item.
    InventoryQuantityAvailable,
}

impl ErpEntity {
    /// Every entity.
    pub const ALL: [ErpEntity; 7] = [
        Self::StockItem,
        Self::ItemSalesCategory,
        Self::Customer,
        Self::SalesOrder,
        Self::Shipment,
        Self::TemplateItems,
        Self::InventoryQuantityAvailable,
    ];

    /// The entity's name in URLs.
    pub fn name(self) -> &'static str {
        match self {
            Self::StockItem => "StockItem",
            Self::ItemSalesCategory => "ItemSalesCategory",
            Self::Customer => "Customer",
            Self::SalesOrder => "SalesOrder",
            Self::Shipment => "Shipment",
            Self::TemplateItems => "TemplateItems",
            Self::InventoryQuantityAvailable => "InventoryQuantityAvailable",
        }
    }

    /// The key field lists are ordered and keyset-paged by (for orders, the number within
    /// the type).
    pub fn key_field(self) -> &'static str {
        match self {
            Self::StockItem => "InventoryID",
            Self::ItemSalesCategory => "CategoryID",
            Self::Customer => "CustomerID",
            Self::SalesOrder => "OrderNbr",
            Self::Shipment => "ShipmentNbr",
            Self::TemplateItems | Self::InventoryQuantityAvailable => "InventoryID",
        }
    }

    /// Whether the key is a number (compared as one in filters).
    pub fn key_is_numeric(self) -> bool {
        self == Self::ItemSalesCategory
    }

    /// The field that records the last change (`LastModified` on sales orders).
    pub fn modified_field(self) -> &'static str {
        match self {
            Self::SalesOrder => "LastModified",
            _ => "LastModifiedDateTime",
        }
    }

    /// What kcf expands when it reads a record: the details and linked entities its mapping
    /// uses.
    pub fn expand(self) -> &'static [&'static str] {
        match self {
            Self::StockItem => &["Categories", "Attributes"],
            Self::TemplateItems => &["Categories", "Attributes"],
            Self::InventoryQuantityAvailable => &[],
            Self::ItemSalesCategory => &[],
            Self::Customer => &["MainContact", "MainContact/Address"],
            Self::SalesOrder => &["Details", "Shipments"],
            Self::Shipment => &["Details", "Packages", "Orders"],
        }
    }

    /// The key-field value of a plain record, as text: what [`ChangedQuery::after_key`]
    /// takes to continue after it.
    pub fn key_of(self, record: &Value) -> Option<String> {
        scalar_text(record.get(self.key_field())?)
    }

    /// kcf's record key of a plain record: the key, or `OrderType/OrderNbr` for an order.
    pub fn record_key(self, record: &Value) -> Option<String> {
        let key = self.key_of(record)?;
        if self == Self::SalesOrder {
            let order_type = record
                .get("OrderType")
                .and_then(scalar_text)
                .unwrap_or_else(|| "SO".into());
            return Some(format!("{order_type}/{key}"));
        }
        Some(key)
    }
}

/// A value as text; `None` for null, empty text, objects and arrays.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Quotes a text literal for `$filter` (`'` doubled).
pub(crate) fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// One page of records changed in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedQuery {
    /// Changed at or after this instant (none: from the beginning).
    pub from: Option<Timestamp>,
    /// Changed before this instant (none: up to now).
    pub to: Option<Timestamp>,
    /// Continue after this key (the last key of the previous page).
    pub after_key: Option<String>,
    /// Records per page (at least 1).
    pub top: u32,
    /// Only these fields (plus the key and change fields, always added); linked and detail
    /// fields as `MainContact/Email`. None: every top-level field and the entity's usual
    /// details.
    pub select: Option<Vec<String>>,
}

impl Default for ChangedQuery {
    fn default() -> Self {
        Self {
            from: None,
            to: None,
            after_key: None,
            top: 100,
            select: None,
        }
    }
}

impl ChangedQuery {
    /// The `$filter` this query sends for `entity`.
    pub fn odata_filter(&self, entity: ErpEntity) -> Result<Option<String>, Error> {
        let mut parts = Vec::new();
        if entity == ErpEntity::SalesOrder {
            parts.push("OrderType eq 'SO'".to_owned());
        }
        let field = entity.modified_field();
        if let Some(from) = self.from {
            parts.push(format!(
                "{field} ge datetimeoffset'{}'",
                format_instant(from)?
            ));
        }
        if let Some(to) = self.to {
            parts.push(format!(
                "{field} lt datetimeoffset'{}'",
                format_instant(to)?
            ));
        }
        if let Some(after) = &self.after_key {
            let key = entity.key_field();
            if entity.key_is_numeric() {
                let n: i64 = after.trim().parse().map_err(|_| {
                    Error::Invalid(format!(
                        "{} keys are numbers; '{after}' is not one",
                        entity.name()
                    ))
                })?;
                parts.push(format!("{key} gt {n}"));
            } else {
                parts.push(format!("{key} gt {}", quote(after)));
            }
        }
        Ok((!parts.is_empty()).then(|| parts.join(" and ")))
    }

    /// `$select` and `$expand` for `entity`.
    fn shape(&self, entity: ErpEntity) -> (Option<String>, Vec<String>) {
        let Some(select) = &self.select else {
            return (None, entity.expand().iter().map(|e| (*e).into()).collect());
        };
        let mut fields: Vec<String> = select.clone();
        let mut needed = vec![entity.key_field(), entity.modified_field()];
        if entity == ErpEntity::SalesOrder {
            needed.push("OrderType");
        }
        for f in needed {
            if !fields.iter().any(|s| s == f) {
                fields.push(f.into());
            }
        }
        let mut expand: Vec<String> = Vec::new();
        // `MainContact/Address/City` needs `MainContact` and `MainContact/Address` expanded.
        for f in select {
            for (at, _) in f.match_indices('/') {
                let linked = &f[..at];
                if !expand.iter().any(|e| e == linked) {
                    expand.push(linked.to_owned());
                }
            }
        }
        (Some(fields.join(",")), expand)
    }
}

impl AcumaticaClient {
    /// One page of `entity` records changed in `[query.from, query.to)`, after
    /// `query.after_key`, in key order, as plain JSON. Continue with the last record's
    /// [`ErpEntity::key_of`] until a page comes back shorter than `top`.
    #[tracing::instrument(skip_all, fields(entity = entity.name(), key = query.after_key.as_deref().unwrap_or("")), err)]
    pub async fn changed(
        &self,
        entity: ErpEntity,
        query: &ChangedQuery,
    ) -> Result<Vec<Value>, Error> {
        let url = self.entity_url(&[entity.name()])?;
        let mut call = Call::get(url).param("$top", query.top.max(1).to_string());
        if let Some(filter) = query.odata_filter(entity)? {
            call = call.param("$filter", filter);
        }
        let (select, expand) = query.shape(entity);
        if let Some(select) = select {
            call = call.param("$select", select);
        }
        if !expand.is_empty() {
            call = call.param("$expand", expand.join(","));
        }
        let answer = self.execute(&call).await?.check(entity.name())?;
        match answer.json(entity.name())? {
            Value::Array(rows) => Ok(rows.iter().map(wire::unwrap).collect()),
            other => Err(Error::Decode(format!(
                "a list of {} records was expected, not {}",
                entity.name(),
                kind_of(&other)
            ))),
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn filters_window_and_keyset() {
        let q = ChangedQuery {
            from: Some(Timestamp(1_714_922_183_103)),
            to: Some(Timestamp(1_714_922_183_104)),
            after_key: Some("O'BRIEN".into()),
            ..ChangedQuery::default()
        };
        assert_eq!(
            q.odata_filter(ErpEntity::Customer).unwrap().unwrap(),
            "LastModifiedDateTime ge datetimeoffset'2024-05-05T15:16:23.103+00:00' and \
             LastModifiedDateTime lt datetimeoffset'2024-05-05T15:16:23.104+00:00' and \
             CustomerID gt 'O''BRIEN'"
        );
        let orders = ChangedQuery {
            after_key: Some("000123".into()),
            ..ChangedQuery::default()
        };
        assert_eq!(
            orders.odata_filter(ErpEntity::SalesOrder).unwrap().unwrap(),
            "OrderType eq 'SO' and OrderNbr gt '000123'"
        );
        let cats = ChangedQuery {
            after_key: Some("5".into()),
            ..ChangedQuery::default()
        };
        assert_eq!(
            cats.odata_filter(ErpEntity::ItemSalesCategory)
                .unwrap()
                .unwrap(),
            "CategoryID gt 5"
        );
        let bad = ChangedQuery {
            after_key: Some("five".into()),
            ..ChangedQuery::default()
        };
        assert!(matches!(
            bad.odata_filter(ErpEntity::ItemSalesCategory),
            Err(Error::Invalid(_))
        ));
        assert_eq!(
            ChangedQuery::default()
                .odata_filter(ErpEntity::StockItem)
                .unwrap(),
            None
        );
    }

    #[test]
    fn select_keeps_keys_and_expands_linked_fields() {
        let q = ChangedQuery {
            select: Some(vec!["Status".into(), "MainContact/Email".into()]),
            ..ChangedQuery::default()
        };
        let (select, expand) = q.shape(ErpEntity::Customer);
        assert_eq!(
            select.unwrap(),
            "Status,MainContact/Email,CustomerID,LastModifiedDateTime"
        );
        assert_eq!(expand, ["MainContact"]);
        let (select, expand) = ChangedQuery::default().shape(ErpEntity::Shipment);
        assert_eq!(
            (select, expand.join(",")),
            (None, "Details,Packages,Orders".into())
        );
    }

    #[test]
    fn keys_of_records() {
        let order = json!({ "OrderNbr": "000007", "OrderType": "SO" });
        assert_eq!(ErpEntity::SalesOrder.key_of(&order).unwrap(), "000007");
        assert_eq!(
            ErpEntity::SalesOrder.record_key(&order).unwrap(),
            "SO/000007"
        );
        let cat = json!({ "CategoryID": 12 });
        assert_eq!(ErpEntity::ItemSalesCategory.key_of(&cat).unwrap(), "12");
        assert_eq!(
            ErpEntity::StockItem.key_of(&json!({ "InventoryID": " " })),
            None
        );
    }
}
