//! The shop's query-cost budget, kept from both sides.
//!
//! Shopify meters its GraphQL Admin API in points: a bucket of `maximumAvailable` points
//! refilled at `restoreRate` per second, each query charged its calculated cost. kcf keeps
//! a model of the bucket, fed by every answer's `extensions.cost.throttleStatus`: before a
//! query it reserves the points the query cost last time (a first query is assumed to cost
//! [`FIRST_ESTIMATE`]), so concurrent workers never together ask for more than the bucket
//! holds. Shopify's figure in an answer only ever lowers kcf's own account (answers cross on
//! parallel connections, so a figure can predate a charge kcf has already settled). A short shortfall is waited out in the client (up to [`MAX_WAIT`]); a longer one
//! fails at once with [`Error::RateLimited`] so the engine reschedules instead of holding a
//! worker asleep. A THROTTLED answer (another app spent the points) pauses the client until
//! the bucket holds the query's cost again.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use kcf_domain::Timestamp;
use kcf_platform::{JOURNAL_LEN, LimitEvent, RateLimitJournal};
use serde::Deserialize;

use crate::error::Error;

/// What a query is assumed to cost before Shopify has said.
pub const FIRST_ESTIMATE: f64 = 100.0;
/// The longest kcf waits inside the client for points to refill.
pub const MAX_WAIT: Duration = Duration::from_secs(2);
/// Added to every pause after a THROTTLED answer.
const MARGIN: Duration = Duration::from_millis(50);

/// `extensions.cost` of an answer.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    /// What the query could cost at most.
    pub requested_query_cost: f64,
    /// What it cost (none when it was refused).
    #[serde(default)]
    pub actual_query_cost: Option<f64>,
    /// The bucket after it.
    pub throttle_status: ThrottleStatus,
}

/// `extensions.cost.throttleStatus`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    /// The bucket's size.
    pub maximum_available: f64,
    /// Points in it now.
    pub currently_available: f64,
    /// Points restored per second.
    pub restore_rate: f64,
}

/// Where kcf's model of the bucket stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketStatus {
    /// The bucket's size (as Shopify last reported it).
    pub maximum: f64,
    /// Points kcf may still spend now (its share, less what is in flight).
    pub available: f64,
    /// Points restored per second.
    pub restore_rate: f64,
    /// Until when the client sends nothing.
    pub paused_until: Option<Timestamp>,
}

#[derive(Debug)]
struct State {
    maximum: f64,
    restore: f64,
    available: f64,
    at: Instant,
    in_flight: f64,
    paused_until: Option<Timestamp>,
    /// Whether Shopify has told kcf how the bucket stands yet.
    known: bool,
    estimates: HashMap<&'static str, f64>,
    journal: std::collections::VecDeque<LimitEvent>,
}

impl State {
    fn refill(&mut self, now: Instant) {
        let gained = now.duration_since(self.at).as_secs_f64() * self.restore;
        self.available = (self.available + gained).min(self.maximum);
        self.at = now;
    }

    fn log(&mut self, e: LimitEvent) {
        if self.journal.len() == JOURNAL_LEN {
            self.journal.pop_front();
        }
        self.journal.push_back(e);
    }
}

/// A query's reservation, given back as its answer is read.
#[derive(Debug)]
pub(crate) struct Ticket {
    name: &'static str,
    reserved: f64,
}

/// One shop's limiter; a client holds one, shared by every clone.
#[derive(Debug)]
pub(crate) struct CostLimiter {
    share: f64,
    state: Mutex<State>,
}

fn after(now: Timestamp, wait: Duration) -> Timestamp {
    now.plus(wait)
}

impl CostLimiter {
    /// A limiter that lets kcf spend `share` of the bucket (Shopify's Standard plan until
    /// the first answer says otherwise: 1,000 points, 50 per second).
    pub(crate) fn new(share: f64) -> Self {
        Self {
            share,
            state: Mutex::new(State {
                maximum: 1000.0,
                restore: 50.0,
                available: 1000.0,
                at: Instant::now(),
                in_flight: 0.0,
                paused_until: None,
                known: false,
                estimates: HashMap::new(),
                journal: std::collections::VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What must be left in the bucket for other apps.
    fn reserve_for_others(&self, s: &State) -> f64 {
        s.maximum * (1.0 - self.share)
    }

    /// Reserves the points query `name` is expected to cost (`hint`: what the caller knows
    /// it costs at most; else what it cost last time), waiting up to [`MAX_WAIT`] for them;
    /// fails at once while the client is paused or the wait would be longer. Until Shopify
    /// has said how the bucket stands, one query at a time goes out.
    pub(crate) async fn acquire(
        &self,
        name: &'static str,
        hint: Option<f64>,
    ) -> Result<Ticket, Error> {
        let started = Instant::now();
        loop {
            let wait = {
                let now = Timestamp::now();
                let mut s = self.lock();
                if let Some(until) = s.paused_until.filter(|u| *u > now) {
                    return Err(Error::RateLimited {
                        retry_after: Duration::from_millis(
                            u64::try_from(until.millis() - now.millis()).unwrap_or(0),
                        ),
                    });
                }
                s.refill(Instant::now());
                let usable = s.maximum - self.reserve_for_others(&s);
                let estimate = hint
                    .or_else(|| s.estimates.get(name).copied())
                    .unwrap_or(FIRST_ESTIMATE)
                    .min(usable);
                let spare = s.available - self.reserve_for_others(&s);
                let probing = !s.known && s.in_flight > 0.0 && started.elapsed() < MAX_WAIT;
                if probing {
                    Duration::from_millis(5)
                } else if spare >= estimate {
                    s.available -= estimate;
                    s.in_flight += estimate;
                    s.log(LimitEvent::Started(now));
                    return Ok(Ticket {
                        name,
                        reserved: estimate,
                    });
                } else {
                    Duration::from_secs_f64((estimate - spare) / s.restore.max(0.001))
                }
            };
            if wait > MAX_WAIT {
                return Err(Error::RateLimited { retry_after: wait });
            }
            tokio::time::sleep(wait + Duration::from_millis(1)).await;
        }
    }

    /// Learns from an answer: its cost (when it carried one) and whether it was THROTTLED;
    /// for a THROTTLED answer, pauses the client and returns how long.
    pub(crate) fn observe(
        &self,
        ticket: Ticket,
        cost: Option<Cost>,
        throttled: bool,
    ) -> Option<Duration> {
        let now = Timestamp::now();
        let mut s = self.lock();
        s.in_flight = (s.in_flight - ticket.reserved).max(0.0);
        s.refill(Instant::now());
        let Some(cost) = cost else {
            // No answer to learn from: what was reserved is taken as spent.
            return throttled.then(|| self.pause(&mut s, now, Duration::from_secs(1)));
        };
        let t = cost.throttle_status;
        let first = !s.known;
        s.known = true;
        if t.maximum_available > 0.0 {
            s.maximum = t.maximum_available;
        }
        if t.restore_rate > 0.0 {
            s.restore = t.restore_rate;
        }
        s.estimates.insert(ticket.name, cost.requested_query_cost);
        // kcf's own account: what was reserved, less what the query cost (nothing when it was
        // refused), refilled by the clock. It is exact for kcf's own spending; only another
        // app's spending escapes it, and Shopify's figure shows that. Shopify's figure can
        // only lower the account, never raise it: answers cross on parallel connections and
        // are charged in an order kcf does not see, so a figure may predate a charge kcf has
        // already settled (believing it over-spent the bucket: THROTTLED); and a figure that
        // already holds a query still in flight would count that query twice if the in-flight
        // reservations were taken off it again (so they are not, after the first answer).
        let spent = if throttled {
            0.0
        } else {
            cost.actual_query_cost.unwrap_or(cost.requested_query_cost)
        };
        let own = s.available + ticket.reserved - spent;
        s.available = if first {
            t.currently_available - s.in_flight
        } else {
            own.min(t.currently_available)
        }
        .min(s.maximum);
        if !throttled {
            return None;
        }
        let short = (cost.requested_query_cost + self.reserve_for_others(&s)
            - t.currently_available)
            .max(0.0);
        let wait = Duration::from_secs_f64(short / s.restore.max(0.001)) + MARGIN;
        Some(self.pause(&mut s, now, wait))
    }

    fn pause(&self, s: &mut State, now: Timestamp, wait: Duration) -> Duration {
        let until = after(now, wait);
        s.paused_until = s.paused_until.max(Some(until));
        s.log(LimitEvent::Paused { learnt: now, until });
        wait
    }

    /// Sends nothing until `until` (a pause another process met, mirrored).
    pub(crate) fn pause_until(&self, until: Timestamp) {
        let mut s = self.lock();
        s.paused_until = s.paused_until.max(Some(until));
        s.log(LimitEvent::Paused {
            learnt: Timestamp::now(),
            until,
        });
    }

    pub(crate) fn status(&self) -> BucketStatus {
        let now = Timestamp::now();
        let mut s = self.lock();
        s.refill(Instant::now());
        BucketStatus {
            maximum: s.maximum,
            available: (s.available - self.reserve_for_others(&s)).max(0.0),
            restore_rate: s.restore,
            paused_until: s.paused_until.filter(|p| *p > now),
        }
    }

    pub(crate) fn journal(&self) -> RateLimitJournal {
        RateLimitJournal {
            events: self.lock().journal.iter().copied().collect(),
        }
    }
}

/// The longest a later step of an operation waits for its points (a Standard-plan bucket
/// refills whole in 20 s).
const STEP_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs a later step of an operation whose earlier steps are paid for (the next page of a
/// read, the write after its compare-and-set read), waiting while the limiter says the
/// points are not there yet, up to [`STEP_WAIT`] in all. Failing fast there, as a first step
/// does, would throw the paid steps away: on a small bucket (the Standard plan's 1,000 points
/// at 50 a second) the retried operation would pay for them again and again and never get
/// to its end. Nothing was sent when the limiter says wait, and a THROTTLED answer ran
/// nothing, so the step is safe to repeat.
pub(crate) async fn patiently<T, F, Fut>(mut step: F) -> std::result::Result<T, crate::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, crate::Error>>,
{
    let started = std::time::Instant::now();
    loop {
        match step().await {
            Err(crate::Error::RateLimited { retry_after })
                if started.elapsed() + retry_after <= STEP_WAIT =>
            {
                tokio::time::sleep(retry_after).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn cost(requested: f64, left: f64) -> Cost {
        Cost {
            requested_query_cost: requested,
            actual_query_cost: Some(requested),
            throttle_status: ThrottleStatus {
                maximum_available: 100.0,
                currently_available: left,
                restore_rate: 10.0,
            },
        }
    }

    #[tokio::test]
    async fn reservations_keep_concurrent_queries_within_the_bucket() {
        let l = CostLimiter::new(1.0);
        let t = l.acquire("q", None).await.unwrap();
        assert_eq!(l.observe(t, Some(cost(40.0, 60.0)), false), None);
        // Now "q" is known to cost 40: two fit in the 60 left, a third waits or fails.
        let a = l.acquire("q", None).await.unwrap();
        let _b = l.acquire("q", None).await;
        let s = l.status();
        assert!(s.available < 40.0, "{s:?}");
        // An answer while another is in flight keeps that one's reservation.
        l.observe(a, Some(cost(40.0, 20.0)), false);
        assert!(l.status().available <= 20.0);
    }

    #[tokio::test]
    async fn an_answer_that_arrives_late_does_not_raise_the_bucket() {
        let l = CostLimiter::new(1.0);
        let t = l.acquire("q", None).await.unwrap();
        l.observe(t, Some(cost(10.0, 100.0)), false);
        // A and B go out together and are charged in that order; B's answer (the bucket after
        // both: 60) is read first, then A's, which shows the bucket before B was charged.
        let a = l.acquire("q", Some(20.0)).await.unwrap();
        let b = l.acquire("q", Some(20.0)).await.unwrap();
        l.observe(b, Some(cost(20.0, 60.0)), false);
        l.observe(a, Some(cost(20.0, 80.0)), false);
        let s = l.status();
        assert!(
            s.available <= 60.5,
            "A's older figure (80) was not believed: {s:?}"
        );
        // The next query's answer is the newest word again.
        let c = l.acquire("q", Some(10.0)).await.unwrap();
        l.observe(c, Some(cost(10.0, 50.0)), false);
        let s = l.status();
        assert!((50.0..51.0).contains(&s.available), "{s:?}");
    }

    #[tokio::test]
    async fn a_figure_read_last_but_charged_first_does_not_raise_the_bucket() {
        let l = CostLimiter::new(1.0);
        let t = l.acquire("q", Some(1.0)).await.unwrap();
        l.observe(t, Some(cost(1.0, 100.0)), false);
        // A goes out before B, but Shopify charges B first (its figure: 70) and then A (40);
        // A's answer is read first. B's figure, read last, predates A's charge.
        let a = l.acquire("q", Some(30.0)).await.unwrap();
        let b = l.acquire("q", Some(30.0)).await.unwrap();
        l.observe(a, Some(cost(30.0, 40.0)), false);
        l.observe(b, Some(cost(30.0, 70.0)), false);
        let s = l.status();
        assert!(s.available < 41.0, "B's stale 70 was not believed: {s:?}");
        // Another app's spending shows in Shopify's figure and lowers the account.
        let c = l.acquire("q", Some(10.0)).await.unwrap();
        l.observe(c, Some(cost(10.0, 5.0)), false);
        let s = l.status();
        assert!(s.available < 6.0, "{s:?}");
    }

    #[tokio::test]
    async fn a_throttled_answer_pauses_until_the_bucket_refills() {
        let l = CostLimiter::new(1.0);
        let t = l.acquire("q", None).await.unwrap();
        let wait = l.observe(t, Some(cost(50.0, 10.0)), true).unwrap();
        // 40 points short at 10 per second.
        assert!(
            wait >= Duration::from_secs(4) && wait < Duration::from_secs(5),
            "{wait:?}"
        );
        assert!(matches!(
            l.acquire("q", None).await,
            Err(Error::RateLimited { .. })
        ));
        let j = l.journal();
        assert_eq!(
            (j.started(), j.pauses(), j.started_during_pauses()),
            (1, 1, 0)
        );
    }

    #[tokio::test]
    async fn a_long_shortfall_fails_fast_and_a_share_is_kept_for_others() {
        let l = CostLimiter::new(0.5);
        let t = l.acquire("q", None).await.unwrap();
        l.observe(t, Some(cost(45.0, 50.0)), false);
        // Half of 100 is for other apps: nothing left for a 45-point query for 4.5 s.
        assert!(matches!(
            l.acquire("q", None).await,
            Err(Error::RateLimited { retry_after }) if retry_after > MAX_WAIT
        ));
    }
}
