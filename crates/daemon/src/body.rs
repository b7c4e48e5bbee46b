//! The JSON body extractor of every route: axum's `Json`, plus one rule serde's derive does
//! not enforce — the body must be a JSON *object*. A derived struct also accepts the
//! positional array form (`["busy", "my-env"]`), which no client means to send and which
//! would silently bind values to fields by position.

use crate::errors::HttpError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;

/// A request body that is a JSON object decoding to `T`.
pub struct Body<T>(pub T);

fn refusal(status: StatusCode, message: &str) -> Response {
    HttpError::bad_request(message, None)
        .with_status(status)
        .into_response()
}

/// `application/json`, or a `+json` type, with any parameters (`; charset=utf-8`).
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(v) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = v
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<S, T> FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Expected request with `Content-Type: application/json`",
            ));
        }
        // Bounded by the router's body limit (413 beyond it).
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        // Only the array form slips through serde; other non-objects fail to decode anyway,
        // and malformed input keeps axum's own parse error.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            return Err(refusal(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Failed to deserialize the JSON body into the target type: the body must be a JSON object ({...})",
            ));
        }
        let Json(value) = Json::<T>::from_bytes(&bytes).map_err(IntoResponse::into_response)?;
        Ok(Body(value))
    }
}
