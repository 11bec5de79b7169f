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
        push_contains(&mut q, ["erp_key", "external_id"], &crate::text::clean(text));
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
