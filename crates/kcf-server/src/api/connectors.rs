//! Connectors: their state, real-time start, entity settings, connection settings and their test.

use super::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(connectors))
        .routes(routes!(set_state))
        .routes(routes!(start_realtime))
        .routes(routes!(entity_settings))
        .routes(routes!(update_entity))
        .routes(routes!(test_connection))
        .routes(routes!(update_connection))
}

/// A connector as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ConnectorView {
    id: ConnectorId,
    name: String,
    state: ConnectorState,
    /// Until when it sends nothing to the store (a rate limit or an outage).
    paused_until: Option<Timestamp>,
    /// Why, in words.
    pause_reason: Option<String>,
    /// Whether it runs in this process (its settings are complete).
    configured: bool,
    /// The store's rate-limit budget, when it runs here.
    rate_limit: Option<kcf_platform::Budget>,
    /// Set while the other system is out.
    outage: Option<kcf_domain::Outage>,
}

/// Connectors with their state, pause and rate-limit budget.
#[utoipa::path(get, path = "/connectors", tag = "connectors",
    responses((status = 200, description = "Every connector", body = Vec<ConnectorView>)))]
pub(super) async fn connectors(
    State(state): State<AppState>,
) -> Result<Json<Vec<ConnectorView>>, ApiError> {
    let mut out = Vec::new();
    for c in state.engine.store.connectors().await? {
        let runtime = state.engine.runtime(&c.id);
        out.push(ConnectorView {
            rate_limit: runtime.as_ref().map(|r| r.store.budget()),
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct StateBody {
    state: ConnectorState,
}

/// A connector's new state.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct StateChanged {
    id: ConnectorId,
    state: ConnectorState,
}

/// Pause, resume (running) or stop a connector.
#[utoipa::path(post, path = "/connectors/{id}/state", tag = "connectors", params(ConnectorPath),
    request_body = StateBody,
    responses((status = 200, description = "The state it is in now", body = StateChanged)))]
pub(super) async fn set_state(
    State(state): State<AppState>,
    Path(ConnectorPath { id }): Path<ConnectorPath>,
    Json(body): Json<StateBody>,
) -> Result<Json<StateChanged>, ApiError> {
    let id = connector_id(&id)?;
    state.engine.change_state(&id, body.state).await?;
    Ok(Json(StateChanged {
        id,
        state: body.state,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RealtimeBody {
    /// The public URL of this server's store-webhook receiver (`/webhooks/…/{id}`).
    #[schema(pattern = "^https?://[^\\u0000-\\u0020\\u007f]+$", max_length = 2048)]
    webhook_url: String,
}

/// The store's webhooks, registered.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct RealtimeStarted {
    id: ConnectorId,
    /// How many subscriptions the store holds for kcf.
    hooks: usize,
}

/// Start real-time: register the store's webhooks (idempotent).
#[utoipa::path(post, path = "/connectors/{id}/realtime", tag = "connectors", params(ConnectorPath),
    request_body = RealtimeBody,
    responses((status = 200, description = "The webhooks are registered", body = RealtimeStarted),
        (status = 502, description = "The store did not answer, or refused", body = crate::error::ErrorBody)))]
pub(super) async fn start_realtime(
    State(state): State<AppState>,
    Path(ConnectorPath { id }): Path<ConnectorPath>,
    Json(body): Json<RealtimeBody>,
) -> Result<Json<RealtimeStarted>, ApiError> {
    let id = connector_id(&id)?;
    let url = body.webhook_url.as_str();
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    if url.chars().count() > 2048
        || rest.is_none_or(|r| r.is_empty() || r.chars().any(|c| c <= ' ' || c == '\u{7f}'))
    {
        return Err(ApiError::bad_request(
            "webhook_url must be an http(s) URL of at most 2,048 characters, without spaces or control characters",
        ));
    }
    let hooks = state.engine.start_realtime(&id, url).await?;
    Ok(Json(RealtimeStarted { id, hooks }))
}

/// Entity settings of a connector.
#[utoipa::path(get, path = "/connectors/{id}/entities", tag = "connectors", params(ConnectorPath),
    responses((status = 200, description = "One per entity", body = Vec<EntitySettings>)))]
pub(super) async fn entity_settings(
    State(state): State<AppState>,
    Path(ConnectorPath { id }): Path<ConnectorPath>,
) -> Result<Json<Vec<EntitySettings>>, ApiError> {
    let id = connector_id(&id)?;
    if state.engine.store.connector(&id).await?.is_none() {
        return Err(ApiError::not_found(format!("there is no connector '{id}'")));
    }
    Ok(Json(state.engine.store.entity_settings(&id).await?))
}

/// A change to one entity's settings; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct EntityPatch {
    active: Option<bool>,
    direction: Option<SyncDirection>,
    realtime: Option<bool>,
    auto_process: Option<bool>,
    paused: Option<bool>,
    /// A cron expression (UTC); empty to remove the schedule.
    schedule: Option<String>,
    #[schema(minimum = 1, maximum = 100)]
    #[serde(default, deserialize_with = "crate::api::integral::option")]
    max_attempts: Option<u32>,
    /// Field toggles to set (field → syncs or not); other fields stay. Which fields an
    /// entity has: `product` name, price, weight, visibility, categories (409 for a field the
    /// entity does not have).
    #[schema(schema_with = field_toggles)]
    fields: Option<std::collections::BTreeMap<String, bool>>,
    /// What a deletion in the ERP does in the store: product and template-item take hide or
    /// delete, category keep, hide or delete; other entities answer 409.
    on_removal: Option<Removal>,
}

/// `fields`: toggles named by any entity's fields.
fn field_toggles() -> utoipa::openapi::Object {
    use utoipa::openapi::{ObjectBuilder, Type, schema::AdditionalProperties};
    let mut names: Vec<&str> = Entity::all()
        .iter()
        .flat_map(|e| e.info().toggles.iter().copied())
        .collect();
    names.sort_unstable();
    names.dedup();
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::Object,
            Type::Null,
        ]))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(names)),
        ))
        .additional_properties(Some(AdditionalProperties::RefOr(
            ObjectBuilder::new().schema_type(Type::Boolean).into(),
        )))
        .build()
}

/// Change one entity's settings (absent fields stay).
#[utoipa::path(patch, path = "/connectors/{id}/entities/{entity}", tag = "connectors", params(EntityPath),
    request_body = EntityPatch,
    responses((status = 200, description = "The settings now", body = EntitySettings),
        (status = 422, description = "A cron expression that names no time, or a field or removal choice this entity does not have", body = crate::error::ErrorBody)))]
pub(super) async fn update_entity(
    State(state): State<AppState>,
    Path(path): Path<EntityPath>,
    Json(patch): Json<EntityPatch>,
) -> Result<Json<EntitySettings>, ApiError> {
    let (id, entity) = path.parse()?;
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
            kcf_engine::schedule::check_schedule(&v).map_err(ApiError::unprocessable)?;
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
                let anywhere = Entity::all()
                    .iter()
                    .any(|e| e.info().toggles.contains(&field.as_str()));
                let refuse = if anywhere {
                    ApiError::unprocessable
                } else {
                    ApiError::bad_request
                };
                return Err(refuse(if known.is_empty() {
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
            return Err(ApiError::unprocessable(if choices.is_empty() {
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

/// What Test Connection found: `ok`, and per system (`acumatica`, `bigcommerce`, …) "ok" or
/// what went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct TestReport {
    /// Both answered.
    ok: bool,
    /// Per system: "ok" or the error.
    #[serde(flatten)]
    answers: std::collections::BTreeMap<String, String>,
}

/// Test Connection: sign in to the ERP and call the store, with the saved settings or, given a
/// body, with those changes (not saved).
#[utoipa::path(post, path = "/connectors/{id}/test", tag = "connectors", params(ConnectorPath),
    request_body(content = Option<ConnectionChange>, description = "changes to try instead of the saved settings; none to test those"),
    responses((status = 200, description = "What each system answered", body = TestReport),
        (status = 422, description = "Changes that do not fit this connector: a new address without its credentials, another store's fields, settings kcf cannot use", body = crate::error::ErrorBody)))]
pub(super) async fn test_connection(
    State(state): State<AppState>,
    Path(ConnectorPath { id }): Path<ConnectorPath>,
    body: axum::body::Bytes,
) -> Result<Json<TestReport>, ApiError> {
    let id = connector_id(&id)?;
    let conn = running(&state, &id)?;
    let change = ConnectionChange::parse(&body).map_err(ApiError::bad_request)?;
    let answers = if change.is_empty() {
        Engine::test_connection(&conn).await
    } else {
        let spec = change
            .apply(conn.spec.clone())
            .map_err(ApiError::unprocessable)?;
        Engine::test_unsaved(spec).await.map_err(settings_refused)?
    };
    Ok(Json(TestReport {
        ok: answers.ok(),
        answers: [answers.erp, answers.store]
            .into_iter()
            .map(|(platform, answer)| {
                (
                    platform.as_str().to_owned(),
                    answer.unwrap_or_else(|| "ok".into()),
                )
            })
            .collect(),
    }))
}

/// Settings kcf cannot run a connector with (a token a header cannot carry, a URL that is no
/// URL) are the request's to fix: 422, whatever the engine calls them.
fn settings_refused(e: kcf_engine::EngineError) -> ApiError {
    match e {
        kcf_engine::EngineError::Invalid(m) | kcf_engine::EngineError::Setup(m) => {
            ApiError::unprocessable(m)
        }
        other => other.into(),
    }
}

/// Connection settings saved.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Saved {
    saved: bool,
}

/// Changes the connection settings; the connector restarts with them and they are stored
/// encrypted.
#[utoipa::path(patch, path = "/connectors/{id}/connection", tag = "connectors", params(ConnectorPath),
    request_body = ConnectionChange,
    responses((status = 200, description = "Saved; the connector runs with them", body = Saved),
        (status = 422, description = "Changes that do not fit this connector: a new address without its credentials, another store's fields, settings kcf cannot use", body = crate::error::ErrorBody)))]
pub(super) async fn update_connection(
    State(state): State<AppState>,
    Path(ConnectorPath { id }): Path<ConnectorPath>,
    body: axum::body::Bytes,
) -> Result<Json<Saved>, ApiError> {
    let id = connector_id(&id)?;
    let conn = running(&state, &id)?;
    if !body.trim_ascii().starts_with(b"{") {
        return Err(ApiError::bad_request(
            "send the changes as a JSON object, such as {\"acumatica_username\": \"admin\"}",
        ));
    }
    let change = ConnectionChange::parse(&body).map_err(ApiError::bad_request)?;
    let spec = change
        .apply(conn.spec.clone())
        .map_err(ApiError::unprocessable)?;
    state
        .engine
        .add_connector(spec)
        .await
        .map_err(settings_refused)?;
    Ok(Json(Saved { saved: true }))
}
