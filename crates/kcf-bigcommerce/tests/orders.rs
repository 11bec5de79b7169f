//! v2 orders, their lines, addresses, status and shipments against the emulator.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::Store;
use kcf_bigcommerce::{Error, OrderQuery, mapping};
use kcf_domain::{
    Timestamp,
    records::{ShipmentLineRecord, ShipmentRecord},
};
use kcf_sandbox::SeedSize;
use serde_json::json;

fn new_order() -> serde_json::Value {
    json!({
        "customer_id": 1,
        "status_id": 1,
        "billing_address": {
            "first_name": "Jane", "last_name": "Doe", "street_1": "1 Main St", "city": "Austin",
            "state": "Texas", "zip": "78701", "country": "United States", "country_iso2": "US",
            "email": "jane@example.com"
        },
        "products": [
            { "product_id": 1, "quantity": 3 },
            { "product_id": 2, "quantity": 1, "price_ex_tax": 10.5 }
        ]
    })
}

#[tokio::test]
async fn orders_are_listed_read_and_mapped() {
    let s = Store::start(SeedSize::Small).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let from = Timestamp::now();
    let created = s.client.create_order(&new_order()).await.unwrap();
    assert_eq!(created.customer_id, 1);
    assert_eq!(created.status_id, 1);

    let recent = s
        .client
        .orders(&OrderQuery {
            min_date_modified: Some(from),
            sort: Some("date_modified:asc".into()),
            ..OrderQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        recent.iter().map(|o| o.id).collect::<Vec<_>>(),
        [created.id]
    );
    let all = s.client.orders(&OrderQuery::default()).await.unwrap();
    assert_eq!(all.len(), 11, "10 seeded and the new one");
    let later = s
        .client
        .orders(&OrderQuery {
            min_id: Some(created.id + 1),
            ..OrderQuery::default()
        })
        .await
        .unwrap();
    assert!(
        later.is_empty(),
        "an empty list is a 204, read as no orders"
    );

    let order = s.client.order(created.id).await.unwrap().unwrap();
    assert_eq!(order.date_modified_ms(), order.modified_at().map(|t| t.0));
    assert_eq!(s.client.order(99_999).await.unwrap(), None);
    let lines = s.client.order_products(created.id).await.unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].quantity, 3.0);
    assert_eq!(lines[1].price_ex_tax, "10.5000");
    let addresses = s.client.order_shipping_addresses(created.id).await.unwrap();
    assert_eq!(addresses.len(), 1);
    assert_eq!(addresses[0].city, "Austin");

    let record = mapping::order(&order, &lines, &addresses);
    assert_eq!(record.external_id, created.id.to_string());
    assert_eq!(record.customer_external_id.as_deref(), Some("1"));
    assert_eq!(record.email, "jane@example.com");
    assert_eq!(record.billing.postal_code, "78701");
    assert_eq!(record.lines.len(), 2);
    assert_eq!(record.lines[1].unit_price, 10.5);
    let expected_total: f64 = lines.iter().map(|l| mapping::money(&l.total_ex_tax)).sum();
    assert!((record.total - expected_total).abs() < 0.001);
    assert!(record.created_at.is_some());
}

#[tokio::test]
async fn statuses_change_and_shipments_are_created_and_listed() {
    let s = Store::start(SeedSize::Small).await;
    let order = s.client.create_order(&new_order()).await.unwrap();
    let changed = s.client.update_order_status(order.id, 11).await.unwrap();
    assert_eq!(
        (changed.status_id, changed.status.as_str()),
        (11, "Awaiting Fulfillment")
    );
    let e = s
        .client
        .update_order_status(order.id, 99)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e:?}");

    assert!(s.client.shipments(order.id).await.unwrap().is_empty());
    let lines = s.client.order_products(order.id).await.unwrap();
    let addresses = s.client.order_shipping_addresses(order.id).await.unwrap();
    let shipped = ShipmentRecord {
        key: "SH0001".into(),
        order_key: "SO0001".into(),
        status: "Confirmed".into(),
        confirmed: true,
        carrier: "UPS Ground".into(),
        tracking_numbers: vec!["1Z999".into(), "1Z998".into()],
        lines: vec![ShipmentLineRecord {
            sku: lines[0].sku.clone(),
            quantity: 2.0,
        }],
        modified_at: None,
    };
    let mut input = mapping::shipment_input(&shipped, &lines, addresses[0].id).unwrap();
    input.comments = "Acumatica shipment SH0001".into();
    let shipment = s.client.create_shipment(order.id, &input).await.unwrap();
    assert_eq!(shipment.order_id, order.id);
    assert_eq!(shipment.tracking_number, "1Z999, 1Z998");
    assert_eq!(shipment.shipping_provider, "ups");
    assert_eq!(shipment.items.len(), 1);
    assert_eq!(
        (
            shipment.items[0].order_product_id,
            shipment.items[0].quantity
        ),
        (lines[0].id, 2)
    );

    let listed = s.client.shipments(order.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, shipment.id);
    assert_eq!(listed[0].comments, "Acumatica shipment SH0001");
    let after = s.client.order(order.id).await.unwrap().unwrap();
    assert_eq!(after.status, "Partially Shipped");

    let lines = s.client.order_products(order.id).await.unwrap();
    assert_eq!(lines[0].quantity_shipped, 2.0);
    let too_many = ShipmentRecord {
        lines: vec![ShipmentLineRecord {
            sku: lines[0].sku.clone(),
            quantity: 2.0,
        }],
        ..shipped
    };
    let e = mapping::shipment_input(&too_many, &lines, addresses[0].id).unwrap_err();
    assert!(e.to_string().contains("only 1 left to ship"), "{e}");
    let e = s.client.create_shipment(99_999, &input).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
}
