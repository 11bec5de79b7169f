#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;

fn body(v: Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

fn notification(inserted: Value, deleted: Value) -> Vec<u8> {
    body(json!({
        "Inserted": inserted, "Deleted": deleted, "Query": "Stock Items: Last Modified Date",
        "CompanyId": "MyTenant", "Id": "1af4d140-5321-41f2-a2ec-50b67f577c6c",
        "TimeStamp": 636295833829493672i64, "AdditionalInfo": {}
    }))
}

#[test]
fn parses_the_documented_example() {
    let n = parse(&notification(
        json!([{ "InventoryID": "AACOMPUT01", "StockItem": true, "ItemStatus": "Inactive",
                 "InventoryItem_lastModifiedDateTime": "2024-05-05T15:16:23.1" }]),
        json!([{ "InventoryID": "AACOMPUT01", "StockItem": true, "ItemStatus": "Active" }]),
    ))
    .unwrap();
    assert_eq!(n.id, "1af4d140-5321-41f2-a2ec-50b67f577c6c");
    assert_eq!(n.query, "Stock Items: Last Modified Date");
    assert_eq!(
        (n.company_id.as_str(), n.timestamp),
        ("MyTenant", 636295833829493672)
    );
    let changes = n.changes().unwrap();
    assert_eq!(changes.len(), 1, "an update is one change");
    let c = &changes[0];
    assert_eq!(
        (c.entity, c.record_key.as_str(), c.deleted),
        (Entity::Product, "AACOMPUT01", false)
    );
    assert_eq!(c.row["ItemStatus"], "Inactive", "the new row");
    assert_eq!(
        c.dedup_key,
        "1af4d140-5321-41f2-a2ec-50b67f577c6c:Stock Items: Last Modified Date:AACOMPUT01"
    );
}

#[test]
fn entities_come_from_key_columns() {
    let n = parse(&notification(
        json!([
            { "ShipmentNbr": "000004", "CustomerID": "C1" },
            { "OrderNbr": "000010", "CustomerID": "C1", "InventoryID": "A" },
            { "OrderType": "RO", "OrderNbr": "000011" },
            { "categoryid": 7, "ParentCategoryID": 1 },
            { "CustomerID": "C1", "Email": "x@y.z" },
            { "InventoryID": "B", "CategoryID": 3 }
        ]),
        json!([{ "CustomerID": "GONE" }]),
    ))
    .unwrap();
    let got: Vec<(Entity, String, bool)> = n
        .changes()
        .unwrap()
        .into_iter()
        .map(|c| (c.entity, c.record_key, c.deleted))
        .collect();
    assert_eq!(
        got,
        [
            (Entity::Customer, "GONE".into(), true),
            (Entity::Shipment, "000004".into(), false),
            (Entity::OrderStatus, "SO/000010".into(), false),
            (Entity::OrderStatus, "RO/000011".into(), false),
            (Entity::Category, "7".into(), false),
            (Entity::Customer, "C1".into(), false),
            (Entity::Product, "B".into(), false),
        ]
    );
}

#[test]
fn refuses_what_it_cannot_use_in_plain_words() {
    let err = |b: &[u8]| parse(b).unwrap_err().to_string();
    assert!(err(b"{\"Inserted\": [{\"InventoryID\": \"A\"").starts_with("the body is not JSON: "));
    assert!(err(b"").starts_with("the body is not JSON"));
    assert_eq!(err(b"[1, 2]"), "the body is not a JSON object");
    assert_eq!(err(&body(json!({ "Query": "Q" }))), "'Id' is missing");
    assert_eq!(
        err(&body(json!({ "Id": "1", "Query": "  " }))),
        "'Query' is missing"
    );
    assert_eq!(
        err(&body(json!({ "Id": 5, "Query": "Q" }))),
        "'Id' must be text"
    );
    assert_eq!(
        err(&body(json!({ "Id": "1", "Query": "Q", "Inserted": "row" }))),
        "'Inserted' must be a list of rows"
    );
    assert_eq!(
        err(&body(json!({ "Id": "1", "Query": "Q", "Deleted": [1] }))),
        "'Deleted' must hold objects (rows)"
    );
    assert_eq!(
        err(&body(
            json!({ "Id": "1", "Query": "Q", "TimeStamp": "soon" })
        )),
        "'TimeStamp' must be a number"
    );
    assert!(err(br#"{"Id": "1", "Query": "Q", "TimeStamp": 1e300}"#).contains("64 bits"));
    assert!(
        err(br#"{"Id": "1", "Query": "Q", "TimeStamp": 99999999999999999999999}"#)
            .contains("64 bits")
    );
    let keyless = parse(&body(
        json!({ "Id": "1", "Query": "Q", "Inserted": [{ "Description": "x" }] }),
    ))
    .unwrap();
    assert_eq!(
        keyless.changes().unwrap_err().to_string(),
        "a row has no key column (InventoryID, TemplateItemID, CategoryID, CustomerID, OrderNbr or ShipmentNbr)"
    );
    let blank_key = parse(&body(
        json!({ "Id": "1", "Query": "Q", "Inserted": [{ "InventoryID": "" }] }),
    ))
    .unwrap();
    assert_eq!(blank_key.changes().unwrap_err(), NotifyError::NoKey);
}

#[test]
fn empty_and_odd_but_usable_bodies() {
    let n = parse(&body(
        json!({ "Id": "1", "Query": "Q", "Inserted": [], "Deleted": [] }),
    ))
    .unwrap();
    assert!(n.changes().unwrap().is_empty());
    let n = parse(&body(json!({ "Id": "1", "Query": "Q" }))).unwrap();
    assert_eq!(
        (
            n.timestamp,
            n.company_id.as_str(),
            n.changes().unwrap().len()
        ),
        (0, "", 0)
    );
    let big =
        parse(br#"{"Id": "1", "Query": "Q", "Inserted": [{"CategoryID": 18446744073709551615}]}"#)
            .unwrap();
    assert_eq!(big.changes().unwrap()[0].record_key, "18446744073709551615");
    let huge =
        parse(br#"{"Id": "1", "Query": "Q", "Inserted": [{"CategoryID": 18446744073709551616}]}"#)
            .unwrap();
    assert_eq!(
        huge.changes().unwrap_err(),
        NotifyError::NoKey,
        "not a whole number any more"
    );
    let fraction =
        parse(br#"{"Id": "1", "Query": "Q", "Inserted": [{"CategoryID": 1.5}]}"#).unwrap();
    assert_eq!(fraction.changes().unwrap_err(), NotifyError::NoKey);
    let negative = parse(br#"{"Id": "1", "Query": "Q", "TimeStamp": -5}"#).unwrap();
    assert_eq!(negative.timestamp, -5);
    for cut in 0..60 {
        let full = notification(json!([{ "InventoryID": "A" }]), json!([]));
        let _ = parse(&full[..cut.min(full.len())]);
    }
}

#[test]
fn headers_compare_exactly() {
    assert!(header_matches("s3cret", Some(b"s3cret")));
    assert!(!header_matches("s3cret", Some(b"s3cre")));
    assert!(!header_matches("s3cret", Some(b"s3cret!")));
    assert!(!header_matches("s3cret", Some(b"S3cret")));
    assert!(!header_matches("s3cret", None));
    assert!(!header_matches("", Some(b"")));
}
