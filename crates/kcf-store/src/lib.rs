//! The durable message store: one [`Store`] trait with two real backends, embedded SQLite
//! (the default) and PostgreSQL (for many workers on many hosts).
//!
//! Everything kcf does passes through here: notifications and batch windows become messages,
//! workers claim them under fenced leases, people list and act on them, bindings make every
//! apply idempotent.

mod batcher;
mod error;
mod migrate;
pub mod postgres;
mod query;
mod rows;
pub mod sqlite;
pub mod text;

use std::{fmt::Debug, sync::Arc, time::Duration};

use async_trait::async_trait;
use kcf_domain::{
    ApiToken, BatchRun, BatchStatus, Binding, Claimed, Connector, ConnectorId, ConnectorState,
    Enqueued, Entity, EntitySettings, HistoryEntry, Lease, ManualAction, Mapping, MappingKind,
    Message, MessageId, NewBatchRun, NewMessage, Outage, Outcome, RetryPolicy, SentDocument,
    Session, Timestamp,
};

pub use error::{Result, StoreError};
pub use query::{
    ActionReport, BindingKey, Completion, FailOutcome, MAX_PAGE, MessageFilter, Page, PageRequest,
    StatusCount,
};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `sqlite://PATH`, a plain path, or `postgres://…`.
    pub url: String,
    /// Connections to keep (PostgreSQL pool, SQLite readers).
    pub max_connections: u32,
    /// How long to wait for a connection or a lock before giving up.
    pub busy_timeout: Duration,
    /// Backoff for failed messages.
    pub retry: RetryPolicy,
    /// How long a message waits after a worker died holding it, by deaths in a row (used
    /// without jitter): by default 5 s, doubling up to 5 min. A message that kills every
    /// worker that takes it is stopped at twice its max attempts in a row, so no sooner than
    /// about twenty minutes after the first death; a fleet dying for other reasons (a crash
    /// loop, a kill storm) is waited out instead of its messages being aborted.
    pub crash_backoff: RetryPolicy,
}

impl StoreConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 8,
            busy_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            crash_backoff: CRASH_BACKOFF,
        }
    }

    /// The backend the URL names.
    pub fn backend(&self) -> Backend {
        if self.url.starts_with("postgres://") || self.url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// The default of [`StoreConfig::crash_backoff`].
pub const CRASH_BACKOFF: RetryPolicy = RetryPolicy {
    base: Duration::from_secs(5),
    cap: Duration::from_secs(5 * 60),
};

/// Opens (creating and migrating as needed) the store `config.url` names.
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn Store>> {
    Ok(match config.backend() {
        Backend::Sqlite => Arc::new(sqlite::SqliteStore::open(config).await?),
        Backend::Postgres => Arc::new(postgres::PgStore::open(config).await?),
    })
}

/// Hides the password in a database URL, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The durable store behind everything kcf does. Both backends pass one contract test suite.
///
/// Writes are short transactions; none is held across an HTTP call. Lease-holding calls are
/// fenced by the lease token: a worker whose lease was handed to another changes nothing.
#[async_trait]
pub trait Store: Send + Sync + Debug {
    /// Which database this is.
    fn backend(&self) -> Backend;
    /// The backoff failed messages wait by (`[retry]` in the configuration); tries postponed
    /// because the other system was out or busy wait by it too.
    fn retry_policy(&self) -> RetryPolicy;

    /// Applies any pending migrations (idempotent; safe to run concurrently).
    async fn migrate(&self) -> Result<()>;
    /// A number that changes whenever this store object writes a connector, its state or
    /// its entity settings; a cache of those in this process is stale once it moves
    /// (another process's writes do not move it: such caches also expire).
    fn settings_generation(&self) -> u64;

    // ---- connectors, settings, mappings ----

    /// Creates or replaces a connector; creates default settings for entities that have none.
    async fn put_connector(&self, connector: &Connector) -> Result<()>;
    /// A connector by id.
    async fn connector(&self, id: &ConnectorId) -> Result<Option<Connector>>;
    /// Every connector, by id.
    async fn connectors(&self) -> Result<Vec<Connector>>;
    /// Sets running / paused / stopped.
    async fn set_connector_state(&self, id: &ConnectorId, state: ConnectorState) -> Result<()>;
    /// Holds the connector's processing until `until` (429, 5xx storm); `None` lifts the hold.
    async fn hold_connector(
        &self,
        id: &ConnectorId,
        until: Option<Timestamp>,
        reason: Option<&str>,
    ) -> Result<()>;
    /// Records an outage of the connector's other system (workers claim nothing for it while
    /// it lasts), or ends it with `None`.
    async fn set_outage(&self, id: &ConnectorId, outage: Option<&Outage>) -> Result<()>;
    /// Takes the right to probe an out connector whose probe `seen` is due, moving the next
    /// one to `next`: true for exactly one caller, in every process.
    async fn take_probe(&self, id: &ConnectorId, seen: Timestamp, next: Timestamp) -> Result<bool>;
    /// The connector's ERP session, sealed by the caller, if one is kept.
    async fn erp_session(&self, id: &ConnectorId) -> Result<Option<Vec<u8>>>;
    /// Keeps (or forgets, with `None`) the connector's sealed ERP session.
    async fn put_erp_session(&self, id: &ConnectorId, sealed: Option<&[u8]>) -> Result<()>;
    /// Replaces one entity's settings.
    async fn put_entity_settings(&self, settings: &EntitySettings) -> Result<()>;
    /// A connector's entity settings, one per entity.
    async fn entity_settings(&self, id: &ConnectorId) -> Result<Vec<EntitySettings>>;
    /// Adds or replaces a mapping row.
    async fn put_mapping(&self, mapping: &Mapping) -> Result<()>;
    /// Removes a mapping row; true when it existed.
    async fn delete_mapping(
        &self,
        id: &ConnectorId,
        kind: MappingKind,
        erp_value: &str,
    ) -> Result<bool>;
    /// A connector's mappings of one kind (all kinds when `None`).
    async fn mappings(&self, id: &ConnectorId, kind: Option<MappingKind>) -> Result<Vec<Mapping>>;

    // ---- intake ----

    /// Stores one message durably; a known dedup key returns the existing message instead.
    async fn enqueue(&self, message: NewMessage) -> Result<Enqueued>;
    /// Stores many messages in one transaction; answers in the same order.
    async fn enqueue_many(&self, messages: Vec<NewMessage>) -> Result<Vec<Enqueued>>;

    // ---- workers ----

    /// Claims up to `limit` due messages under a lease of `lease` for `owner`. Never two in
    /// flight for one (connector, entity, record key); per key, oldest first; never for a
    /// paused or held connector or a paused entity; when auto-process is off, only messages a
    /// person asked for.
    async fn claim(&self, owner: &str, limit: u32, lease: Duration) -> Result<Vec<Claimed>>;
    /// Extends a lease; `None` when it is no longer ours.
    async fn heartbeat(&self, lease: &Lease, extend: Duration) -> Result<Option<Timestamp>>;
    /// Finishes a message; false when the lease was no longer ours (nothing changed).
    async fn complete(&self, lease: &Lease, outcome: Outcome, note: Option<&str>) -> Result<bool>;
    /// Finishes many messages in one statement, each as `complete` would; one answer per
    /// item, in order (false: that lease was no longer ours).
    async fn complete_many(&self, items: &[Completion]) -> Result<Vec<bool>>;
    /// Records a failed attempt: a retry after a full-jitter backoff (at least `retry_after`,
    /// when the other system said so), or Aborted after the entity's max attempts.
    async fn fail(
        &self,
        lease: &Lease,
        error: &str,
        retry_after: Option<Duration>,
    ) -> Result<FailOutcome>;
    /// Gives a message back untouched (the attempt does not count); false when not ours.
    async fn release(&self, lease: &Lease) -> Result<bool>;
    /// Gives a message back after an attempt that was not about the record (the other system
    /// was out or busy): failed with `reason`, due at `until`, the attempt not counted.
    async fn postpone(&self, lease: &Lease, reason: &str, until: Timestamp) -> Result<bool>;
    /// Returns messages whose lease ran out (at most `limit`) to the queue; how many.
    async fn reap_expired(&self, limit: u32) -> Result<u64>;
    /// Waits until new work may be due (a wake-up from an enqueue) or `timeout` passes.
    async fn wait_for_work(&self, timeout: Duration);

    // ---- people ----

    /// Applies a manual transition (process now, retry, skip, set as processed) to messages.
    async fn act(&self, ids: &[MessageId], action: &ManualAction) -> Result<ActionReport>;
    /// Sets one message as processed and records its binding, in one transaction.
    async fn set_processed(
        &self,
        id: MessageId,
        binding: Option<&Binding>,
        actor: &str,
    ) -> Result<()>;

    // ---- reading ----

    /// One message.
    async fn message(&self, id: MessageId) -> Result<Option<Message>>;
    /// A page of messages, newest first.
    async fn list_messages(
        &self,
        filter: &MessageFilter,
        page: PageRequest,
    ) -> Result<Page<Message>>;
    /// Message counts per connector, entity and status.
    async fn count_by_status(&self, filter: &MessageFilter) -> Result<Vec<StatusCount>>;
    /// The dashboard's counts, fast however many messages are stored: every message that is
    /// pending, processing, failed, aborted or invalid, and the processed, skipped, filtered
    /// and deleted ones last changed at or after `done_since`.
    async fn overview_counts(&self, done_since: Timestamp) -> Result<Vec<StatusCount>>;
    /// Every status change of a message, oldest first.
    async fn history(&self, id: MessageId) -> Result<Vec<HistoryEntry>>;
    /// Of these messages, the ones a later message of the same record has since been
    /// processed: a failure that is history rather than a failure. One statement; each check
    /// reads only that entity's processed messages newer than the one checked.
    async fn superseded(&self, ids: &[MessageId]) -> Result<Vec<MessageId>>;
    /// Messages stored but not yet in the text search index, which is written after the
    /// message, off the ingest path (search still finds them, by a scan of that short tail).
    /// On PostgreSQL counted up to 210,000.
    async fn search_lag(&self) -> Result<u64>;
    /// Keeps what was sent for each message, replacing what an earlier attempt sent.
    async fn record_sent(&self, documents: &[SentDocument]) -> Result<()>;
    /// What was last sent for a message, if anything was.
    async fn sent(&self, id: MessageId) -> Result<Option<SentDocument>>;

    // ---- bindings ----

    /// Creates or updates the binding for its ERP key; a conflict when the external id is
    /// already bound to another ERP key.
    async fn put_binding(&self, binding: &Binding) -> Result<()>;
    /// Looks a binding up by either side.
    async fn binding(
        &self,
        id: &ConnectorId,
        entity: Entity,
        key: BindingKey<'_>,
    ) -> Result<Option<Binding>>;
    /// Bindings of an entity whose keys contain `text`, ordered by ERP key, after `after`.
    async fn bindings(
        &self,
        id: &ConnectorId,
        entity: Entity,
        text: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Binding>>;
    /// Removes a binding by ERP key; true when it existed.
    async fn delete_binding(&self, id: &ConnectorId, entity: Entity, erp_key: &str)
    -> Result<bool>;

    // ---- batch runs ----

    /// Starts a batch run in status Listing.
    async fn create_batch_run(&self, run: &NewBatchRun) -> Result<BatchRun>;
    /// Records progress: the checkpoint reached, more listed/enqueued, a new status, an error.
    async fn update_batch_run(
        &self,
        id: i64,
        checkpoint: Option<&str>,
        listed: u64,
        enqueued: u64,
        status: BatchStatus,
        error: Option<&str>,
    ) -> Result<BatchRun>;
    /// Moves the listed records' waiting batch messages of earlier runs into `run`, with the
    /// new listing (record key, description, payload) as their payload; the keys moved.
    async fn adopt_batch_messages(
        &self,
        run: i64,
        connector: &ConnectorId,
        entity: Entity,
        listed: &[(String, String, serde_json::Value)],
    ) -> Result<Vec<String>>;
    /// One batch run.
    async fn batch_run(&self, id: i64) -> Result<Option<BatchRun>>;
    /// The latest runs of an entity, newest first.
    async fn batch_runs(
        &self,
        id: &ConnectorId,
        entity: Entity,
        limit: u32,
    ) -> Result<Vec<BatchRun>>;

    // ---- users, sessions, API tokens ----

    /// Creates a user or sets its password hash (an Argon2id PHC string).
    async fn put_user(&self, username: &str, password_hash: &str) -> Result<()>;
    /// Creates a user unless it exists; false when it did (two processes starting at once:
    /// exactly one creates it).
    async fn add_user(&self, username: &str, password_hash: &str) -> Result<bool>;
    /// The password hash of a user, if it exists.
    async fn password_hash(&self, username: &str) -> Result<Option<String>>;
    /// How many users exist.
    async fn user_count(&self) -> Result<u64>;
    /// Stores a session under the hash of its id (expired sessions are removed on the way).
    async fn create_session(
        &self,
        id_hash: &str,
        username: &str,
        expires_at: Timestamp,
    ) -> Result<()>;
    /// The unexpired session with this id hash.
    async fn session(&self, id_hash: &str) -> Result<Option<Session>>;
    /// Ends a session.
    async fn delete_session(&self, id_hash: &str) -> Result<()>;
    /// The failed sign-ins of `username` from `client` counted since `window_start` or later:
    /// (how many, since when); (0, 0) for none.
    async fn sign_in_failures(
        &self,
        username: &str,
        client: &str,
        window_start: Timestamp,
    ) -> Result<(u32, Timestamp)>;
    /// Counts a failed sign-in at `now`; a count begun before `window_start` starts again.
    async fn count_sign_in_failure(
        &self,
        username: &str,
        client: &str,
        now: Timestamp,
        window_start: Timestamp,
    ) -> Result<()>;
    /// Forgets `username`'s failures from `client` (a sign-in succeeded), and every count
    /// begun before `window_start`.
    async fn clear_sign_in_failures(
        &self,
        username: &str,
        client: &str,
        window_start: Timestamp,
    ) -> Result<()>;
    /// Stores a new API token by its hash.
    async fn create_api_token(
        &self,
        name: &str,
        token_hash: &str,
        hint: &str,
        created_by: &str,
    ) -> Result<ApiToken>;
    /// Stores a token given from outside (a flag, the config file) by its hash unless that
    /// hash is known; the token as stored (one revoked before stays revoked).
    async fn import_api_token(
        &self,
        name: &str,
        token_hash: &str,
        hint: &str,
        created_by: &str,
    ) -> Result<ApiToken>;
    /// Every API token, revoked ones included, oldest first.
    async fn api_tokens(&self) -> Result<Vec<ApiToken>>;
    /// The unrevoked token with this hash, recording that it was used.
    async fn use_api_token(&self, token_hash: &str) -> Result<Option<ApiToken>>;
    /// Revokes a token; false when there is no such live token.
    async fn revoke_api_token(&self, id: i64) -> Result<bool>;

    // ---- retention ----

    /// Deletes finished messages (processed, skipped, filtered, deleted) last changed before
    /// `before`, with their history, in transactions of at most `chunk`; how many.
    async fn prune(&self, before: Timestamp, chunk: u32) -> Result<u64>;
}

/// A fresh random lease token.
pub(crate) fn new_token() -> String {
    use rand::RngExt;
    format!("{:032x}", rand::rng().random::<u128>())
}

/// How long a failed message waits: full jitter, but never less than the other side asked.
pub(crate) fn retry_delay(
    policy: &RetryPolicy,
    attempt: u32,
    retry_after: Option<Duration>,
) -> Duration {
    policy.delay(attempt).max(retry_after.unwrap_or_default())
}

/// Manual calls take only the manual transitions.
pub(crate) fn check_manual(action: &ManualAction) -> Result<()> {
    if kcf_domain::Transition::MANUAL.contains(&action.transition) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "'{}' is not an action a person can take; use process, retry, skip or set as processed",
            action.transition.verb()
        )))
    }
}
