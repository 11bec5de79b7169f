//! The Shopify emulator: the GraphQL Admin API (`POST /admin/api/{version}/graphql.json`)
//! for the schema subset kcf and ordinary clients use, served by async-graphql (a real
//! parser, validation and introspection); `X-Shopify-Access-Token`, tokens by OAuth
//! (`POST /admin/oauth/access_token`), the query-cost bucket with `extensions.cost`, and
//! webhooks signed with `X-Shopify-Hmac-Sha256`.

mod collections;
mod cost;
mod customers;
mod fulfillments;
mod hooks;
mod inventory;
mod measurement;
mod oauth;
mod order_writes;
mod orders;
mod product_input;
mod product_set;
mod products;
mod search;
mod variants;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard},
};

use async_graphql::{EmptySubscription, MergedObject, Schema};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    control::{self, Control},
    seed::Dataset,
};

pub use cost::{CostLimit, ThrottleStatus};
pub use hooks::{Delivery, RETRY_SCHEDULE, sign};

/// How the Shopify emulator behaves.
#[derive(Debug, Clone)]
pub struct ShopifyConfig {
    /// The shop's `*.myshopify.com` domain (sent as `X-Shopify-Shop-Domain`).
    pub shop_domain: String,
    /// An accepted `X-Shopify-Access-Token` (an app installed with a token); tokens issued by
    /// `/admin/oauth/access_token` are accepted too.
    pub token: String,
    /// The app's client id and secret (OAuth; the secret signs webhooks).
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: String,
    /// The query-cost bucket; `None` for no limit.
    pub cost_limit: Option<CostLimit>,
    /// Multiplies the webhook retry schedule (1.0 = Shopify's; tests use 0.001).
    pub webhook_time_scale: f64,
    /// Keep the records in this file across restarts; `None` keeps them in memory only.
    pub state_file: Option<std::path::PathBuf>,
}

impl Default for ShopifyConfig {
    fn default() -> Self {
        Self {
            shop_domain: "sandbox.myshopify.com".into(),
            token: "shpat_sandbox".into(),
            client_id: "sandbox-client-id".into(),
            client_secret: "sandbox-client-secret".into(),
            cost_limit: Some(CostLimit::default()),
            webhook_time_scale: 1.0,
            state_file: None,
        }
    }
}

/// The API versions the emulator answers (Shopify supports each for a year).
pub const VERSIONS: &[&str] = &["2025-01", "2025-04", "2025-07", "2025-10", "2026-01"];

/// The shop's records.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Data {
    /// One counter for every id (Shopify's ids are unique across resources in practice).
    pub next_id: u64,
    pub next_order_number: u64,
    pub products: BTreeMap<u64, products::Product>,
    pub variants: BTreeMap<u64, variants::Variant>,
    pub collections: BTreeMap<u64, collections::Collection>,
    pub locations: BTreeMap<u64, inventory::Location>,
    /// Inventory item (= variant id) → location → level.
    pub levels: BTreeMap<u64, BTreeMap<u64, inventory::Level>>,
    pub customers: BTreeMap<u64, customers::Customer>,
    pub orders: BTreeMap<u64, orders::Order>,
    pub hooks: BTreeMap<u64, hooks::Hook>,
    /// Access tokens issued by OAuth.
    pub tokens: Vec<String>,
}

impl Data {
    pub(crate) fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// The emulator's state.
#[derive(Debug)]
pub(crate) struct Shop {
    config: ShopifyConfig,
    data: RwLock<Data>,
    control: Arc<Control>,
    bucket: Option<Mutex<cost::Bucket>>,
    events: tokio::sync::mpsc::UnboundedSender<hooks::Event>,
    deliveries: Mutex<Vec<Delivery>>,
    /// Points charged (actual costs) and queries refused THROTTLED, for `/_sandbox/cost`.
    spent: Mutex<(f64, u64)>,
}

impl Shop {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Data> {
        self.data.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Data> {
        self.data.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a write to a record and announces it to webhooks (`topic`: `orders/create`…,
    /// `payload`: the REST-shaped resource Shopify delivers).
    pub(crate) fn changed(&self, record: String, topic: &str, payload: Value) {
        self.control.wrote(record);
        let _ = self.events.send(hooks::Event {
            topic: topic.to_owned(),
            payload,
        });
    }
}

/// The shop's state, as resolvers reach it.
pub(crate) fn shop<'a>(ctx: &async_graphql::Context<'a>) -> &'a Arc<Shop> {
    ctx.data_unchecked::<Arc<Shop>>()
}

/// Now, in Unix ms (Shopify's times have whole seconds).
pub(crate) fn now_ms() -> i64 {
    let ms = jiff::Timestamp::now().as_millisecond();
    ms - ms.rem_euclid(1000)
}

/// A `userErrors` entry: the input path at fault, the message, and a code.
#[derive(Debug, Clone, async_graphql::SimpleObject)]
pub(crate) struct UserError {
    pub field: Option<Vec<String>>,
    pub message: String,
    pub code: Option<String>,
}

impl UserError {
    pub(crate) fn new(field: &[&str], message: impl Into<String>, code: &str) -> Self {
        Self {
            field: (!field.is_empty()).then(|| field.iter().map(|f| (*f).to_owned()).collect()),
            message: message.into(),
            code: Some(code.to_owned()),
        }
    }
}

#[derive(MergedObject, Default)]
struct QueryRoot(
    products::ProductQuery,
    variants::VariantQuery,
    collections::CollectionQuery,
    inventory::InventoryQuery,
    customers::CustomerQuery,
    orders::OrderQuery,
    fulfillments::FulfillmentQuery,
    hooks::HookQuery,
    ShopQuery,
);

#[derive(MergedObject, Default)]
struct MutationRoot(
    product_set::ProductMutation,
    variants::VariantMutation,
    collections::CollectionMutation,
    inventory::InventoryMutation,
    customers::CustomerMutation,
    order_writes::OrderMutation,
    fulfillments::FulfillmentMutation,
    hooks::HookMutation,
);

type AdminSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

#[derive(Default)]
struct ShopQuery;

/// `shop`: the shop itself.
#[derive(Debug, async_graphql::SimpleObject)]
struct ShopInfo {
    id: async_graphql::ID,
    name: String,
    myshopify_domain: String,
    currency_code: String,
    iana_timezone: String,
}

#[async_graphql::Object]
impl ShopQuery {
    async fn shop(&self, ctx: &async_graphql::Context<'_>) -> ShopInfo {
        let shop = shop(ctx);
        ShopInfo {
            id: search::gid("Shop", 1),
            name: "kcf sandbox".into(),
            myshopify_domain: shop.config.shop_domain.clone(),
            currency_code: "USD".into(),
            iana_timezone: "UTC".into(),
        }
    }
}

#[derive(Clone)]
struct App {
    shop: Arc<Shop>,
    schema: AdminSchema,
}

/// Builds the emulator's router, seeded with `dataset`.
pub fn router(config: ShopifyConfig, control: Arc<Control>, dataset: &Dataset) -> Router {
    match try_router(config, control, dataset) {
        Ok(router) => router,
        Err(e) => {
            tracing::error!(error = %e, "Shopify emulator");
            Router::new()
        }
    }
}

/// The router, or why its state file cannot be used.
pub fn try_router(
    config: ShopifyConfig,
    control: Arc<Control>,
    dataset: &Dataset,
) -> std::io::Result<Router> {
    let loaded = match &config.state_file {
        Some(path) => crate::state::load::<Data>(path)?,
        None => None,
    };
    let data = loaded.unwrap_or_else(|| {
        let mut data = Data {
            next_order_number: 1000,
            ..Data::default()
        };
        seed(&mut data, dataset);
        data
    });
    let (events, queue) = tokio::sync::mpsc::unbounded_channel();
    let shop = Arc::new(Shop {
        bucket: config.cost_limit.map(|l| Mutex::new(cost::Bucket::new(l))),
        config,
        data: RwLock::new(data),
        control: control.clone(),
        events,
        deliveries: Mutex::new(Vec::new()),
        spent: Mutex::new((0.0, 0)),
    });
    tokio::spawn(hooks::dispatch(shop.clone(), queue));
    if let Some(path) = shop.config.state_file.clone() {
        let held = shop.clone();
        crate::state::persist(control.clone(), path, move || {
            serde_json::to_vec(&*held.read()).ok()
        });
    }
    let schema = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .data(shop.clone())
    .limit_depth(24)
    .limit_recursive_depth(48)
    .finish();
    let app = App {
        shop: shop.clone(),
        schema,
    };
    let api = Router::new()
        .route("/admin/api/{version}/graphql.json", post(graphql))
        .layer(middleware::from_fn_with_state(shop.clone(), authenticate))
        .route("/admin/oauth/access_token", post(oauth::access_token))
        .fallback(not_found)
        .with_state(app);
    let sandbox = Router::new()
        .route("/_sandbox/webhooks", get(hooks::deliveries))
        .route("/_sandbox/cost", get(spent))
        .with_state(shop);
    Ok(api
        .layer(middleware::from_fn_with_state(
            control.clone(),
            control::observe,
        ))
        .merge(control::routes(control))
        .merge(sandbox))
}

/// `GET /_sandbox/cost`: the points charged so far, the queries refused THROTTLED, and the
/// bucket's settings.
async fn spent(State(shop): State<Arc<Shop>>) -> Json<Value> {
    let (points, throttled) = *shop.spent.lock().unwrap_or_else(|p| p.into_inner());
    Json(json!({
        "points_spent": points,
        "throttled": throttled,
        "maximum": shop.config.cost_limit.map(|l| l.maximum),
        "restore_rate": shop.config.cost_limit.map(|l| l.restore_rate),
    }))
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "errors": "Not Found" })),
    )
        .into_response()
}

async fn authenticate(State(shop): State<Arc<Shop>>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok());
    let known = token.is_some_and(|t| {
        !t.is_empty() && (t == shop.config.token || shop.read().tokens.iter().any(|k| k == t))
    });
    if !known {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({
                "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
            })),
        )
            .into_response();
    }
    next.run(request).await
}

/// A GraphQL request body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphqlBody {
    query: Option<String>,
    #[serde(default)]
    variables: Option<Value>,
    #[serde(default)]
    operation_name: Option<String>,
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "errors": { "query": message } })),
    )
        .into_response()
}

async fn graphql(
    State(app): State<App>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !VERSIONS.contains(&version.as_str()) {
        return not_found().await;
    }
    let graphql_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/graphql"));
    let request = if graphql_body {
        match std::str::from_utf8(&body) {
            Ok(q) => GraphqlBody {
                query: Some(q.to_owned()),
                variables: None,
                operation_name: None,
            },
            Err(_) => return bad_request("Required parameter missing or invalid"),
        }
    } else {
        match serde_json::from_slice::<GraphqlBody>(&body) {
            Ok(b) => b,
            Err(_) => return bad_request("Required parameter missing or invalid"),
        }
    };
    let Some(query) = request.query.filter(|q| !q.trim().is_empty()) else {
        return bad_request("Required parameter missing or invalid");
    };
    let variables = match request.variables {
        None | Some(Value::Null) => json!({}),
        Some(v @ Value::Object(_)) => v,
        Some(_) => return bad_request("Variables must be an object"),
    };
    let doc = async_graphql::parser::parse_query(&query).ok();
    let costed = doc
        .as_ref()
        .and_then(|d| cost::Costed::of(d, request.operation_name.as_deref(), &variables));
    let requested = costed.as_ref().map_or(1, cost::Costed::requested);
    let mut answer = respond(&app, &query, &variables, request.operation_name, requested).await;
    if let (Some(c), Some(bucket)) = (&costed, &app.shop.bucket)
        && answer.get("data").is_some_and(|d| !d.is_null())
        && answer.get("extensions").is_some()
    {
        let actual = c.actual(&answer["data"]).min(requested);
        app.shop.spent.lock().unwrap_or_else(|p| p.into_inner()).0 += actual as f64;
        let status = bucket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .refund(requested - actual);
        answer["extensions"]["cost"]["actualQueryCost"] = json!(actual);
        answer["extensions"]["cost"]["throttleStatus"] = json!(status);
    }
    let mut response = Json(answer).into_response();
    if let Ok(v) = HeaderValue::from_str(&version) {
        response.headers_mut().insert("x-shopify-api-version", v);
    }
    response
}

/// Runs the query within the bucket: refused whole (`THROTTLED`, `MAX_COST_EXCEEDED`)
/// before anything runs when the points are not there.
async fn respond(
    app: &App,
    query: &str,
    variables: &Value,
    operation: Option<String>,
    requested: u64,
) -> Value {
    let mut status = None;
    if let Some(bucket) = &app.shop.bucket {
        let mut bucket = bucket.lock().unwrap_or_else(|p| p.into_inner());
        if requested as f64 > bucket.maximum() {
            return json!({ "errors": [{
                "message": format!(
                    "Query cost is {requested}, which exceeds the single query max cost limit ({}).",
                    bucket.maximum()
                ),
                "extensions": { "code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": bucket.maximum() }
            }]});
        }
        match bucket.take(requested) {
            Ok(s) => status = Some(s),
            Err(s) => {
                drop(bucket);
                app.shop.control.rate_limited();
                app.shop.spent.lock().unwrap_or_else(|p| p.into_inner()).1 += 1;
                return json!({
                    "errors": [{
                        "message": "Throttled",
                        "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/rate-limits"
                        }
                    }],
                    "extensions": { "cost": {
                        "requestedQueryCost": requested,
                        "actualQueryCost": null,
                        "throttleStatus": s,
                    }}
                });
            }
        }
    }
    let mut request = async_graphql::Request::new(query)
        .variables(async_graphql::Variables::from_json(variables.clone()));
    if let Some(op) = operation {
        request = request.operation_name(op);
    }
    let response = app.schema.execute(request).await;
    let mut answer = serde_json::to_value(&response).unwrap_or_else(|_| json!({}));
    if let Some(s) = status {
        answer["extensions"] = json!({ "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": requested,
            "throttleStatus": s,
        }});
    }
    answer
}

fn seed(data: &mut Data, dataset: &Dataset) {
    inventory::seed_locations(data);
    let now = now_ms();
    let collections = collections::seed(data, dataset, now);
    let variants = product_set::seed(data, dataset, &collections, now);
    let customers = customers::seed(data, dataset, now);
    orders::seed(data, dataset, &customers, &variants, now);
}
