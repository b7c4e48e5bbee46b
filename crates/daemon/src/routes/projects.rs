//! Projects: create, list, show (templates and workstations by tag), cost, share a template
//! with the project's accounts.

use crate::body::Body;
use crate::errors::{HttpError, HttpResult};
use crate::routes::operations::to_api;
use crate::routes::shares::ShareAnswer;
use crate::routes::{templates, workstations};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use prism_api::{
    Project, ProjectCost, ProjectCreateRequest, ProjectDeleteRequest, ProjectDeletion,
    ProjectDetail, ProjectList, ProjectShareRequest, ProjectUpdate, ProjectUpdateRequest,
    Submitted,
};

/// Query of a cost.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CostQuery {
    /// Also look in this region.
    pub region: Option<String>,
    /// AWS profile.
    pub profile: Option<String>,
}

/// Every project.
#[utoipa::path(get, path = "/v1/projects", operation_id = "list_projects", responses((status = 200, body = ProjectList)))]
pub async fn list(State(s): State<AppState>) -> HttpResult<ProjectList> {
    let projects = s
        .env()
        .store
        .projects()
        .await
        .map_err(prism_ops::OpsError::from)?;
    Ok(Json(ProjectList {
        projects: projects
            .into_iter()
            .map(prism_ops::projects::to_api)
            .collect(),
    }))
}

/// Creates a project.
#[utoipa::path(post, path = "/v1/projects", operation_id = "create_project", request_body = ProjectCreateRequest, responses((status = 200, body = Project), (status = 400, body = prism_api::ApiError), (status = 409, body = prism_api::ApiError)))]
pub async fn create(
    State(s): State<AppState>,
    Body(req): Body<ProjectCreateRequest>,
) -> HttpResult<Project> {
    Ok(Json(prism_ops::projects::create(s.env(), &req).await?))
}

/// A project with its saved templates and workstations.
#[utoipa::path(get, path = "/v1/projects/{name}", operation_id = "project_info", params(("name" = String, Path)), responses((status = 200, body = ProjectDetail), (status = 404, body = prism_api::ApiError)))]
pub async fn show(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> HttpResult<ProjectDetail> {
    let project = prism_ops::projects::get(s.env(), &name).await?;
    let c = templates::load(&s).await?;
    let ws = s
        .env()
        .store
        .workstations()
        .await
        .map_err(prism_ops::OpsError::from)?;
    Ok(Json(ProjectDetail {
        project,
        templates: prism_ops::projects::templates(&c, &name)
            .into_iter()
            .map(|e| templates::summary(&c, e))
            .collect(),
        workstations: ws
            .into_iter()
            .filter(|w| w.project.as_deref() == Some(name.as_str()))
            .map(workstations::to_api_ws)
            .collect(),
    }))
}

/// What the project's saved images cost to keep, against its budget.
#[utoipa::path(get, path = "/v1/projects/{name}/cost", params(("name" = String, Path), CostQuery), responses((status = 200, body = ProjectCost), (status = 404, body = prism_api::ApiError)))]
pub async fn cost(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<CostQuery>,
) -> HttpResult<ProjectCost> {
    if let Some(r) = &q.region {
        if !prism_ops::naming::region_shape_ok(r) {
            return Err(prism_ops::regions::not_a_region(r).into());
        }
    }
    let c = templates::load(&s).await?;
    let region = q.region.clone().or_else(|| s.default_region.clone());
    let cost =
        prism_ops::projects::cost(s.env(), &c, &name, q.profile.as_deref(), region.as_deref())
            .await?;
    Ok(Json(cost))
}

/// Shares one of the project's templates with the project's member accounts.
#[utoipa::path(post, path = "/v1/projects/{name}/shares", operation_id = "project_share_template", params(("name" = String, Path)), request_body = ProjectShareRequest, responses((status = 200, body = ShareAnswer), (status = 400, body = prism_api::ApiError), (status = 404, body = prism_api::ApiError)))]
pub async fn share(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Body(req): Body<ProjectShareRequest>,
) -> HttpResult<ShareAnswer> {
    let c = templates::load(&s).await?;
    let share = prism_ops::projects::share_request(s.env(), &c, &name, &req).await?;
    let (plan, op) = prism_ops::share::prepare(s.env(), &c, &share).await?;
    if share.dry_run {
        return Ok(Json(ShareAnswer {
            plan,
            submitted: None,
        }));
    }
    let row = s.runner.submit(op).await.map_err(HttpError::from)?;
    Ok(Json(ShareAnswer {
        plan,
        submitted: Some(Submitted {
            operation: to_api(row, vec![]),
        }),
    }))
}

/// Changes a project's member accounts, budget or description.
#[utoipa::path(post, path = "/v1/projects/{name}/update", operation_id = "update_project", params(("name" = String, Path)), request_body = ProjectUpdateRequest, responses((status = 200, body = ProjectUpdate), (status = 400, body = prism_api::ApiError), (status = 404, body = prism_api::ApiError)))]
pub async fn update(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Body(req): Body<ProjectUpdateRequest>,
) -> HttpResult<ProjectUpdate> {
    Ok(Json(
        prism_ops::projects::update(s.env(), &name, &req).await?,
    ))
}

/// Deletes a project's record; refused while anything carries its tag unless `force`.
#[utoipa::path(post, path = "/v1/projects/{name}/delete", operation_id = "delete_project", params(("name" = String, Path)), request_body = ProjectDeleteRequest, responses((status = 200, body = ProjectDeletion), (status = 400, body = prism_api::ApiError), (status = 404, body = prism_api::ApiError)))]
pub async fn delete(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Body(req): Body<ProjectDeleteRequest>,
) -> HttpResult<ProjectDeletion> {
    let c = templates::load(&s).await?;
    Ok(Json(
        prism_ops::projects::delete(s.env(), &c, &name, &req).await?,
    ))
}
