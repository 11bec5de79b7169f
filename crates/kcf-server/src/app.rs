//! The whole kcf process minus the sandbox: the api role (this crate's router), the worker
//! role (kcf-engine's workers and scheduler), or both, started and stopped as one. `kcf up`,
//! `kcf serve` and the integration tests all go through [`start`].

use std::{net::SocketAddr, sync::Arc, time::Duration};

use kcf_domain::Secret;
use kcf_engine::{Engine, WorkerConfig};
use tokio::{net::TcpListener, sync::watch, task::JoinSet};

use crate::AppState;

/// What to run.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Serve HTTP (ingress, API, metrics).
    pub api: bool,
    /// Run workers and the scheduler.
    pub worker: bool,
    /// Worker settings.
    pub workers: WorkerConfig,
    /// Parallel worker loops (each applies `workers.concurrency` messages at once).
    pub worker_loops: usize,
    /// Accepted API bearer tokens.
    pub api_tokens: Vec<Secret>,
    /// How often the scheduler looks at the cron schedules.
    pub schedule_tick: Duration,
    /// How long HTTP clients may take to send headers and bodies.
    pub timeouts: crate::Timeouts,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            api: true,
            worker: true,
            workers: WorkerConfig::default(),
            worker_loops: 1,
            api_tokens: Vec::new(),
            schedule_tick: Duration::from_secs(15),
            timeouts: crate::Timeouts::default(),
        }
    }
}

/// A running kcf.
#[derive(Debug)]
pub struct Running {
    /// Where the api listens (none for a worker-only process).
    pub addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

/// Starts the configured roles. The listener is needed only for the api role.
pub async fn start(
    engine: Arc<Engine>,
    listener: Option<TcpListener>,
    config: AppConfig,
) -> std::io::Result<Running> {
    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut addr = None;
    if config.api {
        let Some(listener) = listener else {
            return Err(std::io::Error::other("the api role needs a listener"));
        };
        addr = Some(listener.local_addr()?);
        crate::auth::import_config_tokens(&*engine.store, &config.api_tokens)
            .await
            .map_err(|e| {
                std::io::Error::other(format!("storing the configured API tokens: {e}"))
            })?;
        let state = AppState::new(engine.clone(), config.api_tokens.clone());
        let rx = stopped.clone();
        let timeouts = config.timeouts;
        tasks.spawn(async move {
            if let Err(e) = crate::serve(listener, state, timeouts, rx).await {
                tracing::error!(error = %e, "the api server stopped");
            }
        });
    }
    if config.worker {
        for n in 0..config.worker_loops.max(1) {
            let mut workers = config.workers.clone();
            if config.worker_loops > 1 {
                workers.owner = format!("{}-{n}", workers.owner);
            }
            tasks.spawn(kcf_engine::worker::run(
                engine.clone(),
                workers,
                stopped.clone(),
            ));
        }
        tasks.spawn(kcf_engine::schedule::run(
            engine.clone(),
            config.schedule_tick,
            stopped.clone(),
        ));
    }
    Ok(Running { addr, stop, tasks })
}

impl Running {
    /// Stops gracefully: the api stops accepting (in-flight notifications finish and are
    /// answered), workers stop claiming and finish or release what they hold.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }

    /// The api's base URL.
    pub fn url(&self) -> Option<String> {
        self.addr.map(|a| format!("http://{a}"))
    }
}
