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
            .push_bind(crate::text::clean(&m.description).into_owned())
            .push_bind(m.source.as_str())
            .push_bind(m.dedup_key.as_deref().map(|k| crate::text::dedup_key(k).into_owned()))
            .push("'pending'")
            .push("0")
            .push_bind(now.0)
            // A batch message is claimed only once `manual` says go: at once, unless a person
            // listed it and is to choose what to process.
            .push_bind(m.mode == kcf_domain::Mode::Batch && !m.wait_for_person)
            .push_bind(Json(crate::text::clean_json(&m.payload).into_owned()))
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
        // As it was stored (hashed when too long to index).
        let key = crate::text::dedup_key(key).into_owned();
        let k = (m.connector.as_str().to_owned(), m.source.clone(), key);
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
