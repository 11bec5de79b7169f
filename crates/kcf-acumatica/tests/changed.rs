//! Listing changes in a window with keyset paging, over real HTTP.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use kcf_acumatica::{
    AcumaticaClient, AcumaticaConfig, ChangedQuery, ErpEntity, StockItem, mapping, model,
};
use kcf_domain::Timestamp;
use kcf_sandbox::{SeedSize, acumatica::AcumaticaConfig as Sandbox};
use serde_json::{Value, json};

/// Every page of a window, following the last key of each page.
async fn all_pages(
    client: &AcumaticaClient,
    entity: ErpEntity,
    mut query: ChangedQuery,
) -> (Vec<Value>, usize) {
    let mut records = Vec::new();
    let mut pages = 0;
    loop {
        let page = client.changed(entity, &query).await.unwrap();
        pages += 1;
        let full = page.len() == query.top as usize;
        query.after_key = page.last().and_then(|r| entity.key_of(r));
        records.extend(page);
        if !full {
            return (records, pages);
        }
    }
}

#[tokio::test]
async fn a_thousand_items_sharing_one_timestamp_page_through_exactly_once() {
    let erp = common::start(Sandbox::default(), SeedSize::Products(1000)).await;
    let client = AcumaticaClient::new(AcumaticaConfig::sandbox(erp.url())).unwrap();
    let now = Timestamp::now();
    let window = ChangedQuery {
        from: Some(now.minus(std::time::Duration::from_secs(3600))),
        to: Some(now.plus(std::time::Duration::from_secs(3600))),
        top: 100,
        ..ChangedQuery::default()
    };
    let (records, pages) = all_pages(&client, ErpEntity::StockItem, window.clone()).await;
    assert_eq!(records.len(), 1000);
    assert_eq!(pages, 11, "ten full pages and an empty one");
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut stamps = BTreeSet::new();
    for r in &records {
        *seen
            .entry(r["InventoryID"].as_str().unwrap().to_owned())
            .or_default() += 1;
        stamps.insert(r["LastModifiedDateTime"].as_str().unwrap().to_owned());
        assert!(r["Categories"].is_array(), "expanded as kcf reads it");
    }
    assert_eq!(seen.len(), 1000, "each item once");
    assert!(seen.values().all(|n| *n == 1));
    assert_eq!(
        stamps.len(),
        1,
        "all share one LastModifiedDateTime: {stamps:?}"
    );
    let keys: Vec<&String> = seen.keys().collect();
    let listed: Vec<&str> = records
        .iter()
        .map(|r| r["InventoryID"].as_str().unwrap())
        .collect();
    assert_eq!(listed, keys, "in key order");
    let item: StockItem = model::from_plain("StockItem", &records[0]).unwrap();
    assert_eq!(mapping::product(&item).sku, "SKU-000001");

    // [from, to): the shared instant is in a window that starts at it, not one that ends there.
    let at = model::parse_instant(stamps.first().unwrap()).unwrap();
    let ends_at = ChangedQuery {
        to: Some(at),
        from: None,
        ..window.clone()
    };
    assert!(
        client
            .changed(ErpEntity::StockItem, &ends_at)
            .await
            .unwrap()
            .is_empty()
    );
    let starts_at = ChangedQuery {
        from: Some(at),
        to: Some(Timestamp(at.0 + 1)),
        top: 1000,
        ..ChangedQuery::default()
    };
    assert_eq!(
        client
            .changed(ErpEntity::StockItem, &starts_at)
            .await
            .unwrap()
            .len(),
        1000
    );
}

#[tokio::test]
async fn numeric_keys_orders_and_selected_fields() {
    let (_erp, client) = common::erp().await;
    let (cats, _) = all_pages(
        &client,
        ErpEntity::ItemSalesCategory,
        ChangedQuery {
            top: 3,
            ..ChangedQuery::default()
        },
    )
    .await;
    let ids: Vec<i64> = cats
        .iter()
        .map(|c| c["CategoryID"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        (1..=10).collect::<Vec<_>>(),
        "CategoryID gt 9 is numeric, so 10 follows 9"
    );

    let before = Timestamp::now().minus(std::time::Duration::from_millis(5));
    let mut created = Vec::new();
    for n in 0..5 {
        let body = json!({ "CustomerID": "C000001", "ExternalRef": format!("BC-{n}"),
                           "Details": [ { "InventoryID": "SKU-000001", "OrderQty": 1 } ] });
        created.push(
            client
                .put_sales_order(&body, kcf_acumatica::Precondition::None)
                .await
                .unwrap()
                .order_nbr,
        );
    }
    let since = ChangedQuery {
        from: Some(before),
        top: 2,
        ..ChangedQuery::default()
    };
    let (orders, pages) = all_pages(&client, ErpEntity::SalesOrder, since).await;
    let nbrs: Vec<&str> = orders
        .iter()
        .map(|o| o["OrderNbr"].as_str().unwrap())
        .collect();
    // The seed's orders from other channels came first.
    assert_eq!(nbrs, created);
    assert_eq!(created[0], "000006");
    assert_eq!(pages, 3);
    assert_eq!(
        ErpEntity::SalesOrder.record_key(&orders[0]).unwrap(),
        format!("SO/{}", created[0])
    );
    assert!(orders[0]["Details"].is_array());

    let slim = ChangedQuery {
        select: Some(vec!["CustomerName".into(), "MainContact/Email".into()]),
        top: 5,
        ..ChangedQuery::default()
    };
    let customers = client.changed(ErpEntity::Customer, &slim).await.unwrap();
    assert_eq!(customers.len(), 5);
    let c = &customers[0];
    assert_eq!(c["CustomerID"], "C000001", "the key always comes");
    assert!(c["MainContact"]["Email"].is_string(), "{c}");
    assert!(
        c.get("CustomerClass").is_none(),
        "only what was selected: {c}"
    );
}
