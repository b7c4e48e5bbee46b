//! Health, the OpenAPI document, and shutdown.

use crate::errors::HttpResult;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use prism_api::Health;
use utoipa::OpenApi;

/// Daemon health and the AWS environment fingerprint.
#[utoipa::path(get, path = "/v1/health", responses((status = 200, body = Health)))]
pub async fn health(State(s): State<AppState>) -> HttpResult<Health> {
    Ok(Json(Health {
        version: env!("CARGO_PKG_VERSION").into(),
        pid: std::process::id(),
        started_at: s.started_at.clone(),
        aws_env_fingerprint: s.aws_env_fingerprint.clone(),
        aws_endpoint: std::env::var("AWS_ENDPOINT_URL_EC2")
            .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
            .ok(),
        active_operations: s.runner.active(),
    }))
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/v1/openapi.json", responses((status = 200, description = "OpenAPI document")))]
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(super::ApiDoc::openapi())
}

/// Stops the daemon (running operations resume at the next start).
#[utoipa::path(post, path = "/v1/daemon/shutdown", responses((status = 200, description = "stopping")))]
pub async fn shutdown(State(s): State<AppState>) -> Json<serde_json::Value> {
    s.shutdown.notify_one();
    Json(serde_json::json!({ "stopping": true }))
}

/// Proves this is the daemon that wrote the token file, without the caller sending the token:
/// the answer is an HMAC of the caller's challenge keyed with the token (no token needed).
#[utoipa::path(
    get,
    path = "/v1/hello",
    params(("x-prism-challenge" = String, Header, description = "64 lowercase hex digits, fresh for each connection")),
    responses((status = 200, body = prism_api::Hello), (status = 400, body = prism_api::ApiError))
)]
pub async fn hello(
    axum::Extension(gate): axum::Extension<crate::auth::Gate>,
    headers: axum::http::HeaderMap,
) -> HttpResult<prism_api::Hello> {
    let challenge = headers
        .get(prism_api::CHALLENGE_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|c| prism_api::hello::is_challenge(c))
        .ok_or_else(|| {
            crate::errors::HttpError::bad_request(
                "x-prism-challenge must be 64 lowercase hex digits",
                Some("the prism CLI sends a fresh random challenge".into()),
            )
        })?;
    Ok(Json(prism_api::Hello {
        proof: prism_api::hello::proof(&gate.token, gate.port, challenge),
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}
