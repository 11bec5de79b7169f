//! The REST API under `/api/v1` (bearer tokens): messages, manual actions, batch runs,
//! connectors. The `kcf batch` and `kcf messages` commands use it. One module per resource,
//! each with its own router; the shared helpers (ids, the message lookup, dates) are here.

mod batches;
mod connectors;
pub(crate) mod integral;
mod links;
mod messages;
mod tokens;

pub(crate) use tokens::create_token;

use axum::{
    Extension, Json, Router,
    extract::{Path, Query, State},
    middleware,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use kcf_domain::{
    ApiToken, BatchMode, BatchRun, Binding, ConnectorId, ConnectorState, Entity, EntitySettings,
    HistoryEntry, ManualAction, Mapping, MappingKind, Message, MessageId, MessageStatus, Mode,
    Removal, SentDocument, SyncDirection, Timestamp, Transition,
};

use kcf_engine::{BatchRequest, Engine};

use kcf_store::{ActionReport, MessageFilter, Page, PageRequest, StatusCount};

use serde::{Deserialize, Serialize};

use crate::{
    AppState,
    auth::{self, Principal},
    error::ApiError,
};

/// The API's routes with their documentation: the OpenAPI document is generated from these
/// same handlers (`crate::openapi`), so what is served and what is documented cannot differ.
pub fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(connectors::router())
        .merge(messages::router())
        .merge(batches::router())
        .merge(links::router())
        .merge(tokens::router())
        .routes(routes!(openapi_json))
}

/// The API under `/api/v1`, behind the token or session check.
pub fn routes(state: AppState) -> Router<AppState> {
    let (router, _) = documented().split_for_parts();
    router.layer(middleware::from_fn_with_state(state, crate::auth::api))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "api",
    responses((status = 200, description = "The OpenAPI 3.1 document of kcf's HTTP interface", body = Object)))]
async fn openapi_json() -> Json<serde_json::Value> {
    Json(crate::openapi::document())
}

/// A connector id in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct ConnectorPath {
    /// The connector.
    #[param(value_type = ConnectorId)]
    id: String,
}

/// A connector and an entity in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct EntityPath {
    /// The connector.
    #[param(value_type = ConnectorId)]
    id: String,
    /// The entity.
    #[param(value_type = Entity)]
    entity: String,
}

impl EntityPath {
    fn parse(&self) -> Result<(ConnectorId, Entity), ApiError> {
        let entity = self
            .entity
            .parse()
            .map_err(|e: kcf_domain::UnknownName| ApiError::bad_request(e.to_string()))?;
        Ok((connector_id(&self.id)?, entity))
    }
}

/// A numeric id in a path (a message, a batch run, a token).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct IdPath {
    /// The id.
    id: i64,
}

fn connector_id(s: &str) -> Result<ConnectorId, ApiError> {
    ConnectorId::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))
}

pub(crate) async fn message_or_404(state: &AppState, id: i64) -> Result<Message, ApiError> {
    state
        .engine
        .store
        .message(MessageId(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no message {id}")))
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
