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

pub(crate) async fn add_user(c: &mut Conn, username: &str, hash: &str, now: Timestamp) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO users (username, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (username) DO NOTHING",
    )
    .bind(username)
    .bind(hash)
    .bind(now.0)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
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
    .bind(crate::text::clean(name))
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
    .bind(crate::text::clean(name))
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

// ---------------------------------------------------------------- sign-in failures

pub(crate) async fn sign_in_failures(
    c: &mut Conn,
    username: &str,
    client: &str,
    window_start: Timestamp,
) -> Result<(u32, Timestamp)> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT failures, since FROM sign_in_failures
         WHERE username = $1 AND client = $2 AND since >= $3",
    )
    .bind(username)
    .bind(client)
    .bind(window_start.0)
    .fetch_optional(&mut *c)
    .await?;
    Ok(row.map_or((0, Timestamp(0)), |(n, since)| (u32::try_from(n).unwrap_or(u32::MAX), Timestamp(since))))
}

pub(crate) async fn count_sign_in_failure(
    c: &mut Conn,
    username: &str,
    client: &str,
    now: Timestamp,
    window_start: Timestamp,
) -> Result<()> {
    // A count whose window has passed starts again.
    sqlx::query(
        "INSERT INTO sign_in_failures (username, client, failures, since) VALUES ($1, $2, 1, $3)
         ON CONFLICT (username, client) DO UPDATE SET
             failures = CASE WHEN sign_in_failures.since < $4 THEN 1
                             ELSE sign_in_failures.failures + 1 END,
             since = CASE WHEN sign_in_failures.since < $4 THEN $3
                          ELSE sign_in_failures.since END",
    )
    .bind(username)
    .bind(client)
    .bind(now.0)
    .bind(window_start.0)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub(crate) async fn clear_sign_in_failures(c: &mut Conn, username: &str, client: &str, window_start: Timestamp) -> Result<()> {
    sqlx::query("DELETE FROM sign_in_failures WHERE (username = $1 AND client = $2) OR since < $3")
        .bind(username)
        .bind(client)
        .bind(window_start.0)
        .execute(&mut *c)
        .await?;
    Ok(())
}
