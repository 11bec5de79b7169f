//! The optional inbound part of a platform: check a notification's authenticity on its raw
//! bytes, and turn it into changes, each with its dedup key and a line for the message list.
//! A platform that cannot notify (Magento's open-source core) has none; batch and the
//! schedule bring its changes in.

use kcf_domain::{Entity, Secret};
use serde::{Deserialize, Serialize};

/// Reads one request header (case-insensitive name).
pub type Headers<'a> = &'a (dyn Fn(&str) -> Option<Vec<u8>> + Sync);

/// The secrets that authenticate notifications for one connector.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IngressSecrets {
    /// The header the ERP's push destination sends (Acumatica SM302000 → Header Name).
    #[serde(default = "default_push_header")]
    pub push_header: String,
    /// Its value (Header Value). Empty: push notifications are refused.
    #[serde(default)]
    pub push_secret: Secret,
    /// The custom header the store's webhooks are registered with.
    #[serde(default = "default_webhook_header")]
    pub webhook_header: String,
    /// Its value. Empty: only the signature is checked.
    #[serde(default)]
    pub webhook_secret: Secret,
    /// The app's client secret, which signs webhooks; empty: not checked.
    #[serde(default)]
    pub signing_secret: Secret,
}

fn default_push_header() -> String {
    "X-KCF-Push-Secret".into()
}

fn default_webhook_header() -> String {
    "X-KCF-Webhook-Secret".into()
}

impl Default for IngressSecrets {
    fn default() -> Self {
        Self {
            push_header: default_push_header(),
            push_secret: Secret::default(),
            webhook_header: default_webhook_header(),
            webhook_secret: Secret::default(),
            signing_secret: Secret::default(),
        }
    }
}

/// One record a notification says changed.
#[derive(Debug, Clone)]
pub struct Change {
    /// Its entity.
    pub entity: Entity,
    /// Its record key, checked by the engine: an unusable one is ignored, or, when
    /// `key_field` names where it came from, refused as a bad request.
    pub key: String,
    /// The notification's field the key came from (`data.id`), when a bad key makes the
    /// whole notification a bad request.
    pub key_field: Option<&'static str>,
    /// The sender's id for this change: a resend carries the same.
    pub dedup_key: String,
    /// A line for the message list.
    pub description: String,
    /// The notification's data about it.
    pub payload: serde_json::Value,
}

/// What one notification holds.
#[derive(Debug, Clone, Default)]
pub struct Notification {
    /// The changes, in order.
    pub changes: Vec<Change>,
    /// What it holds that kcf does not sync, with why.
    pub ignored: Vec<String>,
    /// Set when a resend and a second change of the record within the sender's clock tick
    /// look the same (no delivery id): the base of the re-check keys the engine adds after
    /// a copy whose message already ran, so that a later change is not lost.
    pub ambiguous: Option<String>,
}

/// A platform's notification receiver.
pub trait Inbound: Send + Sync {
    /// Checks that a notification for `connector` comes from the platform; the refusal, in
    /// plain words, when it does not. Nothing is read before this passes.
    fn verify(
        &self,
        connector: &str,
        secrets: &IngressSecrets,
        headers: Headers<'_>,
        body: &[u8],
    ) -> Result<(), String>;

    /// Reads a verified notification; what is wrong with it, when it is not one.
    fn read(&self, headers: Headers<'_>, body: &[u8]) -> Result<Notification, String>;
}

/// Whether a secret header carries `expected`, compared in constant time; never for an empty
/// secret or a missing header.
pub fn header_matches(expected: &str, got: Option<&[u8]>) -> bool {
    use subtle::ConstantTimeEq;
    let (expected, Some(got)) = (expected.as_bytes(), got) else {
        return false;
    };
    !expected.is_empty() && bool::from(expected.ct_eq(got))
}

#[cfg(test)]
mod tests {
    use super::header_matches;

    #[test]
    fn headers_match_only_the_whole_non_empty_secret() {
        assert!(header_matches("s3cret", Some(b"s3cret")));
        assert!(!header_matches("s3cret", Some(b"s3cre")));
        assert!(!header_matches("s3cret", Some(b"s3crets")));
        assert!(!header_matches("s3cret", None));
        assert!(!header_matches("", Some(b"")));
    }
}
