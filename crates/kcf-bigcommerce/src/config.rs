//! How to reach one BigCommerce store, and how hard kcf may use it.

use std::time::Duration;

use kcf_domain::Secret;
use serde::{Deserialize, Deserializer, Serialize};

/// BigCommerce's API host.
pub const DEFAULT_BASE_URL: &str = "https://api.bigcommerce.com";

/// One store's API account and request budget.
///
/// Durations deserialize from a number of seconds (`30`, `0.5`) or a string with a unit
/// (`"30s"`, `"500ms"`, `"2m"`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct BigCommerceConfig {
    /// `https://api.bigcommerce.com`, or the sandbox's `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The store hash in `/stores/{hash}/…`.
    pub store_hash: String,
    /// The API account's access token (sent as `X-Auth-Token`).
    pub access_token: Secret,
    /// How long one request may take, connecting included.
    #[serde(deserialize_with = "duration", serialize_with = "as_seconds")]
    pub timeout: Duration,
    /// Requests kcf allows itself per `window` (BigCommerce Standard and Plus: 150 per 30 s;
    /// the store's budget is shared with every other app, so less is kinder).
    pub quota: u32,
    /// The quota's window.
    #[serde(deserialize_with = "duration", serialize_with = "as_seconds")]
    pub window: Duration,
}

impl Default for BigCommerceConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.into(),
            store_hash: String::new(),
            access_token: Secret::default(),
            timeout: Duration::from_secs(30),
            quota: 150,
            window: Duration::from_secs(30),
        }
    }
}

impl BigCommerceConfig {
    /// The settings for kcf's BigCommerce emulator at `base_url` (store `sandbox`, token
    /// `sandbox`).
    pub fn sandbox(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            store_hash: "sandbox".into(),
            access_token: Secret::new("sandbox"),
            ..Self::default()
        }
    }

    /// Checks the settings, saying what to fix.
    pub fn validate(&self) -> Result<(), String> {
        let url = reqwest::Url::parse(&self.base_url).map_err(|e| {
            format!(
                "the BigCommerce base URL '{}' is not a URL ({e}); use {DEFAULT_BASE_URL}",
                self.base_url
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "the BigCommerce base URL '{}' must start with https:// (or http:// for the sandbox)",
                self.base_url
            ));
        }
        if self.store_hash.is_empty()
            || !self
                .store_hash
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "the BigCommerce store hash '{}' is not valid; it is the part after /stores/ in the \
                 API path shown with the API account",
                self.store_hash
            ));
        }
        if self.access_token.is_empty() {
            return Err(
                "the BigCommerce access token is empty; create a store-level API account \
                        and paste its access token"
                    .into(),
            );
        }
        if self.quota == 0 || self.window.is_zero() {
            return Err(
                "the BigCommerce request quota and its window must both be above zero".into(),
            );
        }
        if self.timeout.is_zero() {
            return Err("the BigCommerce request timeout must be above zero".into());
        }
        Ok(())
    }
}

/// Reads a duration from seconds (integer or fraction) or a string such as `"500ms"`.
fn as_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(f64),
        Text(String),
    }
    let bad = |what: &str| {
        serde::de::Error::custom(format!(
            "'{what}' is not a duration; write seconds (30) or a number with ms, s or m (\"500ms\")"
        ))
    };
    match Raw::deserialize(d)? {
        Raw::Seconds(s) => Duration::try_from_secs_f64(s).map_err(|_| bad(&s.to_string())),
        Raw::Text(t) => parse_duration(&t).ok_or_else(|| bad(&t)),
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let n: f64 = number.trim().parse().ok()?;
    Duration::try_from_secs_f64(n * scale).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn defaults_match_the_standard_plan() {
        let c = BigCommerceConfig::default();
        assert_eq!(c.base_url, DEFAULT_BASE_URL);
        assert_eq!((c.quota, c.window), (150, Duration::from_secs(30)));
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert!(c.validate().unwrap_err().contains("store hash"));
        assert!(
            BigCommerceConfig::sandbox("http://127.0.0.1:1")
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn durations_read_as_seconds_or_with_units() {
        let c: BigCommerceConfig = serde_json::from_value(serde_json::json!({
            "store_hash": "abc123", "access_token": "t", "timeout": "500ms", "window": 2
        }))
        .unwrap();
        assert_eq!(c.timeout, Duration::from_millis(500));
        assert_eq!(c.window, Duration::from_secs(2));
        assert_eq!(format!("{:?}", c.access_token), "***");
        let e =
            serde_json::from_value::<BigCommerceConfig>(serde_json::json!({ "window": "soon" }))
                .unwrap_err();
        assert!(e.to_string().contains("'soon' is not a duration"), "{e}");
    }

    #[test]
    fn validation_says_what_to_fix() {
        let mut c = BigCommerceConfig::sandbox("ftp://x");
        assert!(c.validate().unwrap_err().contains("https://"));
        c.base_url = "http://127.0.0.1:1".into();
        c.access_token = Secret::default();
        assert!(c.validate().unwrap_err().contains("access token"));
        c.access_token = Secret::new("t");
        c.quota = 0;
        assert!(c.validate().unwrap_err().contains("quota"));
    }
}
