// ---------------------------------------------------------------- people

/// Applies one manual transition; `Ok(Err(why))` when the message's status does not allow it.
pub(crate) async fn act_one(
    c: &mut Conn,
    id: MessageId,
    action: &ManualAction,
    now: Timestamp,
) -> Result<Result<(), String>> {
    let sql = format!("SELECT status FROM messages WHERE id = $1 {LOCK_ROW}");
    let Some(current) = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql))
        .bind(id.0)
        .fetch_optional(&mut *c)
        .await?
    else {
        return Ok(Err(format!("message {id} not found")));
    };
    let current: MessageStatus = current.parse()?;
    let next = match current.apply(action.transition) {
        Ok(next) => next,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let (manual, reset) = match action.transition {
        Transition::ProcessNow => (true, true),
        Transition::Retry => (false, true),
        _ => (false, false),
    };
    let done = sqlx::query(
        "UPDATE messages SET status = $2, manual = $3,
             attempts = CASE WHEN $4 THEN 0 ELSE attempts END,
             postponed = CASE WHEN $4 THEN 0 ELSE postponed END,
             crashes = CASE WHEN $4 THEN 0 ELSE crashes END,
             next_attempt_at = CASE WHEN $4 THEN $5 ELSE next_attempt_at END,
             updated_at = $5, transition_seq = transition_seq + 1,
             status_actor = $6, status_reason = $7
         WHERE id = $1 AND status = $8",
    )
    .bind(id.0)
    .bind(next.as_str())
    .bind(manual)
    .bind(reset)
    .bind(now.0)
    .bind(&action.actor)
    .bind(crate::text::clean(action.reason.as_deref().unwrap_or(action.transition.verb())))
    .bind(current.as_str())
    .execute(&mut *c)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(Err(format!("message {id} changed while the action ran; try again")));
    }
    if action.transition == Transition::ProcessNow {
        // Older messages of the same record that are still waiting would hold this one back
        // (per-record order): asking for this one asks for them too, oldest first.
        sqlx::query(
            "UPDATE messages SET manual = $2,
                 next_attempt_at = CASE WHEN next_attempt_at > $3 THEN $3 ELSE next_attempt_at END
             WHERE queue_key = (SELECT queue_key FROM messages WHERE id = $1)
               AND id < $1 AND status IN ('pending', 'failed') AND NOT manual",
        )
        .bind(id.0)
        .bind(true)
        .bind(now.0)
        .execute(&mut *c)
        .await?;
    }
    Ok(Ok(()))
}
