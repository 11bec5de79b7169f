//! What tests and people need from an emulator that the real system would not show: a ledger
//! of requests, counters (per route, writes per record, rate-limit refusals, notification
//! deliveries) and fault injection. Served under `/_sandbox/`.

use std::{
    collections::{BTreeMap, VecDeque},
    str::FromStr,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use axum::{
    Json, Router,
    body::Body,
    extract::{MatchedPath, Query, Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

/// How many requests the ledger keeps (oldest dropped first).
const LEDGER_CAPACITY: usize = 20_000;

/// Faults to inject into an emulator's responses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every response, in milliseconds.
    pub latency_ms: u64,
    /// Share of requests answered 500 (0.0–1.0).
    pub error_rate: f64,
    /// Share of requests answered 429.
    pub throttle_rate: f64,
    /// How long an injected 429 asks the client to wait, in milliseconds (0 = 1 s): sent as
    /// `Retry-After` (whole seconds, rounded up) and, as BigCommerce does on every 429, as
    /// `X-Rate-Limit-Time-Reset-Ms`.
    pub throttle_reset_ms: u64,
    /// Send an injected 429's `Retry-After` as an HTTP date (RFC 9110's IMF-fixdate, whole
    /// seconds) instead of seconds, and no reset header beside it.
    pub throttle_date: bool,
    /// Share of requests that hang for `timeout_ms` and then fail.
    pub timeout_rate: f64,
    /// How long a hanging request hangs, in milliseconds.
    pub timeout_ms: u64,
    /// Share of successful responses whose body is cut short (malformed JSON).
    pub malformed_rate: f64,
    /// Share of notifications (webhooks, push) silently dropped.
    pub drop_notifications: f64,
    /// Share of notifications delivered twice.
    pub duplicate_notifications: f64,
}

impl FromStr for Faults {
    type Err = String;

    /// Parses `latency=50ms,error_rate=0.1,throttle_rate=0.05,…` (`latency`/`timeout` take
    /// `ms` or `s`).
    fn from_str(spec: &str) -> Result<Self, String> {
        let mut f = Faults::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("fault '{part}' must look like name=value"))?;
            let rate = || -> Result<f64, String> {
                let r: f64 = value
                    .parse()
                    .map_err(|_| format!("{key}: '{value}' is not a number"))?;
                if (0.0..=1.0).contains(&r) {
                    Ok(r)
                } else {
                    Err(format!("{key} must be between 0 and 1"))
                }
            };
            let millis = || -> Result<u64, String> {
                let (n, scale) = match value.strip_suffix("ms") {
                    Some(n) => (n, 1),
                    None => (value.strip_suffix('s').unwrap_or(value), 1000),
                };
                n.parse::<u64>()
                    .map(|n| n * scale)
                    .map_err(|_| format!("{key}: '{value}' is not a duration like 50ms or 2s"))
            };
            match key {
                "latency" => f.latency_ms = millis()?,
                "timeout" => f.timeout_ms = millis()?,
                "throttle_reset" => f.throttle_reset_ms = millis()?,
                "throttle_date" => {
                    f.throttle_date = value
                        .parse()
                        .map_err(|_| format!("{key}: '{value}' is not true or false"))?
                }
                "error_rate" => f.error_rate = rate()?,
                "throttle_rate" => f.throttle_rate = rate()?,
                "timeout_rate" => f.timeout_rate = rate()?,
                "malformed_rate" => f.malformed_rate = rate()?,
                "drop_notifications" => f.drop_notifications = rate()?,
                "duplicate_notifications" => f.duplicate_notifications = rate()?,
                other => {
                    return Err(format!(
                        "unknown fault '{other}'; known: latency, timeout, error_rate, throttle_rate, \
                         throttle_reset, throttle_date, timeout_rate, malformed_rate, drop_notifications, duplicate_notifications"
                    ));
                }
            }
        }
        Ok(f)
    }
}

/// One request the emulator answered.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerEntry {
    /// Order of arrival.
    pub seq: u64,
    /// When (Unix ms).
    pub at_ms: i64,
    /// HTTP method.
    pub method: String,
    /// The request path.
    pub path: String,
    /// The route template it matched (`/stores/{hash}/v3/catalog/products/{id}`).
    pub route: String,
    /// The status answered.
    pub status: u16,
}

/// Everything the control API reports.
#[derive(Debug, Default)]
struct Inner {
    seq: u64,
    ledger: VecDeque<LedgerEntry>,
    per_route: BTreeMap<String, u64>,
    writes: BTreeMap<String, u64>,
    rate_limited: u64,
    notifications: BTreeMap<String, u64>,
    faults: Faults,
}

/// An emulator's ledger, counters and faults.
pub struct Control {
    inner: Mutex<Inner>,
    rng: Mutex<StdRng>,
    write_total: std::sync::atomic::AtomicU64,
    /// Writes the state file (set when the emulator has one).
    flush: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("write_total", &self.write_total())
            .finish_non_exhaustive()
    }
}

impl Default for Control {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            rng: Mutex::new(StdRng::seed_from_u64(0x6b6366)),
            write_total: std::sync::atomic::AtomicU64::new(0),
            flush: Mutex::new(None),
        }
    }
}

impl Control {
    /// A control with these faults active.
    pub fn with_faults(faults: Faults) -> Arc<Self> {
        let c = Self::default();
        c.lock().faults = faults;
        Arc::new(c)
    }

    /// Every request answered so far, oldest first (up to the ledger's capacity).
    pub fn ledger_snapshot(&self) -> Vec<LedgerEntry> {
        self.lock().ledger.iter().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn roll(&self, rate: f64) -> bool {
        rate > 0.0
            && self
                .rng
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .random::<f64>()
                < rate
    }

    /// Counts a write to one record (`product/12`, `StockItem/AACOMPUT01`).
    pub fn wrote(&self, record: impl Into<String>) {
        *self.lock().writes.entry(record.into()).or_default() += 1;
        self.write_total
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Writes counted so far, over all records.
    pub fn write_total(&self) -> u64 {
        self.write_total.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn set_flush(&self, flush: Box<dyn Fn() + Send + Sync>) {
        *self.flush.lock().unwrap_or_else(|p| p.into_inner()) = Some(flush);
    }

    /// Writes the emulator's state file now (when it has one).
    pub fn flush(&self) {
        if let Some(f) = self
            .flush
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            f();
        }
    }

    /// Counts a request refused by the rate limit.
    pub fn rate_limited(&self) {
        self.lock().rate_limited += 1;
    }

    /// Counts a notification event: `delivered`, `failed`, `dropped`, `duplicated`, `retried`.
    pub fn notification(&self, what: &str) {
        *self
            .lock()
            .notifications
            .entry(what.to_owned())
            .or_default() += 1;
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// Whether to drop the next notification.
    pub fn drop_notification(&self) -> bool {
        let rate = self.lock().faults.drop_notifications;
        self.roll(rate)
    }

    /// Whether to send the next notification twice.
    pub fn duplicate_notification(&self) -> bool {
        let rate = self.lock().faults.duplicate_notifications;
        self.roll(rate)
    }

    fn record(&self, method: String, path: String, route: String, status: u16) {
        let mut inner = self.lock();
        inner.seq += 1;
        let entry = LedgerEntry {
            seq: inner.seq,
            at_ms: jiff::Timestamp::now().as_millisecond(),
            method: method.clone(),
            path,
            route: route.clone(),
            status,
        };
        if inner.ledger.len() == LEDGER_CAPACITY {
            inner.ledger.pop_front();
        }
        inner.ledger.push_back(entry);
        *inner
            .per_route
            .entry(format!("{method} {route}"))
            .or_default() += 1;
    }
}

/// Middleware: injects faults, then records the request in the ledger.
pub async fn observe(
    State(control): State<Arc<Control>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| path.clone(), |m| m.as_str().to_owned());
    let faults = control.faults();
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    let response = if control.roll(faults.timeout_rate) {
        tokio::time::sleep(Duration::from_millis(faults.timeout_ms.max(1))).await;
        fault_response(StatusCode::GATEWAY_TIMEOUT, "injected timeout")
    } else if control.roll(faults.error_rate) {
        fault_response(StatusCode::INTERNAL_SERVER_ERROR, "injected server error")
    } else if control.roll(faults.throttle_rate) {
        let mut r = fault_response(StatusCode::TOO_MANY_REQUESTS, "injected throttling");
        let reset = if faults.throttle_reset_ms == 0 {
            1000
        } else {
            faults.throttle_reset_ms
        };
        let headers = r.headers_mut();
        if faults.throttle_date {
            // The second the wait ends, as an HTTP date (rounded up: never earlier than asked).
            let at = jiff::Timestamp::now()
                .as_millisecond()
                .saturating_add(i64::try_from(reset).unwrap_or(i64::MAX))
                .div_euclid(1000)
                .saturating_add(1);
            let date = jiff::Timestamp::from_second(at)
                .map(|t| t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string())
                .unwrap_or_default();
            if let Ok(v) = header::HeaderValue::from_str(&date) {
                headers.insert(header::RETRY_AFTER, v);
            }
        } else {
            headers.insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(reset.div_ceil(1000)),
            );
            headers.insert(
                "x-rate-limit-time-reset-ms",
                header::HeaderValue::from(reset),
            );
        }
        r
    } else {
        let response = next.run(request).await;
        if response.status().is_success() && control.roll(faults.malformed_rate) {
            let mut r = Response::new(Body::from("{\"data\": [{\"id\": 1, \"na"));
            *r.status_mut() = response.status();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json"),
            );
            r
        } else {
            response
        }
    };
    control.record(method, path, route, response.status().as_u16());
    response
}

fn fault_response(status: StatusCode, title: &str) -> Response {
    let body =
        serde_json::json!({ "status": status.as_u16(), "title": title, "sandbox_fault": true });
    (status, Json(body)).into_response()
}

#[derive(Debug, Deserialize)]
struct LedgerQuery {
    #[serde(default)]
    since: u64,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    1000
}

/// The `/_sandbox/` routes.
pub fn routes(control: Arc<Control>) -> Router {
    Router::new()
        .route("/_sandbox/ledger", get(ledger).delete(clear))
        .route("/_sandbox/counters", get(counters))
        .route(
            "/_sandbox/faults",
            get(get_faults).put(put_faults).delete(clear_faults),
        )
        .with_state(control)
}

async fn ledger(
    State(c): State<Arc<Control>>,
    Query(q): Query<LedgerQuery>,
) -> Json<Vec<LedgerEntry>> {
    let inner = c.lock();
    Json(
        inner
            .ledger
            .iter()
            .filter(|e| e.seq > q.since)
            .take(q.limit.min(LEDGER_CAPACITY))
            .cloned()
            .collect(),
    )
}

async fn clear(State(c): State<Arc<Control>>) -> StatusCode {
    let mut inner = c.lock();
    let faults = std::mem::take(&mut inner.faults);
    *inner = Inner {
        faults,
        seq: inner.seq,
        ..Inner::default()
    };
    StatusCode::NO_CONTENT
}

async fn counters(State(c): State<Arc<Control>>) -> Json<serde_json::Value> {
    let inner = c.lock();
    Json(serde_json::json!({
        "requests": inner.seq,
        "per_route": inner.per_route,
        "writes": inner.writes,
        "rate_limited": inner.rate_limited,
        "notifications": inner.notifications,
    }))
}

async fn get_faults(State(c): State<Arc<Control>>) -> Json<Faults> {
    Json(c.faults())
}

async fn put_faults(State(c): State<Arc<Control>>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) => {
            c.lock().faults = f.clone();
            Json(f).into_response()
        }
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}

async fn clear_faults(State(c): State<Arc<Control>>) -> StatusCode {
    c.lock().faults = Faults::default();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_specs_parse_with_clear_errors() {
        let f: Faults = "latency=50ms, error_rate=0.1,timeout=2s".parse().unwrap();
        assert_eq!((f.latency_ms, f.error_rate, f.timeout_ms), (50, 0.1, 2000));
        assert!(
            "error_rate=2"
                .parse::<Faults>()
                .unwrap_err()
                .contains("between 0 and 1")
        );
        assert!(
            "bogus=1"
                .parse::<Faults>()
                .unwrap_err()
                .contains("unknown fault 'bogus'")
        );
        assert!(
            "latency"
                .parse::<Faults>()
                .unwrap_err()
                .contains("name=value")
        );
    }
}
