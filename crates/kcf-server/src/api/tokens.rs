//! API tokens: list, create (shown once), revoke.

use super::*;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(list_tokens).post(new_token))
        .route("/tokens/{id}", axum::routing::delete(revoke_token))
}

pub(super) async fn list_tokens(
    State(state): State<AppState>,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    Ok(Json(state.engine.store.api_tokens().await?))
}

/// A token just created: `token` is shown this once.
#[derive(Debug, Serialize)]
pub(crate) struct NewToken {
    #[serde(flatten)]
    pub info: ApiToken,
    pub token: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TokenBody {
    name: String,
}

/// Creates an API token for `me`.
pub(crate) async fn create_token(
    state: &AppState,
    name: &str,
    me: &Principal,
) -> Result<NewToken, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::bad_request("name must be 1 to 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "name must not hold control characters",
        ));
    }
    let token = auth::random_secret("kcf_");
    let info = state
        .engine
        .store
        .create_api_token(name, &auth::hash_secret(&token), &token[..8], me.name())
        .await?;
    Ok(NewToken { info, token })
}

pub(super) async fn new_token(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Json(body): Json<TokenBody>,
) -> Result<Json<NewToken>, ApiError> {
    Ok(Json(create_token(&state, &body.name, &me).await?))
}

pub(super) async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !state.engine.store.revoke_api_token(id).await? {
        return Err(ApiError::not_found(format!(
            "there is no active token {id}"
        )));
    }
    Ok(Json(serde_json::json!({ "id": id, "revoked": true })))
}
