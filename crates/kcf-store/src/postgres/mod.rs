//! The PostgreSQL backend: short transactions, `FOR UPDATE SKIP LOCKED` claims, and
//! `LISTEN/NOTIFY` to wake idle workers, so any number of workers on any number of hosts can
//! share one database.

mod text;

use std::{str::FromStr, sync::Arc, time::Duration};

use async_trait::async_trait;
use kcf_domain::{
    ApiToken, BatchRun, BatchStatus, Binding, Claimed, Connector, ConnectorId, ConnectorState,
    Enqueued, Entity, EntitySettings, HistoryEntry, Lease, ManualAction, Mapping, MappingKind,
    Message, MessageId, NewBatchRun, NewMessage, Outage, Outcome, RetryPolicy, SentDocument,
    Session, Timestamp, Transition,
};
use sqlx::{
    PgConnection, PgPool,
    postgres::{PgListener, PgPoolOptions},
};
use tokio::{sync::Notify, task::JoinHandle};

use crate::{
    ActionReport, Backend, BindingKey, FailOutcome, MessageFilter, Page, PageRequest, Result,
    StatusCount, Store, StoreConfig, StoreError, migrate, redact_url,
};

type Db = sqlx::Postgres;
type Conn = PgConnection;
const SKIP_LOCKED: &str = "FOR UPDATE SKIP LOCKED";
const LOCK_ROW: &str = "FOR UPDATE";
const CLAIM_SCAN: &str = "messages m";
const LIKE: &str = "ILIKE";
const DONE_SCAN: &str = "messages";
const FTS5: bool = false;

mod ops {
    use super::{CLAIM_SCAN, Conn, DONE_SCAN, Db, FTS5, LIKE, LOCK_ROW, SKIP_LOCKED};
    include!("../ops.rs");
}

/// A failed insert's error, or the connector it names that does not exist (inside the
/// failed transaction that could not be looked up).
async fn explain(pool: &PgPool, messages: &[NewMessage], e: StoreError) -> StoreError {
    let Ok(mut c) = pool.acquire().await else {
        return e;
    };
    let mut seen = std::collections::BTreeSet::new();
    for m in messages {
        if seen.insert(m.connector.as_str()) {
            match ops::connector(&mut c, &m.connector).await {
                Ok(Some(_)) => {}
                Ok(None) => return StoreError::UnknownConnector(m.connector.clone()),
                Err(_) => return e,
            }
        }
    }
    e
}

/// The channel enqueues notify and idle workers listen on.
const WORK_CHANNEL: &str = "kcf_work";
/// Serialises migrations across processes.
const MIGRATION_LOCK: i64 = 0x6b63_665f_6d69_6772;

/// A store in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    retry: RetryPolicy,
    crash_backoff: RetryPolicy,
    wake: Arc<Notify>,
    stats: Arc<Statistics>,
    notifier: Arc<Notifier>,
    batcher: crate::batcher::Batcher,
    generation: Arc<std::sync::atomic::AtomicU64>,
    _listener: Arc<Listener>,
    _text: Option<Arc<text::Mover>>,
}

/// Sends `NOTIFY kcf_work` for this store, off the commit path.
///
/// A transaction that notifies holds PostgreSQL's notify-queue lock through its commit, so
/// notifying inside every enqueue serialises all commits (no group commit): measured 2,100
/// concurrent enqueues/s that way. Instead an enqueue wakes this store's own workers at once
/// and asks this task to notify the others; requests that arrive while it is notifying are
/// coalesced into the next one.
#[derive(Debug)]
struct Notifier {
    wanted: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Notifier {
    fn start(pool: PgPool) -> Self {
        let wanted = Arc::new(Notify::new());
        let task = tokio::spawn({
            let wanted = wanted.clone();
            async move {
                loop {
                    wanted.notified().await;
                    let sent = sqlx::query("SELECT pg_notify($1, '')")
                        .bind(WORK_CHANNEL)
                        .execute(&pool)
                        .await;
                    if let Err(e) = sent {
                        tracing::warn!(error = %e, "NOTIFY failed; other workers will poll");
                    }
                }
            }
        });
        Self { wanted, task }
    }

    fn request(&self) {
        self.wanted.notify_one();
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Keeps the planner's statistics of `messages` fresh after bursts of intake.
///
/// A claim is a few index probes per candidate when PostgreSQL knows the table; right after a
/// burst (an initial sync, a catch-up batch) autovacuum has not analysed it yet (it wakes once
/// a minute) and the planner scans every row per claim: measured 473 claims+completes/s
/// instead of over 10,000 on 40,000 fresh messages. So the store analyses the table itself
/// after every 5,000 enqueued rows, at most once per 5 s, in the background.
#[derive(Debug)]
struct Statistics {
    since_analyze: std::sync::atomic::AtomicU64,
    last_analyze: std::sync::Mutex<std::time::Instant>,
}

impl Statistics {
    const EVERY_ROWS: u64 = 5_000;
    const AT_MOST_EVERY: Duration = Duration::from_secs(5);

    fn new() -> Self {
        let long_ago = std::time::Instant::now().checked_sub(Self::AT_MOST_EVERY);
        Self {
            since_analyze: std::sync::atomic::AtomicU64::new(0),
            last_analyze: std::sync::Mutex::new(long_ago.unwrap_or_else(std::time::Instant::now)),
        }
    }

    fn enqueued(&self, rows: usize, pool: &PgPool) {
        use std::sync::atomic::Ordering::Relaxed;
        let total = self.since_analyze.fetch_add(rows as u64, Relaxed) + rows as u64;
        if total < Self::EVERY_ROWS {
            return;
        }
        let Ok(mut last) = self.last_analyze.lock() else {
            return;
        };
        if last.elapsed() < Self::AT_MOST_EVERY {
            return;
        }
        *last = std::time::Instant::now();
        self.since_analyze.store(0, Relaxed);
        let pool = pool.clone();
        tokio::spawn(async move {
            if let Err(e) = sqlx::query("ANALYZE messages").execute(&pool).await {
                tracing::warn!(error = %e, "ANALYZE messages failed");
            }
        });
    }
}

#[derive(Debug)]
struct Listener(JoinHandle<()>);

impl Drop for Listener {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl PgStore {
    /// Connects to and migrates the database `config.url` names.
    pub async fn open(config: &StoreConfig) -> Result<Self> {
        let open_error = |e: sqlx::Error| StoreError::Open {
            backend: "PostgreSQL",
            target: redact_url(&config.url),
            setting: "database_url",
            detail: e.to_string(),
            hint: "Is PostgreSQL running and reachable there? Check host, port, user, \
                   password and database name (create the database first with createdb).",
        };
        // No JIT: kcf's statements are short, and a cost estimate above `jit_above_cost` (a
        // correlated subquery at a million rows) made PostgreSQL spend 10+ ms compiling one.
        let options = sqlx::postgres::PgConnectOptions::from_str(&config.url)
            .map_err(open_error)?
            .options([("jit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(2))
            .acquire_timeout(config.busy_timeout)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        let wake = Arc::new(Notify::new());
        let listener = Arc::new(Listener(tokio::spawn(listen(pool.clone(), wake.clone()))));
        let stats = Arc::new(Statistics::new());
        let notifier = Arc::new(Notifier::start(pool.clone()));
        let batcher = {
            let pool = pool.clone();
            crate::batcher::Batcher::start(
                Arc::new(move |messages: Arc<Vec<NewMessage>>| {
                    let pool = pool.clone();
                    Box::pin(async move {
                        let mut tx = pool.begin().await?;
                        match ops::insert_messages(&mut tx, &messages, Timestamp::now()).await {
                            Ok(done) => {
                                tx.commit().await?;
                                Ok(done)
                            }
                            Err(e) => {
                                let _ = tx.rollback().await;
                                Err(explain(&pool, &messages, e).await)
                            }
                        }
                    })
                }),
                // Two groups in flight: one commits while the next fills (4 measured no
                // better on 2 cores).
                2,
            )
        };
        let store = Self {
            batcher,
            generation: Arc::default(),
            pool,
            retry: config.retry,
            crash_backoff: config.crash_backoff,
            wake,
            stats,
            notifier,
            _listener: listener,
            _text: None,
        };
        store.migrate().await?;
        // Once its table exists.
        let mover = text::Mover::start(store.pool.clone());
        Ok(Self {
            _text: Some(Arc::new(mover)),
            ..store
        })
    }

    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<Db>> {
        Ok(self.pool.acquire().await?)
    }

    /// Moves [`Store::settings_generation`].
    fn settings_changed(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Wakes this store's idle workers now and every other store's through NOTIFY.
    fn wake_workers(&self) {
        self.wake.notify_waiters();
        self.wake.notify_one();
        self.notifier.request();
    }
}

/// Turns NOTIFYs on the work channel into wake-ups; reconnects after errors.
async fn listen(pool: PgPool, wake: Arc<Notify>) {
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => {
                if listener.listen(WORK_CHANNEL).await.is_ok() {
                    while listener.recv().await.is_ok() {
                        wake.notify_waiters();
                        wake.notify_one();
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "LISTEN connection failed; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    fn settings_generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await?;
        sqlx::raw_sql(migrate::CREATE_TABLE)
            .execute(&mut *tx)
            .await?;
        let applied: Vec<(i64, String)> =
            sqlx::query_as("SELECT version, name FROM kcf_migrations ORDER BY version")
                .fetch_all(&mut *tx)
                .await?;
        for m in migrate::pending(migrate::POSTGRES, &applied)? {
            sqlx::raw_sql(m.sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::Migration(format!("{} ({}): {e}", m.version, m.name)))?;
            sqlx::query(
                "INSERT INTO kcf_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(Timestamp::now().0)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn put_connector(&self, connector: &Connector) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        ops::put_connector(&mut tx, connector, Timestamp::now()).await?;
        tx.commit().await?;
        self.settings_changed();
        Ok(())
    }

    async fn connector(&self, id: &ConnectorId) -> Result<Option<Connector>> {
        ops::connector(&mut *self.conn().await?, id).await
    }

    async fn connectors(&self) -> Result<Vec<Connector>> {
        ops::connectors(&mut *self.conn().await?).await
    }

    async fn set_connector_state(&self, id: &ConnectorId, state: ConnectorState) -> Result<()> {
        let mut c = self.conn().await?;
        ops::set_connector_state(&mut c, id, state, Timestamp::now()).await?;
        self.settings_changed();
        if state == ConnectorState::Running {
            self.wake_workers();
        }
        Ok(())
    }

    async fn hold_connector(
        &self,
        id: &ConnectorId,
        until: Option<Timestamp>,
        reason: Option<&str>,
    ) -> Result<()> {
        ops::hold_connector(
            &mut *self.conn().await?,
            id,
            until,
            reason,
            Timestamp::now(),
        )
        .await
    }

    async fn set_outage(&self, id: &ConnectorId, outage: Option<&Outage>) -> Result<()> {
        ops::set_outage(&mut *self.conn().await?, id, outage, Timestamp::now()).await?;
        self.wake_workers();
        Ok(())
    }

    async fn take_probe(&self, id: &ConnectorId, seen: Timestamp, next: Timestamp) -> Result<bool> {
        ops::take_probe(&mut *self.conn().await?, id, seen, next, Timestamp::now()).await
    }

    async fn erp_session(&self, id: &ConnectorId) -> Result<Option<Vec<u8>>> {
        ops::erp_session(&mut *self.conn().await?, id).await
    }

    async fn put_erp_session(&self, id: &ConnectorId, sealed: Option<&[u8]>) -> Result<()> {
        ops::put_erp_session(&mut *self.conn().await?, id, sealed).await
    }

    async fn put_entity_settings(&self, settings: &EntitySettings) -> Result<()> {
        ops::put_entity_settings(&mut *self.conn().await?, settings).await?;
        self.settings_changed();
        Ok(())
    }

    async fn entity_settings(&self, id: &ConnectorId) -> Result<Vec<EntitySettings>> {
        ops::entity_settings(&mut *self.conn().await?, id).await
    }

    async fn put_mapping(&self, mapping: &Mapping) -> Result<()> {
        ops::put_mapping(&mut *self.conn().await?, mapping).await
    }

    async fn delete_mapping(
        &self,
        id: &ConnectorId,
        kind: MappingKind,
        erp_value: &str,
    ) -> Result<bool> {
        ops::delete_mapping(&mut *self.conn().await?, id, kind, erp_value).await
    }

    async fn mappings(&self, id: &ConnectorId, kind: Option<MappingKind>) -> Result<Vec<Mapping>> {
        ops::mappings(&mut *self.conn().await?, id, kind).await
    }

    async fn enqueue(&self, message: NewMessage) -> Result<Enqueued> {
        // One statement: it commits on its own, no BEGIN/COMMIT round trips.
        let done =
            ops::insert_messages(&mut *self.conn().await?, &[message], Timestamp::now()).await?;
        self.stats.enqueued(1, &self.pool);
        self.wake_workers();
        done.into_iter()
            .next()
            .ok_or(StoreError::Invalid("no message to enqueue".into()))
    }

    async fn enqueue_many(&self, messages: Vec<NewMessage>) -> Result<Vec<Enqueued>> {
        let n = messages.len();
        let done = self.batcher.enqueue(messages).await?;
        self.stats.enqueued(n, &self.pool);
        self.wake_workers();
        Ok(done)
    }

    async fn claim(&self, owner: &str, limit: u32, lease: Duration) -> Result<Vec<Claimed>> {
        let token = crate::new_token();
        let mut c = self.conn().await?;
        match ops::claim(&mut c, owner, limit, lease, Timestamp::now(), &token).await {
            // Two claimers raced to the same record key; the unique index stopped the second.
            // Nothing was claimed: the caller simply claims again.
            Err(StoreError::Database(e)) if StoreError::is_unique_violation(&e) => Ok(Vec::new()),
            other => other,
        }
    }

    async fn heartbeat(&self, lease: &Lease, extend: Duration) -> Result<Option<Timestamp>> {
        let until = Timestamp::now().plus(extend);
        let extended = ops::heartbeat(&mut *self.conn().await?, lease, until).await?;
        Ok(extended.then_some(until))
    }

    async fn complete(&self, lease: &Lease, outcome: Outcome, note: Option<&str>) -> Result<bool> {
        ops::complete(
            &mut *self.conn().await?,
            lease,
            outcome,
            note,
            Timestamp::now(),
        )
        .await
    }

    async fn complete_many(&self, items: &[crate::Completion]) -> Result<Vec<bool>> {
        // One statement over many rows can meet a manual action (Process All's chunks of 500)
        // holding some of them while it waits for one of these: PostgreSQL then stops one of
        // the two. The statement changed nothing, so it is simply tried again.
        let mut tries = 0;
        loop {
            tries += 1;
            match ops::complete_many(&mut *self.conn().await?, items, Timestamp::now()).await {
                Err(e) if e.is_deadlock() && tries < 5 => {
                    tracing::info!(tries, "completing a group met a deadlock; trying again");
                }
                done => return done,
            }
        }
    }

    async fn fail(
        &self,
        lease: &Lease,
        error: &str,
        retry_after: Option<Duration>,
    ) -> Result<FailOutcome> {
        let now = Timestamp::now();
        let retry_at = now.plus(crate::retry_delay(&self.retry, lease.attempt, retry_after));
        ops::fail(&mut *self.conn().await?, lease, error, retry_at, now).await
    }

    async fn release(&self, lease: &Lease) -> Result<bool> {
        let mut c = self.conn().await?;
        let done = ops::release(&mut c, lease, Timestamp::now()).await?;
        self.wake_workers();
        Ok(done)
    }

    async fn postpone(&self, lease: &Lease, reason: &str, until: Timestamp) -> Result<bool> {
        ops::postpone(
            &mut *self.conn().await?,
            lease,
            reason,
            until,
            Timestamp::now(),
        )
        .await
    }

    async fn reap_expired(&self, limit: u32) -> Result<u64> {
        let mut c = self.conn().await?;
        let reaped =
            ops::reap_expired(&mut c, limit, &self.crash_backoff, Timestamp::now()).await?;
        if reaped > 0 {
            self.wake_workers();
        }
        Ok(reaped)
    }

    async fn wait_for_work(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
    }

    async fn act(&self, ids: &[MessageId], action: &ManualAction) -> Result<ActionReport> {
        crate::check_manual(action)?;
        // Workers completing and claiming the same messages meanwhile can meet this
        // transaction's row locks in another order; PostgreSQL then fails one side (a
        // deadlock), which is tried again here rather than shown as an error (found by
        // `kcf bench batch`: Process All of 20,000 products with four worker processes).
        let mut tries = 0;
        loop {
            tries += 1;
            match self.act_once(ids, action).await {
                Err(e) if e.is_deadlock() && tries < 5 => {
                    tracing::info!(tries, "a manual action met a deadlock; trying again");
                }
                done => {
                    self.wake_workers();
                    return done;
                }
            }
        }
    }

    async fn set_processed(
        &self,
        id: MessageId,
        binding: Option<&Binding>,
        actor: &str,
    ) -> Result<()> {
        let action = ManualAction {
            transition: Transition::SetProcessed,
            actor: actor.to_owned(),
            reason: None,
        };
        let mut tx = self.pool.begin().await?;
        ops::act_one(&mut tx, id, &action, Timestamp::now())
            .await?
            .map_err(StoreError::Conflict)?;
        if let Some(b) = binding {
            ops::put_binding(&mut tx, b).await?;
        }
        Ok(tx.commit().await?)
    }

    async fn message(&self, id: MessageId) -> Result<Option<Message>> {
        ops::message(&mut *self.conn().await?, id).await
    }

    async fn list_messages(
        &self,
        filter: &MessageFilter,
        page: PageRequest,
    ) -> Result<Page<Message>> {
        ops::list_messages(&mut *self.conn().await?, filter, page).await
    }

    async fn count_by_status(&self, filter: &MessageFilter) -> Result<Vec<StatusCount>> {
        ops::count_by_status(&mut *self.conn().await?, filter).await
    }

    async fn overview_counts(&self, done_since: Timestamp) -> Result<Vec<StatusCount>> {
        ops::overview_counts(&mut *self.conn().await?, done_since).await
    }

    async fn history(&self, id: MessageId) -> Result<Vec<HistoryEntry>> {
        ops::history(&mut *self.conn().await?, id).await
    }

    async fn search_lag(&self) -> Result<u64> {
        Ok(text::staged(&self.pool).await?.max(0) as u64)
    }

    async fn superseded(&self, ids: &[MessageId]) -> Result<Vec<MessageId>> {
        ops::superseded(&mut *self.conn().await?, ids).await
    }

    async fn record_sent(&self, documents: &[SentDocument]) -> Result<()> {
        if documents.is_empty() {
            return Ok(());
        }
        ops::record_sent(&mut *self.conn().await?, documents).await
    }

    async fn sent(&self, id: MessageId) -> Result<Option<SentDocument>> {
        ops::sent(&mut *self.conn().await?, id).await
    }

    async fn put_binding(&self, binding: &Binding) -> Result<()> {
        ops::put_binding(&mut *self.conn().await?, binding).await
    }

    async fn binding(
        &self,
        id: &ConnectorId,
        entity: Entity,
        key: BindingKey<'_>,
    ) -> Result<Option<Binding>> {
        ops::binding(&mut *self.conn().await?, id, entity, key).await
    }

    async fn bindings(
        &self,
        id: &ConnectorId,
        entity: Entity,
        text: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Binding>> {
        ops::bindings(&mut *self.conn().await?, id, entity, text, after, limit).await
    }

    async fn delete_binding(
        &self,
        id: &ConnectorId,
        entity: Entity,
        erp_key: &str,
    ) -> Result<bool> {
        ops::delete_binding(&mut *self.conn().await?, id, entity, erp_key).await
    }

    async fn create_batch_run(&self, run: &NewBatchRun) -> Result<BatchRun> {
        ops::create_batch_run(&mut *self.conn().await?, run, Timestamp::now()).await
    }

    async fn adopt_batch_messages(
        &self,
        run: i64,
        connector: &ConnectorId,
        entity: Entity,
        listed: &[(String, String, serde_json::Value)],
    ) -> Result<Vec<String>> {
        ops::adopt_batch_messages(
            &mut *self.conn().await?,
            run,
            connector,
            entity,
            listed,
            Timestamp::now(),
        )
        .await
    }

    async fn update_batch_run(
        &self,
        id: i64,
        checkpoint: Option<&str>,
        listed: u64,
        enqueued: u64,
        status: BatchStatus,
        error: Option<&str>,
    ) -> Result<BatchRun> {
        let mut c = self.conn().await?;
        ops::update_batch_run(
            &mut c,
            id,
            checkpoint,
            listed,
            enqueued,
            status,
            error,
            Timestamp::now(),
        )
        .await
    }

    async fn batch_run(&self, id: i64) -> Result<Option<BatchRun>> {
        ops::batch_run(&mut *self.conn().await?, id).await
    }

    async fn batch_runs(
        &self,
        id: &ConnectorId,
        entity: Entity,
        limit: u32,
    ) -> Result<Vec<BatchRun>> {
        ops::batch_runs(&mut *self.conn().await?, id, entity, limit).await
    }

    async fn password_hash(&self, username: &str) -> Result<Option<String>> {
        ops::password_hash(&mut *self.conn().await?, username).await
    }

    async fn user_count(&self) -> Result<u64> {
        ops::user_count(&mut *self.conn().await?).await
    }

    async fn session(&self, id_hash: &str) -> Result<Option<Session>> {
        ops::session(&mut *self.conn().await?, id_hash, Timestamp::now()).await
    }

    async fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        ops::api_tokens(&mut *self.conn().await?).await
    }

    async fn put_user(&self, username: &str, password_hash: &str) -> Result<()> {
        ops::put_user(
            &mut *self.conn().await?,
            username,
            password_hash,
            Timestamp::now(),
        )
        .await
    }

    async fn add_user(&self, username: &str, password_hash: &str) -> Result<bool> {
        ops::add_user(
            &mut *self.conn().await?,
            username,
            password_hash,
            Timestamp::now(),
        )
        .await
    }

    async fn create_session(
        &self,
        id_hash: &str,
        username: &str,
        expires_at: Timestamp,
    ) -> Result<()> {
        ops::create_session(
            &mut *self.conn().await?,
            id_hash,
            username,
            Timestamp::now(),
            expires_at,
        )
        .await
    }

    async fn delete_session(&self, id_hash: &str) -> Result<()> {
        ops::delete_session(&mut *self.conn().await?, id_hash).await
    }

    async fn sign_in_failures(
        &self,
        username: &str,
        client: &str,
        window_start: Timestamp,
    ) -> Result<(u32, Timestamp)> {
        ops::sign_in_failures(&mut *self.conn().await?, username, client, window_start).await
    }

    async fn count_sign_in_failure(
        &self,
        username: &str,
        client: &str,
        now: Timestamp,
        window_start: Timestamp,
    ) -> Result<()> {
        ops::count_sign_in_failure(
            &mut *self.conn().await?,
            username,
            client,
            now,
            window_start,
        )
        .await
    }

    async fn clear_sign_in_failures(
        &self,
        username: &str,
        client: &str,
        window_start: Timestamp,
    ) -> Result<()> {
        ops::clear_sign_in_failures(&mut *self.conn().await?, username, client, window_start).await
    }

    async fn import_api_token(
        &self,
        name: &str,
        token_hash: &str,
        hint: &str,
        created_by: &str,
    ) -> Result<ApiToken> {
        ops::import_api_token(
            &mut *self.conn().await?,
            name,
            token_hash,
            hint,
            created_by,
            Timestamp::now(),
        )
        .await
    }

    async fn create_api_token(
        &self,
        name: &str,
        token_hash: &str,
        hint: &str,
        created_by: &str,
    ) -> Result<ApiToken> {
        ops::create_api_token(
            &mut *self.conn().await?,
            name,
            token_hash,
            hint,
            created_by,
            Timestamp::now(),
        )
        .await
    }

    async fn use_api_token(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let mut c = self.conn().await?;
        let token = ops::api_token_by_hash(&mut c, token_hash).await?;
        let now = Timestamp::now();
        if let Some(t) = token.as_ref().filter(|t| ops::stale_use(t, now)) {
            ops::touch_api_token(&mut c, t.id, now).await?;
        }
        Ok(token)
    }

    async fn revoke_api_token(&self, id: i64) -> Result<bool> {
        ops::revoke_api_token(&mut *self.conn().await?, id, Timestamp::now()).await
    }

    async fn prune(&self, before: Timestamp, chunk: u32) -> Result<u64> {
        let mut total = 0;
        loop {
            let n = ops::prune_chunk(&mut *self.conn().await?, before, chunk).await?;
            total += n;
            if n < u64::from(chunk.max(1)) {
                return Ok(total);
            }
        }
    }
}

impl PgStore {
    /// One try of [`Store::act`], in one transaction.
    async fn act_once(&self, ids: &[MessageId], action: &ManualAction) -> Result<ActionReport> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await?;
        let mut report = ActionReport::default();
        for id in ids {
            match ops::act_one(&mut tx, *id, action, now).await? {
                Ok(()) => report.changed.push(*id),
                Err(why) => report.refused.push((*id, why)),
            }
        }
        tx.commit().await?;
        Ok(report)
    }
}
