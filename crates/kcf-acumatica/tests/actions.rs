//! Actions over real HTTP: shipping, confirming and cancelling orders, polled to completion.

#![allow(clippy::unwrap_used)]

mod common;

use kcf_acumatica::{AcumaticaClient, Error, Precondition, SalesOrder, mapping};
use serde_json::json;

async fn new_order(client: &AcumaticaClient, external_ref: &str) -> SalesOrder {
    let body = json!({
        "OrderType": "SO", "CustomerID": "C000001", "ExternalRef": external_ref,
        "Details": [
            { "InventoryID": "SKU-000001", "OrderQty": 2, "UnitPrice": 1.0 },
            { "InventoryID": "SKU-000002", "OrderQty": 1, "UnitPrice": 1.0 }
        ]
    });
    client
        .put_sales_order(&body, Precondition::MustNotExist)
        .await
        .unwrap()
}

#[tokio::test]
async fn ship_then_confirm_completes_the_order() {
    let (erp, client) = common::erp().await;
    let order = new_order(&client, "BC-1").await;
    client
        .create_shipment_for_order("SO", &order.order_nbr)
        .await
        .unwrap();
    assert!(
        common::requests_to(
            &erp,
            "/entity/Default/24.200.001/SalesOrder/SalesOrderCreateShipment"
        )
        .await
            == 1,
        "the action is posted once"
    );
    let ledger = common::control(&erp, "/_sandbox/ledger?limit=20000").await;
    let polls = ledger
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["path"]
                .as_str()
                .unwrap()
                .contains("/SalesOrderCreateShipment/status/")
        })
        .map(|e| e["status"].as_u64().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(
        polls.first(),
        Some(&202),
        "then polled while it runs: {polls:?}"
    );
    assert_eq!(polls.last(), Some(&204), "until it is done: {polls:?}");
    let shipping = client
        .sales_order("SO", &order.order_nbr)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shipping.status, "Shipping");
    let nbr = shipping.shipments[0].shipment_nbr.clone();
    let open = client.shipment(&nbr).await.unwrap().unwrap();
    assert_eq!((open.status.as_str(), open.details.len()), ("Open", 2));
    let record = mapping::shipment(&open);
    assert!(!record.confirmed);
    assert_eq!(record.order_key, order.order_nbr);

    let packed = client
        .put_shipment(&json!({ "ShipmentNbr": nbr, "ShipVia": "UPS",
                               "Packages": [ { "BoxID": "LARGE", "TrackingNbr": "1Z999AA10123456784" } ] }))
        .await
        .unwrap();
    assert_eq!(packed.packages.len(), 1);
    client.confirm_shipment(&nbr).await.unwrap();
    let shipped = mapping::shipment(&client.shipment(&nbr).await.unwrap().unwrap());
    assert!(shipped.confirmed);
    assert_eq!(
        (shipped.carrier.as_str(), shipped.tracking_numbers.len()),
        ("UPS", 1)
    );
    assert_eq!(
        shipped
            .lines
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity))
            .collect::<Vec<_>>(),
        [("SKU-000001", 2.0), ("SKU-000002", 1.0)]
    );
    let done = client
        .sales_order("SO", &order.order_nbr)
        .await
        .unwrap()
        .unwrap();
    let status = mapping::order_status(&done);
    assert_eq!(
        (status.status.as_str(), status.partially_shipped),
        ("Completed", false)
    );

    let twice = client.confirm_shipment(&nbr).await.unwrap_err();
    assert!(
        matches!(twice, Error::Validation { .. }) && !twice.is_retriable(),
        "{twice:?}"
    );
    assert_eq!(
        twice.to_string(),
        "Acumatica refused the Shipment: Only an open shipment can be confirmed."
    );
    let shipped_order = client
        .cancel_sales_order("SO", &order.order_nbr)
        .await
        .unwrap_err();
    assert!(
        shipped_order.to_string().contains("has shipped"),
        "{shipped_order}"
    );
}

#[tokio::test]
async fn a_shipment_of_some_lines_leaves_the_order_partly_shipped() {
    let (_erp, client) = common::erp().await;
    let order = new_order(&client, "BC-2").await;
    client
        .create_shipment_for_order("SO", &order.order_nbr)
        .await
        .unwrap();
    let nbr = client
        .sales_order("SO", &order.order_nbr)
        .await
        .unwrap()
        .unwrap()
        .shipments[0]
        .shipment_nbr
        .clone();
    let shipment = client.shipment(&nbr).await.unwrap().unwrap();
    let second_line = json!({ "ShipmentNbr": nbr, "Details": [ { "id": line_id(&client, &nbr, 1).await, "delete": true } ] });
    assert_eq!(
        client
            .put_shipment(&second_line)
            .await
            .unwrap()
            .details
            .len(),
        1
    );
    assert_eq!(shipment.details.len(), 2);
    client.confirm_shipment(&nbr).await.unwrap();
    let order = client
        .sales_order("SO", &order.order_nbr)
        .await
        .unwrap()
        .unwrap();
    let status = mapping::order_status(&order);
    assert_eq!(status.status, "Back Order");
    assert!(status.partially_shipped);
}

/// The NoteID of a shipment line (the typed model leaves line ids out).
async fn line_id(client: &AcumaticaClient, nbr: &str, index: usize) -> String {
    let page = client
        .changed(
            kcf_acumatica::ErpEntity::Shipment,
            &kcf_acumatica::ChangedQuery {
                top: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let shipment = page.iter().find(|s| s["ShipmentNbr"] == nbr).unwrap();
    shipment["Details"][index]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn cancel_an_unshipped_order() {
    let (_erp, client) = common::erp().await;
    let order = new_order(&client, "BC-3").await;
    client
        .cancel_sales_order("SO", &order.order_nbr)
        .await
        .unwrap();
    let cancelled = client
        .sales_order("SO", &order.order_nbr)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mapping::order_status(&cancelled).status, "Cancelled");
    let e = client
        .create_shipment_for_order("SO", &order.order_nbr)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Cancelled"), "{e}");
    let missing = client.cancel_sales_order("SO", "999999").await.unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)), "{missing:?}");
}
