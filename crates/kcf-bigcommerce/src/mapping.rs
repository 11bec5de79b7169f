//! BigCommerce's records to and from kcf's platform-neutral records.

use kcf_domain::records::{
    AddressRecord, CategoryRecord, CustomerRecord, OrderLineRecord, OrderRecord, ProductRecord,
    ShipmentRecord,
};

use crate::model::{
    CategoryInput, Customer, CustomerInput, Order, OrderAddress, OrderProduct, ProductInput,
    ShipmentInput, ShipmentItem, parse_date,
};

/// A record that cannot be put into BigCommerce's terms.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MappingError {
    /// The shipment ships a SKU the order does not have.
    #[error("the shipment ships SKU {sku}, which is not on BigCommerce order {order_id}")]
    UnknownSku {
        /// The SKU.
        sku: String,
        /// The store order.
        order_id: u64,
    },
    /// More of a SKU than the order has left to ship.
    #[error(
        "the shipment ships {quantity} of SKU {sku}, but BigCommerce order {order_id} has only \
         {left} left to ship"
    )]
    TooMany {
        /// The SKU.
        sku: String,
        /// Shipped in the ERP.
        quantity: f64,
        /// Left to ship in the store.
        left: f64,
        /// The store order.
        order_id: u64,
    },
    /// BigCommerce ships whole units.
    #[error("the shipment ships {quantity} of SKU {sku}; BigCommerce takes whole units only")]
    Fraction {
        /// The SKU.
        sku: String,
        /// The quantity.
        quantity: f64,
    },
    /// Nothing to ship.
    #[error("the shipment has no lines with a quantity to ship")]
    Empty,
}

/// A v2 decimal string ("225.0000") as a number; anything unreadable counts as 0.
pub fn money(s: &str) -> f64 {
    s.trim().parse().unwrap_or(0.0)
}

/// An ERP item as a BigCommerce product (always `physical`). `category_ids` are the store's
/// ids of its categories; an empty list leaves the product's categories alone.
pub fn product_input(r: &ProductRecord, category_ids: Vec<u64>) -> ProductInput {
    ProductInput {
        name: r.name.trim().to_owned(),
        kind: "physical".into(),
        sku: r.sku.trim().to_owned(),
        price: Some(r.price),
        weight: Some(r.weight),
        is_visible: Some(r.visible),
        categories: category_ids,
        description: None,
        retail_price: r.msrp,
    }
}

/// An ERP sales category as a BigCommerce category under `parent_id` (0: the top) in
/// `tree_id`.
pub fn category_input(r: &CategoryRecord, parent_id: u64, tree_id: u64) -> CategoryInput {
    CategoryInput {
        name: Some(r.name.trim().to_owned()),
        parent_id: Some(parent_id),
        tree_id: Some(tree_id),
        sort_order: Some(r.sort_order),
        // The ERP has it, so shoppers see it (a category hidden when it was removed there
        // comes back when it is restored).
        is_visible: Some(true),
        description: None,
    }
}

/// A store customer as kcf's record (key: the customer id; class: the group id, if any).
pub fn customer(c: &Customer) -> CustomerRecord {
    CustomerRecord {
        key: c.id.to_string(),
        email: c.email.trim().to_owned(),
        first_name: c.first_name.clone(),
        last_name: c.last_name.clone(),
        company: c.company.clone(),
        phone: c.phone.clone(),
        class: (c.customer_group_id != 0).then(|| c.customer_group_id.to_string()),
        modified_at: parse_date(&c.date_modified),
    }
}

/// kcf's customer as a store customer. The class becomes the customer group only when it is
/// a group id (mapped by then).
pub fn customer_input(r: &CustomerRecord) -> CustomerInput {
    CustomerInput {
        email: r.email.trim().to_owned(),
        first_name: r.first_name.trim().to_owned(),
        last_name: r.last_name.trim().to_owned(),
        company: r.company.trim().to_owned(),
        phone: r.phone.trim().to_owned(),
        customer_group_id: r.class.as_deref().and_then(|c| c.trim().parse().ok()),
    }
}

fn address(a: &OrderAddress) -> AddressRecord {
    AddressRecord {
        first_name: a.first_name.clone(),
        last_name: a.last_name.clone(),
        company: a.company.clone(),
        line1: a.street_1.clone(),
        line2: a.street_2.clone(),
        city: a.city.clone(),
        state: a.state.clone(),
        postal_code: a.zip.clone(),
        country: a.country_iso2.clone(),
        phone: a.phone.clone(),
        email: a.email.clone(),
    }
}

/// A store order, with its lines and shipping addresses, as kcf's record. A guest (customer
/// 0) has no customer id; the first shipping address is the one shipped to.
pub fn order(o: &Order, products: &[OrderProduct], shipping: &[OrderAddress]) -> OrderRecord {
    let first = shipping.first();
    OrderRecord {
        external_id: o.id.to_string(),
        customer_external_id: (o.customer_id != 0).then(|| o.customer_id.to_string()),
        email: o.billing_address.email.trim().to_owned(),
        status_id: o.status_id,
        status: o.status.clone(),
        currency: o.currency_code.clone(),
        total: money(&o.total_inc_tax),
        payment_method: o.payment_method.clone(),
        shipping_method: first.map(|a| a.shipping_method.clone()).unwrap_or_default(),
        billing: address(&o.billing_address),
        shipping: first.map(address),
        lines: products
            .iter()
            .map(|p| OrderLineRecord {
                external_id: p.id.to_string(),
                sku: p.sku.clone(),
                name: p.name.clone(),
                quantity: p.quantity,
                unit_price: money(&p.price_ex_tax),
            })
            .collect(),
        created_at: parse_date(&o.date_created),
        modified_at: parse_date(&o.date_modified),
    }
}

/// BigCommerce's shipping module and tracking carrier for an ERP carrier (ship via), when it
/// is one BigCommerce knows; else both empty.
pub fn carrier_codes(carrier: &str) -> (&'static str, &'static str) {
    let c: String = carrier
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    let known: [(&str, &str, &str); 7] = [
        ("fedex", "fedex", "fedex"),
        ("usps", "usps", "usps"),
        ("ups", "ups", "ups"),
        ("canadapost", "canada-post", "canada-post"),
        ("auspost", "auspost", "australia-post"),
        ("australiapost", "auspost", "australia-post"),
        ("royalmail", "royalmail", "royal-mail"),
    ];
    if let Some((_, provider, tracking)) = known.iter().find(|(k, _, _)| c.starts_with(k)) {
        return (provider, tracking);
    }
    // DHL has no BigCommerce shipping module, but its tracking links are known.
    if c.starts_with("dhl") {
        return ("", "dhl");
    }
    ("", "")
}

/// An ERP shipment as a store shipment from `address_id`: each SKU goes to the order's lines
/// of that SKU, by what each has left to ship. The tracking numbers are joined with ", "
/// (BigCommerce keeps one per shipment).
pub fn shipment_input(
    r: &ShipmentRecord,
    products: &[OrderProduct],
    address_id: u64,
) -> Result<ShipmentInput, MappingError> {
    let order_id = products.first().map_or(0, |p| p.order_id);
    let mut left: Vec<f64> = products
        .iter()
        .map(|p| (p.quantity - p.quantity_shipped).max(0.0))
        .collect();
    let mut items: Vec<ShipmentItem> = Vec::new();
    for line in r.lines.iter().filter(|l| l.quantity > 0.0) {
        if line.quantity.fract() != 0.0 {
            return Err(MappingError::Fraction {
                sku: line.sku.clone(),
                quantity: line.quantity,
            });
        }
        let sku = line.sku.trim();
        let mut lines_of_sku: Vec<usize> = (0..products.len())
            .filter(|i| products[*i].sku == sku)
            .collect();
        if lines_of_sku.is_empty() {
            lines_of_sku = (0..products.len())
                .filter(|i| products[*i].sku.eq_ignore_ascii_case(sku))
                .collect();
        }
        if lines_of_sku.is_empty() {
            return Err(MappingError::UnknownSku {
                sku: sku.to_owned(),
                order_id,
            });
        }
        let available: f64 = lines_of_sku.iter().map(|i| left[*i]).sum();
        if line.quantity > available {
            return Err(MappingError::TooMany {
                sku: sku.to_owned(),
                quantity: line.quantity,
                left: available,
                order_id,
            });
        }
        let mut wanted = line.quantity;
        for i in lines_of_sku {
            let take = wanted.min(left[i]);
            if take <= 0.0 {
                continue;
            }
            left[i] -= take;
            wanted -= take;
            let id = products[i].id;
            // Whole units only (checked above), so the cast is exact.
            let qty = take as u32;
            match items.iter_mut().find(|it| it.order_product_id == id) {
                Some(it) => it.quantity += qty,
                None => items.push(ShipmentItem {
                    order_product_id: id,
                    quantity: qty,
                }),
            }
        }
    }
    if items.is_empty() {
        return Err(MappingError::Empty);
    }
    let (provider, tracking) = carrier_codes(&r.carrier);
    let numbers: Vec<&str> = r
        .tracking_numbers
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .collect();
    Ok(ShipmentInput {
        order_address_id: address_id,
        items,
        tracking_number: numbers.join(", "),
        shipping_provider: provider.to_owned(),
        tracking_carrier: tracking.to_owned(),
        shipping_method: r.carrier.trim().to_owned(),
        comments: String::new(),
    })
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
