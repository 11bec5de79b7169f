//! PostgreSQL's text index, kept off the write path.
//!
//! A stored message's text lands in `message_text_new`, a plain table (migration 0011); this
//! task moves it into `message_text`, whose pg_trgm GIN index search uses. Every kcf process
//! on the database runs one; `SKIP LOCKED` shares the rows out. It moves everything staged
//! twice a second, except during a flood (more than [`FLOOD`] new rows since the last look),
//! when it waits for the flood to pass unless the staged rows pass [`MAX_LAG`]: then it keeps
//! them near that bound. Search scans `message_text_new`, so it never misses a message.

use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::Result;

/// How often the mover looks.
const TICK: Duration = Duration::from_millis(500);
/// New staged rows per look above which ingest is left the machine (5,000/s).
const FLOOD: i64 = 2_500;
/// The most staged rows a flood may leave unindexed.
const MAX_LAG: i64 = 200_000;
/// Rows per move statement.
const CHUNK: i64 = 2_000;
/// The most rows one look moves (20,000/s).
const MOST_PER_LOOK: i64 = 10_000;

/// The background move; stops when the store is dropped.
#[derive(Debug)]
pub(super) struct Mover(JoinHandle<()>);

impl Drop for Mover {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Mover {
    pub(super) fn start(pool: PgPool) -> Self {
        Self(tokio::spawn(async move {
            let mut before = 0;
            loop {
                tokio::time::sleep(TICK).await;
                match look(&pool, before).await {
                    Ok(left) => before = left,
                    Err(e) => tracing::warn!(error = %e, "text index: moving rows failed"),
                }
            }
        }))
    }
}

/// One look: moves what the policy allows; how many rows are staged afterwards.
async fn look(pool: &PgPool, before: i64) -> Result<i64> {
    let staged = staged(pool).await?;
    let flood = staged - before > FLOOD;
    if staged == 0 || (flood && staged <= MAX_LAG) {
        return Ok(staged);
    }
    let mut left = staged;
    let mut moved_now = 0;
    while left > 0 && moved_now < MOST_PER_LOOK {
        let moved = move_chunk(pool).await?;
        if moved == 0 {
            break;
        }
        moved_now += moved;
        left -= moved;
        if flood && left <= MAX_LAG {
            break;
        }
    }
    if moved_now > 0 {
        clean_pending_list(pool).await?;
    }
    Ok(left.max(0))
}

/// Merges the GIN index's pending list (where the moved rows' entries wait) into the index
/// now, in the background: a search reads all of that list, and otherwise whichever insert
/// overflows it merges it (this is what made ingest's p99 37 ms when the index was written
/// on every insert). Nothing when pg_trgm was unavailable and there is no index.
async fn clean_pending_list(pool: &PgPool) -> Result<()> {
    sqlx::query(
        "SELECT gin_clean_pending_list(i)
         FROM (SELECT to_regclass('message_text_trgm') AS i) s WHERE i IS NOT NULL",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Rows staged and not yet moved (counted up to a little past [`MAX_LAG`]).
pub(super) async fn staged(pool: &PgPool) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT 1 FROM message_text_new LIMIT $1) s")
            .bind(MAX_LAG + MOST_PER_LOOK)
            .fetch_one(pool)
            .await?,
    )
}

async fn move_chunk(pool: &PgPool) -> Result<i64> {
    let done = sqlx::query(
        "WITH moved AS (
             DELETE FROM message_text_new WHERE id IN
                 (SELECT id FROM message_text_new ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
             RETURNING id, text
         )
         INSERT INTO message_text (id, text) SELECT id, text FROM moved
         ON CONFLICT (id) DO UPDATE SET text = EXCLUDED.text",
    )
    .bind(CHUNK)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() as i64)
}
