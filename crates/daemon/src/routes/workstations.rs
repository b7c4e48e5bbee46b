//! Workstations: list (refreshed from EC2), launch, stop, start, delete.

use crate::body::Body;
use crate::errors::{HttpError, HttpResult};
use crate::routes::operations::to_api;
use crate::routes::{region_of, templates};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use prism_api::{
    LaunchRequest, RunningOperation, Submitted, Workstation, WorkstationAction, WorkstationList,
};
use prism_cloud::{tags, InstanceFilter};
use prism_ops::backoff::retry;
use prism_ops::lifecycle::{self, Action};
use prism_store::WorkstationRow;
use std::collections::BTreeSet;

/// Query of the list.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Refresh from EC2 (default true).
    pub refresh: Option<bool>,
    /// Also refresh this region.
    pub region: Option<String>,
    /// AWS profile.
    pub profile: Option<String>,
}

/// The API view of a cached workstation.
pub fn to_api_ws(w: WorkstationRow) -> Workstation {
    Workstation {
        name: w.name,
        instance_id: w.instance_id,
        region: w.region,
        state: w.state,
        template: w.template,
        template_version: w.template_version,
        project: w.project,
        size: w.size,
        instance_type: w.instance_type,
        architecture: w.architecture,
        public_ip: w.public_ip,
        launched_at: w.launched_at,
        cached_at: None,
        operation: None,
    }
}

/// What an operation does, for people: `saving → my-env@3` for a save (its template and
/// version), else its kind as a verb (`stopping`, `launching`).
fn doing(op: &prism_store::OperationRow) -> String {
    let verb = op.kind.split('.').next().unwrap_or(&op.kind);
    match verb {
        "save" => match (
            op.input.get("template").and_then(|t| t.as_str()),
            op.input.get("version").and_then(|v| v.as_u64()),
        ) {
            (Some(t), Some(v)) => format!("saving → {t}@{v}"),
            (Some(t), None) => format!("saving → {t}"),
            _ => "saving".into(),
        },
        "launch" => "launching".into(),
        "stop" => "stopping".into(),
        "start" => "starting".into(),
        "delete" => "deleting".into(),
        other => other.to_string(),
    }
}

/// Workstations, refreshed from EC2 (by the `prism:managed` tag) in every region the user works in.
#[utoipa::path(get, path = "/v1/workstations", operation_id = "list_workstations", params(ListQuery), responses((status = 200, body = WorkstationList)))]
pub async fn list(
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
) -> HttpResult<WorkstationList> {
    let store = &s.env().store;
    let mut refreshed = vec![];
    let mut failures: Vec<(String, prism_cloud::CloudError)> = vec![];
    if q.refresh.unwrap_or(true) {
        let mut regions: BTreeSet<String> = store
            .workstations()
            .await?
            .into_iter()
            .map(|w| w.region)
            .collect();
        if let Some(r) = &q.region {
            if !prism_ops::naming::region_shape_ok(r) {
                return Err(prism_ops::regions::not_a_region(r).into());
            }
        }
        if let Some(r) = q.region.clone().or_else(|| s.default_region.clone()) {
            regions.insert(r);
        }
        let cloud = s
            .env()
            .clouds
            .cloud(q.profile.as_deref())
            .await
            .map_err(prism_ops::OpsError::from)?;
        let filter = InstanceFilter {
            tag_keys: vec![tags::MANAGED.into(), tags::NAME.into()],
            ..Default::default()
        };
        for region in regions {
            match retry(|| cloud.describe_instances(&region, &filter)).await {
                Ok(list) => {
                    let rows = list
                        .into_iter()
                        .map(|i| WorkstationRow {
                            name: i.tags.get(tags::NAME).cloned().unwrap_or_default(),
                            instance_id: i.id,
                            region: region.clone(),
                            state: i.state.as_str().into(),
                            template: i.tags.get(tags::TEMPLATE).cloned(),
                            template_version: i.tags.get(tags::TEMPLATE_VERSION).cloned(),
                            project: i.tags.get(tags::PROJECT).cloned(),
                            size: i.tags.get(tags::SIZE).cloned(),
                            instance_type: i.instance_type,
                            architecture: i.architecture,
                            public_ip: i.public_ip,
                            launched_at: i.launch_time,
                            profile: q.profile.clone(),
                        })
                        .collect();
                    store.replace_region_workstations(&region, rows).await?;
                    refreshed.push(region);
                }
                Err(e) => failures.push((region, e)),
            }
        }
    }
    // Without usable credentials nothing was read: say so (exit 3 in the CLI) rather than show
    // the cache as if it were current.
    if refreshed.is_empty() {
        if let Some((_, e)) = failures
            .iter()
            .find(|(_, e)| e.kind == prism_cloud::CloudErrorKind::Auth)
        {
            return Err(HttpError::new(
                prism_api::ApiErrorKind::Aws,
                e.to_string(),
                Some(prism_cloud::error::auth_hint(e, q.profile.as_deref())),
            ));
        }
    }
    let errors = failures.iter().map(|(_, e)| e.to_string()).collect();
    let stale: BTreeSet<&str> = failures.iter().map(|(r, _)| r.as_str()).collect();
    let read_times = store.workstation_read_times().await?;
    // Operations on a workstation target it by name; the newest one running is shown.
    let mut running: std::collections::HashMap<String, RunningOperation> = Default::default();
    for op in store.active_operations().await? {
        running.insert(
            op.target.clone(),
            RunningOperation {
                id: op.id.clone(),
                kind: op.kind.clone(),
                doing: doing(&op),
                started_at: op.created_at.clone(),
            },
        );
    }
    let workstations = store
        .workstations()
        .await?
        .into_iter()
        .map(|w| {
            let cached_at = stale
                .contains(w.region.as_str())
                .then(|| read_times.get(&w.name).cloned())
                .flatten();
            Workstation {
                cached_at,
                operation: running.get(&w.name).cloned(),
                ..to_api_ws(w)
            }
        })
        .collect();
    Ok(Json(WorkstationList {
        workstations,
        refreshed_regions: refreshed,
        errors,
    }))
}

/// Launches a workstation from a template.
#[utoipa::path(post, path = "/v1/workstations", request_body = LaunchRequest, responses((status = 200, body = Submitted), (status = 400, body = prism_api::ApiError)))]
pub async fn launch(
    State(s): State<AppState>,
    Body(req): Body<LaunchRequest>,
) -> HttpResult<Submitted> {
    let region = region_of(&s, &req.aws)?;
    let c = templates::load(&s).await?;
    let op = prism_ops::launch::prepare(s.env(), &c, &req, &region).await?;
    let row = s.runner.submit(op).await?;
    Ok(Json(Submitted {
        operation: to_api(row, vec![]),
    }))
}

/// Stops, starts or deletes a workstation.
#[utoipa::path(post, path = "/v1/workstations/{name}/{action}", params(("name" = String, Path), ("action" = String, Path, description = "stop, start or delete")), request_body = WorkstationAction, responses((status = 200, body = Submitted), (status = 404, body = prism_api::ApiError)))]
pub async fn action(
    State(s): State<AppState>,
    Path((name, action)): Path<(String, String)>,
    Body(req): Body<WorkstationAction>,
) -> HttpResult<Submitted> {
    let action = match action.as_str() {
        "stop" => Action::Stop,
        "start" => Action::Start,
        "delete" => Action::Delete,
        other => {
            return Err(HttpError::not_found(
                format!("unknown action '{other}'"),
                Some("use stop, start or delete".into()),
            ))
        }
    };
    let region = region_of(&s, &req.aws)?;
    let op = lifecycle::prepare(s.env(), &name, &region, req.aws.profile.clone(), action).await?;
    let row = s.runner.submit(op).await?;
    Ok(Json(Submitted {
        operation: to_api(row, vec![]),
    }))
}

/// Query of [`connection`].
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectionQuery {
    /// Region to look in when the workstation is not cached (default: the daemon's).
    pub region: Option<String>,
    /// AWS profile.
    pub profile: Option<String>,
}

/// What is needed to reach a workstation, read from EC2 now: state, current public address,
/// key pair, and its template's SSH user and service ports.
#[utoipa::path(get, path = "/v1/workstations/{name}/connection", operation_id = "workstation_connection", params(("name" = String, Path), ConnectionQuery), responses((status = 200, body = prism_api::Connection), (status = 404, body = prism_api::ApiError)))]
pub async fn connection(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<ConnectionQuery>,
) -> HttpResult<prism_api::Connection> {
    let target = prism_api::AwsTarget {
        profile: q.profile.clone(),
        region: q.region.clone(),
    };
    let region = region_of(&s, &target)?;
    if !prism_ops::naming::region_shape_ok(&region) {
        return Err(prism_ops::regions::not_a_region(&region).into());
    }
    let cloud = s
        .env()
        .clouds
        .cloud(q.profile.as_deref())
        .await
        .map_err(prism_ops::OpsError::from)?;
    let found = lifecycle::find_workstation(s.env(), cloud.as_ref(), &name, &region).await?;
    let i = found.instance;
    let template = i.tags.get(tags::TEMPLATE).cloned();
    let reference = match (&template, i.tags.get(tags::TEMPLATE_VERSION)) {
        (Some(t), Some(v)) => Some(format!("{t}@{v}")),
        (Some(t), None) => Some(t.clone()),
        _ => None,
    };
    let catalogue = templates::load(&s).await?;
    let entry = reference.as_deref().and_then(|r| {
        catalogue
            .get(r)
            .or_else(|_| catalogue.get(template.as_deref().unwrap_or(r)))
            .ok()
    });
    let ssh_user = entry
        .and_then(|e| e.template.ami_config.ssh_user.clone())
        .unwrap_or_else(|| "ubuntu".to_string());
    let service_ports = entry
        .map(|e| e.template.effective_ports())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| *p != 22)
        .collect();
    let host_keys = if i.state.as_str() == "running" {
        host_keys(cloud.as_ref(), &found.region, &i.id).await
    } else {
        vec![]
    };
    let group =
        prism_ops::access::prism_group_of(cloud.as_ref(), &found.region, &i.security_group_ids)
            .await
            .map_err(|e| prism_ops::OpsError::Internal(e.to_string()))?;
    Ok(Json(prism_api::Connection {
        name,
        instance_id: i.id,
        region: found.region,
        state: i.state.as_str().into(),
        public_ip: i.public_ip,
        ssh_user,
        key_name: i.key_name,
        service_ports,
        template: reference,
        ssh_allowed_from: group
            .as_ref()
            .map(prism_ops::access::ssh_sources)
            .unwrap_or_default(),
        security_group_id: group.map(|g| g.id),
        host_keys,
    }))
}

/// Test only: a file whose text is used as every instance's console output instead of EC2's
/// (the tests put a local sshd's host key there). A missing file: no console output.
pub const TEST_CONSOLE_ENV: &str = "PRISM_TEST_CONSOLE_OUTPUT_FILE";

/// The host keys the instance printed on its console; none when EC2 has no output (yet) or
/// cannot give it (connect then trusts on first use and says so).
async fn host_keys(cloud: &dyn prism_cloud::Cloud, region: &str, id: &str) -> Vec<String> {
    let text = match std::env::var_os(TEST_CONSOLE_ENV) {
        Some(path) => tokio::fs::read_to_string(path).await.ok(),
        None => retry(|| cloud.console_output(region, id))
            .await
            .ok()
            .flatten(),
    };
    text.map(|t| prism_ops::access::host_keys_from_console(&t))
        .unwrap_or_default()
}

/// Makes the workstation's Prism-managed security group admit SSH from `allow_from`,
/// replacing the rule it had (the caller's address changed). Synchronous: two EC2 calls.
#[utoipa::path(post, path = "/v1/workstations/{name}/access", request_body = prism_api::AccessRequest, params(("name" = String, Path)), responses((status = 200, body = prism_api::AccessChange), (status = 400, body = prism_api::ApiError), (status = 404, body = prism_api::ApiError)))]
pub async fn access(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Body(req): Body<prism_api::AccessRequest>,
) -> HttpResult<prism_api::AccessChange> {
    let region = region_of(&s, &req.aws)?;
    if !prism_ops::naming::region_shape_ok(&region) {
        return Err(prism_ops::regions::not_a_region(&region).into());
    }
    prism_ops::access::validate_cidr(&req.allow_from)?;
    let cloud = s
        .env()
        .clouds
        .cloud(req.aws.profile.as_deref())
        .await
        .map_err(prism_ops::OpsError::from)?;
    let found = lifecycle::find_workstation(s.env(), cloud.as_ref(), &name, &region).await?;
    let (group, revoked) = prism_ops::access::replace_ssh_rule(
        cloud.as_ref(),
        &found.region,
        &name,
        &found.instance.security_group_ids,
        &req.allow_from,
    )
    .await?;
    Ok(Json(prism_api::AccessChange {
        name,
        region: found.region,
        security_group_id: group,
        allow_from: req.allow_from,
        revoked,
    }))
}
