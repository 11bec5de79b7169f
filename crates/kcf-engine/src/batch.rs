//! Batch windows: list what the source changed in [from, to), page by page inside the frozen
//! window by keyset (the entity's key after the last one listed), so records sharing one
//! modification time across a page boundary are listed once each; enqueue one batch message
//! per record; record the checkpoint after every page so a restart resumes where it stopped.

use kcf_domain::{
    BatchMode, BatchRun, BatchStatus, ConnectorId, Direction, Entity, ManualAction, MessageId,
    MessageStatus, Mode, NewBatchRun, NewMessage, RecordKey, Timestamp, Transition,
};
use kcf_platform::{Listed, Window};
use kcf_store::{ActionReport, MessageFilter, PageRequest};
use serde_json::Value;

use crate::{
    Engine,
    connector::Ctx,
    error::{ApplyError, EngineError},
};

/// Times a listing page is tried again while its system is unavailable (about a minute in
/// all) before the run is marked failed.
const LISTING_RETRIES: u32 = 7;
/// The longest window one batch may cover (a guard against a typo listing years).
pub const MAX_WINDOW_DAYS: i64 = 3660;

/// A batch to prepare.
#[derive(Debug, Clone)]
pub struct BatchRequest {
    /// The connector.
    pub connector: ConnectorId,
    /// The entity.
    pub entity: Entity,
    /// How the window was chosen.
    pub mode: BatchMode,
    /// Start (inclusive).
    pub from: Timestamp,
    /// End (exclusive).
    pub to: Timestamp,
}

/// The entities with a batch screen, and where their records come from.
pub fn source_of(entity: Entity) -> Option<Direction> {
    entity.batch_source()
}

impl Engine {
    /// Lists what the source changed in the window as batch messages; returns the run.
    // A refused request is the caller's to read, not an error of kcf's: logged at info.
    #[tracing::instrument(skip_all, fields(connector = %req.connector, entity = %req.entity), err(level = "info"))]
    pub async fn prepare_batch(&self, req: BatchRequest) -> Result<BatchRun, EngineError> {
        let Some(direction) = source_of(req.entity) else {
            return Err(EngineError::Invalid(format!(
                "{} has no batch process; it syncs in real time only",
                req.entity
            )));
        };
        if req.from >= req.to {
            return Err(EngineError::Invalid(
                "the From date must be before the To date".into(),
            ));
        }
        if req.mode != BatchMode::Full && req.to.0 - req.from.0 > MAX_WINDOW_DAYS * 86_400_000 {
            return Err(EngineError::Invalid(format!(
                "a batch window may cover at most {MAX_WINDOW_DAYS} days"
            )));
        }
        let conn = self
            .runtime(&req.connector)
            .ok_or_else(|| EngineError::UnknownConnector(req.connector.to_string()))?;
        let run = self
            .store
            .create_batch_run(&NewBatchRun {
                connector: req.connector.clone(),
                entity: req.entity,
                mode: req.mode,
                window_from: req.from,
                window_to: req.to,
            })
            .await?;
        let ctx = Ctx::new(self.store.clone(), conn);
        self.list_run(&ctx, run, direction).await
    }

    /// Lists (or goes on listing, from its checkpoint) a run.
    pub(crate) async fn list_run(
        &self,
        ctx: &Ctx,
        mut run: BatchRun,
        direction: Direction,
    ) -> Result<BatchRun, EngineError> {
        let mut checkpoint = run.checkpoint.clone();
        loop {
            let page = match self
                .list_page_patiently(ctx, &run, checkpoint.as_deref())
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    let message = e.to_string();
                    self.store
                        .update_batch_run(
                            run.id,
                            checkpoint.as_deref(),
                            0,
                            0,
                            BatchStatus::Failed,
                            Some(&message),
                        )
                        .await?;
                    return Err(e.into());
                }
            };
            let (records, next) = page;
            let listed = records.len() as u64;
            // A person listing a window again gets the records' waiting messages moved into
            // this run (with the new listing), not a second message each.
            let adopted: std::collections::HashSet<String> = if run.mode == BatchMode::ByDate {
                let rows: Vec<(String, String, Value)> = records
                    .iter()
                    .map(|r| (r.key.clone(), r.description.clone(), r.payload.clone()))
                    .collect();
                self.store
                    .adopt_batch_messages(run.id, ctx.id(), run.entity, &rows)
                    .await?
                    .into_iter()
                    .collect()
            } else {
                Default::default()
            };
            let mut messages = Vec::with_capacity(records.len());
            for r in records.into_iter().filter(|r| !adopted.contains(&r.key)) {
                let Ok(key) = RecordKey::parse(r.key.clone()) else {
                    continue;
                };
                let mut m = NewMessage::new(
                    ctx.id().clone(),
                    run.entity,
                    direction,
                    Mode::Batch,
                    key,
                    "batch",
                )
                .with_dedup_key(format!("batch:{}:{}", run.id, r.key))
                .with_description(r.description)
                .with_payload(r.payload);
                m.batch_run = Some(run.id);
                // A person's From/To listing waits for them to choose; the scheduler's and a
                // full sync's runs are processed as they are listed.
                m.wait_for_person = run.mode == BatchMode::ByDate;
                m.source_modified_at = r.modified;
                messages.push(m);
            }
            let enqueued = adopted.len() as u64
                + if messages.is_empty() {
                    0
                } else {
                    self.store
                        .enqueue_many(messages)
                        .await?
                        .iter()
                        .filter(|e| !e.duplicate)
                        .count() as u64
                };
            let status = if next.is_some() {
                BatchStatus::Listing
            } else {
                BatchStatus::Listed
            };
            run = self
                .store
                .update_batch_run(run.id, next.as_deref(), listed, enqueued, status, None)
                .await?;
            match next {
                Some(n) => checkpoint = Some(n),
                None => return Ok(run),
            }
        }
    }

    /// Lists one page; waits out rate limits (the run goes on from its checkpoint when the
    /// budget is back) and retries an unavailable system a few times at growing intervals.
    async fn list_page_patiently(
        &self,
        ctx: &Ctx,
        run: &BatchRun,
        checkpoint: Option<&str>,
    ) -> Result<(Vec<Listed>, Option<String>), ApplyError> {
        let mut unavailable = 0u32;
        loop {
            match list_page(ctx, run, checkpoint).await {
                Ok(page) => return Ok(page),
                Err(ApplyError::RateLimited { message, until }) => {
                    tracing::info!(run = run.id, error = %message, "batch listing waits for the rate limit");
                    let wait = (until.0 - Timestamp::now().0).clamp(50, 120_000);
                    tokio::time::sleep(std::time::Duration::from_millis(wait as u64)).await;
                }
                Err(ApplyError::Unavailable { message, .. }) if unavailable < LISTING_RETRIES => {
                    unavailable += 1;
                    let wait = std::time::Duration::from_millis(500)
                        .saturating_mul(1 << unavailable.min(6));
                    tracing::info!(run = run.id, error = %message, attempt = unavailable, "batch listing retries");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Asks for a run's messages (all, or the given ones) to be processed now.
    pub async fn process_batch(
        &self,
        run_id: i64,
        ids: Option<Vec<MessageId>>,
        actor: &str,
    ) -> Result<ActionReport, EngineError> {
        let run = self
            .store
            .batch_run(run_id)
            .await?
            .ok_or_else(|| EngineError::Invalid(format!("there is no batch run {run_id}")))?;
        let ids = match ids {
            Some(ids) => ids,
            None => {
                let filter = MessageFilter {
                    batch_run: Some(run.id),
                    statuses: vec![
                        MessageStatus::Pending,
                        MessageStatus::Failed,
                        MessageStatus::Aborted,
                    ],
                    ..MessageFilter::default()
                };
                message_ids(&*self.store, &filter, usize::MAX).await?
            }
        };
        let mut report = ActionReport::default();
        for chunk in ids.chunks(500) {
            let mut process = ManualAction {
                transition: Transition::ProcessNow,
                actor: actor.to_owned(),
                reason: Some(format!("batch run {run_id}")),
            };
            let r = self.store.act(chunk, &process).await?;
            // Failed or aborted ones go back to the queue as retries.
            let refused: Vec<MessageId> = r.refused.iter().map(|(id, _)| *id).collect();
            report.changed.extend(r.changed);
            if !refused.is_empty() {
                process.transition = Transition::Retry;
                let again = self.store.act(&refused, &process).await?;
                report.changed.extend(again.changed);
                report.refused.extend(again.refused);
            }
        }
        Ok(report)
    }
}

async fn list_page(
    ctx: &Ctx,
    run: &BatchRun,
    checkpoint: Option<&str>,
) -> Result<(Vec<Listed>, Option<String>), ApplyError> {
    let window = Window {
        from: (run.mode != BatchMode::Full).then_some(run.window_from),
        to: run.window_to,
    };
    let page = match run.entity.batch_source() {
        Some(Direction::ErpToStore) => ctx.erp().changed(run.entity, &window, checkpoint).await?,
        Some(Direction::StoreToErp) => ctx.shop().changed(run.entity, &window, checkpoint).await?,
        None => {
            return Err(ApplyError::Invalid(format!(
                "{} has no batch process",
                run.entity
            )));
        }
    };
    Ok((page.records, page.next))
}

/// The workspace grid's columns per entity (field in the listed record, heading), from the
/// platform its batch screen lists (the store's, for a connector to `store`).
pub fn columns(
    entity: &str,
    store: crate::registry::StoreKind,
) -> &'static [(&'static str, &'static str)] {
    crate::registry::columns(entity, store)
}

/// The ids of the messages matching `filter`, newest first, at most about `cap` (whole pages).
pub async fn message_ids(
    store: &dyn kcf_store::Store,
    filter: &MessageFilter,
    cap: usize,
) -> Result<Vec<MessageId>, kcf_store::StoreError> {
    let mut ids = Vec::new();
    let mut page = PageRequest {
        before: None,
        limit: kcf_store::MAX_PAGE,
    };
    while ids.len() < cap {
        let p = store.list_messages(filter, page).await?;
        ids.extend(p.items.iter().map(|m| m.id));
        match p.next {
            Some(next) => page.before = Some(next),
            None => break,
        }
    }
    Ok(ids)
}

/// Where a batch run's work stands, from its messages' statuses.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RunProgress {
    /// Records listed.
    pub listed: u64,
    /// Messages finished (processed, filtered, skipped, deleted).
    pub processed: u64,
    /// Messages waiting or under way.
    pub pending: u64,
    /// Messages failed for good or waiting for a person (aborted, invalid) or failed and
    /// waiting for their retry.
    pub failed: u64,
    /// In words: listing, listing failed, waiting for Process, processing, done, done with
    /// failures, or moved to a later run (a later listing of the same records holds them).
    pub status: String,
}

impl Engine {
    /// Counts a run's messages and says where it stands.
    pub async fn run_progress(&self, run: &BatchRun) -> Result<RunProgress, EngineError> {
        let counts = self
            .store
            .count_by_status(&MessageFilter {
                batch_run: Some(run.id),
                ..MessageFilter::default()
            })
            .await?;
        let mut p = RunProgress {
            listed: run.listed,
            ..RunProgress::default()
        };
        for c in counts {
            match c.status {
                MessageStatus::Pending | MessageStatus::Processing => p.pending += c.count,
                MessageStatus::Failed | MessageStatus::Aborted | MessageStatus::Invalid => {
                    p.failed += c.count
                }
                _ => p.processed += c.count,
            }
        }
        p.status = match run.status {
            BatchStatus::Listing => "listing",
            BatchStatus::Failed => "listing failed",
            BatchStatus::Cancelled => "cancelled",
            _ if p.pending + p.processed + p.failed == 0 && p.listed > 0 => "moved to a later run",
            _ if p.pending > 0 && p.processed + p.failed == 0 && run.mode == BatchMode::ByDate => {
                "waiting for Process"
            }
            _ if p.pending > 0 => "processing",
            _ if p.failed > 0 => "done with failures",
            _ => "done",
        }
        .to_owned();
        Ok(p)
    }
}
