//! Mappings and bindings: what a connector's values and records are linked to.

use super::*;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/connectors/{id}/mappings", get(mappings).put(put_mapping))
        .route(
            "/connectors/{id}/bindings/{entity}",
            get(bindings).post(import_bindings),
        )
        .route(
            "/connectors/{id}/bindings/{entity}/{erp_key}",
            axum::routing::delete(unbind),
        )
}

#[derive(Debug, Deserialize)]
pub(super) struct KindQuery {
    kind: Option<String>,
}

pub(super) async fn mappings(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<KindQuery>,
) -> Result<Json<Vec<Mapping>>, ApiError> {
    let id = connector_id(&id)?;
    let kind = q
        .kind
        .map(|k| {
            k.parse::<MappingKind>()
                .map_err(|e| ApiError::bad_request(e.to_string()))
        })
        .transpose()?;
    Ok(Json(state.engine.store.mappings(&id, kind).await?))
}

/// A mapping to set; an empty `store_value` removes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MappingBody {
    kind: MappingKind,
    erp_value: String,
    store_value: String,
}

pub(super) async fn put_mapping(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<MappingBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = connector_id(&id)?;
    if state.engine.store.connector(&id).await?.is_none() {
        return Err(ApiError::not_found(format!("there is no connector '{id}'")));
    }
    if body.erp_value.trim().is_empty() {
        return Err(ApiError::bad_request("erp_value must not be empty"));
    }
    if body.store_value.trim().is_empty() {
        let removed = state
            .engine
            .store
            .delete_mapping(&id, body.kind, &body.erp_value)
            .await?;
        return Ok(Json(serde_json::json!({ "removed": removed })));
    }
    let m = state
        .engine
        .set_mapping(Mapping {
            connector: id,
            kind: body.kind,
            erp_value: body.erp_value,
            store_value: body.store_value,
        })
        .await?;
    Ok(Json(serde_json::to_value(&m).unwrap_or_default()))
}

#[derive(Debug, Deserialize)]
pub(super) struct BindingQuery {
    q: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
}

pub(super) async fn bindings(
    State(state): State<AppState>,
    Path((id, entity)): Path<(String, String)>,
    Query(q): Query<BindingQuery>,
) -> Result<Json<Vec<Binding>>, ApiError> {
    let id = connector_id(&id)?;
    let entity: Entity = entity
        .parse()
        .map_err(|e: kcf_domain::UnknownName| ApiError::bad_request(e.to_string()))?;
    let text = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    Ok(Json(
        state
            .engine
            .store
            .bindings(
                &id,
                entity,
                text,
                q.after.as_deref(),
                q.limit.unwrap_or(100).clamp(1, 1000),
            )
            .await?,
    ))
}

/// Bindings to import: CSV text (`erp_key,external_id`, header optional).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ImportBody {
    csv: String,
}

pub(super) async fn import_bindings(
    State(state): State<AppState>,
    Path((id, entity)): Path<(String, String)>,
    Json(body): Json<ImportBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = connector_id(&id)?;
    let entity: Entity = entity
        .parse()
        .map_err(|e: kcf_domain::UnknownName| ApiError::bad_request(e.to_string()))?;
    if state.engine.store.connector(&id).await?.is_none() {
        return Err(ApiError::not_found(format!("there is no connector '{id}'")));
    }
    let rows = kcf_engine::bindings::parse_csv(&body.csv).map_err(ApiError::bad_request)?;
    let report = state.engine.import_bindings(&id, entity, rows).await?;
    let rows = |list: &[(String, String)]| -> Vec<serde_json::Value> {
        list.iter()
            .map(|(erp_key, error)| serde_json::json!({ "erp_key": erp_key, "error": error }))
            .collect()
    };
    Ok(Json(serde_json::json!({
        "imported": report.imported,
        "refused": rows(&report.refused),
        "unchecked": rows(&report.unchecked),
    })))
}

/// Unlinks a record from its counterpart: the next sync of the record looks it up again.
pub(super) async fn unbind(
    State(state): State<AppState>,
    Path((id, entity, erp_key)): Path<(String, String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = connector_id(&id)?;
    let entity: Entity = entity
        .parse()
        .map_err(|e: kcf_domain::UnknownName| ApiError::bad_request(e.to_string()))?;
    if state.engine.unbind(&id, entity, &erp_key).await? {
        Ok(Json(
            serde_json::json!({ "unbound": true, "entity": entity, "erp_key": erp_key }),
        ))
    } else {
        Err(ApiError::not_found(format!(
            "{entity} {erp_key} is not linked in connector {id}"
        )))
    }
}
