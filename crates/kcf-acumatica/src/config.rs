//! Where the Acumatica instance is and how to sign in to it.
//!
//! The config deserializes from a file section such as:
//!
//! ```toml
//! base_url = "https://erp.example.com/AcumaticaERP"
//! endpoint = "Default/24.200.001"      # the default
//! timeout = 30                         # seconds per request, the default
//! max_concurrent = 4                   # requests in flight, the default
//! [auth]
//! kind = "cookie"                      # or "oauth"
//! username = "admin"
//! password = "…"
//! tenant = "Company"
//! branch = "HEADOFFICE"                # optional
//! ```
//!
//! OAuth takes `kind = "oauth"`, `client_id`, `client_secret`, `username`, `password`.

use std::time::Duration;

use kcf_domain::Secret;
use serde::{Deserialize, Deserializer, Serialize};

use crate::Error;

/// The endpoint and version kcf is written against.
pub const DEFAULT_ENDPOINT: &str = "Default/24.200.001";

/// How to reach one Acumatica tenant.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AcumaticaConfig {
    /// The instance's root, e.g. `https://erp.example.com/AcumaticaERP` or
    /// `http://127.0.0.1:8081`; a trailing slash is ignored.
    pub base_url: String,
    /// The contract-based endpoint and its version, `Default/24.200.001` by default.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    /// How to sign in.
    pub auth: AcumaticaAuth,
    /// How long one request may take, connection included. In files: whole or fractional
    /// seconds (`timeout = 30`); 30 s by default.
    #[serde(
        default = "default_timeout",
        deserialize_with = "seconds",
        serialize_with = "as_seconds"
    )]
    pub timeout: Duration,
    /// Requests in flight at once; Acumatica's license caps concurrent requests per tenant, so
    /// more only queue on the server. 4 by default.
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: usize,
}

/// How kcf signs in.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum AcumaticaAuth {
    /// A cookie session (`/entity/auth/login`): takes one of the license's API-user slots
    /// until signed out.
    Cookie {
        /// The API user.
        username: String,
        /// Its password.
        password: Secret,
        /// The tenant (company) to sign in to.
        tenant: String,
        /// The branch, when the user must choose one.
        #[serde(default)]
        branch: Option<String>,
    },
    /// OAuth 2.0 password grant against `/identity/connect/token` (a connected application
    /// registered on screen SM303010).
    #[serde(rename = "oauth")]
    OAuth {
        /// The connected application's client id (`…@Company`).
        client_id: String,
        /// Its shared secret.
        client_secret: Secret,
        /// The user the token acts for.
        username: String,
        /// Its password.
        password: Secret,
    },
}

impl AcumaticaAuth {
    /// A cookie session (which a [`crate::SessionKeeper`] can keep across processes).
    pub fn is_cookie(&self) -> bool {
        matches!(self, Self::Cookie { .. })
    }
}

fn default_endpoint() -> String {
    DEFAULT_ENDPOINT.to_owned()
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_max_concurrent() -> usize {
    4
}

fn as_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let secs = f64::deserialize(d)?;
    Duration::try_from_secs_f64(secs).map_err(|_| {
        serde::de::Error::custom(format!(
            "timeout must be a positive number of seconds, not {secs}"
        ))
    })
}

impl AcumaticaConfig {
    /// The sandbox emulator's defaults: user `admin`, password `sandbox`, tenant `Company`,
    /// cookie sign-in.
    pub fn sandbox(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            endpoint: default_endpoint(),
            auth: AcumaticaAuth::Cookie {
                username: "admin".into(),
                password: Secret::new("sandbox"),
                tenant: "Company".into(),
                branch: None,
            },
            timeout: default_timeout(),
            max_concurrent: default_max_concurrent(),
        }
    }

    /// Checks what can be checked without a network call, with messages that say what to fix.
    pub fn validate(&self) -> Result<(), Error> {
        let url = reqwest::Url::parse(self.base_url.trim_end_matches('/')).map_err(|e| {
            Error::Config(format!(
                "base_url '{}' is not a URL ({e}); write it like https://erp.example.com/AcumaticaERP",
                self.base_url
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "base_url '{}' must start with https:// (or http:// for a local sandbox)",
                self.base_url
            )));
        }
        let parts: Vec<&str> = self.endpoint.trim_matches('/').split('/').collect();
        if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
            return Err(Error::Config(format!(
                "endpoint '{}' must be a name and a version, like {DEFAULT_ENDPOINT}",
                self.endpoint
            )));
        }
        if self.max_concurrent == 0 {
            return Err(Error::Config(
                "max_concurrent must be at least 1 (the license's concurrent-request limit is a good value)"
                    .into(),
            ));
        }
        if self.timeout.is_zero() {
            return Err(Error::Config(
                "timeout must be more than zero seconds".into(),
            ));
        }
        let missing = match &self.auth {
            AcumaticaAuth::Cookie {
                username, tenant, ..
            } if username.is_empty() || tenant.is_empty() => Some("username and tenant"),
            AcumaticaAuth::OAuth {
                client_id,
                username,
                ..
            } if client_id.is_empty() || username.is_empty() => Some("client_id and username"),
            _ => None,
        };
        match missing {
            Some(what) => Err(Error::Config(format!("the Acumatica sign-in needs {what}"))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn deserializes_with_defaults_and_hides_secrets() {
        let json = r#"{"base_url": "https://erp.example.com/AcumaticaERP/",
            "auth": {"kind": "cookie", "username": "api", "password": "pw", "tenant": "Company"}}"#;
        let c: AcumaticaConfig = serde_json::from_str(json).unwrap();
        assert_eq!(c.endpoint, DEFAULT_ENDPOINT);
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.max_concurrent, 4);
        assert!(c.validate().is_ok());
        assert!(!format!("{c:?}").contains("pw\""), "{c:?}");

        let json = r#"{"base_url": "http://127.0.0.1:8081", "timeout": 2.5, "max_concurrent": 1,
            "auth": {"kind": "oauth", "client_id": "c@Company", "client_secret": "s",
                     "username": "u", "password": "p"}}"#;
        let c: AcumaticaConfig = serde_json::from_str(json).unwrap();
        assert_eq!(c.timeout, Duration::from_millis(2500));
        assert!(matches!(c.auth, AcumaticaAuth::OAuth { .. }));
        assert!(format!("{c:?}").contains("***"));
    }

    #[test]
    fn validation_says_what_to_fix() {
        let mut c = AcumaticaConfig::sandbox("erp.example.com");
        assert!(c.validate().unwrap_err().to_string().contains("not a URL"));
        c.base_url = "ftp://erp.example.com".into();
        assert!(c.validate().unwrap_err().to_string().contains("https://"));
        c.base_url = "http://127.0.0.1:1".into();
        c.endpoint = "Default".into();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("name and a version")
        );
        c.endpoint = DEFAULT_ENDPOINT.into();
        c.max_concurrent = 0;
        assert!(c.validate().is_err());
        let bad: Result<AcumaticaConfig, _> = serde_json::from_str(
            r#"{"base_url": "http://x", "timeout": -1, "auth": {"kind": "cookie", "username": "a", "password": "b", "tenant": "c"}}"#,
        );
        assert!(bad.unwrap_err().to_string().contains("positive number"));
    }
}
