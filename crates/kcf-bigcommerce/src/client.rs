//! The HTTP client: one per store, cheap to clone. Every call goes through the rate limiter and
//! the same answer classification; the resources live in the submodules.

mod categories;
mod customers;
mod hooks;
mod lists;
mod orders;
mod products;
mod variants;

use std::{sync::Arc, time::Instant};

use kcf_domain::Timestamp;
use reqwest::{
    Method,
    header::{ACCEPT, HeaderMap, HeaderValue},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::{
    config::BigCommerceConfig,
    error::Error,
    limit::{Limiter, RateLimitStatus},
};

pub use categories::CategoryQuery;
pub use customers::CustomerQuery;
pub use orders::OrderQuery;
pub use products::ProductQuery;
pub use variants::{ADJUSTMENT_BATCH, Variant, VariantOption};

/// The most BigCommerce returns per page.
pub const MAX_PAGE_SIZE: u32 = 250;

/// A client for one BigCommerce store: v3 catalog, customers and hooks, v2 orders.
#[derive(Clone, Debug)]
pub struct BigCommerceClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    /// `{base_url}/stores/{hash}`.
    base: String,
    store_hash: String,
    limiter: Limiter,
    /// Requests sent (for metrics).
    requests: std::sync::atomic::AtomicU64,
}

/// One page of a v3 list.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    /// The records on this page.
    pub items: Vec<T>,
    /// Records matching, over all pages.
    pub total: u64,
    /// Pages in all.
    pub total_pages: u32,
    /// This page (1-based).
    pub current_page: u32,
}

impl<T> Paged<T> {
    /// Whether a later page exists.
    pub fn has_more(&self) -> bool {
        self.current_page < self.total_pages
    }
}

/// A successful answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Vec<u8>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Pagination {
    total: u64,
    current_page: u32,
    total_pages: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Meta {
    pagination: Option<Pagination>,
}

#[derive(Debug, Deserialize)]
struct Envelope<T> {
    data: T,
    #[serde(default)]
    meta: Meta,
}

/// A v3 batch answer: what was done, and (on a 207) what failed.
#[derive(Debug, Deserialize)]
struct Batch<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    #[serde(default)]
    errors: Vec<Value>,
}

/// `fields` as a JSON object with `key: id` added: how v3 batch updates name their records.
fn with_id<T: Serialize>(key: &str, id: u64, fields: &T) -> Result<Value, Error> {
    let mut value = serde_json::to_value(fields)
        .map_err(|e| Error::Config(format!("a record could not be written as JSON: {e}")))?;
    if let Some(object) = value.as_object_mut() {
        object.insert(key.to_owned(), Value::from(id));
    }
    Ok(value)
}

/// `a,b,c` for `…:in` filters.
fn joined<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// `page` and `limit`, each within what BigCommerce accepts.
fn page_params(query: &mut Vec<(&'static str, String)>, page: u32, limit: u32) {
    query.push(("page", page.max(1).to_string()));
    query.push(("limit", limit.clamp(1, MAX_PAGE_SIZE).to_string()));
}

impl BigCommerceClient {
    /// A client for the store in `config`; fails when the settings are unusable.
    pub fn new(config: BigCommerceConfig) -> Result<Self, Error> {
        config.validate().map_err(Error::Config)?;
        // reqwest is built without a TLS provider so the workspace picks one; without it the
        // real (https) API is unreachable. Installing twice is harmless, hence the ignore.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut headers = HeaderMap::new();
        let mut token = HeaderValue::from_str(config.access_token.expose()).map_err(|_| {
            Error::Config("the access token contains characters a header cannot carry".into())
        })?;
        token.set_sensitive(true);
        headers.insert("x-auth-token", token);
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
                base: format!(
                    "{}/stores/{}",
                    config.base_url.trim_end_matches('/'),
                    config.store_hash
                ),
                store_hash: config.store_hash,
                limiter: Limiter::new(config.quota, config.window)?,
                requests: std::sync::atomic::AtomicU64::new(0),
            }),
        })
    }

    /// Checks the store hash, the token and the network with one light call.
    #[tracing::instrument(skip_all, fields(store = %self.inner.store_hash), err(level = "warn"))]
    pub async fn test_connection(&self) -> Result<(), Error> {
        self.send::<()>(
            Method::GET,
            "/v2/order_statuses",
            &[],
            None,
            "order statuses",
            "checking the connection",
        )
        .await
        .map(drop)
        .map_err(|e| match e {
            // The only 404 here is the store's own.
            Error::NotFound { .. } => Error::NotFound {
                message: format!(
                    "BigCommerce has no store '{}' at this address; check the store hash (the \
                     part after /stores/ in the API path of the API account)",
                    self.inner.store_hash
                ),
            },
            other => other,
        })
    }

    /// What kcf knows of the store's request budget, and whether calls are paused.
    pub fn rate_limit(&self) -> RateLimitStatus {
        self.inner.limiter.status()
    }

    /// Sends nothing until `until`: mirrors a pause another kcf process met on this store.
    pub fn pause_until(&self, until: Timestamp) {
        self.inner.limiter.pause_until(until);
    }

    /// kcf's own record of the requests it started and the pauses it learnt of (for the
    /// causal check that it sends nothing while it knows it must wait).
    pub fn rate_limit_journal(&self) -> crate::limit::RateLimitJournal {
        self.inner.limiter.journal()
    }

    /// Requests this client has sent to the store so far.
    pub fn requests_sent(&self) -> u64 {
        self.inner
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sends one request under the rate limit; any answer but 2xx becomes an [`Error`].
    async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
        what: &str,
        action: &str,
    ) -> Result<Answer, Error> {
        let inner = &self.inner;
        inner.limiter.acquire().await?;
        let mut request = inner
            .http
            .request(method.clone(), format!("{}{path}", inner.base));
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let started = Instant::now();
        inner
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let response = request
            .send()
            .await
            .map_err(|e| Error::transport(action, &e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        tracing::debug!(%method, path, status, elapsed_ms = started.elapsed().as_millis(), "bigcommerce");
        if let Some(retry_after) = inner.limiter.observe(status, &headers) {
            tracing::warn!(
                retry_after_ms = retry_after.as_millis(),
                "BigCommerce rate limit hit; pausing"
            );
            return Err(Error::RateLimited { retry_after });
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::transport(action, &e))?
            .to_vec();
        if (200..300).contains(&status) {
            Ok(Answer { status, body })
        } else {
            Err(Error::from_status(status, &headers, &body, what))
        }
    }

    /// Decodes an answer's body.
    fn decode<T: DeserializeOwned>(answer: &Answer, action: &str) -> Result<T, Error> {
        serde_json::from_slice(&answer.body).map_err(|e| Error::Decode {
            action: action.to_owned(),
            message: e.to_string(),
        })
    }

    /// `GET` a v3 object: `{data: {...}}`.
    async fn get_one<T: DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
        action: &str,
    ) -> Result<T, Error> {
        let answer = self
            .send::<()>(Method::GET, path, &[], None, what, action)
            .await?;
        Ok(Self::decode::<Envelope<T>>(&answer, action)?.data)
    }

    /// `GET` a v3 list page: `{data: [...], meta: {pagination}}`.
    async fn get_page<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
        action: &str,
    ) -> Result<Paged<T>, Error> {
        let answer = self
            .send::<()>(Method::GET, path, query, None, what, action)
            .await?;
        let envelope: Envelope<Vec<T>> = Self::decode(&answer, action)?;
        let p = envelope.meta.pagination.unwrap_or_default();
        let count = envelope.data.len() as u64;
        Ok(Paged {
            items: envelope.data,
            total: p.total.max(count),
            total_pages: p.total_pages.max(u32::from(count > 0)),
            current_page: p.current_page.max(1),
        })
    }

    /// `GET` a v2 list: a bare array, or 204 when there is nothing.
    async fn get_v2_list<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
        action: &str,
    ) -> Result<Vec<T>, Error> {
        let answer = self
            .send::<()>(Method::GET, path, query, None, what, action)
            .await?;
        if answer.status == 204 || answer.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        Self::decode(&answer, action)
    }

    /// Every page of a v2 sub-resource (an order's lines, addresses, shipments): v2 pages
    /// these too, 50 by default.
    async fn get_v2_all<T: DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
        action: &str,
    ) -> Result<Vec<T>, Error> {
        // 40 pages of 250 is far beyond any real order; the bound only guards against a
        // server that ignores `page`.
        const MAX_PAGES: u32 = 40;
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let mut query = Vec::new();
            page_params(&mut query, page, MAX_PAGE_SIZE);
            let items: Vec<T> = self.get_v2_list(path, &query, what, action).await?;
            let full = items.len() >= MAX_PAGE_SIZE as usize;
            all.extend(items);
            if !full {
                break;
            }
        }
        Ok(all)
    }

    /// Sends a v3 array of one record and reads the one result (201/200, or its error from a
    /// 207).
    async fn batch_of_one<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        item: &B,
        what: &str,
        action: &str,
    ) -> Result<T, Error> {
        let answer = self
            .send(method, path, &[], Some(&[item]), what, action)
            .await?;
        let batch: Batch<T> = Self::decode(&answer, action)?;
        let mut errors = batch.errors.into_iter();
        match batch.data.into_iter().next() {
            Some(done) => Ok(done),
            None => Err(errors.next().map_or_else(
                || Error::Decode {
                    action: action.to_owned(),
                    message: "the answer holds no record and no error".into(),
                },
                |e| item_error(&e, what),
            )),
        }
    }
}

/// One entry of a 207's `errors`.
fn item_error(e: &Value, what: &str) -> Error {
    let status = e
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(422);
    Error::from_body(status, e, what, None)
}
