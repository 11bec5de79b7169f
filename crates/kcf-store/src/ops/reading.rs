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
                // Saturating: the window's ends come from a client and may be any i64.
                let end = to.0.min(now.0);
                if end.saturating_sub(from.0) <= now.0.saturating_sub(end) {
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
        // A NUL cannot be searched for (nor stored): it matches nothing.
        push_message_text(q, &crate::text::clean(text));
    }
}

/// `AND (record_key or description contains text)`, case-insensitive, through the backend's
/// trigram index, which is written after the message (see migrations 0011): SQLite's FTS5
/// `messages_text` table (for 3 characters or more) up to `message_text_mark`, and a scan of
/// the messages after it; PostgreSQL's pg_trgm index on `message_text`
/// (`record_key || ' ' || description`), and a scan of `message_text_new`, the messages not
/// moved into it yet.
fn push_message_text(q: &mut QueryBuilder<Db>, text: &str) {
    if text.is_empty() {
        return;
    }
    if FTS5 {
        if text.chars().count() >= 3 {
            let phrase = format!("\"{}\"", text.replace('"', "\"\""));
            q.push(" AND id IN (SELECT rowid FROM messages_text WHERE messages_text MATCH ")
                .push_bind(phrase)
                .push(
                    " UNION ALL SELECT id FROM messages
                      WHERE id > (SELECT upto FROM message_text_mark)",
                );
            push_contains(q, ["record_key", "description"], text);
            q.push(")");
        } else {
            push_contains(q, ["record_key", "description"], text);
        }
    } else {
        // Backslash is PostgreSQL's default LIKE escape.
        let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        q.push(format_args!(
            " AND id IN (SELECT t.id FROM message_text t WHERE t.text {LIKE} "
        ))
        .push_bind(pattern.clone())
        .push(format_args!(
            " UNION ALL SELECT n.id FROM message_text_new n WHERE n.text {LIKE} "
        ))
        .push_bind(pattern)
        .push(")");
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

pub(crate) async fn superseded(c: &mut Conn, ids: &[MessageId]) -> Result<Vec<MessageId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Per failure, the later message is looked up on the list index (connector, entity, id)
    // from the failure's id upwards: without that lower bound, a failure nothing fixed read
    // every processed message of its entity (5.7 s for the home page's 40 at 1,000,000
    // messages). A scalar subquery, because PostgreSQL planned the same `EXISTS` as a hash
    // semi-join over all processed messages (0.8 s).
    let mut q = QueryBuilder::<Db>::new(
        "SELECT t.id FROM (
             SELECT f.id, (
                 SELECT l.id FROM messages l
                 WHERE l.connector = f.connector AND l.entity = f.entity
                   AND l.status = 'processed' AND l.id > f.id AND l.record_key = f.record_key
                 LIMIT 1) AS later
             FROM messages f WHERE f.id IN (",
    );
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(id.0);
    }
    q.push(")) t WHERE t.later IS NOT NULL ORDER BY t.id");
    let found: Vec<i64> = q.build_query_scalar().fetch_all(&mut *c).await?;
    Ok(found.into_iter().map(MessageId).collect())
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
                .push_bind(crate::text::clean(&d.target).into_owned())
                .push_bind(Json(crate::text::clean_json(&d.body).into_owned()));
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

#[cfg(test)]
#[test]
fn a_date_window_at_the_ends_of_time_does_not_overflow() {
    let f = MessageFilter {
        created_from: Some(Timestamp(i64::MIN + 1)),
        created_to: Some(Timestamp(16)),
        ..MessageFilter::default()
    };
    assert_eq!(Dates::for_list(&f, Timestamp(1_800_000_000_000)), Dates::Checked);
}
