//! The embedded SQLite backend: WAL, `synchronous=FULL`, `busy_timeout`, one group-commit
//! writer per store (see [`writer`]) and a pool of readers.

mod text;
mod writer;

use std::{str::FromStr, sync::Arc, time::Duration};

use async_trait::async_trait;
use futures_util::FutureExt;
use kcf_domain::{
    ApiToken, BatchRun, BatchStatus, Binding, Claimed, Connector, ConnectorId, ConnectorState,
    Enqueued, Entity, EntitySettings, HistoryEntry, Lease, ManualAction, Mapping, MappingKind,
    Message, MessageId, NewBatchRun, NewMessage, Outage, Outcome, RetryPolicy, SentDocument,
    Session, Timestamp, Transition,
};
use sqlx::{
    ConnectOptions, SqliteConnection, SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use tokio::sync::Notify;

use crate::{
    ActionReport, Backend, BindingKey, FailOutcome, MessageFilter, Page, PageRequest, Result,
    StatusCount, Store, StoreConfig, StoreError, migrate,
};
use writer::Writer;

type Db = sqlx::Sqlite;
type Conn = SqliteConnection;
const SKIP_LOCKED: &str = "";
const LOCK_ROW: &str = "";
/// SQLite would rather drive the claim from the (connector, entity) pairs and sort; the due
/// index walked in order stops after `limit` rows instead (16,000 vs 2,500 claims/s on 40,000).
const CLAIM_SCAN: &str = "messages m INDEXED BY messages_due";
const LIKE: &str = "LIKE";
/// Without statistics SQLite would count the last day's finished messages by walking the
/// whole (connector, entity, status) index to save a sort (0.5 s at 300,000 messages).
const DONE_SCAN: &str = "messages INDEXED BY messages_retention";
/// Message text search goes through the FTS5 trigram table `messages_text`.
const FTS5: bool = true;
/// SQLite page cache sizes (negative: KiB) of the one writer connection and of each reader.
const WRITER_CACHE_KIB: &str = "-16000";
const READER_CACHE_KIB: &str = "-2000";

mod ops {
    use super::{CLAIM_SCAN, Conn, DONE_SCAN, Db, FTS5, LIKE, LOCK_ROW, SKIP_LOCKED};
    include!("../ops.rs");
}

/// A store in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    readers: SqlitePool,
    writer: Writer,
    batcher: crate::batcher::Batcher,
    retry: RetryPolicy,
    crash_backoff: RetryPolicy,
    wake: Arc<Notify>,
    generation: Arc<std::sync::atomic::AtomicU64>,
}

fn path_of(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// Creates the database file empty with mode 0600 when it does not exist yet (an empty file
/// is an empty SQLite database); an in-memory database has none.
fn create_private(path: &str) -> std::io::Result<()> {
    if path.is_empty() || path.starts_with(':') || path.contains("mode=memory") {
        return Ok(());
    }
    let file = path.split('?').next().unwrap_or(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the SQLite file that `config.url` names.
    pub async fn open(config: &StoreConfig) -> Result<Self> {
        let path = path_of(&config.url);
        let open_error = |e: sqlx::Error| StoreError::Open {
            backend: "SQLite",
            target: path.to_owned(),
            setting: "database_url",
            detail: e.to_string(),
            hint: "Check that the directory exists and is writable, or pass another \
                   --database-url / --data-dir.",
        };
        // kcf's file holds sealed credentials and the message payloads: readable by its own
        // user only. SQLite gives the -wal and -shm files the database file's mode.
        create_private(path).map_err(|e| StoreError::Open {
            backend: "SQLite",
            target: path.to_owned(),
            setting: "database_url",
            detail: e.to_string(),
            hint: "Check that the directory exists and is writable, or pass another \
                   --database-url / --data-dir.",
        })?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(open_error)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(config.busy_timeout)
            .foreign_keys(true)
            .pragma("temp_store", "memory");
        // The page cache is per connection and grows to its limit as a long run touches the
        // file: 32 MB on each of the readers made one kcf process 363 MB at 20,000 products.
        // The writer keeps a larger one (it walks the indexes every write touches); the
        // readers keep SQLite's default 2 MB, the OS page cache holding the file for them.
        let write_conn = options
            .clone()
            .pragma("cache_size", WRITER_CACHE_KIB)
            .connect()
            .await
            .map_err(open_error)?;
        let writer = Writer::start(write_conn);
        let readers = SqlitePoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(config.busy_timeout)
            .connect_with(
                options
                    .pragma("cache_size", READER_CACHE_KIB)
                    .read_only(true),
            )
            .await
            .map_err(open_error)?;
        let batcher = {
            let writer = writer.clone();
            crate::batcher::Batcher::start(
                Arc::new(move |messages: Arc<Vec<NewMessage>>| {
                    let writer = writer.clone();
                    Box::pin(async move {
                        let now = Timestamp::now();
                        writer
                            .atomic(move |c| {
                                async move { ops::insert_messages(c, &messages, now).await }.boxed()
                            })
                            .await
                    })
                }),
                // One at a time: the writer commits one transaction at a time anyway, and the
                // callers arriving meanwhile make the next group bigger.
                1,
            )
        };
        let store = Self {
            readers,
            writer,
            batcher,
            retry: config.retry,
            crash_backoff: config.crash_backoff,
            wake: Arc::new(Notify::new()),
            generation: Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Moves [`Store::settings_generation`].
    fn settings_changed(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    async fn read(&self) -> Result<sqlx::pool::PoolConnection<Db>> {
        Ok(self.readers.acquire().await?)
    }

    fn wake_workers(&self) {
        self.wake.notify_waiters();
        self.wake.notify_one();
    }
}

async fn run_migrations(c: &mut Conn) -> Result<()> {
    sqlx::raw_sql(migrate::CREATE_TABLE)
        .execute(&mut *c)
        .await?;
    let applied: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, name FROM kcf_migrations ORDER BY version")
            .fetch_all(&mut *c)
            .await?;
    for m in migrate::pending(migrate::SQLITE, &applied)? {
        sqlx::raw_sql(m.sql)
            .execute(&mut *c)
            .await
            .map_err(|e| StoreError::Migration(format!("{} ({}): {e}", m.version, m.name)))?;
        sqlx::query("INSERT INTO kcf_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(Timestamp::now().0)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    fn settings_generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    async fn migrate(&self) -> Result<()> {
        // The writer's BEGIN IMMEDIATE is the lock: other processes wait on busy_timeout.
        self.writer.atomic(|c| run_migrations(c).boxed()).await
    }

    async fn put_connector(&self, connector: &Connector) -> Result<()> {
        let k = connector.clone();
        self.writer
            .atomic(move |c| {
                async move { ops::put_connector(c, &k, Timestamp::now()).await }.boxed()
            })
            .await?;
        self.settings_changed();
        Ok(())
    }

    async fn connector(&self, id: &ConnectorId) -> Result<Option<Connector>> {
        ops::connector(&mut *self.read().await?, id).await
    }

    async fn connectors(&self) -> Result<Vec<Connector>> {
        ops::connectors(&mut *self.read().await?).await
    }

    async fn set_connector_state(&self, id: &ConnectorId, state: ConnectorState) -> Result<()> {
        let id = id.clone();
        self.writer
            .write(move |c| {
                async move { ops::set_connector_state(c, &id, state, Timestamp::now()).await }
                    .boxed()
            })
            .await?;
        self.settings_changed();
        Ok(())
    }

    async fn hold_connector(
        &self,
        id: &ConnectorId,
        until: Option<Timestamp>,
        reason: Option<&str>,
    ) -> Result<()> {
        let (id, reason) = (id.clone(), reason.map(str::to_owned));
        self.writer
            .write(move |c| {
                async move {
                    ops::hold_connector(c, &id, until, reason.as_deref(), Timestamp::now()).await
                }
                .boxed()
            })
            .await
    }

    async fn set_outage(&self, id: &ConnectorId, outage: Option<&Outage>) -> Result<()> {
        let (id, outage) = (id.clone(), outage.cloned());
        self.writer
            .write(move |c| {
                async move { ops::set_outage(c, &id, outage.as_ref(), Timestamp::now()).await }
                    .boxed()
            })
            .await?;
        self.wake_workers();
        Ok(())
    }

    async fn take_probe(&self, id: &ConnectorId, seen: Timestamp, next: Timestamp) -> Result<bool> {
        let id = id.clone();
        self.writer
            .write(move |c| {
                async move { ops::take_probe(c, &id, seen, next, Timestamp::now()).await }.boxed()
            })
            .await
    }

    async fn erp_session(&self, id: &ConnectorId) -> Result<Option<Vec<u8>>> {
        ops::erp_session(&mut *self.read().await?, id).await
    }

    async fn put_erp_session(&self, id: &ConnectorId, sealed: Option<&[u8]>) -> Result<()> {
        let (id, sealed) = (id.clone(), sealed.map(<[u8]>::to_vec));
        self.writer
            .write(move |c| {
                async move { ops::put_erp_session(c, &id, sealed.as_deref()).await }.boxed()
            })
            .await
    }

    async fn put_entity_settings(&self, settings: &EntitySettings) -> Result<()> {
        let s = settings.clone();
        self.writer
            .write(move |c| async move { ops::put_entity_settings(c, &s).await }.boxed())
            .await?;
        self.settings_changed();
        Ok(())
    }

    async fn entity_settings(&self, id: &ConnectorId) -> Result<Vec<EntitySettings>> {
        ops::entity_settings(&mut *self.read().await?, id).await
    }

    async fn put_mapping(&self, mapping: &Mapping) -> Result<()> {
        let m = mapping.clone();
        self.writer
            .write(move |c| async move { ops::put_mapping(c, &m).await }.boxed())
            .await
    }

    async fn delete_mapping(
        &self,
        id: &ConnectorId,
        kind: MappingKind,
        erp_value: &str,
    ) -> Result<bool> {
        let (id, v) = (id.clone(), erp_value.to_owned());
        self.writer
            .write(move |c| async move { ops::delete_mapping(c, &id, kind, &v).await }.boxed())
            .await
    }

    async fn mappings(&self, id: &ConnectorId, kind: Option<MappingKind>) -> Result<Vec<Mapping>> {
        ops::mappings(&mut *self.read().await?, id, kind).await
    }

    async fn enqueue(&self, message: NewMessage) -> Result<Enqueued> {
        let done = self
            .writer
            .write(move |c| {
                async move { ops::insert_messages(c, &[message], Timestamp::now()).await }.boxed()
            })
            .await?
            .pop()
            .ok_or(StoreError::Invalid("no message to enqueue".into()))?;
        self.wake_workers();
        Ok(done)
    }

    async fn enqueue_many(&self, messages: Vec<NewMessage>) -> Result<Vec<Enqueued>> {
        let done = self.batcher.enqueue(messages).await?;
        self.wake_workers();
        Ok(done)
    }

    async fn claim(&self, owner: &str, limit: u32, lease: Duration) -> Result<Vec<Claimed>> {
        let owner = owner.to_owned();
        let token = crate::new_token();
        self.writer
            .write(move |c| {
                async move { ops::claim(c, &owner, limit, lease, Timestamp::now(), &token).await }
                    .boxed()
            })
            .await
    }

    async fn heartbeat(&self, lease: &Lease, extend: Duration) -> Result<Option<Timestamp>> {
        let lease = lease.clone();
        let until = Timestamp::now().plus(extend);
        let extended = self
            .writer
            .write(move |c| async move { ops::heartbeat(c, &lease, until).await }.boxed())
            .await?;
        Ok(extended.then_some(until))
    }

    async fn complete(&self, lease: &Lease, outcome: Outcome, note: Option<&str>) -> Result<bool> {
        let (lease, note) = (lease.clone(), note.map(str::to_owned));
        self.writer
            .write(move |c| {
                async move {
                    ops::complete(c, &lease, outcome, note.as_deref(), Timestamp::now()).await
                }
                .boxed()
            })
            .await
    }

    async fn complete_many(&self, items: &[crate::Completion]) -> Result<Vec<bool>> {
        let items = items.to_vec();
        self.writer
            .write(move |c| {
                async move { ops::complete_many(c, &items, Timestamp::now()).await }.boxed()
            })
            .await
    }

    async fn fail(
        &self,
        lease: &Lease,
        error: &str,
        retry_after: Option<Duration>,
    ) -> Result<FailOutcome> {
        let (lease, error) = (lease.clone(), error.to_owned());
        let now = Timestamp::now();
        let retry_at = now.plus(crate::retry_delay(&self.retry, lease.attempt, retry_after));
        self.writer
            .write(move |c| {
                async move { ops::fail(c, &lease, &error, retry_at, now).await }.boxed()
            })
            .await
    }

    async fn release(&self, lease: &Lease) -> Result<bool> {
        let lease = lease.clone();
        let done = self
            .writer
            .write(move |c| async move { ops::release(c, &lease, Timestamp::now()).await }.boxed())
            .await?;
        self.wake_workers();
        Ok(done)
    }

    async fn postpone(&self, lease: &Lease, reason: &str, until: Timestamp) -> Result<bool> {
        let (lease, reason) = (lease.clone(), reason.to_owned());
        self.writer
            .write(move |c| {
                async move { ops::postpone(c, &lease, &reason, until, Timestamp::now()).await }
                    .boxed()
            })
            .await
    }

    async fn reap_expired(&self, limit: u32) -> Result<u64> {
        let backoff = self.crash_backoff;
        let reaped = self
            .writer
            .write(move |c| {
                async move { ops::reap_expired(c, limit, &backoff, Timestamp::now()).await }.boxed()
            })
            .await?;
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
        let (ids, action) = (ids.to_vec(), action.clone());
        let report = self
            .writer
            .atomic(move |c| {
                async move {
                    let now = Timestamp::now();
                    let mut report = ActionReport::default();
                    for id in ids {
                        match ops::act_one(c, id, &action, now).await? {
                            Ok(()) => report.changed.push(id),
                            Err(why) => report.refused.push((id, why)),
                        }
                    }
                    Ok(report)
                }
                .boxed()
            })
            .await?;
        self.wake_workers();
        Ok(report)
    }

    async fn set_processed(
        &self,
        id: MessageId,
        binding: Option<&Binding>,
        actor: &str,
    ) -> Result<()> {
        let binding = binding.cloned();
        let action = ManualAction {
            transition: Transition::SetProcessed,
            actor: actor.to_owned(),
            reason: None,
        };
        self.writer
            .atomic(move |c| {
                async move {
                    ops::act_one(c, id, &action, Timestamp::now())
                        .await?
                        .map_err(StoreError::Conflict)?;
                    if let Some(b) = &binding {
                        ops::put_binding(c, b).await?;
                    }
                    Ok(())
                }
                .boxed()
            })
            .await
    }

    async fn message(&self, id: MessageId) -> Result<Option<Message>> {
        ops::message(&mut *self.read().await?, id).await
    }

    async fn list_messages(
        &self,
        filter: &MessageFilter,
        page: PageRequest,
    ) -> Result<Page<Message>> {
        ops::list_messages(&mut *self.read().await?, filter, page).await
    }

    async fn count_by_status(&self, filter: &MessageFilter) -> Result<Vec<StatusCount>> {
        ops::count_by_status(&mut *self.read().await?, filter).await
    }

    async fn overview_counts(&self, done_since: Timestamp) -> Result<Vec<StatusCount>> {
        ops::overview_counts(&mut *self.read().await?, done_since).await
    }

    async fn history(&self, id: MessageId) -> Result<Vec<HistoryEntry>> {
        ops::history(&mut *self.read().await?, id).await
    }

    async fn search_lag(&self) -> Result<u64> {
        Ok(text::lag(&mut *self.read().await?).await?.max(0) as u64)
    }

    async fn superseded(&self, ids: &[MessageId]) -> Result<Vec<MessageId>> {
        ops::superseded(&mut *self.read().await?, ids).await
    }

    async fn record_sent(&self, documents: &[SentDocument]) -> Result<()> {
        if documents.is_empty() {
            return Ok(());
        }
        let documents = documents.to_vec();
        self.writer
            .atomic(move |c| async move { ops::record_sent(c, &documents).await }.boxed())
            .await
    }

    async fn sent(&self, id: MessageId) -> Result<Option<SentDocument>> {
        ops::sent(&mut *self.read().await?, id).await
    }

    async fn put_binding(&self, binding: &Binding) -> Result<()> {
        let b = binding.clone();
        self.writer
            .write(move |c| async move { ops::put_binding(c, &b).await }.boxed())
            .await
    }

    async fn binding(
        &self,
        id: &ConnectorId,
        entity: Entity,
        key: BindingKey<'_>,
    ) -> Result<Option<Binding>> {
        ops::binding(&mut *self.read().await?, id, entity, key).await
    }

    async fn bindings(
        &self,
        id: &ConnectorId,
        entity: Entity,
        text: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Binding>> {
        ops::bindings(&mut *self.read().await?, id, entity, text, after, limit).await
    }

    async fn delete_binding(
        &self,
        id: &ConnectorId,
        entity: Entity,
        erp_key: &str,
    ) -> Result<bool> {
        let (id, key) = (id.clone(), erp_key.to_owned());
        self.writer
            .write(move |c| async move { ops::delete_binding(c, &id, entity, &key).await }.boxed())
            .await
    }

    async fn create_batch_run(&self, run: &NewBatchRun) -> Result<BatchRun> {
        let run = run.clone();
        self.writer
            .write(move |c| {
                async move { ops::create_batch_run(c, &run, Timestamp::now()).await }.boxed()
            })
            .await
    }

    async fn adopt_batch_messages(
        &self,
        run: i64,
        connector: &ConnectorId,
        entity: Entity,
        listed: &[(String, String, serde_json::Value)],
    ) -> Result<Vec<String>> {
        let (connector, listed) = (connector.clone(), listed.to_vec());
        self.writer
            .write(move |c| {
                async move {
                    ops::adopt_batch_messages(c, run, &connector, entity, &listed, Timestamp::now())
                        .await
                }
                .boxed()
            })
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
        let (checkpoint, error) = (checkpoint.map(str::to_owned), error.map(str::to_owned));
        self.writer
            .write(move |c| {
                async move {
                    ops::update_batch_run(
                        c,
                        id,
                        checkpoint.as_deref(),
                        listed,
                        enqueued,
                        status,
                        error.as_deref(),
                        Timestamp::now(),
                    )
                    .await
                }
                .boxed()
            })
            .await
    }

    async fn batch_run(&self, id: i64) -> Result<Option<BatchRun>> {
        ops::batch_run(&mut *self.read().await?, id).await
    }

    async fn batch_runs(
        &self,
        id: &ConnectorId,
        entity: Entity,
        limit: u32,
    ) -> Result<Vec<BatchRun>> {
        ops::batch_runs(&mut *self.read().await?, id, entity, limit).await
    }

    async fn password_hash(&self, username: &str) -> Result<Option<String>> {
        ops::password_hash(&mut *self.read().await?, username).await
    }

    async fn user_count(&self) -> Result<u64> {
        ops::user_count(&mut *self.read().await?).await
    }

    async fn session(&self, id_hash: &str) -> Result<Option<Session>> {
        ops::session(&mut *self.read().await?, id_hash, Timestamp::now()).await
    }

    async fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        ops::api_tokens(&mut *self.read().await?).await
    }

    async fn put_user(&self, username: &str, password_hash: &str) -> Result<()> {
        let (u, h) = (username.to_owned(), password_hash.to_owned());
        self.writer
            .write(move |c| async move { ops::put_user(c, &u, &h, Timestamp::now()).await }.boxed())
            .await
    }

    async fn add_user(&self, username: &str, password_hash: &str) -> Result<bool> {
        let (u, h) = (username.to_owned(), password_hash.to_owned());
        self.writer
            .write(move |c| async move { ops::add_user(c, &u, &h, Timestamp::now()).await }.boxed())
            .await
    }

    async fn create_session(
        &self,
        id_hash: &str,
        username: &str,
        expires_at: Timestamp,
    ) -> Result<()> {
        let (i, u) = (id_hash.to_owned(), username.to_owned());
        self.writer
            .write(move |c| {
                async move { ops::create_session(c, &i, &u, Timestamp::now(), expires_at).await }
                    .boxed()
            })
            .await
    }

    async fn delete_session(&self, id_hash: &str) -> Result<()> {
        let i = id_hash.to_owned();
        self.writer
            .write(move |c| async move { ops::delete_session(c, &i).await }.boxed())
            .await
    }

    async fn sign_in_failures(
        &self,
        username: &str,
        client: &str,
        window_start: Timestamp,
    ) -> Result<(u32, Timestamp)> {
        ops::sign_in_failures(&mut *self.read().await?, username, client, window_start).await
    }

    async fn count_sign_in_failure(
        &self,
        username: &str,
        client: &str,
        now: Timestamp,
        window_start: Timestamp,
    ) -> Result<()> {
        let (u, c) = (username.to_owned(), client.to_owned());
        self.writer
            .write(move |conn| {
                async move { ops::count_sign_in_failure(conn, &u, &c, now, window_start).await }
                    .boxed()
            })
            .await
    }

    async fn clear_sign_in_failures(
        &self,
        username: &str,
        client: &str,
        window_start: Timestamp,
    ) -> Result<()> {
        let (u, c) = (username.to_owned(), client.to_owned());
        self.writer
            .write(move |conn| {
                async move { ops::clear_sign_in_failures(conn, &u, &c, window_start).await }.boxed()
            })
            .await
    }

    async fn import_api_token(
        &self,
        name: &str,
        token_hash: &str,
        hint: &str,
        created_by: &str,
    ) -> Result<ApiToken> {
        let (n, t, h, b) = (
            name.to_owned(),
            token_hash.to_owned(),
            hint.to_owned(),
            created_by.to_owned(),
        );
        self.writer
            .write(move |c| {
                async move { ops::import_api_token(c, &n, &t, &h, &b, Timestamp::now()).await }
                    .boxed()
            })
            .await
    }

    async fn create_api_token(
        &self,
        name: &str,
        token_hash: &str,
        hint: &str,
        created_by: &str,
    ) -> Result<ApiToken> {
        let (n, t, h, b) = (
            name.to_owned(),
            token_hash.to_owned(),
            hint.to_owned(),
            created_by.to_owned(),
        );
        self.writer
            .write(move |c| {
                async move { ops::create_api_token(c, &n, &t, &h, &b, Timestamp::now()).await }
                    .boxed()
            })
            .await
    }

    async fn use_api_token(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let token = ops::api_token_by_hash(&mut *self.read().await?, token_hash).await?;
        let now = Timestamp::now();
        if let Some(t) = token.as_ref().filter(|t| ops::stale_use(t, now)) {
            let id = t.id;
            self.writer
                .write(move |c| async move { ops::touch_api_token(c, id, now).await }.boxed())
                .await?;
        }
        Ok(token)
    }

    async fn revoke_api_token(&self, id: i64) -> Result<bool> {
        self.writer
            .write(move |c| {
                async move { ops::revoke_api_token(c, id, Timestamp::now()).await }.boxed()
            })
            .await
    }

    async fn prune(&self, before: Timestamp, chunk: u32) -> Result<u64> {
        let mut total = 0;
        loop {
            // One chunk per group transaction: intake queued meanwhile commits in between.
            let n = self
                .writer
                .write(move |c| async move { ops::prune_chunk(c, before, chunk).await }.boxed())
                .await?;
            total += n;
            if n < u64::from(chunk.max(1)) {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }
}
