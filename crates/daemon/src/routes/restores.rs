//! Restoring a workstation in place from a saved version (EC2's replace-root-volume task).

use crate::body::Body;
use crate::errors::HttpResult;
use crate::routes::operations::to_api;
use crate::routes::{region_of, templates};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use prism_api::{RestorePlan, RestoreRequest, Submitted};

/// The answer to a restore: the plan, and the operation unless it was a dry run.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RestoreAnswer {
    /// What the restore does.
    pub plan: RestorePlan,
    /// The submitted operation (absent for a dry run).
    pub submitted: Option<Submitted>,
}

/// Checks a restore and submits it (`dry_run`: only checks and plans).
#[utoipa::path(post, path = "/v1/restores", request_body = RestoreRequest, responses((status = 200, body = RestoreAnswer), (status = 400, body = prism_api::ApiError), (status = 404, body = prism_api::ApiError), (status = 409, body = prism_api::ApiError)))]
pub async fn restore(
    State(s): State<AppState>,
    Body(req): Body<RestoreRequest>,
) -> HttpResult<RestoreAnswer> {
    let region = region_of(&s, &req.aws)?;
    let c = templates::load(&s).await?;
    let (plan, op) = prism_ops::restore::prepare(s.env(), &c, &req, &region).await?;
    if req.dry_run {
        return Ok(Json(RestoreAnswer {
            plan,
            submitted: None,
        }));
    }
    let row = s.runner.submit(op).await?;
    Ok(Json(RestoreAnswer {
        plan,
        submitted: Some(Submitted {
            operation: to_api(row, vec![]),
        }),
    }))
}
