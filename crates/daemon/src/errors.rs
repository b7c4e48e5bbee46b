//! Turning operation errors into HTTP answers with a JSON [`ApiError`] body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use prism_api::{ApiError, ApiErrorKind};
use prism_cloud::CloudErrorKind;
use prism_ops::OpsError;
use std::error::Error;

/// An error answer.
pub struct HttpError(pub StatusCode, pub ApiError);

/// The status an error of `kind` is answered with, unless the answer has a more precise one
/// (e.g. 405, 413, 415 for `invalid-input`, 403 for a foreign `Host`).
pub fn status_of(kind: ApiErrorKind) -> StatusCode {
    match kind {
        ApiErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        ApiErrorKind::NotFound => StatusCode::NOT_FOUND,
        ApiErrorKind::Conflict => StatusCode::CONFLICT,
        ApiErrorKind::Aws => StatusCode::BAD_GATEWAY,
        ApiErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        // The daemon never sends `Unknown`; were it built, it would be a bug.
        ApiErrorKind::Internal | ApiErrorKind::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `e`'s message followed by each of its `source()`s, `: `-separated, skipping a source whose
/// text the message already holds (many errors print their source themselves).
pub fn error_chain(e: &(dyn Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let c = cause.to_string();
        if !c.is_empty() && !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
        next = cause.source();
    }
    text
}

impl HttpError {
    /// An error of `kind`, answered with that kind's status ([`status_of`]).
    pub fn new(kind: ApiErrorKind, message: impl Into<String>, hint: Option<String>) -> Self {
        HttpError(
            status_of(kind),
            ApiError {
                kind,
                message: message.into(),
                hint,
                operation_id: None,
            },
        )
    }
    /// The same error answered with `status` instead of its kind's.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.0 = status;
        self
    }
    /// A 400 with a message and hint.
    pub fn bad_request(message: impl Into<String>, hint: Option<String>) -> Self {
        HttpError::new(ApiErrorKind::InvalidInput, message, hint)
    }
    /// A 404.
    pub fn not_found(message: impl Into<String>, hint: Option<String>) -> Self {
        HttpError::new(ApiErrorKind::NotFound, message, hint)
    }
    /// A 500.
    pub fn internal(message: impl Into<String>) -> Self {
        HttpError::new(
            ApiErrorKind::Internal,
            message,
            Some("see the daemon log (prism daemon status shows where)".into()),
        )
    }
    /// A 500 whose message is `e` with its whole source chain ([`error_chain`]), so the
    /// CLI shows the root cause.
    pub fn internal_error(e: &(dyn Error + 'static)) -> Self {
        HttpError::internal(error_chain(e))
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
            } => {
                let hint = format!("follow it with: prism operation follow {operation_id}");
                let mut e = HttpError::new(ApiErrorKind::Conflict, message, Some(hint));
                e.1.operation_id = Some(operation_id);
                e
            }
            OpsError::Exists { message, hint } => {
                HttpError::new(ApiErrorKind::Conflict, message, hint)
            }
            OpsError::Cloud(c) => {
                let hint = match c.kind {
                    CloudErrorKind::Auth => Some(prism_cloud::error::auth_hint(&c, None)),
                    CloudErrorKind::Transient => {
                        Some("AWS did not answer; try again in a moment".to_string())
                    }
                    _ => None,
                };
                HttpError::new(ApiErrorKind::Aws, c.to_string(), hint)
            }
            OpsError::Store(s) => HttpError::internal_error(&s),
            OpsError::Internal(s) => HttpError::internal(s),
        }
    }
}

impl From<prism_store::StoreError> for HttpError {
    fn from(e: prism_store::StoreError) -> Self {
        HttpError::internal_error(&e)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

/// Result of a handler.
pub type HttpResult<T> = Result<Json<T>, HttpError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with a cause, printing only its own text.
    #[derive(Debug, thiserror::Error)]
    #[error("{what}")]
    struct Wrapped {
        what: &'static str,
        #[source]
        source: Box<dyn Error + Send + Sync>,
    }

    #[test]
    fn an_internal_error_carries_its_whole_source_chain() {
        let root = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "disk says no");
        let e = Wrapped {
            what: "saving the journal",
            source: Box::new(Wrapped {
                what: "writing state.db",
                source: Box::new(root),
            }),
        };
        let HttpError(status, body) = HttpError::internal_error(&e);
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body.kind, ApiErrorKind::Internal);
        assert_eq!(
            body.message,
            "saving the journal: writing state.db: disk says no"
        );
    }

    #[test]
    fn a_source_the_message_already_prints_is_not_repeated() {
        let e = prism_store::StoreError::Json {
            what: "operation row".into(),
            source: serde_json::from_str::<u8>("x").unwrap_err(),
        };
        let inner = serde_json::from_str::<u8>("x").unwrap_err().to_string();
        let HttpError(_, body) = HttpError::from(OpsError::Store(e));
        assert_eq!(body.message.matches(&inner).count(), 1, "{}", body.message);
        assert!(body
            .message
            .starts_with("local store: bad JSON in operation row"));
    }

    #[test]
    fn each_kind_has_its_status() {
        for (kind, status) in [
            (ApiErrorKind::InvalidInput, 400),
            (ApiErrorKind::NotFound, 404),
            (ApiErrorKind::Conflict, 409),
            (ApiErrorKind::Aws, 502),
            (ApiErrorKind::Unauthorized, 401),
            (ApiErrorKind::Internal, 500),
            (ApiErrorKind::Unknown, 500),
        ] {
            assert_eq!(status_of(kind).as_u16(), status, "{kind}");
        }
        let e = HttpError::from(OpsError::Conflict {
            message: "busy".into(),
            operation_id: "op-1".into(),
        });
        assert_eq!(e.0, StatusCode::CONFLICT);
        assert_eq!(e.1.kind, ApiErrorKind::Conflict);
        assert_eq!(e.1.operation_id.as_deref(), Some("op-1"));
    }
}
