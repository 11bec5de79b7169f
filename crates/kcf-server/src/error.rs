//! The API's error type: a status and a message that says what is wrong; internals are
//! logged, never shown.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use kcf_engine::{EngineError, IntakeError};
use kcf_store::StoreError;

/// An error answered to a client as `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A short machine-readable code.
    pub code: &'static str,
    /// What is wrong, in plain words.
    pub message: String,
}

impl ApiError {
    /// A 409: the request is well-formed, but what it targets refuses it as it stands (a
    /// message's status, a connector's store or stored credentials, an entity's options).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            code: "conflict",
            message: message.into(),
        }
    }

    /// A 422: every field is one the document allows, but together, or for this target, they
    /// make no sense (From after To, a cron expression that names no time, settings that do
    /// not fit this connector or entity). OpenAPI cannot state such rules; this says which.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "unprocessable",
            message: message.into(),
        }
    }

    /// A 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
        }
    }

    /// A 404 with a message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
        }
    }

    /// A 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: message.into(),
        }
    }

    /// A 403 with a message.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: message.into(),
        }
    }

    /// A 429 with a message.
    pub fn too_many(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "too_many_requests",
            message: message.into(),
        }
    }

    /// A 503 with a message.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            message: message.into(),
        }
    }

    fn internal(what: &str, e: &dyn std::error::Error) -> Self {
        tracing::error!(error = %e, "{what}");
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            message: format!("{what}; try again shortly"),
        }
    }
}

/// Turns the plain-text refusals of axum's extractors (a body that is not the JSON expected,
/// a bad query string or path, a body over the limit) into the JSON error body every other
/// refusal has, in words without the parser's jargon, for the API and ingress; the
/// workspace's pages keep their own.
pub async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    let plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    let ours =
        path.starts_with("/api/") || path.starts_with("/push/") || path.starts_with("/webhooks/");
    if !(status.is_client_error() && plain && ours) {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let message = plain_words(text.trim(), status);
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        _ => "bad_request",
    };
    let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    ApiError {
        status,
        code,
        message,
    }
    .into_response()
}

/// An extractor's message without its framing ("Failed to deserialize the JSON body into the
/// target type: entity: unknown variant…" → "entity: unknown variant…").
fn plain_words(text: &str, status: StatusCode) -> String {
    const FRAMES: &[&str] = &[
        "Failed to deserialize the JSON body into the target type: ",
        "Failed to parse the request body as JSON: ",
        "Failed to deserialize query string: ",
        "Failed to deserialize form body: ",
        "Invalid URL: ",
    ];
    let mut out = text.to_owned();
    for f in FRAMES {
        if let Some(rest) = out.strip_prefix(f) {
            out = rest.to_owned();
        }
    }
    // serde's position ("… at line 1 column 37") means nothing to a person sending JSON.
    if let Some(at) = out.rfind(" at line ")
        && out[at + 9..]
            .split(" column ")
            .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    {
        out.truncate(at);
    }
    if out.is_empty() {
        out = match status {
            StatusCode::NOT_FOUND => "there is no such route".into(),
            StatusCode::METHOD_NOT_ALLOWED => "this route does not take that method".into(),
            StatusCode::PAYLOAD_TOO_LARGE => "the body is over the 1 MiB limit".into(),
            _ => status
                .canonical_reason()
                .unwrap_or("the request was refused")
                .to_owned(),
        };
    }
    if text.starts_with("Expected request with `Content-Type: application/json`") {
        out = "send the body as JSON, with Content-Type: application/json".into();
    }
    out
}

/// The body of every refusal: `{"error": {"code", "message"}}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

/// What is wrong.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A short machine-readable code (`bad_request`, `not_found`, `unavailable`, …).
    code: &'static str,
    /// What is wrong, in plain words.
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                error: ErrorDetail {
                    code: self.code,
                    message: self.message,
                },
            }),
        )
            .into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(m) => Self::bad_request(m),
            StoreError::UnknownConnector(_) | StoreError::NotFound { .. } => {
                Self::not_found(e.to_string())
            }
            StoreError::BindingConflict(m) | StoreError::Conflict(m) => Self::conflict(m),
            other => Self::internal("kcf's database is unavailable", &other),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::UnknownConnector(_) => Self::not_found(e.to_string()),
            EngineError::Invalid(m) | EngineError::Setup(m) => Self::bad_request(m),
            EngineError::Conflict(m) => Self::conflict(m),
            EngineError::External(m) => Self {
                status: StatusCode::BAD_GATEWAY,
                code: "external",
                message: m,
            },
            EngineError::Store(s) => s.into(),
        }
    }
}

impl From<IntakeError> for ApiError {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::UnknownConnector(_) => Self::not_found(e.to_string()),
            IntakeError::Unauthorized(m) => Self::unauthorized(m),
            IntakeError::BadRequest(m) => Self::bad_request(m),
            IntakeError::Store(s) => Self::internal("the notification could not be stored", &s),
        }
    }
}
