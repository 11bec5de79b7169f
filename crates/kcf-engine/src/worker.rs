//! Workers: claim due messages under a lease, apply them, record the outcome. A claim is one
//! short transaction; no transaction is held across an HTTP call; the lease is extended while
//! an apply runs, and a failed apply is rescheduled, never slept on.

use std::{sync::Arc, time::Duration};

use kcf_domain::{Claimed, Entity, Outcome, SentDocument, Timestamp};
use kcf_store::{Completion, FailOutcome};
use tokio::{sync::watch, task::JoinSet};

use crate::{
    Engine,
    connector::Ctx,
    error::{ApplyError, ApplyResult},
    health::{self, OutagePolicy},
    processors,
};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Its name in leases and history (host and process, by default).
    pub owner: String,
    /// Messages applied at once.
    pub concurrency: usize,
    /// How long a claim holds a message before another worker may rescue it.
    pub lease: Duration,
    /// The longest wait between looks at the queue when nothing wakes the worker.
    pub idle_wait: Duration,
    /// On shutdown, how long in-flight applies may finish before their leases are released.
    pub grace: Duration,
    /// When a connector's other system counts as out, and how it is probed.
    pub outage: OutagePolicy,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            owner: format!("worker-{}", std::process::id()),
            concurrency: 8,
            lease: Duration::from_secs(60),
            idle_wait: Duration::from_secs(1),
            grace: Duration::from_secs(20),
            outage: OutagePolicy::default(),
        }
    }
}

/// Runs until `shutdown` turns true: then stops claiming, lets in-flight work finish within
/// the grace period, and releases what is left so another worker takes it at once.
pub async fn run(engine: Arc<Engine>, config: WorkerConfig, mut shutdown: watch::Receiver<bool>) {
    let mut tasks: JoinSet<()> = JoinSet::new();
    let mut last_reap = Timestamp(0);
    let prober = tokio::spawn(health::run(
        engine.clone(),
        config.outage.clone(),
        shutdown.clone(),
    ));
    tracing::info!(owner = %config.owner, concurrency = config.concurrency, "worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        while tasks.try_join_next().is_some() {}
        let now = Timestamp::now();
        if now.0 - last_reap.0 > 5_000 {
            last_reap = now;
            match engine.store.reap_expired(500).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(count = n, "rescued messages whose worker stopped"),
                Err(e) => tracing::error!(error = %e, "reaping expired leases failed"),
            }
        }
        let free = config.concurrency.saturating_sub(tasks.len());
        if free == 0 {
            tokio::select! {
                _ = tasks.join_next() => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        // Enough for `free` full product batches; what does not fit is given back below.
        let claimed = match engine
            .store
            .claim(
                &config.owner,
                (free * engine.write_batch()).min(100) as u32,
                config.lease,
            )
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "claiming messages failed");
                tokio::select! {
                    _ = tokio::time::sleep(config.idle_wait) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                _ = engine.store.wait_for_work(config.idle_wait) => {}
                _ = tasks.join_next(), if !tasks.is_empty() => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let mut groups = group(&engine, claimed);
        // Full batches first, so the budget goes to requests that carry ten products.
        groups.sort_by_key(|g| std::cmp::Reverse(g.len()));
        for (n, group) in groups.into_iter().enumerate() {
            if n >= free {
                for c in &group {
                    let _ = engine.store.release(&c.lease).await;
                }
                continue;
            }
            let engine = engine.clone();
            let lease = config.lease;
            let policy = config.outage.clone();
            tasks.spawn(async move { process_group(engine, group, lease, policy).await });
        }
    }
    let drained = tokio::time::timeout(config.grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = tasks.len(),
            "grace period over; releasing in-flight messages"
        );
        // Aborting drops each task's guard, which releases its leases.
        tasks.shutdown().await;
    }
    prober.abort();
    tracing::info!(owner = %config.owner, "worker stopped");
}

/// Products of one connector go together (as many as its store writes in one request);
/// everything else alone.
fn group(engine: &Engine, claimed: Vec<Claimed>) -> Vec<Vec<Claimed>> {
    let mut out: Vec<Vec<Claimed>> = Vec::new();
    let mut batches: Vec<Vec<Claimed>> = Vec::new();
    // Each connector's batch size, looked up once per claim.
    let mut sizes: std::collections::HashMap<kcf_domain::ConnectorId, usize> =
        std::collections::HashMap::new();
    for c in claimed {
        if processors::batches(c.message.entity, c.message.direction) {
            let size = match c.message.entity {
                Entity::Product => *sizes
                    .entry(c.message.connector.clone())
                    .or_insert_with(|| engine.write_batch_of(&c.message.connector)),
                _ => processors::availability::BATCH,
            };
            match batches.iter_mut().find(|b| {
                b[0].message.connector == c.message.connector
                    && b[0].message.entity == c.message.entity
                    && b.len() < size
            }) {
                Some(b) => b.push(c),
                None => batches.push(vec![c]),
            }
        } else {
            out.push(vec![c]);
        }
    }
    out.extend(batches);
    out
}

/// Releases leases that were not finished (a task aborted at shutdown, a panic).
struct Unfinished {
    engine: Arc<Engine>,
    leases: Vec<kcf_domain::Lease>,
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if self.leases.is_empty() {
            return;
        }
        let engine = self.engine.clone();
        let leases = std::mem::take(&mut self.leases);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                for lease in leases {
                    let _ = engine.store.release(&lease).await;
                }
            });
        }
    }
}

async fn process_group(
    engine: Arc<Engine>,
    group: Vec<Claimed>,
    lease: Duration,
    policy: OutagePolicy,
) {
    let Some(first) = group.first() else {
        return;
    };
    let mut guard = Unfinished {
        engine: engine.clone(),
        leases: group.iter().map(|c| c.lease.clone()).collect(),
    };
    let Some(conn) = engine.runtime(&first.message.connector) else {
        for c in &group {
            let _ = engine
                .store
                .fail(
                    &c.lease,
                    &format!(
                        "connector {} is not configured in this kcf process",
                        c.message.connector
                    ),
                    None,
                )
                .await;
        }
        guard.leases.clear();
        return;
    };
    let ctx = Ctx::new(engine.store.clone(), conn);
    let started = std::time::Instant::now();
    let work = async {
        if group.len() > 1 || processors::batches(first.message.entity, first.message.direction) {
            let keys: Vec<String> = group
                .iter()
                .map(|c| c.message.record_key.as_str().to_owned())
                .collect();
            processors::apply_many(&ctx, first.message.entity, &keys).await
        } else {
            vec![processors::apply(&ctx, &first.message).await]
        }
    };
    let Some(results) = with_heartbeat(&engine, &group, lease, work).await else {
        guard.leases.clear();
        return;
    };
    let elapsed = started.elapsed().as_secs_f64();
    // What was sent is kept first, so a message never reads finished without it.
    keep_sent(&engine, &ctx, &group).await;
    // The group's finished messages (processed, skipped, invalid…) are recorded in one
    // statement: a batch of ten products is one commit, not ten in a row.
    let (mut items, mut completed) = (Vec::new(), Vec::new());
    let mut others = Vec::new();
    for (c, result) in group.iter().zip(results) {
        match result {
            Ok(applied) => {
                tracing::debug!(id = %c.message.id, key = %c.message.record_key, note = %applied.note, "applied");
                completed.push(c);
                items.push(
                    Completion::new(c.lease.clone(), applied.outcome).with_note(applied.note),
                );
            }
            Err(ApplyError::Invalid(error)) => {
                tracing::warn!(id = %c.message.id, key = %c.message.record_key, %error, "cannot be synced");
                completed.push(c);
                items.push(Completion::new(c.lease.clone(), Outcome::Invalid).with_note(error));
            }
            Err(error) => others.push((c, error)),
        }
    }
    if !items.is_empty() {
        ctx.conn.health.answered();
        if let Err(e) = engine.store.complete_many(&items).await {
            // One by one then: a single row's completion cannot meet another statement's
            // locks in a cycle, and a lost completion would cost a lease's time and a retry.
            tracing::warn!(messages = items.len(), error = %e, "recording the group's outcomes at once failed; recording them one by one");
            for item in &items {
                if let Err(e) = engine
                    .store
                    .complete(&item.lease, item.outcome, item.note.as_deref())
                    .await
                {
                    tracing::error!(id = %item.lease.id, error = %e, "recording the outcome failed; the lease will expire and the message be retried");
                }
            }
        }
        for (c, item) in completed.iter().zip(&items) {
            account(&c.message, item.outcome.as_str(), elapsed);
        }
    }
    for (c, error) in others {
        finish(&engine, &ctx, c, error, elapsed, &policy).await;
    }
    guard.leases.clear();
}

/// Keeps, per message, the last document sent for it: one noted with its record key, or, when
/// the group is one message, the last one noted at all. Best effort: losing it loses only
/// the record page's "Mapped to".
async fn keep_sent(engine: &Engine, ctx: &Ctx, group: &[Claimed]) {
    let sent = ctx.take_sent();
    if sent.is_empty() {
        return;
    }
    let at = Timestamp::now();
    // The last document per record key (`None`: the group's only message); later ones win.
    let mut last: std::collections::HashMap<Option<String>, crate::connector::Sent> =
        std::collections::HashMap::new();
    for s in sent {
        last.insert(s.key.clone(), s);
    }
    let documents: Vec<SentDocument> = group
        .iter()
        .filter_map(|c| {
            let key = c.message.record_key.as_str();
            let s = match last.remove(&Some(key.to_owned())) {
                Some(s) => s,
                None if group.len() == 1 => last.remove(&None)?,
                None => return None,
            };
            Some(SentDocument {
                message_id: c.message.id,
                at,
                target: s.target,
                body: s.body,
            })
        })
        .collect();
    if let Err(e) = engine.store.record_sent(&documents).await {
        tracing::warn!(error = %e, "keeping what was sent failed");
    }
}

/// Runs `work`, extending the group's leases every third of the lease meanwhile; `None`
/// when every lease of the group was lost (the work is dropped where it stood).
///
/// A worker frozen past its lease (SIGSTOP, a VM paused, a long GC-like stall) finds, when
/// it runs again, that its messages were handed to another worker. The beat is polled first
/// (`biased`), so an overdue beat runs before the work takes another step: the frozen worker
/// learns it lost the leases before it sends anything more to the other systems, and stops.
async fn with_heartbeat<F: std::future::Future<Output = Vec<ApplyResult>>>(
    engine: &Engine,
    group: &[Claimed],
    lease: Duration,
    work: F,
) -> Option<Vec<ApplyResult>> {
    tokio::pin!(work);
    let mut beat = tokio::time::interval(lease / 3);
    beat.tick().await;
    loop {
        tokio::select! {
            biased;
            _ = beat.tick() => {
                let mut lost = 0;
                for c in group {
                    if let Ok(None) = engine.store.heartbeat(&c.lease, lease).await {
                        lost += 1;
                    }
                }
                if lost == group.len() {
                    tracing::warn!(
                        messages = group.len(),
                        "the leases ran out while applying (this worker stalled): stopped; \
                         the messages belong to another worker now"
                    );
                    return None;
                }
            }
            results = &mut work => return Some(results),
        }
    }
}

/// Records a message's failed apply: a retry, a wait, an outage, a release.
async fn finish(
    engine: &Engine,
    ctx: &Ctx,
    c: &Claimed,
    error: ApplyError,
    elapsed: f64,
    policy: &OutagePolicy,
) {
    let m = &c.message;
    match &error {
        ApplyError::Unavailable { .. } | ApplyError::SignInRefused { .. } => {}
        // Waiting says nothing about the other system: it must not end a streak of failures
        // (a stock write waiting every 2 s for an order would keep an outage from being seen).
        ApplyError::Store(_) | ApplyError::Waiting { .. } => {}
        _ => ctx.conn.health.answered(),
    }
    let outcome_label;
    let stored = match error {
        ApplyError::Invalid(error) => {
            outcome_label = "invalid";
            tracing::warn!(id = %m.id, key = %m.record_key, %error, "cannot be synced");
            engine
                .store
                .complete(&c.lease, Outcome::Invalid, Some(&error))
                .await
                .map(|_| ())
        }
        ApplyError::Retry { message, after } => {
            outcome_label = "failed";
            tracing::info!(id = %m.id, key = %m.record_key, error = %message, "attempt failed");
            match engine.store.fail(&c.lease, &message, after).await {
                Ok(FailOutcome::Aborted) => {
                    tracing::warn!(id = %m.id, key = %m.record_key, error = %message, "aborted after max attempts");
                    Ok(())
                }
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            }
        }
        ApplyError::RateLimited { message, until } => {
            outcome_label = "rate-limited";
            // Every worker of this connector, in every process, waits for the reset.
            let _ = engine
                .store
                .hold_connector(ctx.id(), Some(until), Some(&message))
                .await;
            metrics::counter!("kcf_rate_limit_pauses_total", "connector" => ctx.id().to_string())
                .increment(1);
            let reason = format!("{message} (the connector waits; not counted as an attempt)");
            engine
                .store
                .postpone(&c.lease, &reason, until)
                .await
                .map(|_| ())
        }
        ApplyError::Unavailable {
            system,
            message,
            after,
        } => {
            outcome_label = "unavailable";
            let (in_a_row, failing_for) = ctx.conn.health.unavailable();
            let now = Timestamp::now();
            let until = if in_a_row >= policy.after_failures && failing_for >= policy.after {
                if let Err(e) = engine
                    .enter_outage(ctx.id(), system, &message, false, policy)
                    .await
                {
                    tracing::error!(error = %e, "recording the outage failed");
                }
                now
            } else {
                // Its own wait, growing with the tries it has had put off (the `[retry]`
                // backoff), so a record the system keeps failing while the rest gets through
                // is not tried in a tight loop; an outage, if this is one, stops the whole
                // queue soon.
                let policy = engine.store.retry_policy();
                now.plus(policy.delay(m.postponed + 1).max(after.unwrap_or_default()))
            };
            tracing::info!(id = %m.id, key = %m.record_key, error = %message, in_a_row, "the other system did not answer properly");
            let reason = format!("{message} (not counted as an attempt)");
            engine
                .store
                .postpone(&c.lease, &reason, until)
                .await
                .map(|_| ())
        }
        ApplyError::SignInRefused { system, message } => {
            outcome_label = "sign-in-refused";
            if let Err(e) = engine
                .enter_outage(ctx.id(), system, &message, true, policy)
                .await
            {
                tracing::error!(error = %e, "recording the outage failed");
            }
            let reason = format!("{message} (not counted as an attempt)");
            engine
                .store
                .postpone(&c.lease, &reason, Timestamp::now())
                .await
                .map(|_| ())
        }
        ApplyError::Waiting { message, after } => {
            outcome_label = "waiting";
            tracing::debug!(id = %m.id, key = %m.record_key, reason = %message, "waits");
            let reason = format!("{message} (waits; not counted as an attempt)");
            engine
                .store
                .postpone(
                    &c.lease,
                    &reason,
                    Timestamp::now().plus(waiting_for(after, m.postponed)),
                )
                .await
                .map(|_| ())
        }
        ApplyError::Store(e) => {
            outcome_label = "released";
            tracing::error!(id = %m.id, error = %e, "database error while applying; released");
            engine.store.release(&c.lease).await.map(|_| ())
        }
    };
    if let Err(e) = stored {
        tracing::error!(id = %m.id, error = %e, "recording the outcome failed; the lease will expire and the message be retried");
    }
    account(m, outcome_label, elapsed);
}

/// The metrics of one message's outcome.
fn account(m: &kcf_domain::Message, outcome_label: &str, elapsed: f64) {
    let entity = m.entity.as_str();
    let labels = [
        ("connector", m.connector.to_string()),
        ("entity", entity.to_owned()),
        ("outcome", outcome_label.to_owned()),
    ];
    metrics::counter!("kcf_messages_applied_total", &labels).increment(1);
    metrics::histogram!("kcf_apply_seconds", "entity" => entity.to_owned()).record(elapsed);
    if outcome_label == "processed" {
        let age = (Timestamp::now().0 - m.created_at.0).max(0) as f64 / 1000.0;
        metrics::histogram!("kcf_end_to_end_seconds", "entity" => entity.to_owned(), "mode" => m.mode.as_str()).record(age);
    }
}

/// How long a message that must wait (the overselling guard holding stock back) is put off:
/// the processor's wait, doubled with each try put off up to 8 times it (so 2, 4, 8, 16 s).
/// A flood of store orders can hold thousands of stock messages for minutes; claiming each
/// one every two seconds all that time would keep the queue busy with no work done.
fn waiting_for(after: Duration, postponed: u32) -> Duration {
    after.saturating_mul(1 << postponed.min(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_grows_with_each_try_put_off_then_holds() {
        let two = Duration::from_secs(2);
        let waits: Vec<u64> = (0..6).map(|n| waiting_for(two, n).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 16, 16]);
        assert_eq!(waiting_for(Duration::MAX, 5), Duration::MAX);
    }
}
