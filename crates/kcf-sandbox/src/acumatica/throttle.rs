//! License throttling by Acumatica's documented algorithm (SM604000 limits): every request
//! but sign-out joins one FIFO queue; at most `concurrent` are processed at once; once the
//! requests processed in the past minute reach half of `per_minute`, each new one is delayed by
//! (time left until a minute after that window's first request) ÷ (limit − processed); a
//! request is refused with 429 only when the queue already holds 20. Off by default.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::Response,
};
use tokio::sync::Semaphore;

use super::acu_error;

/// The license limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests per window.
    pub per_minute: u32,
    /// Requests processed at once.
    pub concurrent: u32,
    /// The window (a minute; tests shorten it).
    pub window: Duration,
}

/// The most requests that may wait in the queue.
pub const QUEUE_LIMIT: usize = 20;

/// The throttle's state.
#[derive(Debug)]
pub struct Throttle {
    limits: Limits,
    workers: Semaphore,
    state: Mutex<State_>,
}

#[derive(Debug, Default)]
struct State_ {
    queued: usize,
    processed: VecDeque<Instant>,
}

impl Throttle {
    /// A throttle with these limits.
    pub fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            workers: Semaphore::new(limits.concurrent.max(1) as usize),
            state: Mutex::default(),
        })
    }

    fn delay(&self, now: Instant) -> Duration {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while s
            .processed
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.limits.window)
        {
            s.processed.pop_front();
        }
        let done = s.processed.len() as u32;
        let limit = self.limits.per_minute.max(1);
        if done * 2 < limit {
            return Duration::ZERO;
        }
        let Some(first) = s.processed.front() else {
            return Duration::ZERO;
        };
        let left = self
            .limits
            .window
            .saturating_sub(now.duration_since(*first));
        if done >= limit {
            left
        } else {
            left / (limit - done)
        }
    }
}

/// Middleware: queue, pace, then process.
pub async fn throttle(State(t): State<Arc<Throttle>>, request: Request, next: Next) -> Response {
    {
        let mut s = t.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.queued >= QUEUE_LIMIT {
            return acu_error(
                StatusCode::TOO_MANY_REQUESTS,
                "The request queue of the API is full (license limits); try again later.",
            );
        }
        s.queued += 1;
    }
    let permit = t.workers.acquire().await;
    let wait = t.delay(Instant::now());
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    {
        let mut s = t.state.lock().unwrap_or_else(|p| p.into_inner());
        s.queued -= 1;
        s.processed.push_back(Instant::now());
    }
    let response = next.run(request).await;
    drop(permit);
    response
}
