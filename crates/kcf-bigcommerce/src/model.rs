//! BigCommerce's records as the API sends and takes them. Reading is tolerant: unknown fields
//! are ignored, missing or `null` ones take their default. v2 money fields stay strings
//! ("225.0000") as sent; [`crate::mapping`] turns them into numbers.

use std::collections::BTreeMap;

use kcf_domain::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

mod orders;

pub use orders::{Order, OrderAddress, OrderProduct, Shipment, ShipmentInput, ShipmentItem};

/// A string that may come as `null`.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
    })
}

/// A value that may come as `null`.
fn or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Parses BigCommerce's dates: v3's ISO 8601 (`2018-08-15T14:48:46+00:00`) or v2's RFC 2822
/// (`Tue, 20 Nov 2012 00:00:00 +0000`).
pub fn parse_date(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let ts = s
        .parse::<jiff::Timestamp>()
        .ok()
        .or_else(|| jiff::fmt::rfc2822::parse(s).ok().map(|z| z.timestamp()))?;
    Some(Timestamp(ts.as_millisecond()))
}

/// Formats an instant as BigCommerce's filters take it (whole seconds, UTC).
pub(crate) fn format_date(t: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(t.millis())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

/// A catalog product (v3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Product {
    /// The product id.
    pub id: u64,
    /// The name (unique in the store).
    #[serde(deserialize_with = "text")]
    pub name: String,
    /// The SKU (unique when set).
    #[serde(deserialize_with = "text")]
    pub sku: String,
    /// `physical` or `digital`.
    #[serde(rename = "type", deserialize_with = "text")]
    pub kind: String,
    /// The default price.
    #[serde(deserialize_with = "or_default")]
    pub price: f64,
    /// The weight.
    #[serde(deserialize_with = "or_default")]
    pub weight: f64,
    /// Shown in the storefront.
    #[serde(deserialize_with = "or_default")]
    pub is_visible: bool,
    /// Category ids.
    #[serde(deserialize_with = "or_default")]
    pub categories: Vec<u64>,
    /// Stock on hand, when tracked.
    #[serde(deserialize_with = "or_default")]
    pub inventory_level: i64,
    /// When it last changed (ISO 8601).
    #[serde(deserialize_with = "text")]
    pub date_modified: String,
}

impl Product {
    /// [`Product::date_modified`] as an instant.
    pub fn modified_at(&self) -> Option<Timestamp> {
        parse_date(&self.date_modified)
    }
}

/// Fields to create or update a product; empty text, empty lists and `None` are not sent (an
/// update leaves those fields as they are).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProductInput {
    /// The name (required to create).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `physical` or `digital` (required to create).
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The SKU.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sku: String,
    /// The price (required to create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// The weight (required to create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// Shown in the storefront.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_visible: Option<bool>,
    /// Category ids (replace the product's list).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<u64>,
    /// The description (HTML).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The retail (suggested) price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retail_price: Option<f64>,
}

/// A category in a category tree (v3 trees API).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Category {
    /// The category id (`id` in the legacy API).
    #[serde(alias = "id")]
    pub category_id: u64,
    /// The parent's id; 0 at the top.
    #[serde(deserialize_with = "or_default")]
    pub parent_id: u64,
    /// The tree it belongs to.
    #[serde(deserialize_with = "or_default")]
    pub tree_id: u64,
    /// The name (unique among its siblings).
    #[serde(deserialize_with = "text")]
    pub name: String,
    /// Position among its siblings.
    #[serde(deserialize_with = "or_default")]
    pub sort_order: i64,
    /// Shown in the storefront.
    #[serde(deserialize_with = "or_default")]
    pub is_visible: bool,
    /// The description.
    #[serde(deserialize_with = "text")]
    pub description: String,
}

/// Fields to create or update a category; `None` fields are not sent. Creating needs `name`
/// and `tree_id` or `parent_id`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CategoryInput {
    /// The name (1–50 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The parent's id; 0 for the top.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<u64>,
    /// The tree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree_id: Option<u64>,
    /// Position among its siblings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<i64>,
    /// Shown in the storefront.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_visible: Option<bool>,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A customer account (v3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Customer {
    /// The customer id.
    pub id: u64,
    /// The e-mail (unique in the store).
    #[serde(deserialize_with = "text")]
    pub email: String,
    /// First name.
    #[serde(deserialize_with = "text")]
    pub first_name: String,
    /// Last name.
    #[serde(deserialize_with = "text")]
    pub last_name: String,
    /// Company.
    #[serde(deserialize_with = "text")]
    pub company: String,
    /// Phone.
    #[serde(deserialize_with = "text")]
    pub phone: String,
    /// The customer group; 0 for none.
    #[serde(deserialize_with = "or_default")]
    pub customer_group_id: u64,
    /// When it was created (ISO 8601).
    #[serde(deserialize_with = "text")]
    pub date_created: String,
    /// When it last changed (ISO 8601).
    #[serde(deserialize_with = "text")]
    pub date_modified: String,
}

/// Fields to create or update a customer. The names, company and phone are always sent (an
/// empty one clears the field); the group only when set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerInput {
    /// The e-mail (required to create).
    pub email: String,
    /// First name (required to create).
    pub first_name: String,
    /// Last name (required to create).
    pub last_name: String,
    /// Company.
    pub company: String,
    /// Phone.
    pub phone: String,
    /// The customer group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_group_id: Option<u64>,
}

/// A webhook registration (v3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hook {
    /// The hook id.
    pub id: u64,
    /// The event scope (`store/order/created`, `store/order/*`…).
    #[serde(deserialize_with = "text")]
    pub scope: String,
    /// Where events are sent.
    #[serde(deserialize_with = "text")]
    pub destination: String,
    /// Whether events are sent.
    #[serde(deserialize_with = "or_default")]
    pub is_active: bool,
    /// Headers sent with every event.
    #[serde(deserialize_with = "or_default")]
    pub headers: BTreeMap<String, String>,
    /// When it was created (Unix seconds).
    #[serde(deserialize_with = "or_default")]
    pub created_at: i64,
    /// When it last changed (Unix seconds).
    #[serde(deserialize_with = "or_default")]
    pub updated_at: i64,
}

/// A webhook to create or change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HookInput {
    /// The event scope.
    pub scope: String,
    /// Where events are sent (HTTPS on port 443 for the real BigCommerce).
    pub destination: String,
    /// Whether events are sent.
    pub is_active: bool,
    /// Headers sent with every event (kcf puts its shared secret here).
    pub headers: BTreeMap<String, String>,
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
