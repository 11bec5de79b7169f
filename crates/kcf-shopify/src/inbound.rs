//! Shopify webhooks as kcf's store inbound: `X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of
//! the raw body with the app's client secret) checked in constant time on the raw bytes;
//! then one change, deduplicated on `X-Shopify-Webhook-Id` (the same for every retry of one
//! event).

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use kcf_domain::Entity;
use kcf_platform::{Change, Headers, Inbound, IngressSecrets, Notification};

/// The webhook receiver.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookReceiver;

fn text(headers: Headers<'_>, name: &str) -> Option<String> {
    headers(name)
        .and_then(|v| String::from_utf8(v).ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether `signature` (base64) is the HMAC-SHA256 of `body` with `secret`, compared in
/// constant time.
pub fn signature_matches(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// What kcf syncs of a topic.
fn entity_of(topic: &str) -> Option<Entity> {
    match topic {
        "orders/create"
        | "orders/updated"
        | "orders/paid"
        | "orders/fulfilled"
        | "orders/partially_fulfilled" => Some(Entity::Order),
        "orders/cancelled" => Some(Entity::OrderStatus),
        "customers/create" | "customers/update" => Some(Entity::Customer),
        _ => None,
    }
}

impl Inbound for WebhookReceiver {
    fn verify(
        &self,
        connector: &str,
        secrets: &IngressSecrets,
        headers: Headers<'_>,
        body: &[u8],
    ) -> Result<(), String> {
        if secrets.signing_secret.is_empty() {
            return Err(format!(
                "connector {connector} has no signing secret (the app's client secret), so \
                 Shopify webhooks are refused"
            ));
        }
        let Some(signature) = text(headers, "x-shopify-hmac-sha256") else {
            return Err("the X-Shopify-Hmac-Sha256 header is missing".into());
        };
        if !signature_matches(secrets.signing_secret.expose().as_bytes(), body, &signature) {
            return Err("the X-Shopify-Hmac-Sha256 signature does not match the body".into());
        }
        Ok(())
    }

    fn read(&self, headers: Headers<'_>, body: &[u8]) -> Result<Notification, String> {
        let topic = text(headers, "x-shopify-topic")
            .ok_or_else(|| "the X-Shopify-Topic header is missing".to_owned())?;
        let payload: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| format!("the webhook body is not JSON ({e})"))?;
        let Some(entity) = entity_of(&topic) else {
            return Ok(Notification {
                ignored: vec![format!("topic {topic} is not synced")],
                ..Notification::default()
            });
        };
        let key = match &payload["id"] {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s.clone(),
            _ => return Err("the webhook body has no numeric id".into()),
        };
        let delivery = text(headers, "x-shopify-webhook-id")
            .map(|id| id.chars().take(200).collect::<String>());
        let updated = payload["updated_at"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let fallback = format!("{topic}:{key}:{updated}");
        let description = match payload["name"].as_str() {
            Some(name) => format!("{} {key} {name} ({topic})", entity.label()),
            None => format!("{} {key} ({topic})", entity.label()),
        };
        Ok(Notification {
            changes: vec![Change {
                entity,
                key,
                key_field: Some("id"),
                dedup_key: delivery.clone().unwrap_or_else(|| fallback.clone()),
                description,
                payload,
            }],
            ignored: Vec::new(),
            ambiguous: delivery.is_none().then_some(fallback),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap_or_else(|_| panic!("key"));
        mac.update(body);
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    #[test]
    fn the_signature_covers_the_raw_body() {
        let body = br##"{"id":5,"name":"#1001"}"##;
        let good = sign(b"s3cret", body);
        assert!(signature_matches(b"s3cret", body, &good));
        assert!(!signature_matches(b"other", body, &good), "a wrong secret");
        assert!(
            !signature_matches(b"s3cret", br##"{"id":6,"name":"#1001"}"##, &good),
            "a tampered body"
        );
        assert!(
            !signature_matches(b"s3cret", body, "not base64!"),
            "bad encoding"
        );
        assert!(!signature_matches(b"s3cret", body, ""), "empty");
    }

    #[test]
    fn a_delivery_is_one_change_keyed_by_its_webhook_id() {
        let body = br##"{"id":5,"name":"#1001","updated_at":"2026-01-01T00:00:00Z"}"##;
        let headers = |name: &str| -> Option<Vec<u8>> {
            match name {
                "x-shopify-topic" => Some(b"orders/create".to_vec()),
                "x-shopify-webhook-id" => Some(b"abc-123".to_vec()),
                _ => None,
            }
        };
        let n = WebhookReceiver.read(&headers, body).unwrap_or_default();
        assert_eq!(n.changes.len(), 1);
        assert_eq!(n.changes[0].entity, Entity::Order);
        assert_eq!(n.changes[0].key, "5");
        assert_eq!(n.changes[0].dedup_key, "abc-123");
        assert!(n.ambiguous.is_none());
        let other = |name: &str| -> Option<Vec<u8>> {
            (name == "x-shopify-topic").then(|| b"products/update".to_vec())
        };
        assert_eq!(
            WebhookReceiver
                .read(&other, body)
                .unwrap_or_default()
                .ignored
                .len(),
            1
        );
    }
}
