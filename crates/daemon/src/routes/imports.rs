//! Importing a template file (e.g. one a colleague exported with `prism template export`).

use crate::body::Body;
use crate::errors::{HttpError, HttpResult};
use crate::routes::templates::{load, regular_file};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use prism_api::{ImportReport, ImportRequest};

fn conflict(message: String, hint: &str) -> HttpError {
    HttpError::new(
        prism_api::ApiErrorKind::Conflict,
        message,
        Some(hint.into()),
    )
}

/// Validates a template file and writes it into the template directory, unchanged. A saved
/// version is never replaced (versions are immutable); a user template only with `force`.
#[utoipa::path(post, path = "/v1/templates/imports", request_body = ImportRequest, responses((status = 200, body = ImportReport), (status = 400, body = prism_api::ApiError), (status = 409, body = prism_api::ApiError)))]
pub async fn import(
    State(s): State<AppState>,
    Body(req): Body<ImportRequest>,
) -> HttpResult<ImportReport> {
    let path = regular_file(&req.path).await?;
    let c = load(&s).await?;
    let (p2, c2) = (path.clone(), c.clone());
    let report = tokio::task::spawn_blocking(move || prism_templates::validate_file(&p2, &c2))
        .await
        .map_err(|e| HttpError::internal_error(&e))?;
    if !report.is_ok() {
        return Err(HttpError::bad_request(
            format!(
                "{} is not a valid template: {}",
                req.path,
                report.errors.join("; ")
            ),
            Some("fix it, then check it with: prism template validate FILE".into()),
        ));
    }
    // validate_file read it within the size limit; it is small.
    let text = tokio::fs::read_to_string(&path)
        .await
        .map_err(|e| HttpError::bad_request(format!("cannot read {}: {e}", req.path), None))?;
    let t = prism_templates::parse_template(&text, &req.path)
        .map_err(|e| HttpError::bad_request(e.to_string(), None))?
        .template;
    let (reference, file) = if t.is_saved() {
        let v = t.version.clone().unwrap_or_else(|| "1".into());
        (
            format!("{}@{v}", t.id()),
            prism_templates::saved_file_name(t.id(), &v),
        )
    } else {
        (t.id().to_string(), format!("{}.yaml", t.id()))
    };
    let dir = s.env().template_dir.clone();
    let target = dir.join(&file);
    let existing = c.get(&reference).ok().filter(|e| {
        // `T` resolves to the latest version of anything named T; only an exact match counts.
        t.is_saved() || !e.raw.is_saved()
    });
    let replaced = target.exists() || existing.is_some();
    if t.is_saved() {
        if let Some(e) = c.get(&reference).ok().filter(|e| e.raw.is_saved()) {
            if e.raw == t {
                return Ok(Json(ImportReport {
                    template: reference,
                    path: target.display().to_string(),
                    replaced: false,
                    warnings: vec!["this version is already in the catalogue, unchanged".into()],
                }));
            }
            return Err(conflict(
                format!(
                    "{reference} already exists with other content; saved versions never change"
                ),
                "keep the one you have, or delete it first: prism template delete T@N",
            ));
        }
    } else if c.get(t.id()).is_ok_and(|e| e.raw.is_saved()) {
        return Err(conflict(
            format!("'{}' is the name of a saved template", t.id()),
            "rename the template in the file (its name: field) and import it again",
        ));
    } else if replaced && !req.force {
        return Err(conflict(
            format!("template '{}' already exists", t.id()),
            "pass --force to replace it",
        ));
    }
    let (d2, f2) = (dir.clone(), file.clone());
    let written =
        tokio::task::spawn_blocking(move || prism_templates::write_atomically(&d2, &f2, &text))
            .await
            .map_err(|e| HttpError::internal_error(&e))?
            .map_err(|e| HttpError::internal_error(&e))?;
    Ok(Json(ImportReport {
        template: reference,
        path: written.display().to_string(),
        replaced,
        warnings: report.warnings,
    }))
}
