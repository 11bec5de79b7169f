//! The HTTP client: one signed-in session (cookie or OAuth bearer) shared by every call, a
//! semaphore that keeps at most `max_concurrent` requests in flight (the license counts
//! them), and one place that turns answers into records or [`Error`]s.

mod actions;
mod auth;
mod lists;
mod query;
mod records;
mod session;

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

use reqwest::{Method, StatusCode, Url, header};
use serde_json::Value;
use tokio::sync::{Mutex, Semaphore};

pub use actions::ACTION_WAIT;
pub use lists::ErpList;
pub use query::{ChangedQuery, ErpEntity};
pub use session::SessionKeeper;

use crate::{
    AcumaticaConfig, Error,
    error::{message_of, parse_retry_after},
    wire,
};

/// Sign-ins one request may make after meeting 401s before it gives up with
/// [`Error::SessionLost`].
const SIGN_INS_PER_REQUEST: usize = 3;

/// What must (not) exist for a `PUT` to go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precondition {
    /// Create or update, whichever applies.
    #[default]
    None,
    /// Create only (`If-None-Match: *`): 412 when the record exists.
    MustNotExist,
    /// Update only (`If-Match: *`): 412 when the record is missing.
    MustExist,
}

/// kcf's client for one Acumatica tenant. Cheap to clone; clones share the session.
#[derive(Clone, Debug)]
pub struct AcumaticaClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: AcumaticaConfig,
    http: reqwest::Client,
    /// The instance root, always ending in '/'.
    root: Url,
    /// `[endpoint name, version]`.
    endpoint: [String; 2],
    permits: Semaphore,
    /// Held while signing in or out, so concurrent 401s sign in once.
    session: Mutex<()>,
    /// Bumped by every sign-in: a request that got 401 signs in again only if no one else
    /// has since it was sent.
    generation: AtomicU64,
    signed_in: AtomicBool,
    bearer: std::sync::RwLock<Option<auth::Bearer>>,
    /// The cookie session (kept outside the process through `keeper`, when one is set).
    jar: Arc<reqwest::cookie::Jar>,
    keeper: std::sync::OnceLock<Arc<dyn SessionKeeper>>,
    /// Requests sent (for metrics).
    requests: AtomicU64,
}

/// One request, described so it can be sent again after signing in.
#[derive(Debug)]
struct Call<'a> {
    method: Method,
    url: Url,
    query: Vec<(&'static str, String)>,
    body: Body<'a>,
    precondition: Precondition,
}

#[derive(Debug)]
enum Body<'a> {
    None,
    Json(&'a Value),
    /// Already `application/x-www-form-urlencoded`.
    Form(String),
}

impl<'a> Call<'a> {
    fn get(url: Url) -> Self {
        Self {
            method: Method::GET,
            url,
            query: Vec::new(),
            body: Body::None,
            precondition: Precondition::None,
        }
    }

    fn with_body(method: Method, url: Url, body: &'a Value) -> Self {
        Self {
            body: Body::Json(body),
            method,
            ..Self::get(url)
        }
    }

    fn param(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    fn describe(&self) -> String {
        format!("{} {}", self.method, self.url.path())
    }
}

/// A complete answer.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self, what: &str) -> Result<Value, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Decode(format!("{what}: {e}")))
    }

    fn message(&self) -> String {
        message_of(&self.body)
    }

    fn retry_after(&self) -> Option<std::time::Duration> {
        self.headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after)
    }

    fn login_limit(&self) -> bool {
        String::from_utf8_lossy(&self.body).contains("API Login Limit")
    }

    /// The answer if it is a success, else the error it means.
    fn check(self, entity: &str) -> Result<Self, Error> {
        let status = self.status;
        if status.is_success() {
            return Ok(self);
        }
        if status == StatusCode::TOO_MANY_REQUESTS || self.login_limit() {
            return Err(Error::Throttled {
                retry_after: self.retry_after(),
                message: self.message(),
            });
        }
        Err(match status {
            StatusCode::NOT_FOUND => Error::NotFound(self.message()),
            StatusCode::UNPROCESSABLE_ENTITY => Error::Validation {
                entity: entity.to_owned(),
                fields: wire::field_errors(&self.body),
            },
            StatusCode::UNAUTHORIZED => Error::Unauthorized(self.message()),
            _ => Error::Http {
                status: status.as_u16(),
                message: self.message(),
            },
        })
    }
}

impl AcumaticaClient {
    /// A client for `config`; nothing is sent until the first call (or [`Self::login`]).
    pub fn new(config: AcumaticaConfig) -> Result<Self, Error> {
        config.validate()?;
        // reqwest is built without a TLS crypto provider of its own; https needs one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let root = Url::parse(&format!("{}/", config.base_url.trim_end_matches('/')))
            .map_err(|e| Error::Config(format!("base_url: {e}")))?;
        let mut parts = config.endpoint.trim_matches('/').split('/');
        let endpoint = [
            parts.next().unwrap_or_default().to_owned(),
            parts.next().unwrap_or_default().to_owned(),
        ];
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(std::time::Duration::from_secs(10)))
            .user_agent(concat!("kcf/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                permits: Semaphore::new(config.max_concurrent),
                config,
                http,
                root,
                endpoint,
                session: Mutex::new(()),
                generation: AtomicU64::new(0),
                signed_in: AtomicBool::new(false),
                bearer: std::sync::RwLock::new(None),
                jar,
                keeper: std::sync::OnceLock::new(),
                requests: AtomicU64::new(0),
            }),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &AcumaticaConfig {
        &self.inner.config
    }

    /// A URL under the instance root.
    fn url(&self, segments: &[&str]) -> Result<Url, Error> {
        let mut url = self.inner.root.clone();
        url.path_segments_mut()
            .map_err(|()| Error::Config("base_url cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// A URL under the endpoint: `…/entity/Default/24.200.001/{segments}`.
    fn entity_url(&self, segments: &[&str]) -> Result<Url, Error> {
        let [name, version] = &self.inner.endpoint;
        let mut all = vec!["entity", name.as_str(), version.as_str()];
        all.extend_from_slice(segments);
        self.url(&all)
    }

    /// Requests this client has sent to Acumatica so far (sign-ins included).
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// Sends one request, holding a permit for exactly that exchange.
    async fn send_once(&self, call: &Call<'_>) -> Result<Answer, Error> {
        let what = call.describe();
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| Error::Config("the client is shutting down".into()))?;
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone())
            .header(header::ACCEPT, "application/json");
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        request = match &call.body {
            Body::None => request,
            Body::Json(body) => request.json(body),
            Body::Form(form) => request
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form.clone()),
        };
        request = match call.precondition {
            Precondition::None => request,
            Precondition::MustNotExist => request.header(header::IF_NONE_MATCH, "*"),
            Precondition::MustExist => request.header(header::IF_MATCH, "*"),
        };
        if let Some(token) = self.bearer_token() {
            request = request.bearer_auth(token);
        }
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let response = request
            .send()
            .await
            .map_err(|e| Error::from_reqwest(&e, &what))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::from_reqwest(&e, &what))?
            .to_vec();
        tracing::debug!(request = %what, status = status.as_u16(), "acumatica");
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Sends a request signed in: signs in first if needed, and again on a 401 (an expired
    /// session or token), then retries that request. A session that is gone again before
    /// the retry (ended by a timeout or an administrator in between) gets
    /// [`SIGN_INS_PER_REQUEST`] sign-ins in all, then a retriable [`Error::SessionLost`].
    async fn execute(&self, call: &Call<'_>) -> Result<Answer, Error> {
        let mut generation = self.ensure_signed_in().await?;
        let mut answer = self.send_once(call).await?;
        for _ in 0..SIGN_INS_PER_REQUEST {
            if answer.status != StatusCode::UNAUTHORIZED {
                return Ok(answer);
            }
            tracing::info!(request = %call.describe(), "the Acumatica session expired; signing in again");
            generation = self.sign_in_again(generation).await?;
            answer = self.send_once(call).await?;
        }
        if answer.status == StatusCode::UNAUTHORIZED {
            return Err(Error::SessionLost(format!(
                "{} was refused after {SIGN_INS_PER_REQUEST} fresh sign-ins: {}",
                call.describe(),
                answer.message()
            )));
        }
        Ok(answer)
    }

    fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::SeqCst)
    }
}
