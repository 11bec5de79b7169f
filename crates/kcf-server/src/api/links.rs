//! Mappings and bindings: what a connector's values and records are linked to.

use super::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mappings, put_mapping))
        .routes(routes!(bindings, import_bindings))
        .routes(routes!(unbind))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct KindQuery {
    /// Only this table.
    kind: Option<MappingKind>,
}

/// Value mappings (order status, customer class, payment method, ship via, warehouse).
#[utoipa::path(get, path = "/connectors/{id}/mappings", tag = "links", params(ConnectorPath, KindQuery),
    responses((status = 200, description = "The mappings", body = Vec<Mapping>)))]
pub(super) async fn mappings(
    State(state): State<AppState>,
    Path(ConnectorPath { id }): Path<ConnectorPath>,
    Query(q): Query<KindQuery>,
) -> Result<Json<Vec<Mapping>>, ApiError> {
    let id = connector_id(&id)?;
    Ok(Json(state.engine.store.mappings(&id, q.kind).await?))
}

/// A mapping to set; a blank `store_value` removes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MappingBody {
    kind: MappingKind,
    /// Not blank (Unicode white space), no control characters; one the ERP offers (else 409).
    #[schema(
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$",
        max_length = 200
    )]
    erp_value: String,
    /// Blank to remove the mapping; else one the store offers (else 409).
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    store_value: String,
}

/// What setting a mapping did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub(super) enum MappingSet {
    /// Set.
    Set(Mapping),
    /// A blank store value: removed (false when there was none).
    Removed {
        /// Whether there was one.
        removed: bool,
    },
}

/// Whether `s` is blank: nothing but white space.
fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// Set one mapping; a blank store_value removes it.
#[utoipa::path(put, path = "/connectors/{id}/mappings", tag = "links", params(ConnectorPath),
    request_body = MappingBody,
    responses((status = 200, description = "The mapping set, or whether one was removed", body = MappingSet),
        (status = 409, description = "A value the ERP or the store does not offer (the answer lists those it does)", body = crate::error::ErrorBody),
        (status = 502, description = "The ERP or the store did not answer when asked for its values", body = crate::error::ErrorBody)))]
pub(super) async fn put_mapping(
    State(state): State<AppState>,
    Path(ConnectorPath { id }): Path<ConnectorPath>,
    Json(body): Json<MappingBody>,
) -> Result<Json<MappingSet>, ApiError> {
    let id = connector_id(&id)?;
    if state.engine.store.connector(&id).await?.is_none() {
        return Err(ApiError::not_found(format!("there is no connector '{id}'")));
    }
    if blank(&body.erp_value) {
        return Err(ApiError::bad_request("erp_value must not be blank"));
    }
    for value in [&body.erp_value, &body.store_value] {
        if value.chars().count() > 200 || value.chars().any(char::is_control) {
            return Err(ApiError::bad_request(
                "erp_value and store_value take at most 200 characters, none of them a control character",
            ));
        }
    }
    if blank(&body.store_value) {
        let removed = state
            .engine
            .store
            .delete_mapping(&id, body.kind, &body.erp_value)
            .await?;
        return Ok(Json(MappingSet::Removed { removed }));
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
    Ok(Json(MappingSet::Set(m)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct BindingQuery {
    /// Words in the ERP key or the store id.
    q: Option<String>,
    /// The last ERP key of the previous page.
    after: Option<String>,
    /// Page size.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Sync history: bindings (ERP key ↔ store id), searchable, keyset-paged by ERP key.
#[utoipa::path(get, path = "/connectors/{id}/bindings/{entity}", tag = "links", params(EntityPath, BindingQuery),
    responses((status = 200, description = "A page of bindings", body = Vec<Binding>)))]
pub(super) async fn bindings(
    State(state): State<AppState>,
    Path(path): Path<EntityPath>,
    Query(q): Query<BindingQuery>,
) -> Result<Json<Vec<Binding>>, ApiError> {
    let (id, entity) = path.parse()?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let text = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    Ok(Json(
        state
            .engine
            .store
            .bindings(&id, entity, text, q.after.as_deref(), limit)
            .await?,
    ))
}

/// Bindings to import: CSV text (`erp_key,external_id`, header optional).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ImportBody {
    /// One `erp_key,external_id` row a line; a line that is not one is refused in the report.
    csv: String,
}

/// One row an import refused or could not check.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ImportRow {
    /// The row's ERP key (or `line N` for a line that is not a row).
    erp_key: String,
    /// Why.
    error: String,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ImportView {
    /// Rows linked.
    imported: usize,
    /// Rows refused (a record missing on one side, a link in use, a line that is not a row).
    refused: Vec<ImportRow>,
    /// Rows linked without a check of both records (a system that did not answer).
    unchecked: Vec<ImportRow>,
}

/// Import Entities: bindings from CSV text (`erp_key,external_id`); each row's records are
/// looked up on both sides first.
#[utoipa::path(post, path = "/connectors/{id}/bindings/{entity}", tag = "links", params(EntityPath),
    request_body = ImportBody,
    responses((status = 200, description = "What was linked, refused and left unchecked", body = ImportView)))]
pub(super) async fn import_bindings(
    State(state): State<AppState>,
    Path(path): Path<EntityPath>,
    Json(body): Json<ImportBody>,
) -> Result<Json<ImportView>, ApiError> {
    let (id, entity) = path.parse()?;
    if state.engine.store.connector(&id).await?.is_none() {
        return Err(ApiError::not_found(format!("there is no connector '{id}'")));
    }
    let (rows, unreadable) = kcf_engine::bindings::read_csv(&body.csv);
    let report = state.engine.import_bindings(&id, entity, rows).await?;
    let rows = |list: Vec<(String, String)>| -> Vec<ImportRow> {
        list.into_iter()
            .map(|(erp_key, error)| ImportRow { erp_key, error })
            .collect()
    };
    Ok(Json(ImportView {
        imported: report.imported,
        refused: rows(unreadable.into_iter().chain(report.refused).collect()),
        unchecked: rows(report.unchecked),
    }))
}

/// A record and what it was linked to.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct BindingPath {
    /// The connector.
    #[param(value_type = ConnectorId)]
    id: String,
    /// The entity.
    #[param(value_type = Entity)]
    entity: String,
    /// The record's ERP key.
    erp_key: String,
}

/// A link forgotten.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Unbound {
    unbound: bool,
    entity: Entity,
    erp_key: String,
}

/// Unbind: forget a record's link; its next sync looks its counterpart up again (404 when not
/// linked).
#[utoipa::path(delete, path = "/connectors/{id}/bindings/{entity}/{erp_key}", tag = "links", params(BindingPath),
    responses((status = 200, description = "Forgotten", body = Unbound)))]
pub(super) async fn unbind(
    State(state): State<AppState>,
    Path(BindingPath {
        id,
        entity,
        erp_key,
    }): Path<BindingPath>,
) -> Result<Json<Unbound>, ApiError> {
    let (id, entity) = EntityPath { id, entity }.parse()?;
    if state.engine.unbind(&id, entity, &erp_key).await? {
        Ok(Json(Unbound {
            unbound: true,
            entity,
            erp_key,
        }))
    } else {
        Err(ApiError::not_found(format!(
            "{entity} {erp_key} is not linked in connector {id}"
        )))
    }
}
