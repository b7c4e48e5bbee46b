//! Who may call the daemon: loopback only, with the token, and never on behalf of a web page
//! (`Host` and `Origin` must be loopback, which defeats DNS rebinding and cross-site requests).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prism_api::{ApiError, TOKEN_HEADER};
use std::sync::Arc;

/// The secret every request must carry.
#[derive(Clone)]
pub struct Token(pub Arc<String>);

fn deny(status: StatusCode, message: &str, hint: &str) -> Response {
    (
        status,
        axum::Json(ApiError {
            kind: "unauthorized".into(),
            message: message.into(),
            hint: Some(hint.into()),
            operation_id: None,
        }),
    )
        .into_response()
}

/// Whether a `Host` value names the loopback interface.
pub fn host_is_loopback(host: &str) -> bool {
    let h = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
    };
    matches!(h, "127.0.0.1" | "localhost" | "::1")
}

fn origin_is_loopback(origin: &str) -> bool {
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|rest| host_is_loopback(rest.trim_end_matches('/')))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks one request's headers; `Err` is the refusal to send.
#[allow(clippy::result_large_err)] // the refusal is the response itself
pub fn check(headers: &HeaderMap, token: &str) -> Result<(), Response> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !host_is_loopback(host) {
        return Err(deny(
            StatusCode::FORBIDDEN,
            "requests must be addressed to 127.0.0.1 or localhost",
            "the daemon only serves local clients",
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let o = origin.to_str().unwrap_or("");
        if !origin_is_loopback(o) {
            return Err(deny(
                StatusCode::FORBIDDEN,
                "cross-origin requests are refused",
                "the daemon is not a web service",
            ));
        }
    }
    let given = headers
        .get(TOKEN_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or(b"");
    if given.is_empty() || !constant_time_eq(given, token.as_bytes()) {
        return Err(deny(
            StatusCode::UNAUTHORIZED,
            "missing or wrong daemon token",
            "use the prism CLI, which reads the token file in the state directory",
        ));
    }
    Ok(())
}

/// Middleware applying [`check`] to every request.
pub async fn require(State(token): State<Token>, req: Request, next: Next) -> Response {
    match check(req.headers(), &token.0) {
        Ok(()) => next.run(req).await,
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(host: &str, origin: Option<&str>, token: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        if let Some(t) = token {
            h.insert(TOKEN_HEADER, HeaderValue::from_str(t).unwrap());
        }
        h
    }

    #[test]
    fn loopback_with_token_passes() {
        assert!(check(&headers("127.0.0.1:4000", None, Some("s3cret")), "s3cret").is_ok());
        assert!(check(
            &headers(
                "localhost:4000",
                Some("http://localhost:4000"),
                Some("s3cret")
            ),
            "s3cret"
        )
        .is_ok());
        assert!(check(&headers("[::1]:4000", None, Some("s3cret")), "s3cret").is_ok());
    }

    #[test]
    fn refusals() {
        let t = "s3cret";
        assert_eq!(
            check(&headers("127.0.0.1:1", None, None), t)
                .unwrap_err()
                .status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            check(&headers("127.0.0.1:1", None, Some("nope")), t)
                .unwrap_err()
                .status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            check(&headers("evil.example", None, Some(t)), t)
                .unwrap_err()
                .status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            check(&headers("127.0.0.1.evil.example:80", None, Some(t)), t)
                .unwrap_err()
                .status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            check(
                &headers("127.0.0.1:1", Some("https://evil.example"), Some(t)),
                t
            )
            .unwrap_err()
            .status(),
            StatusCode::FORBIDDEN
        );
    }
}
