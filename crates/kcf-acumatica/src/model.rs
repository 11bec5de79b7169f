//! Acumatica's records as kcf reads them, from plain (unwrapped) JSON. Tolerant on purpose:
//! every field may be missing or `null` (Acumatica leaves out what was not selected or
//! expanded), unknown fields are ignored, and an unreadable date is taken as absent.

use kcf_domain::Timestamp;
use serde::{Deserialize, Deserializer, de::DeserializeOwned};
use serde_json::Value;

use crate::Error;

/// Reads a plain record (as [`crate::AcumaticaClient::changed`] returns them) into a model.
pub fn from_plain<T: DeserializeOwned>(entity: &str, record: &Value) -> Result<T, Error> {
    T::deserialize(record).map_err(|e| Error::Decode(format!("a {entity} record: {e}")))
}

/// A `null` reads as the type's default.
fn lenient<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An ISO 8601 instant (with an offset, or without one meaning UTC), or `None`.
fn instant<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    let text = Option::<Value>::deserialize(d)?;
    Ok(text
        .as_ref()
        .and_then(Value::as_str)
        .and_then(parse_instant))
}

/// Parses Acumatica's date-times: `2024-05-05T15:16:23.103+00:00`, `…Z`, or without an
/// offset (UTC).
pub fn parse_instant(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Some(Timestamp(t.as_millisecond()));
    }
    let civil: jiff::civil::DateTime = text.parse().ok()?;
    let t = jiff::tz::TimeZone::UTC.to_timestamp(civil).ok()?;
    Some(Timestamp(t.as_millisecond()))
}

/// Formats an instant as an OData `datetimeoffset` literal body (UTC, milliseconds).
pub fn format_instant(t: Timestamp) -> Result<String, Error> {
    let at = jiff::Timestamp::from_millisecond(t.0)
        .map_err(|e| Error::Invalid(format!("the instant {} ms is out of range: {e}", t.0)))?;
    Ok(at.strftime("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string())
}

/// A stock item (`StockItem`, key `InventoryID`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct StockItem {
    /// The record's NoteID.
    #[serde(deserialize_with = "lenient")]
    pub id: Option<String>,
    /// The key: the SKU.
    #[serde(rename = "InventoryID", deserialize_with = "lenient")]
    pub inventory_id: String,
    /// The name.
    #[serde(rename = "Description", deserialize_with = "lenient")]
    pub description: String,
    /// Item class.
    #[serde(rename = "ItemClass", deserialize_with = "lenient")]
    pub item_class: String,
    /// Posting class.
    #[serde(rename = "PostingClass", deserialize_with = "lenient")]
    pub posting_class: String,
    /// Tax category.
    #[serde(rename = "TaxCategory", deserialize_with = "lenient")]
    pub tax_category: String,
    /// Base unit of measure.
    #[serde(rename = "BaseUOM", deserialize_with = "lenient")]
    pub base_uom: String,
    /// Item type (Finished Good, Component Part…).
    #[serde(rename = "ItemType", deserialize_with = "lenient")]
    pub item_type: String,
    /// Active, Inactive, No Sales…
    #[serde(rename = "ItemStatus", deserialize_with = "lenient")]
    pub item_status: String,
    /// Storefront visibility (Visible, Invisible, Catalog, Search…).
    #[serde(rename = "Visibility", deserialize_with = "lenient")]
    pub visibility: String,
    /// The default price.
    #[serde(rename = "DefaultPrice", deserialize_with = "lenient")]
    pub default_price: Option<f64>,
    /// The weight.
    #[serde(rename = "DimensionWeight", deserialize_with = "lenient")]
    pub dimension_weight: Option<f64>,
    /// Its sales categories (with `$expand=Categories`).
    #[serde(rename = "Categories", deserialize_with = "lenient")]
    pub categories: Vec<StockItemCategory>,
    /// Last change.
    #[serde(rename = "LastModifiedDateTime", deserialize_with = "instant")]
    pub last_modified_date_time: Option<Timestamp>,
    /// The manufacturer's suggested price.
    #[serde(rename = "MSRP", deserialize_with = "lenient")]
    pub msrp: Option<f64>,
    /// The template item a matrix item belongs to (empty for an ordinary item).
    #[serde(rename = "TemplateItemID", deserialize_with = "lenient")]
    pub template_item_id: String,
    /// Attribute values (a matrix item's tell it from its siblings); on a template item, the
    /// attributes its matrix items differ by (with `$expand=Attributes`).
    #[serde(rename = "Attributes", deserialize_with = "lenient")]
    pub attributes: Vec<ItemAttribute>,
}

/// A template item (`TemplateItems`, key `InventoryID`): a stock item's fields, and as
/// `attributes` the attributes its matrix items differ by.
pub type TemplateItem = StockItem;

/// An attribute of an item: on a matrix item its value, on a template item its place.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ItemAttribute {
    /// The attribute.
    #[serde(rename = "AttributeID", deserialize_with = "lenient")]
    pub attribute_id: String,
    /// A matrix item's value (the value's id).
    #[serde(rename = "Value", deserialize_with = "lenient")]
    pub value: String,
    /// What the value reads as.
    #[serde(rename = "ValueDescription", deserialize_with = "lenient")]
    pub value_description: String,
    /// On a template item: what the attribute reads as.
    #[serde(rename = "Description", deserialize_with = "lenient")]
    pub description: String,
    /// On a template item: its position.
    #[serde(rename = "SortOrder", deserialize_with = "lenient")]
    pub sort_order: Option<i64>,
}

/// Stock of one item in one warehouse (`InventoryQuantityAvailable`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct QuantityAvailable {
    /// The item.
    #[serde(rename = "InventoryID", deserialize_with = "lenient")]
    pub inventory_id: String,
    /// The warehouse.
    #[serde(rename = "WarehouseID", deserialize_with = "lenient")]
    pub warehouse_id: String,
    /// On hand.
    #[serde(rename = "OnHand", deserialize_with = "lenient")]
    pub on_hand: f64,
    /// Allocated to open sales orders.
    #[serde(rename = "Allocated", deserialize_with = "lenient")]
    pub allocated: f64,
    /// Available.
    #[serde(rename = "Available", deserialize_with = "lenient")]
    pub available: f64,
}

/// A stock item's membership of a sales category.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct StockItemCategory {
    /// The category.
    #[serde(rename = "CategoryID", deserialize_with = "lenient")]
    pub category_id: i64,
}

/// A sales category (`ItemSalesCategory`, key `CategoryID`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ItemSalesCategory {
    /// The record's NoteID.
    #[serde(deserialize_with = "lenient")]
    pub id: Option<String>,
    /// The key.
    #[serde(rename = "CategoryID", deserialize_with = "lenient")]
    pub category_id: i64,
    /// The parent (0 or none for a root).
    #[serde(rename = "ParentCategoryID", deserialize_with = "lenient")]
    pub parent_category_id: Option<i64>,
    /// The name.
    #[serde(rename = "Description", deserialize_with = "lenient")]
    pub description: String,
    /// Position among siblings.
    #[serde(rename = "SortOrder", deserialize_with = "lenient")]
    pub sort_order: Option<i64>,
    /// Last change.
    #[serde(rename = "LastModifiedDateTime", deserialize_with = "instant")]
    pub last_modified_date_time: Option<Timestamp>,
}

/// A customer (`Customer`, key `CustomerID`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Customer {
    /// The record's NoteID.
    #[serde(deserialize_with = "lenient")]
    pub id: Option<String>,
    /// The key.
    #[serde(rename = "CustomerID", deserialize_with = "lenient")]
    pub customer_id: String,
    /// The account name.
    #[serde(rename = "CustomerName", deserialize_with = "lenient")]
    pub customer_name: String,
    /// The customer class.
    #[serde(rename = "CustomerClass", deserialize_with = "lenient")]
    pub customer_class: String,
    /// Active, On Hold, Inactive…
    #[serde(rename = "Status", deserialize_with = "lenient")]
    pub status: String,
    /// The account's e-mail, when the endpoint gives one at the top.
    #[serde(rename = "Email", deserialize_with = "lenient")]
    pub email: Option<String>,
    /// The main contact (with `$expand=MainContact`).
    #[serde(rename = "MainContact", deserialize_with = "lenient")]
    pub main_contact: Option<Contact>,
    /// Last change.
    #[serde(rename = "LastModifiedDateTime", deserialize_with = "instant")]
    pub last_modified_date_time: Option<Timestamp>,
}

/// A contact linked to a customer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Contact {
    /// E-mail.
    #[serde(rename = "Email", deserialize_with = "lenient")]
    pub email: String,
    /// First name.
    #[serde(rename = "FirstName", deserialize_with = "lenient")]
    pub first_name: String,
    /// Last name.
    #[serde(rename = "LastName", deserialize_with = "lenient")]
    pub last_name: String,
    /// Phone.
    #[serde(rename = "Phone1", deserialize_with = "lenient")]
    pub phone1: String,
    /// Company.
    #[serde(rename = "CompanyName", deserialize_with = "lenient")]
    pub company_name: String,
    /// Display name.
    #[serde(rename = "DisplayName", deserialize_with = "lenient")]
    pub display_name: String,
    /// Address (with `$expand=MainContact/Address`).
    #[serde(rename = "Address", deserialize_with = "lenient")]
    pub address: Option<Address>,
}

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Address {
    /// Street, first line.
    #[serde(rename = "AddressLine1", deserialize_with = "lenient")]
    pub address_line1: String,
    /// Street, second line.
    #[serde(rename = "AddressLine2", deserialize_with = "lenient")]
    pub address_line2: String,
    /// City.
    #[serde(rename = "City", deserialize_with = "lenient")]
    pub city: String,
    /// State or province.
    #[serde(rename = "State", deserialize_with = "lenient")]
    pub state: String,
    /// Postal code.
    #[serde(rename = "PostalCode", deserialize_with = "lenient")]
    pub postal_code: String,
    /// Country code.
    #[serde(rename = "Country", deserialize_with = "lenient")]
    pub country: String,
}

/// A sales order (`SalesOrder`, keys `OrderType`, `OrderNbr`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SalesOrder {
    /// The record's NoteID.
    #[serde(deserialize_with = "lenient")]
    pub id: Option<String>,
    /// Order type (SO).
    #[serde(rename = "OrderType", deserialize_with = "lenient")]
    pub order_type: String,
    /// Order number.
    #[serde(rename = "OrderNbr", deserialize_with = "lenient")]
    pub order_nbr: String,
    /// Open, Shipping, Back Order, Completed, Cancelled…
    #[serde(rename = "Status", deserialize_with = "lenient")]
    pub status: String,
    /// The customer.
    #[serde(rename = "CustomerID", deserialize_with = "lenient")]
    pub customer_id: String,
    /// The customer's order number.
    #[serde(rename = "CustomerOrder", deserialize_with = "lenient")]
    pub customer_order: String,
    /// The external reference: the store's order id.
    #[serde(rename = "ExternalRef", deserialize_with = "lenient")]
    pub external_ref: String,
    /// Description.
    #[serde(rename = "Description", deserialize_with = "lenient")]
    pub description: String,
    /// Total.
    #[serde(rename = "OrderTotal", deserialize_with = "lenient")]
    pub order_total: Option<f64>,
    /// Lines (with `$expand=Details`).
    #[serde(rename = "Details", deserialize_with = "lenient")]
    pub details: Vec<SalesOrderLine>,
    /// Shipments (with `$expand=Shipments`).
    #[serde(rename = "Shipments", deserialize_with = "lenient")]
    pub shipments: Vec<SalesOrderShipment>,
    /// Last change (this entity calls it `LastModified`).
    #[serde(rename = "LastModified", deserialize_with = "instant")]
    pub last_modified: Option<Timestamp>,
}

/// A sales order line.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SalesOrderLine {
    /// The line's id.
    #[serde(deserialize_with = "lenient")]
    pub id: Option<String>,
    /// Line number.
    #[serde(rename = "LineNbr", deserialize_with = "lenient")]
    pub line_nbr: Option<i64>,
    /// The item.
    #[serde(rename = "InventoryID", deserialize_with = "lenient")]
    pub inventory_id: String,
    /// Line description.
    #[serde(rename = "LineDescription", deserialize_with = "lenient")]
    pub line_description: String,
    /// Quantity ordered.
    #[serde(rename = "OrderQty", deserialize_with = "lenient")]
    pub order_qty: f64,
    /// Unit price.
    #[serde(rename = "UnitPrice", deserialize_with = "lenient")]
    pub unit_price: f64,
    /// Quantity not yet shipped.
    #[serde(rename = "OpenQty", deserialize_with = "lenient")]
    pub open_qty: Option<f64>,
    /// Quantity on shipments not yet confirmed.
    #[serde(rename = "QtyOnShipments", deserialize_with = "lenient")]
    pub qty_on_shipments: Option<f64>,
    /// The line is done.
    #[serde(rename = "Completed", deserialize_with = "lenient")]
    pub completed: Option<bool>,
}

/// A shipment as listed on its order.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SalesOrderShipment {
    /// Shipment number.
    #[serde(rename = "ShipmentNbr", deserialize_with = "lenient")]
    pub shipment_nbr: String,
    /// Its status.
    #[serde(rename = "Status", deserialize_with = "lenient")]
    pub status: String,
    /// Quantity on it.
    #[serde(rename = "ShippedQty", deserialize_with = "lenient")]
    pub shipped_qty: Option<f64>,
}

/// A shipment (`Shipment`, key `ShipmentNbr`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Shipment {
    /// The record's NoteID.
    #[serde(deserialize_with = "lenient")]
    pub id: Option<String>,
    /// The key.
    #[serde(rename = "ShipmentNbr", deserialize_with = "lenient")]
    pub shipment_nbr: String,
    /// Open, Confirmed, Completed, Invoiced, Released…
    #[serde(rename = "Status", deserialize_with = "lenient")]
    pub status: String,
    /// The customer.
    #[serde(rename = "CustomerID", deserialize_with = "lenient")]
    pub customer_id: String,
    /// The carrier / ship via code.
    #[serde(rename = "ShipVia", deserialize_with = "lenient")]
    pub ship_via: String,
    /// Lines (with `$expand=Details`).
    #[serde(rename = "Details", deserialize_with = "lenient")]
    pub details: Vec<ShipmentLine>,
    /// Packages (with `$expand=Packages`).
    #[serde(rename = "Packages", deserialize_with = "lenient")]
    pub packages: Vec<Package>,
    /// The orders it ships (with `$expand=Orders`).
    #[serde(rename = "Orders", deserialize_with = "lenient")]
    pub orders: Vec<ShipmentOrder>,
    /// Last change.
    #[serde(rename = "LastModifiedDateTime", deserialize_with = "instant")]
    pub last_modified_date_time: Option<Timestamp>,
}

/// A shipment line.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ShipmentLine {
    /// The order's type.
    #[serde(rename = "OrderType", deserialize_with = "lenient")]
    pub order_type: String,
    /// The order's number.
    #[serde(rename = "OrderNbr", deserialize_with = "lenient")]
    pub order_nbr: String,
    /// The order line shipped.
    #[serde(rename = "OrderLineNbr", deserialize_with = "lenient")]
    pub order_line_nbr: Option<i64>,
    /// The item.
    #[serde(rename = "InventoryID", deserialize_with = "lenient")]
    pub inventory_id: String,
    /// Quantity shipped.
    #[serde(rename = "ShippedQty", deserialize_with = "lenient")]
    pub shipped_qty: f64,
}

/// A package of a shipment.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Package {
    /// The carrier's tracking number.
    #[serde(rename = "TrackingNbr", deserialize_with = "lenient")]
    pub tracking_nbr: String,
    /// Confirmed.
    #[serde(rename = "Confirmed", deserialize_with = "lenient")]
    pub confirmed: Option<bool>,
}

/// An order a shipment ships.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ShipmentOrder {
    /// Order type.
    #[serde(rename = "OrderType", deserialize_with = "lenient")]
    pub order_type: String,
    /// Order number.
    #[serde(rename = "OrderNbr", deserialize_with = "lenient")]
    pub order_nbr: String,
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
