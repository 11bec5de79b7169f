//! Health, readiness and Prometheus metrics.

use axum::{extract::State, http::StatusCode, response::IntoResponse};
use std::time::Duration;

use kcf_domain::{Entity, MessageStatus, Timestamp};

use crate::AppState;

/// The operations routes with their documentation.
pub fn documented() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// `GET /healthz`: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(),
    responses((status = 200, description = "The process is up", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", security(),
    responses(
        (status = 200, description = "The database answers", body = String, content_type = "text/plain"),
        (status = 503, description = "The database does not answer", body = String, content_type = "text/plain"),
    ))]
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
/// read from the store at scrape time (so every process reports the shared queue):
/// `kcf_messages` counts every message under way or needing a person, and
/// `kcf_messages_done_last_day` the ones processed, skipped, filtered or deleted in the last
/// 24 hours (so a scrape stays fast with millions stored); `kcf_search_index_lag` the
/// messages stored but not yet in the text search index (it is written after them).
#[utoipa::path(get, path = "/metrics", tag = "operations", security(),
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let since = Timestamp::now().minus(Duration::from_secs(86_400));
    if let (Ok(counts), Ok(connectors)) = (
        state.engine.store.overview_counts(since).await,
        state.engine.store.connectors().await,
    ) {
        // Every combination is set, so a count that fell to zero reads zero.
        for c in &connectors {
            for entity in Entity::all() {
                for status in MessageStatus::all() {
                    let n = counts
                        .iter()
                        .find(|n| n.connector == c.id && n.entity == *entity && n.status == *status)
                        .map_or(0, |n| n.count);
                    let name = if status.is_done() {
                        "kcf_messages_done_last_day"
                    } else {
                        "kcf_messages"
                    };
                    metrics::gauge!(
                        name,
                        "connector" => c.id.to_string(),
                        "entity" => entity.as_str(),
                        "status" => status.as_str()
                    )
                    .set(n as f64);
                }
            }
        }
    }
    if let Ok(behind) = state.engine.store.search_lag().await {
        metrics::gauge!("kcf_search_index_lag").set(behind as f64);
    }
    for conn in state.engine.runtimes() {
        metrics::counter!("kcf_external_requests_total", "connector" => conn.id.to_string(), "platform" => conn.erp.platform().as_str())
            .absolute(conn.erp.requests_sent());
        metrics::counter!("kcf_external_requests_total", "connector" => conn.id.to_string(), "platform" => conn.store.platform().as_str())
            .absolute(conn.store.requests_sent());
        let limit = conn.store.budget();
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
