#![allow(clippy::unwrap_used)]

use kcf_domain::{
    Timestamp,
    records::{ShipmentLineRecord, ShipmentRecord},
};

use super::*;

fn product_record() -> ProductRecord {
    ProductRecord {
        sku: " AACOMPUT01 ".into(),
        name: "Acer Laptop".into(),
        price: 1200.5,
        weight: 2.25,
        visible: false,
        status: "Active".into(),
        category_keys: vec!["COMP".into()],
        modified_at: None,
        msrp: None,
        template: None,
    }
}

fn line(id: u64, sku: &str, quantity: f64, shipped: f64) -> OrderProduct {
    OrderProduct {
        id,
        order_id: 100,
        product_id: id * 10,
        order_address_id: 7,
        name: format!("Item {sku}"),
        sku: sku.into(),
        quantity,
        quantity_shipped: shipped,
        price_ex_tax: "12.5000".into(),
        price_inc_tax: "13.7500".into(),
        total_ex_tax: "25.0000".into(),
    }
}

fn shipment(lines: &[(&str, f64)], carrier: &str, tracking: &[&str]) -> ShipmentRecord {
    ShipmentRecord {
        key: "SH0001".into(),
        order_key: "SO0001".into(),
        status: "Confirmed".into(),
        confirmed: true,
        carrier: carrier.into(),
        tracking_numbers: tracking.iter().map(|t| (*t).to_owned()).collect(),
        lines: lines
            .iter()
            .map(|(sku, quantity)| ShipmentLineRecord {
                sku: (*sku).into(),
                quantity: *quantity,
            })
            .collect(),
        modified_at: None,
    }
}

#[test]
fn products_become_physical_inputs_with_their_categories() {
    let p = product_input(&product_record(), vec![3, 4]);
    assert_eq!(p.sku, "AACOMPUT01");
    assert_eq!(p.kind, "physical");
    assert_eq!(
        (p.price, p.weight, p.is_visible),
        (Some(1200.5), Some(2.25), Some(false))
    );
    assert_eq!(p.categories, vec![3, 4]);
    let p = product_input(&product_record(), Vec::new());
    let json = serde_json::to_value(&p).unwrap();
    assert!(json.get("categories").is_none(), "{json}");
}

#[test]
fn categories_go_under_their_parent_in_the_tree() {
    let r = CategoryRecord {
        key: "COMP".into(),
        parent_key: Some("ALL".into()),
        name: "Computers ".into(),
        sort_order: 3,
        modified_at: None,
    };
    let c = category_input(&r, 12, 1);
    assert_eq!(
        (c.name.as_deref(), c.parent_id, c.tree_id, c.sort_order),
        (Some("Computers"), Some(12), Some(1), Some(3))
    );
}

#[test]
fn customers_map_both_ways() {
    let c = Customer {
        id: 42,
        email: "jane@example.com".into(),
        first_name: "Jane".into(),
        last_name: "Doe".into(),
        company: "Acme".into(),
        phone: "555".into(),
        customer_group_id: 2,
        date_created: String::new(),
        date_modified: "2024-01-02T03:04:05+00:00".into(),
    };
    let r = customer(&c);
    assert_eq!((r.key.as_str(), r.class.as_deref()), ("42", Some("2")));
    assert_eq!(r.modified_at, Some(Timestamp(1_704_164_645_000)));
    let back = customer_input(&r);
    assert_eq!(back.email, "jane@example.com");
    assert_eq!(back.customer_group_id, Some(2));
    let mut r = r;
    r.class = Some("RETAIL".into());
    assert_eq!(customer_input(&r).customer_group_id, None);
    let guestless = Customer {
        customer_group_id: 0,
        ..c
    };
    assert_eq!(customer(&guestless).class, None);
}

#[test]
fn orders_map_money_addresses_lines_and_guests() {
    let o = Order {
        id: 100,
        customer_id: 0,
        status_id: 11,
        status: "Awaiting Fulfillment".into(),
        date_created: "Tue, 02 Jan 2024 03:04:05 +0000".into(),
        total_inc_tax: "225.5000".into(),
        currency_code: "USD".into(),
        payment_method: "Credit Card".into(),
        billing_address: OrderAddress {
            first_name: "Jane".into(),
            street_1: "1 Main St".into(),
            zip: "78701".into(),
            country_iso2: "US".into(),
            email: "jane@example.com".into(),
            ..OrderAddress::default()
        },
        ..Order::default()
    };
    let ship = OrderAddress {
        id: 7,
        city: "Austin".into(),
        shipping_method: "Flat Rate".into(),
        ..OrderAddress::default()
    };
    let r = order(&o, &[line(1, "A", 2.0, 0.0)], std::slice::from_ref(&ship));
    assert_eq!(r.external_id, "100");
    assert_eq!(r.customer_external_id, None);
    assert_eq!((r.total, r.currency.as_str()), (225.5, "USD"));
    assert_eq!(r.email, "jane@example.com");
    assert_eq!(
        (
            r.billing.line1.as_str(),
            r.billing.postal_code.as_str(),
            r.billing.country.as_str()
        ),
        ("1 Main St", "78701", "US")
    );
    assert_eq!(r.shipping.unwrap().city, "Austin");
    assert_eq!(r.shipping_method, "Flat Rate");
    assert_eq!(r.lines.len(), 1);
    assert_eq!(
        (
            r.lines[0].external_id.as_str(),
            r.lines[0].sku.as_str(),
            r.lines[0].quantity,
            r.lines[0].unit_price
        ),
        ("1", "A", 2.0, 12.5)
    );
    assert_eq!(r.created_at, Some(Timestamp(1_704_164_645_000)));
    let registered = Order {
        customer_id: 9,
        ..o
    };
    let r = order(&registered, &[], &[]);
    assert_eq!(r.customer_external_id.as_deref(), Some("9"));
    assert_eq!(r.shipping, None);
}

#[test]
fn shipments_map_skus_to_order_lines_and_join_tracking_numbers() {
    let products = [
        line(1, "A", 2.0, 0.0),
        line(2, "B", 5.0, 1.0),
        line(3, "B", 3.0, 0.0),
    ];
    let s = shipment_input(
        &shipment(
            &[("A", 2.0), ("B", 6.0)],
            "UPS Ground",
            &["1Z1", " 1Z2 ", ""],
        ),
        &products,
        7,
    )
    .unwrap();
    assert_eq!(s.order_address_id, 7);
    assert_eq!(
        s.items,
        vec![
            ShipmentItem {
                order_product_id: 1,
                quantity: 2
            },
            ShipmentItem {
                order_product_id: 2,
                quantity: 4
            },
            ShipmentItem {
                order_product_id: 3,
                quantity: 2
            },
        ]
    );
    assert_eq!(s.tracking_number, "1Z1, 1Z2");
    assert_eq!(
        (s.shipping_provider.as_str(), s.tracking_carrier.as_str()),
        ("ups", "ups")
    );
}

#[test]
fn shipments_refuse_what_the_order_cannot_take() {
    let products = [line(1, "A", 2.0, 1.0)];
    let e = shipment_input(&shipment(&[("Z", 1.0)], "", &[]), &products, 7).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the shipment ships SKU Z, which is not on BigCommerce order 100"
    );
    let e = shipment_input(&shipment(&[("A", 2.0)], "", &[]), &products, 7).unwrap_err();
    assert!(e.to_string().contains("has only 1 left to ship"), "{e}");
    let e = shipment_input(&shipment(&[("A", 0.5)], "", &[]), &products, 7).unwrap_err();
    assert!(matches!(e, MappingError::Fraction { .. }));
    let e = shipment_input(&shipment(&[("A", 0.0)], "", &[]), &products, 7).unwrap_err();
    assert_eq!(e, MappingError::Empty);
}

#[test]
fn carriers_are_known_or_left_empty() {
    assert_eq!(carrier_codes("FEDEX2DAY"), ("fedex", "fedex"));
    assert_eq!(carrier_codes("usps"), ("usps", "usps"));
    assert_eq!(carrier_codes("Canada Post"), ("canada-post", "canada-post"));
    assert_eq!(carrier_codes("DHL Express"), ("", "dhl"));
    assert_eq!(carrier_codes("LOCAL TRUCK"), ("", ""));
    let s = shipment_input(
        &shipment(&[("a", 1.0)], "Our own van", &["X"]),
        &[line(1, "A", 1.0, 0.0)],
        7,
    )
    .unwrap();
    assert_eq!(
        (s.shipping_provider.as_str(), s.tracking_carrier.as_str()),
        ("", "")
    );
    assert_eq!(
        s.items[0].order_product_id, 1,
        "SKUs match without case as a fallback"
    );
}
