//! The store's fixed lists that a merchant's mappings choose from: customer groups
//! (`/v2/customer_groups`), payment methods (`/v2/payments/methods`) and inventory locations
//! (`/v3/inventory/locations`), in BigCommerce's shapes.

use axum::Json;
use serde_json::{Value, json};

/// Customer groups: id and name (group 0, none, is not listed).
pub const CUSTOMER_GROUPS: &[(u64, &str)] = &[(1, "Retail"), (2, "Wholesale"), (3, "VIP")];

/// Payment methods: code and name.
pub const PAYMENT_METHODS: &[(&str, &str)] = &[
    ("braintree.credit_card", "Credit Card"),
    ("paypalcommerce.paypal", "PayPal"),
    ("cod", "Cash on Delivery"),
    ("cheque", "Check"),
];

/// Inventory locations: id, code and label.
pub const LOCATIONS: &[(u64, &str, &str)] = &[
    (1, "DEFAULT", "Default location"),
    (2, "WEST", "West warehouse"),
];

/// `GET /v2/customer_groups`.
pub(super) async fn customer_groups() -> Json<Value> {
    Json(Value::Array(
        CUSTOMER_GROUPS
            .iter()
            .map(|(id, name)| json!({ "id": id, "name": name, "is_default": false, "category_access": { "type": "all" }, "discount_rules": [] }))
            .collect(),
    ))
}

/// `GET /v2/payments/methods`.
pub(super) async fn payment_methods() -> Json<Value> {
    Json(Value::Array(
        PAYMENT_METHODS
            .iter()
            .map(|(code, name)| json!({ "code": code, "name": name, "test_mode": true }))
            .collect(),
    ))
}

/// `GET /v3/inventory/locations`.
pub(super) async fn locations() -> Json<Value> {
    let data: Vec<Value> = LOCATIONS
        .iter()
        .map(|(id, code, label)| json!({ "id": id, "code": code, "label": label, "enabled": true, "type_id": "PHYSICAL" }))
        .collect();
    let n = data.len();
    Json(
        json!({ "data": data, "meta": { "pagination": { "total": n, "count": n, "per_page": 50, "current_page": 1, "total_pages": 1 } } }),
    )
}
