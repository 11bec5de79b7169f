//! SQLite's text index, kept off the write path.
//!
//! Search goes through the FTS5 trigram table `messages_text`, whose trigrams cost the one
//! writer more than the rest of storing a message. So storing a message does not index it:
//! the writer indexes the messages after `message_text_mark.upto` when no write is waiting
//! ([`catch_up`]), and inside its group commits only while that tail is longer than
//! [`MAX_LAG`] ([`keep_up`]), which bounds it under a flood that never pauses. Search reads
//! the index up to the mark and scans the tail (`ops/reading.rs`), so it always finds every
//! stored message. Migration 0011 explains why the mark is exact.

use std::time::Duration;

use sqlx::SqliteConnection;

use crate::Result;

/// The longest unindexed tail before indexing shares the writer's commits.
/// Scanning it costs a search about 55 ms at 200,000 (0.27 µs a message on this machine).
pub(crate) const MAX_LAG: i64 = 200_000;
/// How long the writer must have had nothing to do before it indexes; then it goes on chunk
/// after chunk while no write comes.
pub(crate) const IDLE: Duration = Duration::from_millis(20);
/// Messages indexed at a time when idle: about 15 ms of work, the most a write arriving
/// meanwhile waits.
pub(crate) const IDLE_CHUNK: i64 = 128;
/// The fewest messages indexed in a group commit while the tail is over [`MAX_LAG`]; a group
/// indexes as many as bring it back to the bound, up to [`MOST_IN_A_GROUP`].
const BEHIND_CHUNK: i64 = 256;
const MOST_IN_A_GROUP: i64 = 8_192;

/// Messages stored but not yet indexed (0 before the migration made the mark).
pub(crate) async fn lag(c: &mut SqliteConnection) -> Result<i64> {
    let lag: Option<i64> = sqlx::query_scalar(
        "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0) - upto
         FROM message_text_mark",
    )
    .fetch_optional(&mut *c)
    .await?;
    Ok(lag.unwrap_or(0).max(0))
}

/// Indexes up to `limit` of the oldest unindexed messages inside the current transaction, in
/// a savepoint (the index and the mark move together or not at all); the lag afterwards.
pub(crate) async fn index(c: &mut SqliteConnection, limit: i64) -> Result<i64> {
    sqlx::raw_sql("SAVEPOINT text_index")
        .execute(&mut *c)
        .await?;
    let moved = advance(c, limit).await;
    let end = if moved.is_ok() {
        "RELEASE text_index"
    } else {
        "ROLLBACK TO text_index; RELEASE text_index"
    };
    sqlx::raw_sql(end).execute(&mut *c).await?;
    moved
}

async fn advance(c: &mut SqliteConnection, limit: i64) -> Result<i64> {
    let (upto, seq): (i64, i64) = sqlx::query_as(
        "SELECT upto, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0)
         FROM message_text_mark",
    )
    .fetch_one(&mut *c)
    .await?;
    if seq <= upto {
        return Ok(0);
    }
    let (taken, last): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MAX(id) FROM
             (SELECT id FROM messages WHERE id > $1 ORDER BY id LIMIT $2)",
    )
    .bind(upto)
    .bind(limit)
    .fetch_one(&mut *c)
    .await?;
    // Fewer than asked: everything up to the last id ever given out is covered (AUTOINCREMENT
    // never gives an id again, so the gaps are deleted messages).
    let to = if taken < limit {
        seq
    } else {
        last.unwrap_or(seq)
    };
    sqlx::query(
        "INSERT INTO messages_text (rowid, record_key, description)
         SELECT id, record_key, description FROM messages WHERE id > $1 AND id <= $2",
    )
    .bind(upto)
    .bind(to)
    .execute(&mut *c)
    .await?;
    sqlx::query("UPDATE message_text_mark SET upto = $1")
        .bind(to)
        .execute(&mut *c)
        .await?;
    Ok(seq - to)
}

/// Inside a group commit: indexes a chunk when the tail is over [`MAX_LAG`]; the lag after.
pub(crate) async fn keep_up(c: &mut SqliteConnection) -> Result<i64> {
    let lag = lag(c).await?;
    if lag <= MAX_LAG {
        return Ok(lag);
    }
    index(c, (lag - MAX_LAG).clamp(BEHIND_CHUNK, MOST_IN_A_GROUP)).await
}

/// With nothing else to do: indexes a chunk in a transaction of its own; the lag after.
pub(crate) async fn catch_up(c: &mut SqliteConnection) -> Result<i64> {
    sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *c).await?;
    match index(c, IDLE_CHUNK).await {
        Ok(lag) => {
            sqlx::raw_sql("COMMIT").execute(&mut *c).await?;
            Ok(lag)
        }
        Err(e) => {
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *c).await;
            Err(e)
        }
    }
}
