//! BigCommerce webhooks as kcf's store inbound: the custom header the hooks were registered
//! with and the Standard Webhooks signature, both checked on the raw request; then one change,
//! deduplicated on the payload's `hash` and the delivery's `webhook-id`.

use kcf_domain::Timestamp;
use kcf_platform::{Change, Headers, Inbound, IngressSecrets, Notification, header_matches};

use crate::notify;

/// How old a signed webhook may be, in seconds.
const TOLERANCE_SECS: i64 = 300;

/// The webhook receiver.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookReceiver;

fn text(headers: Headers<'_>, name: &str) -> String {
    headers(name)
        .and_then(|v| String::from_utf8(v).ok())
        .unwrap_or_default()
}

impl Inbound for WebhookReceiver {
    fn verify(
        &self,
        connector: &str,
        secrets: &IngressSecrets,
        headers: Headers<'_>,
        body: &[u8],
    ) -> Result<(), String> {
        let mut checked = false;
        if !secrets.webhook_secret.is_empty() {
            if !header_matches(
                secrets.webhook_secret.expose(),
                headers(&secrets.webhook_header).as_deref(),
            ) {
                return Err(format!(
                    "the {} header is missing or wrong",
                    secrets.webhook_header
                ));
            }
            checked = true;
        }
        if !secrets.signing_secret.is_empty() {
            notify::verify_signature(
                secrets.signing_secret.expose().as_bytes(),
                &text(headers, "webhook-id"),
                &text(headers, "webhook-timestamp"),
                body,
                &text(headers, "webhook-signature"),
                Timestamp::now().0 / 1000,
                TOLERANCE_SECS,
            )
            .map_err(|e| format!("webhook signature: {e}"))?;
            checked = true;
        }
        if !checked {
            return Err(format!(
                "connector {connector} has neither a webhook secret nor a signing secret, so \
                 webhooks are refused"
            ));
        }
        Ok(())
    }

    fn read(&self, headers: Headers<'_>, body: &[u8]) -> Result<Notification, String> {
        let event = notify::parse(body).map_err(|e| e.to_string())?;
        // The payload's hash covers scope, record and `created_at` in whole seconds: two
        // changes of one record within a second share it. The `webhook-id` (Standard
        // Webhooks) is the same for every retry and duplicate of one event and differs
        // between events, so with it the later change is not taken for a resend.
        let delivery = headers("webhook-id")
            .and_then(|v| String::from_utf8(v).ok())
            .map(|id| id.trim().chars().take(200).collect::<String>())
            .filter(|id| !id.is_empty());
        let Some(entity) = event.entity else {
            return Ok(Notification {
                ignored: vec![format!("scope {} is not synced", event.scope)],
                ..Notification::default()
            });
        };
        let dedup_key = match &delivery {
            Some(id) => format!("{}:{id}", event.hash),
            None => event.hash.clone(),
        };
        Ok(Notification {
            changes: vec![Change {
                entity,
                description: format!("{} {} ({})", entity.label(), event.resource_id, event.scope),
                key: event.resource_id,
                key_field: Some("data.id"),
                dedup_key,
                payload: serde_json::from_slice(body).unwrap_or(serde_json::Value::Null),
            }],
            ignored: Vec::new(),
            ambiguous: delivery.is_none().then_some(event.hash),
        })
    }
}
