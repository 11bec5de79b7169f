//! Outages: when a connector's other system is out (not reached, no answers in time, 5xx,
//! answers cut short) several times in a row and for a while, with no answer between, the
//! connector goes into an **outage** (a system that fails one request in ten under load is
//! not out: its answers between the failures keep resetting the count). Workers
//! claim nothing for it while it lasts, so no message spends attempts on it; one probe at a
//! time (a cheap read of the system that is out, taken by one process through the store) goes
//! out at growing intervals, and the first answer ends the outage and lets the queue run
//! again. A refused sign-in is an outage that waits for a person instead: probing with wrong
//! credentials could lock the user.

use std::{sync::Arc, time::Duration};

use kcf_domain::{ConnectorId, Outage, Platform, Timestamp};
use tokio::sync::watch;

use crate::{ConnectorRuntime, Engine, error::ApplyError};

/// When an outage begins and how it is probed.
#[derive(Debug, Clone)]
pub struct OutagePolicy {
    /// Failures of the other system in a row (with no answer between them) that make an
    /// outage…
    pub after_failures: u32,
    /// …when they have gone on at least this long.
    pub after: Duration,
    /// The wait before the first probe; each failed probe doubles it.
    pub first_probe: Duration,
    /// The longest wait between probes.
    pub max_probe: Duration,
    /// How often the prober looks for due probes.
    pub tick: Duration,
}

impl Default for OutagePolicy {
    fn default() -> Self {
        Self {
            after_failures: 3,
            after: Duration::from_secs(2),
            first_probe: Duration::from_secs(2),
            max_probe: Duration::from_secs(60),
            tick: Duration::from_millis(250),
        }
    }
}

impl OutagePolicy {
    /// The wait after `failed` probes.
    pub fn probe_interval(&self, failed: u32) -> Duration {
        self.first_probe
            .saturating_mul(2u32.saturating_pow(failed.min(16)))
            .min(self.max_probe)
    }
}

/// What one process has seen of a connector's other systems since their last answer.
#[derive(Debug, Default)]
pub struct Health {
    unavailable: std::sync::Mutex<Option<(u32, std::time::Instant)>>,
}

impl Health {
    /// The other system answered (whatever it said).
    pub fn answered(&self) {
        *self.unavailable.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// It did not answer properly: how many times in a row now, and since how long.
    pub fn unavailable(&self) -> (u32, Duration) {
        let mut u = self.unavailable.lock().unwrap_or_else(|p| p.into_inner());
        let (n, since) = u.get_or_insert((0, std::time::Instant::now()));
        *n += 1;
        (*n, since.elapsed())
    }
}

impl Engine {
    /// Puts the connector in an outage of `system` (unless it is in one already): nothing is
    /// claimed for it until a probe gets an answer, or, when `needs_person`, until a person
    /// changes its connection or resumes it.
    pub async fn enter_outage(
        &self,
        id: &ConnectorId,
        system: Platform,
        reason: &str,
        needs_person: bool,
        policy: &OutagePolicy,
    ) -> Result<(), kcf_store::StoreError> {
        let Some(connector) = self.store.connector(id).await? else {
            return Ok(());
        };
        if connector
            .outage
            .as_ref()
            .is_some_and(|o| o.needs_person || !needs_person)
        {
            return Ok(());
        }
        let now = Timestamp::now();
        let outage = Outage {
            system,
            since: now,
            reason: reason.to_owned(),
            probes: 0,
            next_probe_at: now.plus(policy.probe_interval(0)),
            needs_person,
        };
        tracing::warn!(connector = %id, %system, reason, needs_person, "outage: processing waits");
        metrics::counter!("kcf_outages_total", "connector" => id.to_string(), "system" => system.as_str())
            .increment(1);
        self.store.set_outage(id, Some(&outage)).await
    }

    /// Ends the connector's outage (a probe got an answer, or a person acted).
    pub async fn end_outage(&self, id: &ConnectorId) -> Result<(), kcf_store::StoreError> {
        let Some(connector) = self.store.connector(id).await? else {
            return Ok(());
        };
        if let Some(outage) = connector.outage {
            let lasted = Timestamp::now().0 - outage.since.0;
            tracing::info!(connector = %id, system = %outage.system, lasted_ms = lasted, probes = outage.probes, "outage over: processing resumes");
            self.store.set_outage(id, None).await?;
        }
        if let Some(conn) = self.runtime(id) {
            conn.health.answered();
        }
        Ok(())
    }

    /// Sends the probes that are due (one per out connector, in every process together); how
    /// many outages ended.
    pub async fn probe_outages(
        &self,
        policy: &OutagePolicy,
    ) -> Result<usize, kcf_store::StoreError> {
        let now = Timestamp::now();
        let mut ended = 0;
        for connector in self.store.connectors().await? {
            let Some(outage) = connector.outage else {
                continue;
            };
            if outage.needs_person || outage.next_probe_at > now {
                continue;
            }
            let Some(conn) = self.runtime(&connector.id) else {
                continue;
            };
            let next = now.plus(policy.probe_interval(outage.probes + 1));
            if !self
                .store
                .take_probe(&connector.id, outage.next_probe_at, next)
                .await?
            {
                continue;
            }
            match probe(&conn, outage.system).await {
                Ok(()) => {
                    self.end_outage(&connector.id).await?;
                    ended += 1;
                }
                Err(reason) => {
                    tracing::info!(connector = %connector.id, system = %outage.system, reason = %reason, next_probe_ms = next.0 - now.0, "still out");
                    let still = Outage {
                        reason,
                        probes: outage.probes + 1,
                        next_probe_at: next,
                        ..outage
                    };
                    self.store.set_outage(&connector.id, Some(&still)).await?;
                }
            }
        }
        Ok(ended)
    }
}

/// One cheap call to the system that is out: Ok when it answered at all (a rate limit is an
/// answer); the reason, in words, when it did not.
async fn probe(conn: &ConnectorRuntime, system: Platform) -> Result<(), String> {
    let result: Result<(), ApplyError> = if system == conn.store.platform() {
        conn.store.test_connection().await.map_err(Into::into)
    } else {
        conn.erp.test_connection().await.map_err(Into::into)
    };
    match result {
        Ok(()) | Err(ApplyError::RateLimited { .. }) => Ok(()),
        Err(e @ (ApplyError::Unavailable { .. } | ApplyError::SignInRefused { .. })) => {
            Err(e.to_string())
        }
        // Any other refusal is an answer: the system is back.
        Err(_) => Ok(()),
    }
}

/// Probes out connectors every `policy.tick` until `shutdown`.
pub async fn run(engine: Arc<Engine>, policy: OutagePolicy, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(policy.tick) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        if let Err(e) = engine.probe_outages(&policy).await {
            tracing::warn!(error = %e, "probing outages failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_back_off_to_the_cap() {
        let p = OutagePolicy::default();
        assert_eq!(p.probe_interval(0), Duration::from_secs(2));
        assert_eq!(p.probe_interval(1), Duration::from_secs(4));
        assert_eq!(p.probe_interval(10), Duration::from_secs(60));
        assert_eq!(p.probe_interval(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn an_answer_resets_the_count() {
        let h = Health::default();
        assert_eq!((h.unavailable().0, h.unavailable().0), (1, 2));
        h.answered();
        assert_eq!(h.unavailable().0, 1);
    }
}
