//! The emulator started in-process, a client pointed at it, its control API, and a receiver
//! for webhooks.

#![allow(dead_code, clippy::unwrap_used)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{extract::State, http::HeaderMap, routing::post};
use kcf_bigcommerce::{BigCommerceClient, BigCommerceConfig};
use kcf_sandbox::{Dataset, Emulator, Faults, SeedSize, bigcommerce::RateLimit};
use serde_json::Value;

/// An emulator and a client for it.
pub struct Store {
    pub emulator: Emulator,
    pub client: BigCommerceClient,
    pub http: reqwest::Client,
}

/// How to start a [`Store`].
pub struct Setup {
    pub seed: SeedSize,
    pub rate_limit: Option<RateLimit>,
    pub faults: Faults,
    pub client: fn(&mut BigCommerceConfig),
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            seed: SeedSize::Small,
            rate_limit: None,
            faults: Faults::default(),
            client: |_| {},
        }
    }
}

impl Store {
    /// The emulator seeded with `seed`, without a rate limit or faults.
    pub async fn start(seed: SeedSize) -> Self {
        Self::with(Setup {
            seed,
            ..Setup::default()
        })
        .await
    }

    pub async fn with(setup: Setup) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = kcf_sandbox::bigcommerce::BigCommerceConfig {
            rate_limit: setup.rate_limit,
            webhook_time_scale: 0.0001,
            ..Default::default()
        };
        let emulator = kcf_sandbox::start(
            listener,
            kcf_sandbox::EmulatorConfig::BigCommerce(config),
            setup.faults,
            &Dataset::generate(setup.seed),
            kcf_sandbox::Transport::Http,
        )
        .await
        .unwrap();
        let mut config = BigCommerceConfig::sandbox(emulator.url());
        (setup.client)(&mut config);
        let client = BigCommerceClient::new(config).unwrap();
        Self {
            emulator,
            client,
            http: reqwest::Client::new(),
        }
    }

    /// `GET /_sandbox/{path}`.
    pub async fn control(&self, path: &str) -> Value {
        self.http
            .get(format!("{}/_sandbox/{path}", self.emulator.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Requests the emulator has answered so far.
    pub async fn requests(&self) -> u64 {
        self.control("counters").await["requests"].as_u64().unwrap()
    }

    /// How many requests reached `METHOD route` (`PUT /stores/{hash}/v3/catalog/products`).
    pub async fn per_route(&self, route: &str) -> u64 {
        self.control("counters").await["per_route"][route]
            .as_u64()
            .unwrap_or(0)
    }

    /// Sets the emulator's faults.
    pub async fn faults(&self, faults: Value) {
        let r = self
            .http
            .put(format!("{}/_sandbox/faults", self.emulator.url()))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// A raw request with the store's token, as another app on the store would send it.
    pub fn raw(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}/stores/sandbox{path}", self.emulator.url()))
            .header("X-Auth-Token", "sandbox")
    }
}

/// Records what it receives (headers and raw body) and answers 200.
#[derive(Clone, Default)]
pub struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

impl Receiver {
    /// Starts a receiver on a free port; returns it and its URL.
    pub async fn start() -> (Self, String) {
        let r = Receiver::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, url)
    }

    /// Waits (up to 5 s) for `n` requests, then returns what arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<(HeaderMap, String)> {
        for _ in 0..250 {
            if self.got.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.got.lock().unwrap().clone()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> &'static str {
    r.got.lock().unwrap().push((headers, body));
    "ok"
}
