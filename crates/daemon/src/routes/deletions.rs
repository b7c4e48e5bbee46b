//! Deleting saved template versions (images, snapshots and files) for good.

use crate::body::Body;
use crate::errors::HttpResult;
use crate::routes::operations::to_api;
use crate::routes::templates;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use prism_api::{Submitted, TemplateDeletePlan, TemplateDeleteRequest};

/// The answer to a deletion: the plan, and the operation unless it was a dry run.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DeleteAnswer {
    /// What the deletion removes.
    pub plan: TemplateDeletePlan,
    /// The submitted operation (absent for a dry run).
    pub submitted: Option<Submitted>,
}

/// Checks a deletion and submits it (`dry_run`: only checks and plans).
#[utoipa::path(post, path = "/v1/templates/deletions", request_body = TemplateDeleteRequest, responses((status = 200, body = DeleteAnswer), (status = 400, body = prism_api::ApiError), (status = 404, body = prism_api::ApiError), (status = 409, body = prism_api::ApiError)))]
pub async fn delete(
    State(s): State<AppState>,
    Body(req): Body<TemplateDeleteRequest>,
) -> HttpResult<DeleteAnswer> {
    let c = templates::load(&s).await?;
    let (plan, op) = prism_ops::template_delete::prepare(s.env(), &c, &req).await?;
    if req.dry_run {
        return Ok(Json(DeleteAnswer {
            plan,
            submitted: None,
        }));
    }
    let row = s.runner.submit(op).await?;
    Ok(Json(DeleteAnswer {
        plan,
        submitted: Some(Submitted {
            operation: to_api(row, vec![]),
        }),
    }))
}

/// The answer to a prune: the plan, and the deletion operation unless it was a dry run or
/// no version goes.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PruneAnswer {
    /// What goes, what stays, and why.
    pub plan: prism_api::TemplatePrunePlan,
    /// The submitted deletion (absent for a dry run, or when nothing goes).
    pub submitted: Option<Submitted>,
}

/// Checks a prune and submits the deletion of the versions that go (`dry_run`: only plans).
#[utoipa::path(post, path = "/v1/templates/prunes", request_body = prism_api::TemplatePruneRequest, responses((status = 200, body = PruneAnswer), (status = 400, body = prism_api::ApiError), (status = 404, body = prism_api::ApiError), (status = 409, body = prism_api::ApiError)))]
pub async fn prune(
    State(s): State<AppState>,
    Body(req): Body<prism_api::TemplatePruneRequest>,
) -> HttpResult<PruneAnswer> {
    let c = templates::load(&s).await?;
    let (plan, op) = prism_ops::prune::prepare(s.env(), &c, &req).await?;
    let submitted = match op {
        Some(op) if !req.dry_run => Some(Submitted {
            operation: to_api(s.runner.submit(op).await?, vec![]),
        }),
        _ => None,
    };
    Ok(Json(PruneAnswer { plan, submitted }))
}
