//! Messages: lists, counts, one message with its history, and the manual actions on them.

use super::*;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/messages", get(list_messages))
        .route("/messages/counts", get(counts))
        .route("/messages/actions", post(act))
        .route("/messages/{id}", get(message))
        .route("/messages/{id}/set-processed", post(set_processed_api))
        .route("/messages/{id}/resync", post(resync_api))
}

/// Filters for message lists; comma-separated statuses.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    connector: Option<String>,
    entity: Option<Entity>,
    mode: Option<Mode>,
    status: Option<String>,
    text: Option<String>,
    record_key: Option<String>,
    batch_run: Option<i64>,
    from: Option<i64>,
    to: Option<i64>,
    before: Option<i64>,
    limit: Option<u32>,
}

impl ListQuery {
    fn filter(&self) -> Result<MessageFilter, ApiError> {
        let statuses = match &self.status {
            Some(s) => s
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| p.trim().parse::<MessageStatus>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
            None => Vec::new(),
        };
        Ok(MessageFilter {
            connector: self.connector.as_deref().map(connector_id).transpose()?,
            entity: self.entity,
            mode: self.mode,
            statuses,
            created_from: self.from.map(Timestamp),
            created_to: self.to.map(Timestamp),
            text: self.text.clone().filter(|t| !t.is_empty()),
            batch_run: self.batch_run,
            record_key: self.record_key.clone().filter(|k| !k.is_empty()),
        })
    }
}

pub(super) async fn list_messages(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page<Message>>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > kcf_store::MAX_PAGE {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {}",
            kcf_store::MAX_PAGE
        )));
    }
    let page = PageRequest {
        before: q.before.map(MessageId),
        limit,
    };
    Ok(Json(
        state.engine.store.list_messages(&q.filter()?, page).await?,
    ))
}

pub(super) async fn counts(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<StatusCount>>, ApiError> {
    Ok(Json(
        state.engine.store.count_by_status(&q.filter()?).await?,
    ))
}

#[derive(Debug, Serialize)]
pub(super) struct MessageDetail {
    message: Message,
    history: Vec<HistoryEntry>,
    /// What the record is linked to on the other side, once synced.
    binding: Option<Binding>,
    /// What kcf last sent to the other system for it (the record as mapped), whether the
    /// write worked or not; absent when nothing was sent (unchanged, filtered, not yet run).
    sent: Option<SentDocument>,
    /// Why it has not run yet, or what happens next, in words ("waiting for Process: listed
    /// by batch run #12, not processed", "next attempt at …"); absent once finished.
    waiting: Option<String>,
}

pub(super) async fn message(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<MessageDetail>, ApiError> {
    let message = message_or_404(&state, id).await?;
    let history = state.engine.store.history(MessageId(id)).await?;
    let binding = state.engine.binding_of(&message).await?;
    let sent = state.engine.store.sent(MessageId(id)).await?;
    let waiting = state.engine.why_waiting(&message).await?;
    Ok(Json(MessageDetail {
        message,
        history,
        binding,
        sent,
        waiting,
    }))
}

/// The body of Set as Processed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SetProcessedBody {
    /// The store's id for the record (product id, order id, …).
    external_id: String,
}

pub(super) async fn set_processed_api(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Path(id): Path<i64>,
    Json(body): Json<SetProcessedBody>,
) -> Result<Json<Binding>, ApiError> {
    let m = message_or_404(&state, id).await?;
    Ok(Json(
        state
            .engine
            .set_processed(&m, &body.external_id, &me.actor())
            .await?,
    ))
}

pub(super) async fn resync_api(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let m = message_or_404(&state, id).await?;
    let queued = state.engine.resync(&m, &me.actor()).await?;
    Ok(Json(serde_json::json!({ "id": queued.0 })))
}

/// A manual action on messages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ActBody {
    /// `process`, `retry` or `skip`.
    action: String,
    ids: Vec<i64>,
    #[serde(default)]
    reason: Option<String>,
}

pub(super) async fn act(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Json(body): Json<ActBody>,
) -> Result<Json<ActionReport>, ApiError> {
    let transition = match body.action.as_str() {
        "process" => Transition::ProcessNow,
        "retry" => Transition::Retry,
        "skip" => Transition::Skip,
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown action '{other}'; use process, retry or skip"
            )));
        }
    };
    if body.ids.is_empty() || body.ids.len() > 10_000 {
        return Err(ApiError::bad_request(
            "ids must hold 1 to 10,000 message ids",
        ));
    }
    let ids: Vec<MessageId> = body.ids.into_iter().map(MessageId).collect();
    let action = ManualAction {
        transition,
        actor: me.actor(),
        reason: body.reason,
    };
    Ok(Json(state.engine.store.act(&ids, &action).await?))
}
