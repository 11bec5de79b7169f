//! `POST /admin/oauth/access_token`: an app's access token by the client-credentials grant
//! or by token exchange (a session token from an embedded app), as JSON or a form.

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;

use super::App;

#[derive(Debug, Default, Deserialize)]
struct TokenRequest {
    client_id: Option<String>,
    client_secret: Option<String>,
    grant_type: Option<String>,
    subject_token: Option<String>,
    code: Option<String>,
}

fn refuse(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

pub(super) async fn access_token(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let parsed: Option<TokenRequest> = if form {
        let pairs: Vec<(String, String)> = form_pairs(&body);
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        Some(TokenRequest {
            client_id: get("client_id"),
            client_secret: get("client_secret"),
            grant_type: get("grant_type"),
            subject_token: get("subject_token"),
            code: get("code"),
        })
    } else {
        serde_json::from_slice(&body).ok()
    };
    let Some(request) = parsed else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body must be JSON or a form.",
        );
    };
    let config = &app.shop.config;
    let id_ok = request.client_id.as_deref() == Some(config.client_id.as_str());
    let secret_ok = request.client_secret.as_deref().is_some_and(|s| {
        use subtle::ConstantTimeEq;
        bool::from(s.as_bytes().ct_eq(config.client_secret.as_bytes()))
    });
    if !id_ok || !secret_ok {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed: unknown client id or wrong secret.",
        );
    }
    let grant = request
        .grant_type
        .as_deref()
        .unwrap_or("authorization_code");
    let allowed = match grant {
        "client_credentials" => true,
        "urn:ietf:params:oauth:grant-type:token-exchange" => request
            .subject_token
            .as_deref()
            .is_some_and(|t| !t.is_empty()),
        "authorization_code" => request.code.as_deref().is_some_and(|c| !c.is_empty()),
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be client_credentials, authorization_code or token exchange.",
            );
        }
    };
    if !allowed {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The grant is missing its code or subject token.",
        );
    }
    let token = {
        let mut data = app.shop.write();
        let n = data.id();
        let token = format!("shpat_{:032x}", u128::from(n) * 0x9E37_79B9_7F4A_7C15 + 7);
        data.tokens.push(token.clone());
        token
    };
    Json(json!({
        "access_token": token,
        "scope": "read_products,write_products,read_inventory,write_inventory,read_customers,write_customers,read_orders,write_orders,read_fulfillments,write_fulfillments",
        "expires_in": 86399,
    }))
    .into_response()
}

fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}
