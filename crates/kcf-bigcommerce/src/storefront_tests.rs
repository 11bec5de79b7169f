//! Unit tests of the BigCommerce adapter.
use std::time::Duration;

use super::*;

#[test]
fn client_errors_sort_into_what_the_worker_does() {
    let rate = Error::RateLimited {
        retry_after: Duration::from_secs(2),
    };
    assert_eq!(
        kind_of(&rate),
        ErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(2))
        }
    );
    let gone = Error::NotFound {
        message: "no product 5".into(),
    };
    assert_eq!(kind_of(&gone), ErrorKind::NotFound);
    let taken = Error::Conflict {
        message: "sku taken".into(),
    };
    assert_eq!(kind_of(&taken), ErrorKind::Conflict);
    assert_eq!(
        PlatformError::from(gone).words(),
        "BigCommerce: no product 5"
    );
}

#[test]
fn ids_are_numbers_and_statuses_are_bigcommerce_s() {
    let store =
        BigCommerceStore::new(BigCommerceConfig::sandbox("http://127.0.0.1:1")).expect("a client");
    assert!(store.check_id(Entity::Order, "112").is_ok());
    let refused = store.check_id(Entity::Order, "abc").unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Record);
    assert_eq!(refused.words(), "'abc' is not a store order id");
    assert!(store.is_status("11") && !store.is_status("Shipped"));
    assert_eq!(store.partially_shipped_status(), "3");
    assert_eq!(store.cancelled_status(), CANCELLED.to_string());
    assert_eq!(store.capabilities().write_batch, 10);
    let link = store.admin_link(Entity::Product, "7").unwrap_or_default();
    assert!(
        link.ends_with("/stores/sandbox/v3/catalog/products/7"),
        "{link}"
    );
}
