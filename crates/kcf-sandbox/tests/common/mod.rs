//! Helpers shared by the emulator tests: sending a request and reading its JSON answer, and a
//! receiver for webhooks and push notifications.

#![allow(dead_code, clippy::unwrap_used)]

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{extract::State, http::HeaderMap, routing::post};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;

/// Sends `request`, returning its status and JSON body (`null` when empty).
pub async fn send(request: RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        },
    )
}

/// Records what it receives (headers and raw body) and answers from a script, then 200.
#[derive(Clone, Default)]
pub struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    /// Starts a receiver on a free port; returns it and its URL.
    pub async fn start(script: &[u16]) -> (Self, String) {
        let r = Receiver::default();
        r.script.lock().unwrap().extend(script);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, url)
    }

    /// How many requests arrived.
    pub fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    /// The raw body of the `i`-th request.
    pub fn raw(&self, i: usize) -> String {
        self.got.lock().unwrap()[i].1.clone()
    }

    /// Every request so far, bodies parsed as JSON.
    pub fn received(&self) -> Vec<(HeaderMap, Value)> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(h, b)| (h.clone(), serde_json::from_str(b).unwrap()))
            .collect()
    }

    /// Waits (up to 5 s) for `n` requests, then returns what arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<(HeaderMap, Value)> {
        for _ in 0..250 {
            if self.count() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.received()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    r.got.lock().unwrap().push((headers, body));
    let status = r.script.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}
