//! Sharing a saved version with accounts, organizations, OUs or everyone, and taking it back.

use crate::body::Body;
use crate::errors::HttpResult;
use crate::routes::operations::to_api;
use crate::routes::templates;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use prism_api::{SharePlan, ShareRequest, Submitted};

/// The answer to a share: the plan, and the operation unless it was a dry run.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ShareAnswer {
    /// What the share does.
    pub plan: SharePlan,
    /// The submitted operation (absent for a dry run).
    pub submitted: Option<Submitted>,
}

/// Checks a share (or, with `remove`, an unshare) and submits it (`dry_run`: only checks).
#[utoipa::path(post, path = "/v1/templates/shares", request_body = ShareRequest, responses((status = 200, body = ShareAnswer), (status = 400, body = prism_api::ApiError), (status = 404, body = prism_api::ApiError), (status = 409, body = prism_api::ApiError)))]
pub async fn share(
    State(s): State<AppState>,
    Body(req): Body<ShareRequest>,
) -> HttpResult<ShareAnswer> {
    let c = templates::load(&s).await?;
    let (plan, op) = prism_ops::share::prepare(s.env(), &c, &req).await?;
    if req.dry_run {
        return Ok(Json(ShareAnswer {
            plan,
            submitted: None,
        }));
    }
    let row = s.runner.submit(op).await?;
    Ok(Json(ShareAnswer {
        plan,
        submitted: Some(Submitted {
            operation: to_api(row, vec![]),
        }),
    }))
}

/// Query of a sharing read.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SharingQuery {
    /// AWS profile.
    pub profile: Option<String>,
}

/// Who may launch a saved version, per region, read from EC2.
#[utoipa::path(get, path = "/v1/templates/{name}/sharing", operation_id = "template_sharing", params(("name" = String, Path), SharingQuery), responses((status = 200, body = prism_api::TemplateSharing), (status = 400, body = prism_api::ApiError), (status = 404, body = prism_api::ApiError)))]
pub async fn sharing(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<SharingQuery>,
) -> HttpResult<prism_api::TemplateSharing> {
    let c = templates::load(&s).await?;
    Ok(Json(
        prism_ops::share::sharing(s.env(), &c, &name, q.profile.as_deref()).await?,
    ))
}
