//! Health, readiness and Prometheus metrics.

use axum::{extract::State, http::StatusCode, response::IntoResponse};
use kcf_store::MessageFilter;

use crate::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.engine.store.connectors().await {
        Ok(_) => (StatusCode::OK, "ready".to_owned()),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: kcf's database: {e}"),
        ),
    }
}

/// `GET /metrics`: counters and histograms, plus messages by connector, entity and status
/// read from the store at scrape time (so every process reports the shared queue).
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    if let Ok(counts) = state
        .engine
        .store
        .count_by_status(&MessageFilter::default())
        .await
    {
        for c in counts {
            metrics::gauge!(
                "kcf_messages",
                "connector" => c.connector.to_string(),
                "entity" => c.entity.as_str(),
                "status" => c.status.as_str()
            )
            .set(c.count as f64);
        }
    }
    for conn in state.engine.runtimes() {
        metrics::counter!("kcf_external_requests_total", "connector" => conn.id.to_string(), "platform" => "acumatica")
            .absolute(conn.erp.requests_sent());
        metrics::counter!("kcf_external_requests_total", "connector" => conn.id.to_string(), "platform" => "bigcommerce")
            .absolute(conn.store.requests_sent());
        let limit = conn.store.rate_limit();
        if let Some(left) = limit.remaining {
            metrics::gauge!("kcf_store_rate_limit_remaining", "connector" => conn.id.to_string())
                .set(f64::from(left));
        }
    }
    let body = state
        .metrics
        .as_ref()
        .map(|h| h.render())
        .unwrap_or_default();
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
}
