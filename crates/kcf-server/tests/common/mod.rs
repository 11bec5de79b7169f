//! The end-to-end harness: the ERP emulator and a store emulator (BigCommerce or Shopify, by
//! [`Options::store`]; a second store with [`Options::second_store`]), a fresh database
//! (SQLite or PostgreSQL), the engine with a connector wired to each store, and the api +
//! workers started through the same call as `kcf up`. Tests drive the emulators over their
//! public HTTP APIs only; `shop.rs` drives either store the same way.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod shop;

use std::{future::Future, sync::Arc, time::Duration};

use kcf_domain::{ConnectorId, Entity, EntitySettings, Message, MessageStatus, Secret};
use kcf_engine::{Engine, WorkerConfig, registry::StoreKind};
use kcf_sandbox::{Dataset, Emulator, Faults, SeedSize};
use kcf_server::{AppConfig, Running, wiring};
use kcf_store::{MessageFilter, PageRequest};
use reqwest::{Client, Method};
use serde_json::{Value, json};

pub const TOKEN: &str = "test-token";
const ACU: &str = "/entity/Default/24.200.001";
const BC3: &str = "/stores/sandbox/v3";
const BC2: &str = "/stores/sandbox/v2";

/// Options for a harness.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: SeedSize,
    pub faults: Faults,
    pub bc_rate_limit: Option<(u32, u64)>,
    /// The Shopify emulator's bucket (maximum points, restored per second); Shopify Plus's
    /// when `None`.
    pub shopify_bucket: Option<(f64, f64)>,
    pub initial_sync: bool,
    pub workers: bool,
    pub client_timeout: Duration,
    pub outage: kcf_engine::OutagePolicy,
    pub timeouts: kcf_server::Timeouts,
    /// The store of the connector under test.
    pub store: StoreKind,
    /// A second store, with a connector of its own (`test2`) to the same ERP.
    pub second_store: Option<StoreKind>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            seed: SeedSize::Small,
            faults: Faults::default(),
            bc_rate_limit: None,
            shopify_bucket: None,
            initial_sync: false,
            workers: true,
            client_timeout: Duration::from_secs(5),
            // Probes close together, so a test sees an outage end soon after its cause.
            outage: kcf_engine::OutagePolicy {
                first_probe: Duration::from_millis(200),
                max_probe: Duration::from_secs(2),
                ..kcf_engine::OutagePolicy::default()
            },
            timeouts: kcf_server::Timeouts::default(),
            store: StoreKind::BigCommerce,
            second_store: None,
        }
    }
}

pub struct Harness {
    pub db: kcf_testkit::TestDb,
    pub acu: Emulator,
    /// The store emulator of the connector under test (BigCommerce unless
    /// [`Options::store`] says otherwise).
    pub bc: Emulator,
    /// Which store that is.
    pub kind: StoreKind,
    /// The second store's connector and emulator, when asked for.
    pub second: Option<(StoreKind, ConnectorId, Emulator)>,
    pub engine: Arc<Engine>,
    pub app: Option<Running>,
    pub id: ConnectorId,
    pub http: Client,
    erp: Client,
}

impl Harness {
    pub async fn start(backend: &str) -> Self {
        Self::with(backend, Options::default()).await
    }

    pub async fn with(backend: &str, options: Options) -> Self {
        let db = kcf_testkit::TestDb::open(
            backend,
            kcf_domain::RetryPolicy {
                base: Duration::from_millis(50),
                cap: Duration::from_millis(400),
            },
        )
        .await;
        let dataset = Dataset::generate(options.seed);
        let acu_config = kcf_sandbox::acumatica::AcumaticaConfig {
            max_sessions: 16,
            push_retry_delay: Duration::from_millis(50),
            ..Default::default()
        };
        let acu = kcf_sandbox::start(
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            kcf_sandbox::EmulatorConfig::Acumatica(acu_config),
            options.faults.clone(),
            &dataset,
            kcf_sandbox::Transport::Http,
        )
        .await
        .unwrap();
        let engine = Engine::new(db.store.clone());
        let id = ConnectorId::parse("test").unwrap();
        let (bc, spec) = store_side(&options, options.store, &id, &dataset, &acu).await;
        engine.add_connector(spec).await.unwrap();
        let mut second = None;
        if let Some(kind) = options.second_store {
            let id2 = ConnectorId::parse("test2").unwrap();
            let (emulator, spec) = store_side(&options, kind, &id2, &dataset, &acu).await;
            engine.add_connector(spec).await.unwrap();
            second = Some((kind, id2, emulator));
        }
        let app = kcf_server::start(
            engine.clone(),
            Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()),
            AppConfig {
                api: true,
                worker: options.workers,
                workers: WorkerConfig {
                    owner: format!("test-{backend}"),
                    concurrency: 8,
                    lease: Duration::from_secs(30),
                    idle_wait: Duration::from_millis(200),
                    grace: Duration::from_secs(5),
                    outage: options.outage.clone(),
                },
                worker_loops: 2,
                api_tokens: vec![Secret::new(TOKEN)],
                schedule_tick: Duration::from_millis(500),
                timeouts: options.timeouts,
            },
        )
        .await
        .unwrap();
        let url = app.url().unwrap();
        wiring::wire_sandbox(&engine, &id, &url, &acu.url())
            .await
            .unwrap();
        if let Some((_, id2, _)) = &second {
            wiring::wire_sandbox(&engine, id2, &url, &acu.url())
                .await
                .unwrap();
        }
        if options.initial_sync {
            wiring::initial_sync(&engine, &id).await.unwrap();
        }
        let erp = Client::builder().cookie_store(true).build().unwrap();
        let login = erp
            .post(format!("{}/entity/auth/login", acu.url()))
            .json(&json!({ "name": "admin", "password": "sandbox", "tenant": "Company" }))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 204);
        Self {
            db,
            acu,
            bc,
            kind: options.store,
            second,
            engine,
            app: Some(app),
            id,
            http: Client::new(),
            erp,
        }
    }

    pub fn url(&self) -> String {
        self.app.as_ref().and_then(Running::url).unwrap()
    }

    /// The store of the connector under test, driven over its own API.
    pub fn shop(&self) -> shop::Shop {
        shop::Shop::new(self.kind, self.bc.url())
    }

    /// The second store, when there is one.
    pub fn second_shop(&self) -> Option<shop::Shop> {
        self.second
            .as_ref()
            .map(|(kind, _, e)| shop::Shop::new(*kind, e.url()))
    }

    pub async fn stop(mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown().await;
        }
    }

    // ---- Acumatica, over its public API ----

    pub async fn erp(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .erp
            .request(method, format!("{}{ACU}{path}", self.acu.url()));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// PUTs a plain record (wrapped here), returning the plain answer.
    pub async fn erp_put(&self, entity: &str, plain: Value) -> Value {
        let (status, body) = self
            .erp(Method::PUT, &format!("/{entity}"), Some(wrap(&plain)))
            .await;
        assert_eq!(status, 200, "PUT {entity}: {body}");
        unwrap(&body)
    }

    pub async fn erp_get(&self, path: &str) -> Option<Value> {
        let (status, body) = self.erp(Method::GET, path, None).await;
        (status == 200).then(|| unwrap(&body))
    }

    /// Runs an action to completion.
    pub async fn erp_action(&self, path: &str, entity: Value) {
        let r = self
            .erp
            .post(format!("{}{ACU}{path}", self.acu.url()))
            .json(&json!({ "entity": wrap(&entity), "parameters": {} }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202, "{path}: {}", r.text().await.unwrap());
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        for _ in 0..200 {
            let p = self
                .erp
                .get(format!("{}{location}", self.acu.url()))
                .send()
                .await
                .unwrap()
                .status();
            if p == 204 {
                return;
            }
            assert_eq!(p, 202, "{path} failed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{path} never finished");
    }

    // ---- BigCommerce, over its public API ----

    pub async fn store(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let base = if path.starts_with("/v2") { BC2 } else { BC3 };
        let path = path.trim_start_matches("/v2").trim_start_matches("/v3");
        let mut req = self
            .http
            .request(method, format!("{}{base}{path}", self.bc.url()))
            .header("X-Auth-Token", "sandbox")
            .header("Accept", "application/json");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn products_with_sku(&self, sku: &str) -> Vec<Value> {
        let (_, body) = self
            .store(
                Method::GET,
                &format!("/v3/catalog/products?sku={sku}"),
                None,
            )
            .await;
        body["data"].as_array().cloned().unwrap_or_default()
    }

    /// The store emulator's request ledger (every request it answered, oldest first).
    #[allow(dead_code)]
    pub async fn store_ledger(&self) -> Vec<Value> {
        self.http
            .get(format!("{}/_sandbox/ledger?limit=20000", self.bc.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// kcf's own journal of the store's rate limit: when each request passed the limiter,
    /// and when kcf learnt of each pause.
    #[allow(dead_code)]
    pub fn rate_limit_journal(&self) -> kcf_platform::RateLimitJournal {
        self.engine
            .runtime(&self.id)
            .unwrap()
            .store
            .rate_limit_journal()
    }

    /// Places an order in the store (`POST /v2/orders`), returning it.
    pub async fn place_order(&self, email: &str, lines: &[(&str, u32)]) -> Value {
        let mut products = Vec::new();
        for (sku, qty) in lines {
            let found = self.products_with_sku(sku).await;
            let product = found
                .first()
                .unwrap_or_else(|| panic!("no store product {sku}"));
            products.push(json!({ "product_id": product["id"], "quantity": qty }));
        }
        let body = json!({
            "customer_id": 0,
            "status_id": 11,
            "billing_address": {
                "first_name": "Test", "last_name": "Buyer", "street_1": "1 Main St", "city": "Austin",
                "state": "Texas", "zip": "78701", "country": "United States", "country_iso2": "US",
                "email": email, "phone": "555-0100"
            },
            "shipping_addresses": [{
                "first_name": "Test", "last_name": "Buyer", "street_1": "1 Main St", "city": "Austin",
                "state": "Texas", "zip": "78701", "country": "United States", "country_iso2": "US",
                "email": email
            }],
            "products": products,
        });
        let (status, order) = self.store(Method::POST, "/v2/orders", Some(body)).await;
        assert!(
            status == 200 || status == 201,
            "create order: {status} {order}"
        );
        order
    }

    // ---- kcf's own view ----

    pub async fn messages(&self, entity: Entity) -> Vec<Message> {
        let filter = MessageFilter {
            entity: Some(entity),
            ..MessageFilter::default()
        };
        self.db
            .store
            .list_messages(
                &filter,
                PageRequest {
                    before: None,
                    limit: 500,
                },
            )
            .await
            .unwrap()
            .items
    }

    /// The store id kcf bound ERP record `erp_key` of `entity` to, once it has.
    pub async fn bound(&self, entity: Entity, erp_key: &str) -> Option<String> {
        self.db
            .store
            .binding(&self.id, entity, kcf_store::BindingKey::Erp(erp_key))
            .await
            .unwrap()
            .map(|b| b.external_id)
    }

    /// The entity's messages once none is open: none pending, processing, or failed and
    /// waiting for its retry. (A write lands on the other side a moment before its message
    /// is marked processed; echoes of our own writes arrive a moment after.)
    pub async fn settled(&self, entity: Entity) -> Vec<Message> {
        eventually(&format!("{entity:?} messages settled"), WAIT, || async {
            let m = self.messages(entity).await;
            m.iter()
                .all(|m| {
                    !matches!(
                        m.status,
                        MessageStatus::Pending | MessageStatus::Processing | MessageStatus::Failed
                    )
                })
                .then_some(m)
        })
        .await
    }

    pub async fn set_settings(&self, entity: Entity, f: impl FnOnce(&mut EntitySettings)) {
        let mut all = self.db.store.entity_settings(&self.id).await.unwrap();
        let s = all.iter_mut().find(|s| s.entity == entity).unwrap();
        f(s);
        self.db.store.put_entity_settings(s).await.unwrap();
    }

    /// Signs in to the workspace as admin (created now if need be); the session cookie.
    pub async fn sign_in(&self) -> String {
        kcf_server::auth::ensure_admin(&*self.db.store, Some("test-admin-password"))
            .await
            .unwrap();
        let signed_in = self
            .web()
            .post(format!("{}/login", self.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("username=admin&password=test-admin-password&next=/")
            .send()
            .await
            .unwrap();
        signed_in.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    }

    /// A workspace page read with the session `cookie`; its HTML (and 200, asserted).
    pub async fn page(&self, cookie: &str, path: &str) -> String {
        let r = self
            .web()
            .get(format!("{}{path}", self.url()))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.text().await.unwrap()
    }

    fn web(&self) -> Client {
        Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.url()))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// A store emulator of `kind` and the connector `id` to it from the ERP emulator `acu`.
async fn store_side(
    options: &Options,
    kind: StoreKind,
    id: &ConnectorId,
    dataset: &Dataset,
    acu: &Emulator,
) -> (Emulator, kcf_engine::registry::ConnectorSpec) {
    let config = match kind {
        StoreKind::BigCommerce => {
            let mut c = kcf_sandbox::bigcommerce::BigCommerceConfig {
                webhook_time_scale: 0.001,
                ..Default::default()
            };
            match options.bc_rate_limit {
                Some((quota, window_ms)) => {
                    if let Some(limit) = c.rate_limit.as_mut() {
                        limit.quota = quota;
                        limit.window = Duration::from_millis(window_ms);
                    }
                }
                None => c.rate_limit = None,
            }
            kcf_sandbox::EmulatorConfig::BigCommerce(c)
        }
        StoreKind::Shopify => {
            kcf_sandbox::EmulatorConfig::Shopify(kcf_sandbox::shopify::ShopifyConfig {
                webhook_time_scale: 0.001,
                // Shopify Plus's bucket: tests are about the flows, not the budget.
                cost_limit: Some(kcf_sandbox::shopify::CostLimit {
                    maximum: options.shopify_bucket.map_or(10_000.0, |b| b.0),
                    restore_rate: options.shopify_bucket.map_or(5_000.0, |b| b.1),
                }),
                ..Default::default()
            })
        }
    };
    let emulator = kcf_sandbox::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        config,
        options.faults.clone(),
        dataset,
        kcf_sandbox::Transport::Http,
    )
    .await
    .unwrap();
    let mut spec = wiring::sandbox_connector(id.clone(), &acu.url(), kind, &emulator.url());
    spec.acumatica.timeout = options.client_timeout;
    if let Some(bc) = spec.bigcommerce_mut() {
        match options.bc_rate_limit {
            Some((quota, window_ms)) => {
                bc.quota = quota;
                bc.window = Duration::from_millis(window_ms);
            }
            None => bc.quota = 100_000,
        }
        bc.timeout = options.client_timeout;
    }
    if let Some(s) = spec.shopify_mut() {
        s.timeout = options.client_timeout;
    }
    (emulator, spec)
}

/// How long a test waits for the sync to reach a state: a deadline, never a measure, so generous
/// enough for a machine whose cores are busy with other work.
pub const WAIT: Duration = Duration::from_secs(60);

/// Polls `check` until it returns Some or `timeout` passes; panics with `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Plain JSON → Acumatica's value wrapper.
pub fn wrap(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let w = match v {
                        Value::Array(a) => Value::Array(a.iter().map(wrap).collect()),
                        Value::Object(_) => wrap(v),
                        _ if k == "id" || k == "delete" => v.clone(),
                        other => json!({ "value": other }),
                    };
                    (k.clone(), w)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Acumatica's value wrapper → plain JSON.
pub fn unwrap(v: &Value) -> Value {
    match v {
        Value::Object(o) if o.len() == 1 && o.contains_key("value") => o["value"].clone(),
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| *k != "rowNumber" && *k != "custom" && *k != "_links")
                .map(|(k, v)| (k.clone(), unwrap(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(unwrap).collect()),
        other => other.clone(),
    }
}

/// Runs a test body once on SQLite and once on PostgreSQL (the bodies live in the test file,
/// hence `crate::`).
#[macro_export]
#[allow(clippy::crate_in_macro_def)]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::$name("sqlite").await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::$name("postgres").await;
                }
            )*
        }
    };
}

/// Runs a test body on each store platform and each backend: `crate::$name(store, backend)`.
#[macro_export]
#[allow(clippy::crate_in_macro_def)]
macro_rules! every_store {
    ($($name:ident),* $(,)?) => {
        mod bigcommerce_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::$name(kcf_engine::registry::StoreKind::BigCommerce, "sqlite").await;
                }
            )*
        }
        mod bigcommerce_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::$name(kcf_engine::registry::StoreKind::BigCommerce, "postgres").await;
                }
            )*
        }
        mod shopify_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::$name(kcf_engine::registry::StoreKind::Shopify, "sqlite").await;
                }
            )*
        }
        mod shopify_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::$name(kcf_engine::registry::StoreKind::Shopify, "postgres").await;
                }
            )*
        }
    };
}

#[allow(unused_imports)]
pub use kcf_testkit::report;

/// A Standard Webhooks signature, as BigCommerce sends it.
pub fn sign(secret: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    use base64::Engine as _;
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}
