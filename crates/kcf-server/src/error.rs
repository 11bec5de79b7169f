//! The API's error type: a status and a message that says what is wrong; internals are
//! logged, never shown.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use kcf_engine::{EngineError, IntakeError};
use kcf_store::StoreError;
use serde_json::json;

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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "error": { "code": self.code, "message": self.message } })),
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
            StoreError::BindingConflict(m) => Self {
                status: StatusCode::CONFLICT,
                code: "conflict",
                message: m,
            },
            other => Self::internal("kcf's database is unavailable", &other),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::UnknownConnector(_) => Self::not_found(e.to_string()),
            EngineError::Invalid(m) | EngineError::Setup(m) => Self::bad_request(m),
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
