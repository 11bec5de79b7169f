//! BigCommerce's error bodies: `{"status", "title", "type", "errors"}`.

use std::collections::BTreeMap;

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};

/// An error answered the way BigCommerce answers it.
#[derive(Debug)]
pub struct BcError {
    status: StatusCode,
    title: String,
    errors: BTreeMap<String, String>,
}

impl BcError {
    /// An error with a title and no field errors.
    pub fn new(status: StatusCode, title: impl Into<String>) -> Self {
        Self {
            status,
            title: title.into(),
            errors: BTreeMap::new(),
        }
    }

    /// 422 with per-field messages.
    pub fn invalid(errors: BTreeMap<String, String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "JSON data is missing or invalid".into(),
            errors,
        }
    }

    /// 404.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!("The requested {what} was not found."),
        )
    }

    /// 409.
    pub fn conflict(title: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, title)
    }

    /// 413 for batches over the limit.
    pub fn too_many(max: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The request payload is too large. The maximum items allowed in the array is {max}."
            ),
        )
    }

    /// 400 for a body that is not JSON.
    pub fn bad_json(e: &serde_json::Error) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("The request body is not valid JSON: {e}"),
        )
    }

    /// As a JSON value (for 207 bodies).
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "status": self.status.as_u16(),
            "title": self.title,
            "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
        });
        if !self.errors.is_empty() {
            body["errors"] = serde_json::to_value(&self.errors).unwrap_or_default();
        }
        body
    }
}

impl IntoResponse for BcError {
    fn into_response(self) -> Response {
        (self.status, Json(self.to_json())).into_response()
    }
}

/// Handler results.
pub type BcResult<T> = Result<T, BcError>;
