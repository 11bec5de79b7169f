#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;

#[test]
fn reading_tolerates_nulls_unknown_fields_and_number_strings() {
    let o: Order = serde_json::from_value(json!({
        "id": 7, "customer_id": 0, "status_id": 11, "total_inc_tax": "225.0000",
        "external_id": null, "billing_address": {"first_name": "A", "street_2": null},
        "something_new": {"x": 1}, "date_modified": "Tue, 20 Nov 2012 00:00:00 +0000"
    }))
    .unwrap();
    assert_eq!(o.total_inc_tax, "225.0000");
    assert_eq!(o.billing_address.street_2, "");
    assert_eq!(o.modified_at(), Some(Timestamp(1_353_369_600_000)));
    let p: Product =
        serde_json::from_value(json!({"id": 1, "name": null, "price": 12, "type": "physical"}))
            .unwrap();
    assert_eq!(
        (p.name.as_str(), p.price, p.kind.as_str()),
        ("", 12.0, "physical")
    );
    let c: Category = serde_json::from_value(json!({"id": 4, "name": "Legacy"})).unwrap();
    assert_eq!(c.category_id, 4);
}

#[test]
fn inputs_leave_out_what_is_not_set() {
    let v = serde_json::to_value(ProductInput {
        price: Some(1.5),
        ..ProductInput::default()
    })
    .unwrap();
    assert_eq!(v, json!({"price": 1.5}));
    let v = serde_json::to_value(ShipmentInput::default()).unwrap();
    assert_eq!(
        v,
        json!({"order_address_id": 0, "items": [], "shipping_provider": ""})
    );
}

#[test]
fn dates_round_trip_in_both_formats() {
    let t = parse_date("2024-01-02T03:04:05+00:00").unwrap();
    assert_eq!(t, Timestamp(1_704_164_645_000));
    assert_eq!(
        format_date(Timestamp(1_704_164_645_999)),
        "2024-01-02T03:04:05+00:00"
    );
    assert_eq!(parse_date(""), None);
    assert_eq!(parse_date("soon"), None);
}
