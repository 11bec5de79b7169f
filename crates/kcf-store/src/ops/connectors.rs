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
    .bind(crate::text::clean(&k.name))
    .bind(k.erp.as_str())
    .bind(k.store.as_str())
    .bind(k.state.as_str())
    .bind(k.paused_until.map(|t| t.0))
    .bind(crate::text::clean_opt(k.pause_reason.as_deref()))
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
             auto_process, paused, schedule, max_attempts, fields, on_removal)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
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
        .bind(s.on_removal.map(|r| r.as_str()))
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
             max_attempts = excluded.max_attempts, fields = excluded.fields,
             on_removal = excluded.on_removal",
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
    .bind(crate::text::clean_opt(reason))
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
    .bind(outage.map(|o| crate::text::clean(&o.reason)))
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
    .bind(crate::text::clean(&m.erp_value))
    .bind(crate::text::clean(&m.store_value))
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
