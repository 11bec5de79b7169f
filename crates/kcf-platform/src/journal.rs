//! kcf's own record of a rate-limited client's traffic: when it started requests and when it
//! learnt that it must wait, in the order they happened. It is the causal check that nothing
//! is sent while kcf knows it must wait: a request already on the wire when a 429 (or a
//! THROTTLED answer) arrives was in flight, not sent during a pause.

use kcf_domain::Timestamp;

/// How many events a client's journal keeps (the newest).
pub const JOURNAL_LEN: usize = 40_000;

/// One entry of kcf's own record of its traffic, in the order the limiter saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitEvent {
    /// A request passed the limiter and was sent, at this time.
    Started(Timestamp),
    /// kcf learnt (at `learnt`) that it must send nothing until `until`.
    Paused {
        /// When kcf learnt of it (the answer was read, or another process's pause mirrored).
        learnt: Timestamp,
        /// Until when it sends nothing.
        until: Timestamp,
    },
}

/// kcf's own record of when it started requests and when it learnt of pauses, in the order
/// they happened: the causal check that nothing is sent while kcf knows it must wait (a
/// request already on the wire when a 429 arrives was in flight, not sent during a pause).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimitJournal {
    /// The newest events, oldest first.
    pub events: Vec<LimitEvent>,
}

impl RateLimitJournal {
    /// Requests started while a pause kcf had already learnt of was still in force.
    pub fn started_during_pauses(&self) -> usize {
        let mut known_until: Option<Timestamp> = None;
        let mut violations = 0;
        for e in &self.events {
            match *e {
                LimitEvent::Paused { until, .. } => known_until = known_until.max(Some(until)),
                LimitEvent::Started(at) => {
                    if known_until.is_some_and(|u| at < u) {
                        violations += 1;
                    }
                }
            }
        }
        violations
    }

    /// Pauses learnt.
    pub fn pauses(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, LimitEvent::Paused { .. }))
            .count()
    }

    /// Requests started.
    pub fn started(&self) -> usize {
        self.events.len() - self.pauses()
    }
}
