//! Sign-in: the cookie session (login, logout, the API-user limit, idle expiry) and OAuth 2.0 tokens.

use super::*;

// ------------------------------------------------------------------ auth

pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
}

pub(super) async fn authenticate(
    State(acu): State<Arc<Acu>>,
    request: Request,
    next: Next,
) -> Response {
    let cookie_ok = cookie(request.headers(), ".ASPXAUTH").is_some_and(|token| {
        let now = jiff::Timestamp::now().as_millisecond();
        let idle = i64::try_from(acu.config.session_idle.as_millis()).unwrap_or(i64::MAX);
        let mut sessions = acu.sessions.lock().unwrap_or_else(|p| p.into_inner());
        match sessions.get_mut(&token) {
            Some(last) if now - *last <= idle => {
                *last = now;
                true
            }
            Some(_) => {
                sessions.remove(&token);
                false
            }
            None => false,
        }
    });
    let bearer_ok = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| {
            let now = jiff::Timestamp::now().as_millisecond();
            acu.tokens
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(token)
                .is_some_and(|expiry| *expiry > now)
        });
    let signed_in = cookie_ok || bearer_ok;
    if !signed_in {
        return acu_error(
            StatusCode::UNAUTHORIZED,
            "Authorization has been denied for this request.",
        );
    }
    next.run(request).await
}

pub(super) async fn login(State(acu): State<Arc<Acu>>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return acu_error(
            StatusCode::BAD_REQUEST,
            "The request body must be JSON: {\"name\", \"password\", \"tenant\"}.",
        );
    };
    let field = |n: &str| body.get(n).and_then(Value::as_str);
    let tenant_ok = field("tenant")
        .or(field("company"))
        .is_none_or(|t| t.eq_ignore_ascii_case(&acu.config.tenant));
    if field("name") != Some(acu.config.user.as_str())
        || field("password") != Some(acu.config.password.as_str())
        || !tenant_ok
    {
        return acu_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Invalid credentials. Please try again.",
        );
    }
    let mut sessions = acu.sessions.lock().unwrap_or_else(|p| p.into_inner());
    // Sessions idle past the timeout are closed, and their license slots freed.
    let now = jiff::Timestamp::now().as_millisecond();
    let idle = i64::try_from(acu.config.session_idle.as_millis()).unwrap_or(i64::MAX);
    sessions.retain(|_, last| now - *last <= idle);
    if sessions.len() >= acu.config.max_sessions {
        return acu_error(
            StatusCode::TOO_MANY_REQUESTS,
            "API Login Limit: the maximum number of API users allowed by the license is signed in.",
        );
    }
    let token = format!("{:032x}", rand::rng().random::<u128>());
    sessions.insert(token.clone(), jiff::Timestamp::now().as_millisecond());
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    for c in [
        format!(".ASPXAUTH={token}; path=/; HttpOnly"),
        format!("ASP.NET_SessionId={token}; path=/; HttpOnly"),
        format!("CompanyID={}; path=/", acu.config.tenant),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    response
}

pub(super) fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// `POST /identity/connect/token` (form): the password grant gives a bearer token.
pub(super) async fn token(
    State(acu): State<Arc<Acu>>,
    form: Result<axum::Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(axum::Form(form)) = form else {
        return oauth_error(
            "invalid_request",
            "The body must be application/x-www-form-urlencoded.",
        );
    };
    let get = |k: &str| form.get(k).map(String::as_str);
    if get("grant_type") != Some("password") {
        return oauth_error(
            "unsupported_grant_type",
            "Only the password grant is supported by the sandbox.",
        );
    }
    if get("client_id") != Some(acu.config.oauth_client_id.as_str())
        || get("client_secret") != Some(acu.config.oauth_client_secret.as_str())
    {
        return oauth_error(
            "invalid_client",
            "The client is not registered or its secret is wrong.",
        );
    }
    if get("username") != Some(acu.config.user.as_str())
        || get("password") != Some(acu.config.password.as_str())
    {
        return oauth_error("invalid_grant", "invalid_username_or_password");
    }
    let access_token = format!("{:032x}", rand::rng().random::<u128>());
    let expires_in = 3600;
    let expiry = jiff::Timestamp::now().as_millisecond() + expires_in * 1000;
    acu.tokens
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(access_token.clone(), expiry);
    Json(json!({
        "access_token": access_token,
        "expires_in": expires_in,
        "token_type": "Bearer",
        "scope": get("scope").unwrap_or("api"),
    }))
    .into_response()
}

pub(super) async fn logout(State(acu): State<Arc<Acu>>, headers: HeaderMap) -> StatusCode {
    if let Some(token) = cookie(&headers, ".ASPXAUTH") {
        acu.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&token);
    }
    StatusCode::NO_CONTENT
}

/// `GET /_sandbox/sessions`: how many cookie sessions and bearer tokens are live.
pub(super) async fn live_sessions(State(acu): State<Arc<Acu>>) -> Json<Value> {
    let sessions = acu.sessions.lock().unwrap_or_else(|p| p.into_inner()).len();
    let tokens = acu.tokens.lock().unwrap_or_else(|p| p.into_inner()).len();
    Json(json!({ "sessions": sessions, "tokens": tokens }))
}

/// `DELETE /_sandbox/sessions`: ends every session and token at once, as an idle timeout or an
/// application restart does on a real instance, so clients can be tested for signing in again.
pub(super) async fn expire_sessions(State(acu): State<Arc<Acu>>) -> StatusCode {
    acu.sessions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clear();
    acu.tokens.lock().unwrap_or_else(|p| p.into_inner()).clear();
    StatusCode::NO_CONTENT
}

pub(super) async fn endpoints() -> Json<Value> {
    Json(json!({
        "version": { "acumaticaBuildVersion": "24.200.0001", "databaseVersion": "24.200.0001" },
        "endpoints": [ { "name": "Default", "version": "24.200.001", "href": format!("{ENDPOINT}/") } ],
    }))
}
