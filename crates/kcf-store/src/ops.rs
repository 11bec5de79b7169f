// The store's operations, written once and compiled once per backend: each backend module
// declares `Db`, `Conn`, `SKIP_LOCKED`, `LOCK_ROW`, `LIKE`, `CLAIM_SCAN`, `DONE_SCAN` and
// `FTS5`, then `include!`s this file.
// The SQL is portable between SQLite and PostgreSQL (`$N` parameters work in both); what is
// not portable comes in through those constants. No function here opens a transaction: the
// caller decides (SQLite's group-commit writer, or a short PostgreSQL transaction).

use std::time::Duration;

use kcf_domain::{
    BatchRun, BatchStatus, Binding, Claimed, Connector, ConnectorId, ConnectorState, Entity,
    EntitySettings, Enqueued, HistoryEntry, Lease, ManualAction, Mapping, MappingKind, Message,
    MessageId, MessageStatus, NewBatchRun, NewMessage, Outcome, SentDocument, Timestamp,
    Transition,
};
use sqlx::{AssertSqlSafe, QueryBuilder, types::Json};

use crate::{
    BindingKey, FailOutcome, MessageFilter, Page, PageRequest, Result, StatusCount, StoreError,
    rows,
};

fn to_i64(v: impl TryInto<i64>) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}

fn foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

fn unknown_connector(e: sqlx::Error, id: &ConnectorId) -> StoreError {
    if foreign_key_violation(&e) { StoreError::UnknownConnector(id.clone()) } else { e.into() }
}

// ---------------------------------------------------------------- messages: intake

/// Rows per INSERT statement (well inside both backends' parameter limits).
const INSERT_CHUNK: usize = 500;

/// Stores messages with one multi-row INSERT per chunk; a known dedup key (in the database or
/// earlier in the same call) answers with the existing message instead.
pub(crate) async fn insert_messages(
    c: &mut Conn,
    messages: &[NewMessage],
    now: Timestamp,
) -> Result<Vec<Enqueued>> {
    let mut done = Vec::with_capacity(messages.len());
    for chunk in messages.chunks(INSERT_CHUNK) {
        done.extend(insert_chunk(c, chunk, now).await?);
    }
    Ok(done)
}

async fn insert_chunk(c: &mut Conn, ms: &[NewMessage], now: Timestamp) -> Result<Vec<Enqueued>> {
    let mut q = QueryBuilder::<Db>::new(
        "INSERT INTO messages (connector, entity, direction, mode, record_key, description,
             source, dedup_key, status, attempts, next_attempt_at, manual, payload,
             source_modified_at, batch_run, created_at, updated_at, status_actor) ",
    );
    q.push_values(ms, |mut row, m| {
        row.push_bind(m.connector.as_str())
            .push_bind(m.entity.as_str())
            .push_bind(m.direction.as_str())
            .push_bind(m.mode.as_str())
            .push_bind(m.record_key.as_str())
            .push_bind(m.description.as_str())
            .push_bind(m.source.as_str())
            .push_bind(m.dedup_key.as_deref())
            .push("'pending'")
            .push("0")
            .push_bind(now.0)
            // A batch message is claimed only once `manual` says go: at once, unless a person
            // listed it and is to choose what to process.
            .push_bind(m.mode == kcf_domain::Mode::Batch && !m.wait_for_person)
            .push_bind(Json(&m.payload))
            .push_bind(m.source_modified_at.map(|t| t.0))
            .push_bind(m.batch_run)
            .push_bind(now.0)
            .push_bind(now.0)
            .push_bind(m.source.as_str());
    });
    q.push(
        " ON CONFLICT (connector, source, dedup_key) DO NOTHING
          RETURNING id, connector, source, dedup_key",
    );
    let inserted: Vec<(i64, String, String, Option<String>)> =
        match q.build_query_as().fetch_all(&mut *c).await {
            Ok(rows) => rows,
            Err(e) if foreign_key_violation(&e) => return Err(missing_connector(c, ms).await),
            Err(e) => return Err(e.into()),
        };
    // Ids grow in VALUES order, so the rows without a dedup key come back in input order.
    let mut inserted = inserted;
    inserted.sort_by_key(|r| r.0);
    let mut keyed = std::collections::HashMap::new();
    let mut unkeyed = std::collections::VecDeque::new();
    for (id, connector, source, dedup_key) in inserted {
        match dedup_key {
            Some(key) => {
                keyed.insert((connector, source, key), id);
            }
            None => unkeyed.push_back(id),
        }
    }
    let mut done = Vec::with_capacity(ms.len());
    let mut seen = std::collections::HashMap::new();
    for m in ms {
        let Some(key) = &m.dedup_key else {
            let id = unkeyed.pop_front().ok_or_else(|| {
                StoreError::Corrupt { column: "id", detail: "an insert returned no id".into() }
            })?;
            done.push(Enqueued { id: MessageId(id), duplicate: false });
            continue;
        };
        let k = (m.connector.as_str().to_owned(), m.source.clone(), key.clone());
        if let Some(id) = keyed.remove(&k) {
            seen.insert(k, id);
            done.push(Enqueued { id: MessageId(id), duplicate: false });
        } else if let Some(id) = seen.get(&k) {
            done.push(Enqueued { id: MessageId(*id), duplicate: true });
        } else {
            let id: i64 = sqlx::query_scalar(
                "SELECT id FROM messages WHERE connector = $1 AND source = $2 AND dedup_key = $3",
            )
            .bind(&k.0)
            .bind(&k.1)
            .bind(&k.2)
            .fetch_one(&mut *c)
            .await?;
            seen.insert(k, id);
            done.push(Enqueued { id: MessageId(id), duplicate: true });
        }
    }
    Ok(done)
}

/// Names the connector that made an insert fail its foreign key.
async fn missing_connector(c: &mut Conn, ms: &[NewMessage]) -> StoreError {
    for m in ms {
        match connector(c, &m.connector).await {
            Ok(Some(_)) => continue,
            Ok(None) => return StoreError::UnknownConnector(m.connector.clone()),
            Err(e) => return e,
        }
    }
    StoreError::Invalid("a message names a connector that does not exist".into())
}

// ---------------------------------------------------------------- messages: workers

pub(crate) async fn claim(
    c: &mut Conn,
    owner: &str,
    limit: u32,
    lease: Duration,
    now: Timestamp,
    token: &str,
) -> Result<Vec<Claimed>> {
    // Which (connector, entity) pairs may be claimed now, from the small settings tables.
    // Passing them to the claim as literal pairs, rather than joining those tables there,
    // keeps the claim's plan a walk of `messages_due` in order that stops at the limit,
    // whatever statistics the database has of the small tables.
    let pairs: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT s.connector, s.entity, s.auto_process
         FROM entity_settings s JOIN connectors c ON c.id = s.connector
         WHERE c.state = 'running' AND (c.paused_until IS NULL OR c.paused_until <= $1)
           AND c.outage_since IS NULL AND NOT s.paused",
    )
    .bind(now.0)
    .fetch_all(&mut *c)
    .await?;
    let (auto, manual_only): (Vec<_>, Vec<_>) = pairs.iter().partition(|(_, _, auto)| *auto);
    if auto.is_empty() && manual_only.is_empty() {
        return Ok(Vec::new());
    }
    let expires = now.plus(lease);
    let mut q = QueryBuilder::<Db>::new("UPDATE messages SET status = 'processing', attempts = attempts + 1, lease_owner = ");
    q.push_bind(owner)
        .push(", lease_token = ")
        .push_bind(token)
        .push(", lease_expires_at = ")
        .push_bind(expires.0)
        .push(", manual = (mode = 'batch' AND manual), updated_at = ")
        .push_bind(now.0)
        .push(", transition_seq = transition_seq + 1, status_actor = ")
        .push_bind(owner)
        .push(format_args!(
            ", status_reason = NULL
             WHERE id IN (
                 SELECT m.id FROM {CLAIM_SCAN}
                 WHERE m.status IN ('pending', 'failed') AND m.next_attempt_at <= "
        ))
        .push_bind(now.0)
        .push(" AND (");
    let push_pairs = |q: &mut QueryBuilder<Db>, list: &[&(String, String, bool)]| {
        q.push("(m.connector, m.entity) IN (");
        q.push_values(list, |mut row, (connector, entity, _)| {
            row.push_bind(connector.as_str()).push_bind(entity.as_str());
        });
        q.push(")");
    };
    if !auto.is_empty() {
        q.push("((m.mode <> 'batch' OR m.manual) AND ");
        push_pairs(&mut q, &auto);
        q.push(")");
    }
    if !manual_only.is_empty() {
        q.push(if auto.is_empty() { "(m.manual AND " } else { " OR (m.manual AND " });
        push_pairs(&mut q, &manual_only);
        q.push(")");
    }
    q.push(
        ")
                 AND NOT EXISTS (
                     SELECT 1 FROM messages o
                     WHERE o.queue_key = m.queue_key AND o.status = 'processing')
                 AND NOT EXISTS (
                     SELECT 1 FROM messages o
                     WHERE o.queue_key = m.queue_key AND o.id < m.id
                       AND o.status IN ('pending', 'failed')
                       AND (o.mode <> 'batch' OR o.manual))
                 ORDER BY m.next_attempt_at, m.id
                 LIMIT ",
    )
    .push_bind(i64::from(limit))
    .push(format_args!(" {SKIP_LOCKED}) RETURNING *"));
    let rows = q.build().fetch_all(&mut *c).await?;
    let mut claimed = rows
        .iter()
        .map(|r| {
            let message = rows::message(r)?;
            let lease = Lease {
                id: message.id,
                token: token.to_owned(),
                owner: owner.to_owned(),
                attempt: message.attempts,
                expires_at: expires,
            };
            Ok(Claimed { message, lease })
        })
        .collect::<Result<Vec<_>>>()?;
    claimed.sort_by_key(|c| (c.message.next_attempt_at, c.message.id));
    Ok(claimed)
}

pub(crate) async fn heartbeat(c: &mut Conn, lease: &Lease, until: Timestamp) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE messages SET lease_expires_at = $3
         WHERE id = $1 AND lease_token = $2 AND status = 'processing'",
    )
    .bind(lease.id.0)
    .bind(&lease.token)
    .bind(until.0)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn complete(
    c: &mut Conn,
    lease: &Lease,
    outcome: Outcome,
    note: Option<&str>,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE messages SET status = $3, lease_owner = NULL, lease_token = NULL,
             lease_expires_at = NULL,
             last_error = CASE WHEN $3 = 'invalid' THEN $5 ELSE NULL END, updated_at = $4,
             transition_seq = transition_seq + 1, status_actor = lease_owner, status_reason = $5
         WHERE id = $1 AND lease_token = $2 AND status = 'processing'",
    )
    .bind(lease.id.0)
    .bind(&lease.token)
    .bind(MessageStatus::from(outcome).as_str())
    .bind(now.0)
    .bind(note)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Finishes many leases in one statement; one answer per item, in order.
pub(crate) async fn complete_many(
    c: &mut Conn,
    items: &[(Lease, Outcome)],
    now: Timestamp,
) -> Result<Vec<bool>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Db>::new("WITH u (id, token, status) AS (");
    q.push_values(items, |mut row, (lease, outcome)| {
        row.push_bind(lease.id.0)
            .push_bind(lease.token.as_str())
            .push_bind(MessageStatus::from(*outcome).as_str());
    });
    q.push(
        ") UPDATE messages SET status = u.status, lease_owner = NULL, lease_token = NULL,
             lease_expires_at = NULL, last_error = NULL, updated_at = ",
    )
    .push_bind(now.0)
    .push(
        ", transition_seq = messages.transition_seq + 1, status_actor = messages.lease_owner,
             status_reason = NULL
         FROM u
         WHERE messages.id = u.id AND messages.lease_token = u.token
           AND messages.status = 'processing'
         RETURNING messages.id",
    );
    let done: Vec<i64> = q.build_query_scalar().fetch_all(&mut *c).await?;
    Ok(items.iter().map(|(lease, _)| done.contains(&lease.id.0)).collect())
}

/// The status a lease holder's failure leads to, decided against the entity's max attempts.
const FAILED_OR_ABORTED: &str = "CASE WHEN attempts >= COALESCE((SELECT s.max_attempts
        FROM entity_settings s
        WHERE s.connector = messages.connector AND s.entity = messages.entity), 5)
    THEN 'aborted' ELSE 'failed' END";

pub(crate) async fn fail(
    c: &mut Conn,
    lease: &Lease,
    error: &str,
    retry_at: Timestamp,
    now: Timestamp,
) -> Result<FailOutcome> {
    let sql = format!(
        "UPDATE messages SET status = {FAILED_OR_ABORTED}, next_attempt_at = $3, last_error = $4,
             lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = $5,
             transition_seq = transition_seq + 1, status_actor = lease_owner, status_reason = $4
         WHERE id = $1 AND lease_token = $2 AND status = 'processing'
         RETURNING status"
    );
    let status: Option<String> = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(lease.id.0)
        .bind(&lease.token)
        .bind(retry_at.0)
        .bind(error)
        .bind(now.0)
        .fetch_optional(&mut *c)
        .await?;
    Ok(match status.as_deref() {
        None => FailOutcome::Fenced,
        Some("aborted") => FailOutcome::Aborted,
        Some(_) => FailOutcome::Retry(retry_at),
    })
}

pub(crate) async fn release(c: &mut Conn, lease: &Lease, now: Timestamp) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE messages SET status = 'pending', attempts = attempts - 1, lease_owner = NULL,
             lease_token = NULL, lease_expires_at = NULL, updated_at = $3,
             transition_seq = transition_seq + 1, status_actor = lease_owner,
             status_reason = 'released by the worker (shutting down)'
         WHERE id = $1 AND lease_token = $2 AND status = 'processing'",
    )
    .bind(lease.id.0)
    .bind(&lease.token)
    .bind(now.0)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a message back after an attempt that was not about the record (its other system was
/// out or busy): failed, due at `until`, with `reason` as its error, the attempt not counted.
pub(crate) async fn postpone(
    c: &mut Conn,
    lease: &Lease,
    reason: &str,
    until: Timestamp,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE messages SET status = 'failed', attempts = attempts - 1, next_attempt_at = $3,
             postponed = postponed + 1, last_error = $4, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
             updated_at = $5, transition_seq = transition_seq + 1, status_actor = lease_owner,
             status_reason = $4
         WHERE id = $1 AND lease_token = $2 AND status = 'processing'",
    )
    .bind(lease.id.0)
    .bind(&lease.token)
    .bind(until.0)
    .bind(reason)
    .bind(now.0)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves the listed records' waiting batch messages (pending or failed, not processing) into
/// `run`, with the new listing as their payload: listing a window again does not double the
/// work. Returns the record keys it moved.
pub(crate) async fn adopt_batch_messages(
    c: &mut Conn,
    run: i64,
    connector: &ConnectorId,
    entity: Entity,
    listed: &[(String, String, serde_json::Value)],
    now: Timestamp,
) -> Result<Vec<String>> {
    if listed.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Db>::new("WITH u (record_key, description, payload) AS (");
    q.push_values(listed, |mut row, (key, description, payload)| {
        row.push_bind(key.as_str())
            .push_bind(description.as_str())
            .push_bind(Json(payload));
    });
    q.push(") UPDATE messages SET batch_run = ")
        .push_bind(run)
        .push(", description = u.description, payload = u.payload, updated_at = ")
        .push_bind(now.0)
        .push(" FROM u WHERE messages.connector = ")
        .push_bind(connector.as_str())
        .push(" AND messages.entity = ")
        .push_bind(entity.as_str())
        .push(
            " AND messages.record_key = u.record_key AND messages.mode = 'batch'
              AND messages.status IN ('pending', 'failed')
              AND messages.batch_run IS NOT NULL AND messages.batch_run <> ",
        )
        .push_bind(run)
        .push(" RETURNING messages.record_key");
    let keys: Vec<String> = q.build_query_scalar().fetch_all(&mut *c).await?;
    Ok(keys)
}

pub(crate) async fn reap_expired(c: &mut Conn, limit: u32, now: Timestamp) -> Result<u64> {
    let sql = format!(
        "UPDATE messages SET status = {FAILED_OR_ABORTED}, next_attempt_at = $1,
             last_error = 'lease expired: worker ' || COALESCE(lease_owner, '?')
                          || ' stopped answering',
             status_reason = 'lease expired: worker ' || COALESCE(lease_owner, '?')
                          || ' stopped answering',
             lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = $1,
             transition_seq = transition_seq + 1, status_actor = 'reaper'
         WHERE id IN (
             SELECT id FROM messages
             WHERE status = 'processing' AND lease_expires_at < $1
             ORDER BY lease_expires_at LIMIT $2 {SKIP_LOCKED})"
    );
    let done = sqlx::query(AssertSqlSafe(sql)).bind(now.0).bind(i64::from(limit)).execute(&mut *c).await?;
    Ok(done.rows_affected())
}

// ---------------------------------------------------------------- people

/// Applies one manual transition; `Ok(Err(why))` when the message's status does not allow it.
pub(crate) async fn act_one(
    c: &mut Conn,
    id: MessageId,
    action: &ManualAction,
    now: Timestamp,
) -> Result<Result<(), String>> {
    let sql = format!("SELECT status FROM messages WHERE id = $1 {LOCK_ROW}");
    let Some(current) = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql))
        .bind(id.0)
        .fetch_optional(&mut *c)
        .await?
    else {
        return Ok(Err(format!("message {id} not found")));
    };
    let current: MessageStatus = current.parse()?;
    let next = match current.apply(action.transition) {
        Ok(next) => next,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let (manual, reset) = match action.transition {
        Transition::ProcessNow => (true, true),
        Transition::Retry => (false, true),
        _ => (false, false),
    };
    let done = sqlx::query(
        "UPDATE messages SET status = $2, manual = $3,
             attempts = CASE WHEN $4 THEN 0 ELSE attempts END,
             postponed = CASE WHEN $4 THEN 0 ELSE postponed END,
             next_attempt_at = CASE WHEN $4 THEN $5 ELSE next_attempt_at END,
             updated_at = $5, transition_seq = transition_seq + 1,
             status_actor = $6, status_reason = $7
         WHERE id = $1 AND status = $8",
    )
    .bind(id.0)
    .bind(next.as_str())
    .bind(manual)
    .bind(reset)
    .bind(now.0)
    .bind(&action.actor)
    .bind(action.reason.as_deref().unwrap_or(action.transition.verb()))
    .bind(current.as_str())
    .execute(&mut *c)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(Err(format!("message {id} changed while the action ran; try again")));
    }
    if action.transition == Transition::ProcessNow {
        // Older messages of the same record that are still waiting would hold this one back
        // (per-record order): asking for this one asks for them too, oldest first.
        sqlx::query(
            "UPDATE messages SET manual = $2,
                 next_attempt_at = CASE WHEN next_attempt_at > $3 THEN $3 ELSE next_attempt_at END
             WHERE queue_key = (SELECT queue_key FROM messages WHERE id = $1)
               AND id < $1 AND status IN ('pending', 'failed') AND NOT manual",
        )
        .bind(id.0)
        .bind(true)
        .bind(now.0)
        .execute(&mut *c)
        .await?;
    }
    Ok(Ok(()))
}

// ---------------------------------------------------------------- reading

pub(crate) async fn message(c: &mut Conn, id: MessageId) -> Result<Option<Message>> {
    let row = sqlx::query("SELECT * FROM messages WHERE id = $1").bind(id.0).fetch_optional(&mut *c).await?;
    row.as_ref().map(rows::message).transpose()
}

/// How a list with a date window is read, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dates {
    /// Through the `(connector, entity, created_at)` index, then sorted by id: for a window
    /// narrower than its distance from now (a day a month ago: a few thousand rows to sort,
    /// where walking the ids down from the newest would skip hundreds of thousands).
    First,
    /// Down the id order, checking each row's date (a window reaching near now, or a wide
    /// one: the first page is found at once). The date terms are written `+created_at` so no
    /// planner reads them through the date index instead.
    Checked,
}

impl Dates {
    fn for_list(f: &MessageFilter, now: Timestamp) -> Self {
        match (f.created_from, f.created_to) {
            (Some(from), Some(to)) => {
                let end = to.0.min(now.0);
                if end - from.0 <= now.0 - end {
                    Self::First
                } else {
                    Self::Checked
                }
            }
            _ => Self::Checked,
        }
    }
}

fn push_filter(q: &mut QueryBuilder<Db>, f: &MessageFilter) {
    push_filter_with(q, f, Dates::First);
}

fn push_filter_with(q: &mut QueryBuilder<Db>, f: &MessageFilter, dates: Dates) {
    if let Some(connector) = &f.connector {
        q.push(" AND connector = ").push_bind(connector.as_str());
    }
    if let Some(entity) = f.entity {
        q.push(" AND entity = ").push_bind(entity.as_str());
    }
    if let Some(mode) = f.mode {
        q.push(" AND mode = ").push_bind(mode.as_str());
    }
    if !f.statuses.is_empty() {
        q.push(" AND status IN (");
        let mut list = q.separated(", ");
        for s in &f.statuses {
            list.push_bind(s.as_str());
        }
        q.push(")");
    }
    let created = match dates {
        Dates::First => "created_at",
        Dates::Checked => "+created_at",
    };
    if let Some(from) = f.created_from {
        q.push(format_args!(" AND {created} >= ")).push_bind(from.0);
    }
    if let Some(to) = f.created_to {
        q.push(format_args!(" AND {created} < ")).push_bind(to.0);
    }
    if let Some(run) = f.batch_run {
        q.push(" AND batch_run = ").push_bind(run);
    }
    if let Some(key) = f.record_key.as_deref() {
        q.push(" AND record_key = ").push_bind(key.to_owned());
    }
    if let Some(text) = f.text.as_deref() {
        push_message_text(q, text);
    }
}

/// `AND (record_key or description contains text)`, case-insensitive, through the backend's
/// trigram index: SQLite's FTS5 `messages_text` table (for 3 characters or more), PostgreSQL's
/// pg_trgm index on `record_key || ' ' || description`.
fn push_message_text(q: &mut QueryBuilder<Db>, text: &str) {
    if text.is_empty() {
        return;
    }
    if FTS5 {
        if text.chars().count() >= 3 {
            let phrase = format!("\"{}\"", text.replace('"', "\"\""));
            q.push(" AND id IN (SELECT rowid FROM messages_text WHERE messages_text MATCH ")
                .push_bind(phrase)
                .push(")");
        } else {
            push_contains(q, ["record_key", "description"], text);
        }
    } else {
        // Backslash is PostgreSQL's default LIKE escape.
        let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        q.push(format_args!(" AND (record_key || ' ' || description) {LIKE} "))
            .push_bind(format!("%{escaped}%"));
    }
}

/// `AND (a LIKE '%text%' OR b LIKE '%text%')`, case-insensitive, with `%`, `_` and `\\` in
/// `text` matched literally. Nothing when `text` is empty.
fn push_contains(q: &mut QueryBuilder<Db>, [a, b]: [&str; 2], text: &str) {
    if text.is_empty() {
        return;
    }
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    q.push(format_args!(" AND ({a} {LIKE} "))
        .push_bind(pattern.clone())
        .push(format_args!(" ESCAPE '\\' OR {b} {LIKE} "))
        .push_bind(pattern)
        .push(" ESCAPE '\\')");
}

pub(crate) async fn list_messages(
    c: &mut Conn,
    filter: &MessageFilter,
    page: PageRequest,
) -> Result<Page<Message>> {
    if page.limit == 0 || page.limit > crate::MAX_PAGE {
        return Err(StoreError::Invalid(format!(
            "page size must be between 1 and {}, not {}",
            crate::MAX_PAGE,
            page.limit
        )));
    }
    let dates = Dates::for_list(filter, Timestamp::now());
    let mut q = QueryBuilder::<Db>::new("SELECT * FROM messages WHERE 1 = 1");
    push_filter_with(&mut q, filter, dates);
    if let Some(before) = page.before {
        q.push(" AND id < ").push_bind(before.0);
    }
    // `id + 0` keeps the date-first plan from walking the id order instead.
    q.push(match dates {
        Dates::First => " ORDER BY id + 0 DESC LIMIT ",
        Dates::Checked => " ORDER BY id DESC LIMIT ",
    })
    .push_bind(i64::from(page.limit) + 1);
    // Not a prepared statement: every filter combination is planned with its own values
    // (PostgreSQL's generic plan for a text search walks the whole table).
    let rows = q.build().persistent(false).fetch_all(&mut *c).await?;
    let mut items = rows.iter().map(rows::message).collect::<Result<Vec<_>>>()?;
    let next = if items.len() > page.limit as usize {
        items.truncate(page.limit as usize);
        items.last().map(|m| m.id)
    } else {
        None
    };
    Ok(Page { items, next })
}

pub(crate) async fn count_by_status(c: &mut Conn, filter: &MessageFilter) -> Result<Vec<StatusCount>> {
    let mut q = QueryBuilder::<Db>::new(
        "SELECT connector, entity, status, COUNT(*) AS n FROM messages WHERE 1 = 1",
    );
    push_filter(&mut q, filter);
    q.push(" GROUP BY connector, entity, status ORDER BY connector, entity, status");
    let rows = q.build().persistent(false).fetch_all(&mut *c).await?;
    rows.iter().map(rows::status_count).collect()
}

/// The statuses that need attention or are under way; counted exactly by
/// [`overview_counts`]. The text repeats the `messages_open` index's predicate.
const OPEN: &str = "status IN ('pending', 'processing', 'failed', 'aborted', 'invalid')";
/// The statuses a message ends in when all went well; the `messages_retention` predicate.
const DONE: &str = "status IN ('processed', 'skipped', 'filtered', 'deleted')";

pub(crate) async fn overview_counts(c: &mut Conn, done_since: Timestamp) -> Result<Vec<StatusCount>> {
    let sql = format!(
        "SELECT connector, entity, status, COUNT(*) AS n FROM messages WHERE {OPEN}
             GROUP BY connector, entity, status
         UNION ALL
         SELECT connector, entity, status, COUNT(*) AS n FROM {DONE_SCAN}
             WHERE {DONE} AND updated_at >= $1
             GROUP BY connector, entity, status
         ORDER BY connector, entity, status"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(done_since.0)
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(rows::status_count).collect()
}

pub(crate) async fn history(c: &mut Conn, id: MessageId) -> Result<Vec<HistoryEntry>> {
    let rows = sqlx::query("SELECT * FROM message_history WHERE message_id = $1 ORDER BY id")
        .bind(id.0)
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(rows::history).collect()
}

/// Upserts what was sent, one multi-row statement per chunk.
pub(crate) async fn record_sent(c: &mut Conn, documents: &[SentDocument]) -> Result<()> {
    for chunk in documents.chunks(INSERT_CHUNK) {
        let mut q = QueryBuilder::<Db>::new("INSERT INTO message_sent (message_id, at, target, body) ");
        q.push_values(chunk, |mut row, d| {
            row.push_bind(d.message_id.0)
                .push_bind(d.at.0)
                .push_bind(d.target.as_str())
                .push_bind(Json(&d.body));
        });
        q.push(
            " ON CONFLICT (message_id) DO UPDATE SET at = excluded.at, target = excluded.target,
                 body = excluded.body",
        );
        match q.build().persistent(false).execute(&mut *c).await {
            // The message was deleted meanwhile (retention): nothing to keep.
            Err(e) if foreign_key_violation(&e) => {}
            other => {
                other?;
            }
        }
    }
    Ok(())
}

pub(crate) async fn sent(c: &mut Conn, id: MessageId) -> Result<Option<SentDocument>> {
    let row = sqlx::query("SELECT * FROM message_sent WHERE message_id = $1")
        .bind(id.0)
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(rows::sent).transpose()
}

// ---------------------------------------------------------------- connectors

pub(crate) async fn put_connector(c: &mut Conn, k: &Connector, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO connectors (id, name, erp, store, state, paused_until, pause_reason,
             settings, sealed_credentials, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, erp = excluded.erp,
             store = excluded.store, state = excluded.state,
             paused_until = excluded.paused_until, pause_reason = excluded.pause_reason,
             settings = excluded.settings, sealed_credentials = excluded.sealed_credentials,
             updated_at = excluded.updated_at",
    )
    .bind(k.id.as_str())
    .bind(&k.name)
    .bind(k.erp.as_str())
    .bind(k.store.as_str())
    .bind(k.state.as_str())
    .bind(k.paused_until.map(|t| t.0))
    .bind(k.pause_reason.as_deref())
    .bind(Json(&k.settings))
    .bind(k.sealed_credentials.as_deref())
    .bind(now.0)
    .execute(&mut *c)
    .await?;
    for entity in Entity::all() {
        let defaults = EntitySettings::default_for(k.id.clone(), *entity);
        write_entity_settings(c, &defaults, "DO NOTHING").await?;
    }
    Ok(())
}

async fn write_entity_settings(c: &mut Conn, s: &EntitySettings, on_conflict: &str) -> Result<()> {
    let sql = format!(
        "INSERT INTO entity_settings (connector, entity, active, direction, realtime,
             auto_process, paused, schedule, max_attempts, fields)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (connector, entity) {on_conflict}"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(s.connector.as_str())
        .bind(s.entity.as_str())
        .bind(s.active)
        .bind(s.direction.as_str())
        .bind(s.realtime)
        .bind(s.auto_process)
        .bind(s.paused)
        .bind(s.schedule.as_deref())
        .bind(i64::from(s.max_attempts))
        .bind(Json(&s.fields))
        .execute(&mut *c)
        .await
        .map_err(|e| unknown_connector(e, &s.connector))?;
    Ok(())
}

pub(crate) async fn put_entity_settings(c: &mut Conn, s: &EntitySettings) -> Result<()> {
    write_entity_settings(
        c,
        s,
        "DO UPDATE SET active = excluded.active, direction = excluded.direction,
             realtime = excluded.realtime, auto_process = excluded.auto_process,
             paused = excluded.paused, schedule = excluded.schedule,
             max_attempts = excluded.max_attempts, fields = excluded.fields",
    )
    .await
}

pub(crate) async fn entity_settings(c: &mut Conn, id: &ConnectorId) -> Result<Vec<EntitySettings>> {
    let rows = sqlx::query("SELECT * FROM entity_settings WHERE connector = $1")
        .bind(id.as_str())
        .fetch_all(&mut *c)
        .await?;
    let mut all = rows.iter().map(rows::entity_settings).collect::<Result<Vec<_>>>()?;
    all.sort_by_key(|s| s.entity);
    Ok(all)
}

pub(crate) async fn connector(c: &mut Conn, id: &ConnectorId) -> Result<Option<Connector>> {
    let row = sqlx::query("SELECT * FROM connectors WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(rows::connector).transpose()
}

pub(crate) async fn connectors(c: &mut Conn) -> Result<Vec<Connector>> {
    let rows = sqlx::query("SELECT * FROM connectors ORDER BY id").fetch_all(&mut *c).await?;
    rows.iter().map(rows::connector).collect()
}

/// An update of one connector's row: none changed means there is no such connector.
fn connector_changed(rows: u64, id: &ConnectorId) -> Result<()> {
    if rows == 0 {
        return Err(StoreError::UnknownConnector(id.clone()));
    }
    Ok(())
}

pub(crate) async fn set_connector_state(
    c: &mut Conn,
    id: &ConnectorId,
    state: ConnectorState,
    now: Timestamp,
) -> Result<()> {
    let done = sqlx::query("UPDATE connectors SET state = $2, updated_at = $3 WHERE id = $1")
        .bind(id.as_str())
        .bind(state.as_str())
        .bind(now.0)
        .execute(&mut *c)
        .await?;
    connector_changed(done.rows_affected(), id)
}

pub(crate) async fn hold_connector(
    c: &mut Conn,
    id: &ConnectorId,
    until: Option<Timestamp>,
    reason: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE connectors SET paused_until = $2, pause_reason = $3, updated_at = $4 WHERE id = $1",
    )
    .bind(id.as_str())
    .bind(until.map(|t| t.0))
    .bind(reason)
    .bind(now.0)
    .execute(&mut *c)
    .await?;
    connector_changed(done.rows_affected(), id)
}

/// Records (or clears, with `None`) an outage of the connector's other system.
pub(crate) async fn set_outage(
    c: &mut Conn,
    id: &ConnectorId,
    outage: Option<&kcf_domain::Outage>,
    now: Timestamp,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE connectors SET outage_since = $2, outage_reason = $3, outage_probes = $4,
             outage_next_probe = $5, updated_at = $6, outage_system = $7,
             outage_needs_person = $8
         WHERE id = $1",
    )
    .bind(id.as_str())
    .bind(outage.map(|o| o.since.0))
    .bind(outage.map(|o| o.reason.as_str()))
    .bind(outage.map_or(0, |o| i64::from(o.probes)))
    .bind(outage.map(|o| o.next_probe_at.0))
    .bind(now.0)
    .bind(outage.map(|o| o.system.as_str()))
    .bind(outage.is_some_and(|o| o.needs_person))
    .execute(&mut *c)
    .await?;
    connector_changed(done.rows_affected(), id)
}

/// Takes the right to probe an out connector: true for exactly one caller while the probe
/// it saw is due, which moves the next probe to `next` first.
pub(crate) async fn take_probe(
    c: &mut Conn,
    id: &ConnectorId,
    seen: Timestamp,
    next: Timestamp,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE connectors SET outage_next_probe = $3
         WHERE id = $1 AND outage_since IS NOT NULL AND NOT outage_needs_person
           AND outage_next_probe = $2 AND outage_next_probe <= $4",
    )
    .bind(id.as_str())
    .bind(seen.0)
    .bind(next.0)
    .bind(now.0)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The sealed ERP session kept for the connector, if any.
pub(crate) async fn erp_session(c: &mut Conn, id: &ConnectorId) -> Result<Option<Vec<u8>>> {
    let v: Option<Option<Vec<u8>>> =
        sqlx::query_scalar("SELECT erp_session FROM connectors WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *c)
            .await?;
    Ok(v.flatten())
}

/// Keeps (or forgets, with `None`) the connector's sealed ERP session.
pub(crate) async fn put_erp_session(
    c: &mut Conn,
    id: &ConnectorId,
    sealed: Option<&[u8]>,
) -> Result<()> {
    sqlx::query("UPDATE connectors SET erp_session = $2 WHERE id = $1")
        .bind(id.as_str())
        .bind(sealed)
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub(crate) async fn put_mapping(c: &mut Conn, m: &Mapping) -> Result<()> {
    sqlx::query(
        "INSERT INTO mappings (connector, kind, erp_value, store_value) VALUES ($1, $2, $3, $4)
         ON CONFLICT (connector, kind, erp_value) DO UPDATE SET store_value = excluded.store_value",
    )
    .bind(m.connector.as_str())
    .bind(m.kind.as_str())
    .bind(&m.erp_value)
    .bind(&m.store_value)
    .execute(&mut *c)
    .await
    .map_err(|e| unknown_connector(e, &m.connector))?;
    Ok(())
}

pub(crate) async fn delete_mapping(
    c: &mut Conn,
    id: &ConnectorId,
    kind: MappingKind,
    erp_value: &str,
) -> Result<bool> {
    let done =
        sqlx::query("DELETE FROM mappings WHERE connector = $1 AND kind = $2 AND erp_value = $3")
            .bind(id.as_str())
            .bind(kind.as_str())
            .bind(erp_value)
            .execute(&mut *c)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn mappings(
    c: &mut Conn,
    id: &ConnectorId,
    kind: Option<MappingKind>,
) -> Result<Vec<Mapping>> {
    let rows = sqlx::query(
        "SELECT * FROM mappings WHERE connector = $1 AND ($2 IS NULL OR kind = $2)
         ORDER BY kind, erp_value",
    )
    .bind(id.as_str())
    .bind(kind.map(|k| k.as_str()))
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(rows::mapping).collect()
}

// ---------------------------------------------------------------- bindings

pub(crate) async fn put_binding(c: &mut Conn, b: &Binding) -> Result<()> {
    let other: Option<String> = sqlx::query_scalar(
        "SELECT erp_key FROM bindings
         WHERE connector = $1 AND entity = $2 AND external_id = $3 AND erp_key <> $4",
    )
    .bind(b.connector.as_str())
    .bind(b.entity.as_str())
    .bind(&b.external_id)
    .bind(&b.erp_key)
    .fetch_optional(&mut *c)
    .await?;
    if let Some(other) = other {
        return Err(StoreError::BindingConflict(format!(
            "{} external id '{}' is already bound to ERP key '{other}'; unbind it first",
            b.entity, b.external_id
        )));
    }
    sqlx::query(
        "INSERT INTO bindings (connector, entity, erp_key, external_id, fingerprint, synced_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (connector, entity, erp_key) DO UPDATE SET
             external_id = excluded.external_id, fingerprint = excluded.fingerprint,
             synced_at = excluded.synced_at",
    )
    .bind(b.connector.as_str())
    .bind(b.entity.as_str())
    .bind(&b.erp_key)
    .bind(&b.external_id)
    .bind(b.fingerprint.as_deref())
    .bind(b.synced_at.0)
    .execute(&mut *c)
    .await
    .map_err(|e| {
        if StoreError::is_unique_violation(&e) {
            StoreError::BindingConflict(format!(
                "{} external id '{}' was just bound to another ERP key",
                b.entity, b.external_id
            ))
        } else {
            unknown_connector(e, &b.connector)
        }
    })?;
    Ok(())
}

pub(crate) async fn binding(
    c: &mut Conn,
    id: &ConnectorId,
    entity: Entity,
    key: BindingKey<'_>,
) -> Result<Option<Binding>> {
    let (column, value) = match key {
        BindingKey::Erp(k) => ("erp_key", k),
        BindingKey::External(k) => ("external_id", k),
    };
    let sql = format!("SELECT * FROM bindings WHERE connector = $1 AND entity = $2 AND {column} = $3");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id.as_str())
        .bind(entity.as_str())
        .bind(value)
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(rows::binding).transpose()
}

pub(crate) async fn bindings(
    c: &mut Conn,
    id: &ConnectorId,
    entity: Entity,
    text: Option<&str>,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Binding>> {
    let mut q = QueryBuilder::<Db>::new("SELECT * FROM bindings WHERE connector = ");
    q.push_bind(id.as_str()).push(" AND entity = ").push_bind(entity.as_str());
    if let Some(text) = text {
        push_contains(&mut q, ["erp_key", "external_id"], text);
    }
    if let Some(after) = after {
        q.push(" AND erp_key > ").push_bind(after);
    }
    q.push(" ORDER BY erp_key LIMIT ").push_bind(i64::from(limit.clamp(1, crate::MAX_PAGE)));
    let rows = q.build().fetch_all(&mut *c).await?;
    rows.iter().map(rows::binding).collect()
}

pub(crate) async fn delete_binding(
    c: &mut Conn,
    id: &ConnectorId,
    entity: Entity,
    erp_key: &str,
) -> Result<bool> {
    let done =
        sqlx::query("DELETE FROM bindings WHERE connector = $1 AND entity = $2 AND erp_key = $3")
            .bind(id.as_str())
            .bind(entity.as_str())
            .bind(erp_key)
            .execute(&mut *c)
            .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------- batch runs

pub(crate) async fn create_batch_run(c: &mut Conn, r: &NewBatchRun, now: Timestamp) -> Result<BatchRun> {
    let row = sqlx::query(
        "INSERT INTO batch_runs (connector, entity, mode, window_from, window_to, status,
             created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         RETURNING *",
    )
    .bind(r.connector.as_str())
    .bind(r.entity.as_str())
    .bind(r.mode.as_str())
    .bind(r.window_from.0)
    .bind(r.window_to.0)
    .bind(BatchStatus::Listing.as_str())
    .bind(now.0)
    .fetch_one(&mut *c)
    .await
    .map_err(|e| unknown_connector(e, &r.connector))?;
    rows::batch_run(&row)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn update_batch_run(
    c: &mut Conn,
    id: i64,
    checkpoint: Option<&str>,
    listed: u64,
    enqueued: u64,
    status: BatchStatus,
    error: Option<&str>,
    now: Timestamp,
) -> Result<BatchRun> {
    let row = sqlx::query(
        "UPDATE batch_runs SET checkpoint = COALESCE($2, checkpoint), listed = listed + $3,
             enqueued = enqueued + $4, status = $5, error = $6, updated_at = $7
         WHERE id = $1
         RETURNING *",
    )
    .bind(id)
    .bind(checkpoint)
    .bind(to_i64(listed))
    .bind(to_i64(enqueued))
    .bind(status.as_str())
    .bind(error)
    .bind(now.0)
    .fetch_optional(&mut *c)
    .await?;
    match row {
        Some(row) => rows::batch_run(&row),
        None => Err(StoreError::NotFound { what: "batch run", id: id.to_string() }),
    }
}

pub(crate) async fn batch_run(c: &mut Conn, id: i64) -> Result<Option<BatchRun>> {
    let row = sqlx::query("SELECT * FROM batch_runs WHERE id = $1").bind(id).fetch_optional(&mut *c).await?;
    row.as_ref().map(rows::batch_run).transpose()
}

pub(crate) async fn batch_runs(
    c: &mut Conn,
    id: &ConnectorId,
    entity: Entity,
    limit: u32,
) -> Result<Vec<BatchRun>> {
    let rows = sqlx::query(
        "SELECT * FROM batch_runs WHERE connector = $1 AND entity = $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(id.as_str())
    .bind(entity.as_str())
    .bind(i64::from(limit.clamp(1, crate::MAX_PAGE)))
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(rows::batch_run).collect()
}

// ---------------------------------------------------------------- retention

pub(crate) async fn prune_chunk(c: &mut Conn, before: Timestamp, chunk: u32) -> Result<u64> {
    let sql = format!(
        "DELETE FROM messages WHERE id IN (
             SELECT id FROM messages
             WHERE status IN ('processed', 'skipped', 'filtered', 'deleted') AND updated_at < $1
             ORDER BY updated_at LIMIT $2 {SKIP_LOCKED})"
    );
    let done = sqlx::query(AssertSqlSafe(sql)).bind(before.0).bind(i64::from(chunk.max(1))).execute(&mut *c).await?;
    Ok(done.rows_affected())
}

// ---------------------------------------------------------------- users, sessions, API tokens

pub(crate) async fn put_user(c: &mut Conn, username: &str, hash: &str, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO users (username, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash,
             updated_at = excluded.updated_at",
    )
    .bind(username)
    .bind(hash)
    .bind(now.0)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub(crate) async fn password_hash(c: &mut Conn, username: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT password_hash FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&mut *c)
        .await?)
}

pub(crate) async fn user_count(c: &mut Conn) -> Result<u64> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&mut *c).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) async fn create_session(
    c: &mut Conn,
    id_hash: &str,
    username: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    // Expired sessions go when new ones come.
    sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(now.0).execute(&mut *c).await?;
    sqlx::query(
        "INSERT INTO sessions (id_hash, username, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id_hash)
    .bind(username)
    .bind(now.0)
    .bind(expires_at.0)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub(crate) async fn session(c: &mut Conn, id_hash: &str, now: Timestamp) -> Result<Option<kcf_domain::Session>> {
    let row = sqlx::query("SELECT * FROM sessions WHERE id_hash = $1 AND expires_at > $2")
        .bind(id_hash)
        .bind(now.0)
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(rows::session).transpose()
}

pub(crate) async fn delete_session(c: &mut Conn, id_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(&mut *c).await?;
    Ok(())
}

pub(crate) async fn create_api_token(
    c: &mut Conn,
    name: &str,
    token_hash: &str,
    hint: &str,
    created_by: &str,
    now: Timestamp,
) -> Result<kcf_domain::ApiToken> {
    let row = sqlx::query(
        "INSERT INTO api_tokens (name, token_hash, hint, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING *",
    )
    .bind(name)
    .bind(token_hash)
    .bind(hint)
    .bind(created_by)
    .bind(now.0)
    .fetch_one(&mut *c)
    .await?;
    rows::api_token(&row)
}

/// Stores a token given from outside (a flag, the config file) unless its hash is known; the
/// token as stored, revoked or not (a revoked one stays revoked).
pub(crate) async fn import_api_token(
    c: &mut Conn,
    name: &str,
    token_hash: &str,
    hint: &str,
    created_by: &str,
    now: Timestamp,
) -> Result<kcf_domain::ApiToken> {
    sqlx::query(
        "INSERT INTO api_tokens (name, token_hash, hint, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (token_hash) DO NOTHING",
    )
    .bind(name)
    .bind(token_hash)
    .bind(hint)
    .bind(created_by)
    .bind(now.0)
    .execute(&mut *c)
    .await?;
    let row = sqlx::query("SELECT * FROM api_tokens WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_one(&mut *c)
        .await?;
    rows::api_token(&row)
}

pub(crate) async fn api_tokens(c: &mut Conn) -> Result<Vec<kcf_domain::ApiToken>> {
    let rows = sqlx::query("SELECT * FROM api_tokens ORDER BY id").fetch_all(&mut *c).await?;
    rows.iter().map(rows::api_token).collect()
}

pub(crate) async fn api_token_by_hash(c: &mut Conn, token_hash: &str) -> Result<Option<kcf_domain::ApiToken>> {
    let row = sqlx::query("SELECT * FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
        .bind(token_hash)
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(rows::api_token).transpose()
}

/// Whether a token's last use is old enough to record again (at most once a minute, to spare
/// writes on every request).
pub(crate) fn stale_use(token: &kcf_domain::ApiToken, now: Timestamp) -> bool {
    token.last_used_at.is_none_or(|t| now.0 - t.0 > 60_000)
}

pub(crate) async fn touch_api_token(c: &mut Conn, id: i64, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2").bind(now.0).bind(id).execute(&mut *c).await?;
    Ok(())
}

pub(crate) async fn revoke_api_token(c: &mut Conn, id: i64, now: Timestamp) -> Result<bool> {
    let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now.0)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}
