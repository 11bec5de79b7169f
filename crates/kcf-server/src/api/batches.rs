//! Batch runs: list a window, see a run, process its records.

use super::*;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/batches", post(prepare_batch))
        .route("/batches/{id}", get(batch))
        .route("/batches/{id}/process", post(process_batch))
}

/// A batch window to list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BatchBody {
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

pub(super) async fn prepare_batch(
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
pub(super) struct BatchView {
    run: BatchRun,
    counts: Vec<StatusCount>,
    progress: kcf_engine::batch::RunProgress,
}

pub(super) async fn batch_view(state: &AppState, run: BatchRun) -> Result<BatchView, ApiError> {
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

pub(super) async fn batch(
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
pub(super) struct ProcessBody {
    #[serde(default)]
    all: bool,
    #[serde(default)]
    ids: Vec<i64>,
}

pub(super) async fn process_batch(
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
