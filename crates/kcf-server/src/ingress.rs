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

/// Which receiver a notification came to.
#[derive(Clone, Copy)]
enum Sender {
    Acumatica,
    BigCommerce,
}

async fn intake(
    state: AppState,
    sender: Sender,
    connector: String,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<IntakeReport>, ApiError> {
    let lookup = header(&headers);
    let engine = &state.engine;
    let report = match sender {
        Sender::Acumatica => engine.intake_push(&connector, &lookup, &body).await,
        Sender::BigCommerce => engine.intake_webhook(&connector, &lookup, &body).await,
    }
    .inspect_err(|e| tracing::info!(%connector, error = %e, "notification refused"))?;
    Ok(Json(report))
}

/// `POST /push/acumatica/{connector}`.
pub async fn push(
    State(state): State<AppState>,
    Path(connector): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<IntakeReport>, ApiError> {
    intake(state, Sender::Acumatica, connector, headers, body).await
}

/// `POST /webhooks/bigcommerce/{connector}`.
pub async fn webhook(
    State(state): State<AppState>,
    Path(connector): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<IntakeReport>, ApiError> {
    intake(state, Sender::BigCommerce, connector, headers, body).await
}
