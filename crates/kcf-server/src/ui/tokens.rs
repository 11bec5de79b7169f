//! API tokens: list, create (shown once), revoke.

use super::*;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(tokens).post(create_token))
        .route("/tokens/{id}/revoke", post(revoke_token))
}

// ---------------------------------------------------------------- API tokens

pub(super) async fn tokens(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    Query(f): Query<Flash>,
) -> UiResult {
    tokens_page(&state, &me, None, None, f).await
}

pub(super) async fn tokens_page(
    state: &AppState,
    me: &Principal,
    created: Option<String>,
    created_name: Option<String>,
    f: Flash,
) -> UiResult {
    let tokens = state.engine.store.api_tokens().await?;
    let (flash, flash_bad) = flash_ctx(&f);
    Ok(render(
        "tokens.html",
        json!({ "title": "API Tokens", "user": me.name(), "connector": first_connector(state).await, "section": "tokens", "tokens": tokens, "created": created, "created_name": created_name, "flash": flash, "flash_bad": flash_bad }),
    ))
}

pub(super) async fn create_token(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    body: Bytes,
) -> UiResult {
    let form = Form::parse(&body);
    let name = form.text("name");
    if name.is_empty() || name.len() > 100 {
        return Ok(back(
            "/tokens",
            "Name the token (1 to 100 characters)",
            true,
        ));
    }
    let token = crate::api::create_token(&state, &name, &me).await?;
    tokens_page(&state, &me, Some(token.token), Some(name), Flash::default()).await
}

pub(super) async fn revoke_token(State(state): State<AppState>, Path(id): Path<i64>) -> UiResult {
    let revoked = state.engine.store.revoke_api_token(id).await?;
    Ok(if revoked {
        back(
            "/tokens",
            "Revoked; the token is refused from now on",
            false,
        )
    } else {
        back("/tokens", "No such active token", true)
    })
}
