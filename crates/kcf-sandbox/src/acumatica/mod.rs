//! The Acumatica emulator: contract-based REST, endpoint `Default/24.200.001`, with a cookie
//! session (`/entity/auth/login`, `/entity/auth/logout`, a limit of concurrent API users),
//! the value-wrapper JSON, `$filter`/`$select`/`$expand`/`$top`/`$skip`, `PUT` upsert with
//! `If-None-Match: *` / `If-Match: *`, `DELETE`, and 422 with per-field errors.

mod actions;
pub mod filter;
pub mod push;
pub mod schema;
pub mod swagger;
pub mod throttle;

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, RwLock},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use rand::RngExt;
use serde_json::{Map, Value, json};

use crate::{
    control::{self, Control},
    seed::Dataset,
};
use schema::{Kind, Spec};

/// The endpoint path every entity route hangs under.
pub const ENDPOINT: &str = "/entity/Default/24.200.001";

/// How the Acumatica emulator behaves.
#[derive(Debug, Clone)]
pub struct AcumaticaConfig {
    /// The API user's name.
    pub user: String,
    /// Its password.
    pub password: String,
    /// The tenant (company).
    pub tenant: String,
    /// Concurrent API users (sessions) the license allows.
    pub max_sessions: usize,
    /// The wait before resending a push notification (times the attempt number).
    pub push_retry_delay: std::time::Duration,
    /// License throttling (requests per minute, concurrent requests); `None` for none.
    pub throttle: Option<throttle::Limits>,
    /// The OAuth2 client registered for `/identity/connect/token`.
    pub oauth_client_id: String,
    /// Its secret.
    pub oauth_client_secret: String,
    /// Keep the records in this file across restarts (loaded instead of the seed when it
    /// exists); `None` keeps them in memory only.
    pub state_file: Option<std::path::PathBuf>,
    /// A cookie session unused this long is closed, freeing its license slot (Acumatica's
    /// session timeout).
    pub session_idle: std::time::Duration,
}

impl Default for AcumaticaConfig {
    fn default() -> Self {
        Self {
            state_file: None,
            session_idle: std::time::Duration::from_secs(600),
            user: "admin".into(),
            password: "sandbox".into(),
            tenant: "Company".into(),
            max_sessions: 4,
            push_retry_delay: std::time::Duration::from_secs(2),
            throttle: None,
            oauth_client_id: "sandbox-client".into(),
            oauth_client_secret: "sandbox".into(),
        }
    }
}

/// A stored record: plain field values, details as arrays of plain lines, linked objects
/// as plain objects; `id` is its NoteID.
type Record = Map<String, Value>;

#[derive(Debug, Default)]
struct Data {
    /// Entity name → records by row number (insertion order).
    records: HashMap<&'static str, BTreeMap<u64, Record>>,
    next_row: u64,
    counters: HashMap<&'static str, u64>,
    /// (entity, upper-cased key values joined by '/') → row.
    by_key: HashMap<(&'static str, String), u64>,
    /// NoteID → (entity, row).
    by_id: HashMap<String, (&'static str, u64)>,
    /// (entity, row) → the key it is indexed under.
    keys_of: HashMap<(&'static str, u64), String>,
}

/// The index key of a record: its key values, upper-cased, joined by '/'.
fn index_key(spec: &Spec, record: &Record) -> Option<String> {
    let parts: Option<Vec<String>> = spec
        .keys
        .iter()
        .map(|k| match record.get(*k) {
            Some(Value::String(s)) => Some(s.to_uppercase()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    parts.map(|p| p.join("/"))
}

impl Data {
    /// Stores a record (new or changed) and keeps the indexes in step.
    fn store(&mut self, spec: &'static Spec, row: u64, record: Record) {
        self.records
            .entry(spec.name)
            .or_default()
            .insert(row, record);
        self.reindex(spec, row);
    }

    /// Re-indexes a record after its fields changed in place.
    fn reindex(&mut self, spec: &'static Spec, row: u64) {
        if let Some(old) = self.keys_of.remove(&(spec.name, row)) {
            self.by_key.remove(&(spec.name, old));
        }
        let Some(record) = self.records.get(spec.name).and_then(|m| m.get(&row)) else {
            return;
        };
        if let Some(id) = record.get("id").and_then(Value::as_str) {
            self.by_id.insert(id.to_owned(), (spec.name, row));
        }
        if let Some(key) = index_key(spec, record) {
            self.by_key.insert((spec.name, key.clone()), row);
            self.keys_of.insert((spec.name, row), key);
        }
    }

    /// Removes a record and its index entries.
    fn remove(&mut self, spec: &'static Spec, row: u64) -> Option<Record> {
        let record = self.records.get_mut(spec.name)?.remove(&row)?;
        if let Some(key) = self.keys_of.remove(&(spec.name, row)) {
            self.by_key.remove(&(spec.name, key));
        }
        if let Some(id) = record.get("id").and_then(Value::as_str) {
            self.by_id.remove(id);
        }
        Some(record)
    }
}

/// The emulator's state.
#[derive(Debug)]
struct Acu {
    config: AcumaticaConfig,
    data: RwLock<Data>,
    sessions: Mutex<HashMap<String, i64>>,
    control: Arc<Control>,
    changes: tokio::sync::mpsc::UnboundedSender<push::Change>,
    /// OAuth2 access tokens → expiry (Unix ms).
    tokens: Mutex<HashMap<String, i64>>,
    /// Running actions → when they finish (Unix ms).
    actions: Mutex<HashMap<String, i64>>,
}

fn acu_error(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "message": message,
        "exceptionMessage": message,
        "exceptionType": "PX.Api.ContractBased.SandboxException",
        "stackTrace": null,
    });
    (status, Json(body)).into_response()
}

fn now_iso() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3f+00:00")
        .to_string()
}

pub(crate) fn new_guid() -> String {
    let mut rng = rand::rng();
    let a: u128 = rng.random();
    let h = format!("{a:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// Builds the emulator's router, seeded with `dataset`.
pub fn router(config: AcumaticaConfig, control: Arc<Control>, dataset: &Dataset) -> Router {
    match try_router(config, control, dataset) {
        Ok(router) => router,
        Err(e) => {
            tracing::error!(error = %e, "Acumatica emulator");
            Router::new()
        }
    }
}

/// The records as a state file: entity → (row, record), the row counter, autonumbers.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Snapshot {
    records: BTreeMap<String, Vec<(u64, Record)>>,
    next_row: u64,
    counters: BTreeMap<String, u64>,
}

impl Snapshot {
    fn of(d: &Data) -> Self {
        Self {
            records: d
                .records
                .iter()
                .map(|(e, m)| {
                    (
                        (*e).to_owned(),
                        m.iter().map(|(r, v)| (*r, v.clone())).collect(),
                    )
                })
                .collect(),
            next_row: d.next_row,
            counters: d
                .counters
                .iter()
                .map(|(e, n)| ((*e).to_owned(), *n))
                .collect(),
        }
    }

    fn into_data(self) -> Data {
        let mut d = Data {
            next_row: self.next_row,
            ..Data::default()
        };
        for (entity, rows) in self.records {
            let Some(spec) = schema::spec(&entity) else {
                continue;
            };
            for (row, record) in rows {
                d.store(spec, row, record);
            }
        }
        for (entity, n) in self.counters {
            if let Some(spec) = schema::spec(&entity) {
                d.counters.insert(spec.name, n);
            }
        }
        d
    }
}

/// The router, or why its state file cannot be used.
pub fn try_router(
    config: AcumaticaConfig,
    control: Arc<Control>,
    dataset: &Dataset,
) -> std::io::Result<Router> {
    let loaded = match &config.state_file {
        Some(path) => crate::state::load::<Snapshot>(path)?,
        None => None,
    };
    let data = match loaded {
        Some(snapshot) => snapshot.into_data(),
        None => {
            let mut data = Data::default();
            seed(&mut data, dataset);
            data
        }
    };
    let (changes, queue) = tokio::sync::mpsc::unbounded_channel();
    let push = Arc::new(push::Push::default());
    tokio::spawn(push::dispatch(
        push.clone(),
        control.clone(),
        config.tenant.clone(),
        config.push_retry_delay,
        queue,
    ));
    let acu = Arc::new(Acu {
        config,
        data: RwLock::new(data),
        sessions: Mutex::default(),
        control: control.clone(),
        changes,
        tokens: Mutex::default(),
        actions: Mutex::default(),
    });
    if let Some(path) = acu.config.state_file.clone() {
        // A strong reference: the state must still be writable after the server stopped.
        let held = acu.clone();
        crate::state::persist(control.clone(), path, move || {
            let acu = &held;
            let snapshot = Snapshot::of(&acu.data.read().unwrap_or_else(|p| p.into_inner()));
            serde_json::to_vec(&snapshot).ok()
        });
    }
    let sandbox = Router::new()
        .route("/_sandbox/push", get(push::deliveries))
        .route(
            "/_sandbox/push/destinations",
            get(push::get_destinations).put(push::put_destinations),
        )
        .with_state(push);
    let mut entities = Router::new()
        .route(&format!("{ENDPOINT}/{{entity}}"), get(list).put(put))
        .route(
            &format!("{ENDPOINT}/{{entity}}/{{*keys}}"),
            get(get_one).delete(delete).post(actions::invoke_any),
        )
        .layer(middleware::from_fn_with_state(acu.clone(), authenticate));
    if let Some(limits) = acu.config.throttle {
        let throttle = throttle::Throttle::new(limits);
        entities = entities.layer(middleware::from_fn_with_state(throttle, throttle::throttle));
    }
    let entities = entities.with_state(acu.clone());
    let sessions = Router::new()
        .route(
            "/_sandbox/sessions",
            get(live_sessions).delete(expire_sessions),
        )
        .with_state(acu.clone());
    let open = Router::new()
        .route("/entity/auth/login", post(login))
        .route("/entity/auth/logout", post(logout))
        .route("/identity/connect/token", post(token))
        .route("/entity", get(endpoints))
        .route(
            &format!("{ENDPOINT}/swagger.json"),
            get(|| async { Json(swagger::document()) }),
        )
        .with_state(acu);
    Ok(entities
        .merge(open)
        .fallback(|| async {
            acu_error(
                StatusCode::NOT_FOUND,
                "The requested resource was not found.",
            )
        })
        .layer(middleware::from_fn_with_state(
            control.clone(),
            control::observe,
        ))
        .merge(control::routes(control))
        .merge(sandbox)
        .merge(sessions))
}

fn seed(data: &mut Data, dataset: &Dataset) {
    let now = now_iso();
    let put = |data: &mut Data, entity: &'static str, mut r: Record| {
        data.next_row += 1;
        r.insert("id".into(), json!(new_guid()));
        r.insert("LastModifiedDateTime".into(), json!(now));
        if let Some(spec) = schema::spec(entity) {
            let row = data.next_row;
            data.store(spec, row, r);
        }
    };
    put(
        data,
        "ItemClass",
        json!({ "ClassID": "STOCKITEM", "Description": "Stock items", "StockItem": true })
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    // The lists a merchant's mappings choose from (AR201000, CS207500, CA204000, IN204000).
    for (entity, key, rows) in [
        (
            "CustomerClass",
            "ClassID",
            &[
                ("DEFAULT", "Default"),
                ("RETAIL", "Retail customers"),
                ("WHOLESALE", "Wholesale customers"),
            ][..],
        ),
        (
            "ShipVia",
            "ShipViaID",
            &[
                ("FEDEX", "FedEx Ground"),
                ("UPS", "UPS Ground"),
                ("USPS", "USPS Priority"),
                ("PICKUP", "Customer pickup"),
            ][..],
        ),
        (
            "PaymentMethod",
            "PaymentMethodID",
            &[
                ("CASH", "Cash"),
                ("CHECK", "Check"),
                ("CREDITCARD", "Credit card"),
                ("PAYPAL", "PayPal"),
            ][..],
        ),
        (
            "Warehouse",
            "WarehouseID",
            &[
                ("MAIN", "Main warehouse"),
                ("RETAIL", "Retail store"),
                ("WHOLESALE", "Wholesale warehouse"),
            ][..],
        ),
    ] {
        for (id, description) in rows {
            let mut r = Record::new();
            r.insert(key.into(), json!(id));
            r.insert("Description".into(), json!(description));
            put(data, entity, r);
        }
    }
    for c in &dataset.categories {
        let r = json!({ "CategoryID": c.id, "ParentCategoryID": c.parent_id, "Description": c.name, "SortOrder": 0, "Members": [] });
        put(
            data,
            "ItemSalesCategory",
            r.as_object().cloned().unwrap_or_default(),
        );
    }
    data.counters
        .insert("ItemSalesCategory", dataset.categories.len() as u64);
    for p in &dataset.products {
        let r = json!({
            "InventoryID": p.sku, "Description": p.name, "ItemClass": "STOCKITEM", "PostingClass": "STOCKITEM",
            "TaxCategory": "TAXABLE", "BaseUOM": "EA", "SalesUOM": "EA",
            "ItemStatus": if p.visible { "Active" } else { "Inactive" }, "ItemType": "Finished Good",
            "DefaultPrice": p.price, "DimensionWeight": p.weight, "WeightUOM": "KG",
            "Visibility": "Visible", "Availability": "StoreDefault", "ExportToExternal": true,
            "LastModified": now,
            "Categories": p.categories.iter().map(|c| json!({ "CategoryID": c })).collect::<Vec<_>>(),
        });
        put(
            data,
            "StockItem",
            r.as_object().cloned().unwrap_or_default(),
        );
    }
    for c in &dataset.customers {
        let r = json!({
            "CustomerID": format!("C{:06}", c.id), "CustomerName": format!("{} {}", c.first_name, c.last_name),
            "CustomerClass": "DEFAULT", "Status": "Active", "Email": c.email, "IsGuestCustomer": false,
            "CreatedDateTime": now,
            "MainContact": { "Email": c.email, "FirstName": c.first_name, "LastName": c.last_name, "CompanyName": c.company },
        });
        put(data, "Customer", r.as_object().cloned().unwrap_or_default());
    }
}

// ------------------------------------------------------------------ auth

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
}

async fn authenticate(State(acu): State<Arc<Acu>>, request: Request, next: Next) -> Response {
    let cookie_ok = cookie(request.headers(), ".ASPXAUTH").is_some_and(|token| {
        let now = jiff::Timestamp::now().as_millisecond();
        let idle = i64::try_from(acu.config.session_idle.as_millis()).unwrap_or(i64::MAX);
        let mut sessions = acu.sessions.lock().unwrap_or_else(|p| p.into_inner());
        match sessions.get_mut(&token) {
            Some(last) if now - *last <= idle => {
                *last = now;
                true
            }
            Some(_) => {
                sessions.remove(&token);
                false
            }
            None => false,
        }
    });
    let bearer_ok = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| {
            let now = jiff::Timestamp::now().as_millisecond();
            acu.tokens
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(token)
                .is_some_and(|expiry| *expiry > now)
        });
    let signed_in = cookie_ok || bearer_ok;
    if !signed_in {
        return acu_error(
            StatusCode::UNAUTHORIZED,
            "Authorization has been denied for this request.",
        );
    }
    next.run(request).await
}

async fn login(State(acu): State<Arc<Acu>>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return acu_error(
            StatusCode::BAD_REQUEST,
            "The request body must be JSON: {\"name\", \"password\", \"tenant\"}.",
        );
    };
    let field = |n: &str| body.get(n).and_then(Value::as_str);
    let tenant_ok = field("tenant")
        .or(field("company"))
        .is_none_or(|t| t.eq_ignore_ascii_case(&acu.config.tenant));
    if field("name") != Some(acu.config.user.as_str())
        || field("password") != Some(acu.config.password.as_str())
        || !tenant_ok
    {
        return acu_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Invalid credentials. Please try again.",
        );
    }
    let mut sessions = acu.sessions.lock().unwrap_or_else(|p| p.into_inner());
    // Sessions idle past the timeout are closed, and their license slots freed.
    let now = jiff::Timestamp::now().as_millisecond();
    let idle = i64::try_from(acu.config.session_idle.as_millis()).unwrap_or(i64::MAX);
    sessions.retain(|_, last| now - *last <= idle);
    if sessions.len() >= acu.config.max_sessions {
        return acu_error(
            StatusCode::TOO_MANY_REQUESTS,
            "API Login Limit: the maximum number of API users allowed by the license is signed in.",
        );
    }
    let token = format!("{:032x}", rand::rng().random::<u128>());
    sessions.insert(token.clone(), jiff::Timestamp::now().as_millisecond());
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    for c in [
        format!(".ASPXAUTH={token}; path=/; HttpOnly"),
        format!("ASP.NET_SessionId={token}; path=/; HttpOnly"),
        format!("CompanyID={}; path=/", acu.config.tenant),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    response
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// `POST /identity/connect/token` (form): the password grant gives a bearer token.
async fn token(
    State(acu): State<Arc<Acu>>,
    form: Result<axum::Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(axum::Form(form)) = form else {
        return oauth_error(
            "invalid_request",
            "The body must be application/x-www-form-urlencoded.",
        );
    };
    let get = |k: &str| form.get(k).map(String::as_str);
    if get("grant_type") != Some("password") {
        return oauth_error(
            "unsupported_grant_type",
            "Only the password grant is supported by the sandbox.",
        );
    }
    if get("client_id") != Some(acu.config.oauth_client_id.as_str())
        || get("client_secret") != Some(acu.config.oauth_client_secret.as_str())
    {
        return oauth_error(
            "invalid_client",
            "The client is not registered or its secret is wrong.",
        );
    }
    if get("username") != Some(acu.config.user.as_str())
        || get("password") != Some(acu.config.password.as_str())
    {
        return oauth_error("invalid_grant", "invalid_username_or_password");
    }
    let access_token = format!("{:032x}", rand::rng().random::<u128>());
    let expires_in = 3600;
    let expiry = jiff::Timestamp::now().as_millisecond() + expires_in * 1000;
    acu.tokens
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(access_token.clone(), expiry);
    Json(json!({
        "access_token": access_token,
        "expires_in": expires_in,
        "token_type": "Bearer",
        "scope": get("scope").unwrap_or("api"),
    }))
    .into_response()
}

async fn logout(State(acu): State<Arc<Acu>>, headers: HeaderMap) -> StatusCode {
    if let Some(token) = cookie(&headers, ".ASPXAUTH") {
        acu.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&token);
    }
    StatusCode::NO_CONTENT
}

/// `GET /_sandbox/sessions`: how many cookie sessions and bearer tokens are live.
async fn live_sessions(State(acu): State<Arc<Acu>>) -> Json<Value> {
    let sessions = acu.sessions.lock().unwrap_or_else(|p| p.into_inner()).len();
    let tokens = acu.tokens.lock().unwrap_or_else(|p| p.into_inner()).len();
    Json(json!({ "sessions": sessions, "tokens": tokens }))
}

/// `DELETE /_sandbox/sessions`: ends every session and token at once, as an idle timeout or an
/// application restart does on a real instance, so clients can be tested for signing in again.
async fn expire_sessions(State(acu): State<Arc<Acu>>) -> StatusCode {
    acu.sessions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clear();
    acu.tokens.lock().unwrap_or_else(|p| p.into_inner()).clear();
    StatusCode::NO_CONTENT
}

async fn endpoints() -> Json<Value> {
    Json(json!({
        "version": { "acumaticaBuildVersion": "24.200.0001", "databaseVersion": "24.200.0001" },
        "endpoints": [ { "name": "Default", "version": "24.200.001", "href": format!("{ENDPOINT}/") } ],
    }))
}

// ------------------------------------------------------------------ value wrapper

/// Wraps a plain record for output: `{"value": …}` per field, details and linked objects
/// only when expanded, `$select` applied to top-level fields.
fn wrap(spec: &Spec, r: &Record, row: u64, expand: &[String], select: Option<&[String]>) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), r.get("id").cloned().unwrap_or(Value::Null));
    out.insert("rowNumber".into(), json!(row));
    out.insert(
        "note".into(),
        json!({ "value": r.get("note").and_then(Value::as_str).unwrap_or("") }),
    );
    let selected = |name: &str| {
        select.is_none_or(|s| {
            s.iter()
                .any(|f| f == name || f.starts_with(&format!("{name}/")))
        })
    };
    for (name, _) in spec.fields {
        if let Some(v) = r.get(*name).filter(|_| selected(name)) {
            out.insert((*name).into(), json!({ "value": v }));
        }
    }
    for (name, _) in spec.details {
        if expand.iter().any(|e| e == name) {
            let lines = r
                .get(*name)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let lines: Vec<Value> = lines
                .iter()
                .enumerate()
                .map(|(n, l)| wrap_plain(l, n as u64 + 1))
                .collect();
            out.insert((*name).into(), Value::Array(lines));
        }
    }
    for name in spec.linked {
        if expand.iter().any(|e| e == name)
            && let Some(obj) = r.get(*name)
        {
            out.insert((*name).into(), wrap_plain(obj, 1));
        }
    }
    out.insert("custom".into(), json!({}));
    let id = r.get("id").and_then(Value::as_str).unwrap_or("");
    out.insert(
        "_links".into(),
        json!({ "self": format!("{ENDPOINT}/{}/{id}", spec.name) }),
    );
    Value::Object(out)
}

fn wrap_plain(v: &Value, row: u64) -> Value {
    let Some(obj) = v.as_object() else {
        return json!({ "value": v });
    };
    let mut out = Map::new();
    out.insert(
        "id".into(),
        obj.get("id").cloned().unwrap_or_else(|| json!(new_guid())),
    );
    out.insert("rowNumber".into(), json!(row));
    for (k, v) in obj {
        if k == "id" {
            continue;
        }
        out.insert(
            k.clone(),
            if v.is_object() {
                wrap_plain(v, 1)
            } else {
                json!({ "value": v })
            },
        );
    }
    Value::Object(out)
}

/// Unwraps one `{"value": …}` field, checking its type; `Err` is the field's error text.
fn unwrap_field(kind: Kind, v: &Value) -> Result<Value, String> {
    let Some(obj) = v.as_object() else {
        return Err("A field must be an object such as {\"value\": …}.".into());
    };
    let value = obj.get("value").cloned().unwrap_or(Value::Null);
    let ok = match kind {
        _ if value.is_null() => true,
        Kind::Text => value.is_string(),
        Kind::Decimal => value.is_number(),
        Kind::Int => value.as_i64().is_some(),
        Kind::Bool => value.is_boolean(),
        Kind::DateTime => value.as_str().and_then(filter::instant).is_some(),
    };
    if ok {
        Ok(value)
    } else {
        Err(format!("The value {value} is not a valid {kind:?}."))
    }
}

/// Unwraps a detail line or linked object: every member is a wrapped field or a nested object.
fn unwrap_plain(v: &Value, kinds: Option<schema::Fields>, errors: &mut Vec<String>) -> Value {
    let Some(obj) = v.as_object() else {
        return Value::Null;
    };
    let mut out = Map::new();
    for (k, v) in obj {
        match k.as_str() {
            "id" => {
                out.insert("id".into(), v.clone());
            }
            "delete" => {
                out.insert("delete".into(), v.clone());
            }
            "rowNumber" | "_links" | "custom" | "note" => {}
            _ if v.get("value").is_none() && v.is_object() => {
                out.insert(k.clone(), unwrap_plain(v, None, errors));
            }
            _ => {
                let kind = kinds
                    .and_then(|ks| ks.iter().find(|(n, _)| n == k).map(|(_, kind)| *kind))
                    .unwrap_or(Kind::Text);
                match unwrap_field(kind, v) {
                    Ok(val) => {
                        out.insert(k.clone(), val);
                    }
                    Err(e) => errors.push(format!("{k}: {e}")),
                }
            }
        }
    }
    Value::Object(out)
}

// ------------------------------------------------------------------ handlers

/// An entity name the endpoint does not serve.
struct UnknownEntity(String);

impl IntoResponse for UnknownEntity {
    fn into_response(self) -> Response {
        acu_error(
            StatusCode::NOT_FOUND,
            &format!(
                "The entity '{}' is not part of endpoint Default/24.200.001.",
                self.0
            ),
        )
    }
}

fn spec_of(entity: &str) -> Result<&'static Spec, UnknownEntity> {
    schema::spec(entity).ok_or_else(|| UnknownEntity(entity.to_owned()))
}

fn list_param(q: &HashMap<String, String>, name: &str) -> Vec<String> {
    q.get(name)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

async fn list(
    State(acu): State<Arc<Acu>>,
    Path(entity): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let spec = match spec_of(&entity) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let filter = match q.get("$filter").map(|f| filter::parse(f)).transpose() {
        Ok(f) => f,
        Err(e) => return acu_error(StatusCode::BAD_REQUEST, &format!("$filter: {e}")),
    };
    let number = |name: &str| {
        q.get(name).map(|v| {
            v.parse::<usize>()
                .map_err(|_| format!("{name} must be a non-negative integer"))
        })
    };
    let (top, skip) = match (number("$top").transpose(), number("$skip").transpose()) {
        (Ok(t), Ok(s)) => (t, s.unwrap_or(0)),
        (Err(e), _) | (_, Err(e)) => return acu_error(StatusCode::BAD_REQUEST, &e),
    };
    let expand = list_param(&q, "$expand");
    let select = q.get("$select").map(|_| list_param(&q, "$select"));
    let data = acu.data.read().unwrap_or_else(|p| p.into_inner());
    // Acumatica answers lists in the order of the entity's key, which is what makes keyset
    // paging (`Key gt 'last'`) work; filter first so only the matches are sorted.
    let mut matches: Vec<&Record> = data
        .records
        .get(spec.name)
        .into_iter()
        .flat_map(|m| m.values())
        .filter(|r| filter.as_ref().is_none_or(|f| f.matches(r)))
        .collect();
    matches.sort_by_cached_key(|r| sort_key(spec, r));
    let rows: Vec<Value> = matches
        .into_iter()
        .skip(skip)
        .take(top.unwrap_or(usize::MAX))
        .enumerate()
        .map(|(n, r)| wrap(spec, r, (skip + n + 1) as u64, &expand, select.as_deref()))
        .collect();
    Json(Value::Array(rows)).into_response()
}

/// One key field's value as lists order it: numbers numerically, text case-insensitively
/// (the database's collation), a missing value first.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum KeyPart {
    Missing,
    Number(i64),
    Text(String),
}

fn sort_key(spec: &Spec, record: &Record) -> Vec<KeyPart> {
    spec.keys
        .iter()
        .map(|k| match record.get(*k) {
            Some(Value::Number(n)) => n
                .as_i64()
                .map_or_else(|| KeyPart::Text(n.to_string()), KeyPart::Number),
            Some(Value::String(s)) => KeyPart::Text(s.to_lowercase()),
            _ => KeyPart::Missing,
        })
        .collect()
}

/// Finds a record by NoteID or by its key values (`SO/000123`, `SO|000123`).
fn find<'a>(data: &'a Data, spec: &Spec, keys: &str) -> Option<(u64, &'a Record)> {
    let parts: Vec<&str> = keys.split(['/', '|']).filter(|p| !p.is_empty()).collect();
    let records = data.records.get(spec.name)?;
    if parts.len() == 1
        && let Some((entity, row)) = data.by_id.get(parts[0])
        && *entity == spec.name
    {
        return records.get(row).map(|r| (*row, r));
    }
    if parts.len() != spec.keys.len() {
        return None;
    }
    let key = parts
        .iter()
        .map(|p| p.to_uppercase())
        .collect::<Vec<_>>()
        .join("/");
    let row = data.by_key.get(&(spec.name, key))?;
    records.get(row).map(|r| (*row, r))
}

async fn get_one(
    State(acu): State<Arc<Acu>>,
    Path((entity, keys)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let spec = match spec_of(&entity) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    if let Some((_, id)) = keys.split_once("/status/") {
        return actions::status(&acu, id);
    }
    if keys == "$adHocSchema" {
        let blank: Record = spec
            .fields
            .iter()
            .map(|(f, _)| ((*f).to_owned(), Value::Null))
            .collect();
        return Json(wrap(spec, &blank, 1, &[], None)).into_response();
    }
    let data = acu.data.read().unwrap_or_else(|p| p.into_inner());
    match find(&data, spec, &keys) {
        Some((_, r)) => {
            let select = q.get("$select").map(|_| list_param(&q, "$select"));
            Json(wrap(
                spec,
                r,
                1,
                &list_param(&q, "$expand"),
                select.as_deref(),
            ))
            .into_response()
        }
        None => acu_error(
            StatusCode::NOT_FOUND,
            &format!("No {entity} matches '{keys}'."),
        ),
    }
}

async fn delete(
    State(acu): State<Arc<Acu>>,
    Path((entity, keys)): Path<(String, String)>,
) -> Response {
    let spec = match spec_of(&entity) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let mut data = acu.data.write().unwrap_or_else(|p| p.into_inner());
    let Some((row, _)) = find(&data, spec, &keys) else {
        return acu_error(
            StatusCode::NOT_FOUND,
            &format!("No {entity} matches '{keys}'."),
        );
    };
    let old = data.remove(spec, row);
    drop(data);
    acu.control.wrote(format!("{entity}/{keys}"));
    if let Some(old) = old {
        let _ = acu.changes.send(push::Change {
            entity: spec.name,
            old: Some(push::row(spec.name, &old)),
            new: None,
        });
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `PUT /{Entity}`: update the record the body names (by `id` or key fields), or create it.
async fn put(
    State(acu): State<Arc<Acu>>,
    Path(entity): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let spec = match spec_of(&entity) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let input: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return acu_error(
                StatusCode::BAD_REQUEST,
                &format!("The request body is not valid JSON: {e}"),
            );
        }
    };
    let Some(obj) = input.as_object() else {
        return acu_error(
            StatusCode::BAD_REQUEST,
            "The request body must be a JSON object.",
        );
    };
    // Unwrap and type-check every field; collect errors per field.
    let mut plain = Record::new();
    let mut field_errors: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in obj {
        if k == "id" {
            plain.insert("id".into(), v.clone());
        } else if let Some(kind) = spec.kind(k) {
            match unwrap_field(kind, v) {
                Ok(val) => {
                    plain.insert(k.clone(), val);
                }
                Err(e) => {
                    field_errors.insert(k.clone(), e);
                }
            }
        } else if let Some(kinds) = spec.detail(k) {
            let mut errors = Vec::new();
            let lines: Vec<Value> = v
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|l| unwrap_plain(l, Some(kinds), &mut errors))
                        .collect()
                })
                .unwrap_or_default();
            if !errors.is_empty() {
                field_errors.insert(k.clone(), errors.join("; "));
            }
            plain.insert(k.clone(), Value::Array(lines));
        } else if spec.is_linked(k) {
            let mut errors = Vec::new();
            plain.insert(k.clone(), unwrap_plain(v, None, &mut errors));
        }
    }
    let now = now_iso();
    let mut data = acu.data.write().unwrap_or_else(|p| p.into_inner());
    // Referential checks, as Acumatica's graph would do them.
    if let Some(Value::String(customer)) = plain.get("CustomerID")
        && spec.name != "Customer"
        && find(&data, schema::spec("Customer").unwrap_or(spec), customer).is_none()
    {
        field_errors.insert(
            "CustomerID".into(),
            "'Customer' cannot be found in the system.".into(),
        );
    }
    // (detail, line index, field, message): Acumatica marks the bad field of the bad line.
    let mut line_errors: Vec<(&str, usize, &str, String)> = Vec::new();
    for (detail, _) in spec.details {
        for (n, line) in plain
            .get(*detail)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(Value::String(item)) = line.get("InventoryID")
                && spec.name != "ItemSalesCategory"
                && find(&data, schema::spec("StockItem").unwrap_or(spec), item).is_none()
            {
                let message = format!("'Inventory ID' {item} cannot be found in the system.");
                field_errors.insert(format!("{detail}.InventoryID"), message.clone());
                line_errors.push((detail, n, "InventoryID", message));
            }
        }
    }
    // Find the record: by id, or by all key fields.
    let existing = match plain.get("id").and_then(Value::as_str) {
        Some(id) => find(&data, spec, id).map(|(row, _)| row),
        None => {
            let keys: Option<Vec<String>> = spec
                .keys
                .iter()
                .map(|k| {
                    plain
                        .get(*k)
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                })
                .collect();
            keys.and_then(|ks| find(&data, spec, &ks.join("/")))
                .map(|(row, _)| row)
        }
    };
    let if_none_match = headers.get(header::IF_NONE_MATCH).is_some_and(|v| v == "*");
    let if_match = headers.get(header::IF_MATCH).is_some_and(|v| v == "*");
    if existing.is_some() && if_none_match {
        return acu_error(
            StatusCode::PRECONDITION_FAILED,
            &format!("The {entity} already exists."),
        );
    }
    if existing.is_none() && if_match {
        return acu_error(
            StatusCode::PRECONDITION_FAILED,
            &format!("The {entity} does not exist."),
        );
    }
    if existing.is_none() {
        for key in spec.keys {
            if Some(*key) == spec.autonumber || spec.name == "SalesOrder" && *key == "OrderType" {
                continue;
            }
            if plain.get(*key).is_none_or(Value::is_null) {
                field_errors.insert((*key).into(), format!("'{key}' cannot be empty."));
            }
        }
    }
    if !field_errors.is_empty() {
        // 422 echoes the entity with an error on each bad field.
        let mut echo = input.clone();
        for (detail, n, field, message) in &line_errors {
            if let Some(Value::Object(f)) = echo
                .get_mut(*detail)
                .and_then(|d| d.get_mut(*n))
                .and_then(|l| l.get_mut(*field))
            {
                f.insert("error".into(), json!(message));
            }
        }
        for (field, message) in &field_errors {
            let top = field.split('.').next().unwrap_or(field);
            if field.contains('.') && echo.get(top).is_some_and(Value::is_array) {
                continue;
            }
            match echo.get_mut(top) {
                Some(Value::Object(o)) => {
                    o.insert("error".into(), json!(message));
                }
                _ => {
                    echo[top] = json!({ "value": null, "error": message });
                }
            }
        }
        echo["error"] = json!(format!(
            "{entity} has errors: {}",
            field_errors.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(echo)).into_response();
    }
    let before = existing
        .and_then(|row| data.records.get(spec.name).and_then(|m| m.get(&row)))
        .map(|r| push::row(spec.name, r));
    let row = match existing {
        Some(row) => row,
        None => {
            data.next_row += 1;
            let row = data.next_row;
            let mut fresh = Record::new();
            fresh.insert("id".into(), json!(new_guid()));
            if let Some(auto) = spec.autonumber {
                let n = data.counters.entry(spec.name).or_insert(0);
                *n += 1;
                let value = if spec.kind(auto) == Some(Kind::Int) {
                    json!(*n)
                } else {
                    json!(format!("{:06}", *n))
                };
                fresh.insert(auto.into(), value);
            }
            if spec.name == "SalesOrder" {
                fresh.insert("OrderType".into(), json!("SO"));
                fresh.insert("Status".into(), json!("Open"));
                fresh.insert("CreatedDate".into(), json!(now));
            }
            if spec.kind("CreatedDateTime").is_some() {
                fresh.insert("CreatedDateTime".into(), json!(now));
            }
            data.records
                .entry(spec.name)
                .or_default()
                .insert(row, fresh);
            row
        }
    };
    let Some(record) = data
        .records
        .get_mut(spec.name)
        .and_then(|m| m.get_mut(&row))
    else {
        return acu_error(StatusCode::INTERNAL_SERVER_ERROR, "The record vanished.");
    };
    for (k, v) in plain {
        if k == "id" {
            continue;
        }
        if spec.detail(&k).is_some() {
            merge_lines(record, &k, v);
        } else {
            record.insert(k, v);
        }
    }
    if spec.name == "SalesOrder" {
        derive_order(record);
    }
    for stamp in ["LastModifiedDateTime", "LastModified"] {
        if spec.kind(stamp).is_some() {
            record.insert(stamp.into(), json!(now));
        }
    }
    let answer = wrap(spec, record, 1, &list_param(&q, "$expand"), None);
    let after = push::row(spec.name, record);
    let keys: Vec<String> = spec
        .keys
        .iter()
        .map(|k| {
            record.get(*k).map_or(String::new(), |v| {
                v.as_str().map_or_else(|| v.to_string(), str::to_owned)
            })
        })
        .collect();
    data.reindex(spec, row);
    drop(data);
    acu.control.wrote(format!("{entity}/{}", keys.join("/")));
    let _ = acu.changes.send(push::Change {
        entity: spec.name,
        old: before,
        new: Some(after),
    });
    Json(answer).into_response()
}

/// Merges detail lines: a line with an `id` updates (or, with `delete: true`, removes) that
/// line; a line without one is added.
fn merge_lines(record: &mut Record, detail: &str, incoming: Value) {
    let mut lines = record
        .get(detail)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for line in incoming.as_array().into_iter().flatten() {
        let id = line.get("id").and_then(Value::as_str).map(str::to_owned);
        let delete = line.get("delete").and_then(Value::as_bool) == Some(true);
        match id.and_then(|id| {
            lines
                .iter()
                .position(|l| l.get("id").and_then(Value::as_str) == Some(id.as_str()))
        }) {
            Some(i) if delete => {
                lines.remove(i);
            }
            Some(i) => {
                if let (Some(target), Some(src)) = (lines[i].as_object_mut(), line.as_object()) {
                    for (k, v) in src {
                        target.insert(k.clone(), v.clone());
                    }
                }
            }
            None if delete => {}
            None => {
                let mut new = line.as_object().cloned().unwrap_or_default();
                new.insert("id".into(), json!(new_guid()));
                if !new.contains_key("LineNbr") && detail != "Categories" && detail != "Members" {
                    new.insert("LineNbr".into(), json!(lines.len() + 1));
                }
                lines.push(Value::Object(new));
            }
        }
    }
    record.insert(detail.into(), Value::Array(lines));
}

fn derive_order(order: &mut Record) {
    let lines = order
        .get("Details")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut total = 0.0;
    let mut qty = 0.0;
    let mut lines_out = Vec::new();
    for mut line in lines {
        let q = line.get("OrderQty").and_then(Value::as_f64).unwrap_or(0.0);
        let p = line.get("UnitPrice").and_then(Value::as_f64).unwrap_or(0.0);
        line["ExtendedPrice"] = json!(q * p);
        line["Amount"] = json!(q * p);
        if line.get("OpenQty").is_none() {
            line["OpenQty"] = json!(q);
        }
        total += q * p;
        qty += q;
        lines_out.push(line);
    }
    order.insert("Details".into(), Value::Array(lines_out));
    order.insert("OrderTotal".into(), json!(total));
    order.insert("OrderedQty".into(), json!(qty));
}
