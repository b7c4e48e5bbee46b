//! Submitting a save (or answering its plan to a dry run).

use crate::body::Body;
use crate::errors::HttpResult;
use crate::routes::operations::to_api;
use crate::routes::{region_of, templates};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use prism_api::{SaveRequest, Submitted};

/// The answer to a save: the plan, and the operation unless it was a dry run.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SaveAnswer {
    /// What the save does.
    pub plan: prism_api::SavePlan,
    /// The submitted operation (absent for a dry run).
    pub submitted: Option<Submitted>,
}

/// Checks a save and submits it (`dry_run`: only checks and plans).
#[utoipa::path(post, path = "/v1/saves", request_body = SaveRequest, responses((status = 200, body = SaveAnswer), (status = 400, body = prism_api::ApiError), (status = 409, body = prism_api::ApiError)))]
pub async fn save(
    State(s): State<AppState>,
    Body(req): Body<SaveRequest>,
) -> HttpResult<SaveAnswer> {
    let region = region_of(&s, &req.aws)?;
    let c = templates::load(&s).await?;
    let (plan, op) = prism_ops::save::prepare(s.env(), &c, &req, &region).await?;
    if req.dry_run {
        return Ok(Json(SaveAnswer {
            plan,
            submitted: None,
        }));
    }
    let row = s.runner.submit(op).await?;
    Ok(Json(SaveAnswer {
        plan,
        submitted: Some(Submitted {
            operation: to_api(row, vec![]),
        }),
    }))
}
