//! The BigCommerce emulator: `/stores/{hash}/v3/…` and `/v2/…`, `X-Auth-Token`, the per-store
//! rate limit with its `X-Rate-Limit-*` headers, and BigCommerce's error bodies.

mod categories;
mod customers;
mod error;
mod hooks;
mod inventory;
mod lists;
mod orders;
mod params;
mod products;
mod state;
mod variants;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard},
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{Request, State},
    http::{HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};

use crate::{
    control::{self, Control},
    seed::Dataset,
};
use error::BcError;

pub use categories::Category;
pub use customers::Customer;
pub use hooks::{Delivery, RETRY_SCHEDULE, sign};
pub use products::Product;

/// A per-store request quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub quota: u32,
    /// The window.
    pub window: Duration,
}

impl Default for RateLimit {
    /// BigCommerce Standard and Plus plans: 150 requests per 30 s.
    fn default() -> Self {
        Self {
            quota: 150,
            window: Duration::from_secs(30),
        }
    }
}

/// How the BigCommerce emulator behaves.
#[derive(Debug, Clone)]
pub struct BigCommerceConfig {
    /// The store hash in `/stores/{hash}/…`.
    pub store_hash: String,
    /// The accepted `X-Auth-Token`.
    pub token: String,
    /// The per-store quota; `None` for no limit.
    pub rate_limit: Option<RateLimit>,
    /// The app's client secret: webhook signatures are keyed with it.
    pub client_secret: String,
    /// Multiplies the webhook retry schedule (1.0 = BigCommerce's; tests use 0.001).
    pub webhook_time_scale: f64,
    /// Keep the records in this file across restarts (loaded instead of the seed when it
    /// exists); `None` keeps them in memory only.
    pub state_file: Option<std::path::PathBuf>,
}

impl Default for BigCommerceConfig {
    fn default() -> Self {
        Self {
            store_hash: "sandbox".into(),
            token: "sandbox".into(),
            rate_limit: Some(RateLimit::default()),
            client_secret: "sandbox-client-secret".into(),
            webhook_time_scale: 1.0,
            state_file: None,
        }
    }
}

/// The store's records.
#[derive(Debug, Default)]
pub(crate) struct Data {
    pub products: BTreeMap<u64, Product>,
    pub product_names: std::collections::HashMap<String, u64>,
    pub product_skus: std::collections::HashMap<String, u64>,
    pub next_product: u64,
    pub categories: BTreeMap<u64, Category>,
    pub next_category: u64,
    pub customers: BTreeMap<u64, Customer>,
    pub next_customer: u64,
    pub orders: BTreeMap<u64, orders::Order>,
    pub next_order: u64,
    pub next_shipment: u64,
    pub hooks: BTreeMap<u64, hooks::Hook>,
    pub next_hook: u64,
    pub variants: BTreeMap<u64, variants::Variant>,
    pub next_variant: u64,
    pub options: BTreeMap<u64, variants::ProductOption>,
    pub next_option: u64,
    pub next_option_value: u64,
    /// (location, variant) → level; a product without options keeps its level under its
    /// own id (its base variant).
    pub stock: BTreeMap<(u64, u64), i64>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    used: u32,
}

/// The emulator's state.
#[derive(Debug)]
pub(crate) struct Bc {
    config: BigCommerceConfig,
    data: RwLock<Data>,
    control: Arc<Control>,
    window: Mutex<Window>,
    events: tokio::sync::mpsc::UnboundedSender<hooks::Event>,
    deliveries: Mutex<Vec<Delivery>>,
}

impl Bc {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Data> {
        self.data.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Data> {
        self.data.write().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn control(&self) -> &Control {
        &self.control
    }

    /// Counts a write to a record and announces it (`store/{kind}/{what}`) to webhooks.
    pub(crate) fn changed(&self, kind: &str, id: u64, what: &str) {
        self.control.wrote(format!("{kind}/{id}"));
        self.emit(
            &format!("store/{kind}/{what}"),
            serde_json::json!({ "type": kind, "id": id }),
        );
    }

    /// Announces a change to the webhook dispatcher.
    pub(crate) fn emit(&self, scope: &str, data: serde_json::Value) {
        let _ = self.events.send(hooks::Event {
            scope: scope.to_owned(),
            data,
        });
    }
}

/// Modification times have BigCommerce's resolution: whole seconds (so records share them).
pub(crate) fn now_ms() -> i64 {
    let ms = jiff::Timestamp::now().as_millisecond();
    ms - ms.rem_euclid(1000)
}

/// Builds the emulator's router, seeded with `dataset`.
pub fn router(config: BigCommerceConfig, control: Arc<Control>, dataset: &Dataset) -> Router {
    match try_router(config, control, dataset) {
        Ok(router) => router,
        Err(e) => {
            tracing::error!(error = %e, "BigCommerce emulator");
            Router::new()
        }
    }
}

/// The router, or why its state file cannot be used.
pub fn try_router(
    config: BigCommerceConfig,
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
            let mut data = Data {
                next_order: 99,
                ..Data::default()
            };
            seed(&mut data, dataset);
            data
        }
    };
    let (events, queue) = tokio::sync::mpsc::unbounded_channel();
    let bc = Arc::new(Bc {
        config,
        data: RwLock::new(data),
        control: control.clone(),
        window: Mutex::new(Window {
            started: Instant::now(),
            used: 0,
        }),
        events,
        deliveries: Mutex::new(Vec::new()),
    });
    tokio::spawn(hooks::dispatch(bc.clone(), queue));
    if let Some(path) = bc.config.state_file.clone() {
        // A strong reference: the state must still be writable after the server stopped.
        let held = bc.clone();
        crate::state::persist(control.clone(), path, move || {
            let bc = &held;
            let snapshot = state::Snapshot::of(&bc.read());
            serde_json::to_vec(&snapshot).ok()
        });
    }
    let v3 = "/stores/{hash}/v3";
    let v2 = "/stores/{hash}/v2";
    let api = Router::new()
        .route(
            &format!("{v3}/catalog/products"),
            get(products::list)
                .post(products::create)
                .put(products::update_many)
                .delete(products::delete_many),
        )
        .route(
            &format!("{v3}/catalog/products/{{id}}"),
            get(products::get_one)
                .put(products::update_one)
                .delete(products::delete_one),
        )
        .route(
            &format!("{v3}/catalog/trees"),
            get(categories::list_trees).put(categories::upsert_trees),
        )
        .route(
            &format!("{v3}/catalog/trees/categories"),
            get(categories::list)
                .post(categories::create)
                .put(categories::update)
                .delete(categories::delete_many),
        )
        .route(
            &format!("{v3}/catalog/trees/{{tree_id}}/categories"),
            get(categories::tree),
        )
        .route(
            &format!("{v3}/customers"),
            get(customers::list)
                .post(customers::create)
                .put(customers::update)
                .delete(customers::delete_many),
        )
        .route(
            &format!("{v2}/orders"),
            get(orders::list).post(orders::create),
        )
        .route(
            &format!("{v2}/orders/{{id}}"),
            get(orders::get_one).put(orders::update),
        )
        .route(
            &format!("{v2}/orders/{{id}}/products"),
            get(orders::products),
        )
        .route(
            &format!("{v2}/orders/{{id}}/shipping_addresses"),
            get(orders::shipping_addresses),
        )
        .route(
            &format!("{v2}/orders/{{id}}/shipments"),
            get(orders::list_shipments).post(orders::create_shipment),
        )
        .route(&format!("{v2}/order_statuses"), get(orders::statuses))
        .route(
            &format!("{v2}/customer_groups"),
            get(lists::customer_groups),
        )
        .route(
            &format!("{v2}/payments/methods"),
            get(lists::payment_methods),
        )
        .route(&format!("{v3}/catalog/variants"), get(variants::list_all))
        .route(
            &format!("{v3}/catalog/products/{{id}}/variants"),
            get(variants::list).post(variants::create),
        )
        .route(
            &format!("{v3}/catalog/products/{{id}}/variants/{{variant_id}}"),
            axum::routing::put(variants::update).delete(variants::delete),
        )
        .route(
            &format!("{v3}/catalog/products/{{id}}/options"),
            get(variants::options),
        )
        .route(&format!("{v3}/inventory/locations"), get(lists::locations))
        .route(
            &format!("{v3}/inventory/adjustments/absolute"),
            axum::routing::put(inventory::absolute),
        )
        .route(&format!("{v3}/inventory/items"), get(inventory::items))
        .route(&format!("{v3}/hooks"), get(hooks::list).post(hooks::create))
        .route(
            &format!("{v3}/hooks/{{id}}"),
            get(hooks::get_one).put(hooks::update).delete(hooks::delete),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(bc.clone(), rate_limit))
        .layer(middleware::from_fn_with_state(bc.clone(), authenticate))
        .with_state(bc.clone());
    let sandbox = Router::new()
        .route("/_sandbox/webhooks", get(hooks::deliveries))
        .with_state(bc);
    Ok(api
        .layer(middleware::from_fn_with_state(
            control.clone(),
            control::observe,
        ))
        .merge(control::routes(control))
        .merge(sandbox))
}

async fn not_found() -> BcError {
    BcError::new(
        StatusCode::NOT_FOUND,
        "The requested resource was not found.",
    )
}

async fn authenticate(State(bc): State<Arc<Bc>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let hash_ok = path
        .strip_prefix("/stores/")
        .and_then(|rest| rest.split('/').next())
        .is_some_and(|hash| hash == bc.config.store_hash);
    if !hash_ok {
        return BcError::new(StatusCode::NOT_FOUND, "The store was not found.").into_response();
    }
    let token = request
        .headers()
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok());
    if token != Some(bc.config.token.as_str()) {
        let title = if token.is_none() {
            "The X-Auth-Token header is missing."
        } else {
            "The X-Auth-Token is not valid."
        };
        return BcError::new(StatusCode::UNAUTHORIZED, title).into_response();
    }
    next.run(request).await
}

/// A fixed window per store: `quota` requests, then 429 until the window resets. Every answer
/// carries the `X-Rate-Limit-*` headers.
async fn rate_limit(State(bc): State<Arc<Bc>>, request: Request, next: Next) -> Response {
    let Some(limit) = bc.config.rate_limit else {
        return next.run(request).await;
    };
    let (allowed, left, reset) = {
        let mut w = bc.window.lock().unwrap_or_else(|p| p.into_inner());
        if w.started.elapsed() >= limit.window {
            *w = Window {
                started: Instant::now(),
                used: 0,
            };
        }
        let reset = limit.window.saturating_sub(w.started.elapsed());
        if w.used < limit.quota {
            w.used += 1;
            (true, limit.quota - w.used, reset)
        } else {
            (false, 0, reset)
        }
    };
    let mut response = if allowed {
        next.run(request).await
    } else {
        bc.control.rate_limited();
        BcError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests. The rate limit for this store was exceeded.",
        )
        .into_response()
    };
    let headers = response.headers_mut();
    let num =
        |n: u128| HeaderValue::from_str(&n.to_string()).unwrap_or(HeaderValue::from_static("0"));
    headers.insert("x-rate-limit-time-window-ms", num(limit.window.as_millis()));
    headers.insert("x-rate-limit-time-reset-ms", num(reset.as_millis()));
    headers.insert("x-rate-limit-requests-quota", num(u128::from(limit.quota)));
    headers.insert("x-rate-limit-requests-left", num(u128::from(left)));
    response
}

fn seed(data: &mut Data, dataset: &Dataset) {
    let now = now_ms();
    for c in &dataset.categories {
        data.next_category = data.next_category.max(c.id);
        data.categories.insert(c.id, Category::seeded(c, now));
    }
    for p in &dataset.products {
        data.next_product = data.next_product.max(p.id);
        data.put_product(Product::seeded(p, now));
    }
    for c in &dataset.customers {
        data.next_customer = data.next_customer.max(c.id);
        data.customers.insert(c.id, Customer::seeded(c, now));
    }
    // The store's history predates kcf: the seeded orders were placed a day or more ago,
    // ten minutes apart, the newest last.
    let count = dataset.orders.len() as i64;
    for (n, o) in dataset.orders.iter().enumerate() {
        let placed = now - 86_400_000 - (count - n as i64) * 600_000;
        if let Some(order) = orders::Order::seeded(o, data, placed) {
            data.next_order = data.next_order.max(o.id);
            data.orders.insert(o.id, order);
        }
    }
}
