//! Connectors: their state, real-time start, entity settings, connection settings and their test.

use super::*;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/connectors", get(connectors))
        .route("/connectors/{id}/state", post(set_state))
        .route("/connectors/{id}/realtime", post(start_realtime))
        .route("/connectors/{id}/entities", get(entity_settings))
        .route(
            "/connectors/{id}/entities/{entity}",
            axum::routing::patch(update_entity),
        )
        .route("/connectors/{id}/test", post(test_connection))
        .route(
            "/connectors/{id}/connection",
            axum::routing::patch(update_connection),
        )
}

/// A connector as the API shows it.
#[derive(Debug, Serialize)]
pub(super) struct ConnectorView {
    id: ConnectorId,
    name: String,
    state: ConnectorState,
    paused_until: Option<Timestamp>,
    pause_reason: Option<String>,
    configured: bool,
    rate_limit: Option<serde_json::Value>,
    outage: Option<kcf_domain::Outage>,
}

pub(super) async fn connectors(
    State(state): State<AppState>,
) -> Result<Json<Vec<ConnectorView>>, ApiError> {
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
pub(super) struct StateBody {
    state: ConnectorState,
}

pub(super) async fn set_state(
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
pub(super) struct RealtimeBody {
    /// The public URL of this server's store-webhook receiver (`/webhooks/…/{id}`).
    webhook_url: String,
}

pub(super) async fn start_realtime(
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

pub(super) async fn entity_settings(
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
pub(super) struct EntityPatch {
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
    /// What a deletion in the ERP does in the store (keep, hide, delete).
    on_removal: Option<Removal>,
}

pub(super) async fn update_entity(
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
        let known = entity.info().toggles;
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
    if let Some(v) = patch.on_removal {
        let choices = entity.info().removals;
        if !choices.contains(&v) {
            return Err(ApiError::bad_request(if choices.is_empty() {
                format!("{entity} has no removal setting: a deletion in the ERP is only recorded")
            } else {
                let names: Vec<&str> = choices.iter().map(|c| c.as_str()).collect();
                format!(
                    "on_removal of {entity} must be one of: {}",
                    names.join(", ")
                )
            }));
        }
        settings.on_removal = Some(v);
    }
    state.engine.store.put_entity_settings(&settings).await?;
    Ok(Json(settings))
}

pub(super) async fn test_connection(
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

/// Changes the connection settings; the connector restarts with them and they are stored
/// encrypted.
pub(super) async fn update_connection(
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
