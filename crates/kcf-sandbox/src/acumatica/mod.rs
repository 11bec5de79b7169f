//! The Acumatica emulator: contract-based REST, endpoint `Default/24.200.001`, with a cookie
//! session (`/entity/auth/login`, `/entity/auth/logout`, a limit of concurrent API users),
//! the value-wrapper JSON, `$filter`/`$select`/`$expand`/`$top`/`$skip`, `PUT` upsert with
//! `If-None-Match: *` / `If-Match: *`, `DELETE`, and 422 with per-field errors.

mod actions;
mod auth;
mod error;
pub mod filter;
pub mod push;
mod put;
mod records;
pub mod schema;
mod state;
mod stock;
pub mod swagger;
pub mod throttle;
mod wire;

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

use error::acu_error;
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

/// The router, or why its state file cannot be used.
pub fn try_router(
    config: AcumaticaConfig,
    control: Arc<Control>,
    dataset: &Dataset,
) -> std::io::Result<Router> {
    let loaded = match &config.state_file {
        Some(path) => crate::state::load::<state::Snapshot>(path)?,
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
            let snapshot = state::Snapshot::of(&acu.data.read().unwrap_or_else(|p| p.into_inner()));
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
        .route(
            &format!("{ENDPOINT}/{{entity}}"),
            get(records::list).put(put::put),
        )
        .route(
            &format!("{ENDPOINT}/{{entity}}/{{*keys}}"),
            get(records::get_one)
                .delete(records::delete)
                .post(actions::invoke_any),
        )
        .layer(middleware::from_fn_with_state(
            acu.clone(),
            auth::authenticate,
        ));
    if let Some(limits) = acu.config.throttle {
        let throttle = throttle::Throttle::new(limits);
        entities = entities.layer(middleware::from_fn_with_state(throttle, throttle::throttle));
    }
    let entities = entities.with_state(acu.clone());
    let sessions = Router::new()
        .route(
            "/_sandbox/sessions",
            get(auth::live_sessions).delete(auth::expire_sessions),
        )
        .with_state(acu.clone());
    let open = Router::new()
        .route("/entity/auth/login", post(auth::login))
        .route("/entity/auth/logout", post(auth::logout))
        .route("/identity/connect/token", post(auth::token))
        .route("/entity", get(auth::endpoints))
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
            "WarehouseDetails": p.stock.iter().map(|(w, q)| json!({ "id": new_guid(), "WarehouseID": w, "QtyOnHand": q })).collect::<Vec<_>>(),
        });
        put(
            data,
            "StockItem",
            r.as_object().cloned().unwrap_or_default(),
        );
    }
    seed_templates(data, dataset, &now);
    for c in &dataset.customers {
        let r = json!({
            "CustomerID": format!("C{:06}", c.id), "CustomerName": format!("{} {}", c.first_name, c.last_name),
            "CustomerClass": "DEFAULT", "Status": "Active", "Email": c.email, "IsGuestCustomer": false,
            "CreatedDateTime": now,
            "MainContact": { "Email": c.email, "FirstName": c.first_name, "LastName": c.last_name, "CompanyName": c.company },
        });
        put(data, "Customer", r.as_object().cloned().unwrap_or_default());
    }
    seed_orders(data, dataset, &now);
    stock::refresh_all(data);
}

/// Adds a seeded record (its id and stamps set).
fn seed_record(data: &mut Data, entity: &'static str, record: Value, now: &str) {
    let Some(spec) = schema::spec(entity) else {
        return;
    };
    let mut r = record.as_object().cloned().unwrap_or_default();
    r.insert("id".into(), json!(new_guid()));
    r.insert("LastModifiedDateTime".into(), json!(now));
    if spec.kind("LastModified").is_some() {
        r.insert("LastModified".into(), json!(now));
    }
    data.next_row += 1;
    let row = data.next_row;
    data.store(spec, row, r);
}

/// The attributes, and each template with its matrix items (ordinary stock items that carry
/// `TemplateItemID` and their attribute values).
fn seed_templates(data: &mut Data, dataset: &Dataset, now: &str) {
    if dataset.templates.is_empty() {
        return;
    }
    for a in crate::seed::ATTRIBUTES {
        let values: Vec<Value> = a
            .values
            .iter()
            .enumerate()
            .map(|(n, (id, d))| json!({ "id": new_guid(), "ValueID": id, "Description": d, "SortOrder": n }))
            .collect();
        seed_record(
            data,
            "AttributeDefinition",
            json!({ "AttributeID": a.id, "Description": a.name, "ControlType": "Combo", "Values": values }),
            now,
        );
    }
    for t in &dataset.templates {
        let categories: Vec<Value> = t
            .categories
            .iter()
            .map(|c| json!({ "CategoryID": c }))
            .collect();
        let attributes: Vec<Value> = t
            .attributes
            .iter()
            .enumerate()
            .map(|(n, a)| {
                let a = &crate::seed::ATTRIBUTES[*a];
                json!({ "id": new_guid(), "AttributeID": a.id, "Description": a.name, "SortOrder": n })
            })
            .collect();
        seed_record(
            data,
            "TemplateItems",
            json!({
                "InventoryID": t.sku, "Description": t.name, "ItemClass": "STOCKITEM", "PostingClass": "STOCKITEM",
                "TaxCategory": "TAXABLE", "BaseUOM": "EA", "ItemStatus": "Active", "ItemType": "Finished Good",
                "DefaultPrice": t.price, "MSRP": t.msrp, "DimensionWeight": 0.3, "Visibility": "Visible",
                "Categories": categories, "Attributes": attributes,
            }),
            now,
        );
        for (sku, combo, on_hand) in &t.variants {
            let values: Vec<Value> = t
                .attributes
                .iter()
                .zip(combo)
                .map(|(a, v)| {
                    let a = &crate::seed::ATTRIBUTES[*a];
                    let (id, d) = a.values[*v];
                    json!({ "id": new_guid(), "AttributeID": a.id, "Value": id, "ValueDescription": d })
                })
                .collect();
            let labels: Vec<&str> = t
                .attributes
                .iter()
                .zip(combo)
                .map(|(a, v)| crate::seed::ATTRIBUTES[*a].values[*v].1)
                .collect();
            seed_record(
                data,
                "StockItem",
                json!({
                    "InventoryID": sku, "Description": format!("{} ({})", t.name, labels.join(", ")),
                    "ItemClass": "STOCKITEM", "PostingClass": "STOCKITEM", "TaxCategory": "TAXABLE",
                    "BaseUOM": "EA", "SalesUOM": "EA", "ItemStatus": "Active", "ItemType": "Finished Good",
                    "DefaultPrice": t.price, "MSRP": t.msrp, "DimensionWeight": 0.3, "WeightUOM": "KG",
                    "Visibility": "Visible", "Availability": "StoreDefault", "ExportToExternal": true,
                    "TemplateItemID": t.sku, "Attributes": values,
                    "Categories": categories,
                    "WarehouseDetails": [ { "id": new_guid(), "WarehouseID": "MAIN", "QtyOnHand": on_hand } ],
                }),
                now,
            );
        }
    }
}

/// Sales orders from other channels (no external reference): every other one shipped and
/// confirmed, the rest open, allocating stock.
fn seed_orders(data: &mut Data, dataset: &Dataset, now: &str) {
    if dataset.products.is_empty() || dataset.customers.is_empty() {
        return;
    }
    let count = (dataset.orders.len() / 2).max(1);
    for n in 0..count {
        let customer = &dataset.customers[(n * 7) % dataset.customers.len()];
        let product = &dataset.products[(n * 13) % dataset.products.len()];
        let qty = 1 + (n % 3) as u32;
        let nbr = format!("{:06}", n + 1);
        let shipped = n % 2 == 0;
        let total = product.price * f64::from(qty);
        let line = json!({
            "id": new_guid(), "LineNbr": 1, "InventoryID": product.sku, "LineDescription": product.name,
            "OrderQty": qty, "UnitPrice": product.price, "ExtendedPrice": total, "Amount": total,
            "UOM": "EA", "WarehouseID": "MAIN", "OpenQty": if shipped { 0 } else { qty },
            "QtyOnShipments": 0, "Completed": shipped,
        });
        let mut shipments = Vec::new();
        if shipped {
            let counter = data.counters.entry("Shipment").or_insert(0);
            *counter += 1;
            let shipment_nbr = format!("{:06}", *counter);
            seed_record(
                data,
                "Shipment",
                json!({
                    "ShipmentNbr": shipment_nbr, "Type": "Shipment", "Status": "Confirmed", "Operation": "Issue",
                    "CustomerID": format!("C{:06}", customer.id), "WarehouseID": "MAIN", "ShipmentDate": now,
                    "Hold": false, "ShippedQty": qty, "PackageCount": 1, "CreatedDateTime": now,
                    "Details": [ { "id": new_guid(), "LineNbr": 1, "OrderType": "SO", "OrderNbr": nbr, "OrderLineNbr": 1,
                                   "InventoryID": product.sku, "ShippedQty": qty, "OrderedQty": qty, "UOM": "EA" } ],
                    "Orders": [ { "id": new_guid(), "OrderType": "SO", "OrderNbr": nbr, "ShippedQty": qty } ],
                    "Packages": [ { "id": new_guid(), "LineNbr": 1, "BoxID": "LARGE", "TrackingNbr": format!("1Z{:010}", n + 1), "Weight": product.weight, "Confirmed": true } ],
                }),
                now,
            );
            shipments.push(json!({ "id": new_guid(), "ShipmentNbr": shipment_nbr, "ShipmentType": "Shipment", "Status": "Confirmed", "ShippedQty": qty, "ShipmentDate": now }));
        }
        seed_record(
            data,
            "SalesOrder",
            json!({
                "OrderType": "SO", "OrderNbr": nbr, "Status": if shipped { "Completed" } else { "Open" }, "Hold": false,
                "CustomerID": format!("C{:06}", customer.id), "CustomerOrder": format!("PHONE-{}", n + 1),
                "Description": "Telephone order", "CurrencyID": "USD", "Date": now, "CreatedDate": now,
                "OrderTotal": total, "OrderedQty": qty, "Details": [line], "Shipments": shipments,
            }),
            now,
        );
    }
    data.counters.insert("SalesOrder", count as u64);
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
