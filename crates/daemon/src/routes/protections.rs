//! Protecting a saved version from deregistration, and lifting that.

use crate::body::Body;
use crate::errors::HttpResult;
use crate::routes::operations::to_api;
use crate::routes::templates;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use prism_api::{ProtectPlan, ProtectRequest, Submitted};

/// The answer to a protect: the plan, and the operation unless it was a dry run.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ProtectAnswer {
    /// What the protect changes.
    pub plan: ProtectPlan,
    /// The submitted operation (absent for a dry run).
    pub submitted: Option<Submitted>,
}

/// Checks a protect (or, with `remove`, an unprotect) and submits it (`dry_run`: only checks).
#[utoipa::path(post, path = "/v1/templates/protections", request_body = ProtectRequest, responses((status = 200, body = ProtectAnswer), (status = 400, body = prism_api::ApiError), (status = 404, body = prism_api::ApiError), (status = 409, body = prism_api::ApiError)))]
pub async fn protect(
    State(s): State<AppState>,
    Body(req): Body<ProtectRequest>,
) -> HttpResult<ProtectAnswer> {
    let c = templates::load(&s).await?;
    let (plan, op) = prism_ops::protect::prepare(s.env(), &c, &req).await?;
    if req.dry_run {
        return Ok(Json(ProtectAnswer {
            plan,
            submitted: None,
        }));
    }
    let row = s.runner.submit(op).await?;
    Ok(Json(ProtectAnswer {
        plan,
        submitted: Some(Submitted {
            operation: to_api(row, vec![]),
        }),
    }))
}
