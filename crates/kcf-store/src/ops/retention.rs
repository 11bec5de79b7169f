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
