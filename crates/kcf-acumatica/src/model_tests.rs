#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;

#[test]
fn reads_plain_records_tolerantly() {
    let item: StockItem = from_plain(
        "StockItem",
        &json!({
            "id": "n1", "InventoryID": "AACOMPUT01", "Description": null, "DefaultPrice": 1200,
            "Categories": [ { "id": "c", "CategoryID": 5 } ], "Unknown": { "x": 1 },
            "LastModifiedDateTime": "2024-05-05T15:16:23.103+00:00"
        }),
    )
    .unwrap();
    assert_eq!(item.inventory_id, "AACOMPUT01");
    assert_eq!(item.description, "");
    assert_eq!(item.default_price, Some(1200.0));
    assert_eq!(item.categories[0].category_id, 5);
    assert_eq!(
        item.last_modified_date_time,
        Some(Timestamp(1_714_922_183_103))
    );
    let empty: SalesOrder = from_plain("SalesOrder", &json!({})).unwrap();
    assert!(empty.details.is_empty() && empty.last_modified.is_none());
    let bad = from_plain::<StockItem>("StockItem", &json!({ "DefaultPrice": "cheap" }));
    assert!(matches!(bad, Err(Error::Decode(m)) if m.contains("StockItem")));
}

#[test]
fn instants_with_or_without_offsets() {
    assert_eq!(
        parse_instant("2024-05-05T18:16:23.103+03:00"),
        Some(Timestamp(1_714_922_183_103))
    );
    assert_eq!(
        parse_instant("2024-05-05T15:16:23.103"),
        Some(Timestamp(1_714_922_183_103))
    );
    assert_eq!(parse_instant("yesterday"), None);
    assert_eq!(
        format_instant(Timestamp(1_714_922_183_103)).unwrap(),
        "2024-05-05T15:16:23.103+00:00"
    );
}
