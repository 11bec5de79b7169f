//! Category trees and customers against the emulator over real HTTP.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::Store;
use kcf_bigcommerce::{CategoryInput, CategoryQuery, CustomerInput, CustomerQuery, Error, mapping};
use kcf_domain::{
    Timestamp,
    records::{CategoryRecord, CustomerRecord},
};
use kcf_sandbox::SeedSize;

fn category(key: &str, name: &str) -> CategoryRecord {
    CategoryRecord {
        key: key.into(),
        parent_key: None,
        name: name.into(),
        sort_order: 2,
        modified_at: None,
    }
}

#[tokio::test]
async fn categories_are_created_under_parents_listed_and_renamed() {
    let s = Store::start(SeedSize::Empty).await;
    let tree = s.client.default_tree_id().await.unwrap();
    assert_eq!(tree, 1);
    let parent = s
        .client
        .create_category(&mapping::category_input(
            &category("KIT", "Kitchen"),
            0,
            tree,
        ))
        .await
        .unwrap();
    assert_eq!(
        (parent.name.as_str(), parent.parent_id, parent.tree_id),
        ("Kitchen", 0, tree)
    );
    let child = s
        .client
        .create_category(&mapping::category_input(
            &category("KET", "Kettles"),
            parent.category_id,
            tree,
        ))
        .await
        .unwrap();
    assert_eq!((child.parent_id, child.sort_order), (parent.category_id, 2));

    let children = s
        .client
        .categories(&CategoryQuery {
            parent_id: Some(parent.category_id),
            tree_id: Some(tree),
            ..CategoryQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(children.total, 1);
    assert_eq!(children.items[0].category_id, child.category_id);
    let by_name = s
        .client
        .categories(&CategoryQuery {
            name: Some("Kettles".into()),
            parent_id: Some(parent.category_id),
            ..CategoryQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(by_name.items.len(), 1);
    let all = s
        .client
        .categories(&CategoryQuery::default())
        .await
        .unwrap();
    assert_eq!(all.total, 2);

    let e = s
        .client
        .create_category(&mapping::category_input(
            &category("KET2", "kettles"),
            parent.category_id,
            tree,
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");

    let renamed = s
        .client
        .update_category(
            child.category_id,
            &CategoryInput {
                name: Some("Tea Kettles".into()),
                ..CategoryInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.parent_id),
        ("Tea Kettles", parent.category_id)
    );
    let e = s
        .client
        .update_category(9_999, &CategoryInput::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    let e = s
        .client
        .create_category(&CategoryInput {
            name: Some("x".repeat(51)),
            tree_id: Some(tree),
            ..CategoryInput::default()
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("name: name must be 1 to 50"), "{e}");
}

fn customer(email: &str) -> CustomerRecord {
    CustomerRecord {
        key: "C001".into(),
        email: email.into(),
        first_name: "Jane".into(),
        last_name: "Doe".into(),
        company: "Acme".into(),
        phone: "555-0100".into(),
        class: None,
        modified_at: None,
    }
}

#[tokio::test]
async fn customers_are_created_found_by_email_and_updated() {
    let s = Store::start(SeedSize::Small).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let from = Timestamp::now();
    let input = mapping::customer_input(&customer("jane.doe@example.com"));
    let created = s.client.create_customer(&input).await.unwrap();
    assert_eq!(
        (created.email.as_str(), created.company.as_str()),
        ("jane.doe@example.com", "Acme")
    );

    let e = s.client.create_customer(&input).await.unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    assert!(e.to_string().contains("already in use"), "{e}");
    let e = s
        .client
        .create_customer(&CustomerInput {
            email: "not-an-email".into(),
            ..input.clone()
        })
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e:?}");
    assert_eq!(e.fields()[0].0, "email");

    let found = s
        .client
        .customer_by_email("Jane.Doe@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, created.id);
    assert_eq!(
        s.client
            .customer_by_email("nobody@example.com")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.client.customer(created.id).await.unwrap().unwrap().email,
        "jane.doe@example.com"
    );
    assert_eq!(s.client.customer(9_999).await.unwrap(), None);

    let changed = s
        .client
        .update_customer(
            created.id,
            &CustomerInput {
                last_name: "Smith".into(),
                ..input.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.last_name, "Smith");
    let record = mapping::customer(&changed);
    assert_eq!(record.key, created.id.to_string());
    assert_eq!(record.display_name(), "Jane Smith");

    let recent = s
        .client
        .customers(&CustomerQuery {
            modified_min: Some(from),
            ..CustomerQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        recent.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        [created.id]
    );
    let seeded = s
        .client
        .customers(&CustomerQuery {
            ids: vec![1, 2],
            limit: 1,
            ..CustomerQuery::default()
        })
        .await
        .unwrap();
    assert_eq!((seeded.total, seeded.total_pages), (2, 2));
}
