//! Who may call the daemon: loopback only, with the token, and never on behalf of a web page.
//!
//! `Host` must be exactly `127.0.0.1:PORT` or `localhost:PORT` (this daemon's port, one
//! header), and an `Origin`, when present, exactly `http://` one of those: that defeats DNS
//! rebinding (a page on `evil.example` resolving to 127.0.0.1 sends `Host: evil.example`) and
//! cross-site requests. `GET /v1/hello` is the one route without the token: it is how the CLI
//! makes sure it talks to this daemon before it sends the token (see [`prism_api::hello`]).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prism_api::{ApiError, ApiErrorKind, TOKEN_HEADER};
use std::sync::Arc;

/// What a request is checked against: the secret every request must carry, and the port the
/// daemon listens on (the only one a `Host` or `Origin` may name).
#[derive(Clone)]
pub struct Gate {
    /// The token written to the 0600 token file at start.
    pub token: Arc<String>,
    /// The port of the listening socket.
    pub port: u16,
}

/// The route that answers a challenge without the token.
pub const HELLO_PATH: &str = "/v1/hello";

fn deny(status: StatusCode, message: &str, hint: &str) -> Response {
    (
        status,
        axum::Json(ApiError {
            kind: ApiErrorKind::Unauthorized,
            message: message.into(),
            hint: Some(hint.into()),
            operation_id: None,
        }),
    )
        .into_response()
}

/// Whether a `Host` value names this daemon exactly: `127.0.0.1:PORT` or `localhost:PORT`.
pub fn host_is_ours(host: &str, port: u16) -> bool {
    match host.rsplit_once(':') {
        Some((name, p)) => {
            matches!(name, "127.0.0.1" | "localhost")
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().ok() == Some(port)
                && !p.starts_with('0')
        }
        None => false,
    }
}

/// Whether an `Origin` value is exactly `http://127.0.0.1:PORT` or `http://localhost:PORT`.
pub fn origin_is_ours(origin: &str, port: u16) -> bool {
    origin
        .strip_prefix("http://")
        .is_some_and(|rest| host_is_ours(rest, port))
}

/// The single value of a header: `Err` when it appears more than once or is not text.
fn single<'a>(headers: &'a HeaderMap, name: &header::HeaderName) -> Result<Option<&'a str>, ()> {
    let mut all = headers.get_all(name).iter();
    let first = all.next();
    if all.next().is_some() {
        return Err(());
    }
    first.map(|v| v.to_str().map_err(|_| ())).transpose()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks the `Host` and `Origin` headers of one request; `Err` is the refusal to send.
#[allow(clippy::result_large_err)] // the refusal is the response itself
pub fn check_addressing(headers: &HeaderMap, port: u16) -> Result<(), Response> {
    let host_ok = matches!(single(headers, &header::HOST), Ok(Some(h)) if host_is_ours(h, port));
    if !host_ok {
        return Err(deny(
            StatusCode::FORBIDDEN,
            "requests must be addressed to 127.0.0.1 or localhost",
            "the daemon only serves local clients, with one Host header naming its own address and port",
        ));
    }
    let origin_ok = match single(headers, &header::ORIGIN) {
        Ok(None) => true,
        Ok(Some(o)) => origin_is_ours(o, port),
        Err(()) => false,
    };
    if !origin_ok {
        return Err(deny(
            StatusCode::FORBIDDEN,
            "cross-origin requests are refused",
            "the daemon is not a web service",
        ));
    }
    Ok(())
}

/// Checks one request's headers (addressing, then the token); `Err` is the refusal to send.
#[allow(clippy::result_large_err)] // the refusal is the response itself
pub fn check(headers: &HeaderMap, gate: &Gate) -> Result<(), Response> {
    check_addressing(headers, gate.port)?;
    let given = match single(headers, &header::HeaderName::from_static(TOKEN_HEADER)) {
        Ok(Some(t)) => t.as_bytes(),
        _ => b"",
    };
    if given.is_empty() || !constant_time_eq(given, gate.token.as_bytes()) {
        return Err(deny(
            StatusCode::UNAUTHORIZED,
            "missing or wrong daemon token",
            "use the prism CLI, which reads the token file in the state directory",
        ));
    }
    Ok(())
}

/// Middleware applying [`check`] to every request but `GET /v1/hello`, which only needs its
/// addressing checked. The [`Gate`] is handed to handlers as a request extension.
pub async fn require(State(gate): State<Gate>, mut req: Request, next: Next) -> Response {
    let hello = req.method() == Method::GET && req.uri().path() == HELLO_PATH;
    let verdict = if hello {
        check_addressing(req.headers(), gate.port)
    } else {
        check(req.headers(), &gate)
    };
    match verdict {
        Ok(()) => {
            req.extensions_mut().insert(gate);
            next.run(req).await
        }
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const PORT: u16 = 4000;

    fn gate(t: &str) -> Gate {
        Gate {
            token: Arc::new(t.into()),
            port: PORT,
        }
    }

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

    fn status(h: &HeaderMap) -> Option<StatusCode> {
        check(h, &gate("s3cret")).err().map(|r| r.status())
    }

    #[test]
    fn loopback_with_token_passes() {
        assert_eq!(
            status(&headers("127.0.0.1:4000", None, Some("s3cret"))),
            None
        );
        assert_eq!(
            status(&headers(
                "localhost:4000",
                Some("http://localhost:4000"),
                Some("s3cret")
            )),
            None
        );
    }

    #[test]
    fn refusals() {
        let t = Some("s3cret");
        assert_eq!(
            status(&headers("127.0.0.1:4000", None, None)),
            Some(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            status(&headers("127.0.0.1:4000", None, Some("nope"))),
            Some(StatusCode::UNAUTHORIZED)
        );
        for host in [
            "evil.example",
            "127.0.0.1.evil.example:4000",
            "127.0.0.1",
            "127.0.0.1:4001",
            "127.0.0.1:04000",
            "127.0.0.1:+4000",
            "localhost:1",
            "[::1]evil",
            "[::1]evil:4000",
            "[::1]:4000",
            "127.0.0.1:4000:4000",
            "user@127.0.0.1:4000",
            "",
        ] {
            assert_eq!(
                status(&headers(host, None, t)),
                Some(StatusCode::FORBIDDEN),
                "Host {host:?}"
            );
        }
        for origin in [
            "https://evil.example",
            "https://127.0.0.1:4000",
            "http://127.0.0.1:4001",
            "http://127.0.0.1:4000/",
            "http://localhost",
            "null",
        ] {
            assert_eq!(
                status(&headers("127.0.0.1:4000", Some(origin), t)),
                Some(StatusCode::FORBIDDEN),
                "Origin {origin:?}"
            );
        }
    }

    #[test]
    fn a_second_host_or_origin_is_refused() {
        let mut h = headers("127.0.0.1:4000", None, Some("s3cret"));
        h.append(header::HOST, HeaderValue::from_static("evil.example"));
        assert_eq!(status(&h), Some(StatusCode::FORBIDDEN));
        let mut h = headers("127.0.0.1:4000", None, Some("s3cret"));
        h.append(header::HOST, HeaderValue::from_static("127.0.0.1:4000"));
        assert_eq!(status(&h), Some(StatusCode::FORBIDDEN), "even the same one");
        let mut h = headers(
            "127.0.0.1:4000",
            Some("http://127.0.0.1:4000"),
            Some("s3cret"),
        );
        h.append(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert_eq!(status(&h), Some(StatusCode::FORBIDDEN));
        let mut h = headers("127.0.0.1:4000", None, Some("s3cret"));
        h.append(TOKEN_HEADER, HeaderValue::from_static("s3cret"));
        assert_eq!(status(&h), Some(StatusCode::UNAUTHORIZED), "two tokens");
    }

    #[test]
    fn a_host_that_is_not_text_is_refused() {
        let mut h = HeaderMap::new();
        h.insert(
            header::HOST,
            HeaderValue::from_bytes(b"127.0.0.1:4000\xff").unwrap(),
        );
        h.insert(TOKEN_HEADER, HeaderValue::from_static("s3cret"));
        assert_eq!(status(&h), Some(StatusCode::FORBIDDEN));
    }
}
