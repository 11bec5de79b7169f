//! BigCommerce webhooks coming in: the light payload (`scope`, `data.id`, `hash`…), which
//! entity it concerns, and its authenticity: the Standard Webhooks signature
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature`) and the custom header set when
//! the hook was registered.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use kcf_domain::Entity;
use serde_json::Value;
use sha2::Sha256;

/// One webhook call, parsed. BigCommerce sends only ids: read the record afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// `store/order/created`…
    pub scope: String,
    /// The store's numeric id, as text.
    pub store_id: String,
    /// `data.id`: the product, category, customer, order or shipment id.
    pub resource_id: String,
    /// BigCommerce's hash of the payload; the same event delivered twice has the same hash.
    pub hash: String,
    /// When the event happened (Unix seconds).
    pub created_at: i64,
    /// What the scope concerns, if it is one kcf syncs.
    pub entity: Option<Entity>,
}

/// A webhook call kcf will not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// The body is not JSON (or is nested absurdly deep).
    #[error("the webhook body is not valid JSON: {0}")]
    NotJson(String),
    /// A required field is absent.
    #[error("the webhook payload has no {0}")]
    Missing(&'static str),
    /// A field has the wrong type.
    #[error("the webhook payload's {field} should be {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// No `webhook-signature`, or no `v1` signature in it.
    #[error("the webhook carries no usable signature (webhook-signature header)")]
    NoSignature,
    /// No signature matches: another secret, or a changed body.
    #[error("the webhook signature does not match; check the app's client secret")]
    BadSignature,
    /// `webhook-timestamp` is not a number.
    #[error("the webhook timestamp '{0}' is not a number of seconds")]
    BadTimestamp(String),
    /// Signed too long ago (a replay, or a badly delayed delivery).
    #[error("the webhook was signed {0} s ago, longer than kcf accepts")]
    Stale(i64),
    /// Signed in the future (a clock is wrong).
    #[error("the webhook was signed {0} s in the future; check the server's clock")]
    Future(i64),
    /// A `whsec_` secret that is not base64.
    #[error("the webhook secret starts with whsec_ but the rest is not base64")]
    BadSecret,
}

/// Reads a webhook body.
pub fn parse(body: &[u8]) -> Result<WebhookEvent, NotifyError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| NotifyError::NotJson(e.to_string()))?;
    if !v.is_object() {
        return Err(NotifyError::WrongType {
            field: "body",
            expected: "a JSON object",
        });
    }
    let scope = required_str(&v, "scope")?;
    let hash = required_str(&v, "hash")?;
    let data = match v.get("data") {
        None | Some(Value::Null) => return Err(NotifyError::Missing("data")),
        Some(d) if d.is_object() => d,
        Some(_) => {
            return Err(NotifyError::WrongType {
                field: "data",
                expected: "an object",
            });
        }
    };
    let resource_id = match data.get("id") {
        None | Some(Value::Null) => return Err(NotifyError::Missing("data.id")),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(_) => {
            return Err(NotifyError::WrongType {
                field: "data.id",
                expected: "a positive number",
            });
        }
    };
    let store_id = match v.get("store_id") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => {
            return Err(NotifyError::WrongType {
                field: "store_id",
                expected: "text or a number",
            });
        }
    };
    let created_at = match v.get("created_at") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n.as_i64().ok_or(NotifyError::WrongType {
            field: "created_at",
            expected: "a whole number of seconds",
        })?,
        Some(_) => {
            return Err(NotifyError::WrongType {
                field: "created_at",
                expected: "a whole number of seconds",
            });
        }
    };
    Ok(WebhookEvent {
        entity: entity_of(&scope),
        scope,
        store_id,
        resource_id,
        hash,
        created_at,
    })
}

fn required_str(v: &Value, field: &'static str) -> Result<String, NotifyError> {
    match v.get(field) {
        None | Some(Value::Null) => Err(NotifyError::Missing(field)),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(NotifyError::Missing(field)),
        Some(_) => Err(NotifyError::WrongType {
            field,
            expected: "text",
        }),
    }
}

/// The entity a scope concerns: `store/product/*` products, `store/category/*` categories,
/// `store/customer/*` customers, order creation, change and archiving orders, status changes
/// order statuses, `store/shipment/*` shipments. Other scopes (inventory, carts…) none.
pub fn entity_of(scope: &str) -> Option<Entity> {
    let mut parts = scope.split('/');
    if parts.next() != Some("store") {
        return None;
    }
    let kind = parts.next()?;
    let what = parts.next()?;
    if parts.next().is_some() {
        // `store/product/inventory/updated` and the like: stock, not the product record.
        return None;
    }
    match (kind, what) {
        ("product", "created" | "updated" | "deleted" | "*") => Some(Entity::Product),
        ("category", "created" | "updated" | "deleted" | "*") => Some(Entity::Category),
        ("customer", "created" | "updated" | "deleted" | "*") => Some(Entity::Customer),
        ("order", "created" | "updated" | "archived" | "*") => Some(Entity::Order),
        ("order", "statusUpdated") => Some(Entity::OrderStatus),
        ("shipment", "created" | "updated" | "deleted" | "*") => Some(Entity::Shipment),
        _ => None,
    }
}

/// The HMAC key: a Standard Webhooks secret (`whsec_<base64>`) decoded, anything else (such
/// as BigCommerce's app client secret) as its bytes.
fn signing_key(secret: &[u8]) -> Result<Vec<u8>, NotifyError> {
    match secret.strip_prefix(b"whsec_") {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| NotifyError::BadSecret),
        None => Ok(secret.to_vec()),
    }
}

/// Checks a Standard Webhooks signature: HMAC-SHA256 over `"{id}.{timestamp}.{body}"`, sent
/// as space-separated `v1,<base64>` entries (any may match, so secrets can rotate), with the
/// timestamp within `tolerance_secs` of `now_secs`. Compares in constant time.
pub fn verify_signature(
    secret: &[u8],
    webhook_id: &str,
    timestamp: &str,
    body: &[u8],
    signature_header: &str,
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<(), NotifyError> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| NotifyError::BadTimestamp(timestamp.to_owned()))?;
    let age = now_secs.saturating_sub(ts);
    if age > tolerance_secs {
        return Err(NotifyError::Stale(age));
    }
    if -age > tolerance_secs {
        return Err(NotifyError::Future(-age));
    }
    let key = signing_key(secret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| NotifyError::BadSecret)?;
    mac.update(webhook_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.trim().as_bytes());
    mac.update(b".");
    mac.update(body);
    let mut any = false;
    for entry in signature_header.split_whitespace() {
        let Some(encoded) = entry.strip_prefix("v1,") else {
            continue;
        };
        let Ok(signature) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
            continue;
        };
        any = true;
        if mac.clone().verify_slice(&signature).is_ok() {
            return Ok(());
        }
    }
    Err(if any {
        NotifyError::BadSignature
    } else {
        NotifyError::NoSignature
    })
}

/// Whether a header carries the expected shared secret, compared in constant time. An empty
/// `expected` never matches: a missing secret must not open the door.
pub use kcf_platform::header_matches;

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;
