//! The HTTP API: routes, their OpenAPI description, and the middleware stack.

pub mod daemon;
pub mod deletions;
pub mod deprecations;
pub mod imports;
pub mod operations;
pub mod projects;
pub mod protections;
pub mod restores;
pub mod saves;
pub mod shares;
pub mod template_restores;
pub mod templates;
pub mod workstations;

use crate::auth::{self, Gate};
use crate::state::AppState;
use axum::routing::{get, post};
use axum::Router;
use std::time::Duration;
use utoipa::OpenApi;

/// Adds the answers every route can give to each operation of the document: the
/// middleware's refusals (401 token, 403 Host/Origin, 504 timeout), 404 where the path names
/// something, and for routes with a body 400, 413 (size), 415 (content type) and 422 (shape),
/// all as `ApiError`.
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ApiError")))
                            .build(),
                    )
                    .build(),
            )
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                let mut common = vec![
                    ("401", "missing or wrong x-prism-token"),
                    ("403", "Host or Origin is not loopback"),
                    ("504", "the request took longer than the daemon allows"),
                ];
                if path.contains('{') {
                    common.push(("404", "no such thing"));
                }
                if op.request_body.is_some() {
                    common.extend([
                        ("400", "invalid input"),
                        ("413", "body over 1 MiB"),
                        ("415", "body is not application/json"),
                        ("422", "body does not match the schema"),
                    ]);
                }
                for (code, why) in common {
                    op.responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| error(why));
                }
            }
        }
    }
}

/// The OpenAPI document of the daemon's API.
#[derive(OpenApi)]
#[openapi(
    modifiers(&CommonResponses),
    info(
        title = "prismd",
        description = "Prism daemon API (loopback only; every request but GET /v1/hello needs the x-prism-token header; Host must be exactly 127.0.0.1:PORT or localhost:PORT)."
    ),
    paths(
        daemon::health,
        daemon::hello,
        daemon::openapi,
        daemon::shutdown,
        templates::list,
        templates::info,
        templates::validate,
        templates::copy,
        templates::refresh,
        workstations::list,
        workstations::launch,
        workstations::action,
        workstations::connection,
        workstations::access,
        saves::save,
        shares::share,
        shares::sharing,
        templates::versions,
        deletions::delete,
        deletions::prune,
        deprecations::deprecate,
        restores::restore,
        protections::protect,
        template_restores::restore,
        imports::import,
        projects::list,
        projects::create,
        projects::show,
        projects::cost,
        projects::share,
        projects::update,
        projects::delete,
        operations::list,
        operations::show,
        operations::cancel,
    ),
    components(schemas(
        prism_api::Health,
        prism_api::Hello,
        prism_api::ApiError,
        prism_api::TemplateList,
        prism_api::TemplateSummary,
        prism_api::TemplateIssue,
        prism_api::TemplateDetail,
        prism_api::ValidateRequest,
        prism_api::ValidateReport,
        prism_api::Workstation,
        prism_api::AccessRequest,
        prism_api::AccessChange,
        prism_api::WorkstationList,
        prism_api::Connection,
        prism_api::RunningOperation,
        prism_api::LaunchRequest,
        prism_api::WorkstationAction,
        prism_api::AwsTarget,
        prism_api::RefreshRequest,
        prism_api::RefreshReport,
        prism_api::SaveRequest,
        prism_api::SavePlan,
        prism_api::TimeBasedCopyPlan,
        prism_api::RegionPrice,
        prism_api::CaptureMode,
        prism_api::CopyRequest,
        prism_api::CopyPlan,
        templates::CopyAnswer,
        prism_api::ShareRequest,
        prism_api::SharePlan,
        prism_api::RegionImage,
        shares::ShareAnswer,
        prism_api::TemplateSharing,
        prism_api::TemplateVersions,
        prism_api::VersionInfo,
        prism_api::RegionSharing,
        prism_api::TemplateDeleteRequest,
        prism_api::TemplateDeletePlan,
        deletions::DeleteAnswer,
        deletions::PruneAnswer,
        prism_api::TemplatePruneRequest,
        prism_api::TemplatePrunePlan,
        prism_api::PruneDecision,
        prism_api::DeprecateRequest,
        prism_api::DeprecatePlan,
        deprecations::DeprecateAnswer,
        prism_api::RestoreRequest,
        prism_api::RestorePlan,
        restores::RestoreAnswer,
        prism_api::ProtectRequest,
        prism_api::ProtectPlan,
        protections::ProtectAnswer,
        prism_api::TemplateRestoreRequest,
        prism_api::TemplateRestorePlan,
        prism_api::RestoreImagePlan,
        template_restores::TemplateRestoreAnswer,
        prism_api::ImportRequest,
        prism_api::ImportReport,
        prism_api::ProjectCreateRequest,
        prism_api::Project,
        prism_api::ProjectList,
        prism_api::ProjectDetail,
        prism_api::ProjectCost,
        prism_api::ProjectImage,
        prism_api::ProjectShareRequest,
        prism_api::ProjectUpdateRequest,
        prism_api::ProjectUpdate,
        prism_api::ProjectDeleteRequest,
        prism_api::ProjectDeletion,
        prism_api::Operation,
        prism_api::OperationList,
        prism_api::OperationEvent,
        prism_api::OperationStatus,
        prism_api::Submitted,
        prism_api::SaveResult,
        prism_api::RegionOutcome,
    ))
)]
pub struct ApiDoc;

/// Request bodies larger than this are refused (templates and requests are small).
pub const MAX_BODY: usize = 1024 * 1024;

/// Builds the router with authentication, body limit and per-request timeout.
pub fn router(state: AppState, gate: Gate) -> Router {
    // Handlers only check and submit; long work runs in operations. 120 s bounds a pre-flight
    // that waits on slow AWS answers.
    let quick = Router::new()
        .route("/v1/health", get(daemon::health))
        .route(auth::HELLO_PATH, get(daemon::hello))
        .route("/v1/openapi.json", get(daemon::openapi))
        .route("/v1/daemon/shutdown", post(daemon::shutdown))
        .route("/v1/templates", get(templates::list))
        // GET on these paths is a template that happens to have that name.
        .route(
            "/v1/templates/validate",
            post(templates::validate).get(|s| templates::info_named(s, "validate")),
        )
        .route(
            "/v1/templates/copies",
            post(templates::copy).get(|s| templates::info_named(s, "copies")),
        )
        .route(
            "/v1/templates/shares",
            post(shares::share).get(|s| templates::info_named(s, "shares")),
        )
        .route(
            "/v1/templates/imports",
            post(imports::import).get(|s| templates::info_named(s, "imports")),
        )
        .route(
            "/v1/templates/deletions",
            post(deletions::delete).get(|s| templates::info_named(s, "deletions")),
        )
        .route(
            "/v1/templates/prunes",
            post(deletions::prune).get(|s| templates::info_named(s, "prunes")),
        )
        .route(
            "/v1/templates/deprecations",
            post(deprecations::deprecate).get(|s| templates::info_named(s, "deprecations")),
        )
        .route(
            "/v1/templates/protections",
            post(protections::protect).get(|s| templates::info_named(s, "protections")),
        )
        .route(
            "/v1/templates/restores",
            post(template_restores::restore).get(|s| templates::info_named(s, "restores")),
        )
        .route("/v1/templates/{name}", get(templates::info))
        .route("/v1/templates/{name}/sharing", get(shares::sharing))
        .route("/v1/templates/{name}/versions", get(templates::versions))
        .route(
            "/v1/workstations",
            get(workstations::list).post(workstations::launch),
        )
        .route(
            "/v1/workstations/{name}/{action}",
            post(workstations::action),
        )
        .route(
            "/v1/workstations/{name}/connection",
            get(workstations::connection),
        )
        .route("/v1/workstations/{name}/access", post(workstations::access))
        .route("/v1/saves", post(saves::save))
        .route("/v1/restores", post(restores::restore))
        .route("/v1/projects", get(projects::list).post(projects::create))
        .route("/v1/projects/{name}", get(projects::show))
        .route("/v1/projects/{name}/cost", get(projects::cost))
        .route("/v1/projects/{name}/shares", post(projects::share))
        .route("/v1/projects/{name}/update", post(projects::update))
        .route("/v1/projects/{name}/delete", post(projects::delete))
        .route("/v1/operations", get(operations::list))
        .route("/v1/operations/{id}", get(operations::show))
        .route("/v1/operations/{id}/cancel", post(operations::cancel))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            Duration::from_secs(120),
        ));
    // A refresh reads every Prism image of every region the user works in: read-only, but
    // thousands of images on a slow endpoint take minutes. 15 min bounds it.
    let bulk = Router::new()
        .route(
            "/v1/templates/refresh",
            post(templates::refresh).get(|s| templates::info_named(s, "refresh")),
        )
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            Duration::from_secs(900),
        ));
    quick
        .merge(bulk)
        .with_state(state)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(gate, auth::require))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY))
        .layer(axum::middleware::map_response(json_errors))
}

/// Resolves the region of a request: its own, else the daemon's default.
pub fn region_of(
    state: &AppState,
    aws: &prism_api::AwsTarget,
) -> Result<String, crate::errors::HttpError> {
    aws.region
        .clone()
        .or_else(|| state.default_region.clone())
        .ok_or_else(|| {
            crate::errors::HttpError::bad_request(
                "no AWS region given",
                Some("pass --region or set AWS_REGION (or a region in your AWS profile)".into()),
            )
        })
}

async fn not_found() -> crate::errors::HttpError {
    crate::errors::HttpError::not_found("no such route", Some("see GET /v1/openapi.json".into()))
}

/// Every error answer is a JSON [`prism_api::ApiError`], including the ones axum and the
/// layers produce themselves (bad JSON, wrong method, body too large, timeout).
async fn json_errors(resp: axum::response::Response) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    use prism_api::ApiErrorKind;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return resp;
    }
    let text = match axum::body::to_bytes(resp.into_body(), 64 * 1024).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
        Err(_) => String::new(),
    };
    let (kind, default) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            ApiErrorKind::InvalidInput,
            format!("request body larger than {MAX_BODY} bytes"),
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            ApiErrorKind::InvalidInput,
            "method not allowed on this route".to_string(),
        ),
        StatusCode::NOT_FOUND => (ApiErrorKind::NotFound, "no such route".to_string()),
        StatusCode::GATEWAY_TIMEOUT => (
            ApiErrorKind::Internal,
            "the request took longer than 120 s".to_string(),
        ),
        s if s.is_client_error() => (ApiErrorKind::InvalidInput, "bad request".to_string()),
        _ => (ApiErrorKind::Internal, "internal error".to_string()),
    };
    let message = if text.is_empty() { default } else { text };
    (
        status,
        axum::Json(prism_api::ApiError {
            kind,
            message,
            hint: None,
            operation_id: None,
        }),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_route_and_the_common_refusals() {
        let doc = ApiDoc::openapi();
        let paths = &doc.paths.paths;
        for p in [
            "/v1/saves",
            "/v1/templates/shares",
            "/v1/templates/deletions",
            "/v1/templates/prunes",
            "/v1/templates/deprecations",
            "/v1/restores",
            "/v1/templates/protections",
            "/v1/templates/restores",
            "/v1/templates/imports",
            "/v1/projects",
            "/v1/projects/{name}",
            "/v1/projects/{name}/cost",
            "/v1/projects/{name}/shares",
            "/v1/projects/{name}/update",
            "/v1/projects/{name}/delete",
            "/v1/templates/refresh",
        ] {
            assert!(paths.contains_key(p), "{p} is documented");
        }
        // Every {param} of a path is declared (schemathesis cannot call it otherwise).
        for (path, item) in paths {
            for op in [&item.get, &item.post].into_iter().flatten() {
                let declared: Vec<&str> = op
                    .parameters
                    .iter()
                    .flatten()
                    .filter_map(|p| match p {
                        utoipa::openapi::RefOr::T(p) => Some(p.name.as_str()),
                        utoipa::openapi::RefOr::Ref(_) => None,
                    })
                    .collect();
                for seg in path.split('/').filter(|s| s.starts_with('{')) {
                    let name = seg.trim_matches(|c| c == '{' || c == '}');
                    assert!(declared.contains(&name), "{path} declares {name}");
                }
            }
        }
        let codes = |path: &str| -> Vec<String> {
            let item = &paths[path];
            let op = item.post.as_ref().or(item.get.as_ref()).unwrap();
            op.responses.responses.keys().cloned().collect()
        };
        let saves = codes("/v1/saves");
        for c in [
            "200", "400", "401", "403", "409", "413", "415", "422", "504",
        ] {
            assert!(
                saves.contains(&c.to_string()),
                "POST /v1/saves documents {c}: {saves:?}"
            );
        }
        assert!(codes("/v1/projects/{name}").contains(&"404".to_string()));
        assert!(
            !codes("/v1/health").contains(&"422".to_string()),
            "no body, no 422"
        );
    }
}
