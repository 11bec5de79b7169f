//! The REST API under `/api/v1` (bearer tokens): messages, manual actions, batch runs,
//! connectors. The `kcf batch` and `kcf messages` commands use it. One module per resource,
//! each with its own router; the shared helpers (ids, the message lookup, dates) are here.

mod batches;
mod connectors;
mod links;
mod messages;
mod tokens;

pub(crate) use tokens::create_token;

use axum::{
    Extension, Json, Router,
    extract::{Path, Query, State},
    middleware,
    routing::{get, post},
};

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

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(connectors::router())
        .merge(messages::router())
        .merge(batches::router())
        .merge(links::router())
        .merge(tokens::router())
        .route(
            "/openapi.json",
            get(|| async { Json(crate::openapi::document()) }),
        )
        .layer(middleware::from_fn_with_state(state, crate::auth::api))
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
