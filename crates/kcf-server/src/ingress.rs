//! Notification ingress: verify, parse, enqueue (dedup), and only then answer 2xx. A failed
//! commit answers 503 so the sender retries; a bad or unauthenticated notification answers
//! 4xx with the reason and stores nothing. One route per platform that notifies, at the path
//! the registry gives it (`/push/…/{connector}`, `/webhooks/…/{connector}`).

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::HeaderMap,
    routing::post,
};
use kcf_domain::Platform;
use kcf_engine::IntakeReport;

use crate::{AppState, error::ApiError};

fn header(headers: &HeaderMap) -> impl Fn(&str) -> Option<Vec<u8>> + Sync + '_ {
    move |name: &str| headers.get(name).map(|v| v.as_bytes().to_vec())
}

async fn intake(
    state: AppState,
    platform: Platform,
    connector: String,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<IntakeReport>, ApiError> {
    let lookup = header(&headers);
    crash_point("ingress-before-commit");
    let report = state
        .engine
        .intake(platform, &connector, &lookup, &body)
        .await
        .inspect_err(
            |e| tracing::info!(%connector, %platform, error = %e, "notification refused"),
        )?;
    crash_point("ingress-after-commit");
    Ok(Json(report))
}

/// Where the crash tests have the process die on the ingress path (`KCF_CRASH_AT`, honoured
/// by debug builds only): before the commit, and after it but before the reply. (After the
/// reply, the test kills the process itself once it has the 2xx.)
fn crash_point(point: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if !cfg!(debug_assertions) {
        return;
    }
    if AT
        .get_or_init(|| std::env::var("KCF_CRASH_AT").ok())
        .as_deref()
        == Some(point)
    {
        eprintln!("KCF_CRASH_AT={point}: dying here");
        std::process::abort();
    }
}

/// The receivers, one per platform that notifies.
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for (platform, path) in kcf_engine::registry::ingress_routes() {
        router = router.route(
            &format!("{path}/{{connector}}"),
            post(
                move |State(state): State<AppState>,
                      Path(connector): Path<String>,
                      headers: HeaderMap,
                      body: Bytes| {
                    intake(state, platform, connector, headers, body)
                },
            ),
        );
    }
    router
}
