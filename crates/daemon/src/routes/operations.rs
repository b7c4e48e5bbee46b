//! Listing, showing and cancelling operations.

use crate::errors::{HttpError, HttpResult};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use prism_api::{Operation, OperationEvent, OperationList, OperationStatus};
use prism_store::{EventRow, OperationRow};

/// Converts a stored operation (and optionally its journal) to the API shape.
pub fn to_api(row: OperationRow, events: Vec<EventRow>) -> Operation {
    // Labels come from the saga's one step table, so progress speaks the user's language.
    // Built only when there are events to label (listings pass none).
    let saga = (!events.is_empty())
        .then(|| prism_ops::registry::saga_for(&row.kind))
        .flatten();
    let label_of = |step: &str| {
        saga.as_ref()?
            .steps
            .iter()
            .find(|s| s.name() == step)
            .map(|s| s.label().to_string())
    };
    Operation {
        status: OperationStatus::parse(&row.status).unwrap_or(OperationStatus::Failed),
        id: row.id,
        kind: row.kind,
        target: row.target,
        progress: row.progress,
        input: row.input,
        result: row.result,
        error: row.error,
        cancel_requested: row.cancel_requested,
        created_at: row.created_at,
        updated_at: row.updated_at,
        events: events
            .into_iter()
            .map(|e| OperationEvent {
                seq: e.seq,
                label: label_of(&e.step),
                step: e.step,
                event: e.event,
                sub: e.sub,
                payload: e.payload,
                at: e.at,
            })
            .collect(),
    }
}

/// Query of the list.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// At most this many (default 50).
    pub limit: Option<u32>,
}

/// Operations, newest first.
#[utoipa::path(get, path = "/v1/operations", operation_id = "list_operations", params(ListQuery), responses((status = 200, body = OperationList)))]
pub async fn list(
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
) -> HttpResult<OperationList> {
    let rows = s
        .env()
        .store
        .operations(q.limit.unwrap_or(50).min(1000))
        .await?;
    Ok(Json(OperationList {
        operations: rows.into_iter().map(|r| to_api(r, vec![])).collect(),
    }))
}

/// Finds an operation by full id or unique prefix.
pub async fn find(s: &AppState, id: &str) -> Result<OperationRow, HttpError> {
    if let Some(r) = s.env().store.operation(id).await? {
        return Ok(r);
    }
    if id.len() >= 4 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        let mut m = s.env().store.operations_by_prefix(id).await?;
        if m.len() == 1 {
            return Ok(m.remove(0));
        }
        if m.len() > 1 {
            return Err(HttpError::bad_request(
                format!("operation id prefix '{id}' is ambiguous"),
                Some("give more characters".into()),
            ));
        }
    }
    Err(HttpError::not_found(
        format!("no operation '{id}'"),
        Some("list operations with: prism operations".into()),
    ))
}

/// One operation with its journal.
#[utoipa::path(get, path = "/v1/operations/{id}", params(("id" = String, Path)), responses((status = 200, body = Operation), (status = 404, body = prism_api::ApiError)))]
pub async fn show(State(s): State<AppState>, Path(id): Path<String>) -> HttpResult<Operation> {
    let row = find(&s, &id).await?;
    let events = s.env().store.events(&row.id).await?;
    Ok(Json(to_api(row, events)))
}

/// Requests a cancel: the operation compensates (the workstation ends as it started).
#[utoipa::path(post, path = "/v1/operations/{id}/cancel", params(("id" = String, Path)), responses((status = 200, body = Operation), (status = 400, body = prism_api::ApiError)))]
pub async fn cancel(State(s): State<AppState>, Path(id): Path<String>) -> HttpResult<Operation> {
    let row = find(&s, &id).await?;
    if !s.env().store.request_cancel(&row.id).await? {
        return Err(HttpError::bad_request(
            format!("operation {} has already ended ({})", row.id, row.status),
            None,
        ));
    }
    let row = find(&s, &row.id).await?;
    Ok(Json(to_api(row, vec![])))
}
