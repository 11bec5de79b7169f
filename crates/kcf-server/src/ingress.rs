//! Notification ingress: verify, parse, enqueue (dedup), and only then answer 2xx. A failed
//! commit answers 503 so the sender retries; a bad or unauthenticated notification answers
//! 4xx with the reason and stores nothing.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::HeaderMap,
};
use kcf_engine::IntakeReport;

use crate::{AppState, error::ApiError};

fn header(headers: &HeaderMap) -> impl Fn(&str) -> Option<Vec<u8>> + Sync + '_ {
    move |name: &str| headers.get(name).map(|v| v.as_bytes().to_vec())
}

/// `POST /push/acumatica/{connector}`.
pub async fn push(
    State(state): State<AppState>,
    Path(connector): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<IntakeReport>, ApiError> {
    let lookup = header(&headers);
    let report = state
        .engine
        .intake_push(&connector, &lookup, &body)
        .await
        .inspect_err(|e| tracing::info!(%connector, error = %e, "push notification refused"))?;
    Ok(Json(report))
}

/// `POST /webhooks/bigcommerce/{connector}`.
pub async fn webhook(
    State(state): State<AppState>,
    Path(connector): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<IntakeReport>, ApiError> {
    let lookup = header(&headers);
    let report = state
        .engine
        .intake_webhook(&connector, &lookup, &body)
        .await
        .inspect_err(|e| tracing::info!(%connector, error = %e, "webhook refused"))?;
    Ok(Json(report))
}
