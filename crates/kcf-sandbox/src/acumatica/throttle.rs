//! License throttling by Acumatica's documented algorithm (SM604000 limits): every request
//! but sign-out joins one FIFO queue; at most `concurrent` are processed at once; once the
//! requests processed in the past minute reach half of `per_minute`, each new one is delayed by
//! (time left until a minute after that window's first request) ÷ (limit − processed); a
//! request is refused with 429 only when the queue already holds 20, or when it has waited
//! longer than the queue's limit (10 minutes). Off by default.

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
    /// The longest a request may wait in the queue before it is refused (10 minutes).
    pub max_wait: Duration,
}

impl Limits {
    /// Acumatica's limits for a license: `per_minute` requests per minute, `concurrent` at once,
    /// at most 10 minutes in the queue.
    pub fn new(per_minute: u32, concurrent: u32) -> Self {
        Self {
            per_minute,
            concurrent,
            window: Duration::from_secs(60),
            max_wait: MAX_WAIT,
        }
    }
}

impl std::str::FromStr for Limits {
    type Err = String;

    /// `PER_MINUTE` or `PER_MINUTE,CONCURRENT` (default 2 concurrent).
    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split(',').map(str::trim);
        let number = |p: Option<&str>, what: &str| -> Result<Option<u32>, String> {
            p.map(|v| {
                v.parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{what} must be a positive number, not '{v}'"))
            })
            .transpose()
        };
        let per_minute = number(parts.next(), "requests per minute")?
            .ok_or("give requests per minute, e.g. 600 or 600,4")?;
        let concurrent = number(parts.next(), "concurrent requests")?.unwrap_or(2);
        if parts.next().is_some() {
            return Err(format!(
                "'{s}': expected PER_MINUTE or PER_MINUTE,CONCURRENT"
            ));
        }
        Ok(Self::new(per_minute, concurrent))
    }
}

/// How long a request may wait in the queue (Acumatica: 10 minutes).
pub const MAX_WAIT: Duration = Duration::from_secs(600);

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
    let queued = tokio::time::timeout(t.limits.max_wait, async {
        let permit = t.workers.acquire().await;
        let wait = t.delay(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        permit
    })
    .await;
    let Ok(permit) = queued else {
        t.state.lock().unwrap_or_else(|p| p.into_inner()).queued -= 1;
        return acu_error(
            StatusCode::TOO_MANY_REQUESTS,
            "The request waited too long in the API queue (license limits); try again later.",
        );
    };
    {
        let mut s = t.state.lock().unwrap_or_else(|p| p.into_inner());
        s.queued -= 1;
        s.processed.push_back(Instant::now());
    }
    let response = next.run(request).await;
    drop(permit);
    response
}
