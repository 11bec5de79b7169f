//! API tokens: list, create (shown once), revoke.

use super::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, new_token))
        .routes(routes!(revoke_token))
}

/// API tokens (hints only; values are shown once, at creation).
#[utoipa::path(get, path = "/tokens", tag = "tokens",
    responses((status = 200, description = "Every token, revoked ones included", body = Vec<ApiToken>)))]
pub(super) async fn list_tokens(
    State(state): State<AppState>,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    Ok(Json(state.engine.store.api_tokens().await?))
}

/// A token just created: `token` is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NewToken {
    #[serde(flatten)]
    pub info: ApiToken,
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TokenBody {
    /// What it is for: 1 to 100 characters, not blank, no control characters (the pattern says
    /// so with Unicode's white space and control characters spelled out).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    name: String,
}

/// Creates an API token for `me`.
pub(crate) async fn create_token(
    state: &AppState,
    name: &str,
    me: &Principal,
) -> Result<NewToken, ApiError> {
    if name.chars().count() > 100 {
        return Err(ApiError::bad_request("name must be 1 to 100 characters"));
    }
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::bad_request("name must not be blank"));
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

/// Create an API token; the answer holds its value, this once.
#[utoipa::path(post, path = "/tokens", tag = "tokens", request_body = TokenBody,
    responses((status = 200, description = "The token, with its value", body = NewToken)))]
pub(super) async fn new_token(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Json(body): Json<TokenBody>,
) -> Result<Json<NewToken>, ApiError> {
    Ok(Json(create_token(&state, &body.name, &me).await?))
}

/// A token revoked.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Revoked {
    id: i64,
    revoked: bool,
}

/// Revoke an API token.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens", params(IdPath),
    responses((status = 200, description = "Revoked", body = Revoked)))]
pub(super) async fn revoke_token(
    State(state): State<AppState>,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<Json<Revoked>, ApiError> {
    if !state.engine.store.revoke_api_token(id).await? {
        return Err(ApiError::not_found(format!(
            "there is no active token {id}"
        )));
    }
    Ok(Json(Revoked { id, revoked: true }))
}
