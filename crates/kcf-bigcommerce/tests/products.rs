//! Products against the emulator over real HTTP.

#![allow(clippy::unwrap_used)]

mod common;

use std::{collections::BTreeSet, time::Duration};

use common::Store;
use kcf_bigcommerce::{Error, ProductInput, ProductQuery};
use kcf_domain::Timestamp;
use kcf_sandbox::SeedSize;

const BATCH_ROUTE: &str = "PUT /stores/{hash}/v3/catalog/products";
const ONE_ROUTE: &str = "PUT /stores/{hash}/v3/catalog/products/{id}";

fn input(name: &str, sku: &str, price: f64) -> ProductInput {
    ProductInput {
        name: name.into(),
        kind: "physical".into(),
        sku: sku.into(),
        price: Some(price),
        weight: Some(1.5),
        ..ProductInput::default()
    }
}

#[tokio::test]
async fn products_are_created_found_by_sku_and_updated() {
    let s = Store::start(SeedSize::Empty).await;
    s.client.test_connection().await.unwrap();
    let created = s
        .client
        .create_product(&input("Red Kettle", "KET-1", 19.99))
        .await
        .unwrap();
    assert_eq!(
        (created.name.as_str(), created.sku.as_str(), created.price),
        ("Red Kettle", "KET-1", 19.99)
    );
    assert_eq!(created.kind, "physical");
    assert!(created.modified_at().is_some());

    let e = s
        .client
        .create_product(&input("Blue Kettle", "KET-1", 5.0))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    assert!(!e.is_retriable());
    assert!(e.to_string().contains("KET-1"), "{e}");

    let e = s
        .client
        .create_product(&ProductInput {
            name: "No Price".into(),
            ..ProductInput::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e:?}");
    assert!(
        e.fields().iter().any(|(f, _)| f == "price"),
        "{:?}",
        e.fields()
    );
    assert!(
        e.to_string()
            .starts_with("BigCommerce refused the product: "),
        "{e}"
    );

    let found = s.client.product_by_sku("KET-1").await.unwrap().unwrap();
    assert_eq!(found.id, created.id);
    assert_eq!(s.client.product_by_sku("NOPE").await.unwrap(), None);

    let updated = s
        .client
        .update_product(
            created.id,
            &ProductInput {
                price: Some(24.5),
                categories: vec![],
                ..ProductInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((updated.price, updated.name.as_str()), (24.5, "Red Kettle"));
    let e = s
        .client
        .update_product(9_999, &ProductInput::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn a_modification_window_is_walked_page_by_page() {
    let s = Store::start(SeedSize::Small).await;
    // BigCommerce keeps whole seconds: step past the seed's second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let from = Timestamp::now();
    let mut created = BTreeSet::new();
    for i in 0..5 {
        let p = s
            .client
            .create_product(&input(&format!("Window {i}"), &format!("WIN-{i}"), 1.0))
            .await
            .unwrap();
        created.insert(p.id);
    }
    let mut q = ProductQuery {
        modified_min: Some(from),
        modified_max: Some(Timestamp::now().plus(Duration::from_secs(60))),
        limit: 2,
        ..ProductQuery::default()
    };
    let mut seen = BTreeSet::new();
    loop {
        let page = s.client.products(&q).await.unwrap();
        assert_eq!((page.total, page.total_pages), (5, 3));
        assert_eq!(page.current_page, q.page);
        seen.extend(page.items.iter().map(|p| p.id));
        if !page.has_more() {
            break;
        }
        q.page += 1;
    }
    assert_eq!(q.page, 3);
    assert_eq!(seen, created);

    let before = s
        .client
        .products(&ProductQuery {
            modified_max: Some(from.minus(Duration::from_secs(1))),
            ..ProductQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(before.total, 50, "only the seed is older");

    let by_sku = s
        .client
        .products(&ProductQuery {
            skus: vec!["WIN-1".into(), "WIN-3".into()],
            ..ProductQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(by_sku.items.len(), 2);
    let by_id = s
        .client
        .products(&ProductQuery {
            ids: vec![1, 2, 3],
            ..ProductQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_id.items.iter().map(|p| p.id).collect::<Vec<_>>(),
        [1, 2, 3]
    );
}

#[tokio::test]
async fn a_batch_of_23_takes_three_requests_and_answers_per_item() {
    let s = Store::start(SeedSize::Small).await;
    let page = s
        .client
        .products(&ProductQuery {
            limit: 23,
            ..ProductQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 23);
    let items: Vec<(u64, ProductInput)> = page
        .items
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let price = if i == 14 { -5.0 } else { p.price + 1.0 };
            (
                p.id,
                ProductInput {
                    price: Some(price),
                    ..ProductInput::default()
                },
            )
        })
        .collect();
    let results = s.client.update_products(&items).await.unwrap();
    assert_eq!(results.len(), 23);
    assert_eq!(s.per_route(BATCH_ROUTE).await, 3);
    for (i, (result, before)) in results.iter().zip(&page.items).enumerate() {
        if i == 14 {
            let e = result.as_ref().unwrap_err();
            assert!(matches!(e, Error::Invalid { .. }), "{e:?}");
            assert_eq!(e.fields()[0].0, "price");
        } else {
            let p = result.as_ref().unwrap();
            assert_eq!((p.id, p.price), (before.id, before.price + 1.0));
        }
    }
}

#[tokio::test]
async fn a_wholly_refused_batch_is_retried_item_by_item() {
    let s = Store::start(SeedSize::Small).await;
    let items = vec![
        (9_999, input("Ghost", "GHOST", 1.0)),
        (
            1,
            ProductInput {
                price: Some(-1.0),
                ..ProductInput::default()
            },
        ),
    ];
    let results = s.client.update_products(&items).await.unwrap();
    assert!(
        matches!(results[0], Err(Error::NotFound { .. })),
        "{results:?}"
    );
    assert!(
        matches!(results[1], Err(Error::Invalid { .. })),
        "{results:?}"
    );
    assert_eq!(s.per_route(BATCH_ROUTE).await, 1);
    assert_eq!(s.per_route(ONE_ROUTE).await, 2);
    assert!(s.client.update_products(&[]).await.unwrap().is_empty());
}
