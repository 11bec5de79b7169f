//! Reading and writing records over real HTTP against the emulator.

#![allow(clippy::unwrap_used)]

mod common;

use kcf_acumatica::{Error, Precondition, mapping};
use kcf_domain::records::{AddressRecord, OrderLineRecord, OrderRecord};
use serde_json::json;

#[tokio::test]
async fn stock_items_by_key_with_categories() {
    let (_erp, client) = common::erp().await;
    let item = client.stock_item("SKU-000003").await.unwrap().unwrap();
    assert_eq!(item.inventory_id, "SKU-000003");
    assert!(!item.description.is_empty());
    assert!(item.default_price.unwrap() > 0.0);
    assert_eq!(item.categories.len(), 1, "expanded: {item:?}");
    assert!(item.last_modified_date_time.is_some());
    assert!(item.id.as_deref().is_some_and(|id| id.len() == 36));
    let product = mapping::product(&item);
    assert_eq!(
        product.category_keys,
        [item.categories[0].category_id.to_string()]
    );
    assert!(client.stock_item("NO-SUCH-SKU").await.unwrap().is_none());
    assert!(
        client.stock_item("sku-000003").await.unwrap().is_some(),
        "keys ignore case"
    );

    let odd = client
        .put_stock_item(
            &json!({ "InventoryID": "A/B|C", "Description": "Slashed", "DefaultPrice": 3.5,
                                 "Categories": [ { "CategoryID": 2 } ] }),
        )
        .await
        .unwrap();
    assert_eq!(
        (odd.inventory_id.as_str(), odd.categories.len()),
        ("A/B|C", 1)
    );
    let found = client.stock_item("A/B|C").await.unwrap().unwrap();
    assert_eq!(
        found.description, "Slashed",
        "keys that cannot be a path go through $filter"
    );
    let bad = client
        .put_stock_item(&json!({ "InventoryID": "X", "DefaultPrice": "cheap" }))
        .await
        .unwrap_err();
    assert!(
        matches!(bad, Error::Validation { .. }) && !bad.is_retriable(),
        "{bad:?}"
    );
    assert!(
        bad.to_string()
            .starts_with("Acumatica refused the StockItem: DefaultPrice: "),
        "{bad}"
    );
}

#[tokio::test]
async fn sales_categories() {
    let (_erp, client) = common::erp().await;
    let c = client.item_sales_category("4").await.unwrap().unwrap();
    assert_eq!(c.category_id, 4);
    let created = client
        .put_item_sales_category(&json!({ "Description": "Clearance", "ParentCategoryID": 1 }))
        .await
        .unwrap();
    assert_eq!(created.category_id, 11, "numbered by Acumatica");
    let record = mapping::category(&created);
    assert_eq!(
        (record.key.as_str(), record.parent_key.as_deref()),
        ("11", Some("1"))
    );
    assert!(client.item_sales_category("999").await.unwrap().is_none());
    assert!(matches!(
        client.item_sales_category("x").await,
        Err(Error::Invalid(_))
    ));
}

#[tokio::test]
async fn customers_by_key_and_email_and_written_with_preconditions() {
    let (_erp, client) = common::erp().await;
    let c = client.customer("C000001").await.unwrap().unwrap();
    let email = c.main_contact.as_ref().unwrap().email.clone();
    let found = client
        .customer_by_email(&email.to_uppercase())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.customer_id, "C000001");
    assert!(
        client
            .customer_by_email("o'brien@example.com")
            .await
            .unwrap()
            .is_none(),
        "quotes are escaped"
    );

    let mut record = mapping::customer(&c);
    record.email = "jane.doe@example.com".into();
    record.first_name = "Jane".into();
    record.last_name = "Doe".into();
    record.phone = "+47 1234 5678".into();
    let id = mapping::new_customer_id(&record);
    assert_eq!(id, "JANEDOEEXAMPLECOM");
    let body = mapping::customer_body(&id, &record, Some("DEFAULT"));
    let created = client
        .put_customer(&body, Precondition::MustNotExist)
        .await
        .unwrap();
    assert_eq!(created.customer_name, "Jane Doe");
    let back = mapping::customer(&created);
    assert_eq!(
        (back.email.as_str(), back.phone.as_str()),
        ("jane.doe@example.com", "+47 1234 5678")
    );
    let again = client
        .put_customer(&body, Precondition::MustNotExist)
        .await
        .unwrap_err();
    assert_eq!(again.status(), Some(412), "{again:?}");
    assert!(!again.is_retriable());
    let retry_id = mapping::customer_id_with_suffix(&id, 2);
    let other = mapping::customer_body(&retry_id, &record, None);
    assert_eq!(
        client
            .put_customer(&other, Precondition::MustNotExist)
            .await
            .unwrap()
            .customer_id,
        "JANEDOEEXAMPLECOM2"
    );
    let missing = mapping::customer_body("NOBODY", &record, None);
    let e = client
        .put_customer(&missing, Precondition::MustExist)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(412));
    let renamed = json!({ "CustomerID": id, "CustomerName": "Jane Q. Doe" });
    let updated = client
        .put_customer(&renamed, Precondition::MustExist)
        .await
        .unwrap();
    assert_eq!(updated.customer_name, "Jane Q. Doe");
    assert_eq!(
        updated.main_contact.unwrap().email,
        "jane.doe@example.com",
        "only sent fields change"
    );
}

fn order(external_id: &str, skus: &[(&str, f64)]) -> OrderRecord {
    let address = AddressRecord {
        first_name: "Jane".into(),
        last_name: "Doe".into(),
        line1: "1 Main St".into(),
        city: "Oslo".into(),
        country: "NO".into(),
        ..AddressRecord::default()
    };
    OrderRecord {
        external_id: external_id.into(),
        customer_external_id: None,
        email: "jane@example.com".into(),
        status_id: 11,
        status: "Awaiting Fulfillment".into(),
        currency: "USD".into(),
        total: 0.0,
        payment_method: String::new(),
        shipping_method: String::new(),
        billing: address.clone(),
        shipping: Some(address),
        lines: skus
            .iter()
            .enumerate()
            .map(|(n, (sku, qty))| OrderLineRecord {
                external_id: n.to_string(),
                sku: (*sku).into(),
                name: format!("Line {n}"),
                quantity: *qty,
                unit_price: 10.0,
            })
            .collect(),
        created_at: Some(kcf_domain::Timestamp::now()),
        modified_at: None,
    }
}

#[tokio::test]
async fn sales_orders_refused_in_plain_words_then_created_and_found_by_external_ref() {
    let (_erp, client) = common::erp().await;
    let bad = mapping::sales_order_body(&order("109", &[("XYZ", 1.0)]), "NOBODY", None, None);
    let e = client
        .put_sales_order(&bad, Precondition::MustNotExist)
        .await
        .unwrap_err();
    assert!(!e.is_retriable());
    assert_eq!(
        e.to_string(),
        "Acumatica refused the SalesOrder: CustomerID: 'Customer' cannot be found in the system.; \
         Details.InventoryID: 'Inventory ID' XYZ cannot be found in the system."
    );
    let Error::Validation { entity, fields } = e else {
        unreachable!()
    };
    assert_eq!((entity.as_str(), fields.len()), ("SalesOrder", 2));

    let body = mapping::sales_order_body(
        &order("110", &[("SKU-000001", 2.0), ("SKU-000002", 1.0)]),
        "C000002",
        Some("CASH"),
        Some("FLAT"),
    );
    let created = client
        .put_sales_order(&body, Precondition::None)
        .await
        .unwrap();
    assert_eq!(
        (created.order_type.as_str(), created.status.as_str()),
        ("SO", "Open")
    );
    assert_eq!(created.details.len(), 2);
    assert_eq!(created.order_total, Some(30.0));
    let found = client
        .sales_order_by_external_ref("110")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.order_nbr, created.order_nbr);
    assert_eq!(found.customer_order, "110");
    assert_eq!(found.description, "BigCommerce order #110");
    let by_key = client
        .sales_order("SO", &created.order_nbr)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_key.details[0].inventory_id, "SKU-000001");
    assert!(
        client
            .sales_order_by_external_ref("111")
            .await
            .unwrap()
            .is_none()
    );
    assert!(client.sales_order("SO", "999999").await.unwrap().is_none());
    let status = mapping::order_status(&by_key);
    assert_eq!(
        (status.external_id.as_deref(), status.partially_shipped),
        (Some("110"), false)
    );
}
