//! Batch runs: list a window, see a run, process its records.

use super::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(prepare_batch))
        .routes(routes!(batch))
        .routes(routes!(process_batch))
}

/// A batch window to list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct BatchBody {
    #[schema(value_type = ConnectorId)]
    connector: String,
    /// One with a batch process.
    #[schema(schema_with = batch_entities)]
    entity: Entity,
    /// Start, inclusive: RFC 3339, a date (`2026-11-01`, UTC midnight) or epoch ms; the
    /// beginning when absent.
    #[schema(schema_with = when)]
    from: Option<String>,
    /// End: a date is inclusive (its whole day); a time is the exact end, exclusive; default
    /// now.
    #[schema(schema_with = when)]
    to: Option<String>,
    #[serde(default)]
    mode: Option<BatchMode>,
}

/// The entities with a batch process.
fn batch_entities() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(
            Entity::all()
                .iter()
                .filter(|e| e.batch_source().is_some())
                .map(|e| e.as_str()),
        ))
        .build()
}

/// `from` and `to`: epoch milliseconds (as a string), an RFC 3339 time or a date.
fn when() -> utoipa::openapi::Schema {
    use utoipa::openapi::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
    let string = || ObjectBuilder::new().schema_type(Type::String);
    OneOfBuilder::new()
        .item(string().pattern(Some("^-?[0-9]{1,15}$")))
        .item(string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))))
        .item(string().format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .build()
        .into()
}

/// List what the source changed in [from, to) as batch messages.
#[utoipa::path(post, path = "/batches", tag = "batches", request_body = BatchBody,
    responses((status = 200, description = "The run, listed", body = BatchView),
        (status = 422, description = "From is not before To, or the window is over 3,660 days (mode full has no limit)", body = crate::error::ErrorBody),
        (status = 502, description = "The source system did not answer the listing, or refused it", body = crate::error::ErrorBody)))]
pub(super) async fn prepare_batch(
    State(state): State<AppState>,
    Json(body): Json<BatchBody>,
) -> Result<Json<BatchView>, ApiError> {
    let mode = body.mode.unwrap_or(BatchMode::ByDate);
    let from = match &body.from {
        Some(f) => parse_when(f).map_err(ApiError::bad_request)?,
        None => Timestamp(0),
    };
    let to = match &body.to {
        Some(t) => parse_window_end(t).map_err(ApiError::bad_request)?,
        None => Timestamp::now(),
    };
    if from >= to {
        return Err(ApiError::unprocessable(
            "the From date must be before the To date",
        ));
    }
    let days = kcf_engine::batch::MAX_WINDOW_DAYS;
    if mode != BatchMode::Full && to.0.saturating_sub(from.0) > days * 86_400_000 {
        return Err(ApiError::unprocessable(format!(
            "a batch window may cover at most {days} days (or use mode full)"
        )));
    }
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
#[derive(Debug, Serialize, ToSchema)]
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

/// A batch run with its messages' counts.
#[utoipa::path(get, path = "/batches/{id}", tag = "batches", params(IdPath),
    responses((status = 200, description = "The run", body = BatchView)))]
pub(super) async fn batch(
    State(state): State<AppState>,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<Json<BatchView>, ApiError> {
    let run = state
        .engine
        .store
        .batch_run(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no batch run {id}")))?;
    Ok(Json(batch_view(&state, run).await?))
}

/// Which of a run's messages to process: `{"all": true}` or `{"ids": [..]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProcessBody {
    all: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::integral::option_list")]
    ids: Option<Vec<i64>>,
}

impl utoipa::PartialSchema for ProcessBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
        let all = ObjectBuilder::new()
            .property(
                "all",
                ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .enum_values(Some([true])),
            )
            .required("all")
            .additional_properties(Some(
                utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
            ))
            .description(Some("all of them"));
        let ids = ObjectBuilder::new()
            .property(
                "ids",
                ArrayBuilder::new()
                    .items(ObjectBuilder::new().schema_type(Type::Integer).format(Some(
                        utoipa::openapi::SchemaFormat::KnownFormat(
                            utoipa::openapi::KnownFormat::Int64,
                        ),
                    )))
                    .min_items(Some(1))
                    .max_items(Some(10_000)),
            )
            .required("ids")
            .additional_properties(Some(
                utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
            ))
            .description(Some("these"));
        OneOfBuilder::new().item(all).item(ids).into()
    }
}
impl ToSchema for ProcessBody {}

/// Process all of a run's messages, or the given ones.
#[utoipa::path(post, path = "/batches/{id}/process", tag = "batches", params(IdPath),
    request_body = ProcessBody,
    responses((status = 200, description = "What changed, and what was left alone with why", body = ActionReport)))]
pub(super) async fn process_batch(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Path(IdPath { id }): Path<IdPath>,
    Json(body): Json<ProcessBody>,
) -> Result<Json<ActionReport>, ApiError> {
    if state.engine.store.batch_run(id).await?.is_none() {
        return Err(ApiError::not_found(format!("there is no batch run {id}")));
    }
    let ids = match body {
        ProcessBody {
            all: Some(true),
            ids: None,
        } => None,
        ProcessBody {
            all: None,
            ids: Some(ids),
        } if (1..=10_000).contains(&ids.len()) => Some(ids.into_iter().map(MessageId).collect()),
        _ => {
            return Err(ApiError::bad_request(
                "give either {\"all\": true} or {\"ids\": [..]} with 1 to 10,000 ids",
            ));
        }
    };
    Ok(Json(
        state.engine.process_batch(id, ids, &me.actor()).await?,
    ))
}
