//! The store's request budget, kept from both sides.
//!
//! Proactively, a GCRA limiter spaces requests to the configured quota, and the
//! `X-Rate-Limit-*` headers of every answer tell how much of the store's window is left: the
//! budget is shared with every other app on the store, so kcf counts down from what
//! BigCommerce reports and stops at zero instead of provoking a 429. Reactively, a 429 pauses
//! the whole client until the window resets. While paused, calls fail at once with
//! [`Error::RateLimited`] and send nothing: the engine reschedules the message rather than
//! holding a worker asleep.

use std::{
    num::NonZeroU32,
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use kcf_domain::Timestamp;
use reqwest::header::HeaderMap;

use crate::error::{Error, retry_after_header};
pub use kcf_platform::{LimitEvent, RateLimitJournal};

/// Added to every pause: BigCommerce rounds the reset down to the millisecond, and arriving a
/// hair early would cost a 429.
const MARGIN: Duration = Duration::from_millis(20);
/// The pause after a 429 that says nothing about when to come back (BigCommerce: "the
/// platform is overloaded").
const OVERLOADED_PAUSE: Duration = Duration::from_secs(5);
/// A reset this much later than the one kcf knows means a new window has begun.
const NEW_WINDOW_JUMP_MS: i64 = 500;

use kcf_platform::JOURNAL_LEN;

#[derive(Debug, Default)]
struct Journal(std::collections::VecDeque<LimitEvent>);

impl Journal {
    fn push(&mut self, e: LimitEvent) {
        if self.0.len() == JOURNAL_LEN {
            self.0.pop_front();
        }
        self.0.push_back(e);
    }

    fn start(&mut self, at: Timestamp) {
        self.push(LimitEvent::Started(at));
    }

    fn pause(&mut self, learnt: Timestamp, until: Timestamp) {
        self.push(LimitEvent::Paused { learnt, until });
    }
}

/// What kcf knows of the store's request budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitStatus {
    /// Requests per window (as BigCommerce last reported it, else as configured).
    pub quota: u32,
    /// Requests left in the current window: BigCommerce's last count, less what kcf sent
    /// since. `None` before the first answer or once the window has passed.
    pub remaining: Option<u32>,
    /// The window, in milliseconds.
    pub window_ms: u64,
    /// Milliseconds until the current window resets, when known.
    pub reset_ms: Option<u64>,
    /// Until when the client sends nothing.
    pub paused_until: Option<Timestamp>,
}

#[derive(Debug, Default)]
struct State {
    quota: Option<u32>,
    window_ms: Option<u64>,
    /// When the store's current window ends.
    reset_at: Option<Timestamp>,
    /// Requests left in that window.
    budget: Option<u32>,
    paused_until: Option<Timestamp>,
    /// 429s in a row, to back off further when they repeat.
    throttled_in_a_row: u32,
    journal: Journal,
}

/// One store's limiter; a client holds one, shared by every clone.
#[derive(Debug)]
pub(crate) struct Limiter {
    gcra: DefaultDirectRateLimiter,
    quota: u32,
    window: Duration,
    state: Mutex<State>,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn until(now: Timestamp, later: Timestamp) -> Duration {
    Duration::from_millis(u64::try_from(later.millis() - now.millis()).unwrap_or(0))
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

impl Limiter {
    /// `quota` requests per `window`, bursting up to the whole quota (as the store allows).
    pub(crate) fn new(quota: u32, window: Duration) -> Result<Self, Error> {
        let burst = NonZeroU32::new(quota)
            .ok_or_else(|| Error::Config("the request quota must be above zero".into()))?;
        let period = window / quota;
        let gcra_quota = Quota::with_period(period)
            .ok_or_else(|| Error::Config("the request window is too short for the quota".into()))?
            .allow_burst(burst);
        Ok(Self {
            gcra: RateLimiter::direct(gcra_quota),
            quota,
            window,
            state: Mutex::new(State::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn paused(state: &State, now: Timestamp) -> Result<(), Error> {
        match state.paused_until {
            Some(t) if t > now => Err(Error::RateLimited {
                retry_after: until(now, t),
            }),
            _ => Ok(()),
        }
    }

    /// Waits for a GCRA cell and takes one request from the store's budget; fails at once
    /// while the client is paused or the budget is spent.
    pub(crate) async fn acquire(&self) -> Result<(), Error> {
        Self::paused(&self.lock(), Timestamp::now())?;
        self.gcra.until_ready().await;
        let now = Timestamp::now();
        let mut s = self.lock();
        // A 429 may have arrived while this call waited.
        Self::paused(&s, now)?;
        match s.reset_at {
            Some(reset) if reset > now => match s.budget {
                Some(0) => {
                    let resume = reset.plus(MARGIN);
                    s.paused_until = Some(resume);
                    return Err(Error::RateLimited {
                        retry_after: until(now, resume),
                    });
                }
                Some(n) => s.budget = Some(n - 1),
                None => {}
            },
            _ => {
                s.reset_at = None;
                s.budget = None;
            }
        }
        s.journal.start(now);
        Ok(())
    }

    /// Learns from an answer's headers; for a 429, pauses the client and returns how long.
    pub(crate) fn observe(&self, status: u16, headers: &HeaderMap) -> Option<Duration> {
        let now = Timestamp::now();
        let left = header_u64(headers, "x-rate-limit-requests-left");
        let reset_ms = header_u64(headers, "x-rate-limit-time-reset-ms");
        let mut s = self.lock();
        if let Some(q) = header_u64(headers, "x-rate-limit-requests-quota") {
            s.quota = u32::try_from(q).ok();
        }
        if let Some(w) = header_u64(headers, "x-rate-limit-time-window-ms") {
            s.window_ms = Some(w);
        }
        if let (Some(left), Some(reset_ms)) = (left, reset_ms) {
            let left = u32::try_from(left).unwrap_or(u32::MAX);
            let reset_at = now.plus(Duration::from_millis(reset_ms));
            let new_window = match s.reset_at {
                None => true,
                Some(known) => {
                    now >= known || reset_at.millis() > known.millis() + NEW_WINDOW_JUMP_MS
                }
            };
            if new_window {
                s.reset_at = Some(reset_at);
                s.budget = Some(left);
            } else {
                // Answers overtake each other; the lowest count is the true one.
                s.budget = Some(s.budget.map_or(left, |b| b.min(left)));
                s.reset_at = s.reset_at.max(Some(reset_at));
            }
            if s.budget == Some(0) {
                let resume = s.reset_at.unwrap_or(reset_at).plus(MARGIN);
                s.paused_until = s.paused_until.max(Some(resume));
                s.journal.pause(now, resume);
            }
        }
        if status != 429 {
            s.throttled_in_a_row = 0;
            return None;
        }
        s.throttled_in_a_row = s.throttled_in_a_row.saturating_add(1);
        let asked = reset_ms
            .map(Duration::from_millis)
            .or_else(|| retry_after_header(headers))
            .unwrap_or(OVERLOADED_PAUSE);
        // The first 429 waits exactly for the reset it names; BigCommerce: "back off further
        // if it repeats".
        let backoff = if s.throttled_in_a_row > 1 {
            Duration::from_secs(1)
                .saturating_mul(2u32.saturating_pow(s.throttled_in_a_row - 1))
                .min(self.window)
        } else {
            Duration::ZERO
        };
        let pause = asked.max(backoff) + MARGIN;
        let resume = now.plus(pause);
        s.paused_until = s.paused_until.max(Some(resume));
        s.journal.pause(now, resume);
        Some(until(now, s.paused_until.unwrap_or(resume)))
    }

    /// Sends nothing until `until` (a pause another process saw, mirrored from the store).
    pub(crate) fn pause_until(&self, until: Timestamp) {
        let mut s = self.lock();
        s.paused_until = s.paused_until.max(Some(until));
        s.journal.pause(Timestamp::now(), until);
    }

    pub(crate) fn journal(&self) -> RateLimitJournal {
        let s = self.lock();
        RateLimitJournal {
            events: s.journal.0.iter().copied().collect(),
        }
    }

    pub(crate) fn status(&self) -> RateLimitStatus {
        let now = Timestamp::now();
        let s = self.lock();
        let current = s.reset_at.filter(|r| *r > now);
        RateLimitStatus {
            quota: s.quota.unwrap_or(self.quota),
            remaining: current.and(s.budget),
            window_ms: s
                .window_ms
                .unwrap_or_else(|| u64::try_from(millis(self.window)).unwrap_or(u64::MAX)),
            reset_ms: current.map(|r| u64::try_from(r.millis() - now.millis()).unwrap_or(0)),
            paused_until: s.paused_until.filter(|p| *p > now),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(left: u64, reset_ms: u64) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = |n: u64| HeaderValue::from_str(&n.to_string()).unwrap();
        h.insert("x-rate-limit-requests-left", v(left));
        h.insert("x-rate-limit-time-reset-ms", v(reset_ms));
        h.insert("x-rate-limit-requests-quota", v(150));
        h.insert("x-rate-limit-time-window-ms", v(30_000));
        h
    }

    #[tokio::test]
    async fn the_budget_counts_down_from_the_headers_and_stops_at_zero() {
        let l = Limiter::new(1000, Duration::from_secs(1)).unwrap();
        l.acquire().await.unwrap();
        assert_eq!(l.observe(200, &headers(2, 10_000)), None);
        let s = l.status();
        assert_eq!((s.quota, s.remaining, s.window_ms), (150, Some(2), 30_000));
        l.acquire().await.unwrap();
        l.acquire().await.unwrap();
        let e = l.acquire().await.unwrap_err();
        assert!(
            matches!(e, Error::RateLimited { retry_after } if retry_after > Duration::from_secs(9))
        );
        // A late answer from earlier in the window does not raise the count again.
        l.observe(200, &headers(1, 9_990));
        assert_eq!(l.status().remaining, Some(0));
        assert!(l.status().paused_until.is_some());
    }

    #[tokio::test]
    async fn a_429_pauses_until_the_reset_and_backs_off_when_repeated() {
        let l = Limiter::new(1000, Duration::from_secs(30)).unwrap();
        let first = l.observe(429, &headers(0, 1_500)).unwrap();
        assert!(first >= Duration::from_millis(1_500) && first < Duration::from_secs(2));
        assert!(matches!(l.acquire().await, Err(Error::RateLimited { .. })));
        let mut bare = HeaderMap::new();
        bare.insert("retry-after", HeaderValue::from_static("1"));
        let l = Limiter::new(1000, Duration::from_secs(30)).unwrap();
        assert!(l.observe(429, &bare).unwrap() < Duration::from_millis(1100));
        assert!(l.observe(429, &bare).unwrap() >= Duration::from_secs(2));
        let l = Limiter::new(1000, Duration::from_secs(30)).unwrap();
        assert!(l.observe(429, &HeaderMap::new()).unwrap() >= OVERLOADED_PAUSE);
    }

    #[tokio::test]
    async fn the_journal_records_starts_and_pauses_in_order() {
        let l = Limiter::new(1000, Duration::from_secs(30)).unwrap();
        l.acquire().await.unwrap();
        l.observe(429, &headers(0, 60_000)).unwrap();
        assert!(
            l.acquire().await.is_err(),
            "nothing starts during the pause"
        );
        let j = l.journal();
        assert_eq!(j.started(), 1);
        assert!(
            j.pauses() >= 1,
            "the spent budget and the 429 are both pauses"
        );
        assert_eq!(j.started_during_pauses(), 0);
        // The check itself: a start logged after a pause it falls inside is a violation.
        let t = Timestamp(1_000);
        let bad = RateLimitJournal {
            events: vec![
                LimitEvent::Started(t),
                LimitEvent::Paused {
                    learnt: t,
                    until: Timestamp(2_000),
                },
                LimitEvent::Started(Timestamp(1_500)),
                LimitEvent::Started(Timestamp(2_000)),
            ],
        };
        assert_eq!(bad.started_during_pauses(), 1);
    }

    #[tokio::test]
    async fn a_mirrored_pause_holds_every_call() {
        let l = Limiter::new(10, Duration::from_secs(1)).unwrap();
        l.pause_until(Timestamp::now().plus(Duration::from_secs(5)));
        assert!(matches!(l.acquire().await, Err(Error::RateLimited { .. })));
        l.pause_until(Timestamp::now().minus(Duration::from_secs(1)));
        assert!(
            l.acquire().await.is_err(),
            "an older pause does not shorten one in force"
        );
    }
}
