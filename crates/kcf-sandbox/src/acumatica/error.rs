//! Errors as Acumatica answers them: `message`, `exceptionMessage`, `exceptionType`.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

/// An error answer with Acumatica's body.
pub(crate) fn acu_error(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "message": message,
        "exceptionMessage": message,
        "exceptionType": "PX.Api.ContractBased.SandboxException",
        "stackTrace": null,
    });
    (status, Json(body)).into_response()
}
