//! v2 orders, their lines and addresses, and shipments.

use kcf_domain::Timestamp;
use serde::{Deserialize, Serialize};

use super::{or_default, parse_date, text};

/// A v2 address: an order's billing address, or one of its shipping addresses (those have
/// an `id`, the `order_address_id` of shipments, and a shipping method).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderAddress {
    /// The order address id (0 for a billing address).
    #[serde(deserialize_with = "or_default")]
    pub id: u64,
    /// The order.
    #[serde(deserialize_with = "or_default")]
    pub order_id: u64,
    /// First name.
    #[serde(deserialize_with = "text")]
    pub first_name: String,
    /// Last name.
    #[serde(deserialize_with = "text")]
    pub last_name: String,
    /// Company.
    #[serde(deserialize_with = "text")]
    pub company: String,
    /// First street line.
    #[serde(deserialize_with = "text")]
    pub street_1: String,
    /// Second street line.
    #[serde(deserialize_with = "text")]
    pub street_2: String,
    /// City.
    #[serde(deserialize_with = "text")]
    pub city: String,
    /// State or province (its name).
    #[serde(deserialize_with = "text")]
    pub state: String,
    /// Postal code.
    #[serde(deserialize_with = "text")]
    pub zip: String,
    /// Country name.
    #[serde(deserialize_with = "text")]
    pub country: String,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(deserialize_with = "text")]
    pub country_iso2: String,
    /// Phone.
    #[serde(deserialize_with = "text")]
    pub phone: String,
    /// E-mail.
    #[serde(deserialize_with = "text")]
    pub email: String,
    /// The shipping method chosen (shipping addresses only).
    #[serde(deserialize_with = "text")]
    pub shipping_method: String,
}

/// A v2 order (its lines and shipping addresses are separate calls).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Order {
    /// The order id.
    pub id: u64,
    /// The customer; 0 for a guest.
    #[serde(deserialize_with = "or_default")]
    pub customer_id: u64,
    /// The status id (0–14, see `GET /v2/order_statuses`).
    #[serde(deserialize_with = "or_default")]
    pub status_id: i64,
    /// The status name.
    #[serde(deserialize_with = "text")]
    pub status: String,
    /// When it was placed (RFC 2822).
    #[serde(deserialize_with = "text")]
    pub date_created: String,
    /// When it last changed (RFC 2822).
    #[serde(deserialize_with = "text")]
    pub date_modified: String,
    /// When it shipped (RFC 2822), or empty.
    #[serde(deserialize_with = "text")]
    pub date_shipped: String,
    /// Subtotal excluding tax (a decimal string).
    #[serde(deserialize_with = "text")]
    pub subtotal_ex_tax: String,
    /// Total excluding tax (a decimal string).
    #[serde(deserialize_with = "text")]
    pub total_ex_tax: String,
    /// Total including tax (a decimal string).
    #[serde(deserialize_with = "text")]
    pub total_inc_tax: String,
    /// Items ordered.
    #[serde(deserialize_with = "or_default")]
    pub items_total: f64,
    /// Items shipped.
    #[serde(deserialize_with = "or_default")]
    pub items_shipped: f64,
    /// ISO currency code.
    #[serde(deserialize_with = "text")]
    pub currency_code: String,
    /// The payment method's name.
    #[serde(deserialize_with = "text")]
    pub payment_method: String,
    /// The payment status.
    #[serde(deserialize_with = "text")]
    pub payment_status: String,
    /// An id set by another system.
    #[serde(deserialize_with = "or_default")]
    pub external_id: Option<String>,
    /// The sales channel.
    #[serde(deserialize_with = "or_default")]
    pub channel_id: u64,
    /// The shopper's note.
    #[serde(deserialize_with = "text")]
    pub customer_message: String,
    /// The billing address.
    #[serde(deserialize_with = "or_default")]
    pub billing_address: OrderAddress,
}

impl Order {
    /// [`Order::date_modified`] as an instant.
    pub fn modified_at(&self) -> Option<Timestamp> {
        parse_date(&self.date_modified)
    }

    /// [`Order::date_modified`] in Unix milliseconds.
    pub fn date_modified_ms(&self) -> Option<i64> {
        self.modified_at().map(Timestamp::millis)
    }
}

/// An order line (`/v2/orders/{id}/products`); its `id` is the `order_product_id` shipments
/// refer to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderProduct {
    /// The order product id.
    pub id: u64,
    /// The order.
    #[serde(deserialize_with = "or_default")]
    pub order_id: u64,
    /// The catalog product; 0 for a custom line.
    #[serde(deserialize_with = "or_default")]
    pub product_id: u64,
    /// The shipping address it goes to.
    #[serde(deserialize_with = "or_default")]
    pub order_address_id: u64,
    /// The product name as ordered.
    #[serde(deserialize_with = "text")]
    pub name: String,
    /// The SKU as ordered.
    #[serde(deserialize_with = "text")]
    pub sku: String,
    /// Quantity ordered.
    #[serde(deserialize_with = "or_default")]
    pub quantity: f64,
    /// Quantity shipped so far.
    #[serde(deserialize_with = "or_default")]
    pub quantity_shipped: f64,
    /// Unit price excluding tax (a decimal string).
    #[serde(deserialize_with = "text")]
    pub price_ex_tax: String,
    /// Unit price including tax (a decimal string).
    #[serde(deserialize_with = "text")]
    pub price_inc_tax: String,
    /// Line total excluding tax (a decimal string).
    #[serde(deserialize_with = "text")]
    pub total_ex_tax: String,
}

/// One shipped line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShipmentItem {
    /// The order line.
    pub order_product_id: u64,
    /// How many.
    pub quantity: u32,
}

/// A shipment of an order (v2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Shipment {
    /// The shipment id.
    pub id: u64,
    /// The order.
    #[serde(deserialize_with = "or_default")]
    pub order_id: u64,
    /// The shipping address it went to.
    #[serde(deserialize_with = "or_default")]
    pub order_address_id: u64,
    /// The tracking number.
    #[serde(deserialize_with = "text")]
    pub tracking_number: String,
    /// BigCommerce's shipping module (`ups`, `fedex`…), or empty.
    #[serde(deserialize_with = "text")]
    pub shipping_provider: String,
    /// The tracking carrier, or empty.
    #[serde(deserialize_with = "text")]
    pub tracking_carrier: String,
    /// The shipping method.
    #[serde(deserialize_with = "text")]
    pub shipping_method: String,
    /// The tracking link BigCommerce made, if any.
    #[serde(deserialize_with = "text")]
    pub generated_tracking_link: String,
    /// The comment written with it.
    #[serde(deserialize_with = "text")]
    pub comments: String,
    /// When it was created (RFC 2822).
    #[serde(deserialize_with = "text")]
    pub date_created: String,
    /// The lines shipped.
    #[serde(deserialize_with = "or_default")]
    pub items: Vec<ShipmentItem>,
}

/// A new shipment. `shipping_provider` is always sent: BigCommerce takes a missing one as
/// "custom" and then sends no tracking link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShipmentInput {
    /// The shipping address shipped to.
    pub order_address_id: u64,
    /// The lines shipped.
    pub items: Vec<ShipmentItem>,
    /// The tracking number (one per shipment).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tracking_number: String,
    /// BigCommerce's shipping module (`ups`, `fedex`, `usps`…), or empty.
    pub shipping_provider: String,
    /// The tracking carrier, or empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tracking_carrier: String,
    /// The shipping method.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub shipping_method: String,
    /// A comment.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub comments: String,
}
