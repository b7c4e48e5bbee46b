//! Turning operation errors into HTTP answers with a JSON [`ApiError`] body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use prism_api::ApiError;
use prism_cloud::CloudErrorKind;
use prism_ops::OpsError;

/// An error answer.
pub struct HttpError(pub StatusCode, pub ApiError);

impl HttpError {
    /// A 400 with a message and hint.
    pub fn bad_request(message: impl Into<String>, hint: Option<String>) -> Self {
        HttpError(
            StatusCode::BAD_REQUEST,
            ApiError {
                kind: "invalid-input".into(),
                message: message.into(),
                hint,
                operation_id: None,
            },
        )
    }
    /// A 404.
    pub fn not_found(message: impl Into<String>, hint: Option<String>) -> Self {
        HttpError(
            StatusCode::NOT_FOUND,
            ApiError {
                kind: "not-found".into(),
                message: message.into(),
                hint,
                operation_id: None,
            },
        )
    }
    /// A 500.
    pub fn internal(message: impl Into<String>) -> Self {
        HttpError(
            StatusCode::INTERNAL_SERVER_ERROR,
            ApiError {
                kind: "internal".into(),
                message: message.into(),
                hint: Some("see the daemon log (prism daemon status shows where)".into()),
                operation_id: None,
            },
        )
    }
}

impl From<OpsError> for HttpError {
    fn from(e: OpsError) -> Self {
        match e {
            OpsError::Invalid { message, hint } => HttpError::bad_request(message, hint),
            OpsError::NotFound { message, hint } => HttpError::not_found(message, hint),
            OpsError::Conflict {
                message,
                operation_id,
            } => HttpError(
                StatusCode::CONFLICT,
                ApiError {
                    kind: "conflict".into(),
                    message,
                    hint: Some(format!(
                        "follow it with: prism operation follow {operation_id}"
                    )),
                    operation_id: Some(operation_id),
                },
            ),
            OpsError::Exists { message, hint } => HttpError(
                StatusCode::CONFLICT,
                ApiError {
                    kind: "conflict".into(),
                    message,
                    hint,
                    operation_id: None,
                },
            ),
            OpsError::Cloud(c) => {
                let hint = match c.kind {
                    CloudErrorKind::Auth => Some(
                        "check your AWS credentials (--profile, AWS_PROFILE) and permissions"
                            .to_string(),
                    ),
                    CloudErrorKind::Transient => {
                        Some("AWS did not answer; try again in a moment".to_string())
                    }
                    _ => None,
                };
                HttpError(
                    StatusCode::BAD_GATEWAY,
                    ApiError {
                        kind: "aws".into(),
                        message: c.to_string(),
                        hint,
                        operation_id: None,
                    },
                )
            }
            OpsError::Store(s) => HttpError::internal(s.to_string()),
            OpsError::Internal(s) => HttpError::internal(s),
        }
    }
}

impl From<prism_store::StoreError> for HttpError {
    fn from(e: prism_store::StoreError) -> Self {
        HttpError::internal(e.to_string())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

/// Result of a handler.
pub type HttpResult<T> = Result<Json<T>, HttpError>;
