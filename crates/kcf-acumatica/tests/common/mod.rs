//! Shared by the client tests: an emulator on a free port, a client pointed at it, the
//! emulator's control API, and a receiver for push notifications.

#![allow(dead_code, clippy::unwrap_used)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{extract::State, http::HeaderMap, routing::post};
use kcf_acumatica::{AcumaticaClient, AcumaticaConfig};
use kcf_sandbox::{Dataset, Emulator, Faults, SeedSize, acumatica::AcumaticaConfig as Sandbox};
use serde_json::Value;

/// Starts the emulator with these settings and seed.
pub async fn start(config: Sandbox, seed: SeedSize) -> Emulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    kcf_sandbox::start(
        listener,
        kcf_sandbox::EmulatorConfig::Acumatica(config),
        Faults::default(),
        &Dataset::generate(seed),
        kcf_sandbox::Transport::Http,
    )
    .await
    .unwrap()
}

/// The emulator with the small seed, and a client for it.
pub async fn erp() -> (Emulator, AcumaticaClient) {
    let emulator = start(Sandbox::default(), SeedSize::Small).await;
    let client = AcumaticaClient::new(AcumaticaConfig::sandbox(emulator.url())).unwrap();
    (emulator, client)
}

/// A plain HTTP client for the control API and for calls behind the client's back.
pub fn raw() -> reqwest::Client {
    kcf_sandbox::install_crypto_provider();
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

/// `GET` a control route.
pub async fn control(emulator: &Emulator, path: &str) -> Value {
    raw()
        .get(format!("{}{path}", emulator.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Sets the faults in force.
pub async fn set_faults(emulator: &Emulator, faults: Value) {
    let r = raw()
        .put(format!("{}/_sandbox/faults", emulator.url()))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Ends every session and token, as an idle timeout would.
pub async fn expire_sessions(emulator: &Emulator) {
    let r = raw()
        .delete(format!("{}/_sandbox/sessions", emulator.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

/// How many requests reached `path` (with any status).
pub async fn requests_to(emulator: &Emulator, path: &str) -> usize {
    control(emulator, "/_sandbox/ledger?limit=20000")
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"] == path)
        .count()
}

/// One notification as it arrived: headers and raw body.
pub type Delivery = (HeaderMap, Vec<u8>);

/// Records push notifications and answers 200.
#[derive(Clone, Default)]
pub struct Receiver {
    got: Arc<Mutex<Vec<Delivery>>>,
}

impl Receiver {
    /// Starts a receiver on a free port; returns it and its URL.
    pub async fn start() -> (Self, String) {
        let r = Receiver::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/push", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/push", post(receive))
            .with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, url)
    }

    /// Waits (up to 5 s) for `n` notifications, then returns what arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Delivery> {
        for _ in 0..250 {
            if self.got.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.got.lock().unwrap().clone()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: axum::body::Bytes) {
    r.got.lock().unwrap().push((headers, body.to_vec()));
}
