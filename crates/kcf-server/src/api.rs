//! The REST API under `/api/v1` (bearer tokens): messages, manual actions, batch runs,
//! connectors. The `kcf batch` and `kcf messages` commands use it.

use axum::{
    Extension, Json, Router,
    extract::{Path, Query, State},
    middleware,
    routing::{get, post},
};
use kcf_domain::{
    ApiToken, BatchMode, BatchRun, Binding, ConnectorId, ConnectorState, Entity, EntitySettings,
    HistoryEntry, ManualAction, Mapping, MappingKind, Message, MessageId, MessageStatus, Mode,
    SentDocument, SyncDirection, Timestamp, Transition,
};
use kcf_engine::{BatchRequest, Engine};
use kcf_store::{ActionReport, MessageFilter, Page, PageRequest, StatusCount};
use serde::{Deserialize, Serialize};

use crate::{
    AppState,
    auth::{self, Principal},
    error::ApiError,
};

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/connectors", get(connectors))
        .route("/connectors/{id}/state", post(set_state))
        .route("/connectors/{id}/realtime", post(start_realtime))
        .route("/connectors/{id}/entities", get(entity_settings))
        .route(
            "/connectors/{id}/entities/{entity}",
            axum::routing::patch(update_entity),
        )
        .route("/messages", get(list_messages))
        .route("/messages/counts", get(counts))
        .route("/messages/actions", post(act))
        .route("/messages/{id}", get(message))
        .route("/messages/{id}/set-processed", post(set_processed_api))
        .route("/messages/{id}/resync", post(resync_api))
        .route("/connectors/{id}/test", post(test_connection))
        .route(
            "/connectors/{id}/connection",
            axum::routing::patch(update_connection),
        )
        .route("/connectors/{id}/mappings", get(mappings).put(put_mapping))
        .route(
            "/connectors/{id}/bindings/{entity}",
            get(bindings).post(import_bindings),
        )
        .route(
            "/connectors/{id}/bindings/{entity}/{erp_key}",
            axum::routing::delete(unbind),
        )
        .route("/tokens", get(list_tokens).post(new_token))
        .route("/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/batches", post(prepare_batch))
        .route("/batches/{id}", get(batch))
        .route("/batches/{id}/process", post(process_batch))
        .route(
            "/openapi.json",
            get(|| async { Json(crate::openapi::document()) }),
        )
        .layer(middleware::from_fn_with_state(state, crate::auth::api))
}

fn connector_id(s: &str) -> Result<ConnectorId, ApiError> {
    ConnectorId::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// A connector as the API shows it.
#[derive(Debug, Serialize)]
struct ConnectorView {
    id: ConnectorId,
    name: String,
    state: ConnectorState,
    paused_until: Option<Timestamp>,
    pause_reason: Option<String>,
    configured: bool,
    rate_limit: Option<serde_json::Value>,
    outage: Option<kcf_domain::Outage>,
}

async fn connectors(State(state): State<AppState>) -> Result<Json<Vec<ConnectorView>>, ApiError> {
    let mut out = Vec::new();
    for c in state.engine.store.connectors().await? {
        let runtime = state.engine.runtime(&c.id);
        out.push(ConnectorView {
            rate_limit: runtime
                .as_ref()
                .map(|r| serde_json::json!(r.store.budget())),
            configured: runtime.is_some(),
            id: c.id,
            name: c.name,
            state: c.state,
            paused_until: c.paused_until,
            pause_reason: c.pause_reason,
            outage: c.outage,
        });
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateBody {
    state: ConnectorState,
}

async fn set_state(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<StateBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = connector_id(&id)?;
    state.engine.change_state(&id, body.state).await?;
    Ok(Json(serde_json::json!({ "id": id, "state": body.state })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RealtimeBody {
    /// The public URL of this server's store-webhook receiver (`/webhooks/…/{id}`).
    webhook_url: String,
}

async fn start_realtime(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<RealtimeBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = connector_id(&id)?;
    if !(body.webhook_url.starts_with("http://") || body.webhook_url.starts_with("https://")) {
        return Err(ApiError::bad_request("webhook_url must be an http(s) URL"));
    }
    let hooks = state.engine.start_realtime(&id, &body.webhook_url).await?;
    Ok(Json(serde_json::json!({ "id": id, "hooks": hooks })))
}

async fn entity_settings(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<EntitySettings>>, ApiError> {
    let id = connector_id(&id)?;
    if state.engine.store.connector(&id).await?.is_none() {
        return Err(ApiError::not_found(format!("there is no connector '{id}'")));
    }
    Ok(Json(state.engine.store.entity_settings(&id).await?))
}

/// A change to one entity's settings; absent fields stay as they are.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntityPatch {
    active: Option<bool>,
    direction: Option<SyncDirection>,
    realtime: Option<bool>,
    auto_process: Option<bool>,
    paused: Option<bool>,
    /// A cron expression; empty to remove the schedule.
    schedule: Option<String>,
    max_attempts: Option<u32>,
    /// Field toggles to set (field → syncs or not); other fields stay.
    fields: Option<std::collections::BTreeMap<String, bool>>,
}

async fn update_entity(
    State(state): State<AppState>,
    Path((id, entity)): Path<(String, String)>,
    Json(patch): Json<EntityPatch>,
) -> Result<Json<EntitySettings>, ApiError> {
    let id = connector_id(&id)?;
    let entity: Entity = entity
        .parse()
        .map_err(|e: kcf_domain::UnknownName| ApiError::bad_request(e.to_string()))?;
    let mut settings = state
        .engine
        .store
        .entity_settings(&id)
        .await?
        .into_iter()
        .find(|s| s.entity == entity)
        .ok_or_else(|| ApiError::not_found(format!("there is no connector '{id}'")))?;
    if let Some(v) = patch.active {
        settings.active = v;
    }
    if let Some(v) = patch.direction {
        settings.direction = v;
    }
    if let Some(v) = patch.realtime {
        settings.realtime = v;
    }
    if let Some(v) = patch.auto_process {
        settings.auto_process = v;
    }
    if let Some(v) = patch.paused {
        settings.paused = v;
    }
    if let Some(v) = patch.schedule {
        let v = v.trim().to_owned();
        if v.is_empty() {
            settings.schedule = None;
        } else {
            kcf_engine::schedule::check_schedule(&v).map_err(ApiError::bad_request)?;
            settings.schedule = Some(v);
        }
    }
    if let Some(v) = patch.max_attempts {
        if !(1..=100).contains(&v) {
            return Err(ApiError::bad_request(
                "max_attempts must be between 1 and 100",
            ));
        }
        settings.max_attempts = v;
    }
    if let Some(fields) = patch.fields {
        let known: &[&str] = match entity {
            Entity::Product => kcf_engine::processors::product::FIELDS,
            _ => &[],
        };
        for (field, on) in fields {
            if !known.contains(&field.as_str()) {
                return Err(ApiError::bad_request(if known.is_empty() {
                    format!("{entity} has no field toggles yet")
                } else {
                    format!(
                        "unknown {entity} field '{field}'; known: {}",
                        known.join(", ")
                    )
                }));
            }
            settings.fields.insert(field, on);
        }
    }
    state.engine.store.put_entity_settings(&settings).await?;
    Ok(Json(settings))
}

/// Filters for message lists; comma-separated statuses.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
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

async fn list_messages(
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

async fn counts(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<StatusCount>>, ApiError> {
    Ok(Json(
        state.engine.store.count_by_status(&q.filter()?).await?,
    ))
}

#[derive(Debug, Serialize)]
struct MessageDetail {
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

async fn message(
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

pub(crate) async fn message_or_404(state: &AppState, id: i64) -> Result<Message, ApiError> {
    state
        .engine
        .store
        .message(MessageId(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no message {id}")))
}

/// The body of Set as Processed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetProcessedBody {
    /// The store's id for the record (product id, order id, …).
    external_id: String,
}

async fn set_processed_api(
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

async fn resync_api(
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
struct ActBody {
    /// `process`, `retry` or `skip`.
    action: String,
    ids: Vec<i64>,
    #[serde(default)]
    reason: Option<String>,
}

async fn act(
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

/// A batch window to list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    connector: String,
    entity: Entity,
    /// Start, inclusive: RFC 3339 or a date (`2026-11-01`, UTC midnight).
    from: Option<String>,
    /// End: a date is inclusive (its whole day); a time is the exact end, exclusive; default
    /// now.
    to: Option<String>,
    #[serde(default)]
    mode: Option<BatchMode>,
}

/// Parses `2026-11-01`, `2026-11-01T10:00:00Z` or epoch milliseconds.
pub fn parse_when(s: &str) -> Result<Timestamp, String> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(Timestamp(ms));
    }
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(Timestamp(t.as_millisecond()));
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return jiff::tz::Offset::UTC
            .to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
            .map(|t| Timestamp(t.as_millisecond()))
            .map_err(|e| e.to_string());
    }
    Err(format!(
        "'{s}' is not a date; use 2026-11-01, 2026-11-01T10:00:00Z or epoch milliseconds"
    ))
}

/// The end of a window: a date covers its whole day (the To date is inclusive, as on the
/// Batch Processes screen and in the CLI); a time or epoch milliseconds is the exact end,
/// exclusive.
pub fn parse_window_end(s: &str) -> Result<Timestamp, String> {
    let t = parse_when(s)?;
    Ok(if s.trim().parse::<jiff::civil::Date>().is_ok() {
        Timestamp(t.0 + 86_400_000)
    } else {
        t
    })
}

async fn prepare_batch(
    State(state): State<AppState>,
    Json(body): Json<BatchBody>,
) -> Result<Json<BatchView>, ApiError> {
    let mode = body.mode.unwrap_or(BatchMode::ByDate);
    let from = match (&body.from, mode) {
        (Some(f), _) => parse_when(f).map_err(ApiError::bad_request)?,
        (None, BatchMode::Full) => Timestamp(0),
        (None, _) => return Err(ApiError::bad_request("from is required (or mode full)")),
    };
    let to = match &body.to {
        Some(t) => parse_window_end(t).map_err(ApiError::bad_request)?,
        None => Timestamp::now(),
    };
    let run = state
        .engine
        .prepare_batch(BatchRequest {
            connector: connector_id(&body.connector)?,
            entity: body.entity,
            mode,
            from,
            to,
        })
        .await?;
    Ok(Json(batch_view(&state, run).await?))
}

/// A batch run with its messages' counts and where it stands.
#[derive(Debug, Serialize)]
struct BatchView {
    run: BatchRun,
    counts: Vec<StatusCount>,
    progress: kcf_engine::batch::RunProgress,
}

async fn batch_view(state: &AppState, run: BatchRun) -> Result<BatchView, ApiError> {
    let counts = state
        .engine
        .store
        .count_by_status(&MessageFilter {
            batch_run: Some(run.id),
            ..MessageFilter::default()
        })
        .await?;
    let progress = state.engine.run_progress(&run).await?;
    Ok(BatchView {
        run,
        counts,
        progress,
    })
}

async fn batch(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<BatchView>, ApiError> {
    let run = state
        .engine
        .store
        .batch_run(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no batch run {id}")))?;
    Ok(Json(batch_view(&state, run).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcessBody {
    #[serde(default)]
    all: bool,
    #[serde(default)]
    ids: Vec<i64>,
}

async fn process_batch(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Path(id): Path<i64>,
    Json(body): Json<ProcessBody>,
) -> Result<Json<ActionReport>, ApiError> {
    let ids = match (body.all, body.ids.is_empty()) {
        (true, true) => None,
        (false, false) => Some(body.ids.into_iter().map(MessageId).collect()),
        _ => {
            return Err(ApiError::bad_request(
                "give either all: true or a list of ids",
            ));
        }
    };
    Ok(Json(
        state.engine.process_batch(id, ids, &me.actor()).await?,
    ))
}

async fn test_connection(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = connector_id(&id)?;
    let conn = running(&state, &id)?;
    let change = ConnectionChange::parse(&body).map_err(ApiError::bad_request)?;
    let answers = if change.is_empty() {
        Engine::test_connection(&conn).await
    } else {
        let spec = change
            .apply(conn.spec.clone())
            .map_err(ApiError::bad_request)?;
        Engine::test_unsaved(spec).await?
    };
    let mut report = serde_json::Map::new();
    report.insert("ok".into(), answers.ok().into());
    for (platform, answer) in [answers.erp, answers.store] {
        report.insert(
            platform.as_str().into(),
            answer.unwrap_or_else(|| "ok".into()).into(),
        );
    }
    Ok(Json(serde_json::Value::Object(report)))
}

fn running(
    state: &AppState,
    id: &ConnectorId,
) -> Result<std::sync::Arc<kcf_engine::ConnectorRuntime>, ApiError> {
    state
        .engine
        .runtime(id)
        .ok_or_else(|| ApiError::not_found(format!("connector '{id}' is not running here")))
}

pub(crate) use kcf_engine::ConnectionChange;

/// Changes the connection settings; the connector restarts with them and they are stored
/// encrypted.
async fn update_connection(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = connector_id(&id)?;
    let conn = running(&state, &id)?;
    let change = ConnectionChange::parse(&body).map_err(ApiError::bad_request)?;
    let spec = change
        .apply(conn.spec.clone())
        .map_err(ApiError::bad_request)?;
    state.engine.add_connector(spec).await?;
    Ok(Json(serde_json::json!({ "saved": true })))
}

#[derive(Debug, Deserialize)]
struct KindQuery {
    kind: Option<String>,
}

async fn mappings(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<KindQuery>,
) -> Result<Json<Vec<Mapping>>, ApiError> {
    let id = connector_id(&id)?;
    let kind = q
        .kind
        .map(|k| {
            k.parse::<MappingKind>()
                .map_err(|e| ApiError::bad_request(e.to_string()))
        })
        .transpose()?;
    Ok(Json(state.engine.store.mappings(&id, kind).await?))
}

/// A mapping to set; an empty `store_value` removes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingBody {
    kind: MappingKind,
    erp_value: String,
    store_value: String,
}

async fn put_mapping(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<MappingBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = connector_id(&id)?;
    if state.engine.store.connector(&id).await?.is_none() {
        return Err(ApiError::not_found(format!("there is no connector '{id}'")));
    }
    if body.erp_value.trim().is_empty() {
        return Err(ApiError::bad_request("erp_value must not be empty"));
    }
    if body.store_value.trim().is_empty() {
        let removed = state
            .engine
            .store
            .delete_mapping(&id, body.kind, &body.erp_value)
            .await?;
        return Ok(Json(serde_json::json!({ "removed": removed })));
    }
    let m = state
        .engine
        .set_mapping(Mapping {
            connector: id,
            kind: body.kind,
            erp_value: body.erp_value,
            store_value: body.store_value,
        })
        .await?;
    Ok(Json(serde_json::to_value(&m).unwrap_or_default()))
}

#[derive(Debug, Deserialize)]
struct BindingQuery {
    q: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
}

async fn bindings(
    State(state): State<AppState>,
    Path((id, entity)): Path<(String, String)>,
    Query(q): Query<BindingQuery>,
) -> Result<Json<Vec<Binding>>, ApiError> {
    let id = connector_id(&id)?;
    let entity: Entity = entity
        .parse()
        .map_err(|e: kcf_domain::UnknownName| ApiError::bad_request(e.to_string()))?;
    let text = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    Ok(Json(
        state
            .engine
            .store
            .bindings(
                &id,
                entity,
                text,
                q.after.as_deref(),
                q.limit.unwrap_or(100).clamp(1, 1000),
            )
            .await?,
    ))
}

/// Bindings to import: CSV text (`erp_key,external_id`, header optional).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportBody {
    csv: String,
}

async fn import_bindings(
    State(state): State<AppState>,
    Path((id, entity)): Path<(String, String)>,
    Json(body): Json<ImportBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = connector_id(&id)?;
    let entity: Entity = entity
        .parse()
        .map_err(|e: kcf_domain::UnknownName| ApiError::bad_request(e.to_string()))?;
    if state.engine.store.connector(&id).await?.is_none() {
        return Err(ApiError::not_found(format!("there is no connector '{id}'")));
    }
    let rows = crate::ui::parse_bindings_csv(&body.csv).map_err(ApiError::bad_request)?;
    let report = state.engine.import_bindings(&id, entity, rows).await?;
    let rows = |list: &[(String, String)]| -> Vec<serde_json::Value> {
        list.iter()
            .map(|(erp_key, error)| serde_json::json!({ "erp_key": erp_key, "error": error }))
            .collect()
    };
    Ok(Json(serde_json::json!({
        "imported": report.imported,
        "refused": rows(&report.refused),
        "unchecked": rows(&report.unchecked),
    })))
}

/// Unlinks a record from its counterpart: the next sync of the record looks it up again.
async fn unbind(
    State(state): State<AppState>,
    Path((id, entity, erp_key)): Path<(String, String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = connector_id(&id)?;
    let entity: Entity = entity
        .parse()
        .map_err(|e: kcf_domain::UnknownName| ApiError::bad_request(e.to_string()))?;
    if state.engine.unbind(&id, entity, &erp_key).await? {
        Ok(Json(
            serde_json::json!({ "unbound": true, "entity": entity, "erp_key": erp_key }),
        ))
    } else {
        Err(ApiError::not_found(format!(
            "{entity} {erp_key} is not linked in connector {id}"
        )))
    }
}

async fn list_tokens(State(state): State<AppState>) -> Result<Json<Vec<ApiToken>>, ApiError> {
    Ok(Json(state.engine.store.api_tokens().await?))
}

/// A token just created: `token` is shown this once.
#[derive(Debug, Serialize)]
pub(crate) struct NewToken {
    #[serde(flatten)]
    pub info: ApiToken,
    pub token: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    name: String,
}

/// Creates an API token for `me`.
pub(crate) async fn create_token(
    state: &AppState,
    name: &str,
    me: &Principal,
) -> Result<NewToken, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::bad_request("name must be 1 to 100 characters"));
    }
    let token = auth::random_secret("kcf_");
    let info = state
        .engine
        .store
        .create_api_token(name, &auth::hash_secret(&token), &token[..8], me.name())
        .await?;
    Ok(NewToken { info, token })
}

async fn new_token(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Json(body): Json<TokenBody>,
) -> Result<Json<NewToken>, ApiError> {
    Ok(Json(create_token(&state, &body.name, &me).await?))
}

async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !state.engine.store.revoke_api_token(id).await? {
        return Err(ApiError::not_found(format!(
            "there is no active token {id}"
        )));
    }
    Ok(Json(serde_json::json!({ "id": id, "revoked": true })))
}
