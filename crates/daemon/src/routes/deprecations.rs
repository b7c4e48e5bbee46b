//! Deprecating a saved version, and cancelling a deprecation.

use crate::body::Body;
use crate::errors::HttpResult;
use crate::routes::operations::to_api;
use crate::routes::templates;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use prism_api::{DeprecatePlan, DeprecateRequest, Submitted};

/// The answer to a deprecation: the plan, and the operation unless it was a dry run.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DeprecateAnswer {
    /// What the deprecation changes.
    pub plan: DeprecatePlan,
    /// The submitted operation (absent for a dry run).
    pub submitted: Option<Submitted>,
}

/// Checks a deprecation (or, with `remove`, its cancellation) and submits it (`dry_run`: only
/// checks).
#[utoipa::path(post, path = "/v1/templates/deprecations", request_body = DeprecateRequest, responses((status = 200, body = DeprecateAnswer), (status = 400, body = prism_api::ApiError), (status = 404, body = prism_api::ApiError), (status = 409, body = prism_api::ApiError)))]
pub async fn deprecate(
    State(s): State<AppState>,
    Body(req): Body<DeprecateRequest>,
) -> HttpResult<DeprecateAnswer> {
    let c = templates::load(&s).await?;
    let (plan, op) = prism_ops::deprecate::prepare(s.env(), &c, &req).await?;
    if req.dry_run {
        return Ok(Json(DeprecateAnswer {
            plan,
            submitted: None,
        }));
    }
    let row = s.runner.submit(op).await?;
    Ok(Json(DeprecateAnswer {
        plan,
        submitted: Some(Submitted {
            operation: to_api(row, vec![]),
        }),
    }))
}
