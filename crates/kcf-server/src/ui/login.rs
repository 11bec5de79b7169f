//! Signing in and out.

use super::*;

pub(super) fn public() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/assets/{name}", get(asset))
}

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/logout", post(logout))
}

// ---------------------------------------------------------------- sign in / out

#[derive(Debug, Deserialize)]
pub(super) struct LoginQuery {
    next: Option<String>,
}

pub(super) async fn login_page(Query(q): Query<LoginQuery>) -> Response {
    render(
        "login.html",
        json!({ "next": safe_next(q.next.as_deref()) }),
    )
}

pub(super) async fn login(
    State(state): State<AppState>,
    peer: Option<Extension<crate::Peer>>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> UiResult {
    let client = auth::client_of(&headers, peer.map(|Extension(p)| p.0));
    let form = Form::parse(&body);
    let username = form.text("username");
    let password = form.raw("password").unwrap_or_default().to_owned();
    let next = safe_next(form.get("next"));
    let again = |error: String, status: StatusCode| {
        let mut r = render(
            "login.html",
            json!({ "next": next.clone(), "username": username.clone(), "error": error }),
        );
        *r.status_mut() = status;
        r
    };
    let store = &*state.engine.store;
    if let Err(wait) = state
        .login_throttle
        .check(store, &username, &client)
        .await?
    {
        return Ok(again(
            format!("Too many failed sign-ins for this user: try again in {wait} s."),
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let hash = state.engine.store.password_hash(&username).await?;
    // An unknown user costs the same check as a known one, so the answer's timing does not
    // tell which user names exist.
    let ok = match &hash {
        Some(h) => auth::verify_password(&password, h).await,
        None => {
            let _ = auth::verify_password(&password, auth::decoy_hash().await).await;
            false
        }
    };
    if !ok {
        state
            .login_throttle
            .failed(store, &username, &client)
            .await?;
        tracing::warn!(user = %username, "a sign-in failed");
        return Ok(again(
            "The user name or password is not right.".into(),
            StatusCode::UNAUTHORIZED,
        ));
    }
    state
        .login_throttle
        .succeeded(store, &username, &client)
        .await?;
    let cookie = auth::start_session(&state, &username, auth::request_scheme(&headers)).await?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
}

pub(super) async fn logout(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> UiResult {
    if let Some(id) = auth::session_cookie(&headers) {
        state
            .engine
            .store
            .delete_session(&auth::hash_secret(id))
            .await?;
    }
    Ok((
        [(header::SET_COOKIE, auth::clear_cookie())],
        Redirect::to("/login"),
    )
        .into_response())
}
