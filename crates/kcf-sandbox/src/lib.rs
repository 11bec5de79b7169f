//! Local emulators of the external APIs (Acumatica, BigCommerce, Shopify) kcf talks to, faithful enough that an unmodified
//! third-party client works against them with only its base URL changed. They serve
//! `kcf sandbox`, `kcf up`, the demo and every integration test.
//!
//! Each emulator is an axum router with its own state, a control API under `/_sandbox/`
//! (request ledger, counters, fault injection), and a deterministic seed.

pub mod acumatica;
pub mod bigcommerce;
pub mod control;
pub mod seed;
pub mod shopify;
mod state;
pub mod tls;

use std::{net::SocketAddr, sync::Arc};

use axum::Router;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub use control::{Control, Faults};
pub use seed::{Dataset, SeedSize};

/// An emulator serving on a local port until dropped.
#[derive(Debug)]
pub struct Emulator {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its control state (ledger, counters, faults), also reachable over `/_sandbox/`.
    pub control: Arc<Control>,
    scheme: &'static str,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Emulator {
    /// `http://127.0.0.1:PORT` (`https://` when started with TLS).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Stops serving, waits for the server to finish, and writes the state file (if any).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let control = self.control.clone();
        let _ = tokio::task::spawn_blocking(move || control.flush()).await;
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Installs rustls' ring crypto provider as the process default, once. reqwest is built
/// without a provider of its own and panics when it builds a client without one; the emulators
/// build clients (webhook and push delivery), and so do the tests that drive them.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

async fn serve(
    listener: TcpListener,
    router: Router,
    control: Arc<Control>,
) -> std::io::Result<Emulator> {
    serve_on(listener, "http", router, control).await
}

async fn serve_on<L>(
    listener: L,
    scheme: &'static str,
    router: Router,
    control: Arc<Control>,
) -> std::io::Result<Emulator>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "emulator stopped");
        }
    });
    Ok(Emulator {
        addr,
        control,
        scheme,
        stop: Some(stop),
        task: Some(task),
    })
}

/// The emulators the sandbox runs, one per platform, each with its settings: the registry
/// `kcf up`, `kcf sandbox`, the benchmarks and the test harness start them through.
#[derive(Debug, Clone)]
pub enum EmulatorConfig {
    /// Acumatica's contract-based REST API.
    Acumatica(acumatica::AcumaticaConfig),
    /// BigCommerce's v2/v3 REST API.
    BigCommerce(bigcommerce::BigCommerceConfig),
    /// Shopify's GraphQL Admin API.
    Shopify(shopify::ShopifyConfig),
}

impl EmulatorConfig {
    /// The platform's name, as `kcf sandbox` prints it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Acumatica(_) => "Acumatica",
            Self::BigCommerce(_) => "BigCommerce",
            Self::Shopify(_) => "Shopify",
        }
    }
}

/// How an emulator is served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Transport {
    /// Plain HTTP.
    #[default]
    Http,
    /// HTTPS with the sandbox's test certificate ([`tls::CERT_PEM`]), for clients that only
    /// speak HTTPS.
    Https,
}

/// Starts the emulator `config` describes on `listener` (bind port 0 in tests), seeded from
/// `dataset` (or its state file), with `faults` injected.
pub async fn start(
    listener: TcpListener,
    config: EmulatorConfig,
    faults: Faults,
    dataset: &Dataset,
    transport: Transport,
) -> std::io::Result<Emulator> {
    install_crypto_provider();
    let control = Control::with_faults(faults);
    let router = match config {
        EmulatorConfig::Acumatica(c) => acumatica::try_router(c, control.clone(), dataset)?,
        EmulatorConfig::BigCommerce(c) => bigcommerce::try_router(c, control.clone(), dataset)?,
        EmulatorConfig::Shopify(c) => shopify::try_router(c, control.clone(), dataset)?,
    };
    match transport {
        Transport::Http => serve(listener, router, control).await,
        Transport::Https => {
            serve_on(tls::TlsListener::new(listener)?, "https", router, control).await
        }
    }
}
