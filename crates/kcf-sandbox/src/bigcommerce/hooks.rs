//! `/v3/hooks` and webhook delivery: the hook's custom headers, a Standard Webhooks signature,
//! the documented light payload with its `hash`, and the documented retry schedule (which
//! tests compress), after which the hook is deactivated.

use std::{sync::Arc, time::Duration};

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde_json::{Value, json};
use sha1::Digest;
use tokio::sync::mpsc;

use super::{
    Bc,
    error::{BcError, BcResult},
    params::{Fields, json_body},
};

/// Seconds between attempts after a failed delivery (BigCommerce's schedule, ≈48 h).
pub const RETRY_SCHEDULE: [u64; 11] = [
    60, 180, 300, 600, 900, 1800, 3600, 7200, 21600, 50400, 86400,
];

const SCOPES: &[&str] = &[
    "store/product/created",
    "store/product/updated",
    "store/product/deleted",
    "store/product/*",
    "store/category/created",
    "store/category/updated",
    "store/category/deleted",
    "store/category/*",
    "store/customer/created",
    "store/customer/updated",
    "store/customer/deleted",
    "store/customer/*",
    "store/order/created",
    "store/order/updated",
    "store/order/archived",
    "store/order/statusUpdated",
    "store/order/*",
    "store/shipment/created",
    "store/shipment/updated",
    "store/shipment/deleted",
    "store/shipment/*",
];

/// A registered webhook.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Hook {
    pub(super) id: u64,
    client_id: String,
    store_hash: String,
    scope: String,
    destination: String,
    headers: Value,
    is_active: bool,
    created_at: i64,
    updated_at: i64,
}

impl Hook {
    fn wants(&self, scope: &str) -> bool {
        self.is_active
            && (self.scope == scope
                || self
                    .scope
                    .strip_suffix('*')
                    .is_some_and(|prefix| scope.starts_with(prefix)))
    }
}

/// Something that happened in the store.
#[derive(Debug, Clone)]
pub struct Event {
    /// `store/order/created`…
    pub scope: String,
    /// The light `data` object.
    pub data: Value,
}

/// One delivery attempt, for `/_sandbox/webhooks`.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// The hook.
    pub hook_id: u64,
    /// The event's scope.
    pub scope: String,
    /// The `webhook-id` (the same for retries and duplicates of one message).
    pub message_id: String,
    /// The payload's hash.
    pub hash: String,
    /// Attempt number (1-based).
    pub attempt: usize,
    /// The receiver's status, or 0 when it could not be reached.
    pub status: u16,
    /// When (Unix ms).
    pub at_ms: i64,
}

fn now_secs() -> i64 {
    jiff::Timestamp::now().as_second()
}

pub(super) async fn list(State(bc): State<Arc<Bc>>) -> Json<Value> {
    let data = bc.read();
    let hooks: Vec<&Hook> = data.hooks.values().collect();
    Json(json!({ "data": hooks, "meta": {} }))
}

pub(super) async fn get_one(
    State(bc): State<Arc<Bc>>,
    Path((_, id)): Path<(String, u64)>,
) -> BcResult<Json<Value>> {
    let data = bc.read();
    let hook = data
        .hooks
        .get(&id)
        .ok_or_else(|| BcError::not_found("webhook"))?;
    Ok(Json(json!({ "data": hook, "meta": {} })))
}

fn headers_of(body: &Value) -> Result<Option<Value>, ()> {
    match body.get("headers") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) if map.values().all(Value::is_string) => {
            Ok(Some(Value::Object(map.clone())))
        }
        Some(_) => Err(()),
    }
}

pub(super) async fn create(State(bc): State<Arc<Bc>>, body: Bytes) -> BcResult<Json<Value>> {
    let body = json_body(&body)?;
    let mut f = Fields::of(&body, "webhook")?;
    f.require("scope");
    f.require("destination");
    let now = now_secs();
    let mut hook = Hook {
        id: 0,
        client_id: "sandbox".into(),
        store_hash: bc.config.store_hash.clone(),
        scope: String::new(),
        destination: String::new(),
        headers: json!({}),
        is_active: true,
        created_at: now,
        updated_at: now,
    };
    apply(&mut f, &mut hook, &body);
    f.finish()?;
    let mut data = bc.write();
    if data
        .hooks
        .values()
        .any(|h| h.scope == hook.scope && h.destination == hook.destination)
    {
        return Err(BcError::conflict(
            "A webhook with this scope and destination already exists.",
        ));
    }
    data.next_hook += 1;
    hook.id = data.next_hook;
    data.hooks.insert(hook.id, hook.clone());
    Ok(Json(json!({ "data": hook, "meta": {} })))
}

fn apply(f: &mut Fields<'_>, hook: &mut Hook, body: &Value) {
    if let Some(scope) = f.string("scope") {
        if SCOPES.contains(&scope.as_str()) {
            hook.scope = scope;
        } else {
            f.errors.insert(
                "scope".into(),
                format!("scope '{scope}' is not a webhook scope"),
            );
        }
    }
    if let Some(dest) = f.string("destination") {
        if dest.starts_with("http://") || dest.starts_with("https://") {
            hook.destination = dest;
        } else {
            f.errors.insert(
                "destination".into(),
                "destination must be an http(s) URL".into(),
            );
        }
    }
    if let Some(active) = f.boolean("is_active") {
        hook.is_active = active;
    }
    match headers_of(body) {
        Ok(Some(h)) => hook.headers = h,
        Ok(None) => {}
        Err(()) => {
            f.errors.insert(
                "headers".into(),
                "headers must be an object of strings".into(),
            );
        }
    }
}

pub(super) async fn update(
    State(bc): State<Arc<Bc>>,
    Path((_, id)): Path<(String, u64)>,
    body: Bytes,
) -> BcResult<Json<Value>> {
    let body = json_body(&body)?;
    let mut f = Fields::of(&body, "webhook")?;
    let mut data = bc.write();
    let mut hook = data
        .hooks
        .get(&id)
        .cloned()
        .ok_or_else(|| BcError::not_found("webhook"))?;
    apply(&mut f, &mut hook, &body);
    f.finish()?;
    hook.updated_at = now_secs();
    data.hooks.insert(id, hook.clone());
    Ok(Json(json!({ "data": hook, "meta": {} })))
}

pub(super) async fn delete(
    State(bc): State<Arc<Bc>>,
    Path((_, id)): Path<(String, u64)>,
) -> BcResult<Json<Value>> {
    let hook = bc
        .write()
        .hooks
        .remove(&id)
        .ok_or_else(|| BcError::not_found("webhook"))?;
    Ok(Json(json!({ "data": hook, "meta": {} })))
}

/// `GET /_sandbox/webhooks`: every delivery attempt so far.
pub(super) async fn deliveries(State(bc): State<Arc<Bc>>) -> Json<Vec<Delivery>> {
    Json(
        bc.deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
    )
}

/// Turns events into deliveries to every active hook that wants them.
pub(super) async fn dispatch(bc: Arc<Bc>, mut events: mpsc::UnboundedReceiver<Event>) {
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client could not start");
            return;
        }
    };
    let mut seq: u64 = 0;
    while let Some(event) = events.recv().await {
        let hooks: Vec<Hook> = bc
            .read()
            .hooks
            .values()
            .filter(|h| h.wants(&event.scope))
            .cloned()
            .collect();
        for hook in hooks {
            seq += 1;
            let control = bc.control();
            if control.drop_notification() {
                control.notification("dropped");
                continue;
            }
            let copies = if control.duplicate_notification() {
                control.notification("duplicated");
                2
            } else {
                1
            };
            let created_at = now_secs();
            let mut payload = json!({
                "scope": event.scope,
                "store_id": "1025646",
                "producer": format!("stores/{}", bc.config.store_hash),
                "data": event.data,
                "created_at": created_at,
            });
            let hash = hex(&sha1::Sha1::digest(payload.to_string().as_bytes()));
            payload["hash"] = json!(hash);
            let message = Message {
                id: format!("msg_{seq:08}"),
                hash,
                body: payload.to_string(),
                scope: event.scope.clone(),
            };
            for _ in 0..copies {
                tokio::spawn(deliver(
                    bc.clone(),
                    http.clone(),
                    hook.clone(),
                    message.clone(),
                ));
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Message {
    id: String,
    hash: String,
    body: String,
    scope: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>` (Standard Webhooks).
pub fn sign(secret: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = match Hmac::<sha2::Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

async fn deliver(bc: Arc<Bc>, http: reqwest::Client, hook: Hook, message: Message) {
    for attempt in 1..=RETRY_SCHEDULE.len() + 1 {
        let timestamp = now_secs();
        let mut request = http
            .post(&hook.destination)
            .header("content-type", "application/json")
            .header("webhook-id", &message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                sign(
                    bc.config.client_secret.as_bytes(),
                    &message.id,
                    timestamp,
                    &message.body,
                ),
            )
            .body(message.body.clone());
        if let Some(headers) = hook.headers.as_object() {
            for (name, value) in headers {
                if let Some(v) = value.as_str() {
                    request = request.header(name.as_str(), v);
                }
            }
        }
        let status = match request.send().await {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        bc.deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Delivery {
                hook_id: hook.id,
                scope: message.scope.clone(),
                message_id: message.id.clone(),
                hash: message.hash.clone(),
                attempt,
                status,
                at_ms: jiff::Timestamp::now().as_millisecond(),
            });
        if (200..300).contains(&status) {
            bc.control().notification("delivered");
            return;
        }
        bc.control().notification("failed");
        let Some(wait) = RETRY_SCHEDULE.get(attempt - 1) else {
            break;
        };
        let scaled = Duration::from_secs_f64(*wait as f64 * bc.config.webhook_time_scale);
        tokio::time::sleep(scaled).await;
        // A hook deleted or deactivated meanwhile gets no more attempts.
        if !bc.read().hooks.get(&hook.id).is_some_and(|h| h.is_active) {
            return;
        }
        bc.control().notification("retried");
    }
    // About 48 hours of failures: BigCommerce deactivates the hook.
    if let Some(h) = bc.write().hooks.get_mut(&hook.id) {
        h.is_active = false;
    }
    bc.control().notification("deactivated");
}
