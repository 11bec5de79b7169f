//! Push notifications captured from the emulator, parsed into changes.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use kcf_acumatica::{
    AcumaticaClient, AcumaticaConfig, Precondition,
    notify::{self, PushChange},
};
use kcf_domain::Entity;
use kcf_sandbox::{SeedSize, acumatica::AcumaticaConfig as Sandbox};
use serde_json::json;

fn changes_of(body: &[u8]) -> Vec<PushChange> {
    notify::parse(body).unwrap().changes().unwrap()
}

#[tokio::test]
async fn notifications_from_the_emulator_become_one_change_per_record() {
    let erp = common::start(
        Sandbox {
            push_retry_delay: Duration::from_millis(10),
            ..Sandbox::default()
        },
        SeedSize::Small,
    )
    .await;
    let client = AcumaticaClient::new(AcumaticaConfig::sandbox(erp.url())).unwrap();
    let (receiver, url) = common::Receiver::start().await;
    let r = common::raw()
        .put(format!("{}/_sandbox/push/destinations", erp.url()))
        .json(&json!([{ "name": "kcf", "address": url, "header_name": "X-Kcf-Push", "header_value": "s3cret",
                            "queries": ["Stock Items: Last Modified Date", "Sales Orders", "Shipments", "Item Sales Categories", "Customers"] }]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    client
        .put_stock_item(&json!({ "InventoryID": "SKU-000004", "DefaultPrice": 77.0 }))
        .await
        .unwrap();
    let got = receiver.wait_for(1).await;
    let (headers, body) = &got[0];
    let secret = headers.get("x-kcf-push").map(|v| v.as_bytes());
    assert!(notify::header_matches("s3cret", secret));
    assert!(!notify::header_matches("other", secret));
    let n = notify::parse(body).unwrap();
    assert_eq!(
        (n.query.as_str(), n.company_id.as_str()),
        ("Stock Items: Last Modified Date", "Company")
    );
    assert!(
        n.timestamp > 0 && n.inserted.len() == 1 && n.deleted.len() == 1,
        "an update: {n:?}"
    );
    let changes = n.changes().unwrap();
    assert_eq!(changes.len(), 1);
    let c = &changes[0];
    assert_eq!(
        (c.entity, c.record_key.as_str(), c.deleted),
        (Entity::Product, "SKU-000004", false)
    );
    assert_eq!(c.row["DefaultPrice"], 77.0);
    assert_eq!(
        c.dedup_key,
        format!("{}:Stock Items: Last Modified Date:SKU-000004", n.id)
    );

    let order = client
        .put_sales_order(
            &json!({ "CustomerID": "C000003", "ExternalRef": "BC-9",
                     "Details": [ { "InventoryID": "SKU-000001", "OrderQty": 1 } ] }),
            Precondition::MustNotExist,
        )
        .await
        .unwrap();
    let got = receiver.wait_for(2).await;
    let c = &changes_of(&got[1].1)[0];
    assert_eq!(
        (c.entity, c.record_key.clone(), c.deleted),
        (
            Entity::OrderStatus,
            format!("SO/{}", order.order_nbr),
            false
        )
    );

    client
        .create_shipment_for_order("SO", &order.order_nbr)
        .await
        .unwrap();
    let got = receiver.wait_for(4).await;
    let mut kinds: Vec<(Entity, String)> = got[2..4]
        .iter()
        .flat_map(|(_, b)| changes_of(b))
        .map(|c| (c.entity, c.record_key))
        .collect();
    kinds.sort_by_key(|(e, _)| e.to_string());
    assert_eq!(
        kinds,
        [
            (Entity::OrderStatus, format!("SO/{}", order.order_nbr)),
            // After the seed's three shipments.
            (Entity::Shipment, "000004".to_owned())
        ]
    );

    client
        .put_item_sales_category(&json!({ "CategoryID": 3, "Description": "Renamed" }))
        .await
        .unwrap();
    client
        .put_customer(
            &json!({ "CustomerID": "C000004", "CustomerName": "Renamed" }),
            Precondition::MustExist,
        )
        .await
        .unwrap();
    let deleted = common::raw();
    let login = json!({ "name": "admin", "password": "sandbox", "tenant": "Company" });
    deleted
        .post(format!("{}/entity/auth/login", erp.url()))
        .json(&login)
        .send()
        .await
        .unwrap();
    let r = deleted
        .delete(format!(
            "{}/entity/Default/24.200.001/StockItem/SKU-000007",
            erp.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let got = receiver.wait_for(7).await;
    // Each delivery runs on its own task, so arrival order is not guaranteed.
    let mut rest: Vec<(Entity, String, bool)> = got[4..7]
        .iter()
        .flat_map(|(_, b)| changes_of(b))
        .map(|c| (c.entity, c.record_key, c.deleted))
        .collect();
    rest.sort_by_key(|(e, _, _)| e.to_string());
    assert_eq!(
        rest,
        [
            (Entity::Category, "3".to_owned(), false),
            (Entity::Customer, "C000004".to_owned(), false),
            (Entity::Product, "SKU-000007".to_owned(), true),
        ]
    );
}
