#![allow(clippy::unwrap_used)]

use kcf_domain::{Timestamp, records::OrderLineRecord};
use serde_json::json;

use super::*;
use crate::model::from_plain;

fn record<T: serde::de::DeserializeOwned>(v: Value) -> T {
    from_plain("test", &v).unwrap()
}

#[test]
fn products_from_stock_items() {
    let item: StockItem = record(json!({
        "InventoryID": "AACOMPUT01", "Description": "Computer", "DefaultPrice": 1200.0,
        "DimensionWeight": 4.5, "ItemStatus": "Active", "Visibility": "Visible",
        "Categories": [ { "CategoryID": 3 }, { "CategoryID": 7 } ],
        "LastModifiedDateTime": "2024-05-05T15:16:23.103+00:00"
    }));
    let p = product(&item);
    assert_eq!(
        (p.sku.as_str(), p.name.as_str(), p.price, p.weight),
        ("AACOMPUT01", "Computer", 1200.0, 4.5)
    );
    assert!(p.visible);
    assert_eq!(p.category_keys, ["3", "7"]);
    assert_eq!(p.modified_at, Some(Timestamp(1_714_922_183_103)));
    let hidden: StockItem =
        record(json!({ "InventoryID": "X", "ItemStatus": "Active", "Visibility": "Invisible" }));
    assert!(!product(&hidden).visible);
    let inactive: StockItem = record(json!({ "InventoryID": "X", "ItemStatus": "Inactive" }));
    let p = product(&inactive);
    assert!(!p.visible && p.status == "Inactive" && p.price == 0.0);
}

#[test]
fn categories_with_and_without_parents() {
    let root: ItemSalesCategory =
        record(json!({ "CategoryID": 1, "ParentCategoryID": 0, "Description": "All" }));
    assert_eq!(category(&root).parent_key, None);
    let child: ItemSalesCategory = record(
        json!({ "CategoryID": 4, "ParentCategoryID": 1, "Description": "Desks", "SortOrder": 2 }),
    );
    let c = category(&child);
    assert_eq!(
        (c.key.as_str(), c.parent_key.as_deref(), c.sort_order),
        ("4", Some("1"), 2)
    );
    let orphan: ItemSalesCategory = record(json!({ "CategoryID": 5 }));
    assert_eq!(category(&orphan).parent_key, None);
}

#[test]
fn customers_both_ways() {
    let c: Customer = record(json!({
        "CustomerID": "C000001", "CustomerName": "Jane Doe", "CustomerClass": "DEFAULT",
        "Email": "old@example.com",
        "MainContact": { "Email": "Jane@Example.com", "FirstName": "Jane", "LastName": "Doe",
                         "Phone1": "+47 1234", "CompanyName": "Acme" }
    }));
    let r = customer(&c);
    assert_eq!(r.email, "Jane@Example.com");
    assert_eq!(
        (r.first_name.as_str(), r.last_name.as_str()),
        ("Jane", "Doe")
    );
    assert_eq!(
        (r.company.as_str(), r.phone.as_str(), r.class.as_deref()),
        ("Acme", "+47 1234", Some("DEFAULT"))
    );
    let bare: Customer =
        record(json!({ "CustomerID": "C2", "CustomerName": "Jane van Doe", "Email": "j@x.no" }));
    let r = customer(&bare);
    assert_eq!(
        (
            r.email.as_str(),
            r.first_name.as_str(),
            r.last_name.as_str()
        ),
        ("j@x.no", "Jane van", "Doe")
    );
    assert_eq!(r.class, None);

    let mut r = customer(&c);
    r.phone.clear();
    let body = customer_body("JANEDOE", &r, Some("WEB"));
    assert_eq!(
        body,
        json!({
            "CustomerID": "JANEDOE", "CustomerName": "Jane Doe", "CustomerClass": "WEB",
            "MainContact": { "Email": "Jane@Example.com", "FirstName": "Jane", "LastName": "Doe", "CompanyName": "Acme" }
        })
    );
    assert!(customer_body("X", &r, None).get("CustomerClass").is_none());
}

#[test]
fn new_customer_ids_from_emails() {
    let mut r = customer(&record(json!({ "CustomerID": "" })));
    r.email = "jane.doe@example.com".into();
    assert_eq!(new_customer_id(&r), "JANEDOEEXAMPLECOM");
    r.email = "a.very.long.address.for.someone@subdomain.example.com".into();
    let id = new_customer_id(&r);
    assert_eq!(id.len(), CUSTOMER_ID_MAX);
    assert_eq!(id, "AVERYLONGADDRESSFORSOMEONESUBD");
    assert_eq!(
        customer_id_with_suffix(&id, 12),
        "AVERYLONGADDRESSFORSOMEONESU12"
    );
    assert_eq!(customer_id_with_suffix("JANE", 2), "JANE2");
    r.email = "ø@-.".into();
    r.first_name = "Åse".into();
    assert_eq!(new_customer_id(&r), "SE", "non-ASCII letters are dropped");
    r.first_name.clear();
    assert_eq!(new_customer_id(&r), "CUSTOMER");
}

fn order() -> OrderRecord {
    let addr = AddressRecord {
        first_name: "Jane".into(),
        last_name: "Doe".into(),
        line1: "1 Main St".into(),
        city: "Oslo".into(),
        postal_code: "0150".into(),
        country: "NO".into(),
        email: "jane@example.com".into(),
        ..AddressRecord::default()
    };
    OrderRecord {
        external_id: "110".into(),
        customer_external_id: Some("7".into()),
        email: "jane@example.com".into(),
        status_id: 11,
        status: "Awaiting Fulfillment".into(),
        currency: "USD".into(),
        total: 25.5,
        payment_method: "card".into(),
        shipping_method: "flat".into(),
        billing: addr.clone(),
        shipping: Some(addr),
        lines: vec![OrderLineRecord {
            external_id: "1".into(),
            sku: "SKU-000001".into(),
            name: "Chair".into(),
            quantity: 2.0,
            unit_price: 10.0,
        }],
        created_at: Some(Timestamp(1_714_922_183_103)),
        modified_at: None,
    }
}

#[test]
fn sales_order_bodies() {
    let body = sales_order_body(&order(), "C000002", Some("CARD"), None);
    assert_eq!(body["OrderType"], "SO");
    assert_eq!(body["CustomerID"], "C000002");
    assert_eq!(
        (body["ExternalRef"].as_str(), body["CustomerOrder"].as_str()),
        (Some("110"), Some("110"))
    );
    assert_eq!(body["Description"], "BigCommerce order #110");
    assert_eq!(
        body["Details"],
        json!([{ "InventoryID": "SKU-000001", "OrderQty": 2.0, "UnitPrice": 10.0, "LineDescription": "Chair" }])
    );
    assert_eq!(
        body["ShipToAddress"],
        json!({ "AddressLine1": "1 Main St", "City": "Oslo", "PostalCode": "0150", "Country": "NO" })
    );
    assert_eq!(
        body["ShipToContact"],
        json!({ "Attention": "Jane Doe", "Email": "jane@example.com" })
    );
    assert_eq!(body["BillToAddressOverride"], true);
    assert_eq!(body["PaymentMethod"], "CARD");
    assert!(body.get("ShipVia").is_none());
    assert_eq!(body["Date"], "2024-05-05T15:16:23.103+00:00");
    let mut pickup = order();
    pickup.shipping = None;
    assert!(
        sales_order_body(&pickup, "C", None, Some("UPS"))
            .get("ShipToAddress")
            .is_none()
    );
}

#[test]
fn shipments_group_lines_and_know_when_they_left() {
    let s: Shipment = record(json!({
        "ShipmentNbr": "000004", "Status": "Confirmed", "ShipVia": "UPS",
        "Details": [
            { "OrderType": "SO", "OrderNbr": "000010", "InventoryID": "A", "ShippedQty": 1 },
            { "OrderType": "SO", "OrderNbr": "000010", "InventoryID": "B", "ShippedQty": 2 },
            { "OrderType": "SO", "OrderNbr": "000010", "InventoryID": "A", "ShippedQty": 3 }
        ],
        "Packages": [ { "TrackingNbr": "1Z999" }, { "TrackingNbr": "" } ],
        "Orders": [ { "OrderType": "SO", "OrderNbr": "000010" } ]
    }));
    let r = shipment(&s);
    assert_eq!(
        (r.key.as_str(), r.order_key.as_str(), r.carrier.as_str()),
        ("000004", "000010", "UPS")
    );
    assert!(r.confirmed);
    assert_eq!(r.tracking_numbers, ["1Z999"]);
    assert_eq!(
        r.lines
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity))
            .collect::<Vec<_>>(),
        [("A", 4.0), ("B", 2.0)]
    );
    let open: Shipment = record(
        json!({ "ShipmentNbr": "5", "Status": "Open", "Details": [ { "OrderNbr": "000011" } ] }),
    );
    let r = shipment(&open);
    assert!(!r.confirmed);
    assert_eq!(
        r.order_key, "000011",
        "from the lines when Orders is not expanded"
    );
}

#[test]
fn order_status_knows_partial_shipments() {
    let o = |details: Value, shipments: Value, status: &str| -> SalesOrder {
        record(
            json!({ "OrderNbr": "000001", "Status": status, "ExternalRef": "110",
                       "Details": details, "Shipments": shipments }),
        )
    };
    let open = o(
        json!([{ "OrderQty": 2, "OpenQty": 2 }, { "OrderQty": 1, "OpenQty": 1 }]),
        json!([]),
        "Open",
    );
    let s = order_status(&open);
    assert!(!s.partially_shipped);
    assert_eq!(
        (s.order_key.as_str(), s.external_id.as_deref()),
        ("000001", Some("110"))
    );
    let partly = o(
        json!([{ "OrderQty": 2, "OpenQty": 0 }, { "OrderQty": 1, "OpenQty": 1 }]),
        json!([]),
        "Back Order",
    );
    assert!(order_status(&partly).partially_shipped);
    let all = o(
        json!([{ "OrderQty": 2, "OpenQty": 0 }, { "OrderQty": 1, "OpenQty": 0 }]),
        json!([]),
        "Completed",
    );
    assert!(!order_status(&all).partially_shipped);
    let closed_short = o(
        json!([{ "OrderQty": 2, "OpenQty": 0 }, { "OrderQty": 3, "OpenQty": 1, "Completed": true }]),
        json!([]),
        "Completed",
    );
    assert!(
        !order_status(&closed_short).partially_shipped,
        "a line closed short is done"
    );
    let on_shipment = o(
        json!([{ "OrderQty": 2, "OpenQty": 2, "QtyOnShipments": 2 }]),
        json!([]),
        "Shipping",
    );
    assert!(
        !order_status(&on_shipment).partially_shipped,
        "not left until confirmed"
    );
    let no_lines = o(
        json!([]),
        json!([{ "ShipmentNbr": "1", "Status": "Confirmed" }]),
        "Back Order",
    );
    assert!(order_status(&no_lines).partially_shipped);
    let done = o(
        json!([]),
        json!([{ "ShipmentNbr": "1", "Status": "Confirmed" }]),
        "Completed",
    );
    assert!(!order_status(&done).partially_shipped);
    let no_ref: SalesOrder = record(json!({ "OrderNbr": "2", "ExternalRef": " " }));
    assert_eq!(order_status(&no_ref).external_id, None);
}
