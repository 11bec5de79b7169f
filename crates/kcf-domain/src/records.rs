//! Platform-neutral records: what a processor moves between systems. Each platform crate maps
//! its own model to and from these (its `mapping.rs`), so processors never see a platform's
//! wire format, and adding a platform means adding one mapping, not another processor.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// A sellable item (an ERP stock item, a store product).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductRecord {
    /// The ERP key (Acumatica InventoryID); the store's SKU.
    pub sku: String,
    /// The display name (Acumatica Description).
    pub name: String,
    /// The default price.
    pub price: f64,
    /// Shipping weight, in the ERP's weight unit.
    pub weight: f64,
    /// Shown in the storefront (ERP item status Active and not hidden).
    pub visible: bool,
    /// The ERP's item status (Active, Inactive, No Sales…).
    pub status: String,
    /// The ERP keys of its sales categories.
    pub category_keys: Vec<String>,
    /// When the source last changed it.
    pub modified_at: Option<Timestamp>,
    /// The manufacturer's suggested price (the store's retail or compare-at price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msrp: Option<f64>,
    /// The template (matrix) item it is a variant of: it syncs as that product's variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

/// An option variants differ by (Color), with its values in order (Red, Blue…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionRecord {
    /// What a shopper reads ("Color").
    pub name: String,
    /// Its values, as a shopper reads them.
    pub values: Vec<String>,
}

/// One variant of a product with options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantRecord {
    /// Its SKU (the matrix item's InventoryID); empty when the source gave none.
    pub sku: String,
    /// Its price.
    pub price: f64,
    /// Its suggested price.
    pub msrp: Option<f64>,
    /// Its value of each option, in the product's option order: (option name, value).
    pub options: Vec<(String, String)>,
    /// For sale (its item status is Active).
    pub active: bool,
}

/// A product with options and variants (an ERP template item with its matrix items).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateRecord {
    /// The product's own fields (its `sku` is the template's key).
    pub product: ProductRecord,
    /// Its options.
    pub options: Vec<OptionRecord>,
    /// Its variants.
    pub variants: Vec<VariantRecord>,
}

/// The stock of one item in one warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockLevel {
    /// The item (the store's SKU).
    pub sku: String,
    /// The ERP warehouse.
    pub warehouse: String,
    /// On hand.
    pub on_hand: f64,
    /// Allocated to open sales orders.
    pub allocated: f64,
    /// Available to sell: on hand less allocated (what the store may sell).
    pub available: f64,
}

/// A sales category in a tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryRecord {
    /// The ERP key (Acumatica CategoryID).
    pub key: String,
    /// The parent's ERP key; none for a root.
    pub parent_key: Option<String>,
    /// The display name.
    pub name: String,
    /// Position among its siblings.
    pub sort_order: i64,
    /// When the source last changed it.
    pub modified_at: Option<Timestamp>,
}

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AddressRecord {
    /// First name of the addressee.
    pub first_name: String,
    /// Last name of the addressee.
    pub last_name: String,
    /// Company, if any.
    pub company: String,
    /// First street line.
    pub line1: String,
    /// Second street line.
    pub line2: String,
    /// City.
    pub city: String,
    /// State or province.
    pub state: String,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// Phone number.
    pub phone: String,
    /// E-mail address.
    pub email: String,
}

/// A customer account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerRecord {
    /// The key in the system it comes from (Acumatica CustomerID, BigCommerce customer id).
    pub key: String,
    /// E-mail: how the two sides are matched when no binding exists yet.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Company name, if any.
    pub company: String,
    /// Phone number.
    pub phone: String,
    /// The customer class (ERP) or group (store), before mapping.
    pub class: Option<String>,
    /// When the source last changed it.
    pub modified_at: Option<Timestamp>,
}

impl CustomerRecord {
    /// "First Last", or the company, or the e-mail: a name to show and to store.
    pub fn display_name(&self) -> String {
        let name = format!("{} {}", self.first_name.trim(), self.last_name.trim());
        let name = name.trim();
        if !name.is_empty() {
            name.to_owned()
        } else if !self.company.trim().is_empty() {
            self.company.trim().to_owned()
        } else {
            self.email.clone()
        }
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLineRecord {
    /// The store's line id (BigCommerce order product id).
    pub external_id: String,
    /// The SKU (ERP InventoryID).
    pub sku: String,
    /// The product name as ordered.
    pub name: String,
    /// Quantity ordered.
    pub quantity: f64,
    /// Price per unit, excluding tax.
    pub unit_price: f64,
}

/// A sales order placed in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// The store's order id: written to the ERP order's `ExternalRef`, so it is never created
    /// twice.
    pub external_id: String,
    /// The store's customer id (0 or empty for a guest).
    pub customer_external_id: Option<String>,
    /// The buyer's e-mail.
    pub email: String,
    /// The store's status id.
    pub status_id: i64,
    /// The store's status name.
    pub status: String,
    /// ISO currency code.
    pub currency: String,
    /// Total including tax.
    pub total: f64,
    /// The payment method, before mapping.
    pub payment_method: String,
    /// The shipping method, before mapping.
    pub shipping_method: String,
    /// Billing address.
    pub billing: AddressRecord,
    /// Shipping address (the first one).
    pub shipping: Option<AddressRecord>,
    /// The lines.
    pub lines: Vec<OrderLineRecord>,
    /// When it was placed.
    pub created_at: Option<Timestamp>,
    /// When the store last changed it.
    pub modified_at: Option<Timestamp>,
}

/// One shipped line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipmentLineRecord {
    /// The SKU.
    pub sku: String,
    /// Quantity shipped.
    pub quantity: f64,
}

/// A shipment of (part of) one order, confirmed in the ERP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipmentRecord {
    /// The ERP key (Acumatica ShipmentNbr).
    pub key: String,
    /// The ERP order number it ships.
    pub order_key: String,
    /// The ERP status (Open, Confirmed, Completed…).
    pub status: String,
    /// Confirmed (or later): only then does it go to the store.
    pub confirmed: bool,
    /// The carrier / ship via.
    pub carrier: String,
    /// Tracking numbers, one per package.
    pub tracking_numbers: Vec<String>,
    /// The shipped lines.
    pub lines: Vec<ShipmentLineRecord>,
    /// When the source last changed it.
    pub modified_at: Option<Timestamp>,
}

/// An order's status in the ERP, for the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErpOrderStatus {
    /// The ERP order number.
    pub order_key: String,
    /// The store order id it came from (its `ExternalRef`), when it came from the store.
    pub external_id: Option<String>,
    /// The ERP status name (Open, Back Order, Shipping, Completed, Cancelled…).
    pub status: String,
    /// Some lines shipped, some still open.
    pub partially_shipped: bool,
}

/// A fingerprint of a record: equal fingerprints mean nothing to do.
pub fn fingerprint<T: Serialize>(record: &T) -> String {
    // FNV-1a over the canonical JSON: stable across runs and platforms, cheap, and only ever
    // compared for equality.
    let bytes = serde_json::to_vec(record).unwrap_or_default();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer() -> CustomerRecord {
        CustomerRecord {
            key: "C1".into(),
            email: "jane@example.com".into(),
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            company: String::new(),
            phone: String::new(),
            class: None,
            modified_at: None,
        }
    }

    #[test]
    fn display_name_prefers_person_then_company_then_email() {
        let mut c = customer();
        assert_eq!(c.display_name(), "Jane Doe");
        c.first_name.clear();
        c.last_name.clear();
        c.company = "Acme".into();
        assert_eq!(c.display_name(), "Acme");
        c.company.clear();
        assert_eq!(c.display_name(), "jane@example.com");
    }

    #[test]
    fn fingerprint_changes_with_content_only() {
        let a = customer();
        let mut b = customer();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        b.first_name = "Janet".into();
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }
}
