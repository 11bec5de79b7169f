#![allow(clippy::unwrap_used)]

use super::*;

const NOW: i64 = 1_700_000_000;
const BODY: &[u8] = br#"{"scope":"store/order/created","store_id":"1025646","data":{"type":"order","id":250},"hash":"dd70","created_at":1699999990,"producer":"stores/abc"}"#;

fn sign(key: &[u8], id: &str, ts: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

fn verify(secret: &[u8], ts: i64, body: &[u8], header: &str) -> Result<(), NotifyError> {
    verify_signature(secret, "msg_1", &ts.to_string(), body, header, NOW, 300)
}

#[test]
fn a_valid_signature_verifies() {
    let header = sign(b"client-secret", "msg_1", NOW, BODY);
    assert_eq!(verify(b"client-secret", NOW, BODY, &header), Ok(()));
}

#[test]
fn whsec_secrets_are_base64_decoded() {
    let key = b"\x01\x02raw key bytes";
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    );
    let header = sign(key, "msg_1", NOW, BODY);
    assert_eq!(verify(secret.as_bytes(), NOW, BODY, &header), Ok(()));
    assert_eq!(
        verify(b"whsec_%%%", NOW, BODY, &header),
        Err(NotifyError::BadSecret)
    );
}

#[test]
fn any_signature_may_match_while_secrets_rotate() {
    let old = sign(b"old-secret", "msg_1", NOW, BODY);
    let new = sign(b"new-secret", "msg_1", NOW, BODY);
    let header = format!("{old} {new}");
    assert_eq!(verify(b"new-secret", NOW, BODY, &header), Ok(()));
    assert_eq!(verify(b"old-secret", NOW, BODY, &header), Ok(()));
    assert_eq!(
        verify(b"other", NOW, BODY, &header),
        Err(NotifyError::BadSignature)
    );
}

#[test]
fn a_tampered_body_or_wrong_secret_fails() {
    let header = sign(b"client-secret", "msg_1", NOW, BODY);
    let mut tampered = BODY.to_vec();
    tampered[60] ^= 1;
    assert_eq!(
        verify(b"client-secret", NOW, &tampered, &header),
        Err(NotifyError::BadSignature)
    );
    assert_eq!(
        verify(b"wrong-secret", NOW, BODY, &header),
        Err(NotifyError::BadSignature)
    );
    // The id is signed too.
    assert_eq!(
        verify_signature(
            b"client-secret",
            "msg_2",
            &NOW.to_string(),
            BODY,
            &header,
            NOW,
            300
        ),
        Err(NotifyError::BadSignature)
    );
}

#[test]
fn stale_and_future_timestamps_fail() {
    let old = NOW - 301;
    let header = sign(b"s", "msg_1", old, BODY);
    assert_eq!(
        verify(b"s", old, BODY, &header),
        Err(NotifyError::Stale(301))
    );
    let ahead = NOW + 400;
    let header = sign(b"s", "msg_1", ahead, BODY);
    assert_eq!(
        verify(b"s", ahead, BODY, &header),
        Err(NotifyError::Future(400))
    );
    let edge = NOW - 300;
    assert_eq!(
        verify(b"s", edge, BODY, &sign(b"s", "msg_1", edge, BODY)),
        Ok(())
    );
    assert_eq!(
        verify_signature(b"s", "msg_1", "yesterday", BODY, "v1,AAAA", NOW, 300),
        Err(NotifyError::BadTimestamp("yesterday".into()))
    );
}

#[test]
fn missing_garbage_or_non_base64_headers_fail() {
    assert_eq!(verify(b"s", NOW, BODY, ""), Err(NotifyError::NoSignature));
    assert_eq!(
        verify(b"s", NOW, BODY, "garbage"),
        Err(NotifyError::NoSignature)
    );
    assert_eq!(
        verify(b"s", NOW, BODY, "v2,abcd v1"),
        Err(NotifyError::NoSignature)
    );
    assert_eq!(
        verify(b"s", NOW, BODY, "v1,!!!not-base64!!!"),
        Err(NotifyError::NoSignature)
    );
    assert_eq!(
        verify(b"s", NOW, BODY, "v1,AAAA"),
        Err(NotifyError::BadSignature)
    );
}

#[test]
fn payloads_parse_into_events() {
    let e = parse(BODY).unwrap();
    assert_eq!(
        e,
        WebhookEvent {
            scope: "store/order/created".into(),
            store_id: "1025646".into(),
            resource_id: "250".into(),
            hash: "dd70".into(),
            created_at: 1_699_999_990,
            entity: Some(Entity::Order),
        }
    );
    let e = parse(br#"{"scope":"store/shipment/created","store_id":1,"data":{"type":"shipment","id":"9","orderId":250},"hash":"h"}"#).unwrap();
    assert_eq!(
        (e.store_id.as_str(), e.resource_id.as_str(), e.entity),
        ("1", "9", Some(Entity::Shipment))
    );
}

#[test]
fn bad_payloads_are_refused_in_plain_words() {
    let truncated = &BODY[..40];
    assert!(matches!(parse(truncated), Err(NotifyError::NotJson(_))));
    assert_eq!(
        parse(br#"{"data":{"id":1},"hash":"h"}"#),
        Err(NotifyError::Missing("scope"))
    );
    assert_eq!(
        parse(br#"{"scope":"store/order/created","data":{"type":"order"},"hash":"h"}"#),
        Err(NotifyError::Missing("data.id"))
    );
    assert_eq!(
        parse(br#"{"scope":"store/order/created","data":{"id":1}}"#),
        Err(NotifyError::Missing("hash"))
    );
    assert!(matches!(
        parse(br#"{"scope":7,"data":{"id":1},"hash":"h"}"#),
        Err(NotifyError::WrongType { field: "scope", .. })
    ));
    assert!(matches!(
        parse(br#"{"scope":"s","data":{"id":-1},"hash":"h"}"#),
        Err(NotifyError::WrongType {
            field: "data.id",
            ..
        })
    ));
    assert!(matches!(
        parse(br#"{"scope":"s","data":[1],"hash":"h"}"#),
        Err(NotifyError::WrongType { field: "data", .. })
    ));
    assert!(matches!(
        parse(br#"{"scope":"s","data":{"id":1},"hash":"h","created_at":"noon"}"#),
        Err(NotifyError::WrongType {
            field: "created_at",
            ..
        })
    ));
    assert!(matches!(
        parse(b"[1,2]"),
        Err(NotifyError::WrongType { field: "body", .. })
    ));
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = parse(deep.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("not valid JSON"), "{e}");
}

#[test]
fn scopes_name_their_entities() {
    for (scope, entity) in [
        ("store/product/updated", Some(Entity::Product)),
        ("store/product/inventory/updated", None),
        ("store/category/deleted", Some(Entity::Category)),
        ("store/customer/created", Some(Entity::Customer)),
        ("store/order/archived", Some(Entity::Order)),
        ("store/order/statusUpdated", Some(Entity::OrderStatus)),
        ("store/shipment/updated", Some(Entity::Shipment)),
        ("store/cart/created", None),
        ("elsewhere/order/created", None),
        ("store/order", None),
    ] {
        assert_eq!(entity_of(scope), entity, "{scope}");
    }
}

#[test]
fn headers_match_in_constant_time_and_never_on_empty() {
    assert!(header_matches("s3cret", Some(b"s3cret")));
    assert!(!header_matches("s3cret", Some(b"s3creT")));
    assert!(!header_matches("s3cret", Some(b"s3cret!")));
    assert!(!header_matches("s3cret", None));
    assert!(!header_matches("", Some(b"")));
}
