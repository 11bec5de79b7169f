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
    .bind(crate::text::clean_opt(error))
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
