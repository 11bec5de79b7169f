//! Messages: lists, counts, one message with its history, and the manual actions on them.

use super::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_messages))
        .routes(routes!(counts))
        .routes(routes!(act))
        .routes(routes!(message))
        .routes(routes!(set_processed_api))
        .routes(routes!(resync_api))
}

/// Filters for message lists.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// Only this connector's.
    #[param(value_type = Option<ConnectorId>)]
    connector: Option<String>,
    /// Only this entity's.
    entity: Option<Entity>,
    /// Only real-time, batch or manual ones.
    mode: Option<Mode>,
    /// Statuses, comma-separated (`failed,aborted`); empty for all.
    #[param(
        pattern = "^ *$|^ *(pending|processing|processed|failed|aborted|skipped|filtered|invalid|deleted) *(, *(pending|processing|processed|failed|aborted|skipped|filtered|invalid|deleted) *)*$"
    )]
    status: Option<String>,
    /// Words in the description, key or payload.
    text: Option<String>,
    /// Exactly this record key.
    record_key: Option<String>,
    /// Only those a batch run listed.
    batch_run: Option<i64>,
    /// Created at or after (epoch ms).
    from: Option<i64>,
    /// Created before (epoch ms).
    to: Option<i64>,
    /// The previous page's `next`.
    before: Option<i64>,
    /// Page size.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// Filters for message counts: a list's, without its paging.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct CountQuery {
    /// Only this connector's.
    #[param(value_type = Option<ConnectorId>)]
    connector: Option<String>,
    /// Only this entity's.
    entity: Option<Entity>,
    /// Only real-time, batch or manual ones.
    mode: Option<Mode>,
    /// Statuses, comma-separated (`failed,aborted`); empty for all.
    #[param(
        pattern = "^ *$|^ *(pending|processing|processed|failed|aborted|skipped|filtered|invalid|deleted) *(, *(pending|processing|processed|failed|aborted|skipped|filtered|invalid|deleted) *)*$"
    )]
    status: Option<String>,
    /// Words in the description, key or payload.
    text: Option<String>,
    /// Exactly this record key.
    record_key: Option<String>,
    /// Only those a batch run listed.
    batch_run: Option<i64>,
    /// Created at or after (epoch ms).
    from: Option<i64>,
    /// Created before (epoch ms).
    to: Option<i64>,
}

impl From<CountQuery> for ListQuery {
    fn from(q: CountQuery) -> Self {
        let CountQuery {
            connector,
            entity,
            mode,
            status,
            text,
            record_key,
            batch_run,
            from,
            to,
        } = q;
        Self {
            connector,
            entity,
            mode,
            status,
            text,
            record_key,
            batch_run,
            from,
            to,
            before: None,
            limit: None,
        }
    }
}

/// What `status` takes: status names separated by commas, spaces around them allowed (the
/// parameter's pattern, written out for the derive; a test holds the two together).
#[cfg(test)]
fn status_list_pattern() -> String {
    let one = MessageStatus::all()
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join("|");
    format!("^ *$|^ *({one}) *(, *({one}) *)*$")
}

impl ListQuery {
    fn filter(&self) -> Result<MessageFilter, ApiError> {
        let statuses = match self.status.as_deref().map(|s| s.trim_matches(' ')) {
            Some(s) if !s.is_empty() => s
                .split(',')
                .map(|p| p.trim_matches(' ').parse::<MessageStatus>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
            _ => Vec::new(),
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

/// A page of messages, newest first.
#[utoipa::path(get, path = "/messages", tag = "messages", params(ListQuery),
    responses((status = 200, description = "A page; pass `next` as `before` for the next one", body = Page<Message>)))]
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

/// Message counts per connector, entity and status.
#[utoipa::path(get, path = "/messages/counts", tag = "messages", params(CountQuery),
    responses((status = 200, description = "The counts", body = Vec<StatusCount>)))]
pub(super) async fn counts(
    State(state): State<AppState>,
    Query(q): Query<CountQuery>,
) -> Result<Json<Vec<StatusCount>>, ApiError> {
    let q = ListQuery::from(q);
    Ok(Json(
        state.engine.store.count_by_status(&q.filter()?).await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
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

/// One message with its history of status changes.
#[utoipa::path(get, path = "/messages/{id}", tag = "messages", params(IdPath),
    responses((status = 200, description = "The message", body = MessageDetail)))]
pub(super) async fn message(
    State(state): State<AppState>,
    Path(IdPath { id }): Path<IdPath>,
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SetProcessedBody {
    /// The other system's id for the record (product id, order number, …).
    /// Not blank, no control characters.
    #[schema(
        max_length = 256,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    external_id: String,
}

/// Set as Processed: the record already exists in the other system as `external_id`;
/// records the binding.
#[utoipa::path(post, path = "/messages/{id}/set-processed", tag = "messages", params(IdPath),
    request_body = SetProcessedBody,
    responses((status = 200, description = "The binding recorded", body = Binding),
        (status = 409, description = "The message's status does not take Set as Processed, or the other system's record is linked to another one", body = crate::error::ErrorBody)))]
pub(super) async fn set_processed_api(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Path(IdPath { id }): Path<IdPath>,
    Json(body): Json<SetProcessedBody>,
) -> Result<Json<Binding>, ApiError> {
    let external_id = &body.external_id;
    if external_id.chars().count() > 256 || external_id.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "external_id takes at most 256 characters, none of them a control character",
        ));
    }
    if external_id.trim().is_empty() {
        return Err(ApiError::bad_request("external_id must not be blank"));
    }
    let m = message_or_404(&state, id).await?;
    Ok(Json(
        state
            .engine
            .set_processed(&m, external_id, &me.actor())
            .await?,
    ))
}

/// A message queued.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Queued {
    /// Its id.
    id: MessageId,
}

/// Resync: queue a new manual message for the same record and payload, processed now.
#[utoipa::path(post, path = "/messages/{id}/resync", tag = "messages", params(IdPath),
    responses((status = 200, description = "The new message's id", body = Queued),
        (status = 409, description = "The record's link is in use by another one", body = crate::error::ErrorBody)))]
pub(super) async fn resync_api(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<Json<Queued>, ApiError> {
    let m = message_or_404(&state, id).await?;
    let id = state.engine.resync(&m, &me.actor()).await?;
    Ok(Json(Queued { id }))
}

/// A manual action on messages.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ActBody {
    /// What to do.
    action: ActionName,
    /// The messages.
    #[schema(min_items = 1, max_items = 10000)]
    #[serde(deserialize_with = "crate::api::integral::list")]
    ids: Vec<i64>,
    /// Why, for the history.
    #[serde(default)]
    reason: Option<String>,
}

/// A manual action's name.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum ActionName {
    /// Process now.
    Process,
    /// Retry a failed or aborted one.
    Retry,
    /// Skip it.
    Skip,
}

/// Process, retry or skip messages.
#[utoipa::path(post, path = "/messages/actions", tag = "messages", request_body = ActBody,
    responses((status = 200, description = "What changed, and what was left alone with why", body = ActionReport)))]
pub(super) async fn act(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Json(body): Json<ActBody>,
) -> Result<Json<ActionReport>, ApiError> {
    let transition = match body.action {
        ActionName::Process => Transition::ProcessNow,
        ActionName::Retry => Transition::Retry,
        ActionName::Skip => Transition::Skip,
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

#[cfg(test)]
mod tests {
    use utoipa::IntoParams;

    #[test]
    fn the_documented_status_pattern_names_every_status() {
        let params = super::ListQuery::into_params(|| None);
        let status = params
            .iter()
            .find(|p| p.name == "status")
            .and_then(|p| serde_json::to_value(&p.schema).ok())
            .unwrap_or_default();
        assert_eq!(
            status["pattern"].as_str(),
            Some(super::status_list_pattern().as_str())
        );
    }
}
