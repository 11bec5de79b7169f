//! Acumatica's records ↔ kcf's platform-neutral records (`kcf_domain::records`).

use std::collections::BTreeMap;

use kcf_domain::records::{
    AddressRecord, CategoryRecord, CustomerRecord, ErpOrderStatus, OptionRecord, OrderRecord,
    ProductRecord, ShipmentLineRecord, ShipmentRecord, StockLevel, TemplateRecord, VariantRecord,
};
use serde_json::{Map, Value, json};

use crate::model::{Customer, ItemSalesCategory, SalesOrder, Shipment, StockItem, format_instant};

/// The longest CustomerID kcf makes (the key's segment may be shorter on some tenants).
pub const CUSTOMER_ID_MAX: usize = 30;

/// Shipment statuses that mean the goods left.
const SHIPPED_STATUSES: &[&str] = &["Confirmed", "Completed", "Invoiced", "Released"];

/// A stock item as a product: visible when Active and not Invisible.
pub fn product(item: &StockItem) -> ProductRecord {
    ProductRecord {
        sku: item.inventory_id.clone(),
        name: item.description.clone(),
        price: item.default_price.unwrap_or(0.0),
        weight: item.dimension_weight.unwrap_or(0.0),
        visible: item.item_status == "Active" && item.visibility != "Invisible",
        status: item.item_status.clone(),
        category_keys: item
            .categories
            .iter()
            .map(|c| c.category_id.to_string())
            .collect(),
        modified_at: item.last_modified_date_time,
        msrp: item.msrp,
        template: Some(item.template_item_id.trim().to_owned()).filter(|t| !t.is_empty()),
    }
}

/// A template item and its matrix items as a product with options and variants: the
/// template's attributes (in their order) are the options, each matrix item's values of them
/// a variant; a value reads as its description.
pub fn template(template: &StockItem, children: &[StockItem]) -> TemplateRecord {
    let mut attributes: Vec<&crate::model::ItemAttribute> = template.attributes.iter().collect();
    attributes.sort_by_key(|a| a.sort_order.unwrap_or(0));
    let mut options: Vec<OptionRecord> = attributes
        .iter()
        .map(|a| OptionRecord {
            name: if a.description.trim().is_empty() {
                a.attribute_id.clone()
            } else {
                a.description.clone()
            },
            values: Vec::new(),
        })
        .collect();
    let mut variants = Vec::with_capacity(children.len());
    for child in children {
        let mut values = Vec::new();
        for (n, a) in attributes.iter().enumerate() {
            let Some(v) = child
                .attributes
                .iter()
                .find(|v| v.attribute_id.eq_ignore_ascii_case(&a.attribute_id))
                .filter(|v| !v.value.trim().is_empty())
            else {
                continue;
            };
            let label = if v.value_description.trim().is_empty() {
                v.value.trim().to_owned()
            } else {
                v.value_description.trim().to_owned()
            };
            if !options[n].values.contains(&label) {
                options[n].values.push(label.clone());
            }
            values.push((options[n].name.clone(), label));
        }
        variants.push(VariantRecord {
            sku: child.inventory_id.trim().to_owned(),
            price: child
                .default_price
                .or(template.default_price)
                .unwrap_or(0.0),
            msrp: child.msrp.or(template.msrp),
            options: values,
            active: child.item_status == "Active",
        });
    }
    TemplateRecord {
        product: product(template),
        options,
        variants,
    }
}

/// A row of stock.
pub fn stock_level(q: &crate::model::QuantityAvailable) -> StockLevel {
    StockLevel {
        sku: q.inventory_id.trim().to_owned(),
        warehouse: q.warehouse_id.trim().to_owned(),
        on_hand: q.on_hand,
        allocated: q.allocated,
        available: q.available,
    }
}

/// A sales category; parent 0 (or none) is a root.
pub fn category(c: &ItemSalesCategory) -> CategoryRecord {
    CategoryRecord {
        key: c.category_id.to_string(),
        parent_key: c
            .parent_category_id
            .filter(|p| *p != 0)
            .map(|p| p.to_string()),
        name: c.description.clone(),
        sort_order: c.sort_order.unwrap_or(0),
        modified_at: c.last_modified_date_time,
    }
}

/// A customer: names, e-mail, phone and company from the main contact (the e-mail from the
/// account when the contact has none). Without contact names, the account name is split at
/// its last space ("Jane van Doe" → "Jane van" / "Doe").
pub fn customer(c: &Customer) -> CustomerRecord {
    let contact = c.main_contact.clone().unwrap_or_default();
    let email = Some(contact.email.trim())
        .filter(|e| !e.is_empty())
        .or(c.email.as_deref().map(str::trim))
        .unwrap_or_default()
        .to_owned();
    let (mut first_name, mut last_name) = (
        contact.first_name.trim().to_owned(),
        contact.last_name.trim().to_owned(),
    );
    if first_name.is_empty() && last_name.is_empty() {
        let name = c.customer_name.trim();
        match name.rsplit_once(' ') {
            Some((first, last)) => {
                first_name = first.trim().to_owned();
                last_name = last.to_owned();
            }
            None => first_name = name.to_owned(),
        }
    }
    CustomerRecord {
        key: c.customer_id.clone(),
        email,
        first_name,
        last_name,
        company: contact.company_name.trim().to_owned(),
        phone: contact.phone1.trim().to_owned(),
        class: Some(c.customer_class.clone()).filter(|s| !s.is_empty()),
        modified_at: c.last_modified_date_time,
    }
}

/// The plain body for [`crate::AcumaticaClient::put_customer`]. Empty phone and company are
/// left out so a store that lacks them does not wipe what the ERP has.
pub fn customer_body(customer_id: &str, r: &CustomerRecord, class: Option<&str>) -> Value {
    let mut contact = Map::new();
    contact.insert("Email".into(), json!(r.email));
    contact.insert("FirstName".into(), json!(r.first_name));
    contact.insert("LastName".into(), json!(r.last_name));
    put_text(&mut contact, "Phone1", &r.phone);
    put_text(&mut contact, "CompanyName", &r.company);
    let mut body = json!({
        "CustomerID": customer_id,
        "CustomerName": r.display_name(),
        "MainContact": contact,
    });
    if let Some(class) = class.filter(|c| !c.is_empty()) {
        body["CustomerClass"] = json!(class);
    }
    body
}

/// A CustomerID for a new customer, from the e-mail: upper case, only A–Z and 0–9, at most
/// [`CUSTOMER_ID_MAX`] characters ("jane.doe@example.com" → "JANEDOEEXAMPLECOM"). Two
/// e-mails can give the same id; the caller resolves that by trying
/// [`customer_id_with_suffix`] when the create-only PUT answers 412.
pub fn new_customer_id(r: &CustomerRecord) -> String {
    let from = |s: &str| -> String {
        s.chars()
            .flat_map(char::to_uppercase)
            .filter(char::is_ascii_alphanumeric)
            .take(CUSTOMER_ID_MAX)
            .collect()
    };
    [from(&r.email), from(&r.display_name())]
        .into_iter()
        .find(|id| !id.is_empty())
        .unwrap_or_else(|| "CUSTOMER".into())
}

/// `base` with the number `n` at its end, shortened to stay within [`CUSTOMER_ID_MAX`].
pub fn customer_id_with_suffix(base: &str, n: u32) -> String {
    let suffix = n.to_string();
    let keep = CUSTOMER_ID_MAX.saturating_sub(suffix.len());
    format!("{}{suffix}", base.chars().take(keep).collect::<String>())
}

fn put_text(obj: &mut Map<String, Value>, field: &str, value: &str) {
    if !value.trim().is_empty() {
        obj.insert(field.into(), json!(value.trim()));
    }
}

fn address(a: &AddressRecord) -> Value {
    let mut out = Map::new();
    put_text(&mut out, "AddressLine1", &a.line1);
    put_text(&mut out, "AddressLine2", &a.line2);
    put_text(&mut out, "City", &a.city);
    put_text(&mut out, "State", &a.state);
    put_text(&mut out, "PostalCode", &a.postal_code);
    put_text(&mut out, "Country", &a.country);
    Value::Object(out)
}

fn contact(a: &AddressRecord) -> Value {
    let mut out = Map::new();
    let name = format!("{} {}", a.first_name.trim(), a.last_name.trim());
    put_text(&mut out, "Attention", &name);
    put_text(&mut out, "BusinessName", &a.company);
    put_text(&mut out, "Email", &a.email);
    put_text(&mut out, "Phone1", &a.phone);
    Value::Object(out)
}

/// The plain body for [`crate::AcumaticaClient::put_sales_order`]: an SO order for
/// `customer_id` whose `ExternalRef` and `CustomerOrder` are the store's order id (so it is
/// found again and never created twice), its lines by SKU, and the order's own bill-to and
/// ship-to addresses (the `…Override` flags make Acumatica keep them instead of the
/// customer's defaults).
pub fn sales_order_body(
    order: &OrderRecord,
    customer_id: &str,
    payment_method: Option<&str>,
    ship_via: Option<&str>,
) -> Value {
    let lines: Vec<Value> = order
        .lines
        .iter()
        .map(|l| {
            let mut line = json!({
                "InventoryID": l.sku, "OrderQty": l.quantity, "UnitPrice": l.unit_price,
            });
            if !l.name.trim().is_empty() {
                line["LineDescription"] = json!(l.name.trim());
            }
            line
        })
        .collect();
    let mut body = json!({
        "OrderType": "SO",
        "CustomerID": customer_id,
        "ExternalRef": order.external_id,
        "CustomerOrder": order.external_id,
        "Description": format!("BigCommerce order #{}", order.external_id),
        "Details": lines,
        "BillToAddressOverride": true,
        "BillToContactOverride": true,
        "BillToAddress": address(&order.billing),
        "BillToContact": contact(&order.billing),
    });
    if let Some(ship) = &order.shipping {
        body["ShipToAddressOverride"] = json!(true);
        body["ShipToContactOverride"] = json!(true);
        body["ShipToAddress"] = address(ship);
        body["ShipToContact"] = contact(ship);
    }
    if let Some(date) = order.created_at.and_then(|t| format_instant(t).ok()) {
        body["Date"] = json!(date);
    }
    if let Some(pm) = payment_method.filter(|p| !p.is_empty()) {
        body["PaymentMethod"] = json!(pm);
    }
    if let Some(via) = ship_via.filter(|v| !v.is_empty()) {
        body["ShipVia"] = json!(via);
    }
    body
}

/// A shipment: the order it ships, whether it left (Confirmed or later), tracking numbers,
/// and its lines summed per SKU.
pub fn shipment(s: &Shipment) -> ShipmentRecord {
    let order_key = s
        .orders
        .iter()
        .map(|o| o.order_nbr.as_str())
        .chain(s.details.iter().map(|d| d.order_nbr.as_str()))
        .find(|n| !n.is_empty())
        .unwrap_or_default()
        .to_owned();
    let mut order: Vec<String> = Vec::new();
    let mut quantities: BTreeMap<String, f64> = BTreeMap::new();
    for d in &s.details {
        if !quantities.contains_key(&d.inventory_id) {
            order.push(d.inventory_id.clone());
        }
        *quantities.entry(d.inventory_id.clone()).or_default() += d.shipped_qty;
    }
    ShipmentRecord {
        key: s.shipment_nbr.clone(),
        order_key,
        status: s.status.clone(),
        confirmed: SHIPPED_STATUSES.contains(&s.status.as_str()),
        carrier: s.ship_via.clone(),
        tracking_numbers: s
            .packages
            .iter()
            .map(|p| p.tracking_nbr.trim())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        lines: order
            .into_iter()
            .map(|sku| ShipmentLineRecord {
                quantity: quantities.get(&sku).copied().unwrap_or_default(),
                sku,
            })
            .collect(),
        modified_at: s.last_modified_date_time,
    }
}

/// An order's status for the store. Partly shipped: some quantity has left and some of what
/// is still wanted has not (a line closed short counts as wanted only up to what shipped).
/// Without lines, confirmed shipments on an order that is not finished mean the same.
pub fn order_status(o: &SalesOrder) -> ErpOrderStatus {
    let partially_shipped = if o.details.is_empty() {
        let any_left = o
            .shipments
            .iter()
            .any(|s| SHIPPED_STATUSES.contains(&s.status.as_str()));
        any_left && !matches!(o.status.as_str(), "Completed" | "Invoiced" | "Closed")
    } else {
        let (mut shipped, mut wanted) = (0.0, 0.0);
        for l in &o.details {
            let left = match l.open_qty {
                Some(open) => (l.order_qty - open).max(0.0),
                None if l.completed == Some(true) => l.order_qty,
                None => 0.0,
            };
            shipped += left;
            wanted += if l.completed == Some(true) {
                left
            } else {
                l.order_qty
            };
        }
        shipped > 0.0 && shipped + 1e-9 < wanted
    };
    ErpOrderStatus {
        order_key: o.order_nbr.clone(),
        external_id: Some(o.external_ref.trim().to_owned()).filter(|e| !e.is_empty()),
        status: o.status.clone(),
        partially_shipped,
    }
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
