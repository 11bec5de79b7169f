//! kcf's HTTP server (the api role): notification ingress, the REST API, metrics and health.
//!
//! One [`router`] serves everything; [`serve`] runs it until shutdown. Tests start it on
//! `127.0.0.1:0` through the same call as `kcf up`.

#![recursion_limit = "256"]

mod api;
pub mod app;
pub mod auth;
mod error;
mod ingress;
pub mod openapi;
mod ops;
mod ui;
pub mod wiring;

use std::sync::Arc;

use axum::{Router, extract::DefaultBodyLimit, middleware};
use kcf_domain::Secret;
use kcf_engine::Engine;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::{net::TcpListener, sync::watch};

pub use api::parse_when;
pub use app::{AppConfig, Running, start};
pub use error::ApiError;

/// The largest notification or API body accepted.
pub const MAX_BODY: usize = 1 << 20;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The engine (store + connectors).
    pub engine: Arc<Engine>,
    /// Bearer tokens accepted by `/api/v1`.
    pub api_tokens: Arc<Vec<Secret>>,
    /// Renders `/metrics`.
    pub metrics: Option<PrometheusHandle>,
    /// Failed sign-ins per user name.
    pub login_throttle: Arc<auth::LoginThrottle>,
}

impl AppState {
    /// The state for an engine, accepting `api_tokens` besides the tokens in the database.
    pub fn new(engine: Arc<Engine>, api_tokens: Vec<Secret>) -> Self {
        Self {
            engine,
            api_tokens: Arc::new(api_tokens),
            metrics: metrics_recorder(),
            login_throttle: Arc::default(),
        }
    }
}

/// Installs the Prometheus recorder once per process; later calls return the same handle.
pub fn metrics_recorder() -> Option<PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<PrometheusHandle>> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets(&[
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                ])
                .ok()?
                .install_recorder()
                .ok()
        })
        .clone()
}

/// Every route of the api role.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(ingress::router())
        .merge(ops::documented().split_for_parts().0)
        .nest("/api/v1", api::routes(state.clone()))
        .merge(ui::routes().layer(middleware::from_fn_with_state(state.clone(), auth::ui)))
        .merge(ui::public())
        .layer(middleware::from_fn(auth::same_origin))
        .layer(middleware::from_fn(auth::security_headers))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(error::json_errors))
        .layer(middleware::from_fn(server_timing))
        .with_state(state)
}

/// Says in a `Server-Timing` header how long the server took to build each response (browser
/// developer tools show it; `kcf bench ui` reads it).
async fn server_timing(
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let mut response = next.run(request).await;
    let took = started.elapsed().as_secs_f64() * 1e3;
    if let Ok(value) = axum::http::HeaderValue::from_str(&format!("app;dur={took:.2}")) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}

/// The address a request's connection came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub std::net::SocketAddr);

/// How long a client may take: to send a request's headers (also how long an idle keep-alive
/// connection stays open), and to send its body. Slow or silent clients are closed, so they
/// cannot hold every file descriptor (and with them `/healthz` and ingress).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// For the request line and headers, from the connection (or the last response) on.
    pub header: std::time::Duration,
    /// For the whole body, once the headers are in.
    pub body: std::time::Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header: std::time::Duration::from_secs(10),
            body: std::time::Duration::from_secs(30),
        }
    }
}

/// Serves the api role on `listener` until `shutdown` turns true: HTTP/1.1, each connection
/// under `timeouts`, then a graceful end (idle connections closed, requests in flight
/// finished, for at most 10 s).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    timeouts: Timeouts,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    use hyper_util::{
        rt::{TokioIo, TokioTimer},
        server::graceful::GracefulShutdown,
        service::TowerToHyperService,
    };
    let app = router(state).layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        timeouts.body,
    ));
    let graceful = GracefulShutdown::new();
    let stopped = async move {
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
    };
    tokio::pin!(stopped);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors (or another passing error): the header timeout
                    // frees some soon; do not spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stopped => break,
        };
        let peer = stream.peer_addr().ok();
        let _ = stream.set_nodelay(true);
        // Each request knows the address it came from (the sign-in throttle counts per client).
        let service = TowerToHyperService::new(tower::ServiceExt::map_request(
            app.clone(),
            move |mut request: axum::extract::Request<_>| {
                if let Some(addr) = peer {
                    request.extensions_mut().insert(Peer(addr));
                }
                request
            },
        ));
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(timeouts.header)
            .keep_alive(true);
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "a connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(std::time::Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open 10 s after the stop; leaving them");
    }
    Ok(())
}
