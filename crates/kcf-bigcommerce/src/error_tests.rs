use serde_json::json;

use super::*;

fn classify(status: u16, body: Value) -> Error {
    Error::from_body(status, &body, "product", None)
}

#[test]
fn field_errors_read_in_plain_words() {
    let e = classify(
        422,
        json!({"status": 422, "title": "JSON data is missing or invalid",
               "errors": {"sku": "sku must be a string", "price": "price must not be negative"}}),
    );
    assert!(!e.is_retriable());
    assert_eq!(
        e.to_string(),
        "BigCommerce refused the product: price: price must not be negative; sku: sku must be a string"
    );
    assert_eq!(e.fields().len(), 2);
    let e = classify(
        400,
        json!([{"status": 400, "message": "The field 'x' is invalid."}]),
    );
    assert_eq!(
        e.to_string(),
        "BigCommerce refused the product: The field 'x' is invalid."
    );
}

#[test]
fn duplicates_are_conflicts() {
    let e = classify(
        409,
        json!({"status": 409, "title": "The product sku \"A\" is a duplicate."}),
    );
    assert!(matches!(e, Error::Conflict { .. }));
    let e = Error::from_body(
        422,
        &json!({"errors": {"0.email": "The email address a@b.c is already in use."}}),
        "customer",
        None,
    );
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    assert!(e.to_string().contains("email: The email address"), "{e}");
}

#[test]
fn statuses_classify_into_retriable_or_fatal() {
    for (status, retriable) in [
        (401, false),
        (403, false),
        (404, false),
        (413, false),
        (415, false),
        (500, true),
        (502, true),
        (503, true),
        (507, false),
    ] {
        let e = classify(status, Value::Null);
        assert_eq!(e.is_retriable(), retriable, "{status}: {e}");
    }
    let e = Error::from_body(503, &Value::Null, "product", Some(Duration::from_secs(7)));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    let e = Error::RateLimited {
        retry_after: Duration::from_millis(1500),
    };
    assert!(e.is_retriable());
    assert!(e.to_string().contains("1.5 s"), "{e}");
    let e = Error::Decode {
        action: "reading products".into(),
        message: "EOF".into(),
    };
    assert!(
        e.is_retriable() && e.is_unavailable(),
        "a cut-short answer is transient"
    );
    assert!(e.to_string().contains("reading products"), "{e}");
}

#[test]
fn retry_after_reads_seconds() {
    let mut h = HeaderMap::new();
    h.insert(RETRY_AFTER, reqwest::header::HeaderValue::from_static("3"));
    assert_eq!(retry_after_header(&h), Some(Duration::from_secs(3)));
    assert_eq!(retry_after_header(&HeaderMap::new()), None);
}
