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
             lease_expires_at = NULL, crashes = 0,
             last_error = CASE WHEN $3 = 'invalid' THEN $5 ELSE NULL END, updated_at = $4,
             transition_seq = transition_seq + 1, status_actor = lease_owner, status_reason = $5
         WHERE id = $1 AND lease_token = $2 AND status = 'processing'",
    )
    .bind(lease.id.0)
    .bind(&lease.token)
    .bind(MessageStatus::from(outcome).as_str())
    .bind(now.0)
    .bind(crate::text::clean_opt(note))
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Finishes many leases in one statement, each as `complete` would; one answer per item,
/// in order.
pub(crate) async fn complete_many(
    c: &mut Conn,
    items: &[Completion],
    now: Timestamp,
) -> Result<Vec<bool>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Db>::new("WITH u (id, token, status, note) AS (");
    q.push_values(items, |mut row, item| {
        row.push_bind(item.lease.id.0)
            .push_bind(item.lease.token.as_str())
            .push_bind(MessageStatus::from(item.outcome).as_str())
            .push_bind(crate::text::clean_opt(item.note.as_deref()));
    });
    q.push(
        ") UPDATE messages SET status = u.status, lease_owner = NULL, lease_token = NULL,
             lease_expires_at = NULL, crashes = 0,
             last_error = CASE WHEN u.status = 'invalid' THEN u.note ELSE NULL END, updated_at = ",
    )
    .push_bind(now.0)
    .push(
        ", transition_seq = messages.transition_seq + 1, status_actor = messages.lease_owner,
             status_reason = u.note
         FROM u
         WHERE messages.id = u.id AND messages.lease_token = u.token
           AND messages.status = 'processing'
         RETURNING messages.id",
    );
    let done: Vec<i64> = q.build_query_scalar().fetch_all(&mut *c).await?;
    Ok(items.iter().map(|item| done.contains(&item.lease.id.0)).collect())
}

/// The status a lease holder's failure leads to, decided against the entity's max attempts.
const FAILED_OR_ABORTED: &str = "CASE WHEN attempts >= COALESCE((SELECT s.max_attempts
        FROM entity_settings s
        WHERE s.connector = messages.connector AND s.entity = messages.entity), 5)
    THEN 'aborted' ELSE 'failed' END";

/// The same for a lease that expired. The worker died (a deploy, a kill, another job's OOM),
/// which is seldom the message's fault: the death spends no attempt, and the message is
/// stopped only when the workers that take it die twice its max attempts **in a row**
/// (`crashes`, reset by any outcome a worker records), the mark of a message that kills
/// every worker that takes it.
///
/// Counting deaths in all, the long kill -9 soak (a worker killed every 200-500 ms for
/// twenty minutes) aborted stock messages that the overselling guard puts off every few
/// seconds: each claim was one more exposure to a kill, and ten of hundreds were enough.
const FAILED_OR_ABORTED_AFTER_A_CRASH: &str = "CASE WHEN crashes + 1 >= 2 * COALESCE((SELECT s.max_attempts
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
             lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, crashes = 0,
             updated_at = $5, transition_seq = transition_seq + 1, status_actor = lease_owner,
             status_reason = $4
         WHERE id = $1 AND lease_token = $2 AND status = 'processing'
         RETURNING status"
    );
    let status: Option<String> = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(lease.id.0)
        .bind(&lease.token)
        .bind(retry_at.0)
        .bind(crate::text::clean(error))
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
             lease_token = NULL, lease_expires_at = NULL, crashes = 0, updated_at = $3,
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
             postponed = postponed + 1, last_error = $4, lease_owner = NULL, lease_token = NULL,
             lease_expires_at = NULL, crashes = 0, updated_at = $5,
             transition_seq = transition_seq + 1, status_actor = lease_owner, status_reason = $4
         WHERE id = $1 AND lease_token = $2 AND status = 'processing'",
    )
    .bind(lease.id.0)
    .bind(&lease.token)
    .bind(until.0)
    .bind(crate::text::clean(reason))
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
            .push_bind(crate::text::clean(description).into_owned())
            .push_bind(Json(crate::text::clean_json(payload).into_owned()));
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

/// What a reaped message says: whose lease ran out, and how many in a row.
const EXPIRED: &str = "'lease expired: worker ' || COALESCE(lease_owner, '?')
    || ' stopped answering (' || CAST(crashes + 1 AS TEXT) || ' in a row; not counted as an attempt)'";

/// Deaths in a row whose wait [`reap_expired`] spells out; later ones wait the last step.
const CRASH_STEPS: u32 = 8;

pub(crate) async fn reap_expired(
    c: &mut Conn,
    limit: u32,
    backoff: &RetryPolicy,
    now: Timestamp,
) -> Result<u64> {
    // The wait after the n-th death in a row, `backoff.ceiling(n)`: a CASE over the message's
    // `crashes` (the deaths before this one), its steps bound as parameters $3, $4, ….
    let mut wait = String::from("CASE crashes");
    for step in 0..CRASH_STEPS - 1 {
        wait.push_str(&format!(" WHEN {step} THEN ${}", step + 3));
    }
    wait.push_str(&format!(" ELSE ${} END", CRASH_STEPS + 2));
    let sql = format!(
        "UPDATE messages SET status = {FAILED_OR_ABORTED_AFTER_A_CRASH}, next_attempt_at = $1 + {wait},
             attempts = attempts - 1, crashes = crashes + 1,
             last_error = {EXPIRED},
             status_reason = {EXPIRED},
             lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = $1,
             transition_seq = transition_seq + 1, status_actor = 'reaper'
         WHERE id IN (
             SELECT id FROM messages
             WHERE status = 'processing' AND lease_expires_at < $1
             ORDER BY lease_expires_at LIMIT $2 {SKIP_LOCKED})"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(now.0).bind(i64::from(limit));
    for step in 1..=CRASH_STEPS {
        q = q.bind(i64::try_from(backoff.ceiling(step).as_millis()).unwrap_or(i64::MAX));
    }
    let done = q.execute(&mut *c).await?;
    Ok(done.rows_affected())
}
