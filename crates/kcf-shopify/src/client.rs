//! The GraphQL client: one per shop, cheap to clone. Every query goes through the cost
//! limiter and one answer classification; the queries themselves live with what they read
//! and write (`catalog.rs`, `people.rs`, `orders.rs`).

use std::sync::{Arc, atomic::AtomicU64};

use kcf_domain::Timestamp;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};

use crate::{
    config::ShopifyConfig,
    error::{Error, UserError},
    limit::{BucketStatus, Cost, CostLimiter},
};

/// A client for one shop's GraphQL Admin API.
#[derive(Clone, Debug)]
pub struct ShopifyClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    config: ShopifyConfig,
    endpoint: String,
    /// The token in use: the configured one, or one from the client-credentials grant.
    token: tokio::sync::OnceCell<HeaderValue>,
    limiter: CostLimiter,
    requests: AtomicU64,
}

#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    errors: Option<Value>,
    #[serde(default)]
    extensions: Option<Extensions>,
}

#[derive(Debug, Deserialize)]
struct Extensions {
    #[serde(default)]
    cost: Option<Cost>,
}

/// `{ nodes [...] pageInfo { hasNextPage endCursor } }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The records.
    pub nodes: Vec<T>,
    /// Where the next page starts.
    #[serde(default)]
    pub page_info: PageInfo,
}

/// `pageInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    /// Whether there is a next page.
    pub has_next_page: bool,
    /// The cursor to ask for it with.
    pub end_cursor: Option<String>,
}

/// The number at the end of a global id (`gid://shopify/Product/123` → `123`).
pub fn number_of(gid: &str) -> String {
    let tail = gid.rsplit('/').next().unwrap_or(gid);
    tail.split('?').next().unwrap_or(tail).to_owned()
}

/// A global id of `kind` for a number.
pub fn gid(kind: &str, id: &str) -> String {
    format!("gid://shopify/{kind}/{id}")
}

/// A search term's value, quoted for Shopify's query syntax.
pub fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

impl ShopifyClient {
    /// A client for the shop in `config`; fails when the settings are unusable.
    pub fn new(config: ShopifyConfig) -> Result<Self, Error> {
        config.validate().map_err(Error::Config)?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("kcf/", env!("CARGO_PKG_VERSION")))
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(std::time::Duration::from_secs(10)))
            .build()
            .map_err(|e| Error::Config(format!("the HTTP client could not start: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                endpoint: config.endpoint(),
                limiter: CostLimiter::new(config.budget_share),
                config,
                token: tokio::sync::OnceCell::new(),
                requests: AtomicU64::new(0),
            }),
        })
    }

    /// The settings it was made with.
    pub fn config(&self) -> &ShopifyConfig {
        &self.inner.config
    }

    /// Where kcf's model of the shop's query-cost bucket stands.
    pub fn bucket(&self) -> BucketStatus {
        self.inner.limiter.status()
    }

    /// Sends nothing until `until`: mirrors a pause another kcf process met on this shop.
    pub fn pause_until(&self, until: Timestamp) {
        self.inner.limiter.pause_until(until);
    }

    /// kcf's own record of the queries it started and the pauses it learnt of.
    pub fn rate_limit_journal(&self) -> kcf_platform::RateLimitJournal {
        self.inner.limiter.journal()
    }

    /// Requests sent so far.
    pub fn requests_sent(&self) -> u64 {
        self.inner
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The access token: the configured one, or one from the client-credentials grant
    /// (asked for once).
    async fn token(&self) -> Result<HeaderValue, Error> {
        self.inner
            .token
            .get_or_try_init(|| async {
                let c = &self.inner.config;
                let token = if c.access_token.is_empty() {
                    self.client_credentials().await?
                } else {
                    c.access_token.expose().to_owned()
                };
                let mut v = HeaderValue::from_str(&token).map_err(|_| {
                    Error::Config("the access token holds characters a header cannot carry".into())
                })?;
                v.set_sensitive(true);
                Ok(v)
            })
            .await
            .cloned()
    }

    async fn client_credentials(&self) -> Result<String, Error> {
        let c = &self.inner.config;
        let url = format!(
            "{}/admin/oauth/access_token",
            c.shop_url.trim_end_matches('/')
        );
        let action = "getting an access token";
        let response = self
            .inner
            .http
            .post(url)
            .json(&json!({
                "client_id": c.client_id,
                "client_secret": c.client_secret.expose(),
                "grant_type": "client_credentials",
            }))
            .send()
            .await
            .map_err(|e| Error::transport(action, &e))?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            return Err(Error::Unauthorized {
                status,
                message: body["error_description"]
                    .as_str()
                    .unwrap_or("the client id or secret was refused")
                    .to_owned(),
            });
        }
        body["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::Server {
                action: action.into(),
                message: "the answer holds no access_token".into(),
                status,
            })
    }

    /// Checks the address, the token and the network with one light query.
    pub async fn test_connection(&self) -> Result<String, Error> {
        let data: Value = self
            .query(
                "shop",
                "{ shop { name myshopifyDomain } }",
                json!({}),
                "checking the connection",
            )
            .await?;
        Ok(data["shop"]["myshopifyDomain"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Runs query `name` under the cost limit and decodes its `data`.
    pub async fn query<T: DeserializeOwned>(
        &self,
        name: &'static str,
        query: &str,
        variables: Value,
        action: &str,
    ) -> Result<T, Error> {
        self.query_costing(name, None, query, variables, action)
            .await
    }

    /// [`Self::query`] for a query the caller knows costs at most `cost` points.
    pub async fn query_costing<T: DeserializeOwned>(
        &self,
        name: &'static str,
        cost: Option<f64>,
        query: &str,
        variables: Value,
        action: &str,
    ) -> Result<T, Error> {
        let token = self.token().await?;
        let inner = &self.inner;
        let ticket = inner.limiter.acquire(name, cost).await?;
        inner
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let sent = inner
            .http
            .post(&inner.endpoint)
            .header("x-shopify-access-token", token)
            .header(CONTENT_TYPE, "application/json")
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                inner.limiter.observe(ticket, None, false);
                return Err(Error::transport(action, &e));
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(retry_after_secs);
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                inner.limiter.observe(ticket, None, false);
                return Err(Error::transport(action, &e));
            }
        };
        tracing::debug!(name, status, "shopify");
        if status == 429 {
            let wait = std::time::Duration::from_secs_f64(retry_after.unwrap_or(1.0));
            inner.limiter.observe(ticket, None, false);
            inner.limiter.pause_until(Timestamp::now().plus(wait));
            return Err(Error::RateLimited { retry_after: wait });
        }
        if !(200..300).contains(&status) {
            inner.limiter.observe(ticket, None, false);
            let text = String::from_utf8_lossy(&body);
            let message: String = text.chars().take(300).collect();
            return Err(match status {
                401 | 403 => Error::Unauthorized { status, message },
                404 => Error::Config(format!(
                    "Shopify has no Admin API {} at {}; check the shop URL and the API version",
                    inner.config.api_version, inner.config.shop_url
                )),
                _ => Error::Server {
                    action: action.into(),
                    message: format!("HTTP {status}: {message}"),
                    status,
                },
            });
        }
        let answer: Answer = match serde_json::from_slice(&body) {
            Ok(a) => a,
            Err(e) => {
                inner.limiter.observe(ticket, None, false);
                return Err(Error::Server {
                    action: action.into(),
                    message: format!("the answer is not readable JSON ({e})"),
                    status: 0,
                });
            }
        };
        let cost = answer.extensions.as_ref().and_then(|e| e.cost);
        let codes: Vec<String> = answer
            .errors
            .iter()
            .flat_map(|e| e.as_array().cloned().unwrap_or_default())
            .filter_map(|e| e["extensions"]["code"].as_str().map(str::to_owned))
            .collect();
        let throttled = codes.iter().any(|c| c == "THROTTLED");
        if let Some(wait) = inner.limiter.observe(ticket, cost, throttled) {
            tracing::warn!(wait_ms = wait.as_millis(), "Shopify THROTTLED; pausing");
            return Err(Error::RateLimited { retry_after: wait });
        }
        if let Some(errors) = answer.errors.filter(|e| !e.is_null()) {
            let message = match &errors {
                Value::Array(list) => list
                    .iter()
                    .map(|e| e["message"].as_str().unwrap_or("(no message)").to_owned())
                    .collect::<Vec<_>>()
                    .join("; "),
                other => other.to_string(),
            };
            return Err(if codes.iter().any(|c| c == "INTERNAL_SERVER_ERROR") {
                Error::Server {
                    action: action.into(),
                    message,
                    status,
                }
            } else {
                Error::Query {
                    action: action.into(),
                    message,
                }
            });
        }
        let data = answer.data.unwrap_or(Value::Null);
        serde_json::from_value(data).map_err(|e| Error::Server {
            action: action.into(),
            message: format!("the answer does not have the expected shape ({e})"),
            status,
        })
    }

    /// Runs a mutation and returns its payload (the field `field` of `data`), refused as a
    /// whole when its `userErrors` (or `key`) are not empty.
    pub async fn mutate<T: DeserializeOwned>(
        &self,
        name: &'static str,
        query: &str,
        variables: Value,
        field: &str,
        what: &str,
    ) -> Result<T, Error> {
        let data: Value = self
            .query(name, query, variables, &format!("writing {what}"))
            .await?;
        let payload = data.get(field).cloned().unwrap_or(Value::Null);
        refused(&payload, what)?;
        serde_json::from_value(payload).map_err(|e| Error::Server {
            action: format!("writing {what}"),
            message: format!("the answer does not have the expected shape ({e})"),
            status: 200,
        })
    }
}

/// The payload's `userErrors` as an error, when there are any.
pub fn refused(payload: &Value, what: &str) -> Result<(), Error> {
    let errors: Vec<UserError> = ["userErrors", "orderCancelUserErrors"]
        .iter()
        .filter_map(|k| payload.get(*k))
        .filter_map(|v| serde_json::from_value::<Vec<UserError>>(v.clone()).ok())
        .flatten()
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Refused {
            what: what.to_owned(),
            errors,
        })
    }
}

/// `Retry-After` in seconds: a number (Shopify sends `1.0`), or an HTTP date (RFC 9110 allows
/// both) turned into the seconds from now to it; `None` when it is neither.
fn retry_after_secs(value: &str) -> Option<f64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then_some(secs.min(3_600.0));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let ms = at.as_millisecond() - jiff::Timestamp::now().as_millisecond();
    Some((ms.max(0) as f64 / 1000.0).min(3_600.0))
}

#[cfg(test)]
mod retry_after_tests {
    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        assert_eq!(super::retry_after_secs("2.5"), Some(2.5));
        assert_eq!(super::retry_after_secs("-1"), None);
        assert_eq!(super::retry_after_secs("soon"), None);
        let later = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(30))
            .unwrap();
        let date = later.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let secs = super::retry_after_secs(&date).unwrap();
        assert!((28.0..=30.0).contains(&secs), "{date}: {secs}");
        assert_eq!(
            super::retry_after_secs("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(0.0)
        );
    }
}
