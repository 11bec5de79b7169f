//! How to reach one Shopify shop, and how much of its query-cost budget kcf may use.

use std::time::Duration;

use kcf_domain::Secret;
use serde::{Deserialize, Deserializer, Serialize};

/// The Admin API version kcf speaks (Shopify supports each for a year).
pub const API_VERSION: &str = "2025-07";

/// One shop's app credentials and budget.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShopifyConfig {
    /// `https://{shop}.myshopify.com`, or the sandbox's `https://127.0.0.1:PORT`.
    pub shop_url: String,
    /// The Admin API version (`2025-07`).
    pub api_version: String,
    /// The app's Admin API access token (`X-Shopify-Access-Token`). Empty: kcf asks for one
    /// with the client-credentials grant, using `client_id` and `client_secret`.
    pub access_token: Secret,
    /// The app's client id (for the client-credentials grant).
    pub client_id: String,
    /// The app's client secret: it signs webhooks, and gets a token when none is given.
    pub client_secret: Secret,
    /// How long one request may take, connecting included.
    #[serde(deserialize_with = "duration", serialize_with = "as_seconds")]
    pub timeout: Duration,
    /// The share of the shop's query-cost bucket kcf allows itself (0–1): the bucket is
    /// shared with every other app on the shop.
    pub budget_share: f64,
    /// The unit of the ERP's item weights (Shopify keeps a unit with every weight; the ERP's
    /// `DimensionWeight` is a number in the company's weight unit).
    pub weight_unit: WeightUnit,
}

/// A weight unit, as Shopify names it (`GRAMS`, `KILOGRAMS`, `OUNCES`, `POUNDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WeightUnit {
    /// g.
    #[serde(alias = "grams", alias = "g")]
    Grams,
    /// kg (the default).
    #[default]
    #[serde(alias = "kilograms", alias = "kg")]
    Kilograms,
    /// oz.
    #[serde(alias = "ounces", alias = "oz")]
    Ounces,
    /// lb.
    #[serde(alias = "pounds", alias = "lb")]
    Pounds,
}

impl WeightUnit {
    /// Shopify's name of it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grams => "GRAMS",
            Self::Kilograms => "KILOGRAMS",
            Self::Ounces => "OUNCES",
            Self::Pounds => "POUNDS",
        }
    }
}

impl Default for ShopifyConfig {
    fn default() -> Self {
        Self {
            shop_url: String::new(),
            api_version: API_VERSION.into(),
            access_token: Secret::default(),
            client_id: String::new(),
            client_secret: Secret::default(),
            timeout: Duration::from_secs(30),
            budget_share: 1.0,
            weight_unit: WeightUnit::default(),
        }
    }
}

impl ShopifyConfig {
    /// The settings for kcf's Shopify emulator at `shop_url` (token `shpat_sandbox`, client
    /// secret `sandbox-client-secret`).
    pub fn sandbox(shop_url: impl Into<String>) -> Self {
        Self {
            shop_url: shop_url.into(),
            access_token: Secret::new("shpat_sandbox"),
            client_id: "sandbox-client-id".into(),
            client_secret: Secret::new("sandbox-client-secret"),
            ..Self::default()
        }
    }

    /// `{shop_url}/admin/api/{version}/graphql.json`.
    pub fn endpoint(&self) -> String {
        format!(
            "{}/admin/api/{}/graphql.json",
            self.shop_url.trim_end_matches('/'),
            self.api_version
        )
    }

    /// The shop's handle (`my-shop` of `my-shop.myshopify.com`), for admin links.
    pub fn shop_handle(&self) -> Option<String> {
        let host = reqwest::Url::parse(&self.shop_url)
            .ok()?
            .host_str()?
            .to_owned();
        host.strip_suffix(".myshopify.com").map(str::to_owned)
    }

    /// Checks the settings, saying what to fix.
    pub fn validate(&self) -> Result<(), String> {
        let url = reqwest::Url::parse(&self.shop_url).map_err(|e| {
            format!(
                "the Shopify shop URL '{}' is not a URL ({e}); use https://your-shop.myshopify.com",
                self.shop_url
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "the Shopify shop URL '{}' must start with https://",
                self.shop_url
            ));
        }
        let version_ok = self.api_version.len() == 7
            && self.api_version.as_bytes()[4] == b'-'
            && self
                .api_version
                .chars()
                .enumerate()
                .all(|(i, c)| i == 4 || c.is_ascii_digit());
        if !version_ok {
            return Err(format!(
                "the Shopify API version '{}' must look like {API_VERSION}",
                self.api_version
            ));
        }
        if self.access_token.is_empty()
            && (self.client_id.is_empty() || self.client_secret.is_empty())
        {
            return Err(
                "Shopify needs the app's access token, or its client id and client secret to get one"
                    .into(),
            );
        }
        if !(self.budget_share > 0.0 && self.budget_share <= 1.0) {
            return Err("the Shopify budget share must be above 0 and at most 1".into());
        }
        if self.timeout.is_zero() {
            return Err("the Shopify request timeout must be above zero".into());
        }
        Ok(())
    }
}

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
            "'{what}' is not a duration; write seconds (30) or a number with ms or s (\"500ms\")"
        ))
    };
    match Raw::deserialize(d)? {
        Raw::Seconds(s) => Duration::try_from_secs_f64(s).map_err(|_| bad(&s.to_string())),
        Raw::Text(t) => {
            let t = t.trim();
            let parsed = if let Some(n) = t.strip_suffix("ms") {
                n.trim().parse::<f64>().ok().map(|n| n / 1000.0)
            } else {
                t.strip_suffix('s').unwrap_or(t).trim().parse::<f64>().ok()
            };
            parsed
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .ok_or_else(|| bad(t))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn validation_says_what_to_fix() {
        assert!(
            ShopifyConfig::sandbox("https://127.0.0.1:1")
                .validate()
                .is_ok()
        );
        let mut c = ShopifyConfig::sandbox("ftp://x");
        assert!(c.validate().unwrap_err().contains("https://"));
        c.shop_url = "https://a.myshopify.com".into();
        c.api_version = "July".into();
        assert!(c.validate().unwrap_err().contains("2025-07"));
        c.api_version = API_VERSION.into();
        c.access_token = Secret::default();
        c.client_secret = Secret::default();
        assert!(c.validate().unwrap_err().contains("client secret"));
        assert_eq!(c.shop_handle().as_deref(), Some("a"));
        assert_eq!(
            c.endpoint(),
            format!("https://a.myshopify.com/admin/api/{API_VERSION}/graphql.json")
        );
        let t: ShopifyConfig =
            serde_json::from_value(serde_json::json!({ "timeout": "500ms" })).unwrap();
        assert_eq!(t.timeout, Duration::from_millis(500));
    }
}
