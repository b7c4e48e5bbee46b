//! The template catalogue: list, show, validate, and copy a saved version to a region.

use crate::body::Body;
use crate::errors::{HttpError, HttpResult};
use crate::routes::operations::to_api;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use prism_api::{
    CopyRequest, RefreshReport, RefreshRequest, Submitted, TemplateDetail, TemplateIssue,
    TemplateList, TemplateSummary, ValidateReport, ValidateRequest,
};
use prism_templates::{Catalogue, Entry, Origin};
use std::sync::Arc;

/// The catalogue (built-ins plus the user's directory), reloaded only when the directory's
/// fingerprint changed since the last load; file work runs off the async threads.
pub async fn load(s: &AppState) -> Result<Arc<Catalogue>, HttpError> {
    let dir = s.env().template_dir.clone();
    let mut cached = s.catalogue.lock().await;
    let d2 = dir.clone();
    let fp = tokio::task::spawn_blocking(move || prism_templates::dir_fingerprint(&d2))
        .await
        .map_err(|e| HttpError::internal(format!("reading the template directory: {e}")))?;
    if let Some((f, c)) = cached.as_ref() {
        if *f == fp {
            return Ok(c.clone());
        }
    }
    let c = tokio::task::spawn_blocking(move || Catalogue::load(Some(&dir)))
        .await
        .map_err(|e| HttpError::internal(format!("loading templates: {e}")))?;
    let c = Arc::new(c);
    *cached = Some((fp, c.clone()));
    Ok(c)
}

/// The list view of a catalogue entry.
pub fn summary(c: &Catalogue, e: &Entry) -> TemplateSummary {
    let t = &e.template;
    let (origin, path) = match &e.origin {
        Origin::Builtin => ("builtin", None),
        Origin::User(p) => ("user", Some(p.display().to_string())),
        Origin::Saved(p) => ("saved", Some(p.display().to_string())),
    };
    TemplateSummary {
        name: t.id().to_string(),
        display_name: t.display_name().to_string(),
        description: t.description.clone(),
        version: t.version.clone(),
        versions: c
            .versions(t.id())
            .iter()
            .filter_map(|v| v.template.version.clone())
            .collect(),
        origin: origin.into(),
        path,
        base: t.base.clone(),
        regions: t.ami_config.amis.keys().cloned().collect(),
        project: t.project.clone(),
        deprecated: t.deprecation.as_ref().map(|d| d.at.clone()),
        replacement: t.deprecation.as_ref().and_then(|d| d.replacement.clone()),
    }
}

/// Query of the template list.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Also deprecated versions: each template's highest version, deprecated or not.
    #[serde(default)]
    pub all: bool,
}

/// All templates (latest version of each that is not deprecated; with `all`, the highest
/// version, deprecated or not) and the files that failed to load.
#[utoipa::path(get, path = "/v1/templates", operation_id = "list_templates", params(ListQuery), responses((status = 200, body = TemplateList)))]
pub async fn list(
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
) -> HttpResult<TemplateList> {
    let c = load(&s).await?;
    let entries = if q.all {
        c.latest()
    } else {
        c.latest_current()
    };
    Ok(Json(TemplateList {
        templates: entries.into_iter().map(|e| summary(&c, e)).collect(),
        issues: c
            .issues()
            .iter()
            .map(|i| TemplateIssue {
                origin: i.origin.clone(),
                message: i.message.clone(),
            })
            .collect(),
    }))
}

/// One template (`T` or `T@N`), inheritance resolved.
#[utoipa::path(get, path = "/v1/templates/{name}", operation_id = "template_info", params(("name" = String, Path)), responses((status = 200, body = TemplateDetail), (status = 404, body = prism_api::ApiError)))]
pub async fn info(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> HttpResult<TemplateDetail> {
    let c = load(&s).await?;
    let e = c.get(&name).map_err(|e| {
        HttpError::not_found(
            e.to_string(),
            Some("list templates with: prism templates".into()),
        )
    })?;
    Ok(Json(TemplateDetail {
        summary: summary(&c, e),
        yaml: e
            .template
            .to_yaml()
            .map_err(|e| HttpError::internal_error(&e))?,
        template: serde_json::to_value(&e.template).map_err(|e| HttpError::internal_error(&e))?,
        warnings: e.warnings.clone(),
    }))
}

/// Every version of a template: lineage, regions, sharing, size, usage.
#[utoipa::path(get, path = "/v1/templates/{name}/versions", operation_id = "template_versions", params(("name" = String, Path), crate::routes::shares::SharingQuery), responses((status = 200, body = prism_api::TemplateVersions), (status = 404, body = prism_api::ApiError)))]
pub async fn versions(
    State(s): State<AppState>,
    Path(name): Path<String>,
    axum::extract::Query(q): axum::extract::Query<crate::routes::shares::SharingQuery>,
) -> HttpResult<prism_api::TemplateVersions> {
    let c = load(&s).await?;
    Ok(Json(
        prism_ops::versions::versions(s.env(), &c, &name, q.profile.as_deref()).await?,
    ))
}

/// `GET` of a template whose name is also a route (`validate`, `copies`, `refresh`).
pub async fn info_named(s: State<AppState>, name: &'static str) -> HttpResult<TemplateDetail> {
    info(s, Path(name.to_string())).await
}

/// `path` as an absolute path to a regular file, or a refusal saying what is wrong.
pub async fn regular_file(path: &str) -> Result<std::path::PathBuf, HttpError> {
    let p = std::path::PathBuf::from(path);
    if !p.is_absolute() {
        return Err(HttpError::bad_request(
            "the path must be absolute",
            Some("the prism CLI makes it absolute for you".into()),
        ));
    }
    // Only regular files: a FIFO or device would block the reading thread forever.
    let meta = tokio::fs::metadata(&p).await;
    if !meta.as_ref().is_ok_and(|m| m.is_file()) {
        return Err(HttpError::bad_request(
            format!("{path} is not a regular file"),
            Some("give the path of a template YAML file".into()),
        ));
    }
    Ok(p)
}

/// Validates a template file against the catalogue.
#[utoipa::path(post, path = "/v1/templates/validate", request_body = ValidateRequest, responses((status = 200, body = ValidateReport)))]
pub async fn validate(
    State(s): State<AppState>,
    Body(req): Body<ValidateRequest>,
) -> HttpResult<ValidateReport> {
    let path = regular_file(&req.path).await?;
    let c = load(&s).await?;
    let p2 = path.clone();
    let r = tokio::task::spawn_blocking(move || prism_templates::validate_file(&p2, &c))
        .await
        .map_err(|e| HttpError::internal_error(&e))?;
    Ok(Json(ValidateReport {
        path: req.path,
        template: (!r.template_id.is_empty()).then(|| r.template_id.clone()),
        valid: r.errors.is_empty(),
        errors: r.errors,
        warnings: r.warnings,
        unused_fields: r.unused_fields,
    }))
}

/// The answer to a copy: the plan, and the operation unless it was a dry run.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CopyAnswer {
    /// What the copy does.
    pub plan: prism_api::CopyPlan,
    /// The submitted operation (absent for a dry run).
    pub submitted: Option<Submitted>,
}

/// Copies a saved version to another region (adds or retries one region); `dry_run` only
/// checks and plans.
#[utoipa::path(post, path = "/v1/templates/copies", request_body = CopyRequest, responses((status = 200, body = CopyAnswer), (status = 400, body = prism_api::ApiError)))]
pub async fn copy(
    State(s): State<AppState>,
    Body(req): Body<CopyRequest>,
) -> HttpResult<CopyAnswer> {
    let c = load(&s).await?;
    let op = prism_ops::copy::prepare(s.env(), &c, &req).await?;
    let plan = prism_ops::copy::plan_of(&op)?;
    if req.dry_run {
        return Ok(Json(CopyAnswer {
            plan,
            submitted: None,
        }));
    }
    let row = s.runner.submit(op).await?;
    Ok(Json(CopyAnswer {
        plan,
        submitted: Some(Submitted {
            operation: to_api(row, vec![]),
        }),
    }))
}

/// Discovers saved templates from EC2 (own and shared images) in every region the user works in.
#[utoipa::path(post, path = "/v1/templates/refresh", request_body = RefreshRequest, responses((status = 200, body = RefreshReport)))]
pub async fn refresh(
    State(s): State<AppState>,
    Body(req): Body<RefreshRequest>,
) -> HttpResult<RefreshReport> {
    let mut regions: std::collections::BTreeSet<String> = s
        .env()
        .store
        .workstations()
        .await?
        .into_iter()
        .map(|w| w.region)
        .collect();
    if let Some(r) = &req.aws.region {
        if !prism_ops::naming::region_shape_ok(r) {
            return Err(prism_ops::regions::not_a_region(r).into());
        }
    }
    regions.extend(req.aws.region.clone());
    regions.extend(s.default_region.clone());
    let c = load(&s).await?;
    for e in c.entries() {
        if e.raw.is_saved() {
            regions.extend(e.raw.ami_config.amis.keys().cloned());
        }
    }
    let regions: Vec<String> = regions.into_iter().collect();
    Ok(Json(
        prism_ops::discover::refresh(s.env(), req.aws.profile.as_deref(), &regions).await?,
    ))
}
