//! Restoring a deleted saved version from EC2's Recycle Bin.

use crate::body::Body;
use crate::errors::HttpResult;
use crate::routes::operations::to_api;
use crate::routes::templates;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use prism_api::{Submitted, TemplateRestorePlan, TemplateRestoreRequest};

/// The answer to a restore: the plan, and the operation unless it was a dry run.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct TemplateRestoreAnswer {
    /// What the restore brings back.
    pub plan: TemplateRestorePlan,
    /// The submitted operation (absent for a dry run).
    pub submitted: Option<Submitted>,
}

/// Checks a restore and submits it (`dry_run`: only checks and plans).
#[utoipa::path(post, path = "/v1/templates/restores", request_body = TemplateRestoreRequest, responses((status = 200, body = TemplateRestoreAnswer), (status = 400, body = prism_api::ApiError), (status = 404, body = prism_api::ApiError), (status = 409, body = prism_api::ApiError)))]
pub async fn restore(
    State(s): State<AppState>,
    Body(req): Body<TemplateRestoreRequest>,
) -> HttpResult<TemplateRestoreAnswer> {
    let c = templates::load(&s).await?;
    let (plan, op) = prism_ops::template_restore::prepare(s.env(), &c, &req).await?;
    if req.dry_run {
        return Ok(Json(TemplateRestoreAnswer {
            plan,
            submitted: None,
        }));
    }
    let row = s.runner.submit(op).await?;
    Ok(Json(TemplateRestoreAnswer {
        plan,
        submitted: Some(Submitted {
            operation: to_api(row, vec![]),
        }),
    }))
}
