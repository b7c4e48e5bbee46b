//! Projects: a budget and member accounts around the saved templates and workstations that
//! carry the project's `prism:project` tag. The project record is local; membership is the
//! tag, so it holds on every machine and in EC2.

use crate::backoff::retry;
use crate::context::Env;
use crate::error::OpsError;
use prism_api::{
    Project, ProjectCompute, ProjectCost, ProjectCreateRequest, ProjectDeleteRequest,
    ProjectDeletion, ProjectImage, ProjectUpdate, ProjectUpdateRequest, ShareRequest,
};
use prism_cloud::{tags, ImageQuery, ImageState};
use prism_store::ProjectRow;
use prism_templates::{Catalogue, Entry};
use std::collections::BTreeSet;

/// Largest budget accepted, USD per month (a typo guard, not a policy).
pub const MAX_BUDGET: f64 = 10_000_000.0;

/// The API view of a stored project.
pub fn to_api(p: ProjectRow) -> Project {
    Project {
        name: p.name,
        description: p.description,
        budget_usd_per_month: p.budget_usd_per_month,
        accounts: p.accounts,
        created_at: p.created_at,
    }
}

/// Creates a project after checking every field; a taken name is a conflict.
pub async fn create(env: &Env, req: &ProjectCreateRequest) -> Result<Project, OpsError> {
    crate::naming::validate_project(&req.name)?;
    if req.name.trim() != req.name {
        return Err(OpsError::invalid(
            format!("project name {:?} starts or ends with spaces", req.name),
            Some("remove the spaces".to_string()),
        ));
    }
    if let Some(d) = &req.description {
        check_description(d)?;
    }
    if let Some(b) = req.budget_usd_per_month {
        check_budget(b)?;
    }
    let accounts = crate::share::dedup(&req.accounts);
    crate::share::check_accounts(&accounts)?;
    let row = ProjectRow {
        name: req.name.clone(),
        description: req.description.clone(),
        budget_usd_per_month: req.budget_usd_per_month,
        accounts,
        created_at: String::new(),
    };
    if !env.store.insert_project(row).await? {
        return Err(OpsError::Exists {
            message: format!("project '{}' already exists", req.name),
            hint: Some(format!("see it with: prism project info {}", req.name)),
        });
    }
    get(env, &req.name).await
}

fn check_description(d: &str) -> Result<(), OpsError> {
    if d.chars().count() > 1000 || d.chars().any(|c| c.is_control() && c != '\n') {
        return Err(OpsError::invalid(
            "the description must be at most 1000 characters without control characters",
            None,
        ));
    }
    Ok(())
}

fn check_budget(b: f64) -> Result<(), OpsError> {
    if !b.is_finite() || b <= 0.0 || b > MAX_BUDGET {
        return Err(OpsError::invalid(
            format!("budget {b} is not a positive amount of USD per month up to {MAX_BUDGET}"),
            Some("e.g. --budget 500".to_string()),
        ));
    }
    Ok(())
}

/// One project, or a not-found error naming it, the close names that exist ("did you mean"),
/// and how to create it.
pub async fn get(env: &Env, name: &str) -> Result<Project, OpsError> {
    if let Some(p) = env.store.project(name).await? {
        return Ok(to_api(p));
    }
    let known: Vec<String> = env
        .store
        .projects()
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    let close = prism_templates::suggestions(name, known.iter().map(String::as_str));
    let create = format!("create it with: prism project create {name}");
    let hint = match close.as_slice() {
        [] if known.is_empty() => format!("there are no projects yet; {create}"),
        [] => format!("{create} (list projects with: prism project list)"),
        names => format!(
            "did you mean {}? (or {create})",
            names
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Err(OpsError::not_found(
        format!("no project named '{name}'"),
        Some(hint),
    ))
}

/// Checks that `--project NAME` of a launch or save names an existing project (a typo must
/// not create a stray project tag).
pub async fn require(env: &Env, name: &str) -> Result<(), OpsError> {
    crate::naming::validate_project(name)?;
    get(env, name).await.map(|_| ())
}

/// Adds/removes member accounts and changes the budget or description; says what changed.
/// Nothing is written when any part is refused.
pub async fn update(
    env: &Env,
    name: &str,
    req: &ProjectUpdateRequest,
) -> Result<ProjectUpdate, OpsError> {
    get(env, name).await?;
    let Some(mut row) = env.store.project(name).await? else {
        return Err(OpsError::not_found(
            format!("no project named '{name}'"),
            None,
        ));
    };
    let add = crate::share::dedup(&req.add_accounts);
    let remove = crate::share::dedup(&req.remove_accounts);
    crate::share::check_accounts(&add)?;
    crate::share::check_accounts(&remove)?;
    if let Some(a) = add.iter().find(|a| remove.contains(a)) {
        return Err(OpsError::invalid(
            format!("account {a} is both added and removed"),
            Some("pass it to only one of --add-member and --remove-member".to_string()),
        ));
    }
    if add.is_empty()
        && remove.is_empty()
        && req.budget_usd_per_month.is_none()
        && req.description.is_none()
    {
        return Err(OpsError::invalid(
            format!("nothing to change in project '{name}'"),
            Some(
                "pass --add-member ID, --remove-member ID, --budget USD or --description TEXT"
                    .to_string(),
            ),
        ));
    }
    if let Some(a) = remove.iter().find(|a| !row.accounts.contains(a)) {
        return Err(OpsError::invalid(
            format!(
                "account {a} is not a member of project '{name}' (members: {})",
                if row.accounts.is_empty() {
                    "none".to_string()
                } else {
                    row.accounts.join(", ")
                }
            ),
            Some(format!("see the members with: prism project info {name}")),
        ));
    }
    if let Some(b) = req.budget_usd_per_month {
        check_budget(b)?;
    }
    if let Some(d) = &req.description {
        check_description(d)?;
    }
    let mut changes = vec![];
    for a in add {
        if row.accounts.contains(&a) {
            continue;
        }
        changes.push(format!("added member {a}"));
        row.accounts.push(a);
    }
    for a in remove {
        row.accounts.retain(|x| *x != a);
        changes.push(format!("removed member {a}"));
    }
    if let Some(b) = req.budget_usd_per_month {
        if row.budget_usd_per_month != Some(b) {
            changes.push(format!(
                "budget {} → ${b:.2}/month",
                row.budget_usd_per_month
                    .map(|o| format!("${o:.2}/month"))
                    .unwrap_or_else(|| "none".into())
            ));
            row.budget_usd_per_month = Some(b);
        }
    }
    if let Some(d) = &req.description {
        let new = (!d.trim().is_empty()).then(|| d.clone());
        if row.description != new {
            changes.push(match &new {
                Some(d) => format!("description → {d:?}"),
                None => "description removed".to_string(),
            });
            row.description = new;
        }
    }
    if !changes.is_empty() && !env.store.update_project(row).await? {
        return Err(OpsError::not_found(
            format!("no project named '{name}'"),
            None,
        ));
    }
    Ok(ProjectUpdate {
        project: get(env, name).await?,
        changes,
    })
}

/// What still carries project `name`'s tag: workstations Prism knows and every saved version.
pub async fn in_use(env: &Env, catalogue: &Catalogue, name: &str) -> Result<Vec<String>, OpsError> {
    let mut out: Vec<String> = env
        .store
        .workstations()
        .await?
        .into_iter()
        .filter(|w| w.project.as_deref() == Some(name))
        .map(|w| format!("workstation {}", w.name))
        .collect();
    out.extend(
        catalogue
            .entries()
            .iter()
            .filter(|e| e.raw.is_saved() && e.raw.project.as_deref() == Some(name))
            .map(|e| match &e.raw.version {
                Some(v) => format!("template {}@{v}", e.raw.id()),
                None => format!("template {}", e.raw.id()),
            }),
    );
    Ok(out)
}

/// Deletes a project's record: refused while anything carries its tag unless `force` (then
/// those keep the tag of a project that no longer exists).
pub async fn delete(
    env: &Env,
    catalogue: &Catalogue,
    name: &str,
    req: &ProjectDeleteRequest,
) -> Result<ProjectDeletion, OpsError> {
    get(env, name).await?;
    let in_use = in_use(env, catalogue, name).await?;
    if !in_use.is_empty() && !req.force {
        return Err(OpsError::invalid(
            format!(
                "project '{name}' is in use by {} thing(s): {}",
                in_use.len(),
                in_use.join(", ")
            ),
            Some(format!(
                "delete or move those first, or delete only the project's record with: \
                 prism project delete {name} --force"
            )),
        ));
    }
    let deleted = !req.dry_run && env.store.delete_project(name).await?;
    Ok(ProjectDeletion {
        project: name.to_string(),
        in_use,
        deleted,
    })
}

/// The saved templates (latest version of each) tagged with project `name`.
pub fn templates<'a>(catalogue: &'a Catalogue, name: &str) -> Vec<&'a Entry> {
    catalogue
        .latest()
        .into_iter()
        .filter(|e| e.raw.is_saved() && e.raw.project.as_deref() == Some(name))
        .collect()
}

/// What keeping the project's images costs: every image this account owns tagged with the
/// project, in the regions of its templates and workstations plus `default_region`.
pub async fn cost(
    env: &Env,
    catalogue: &Catalogue,
    name: &str,
    profile: Option<&str>,
    default_region: Option<&str>,
) -> Result<ProjectCost, OpsError> {
    let project = get(env, name).await?;
    let mut regions: BTreeSet<String> = default_region.map(str::to_string).into_iter().collect();
    for e in catalogue.entries() {
        if e.raw.project.as_deref() == Some(name) {
            regions.extend(e.raw.ami_config.amis.keys().cloned());
        }
    }
    for w in env.store.workstations().await? {
        if w.project.as_deref() == Some(name) {
            regions.insert(w.region);
        }
    }
    let cloud = env.clouds.cloud(profile).await?;
    let query = ImageQuery {
        owners: vec!["self".into()],
        tags: [(tags::PROJECT.to_string(), name.to_string())].into(),
        ..Default::default()
    };
    let price = env.config.snapshot_usd_per_gb_month;
    let answers = futures_util::future::join_all(regions.iter().map(|r| {
        let (cloud, query) = (cloud.clone(), query.clone());
        async move { (r.clone(), retry(|| cloud.describe_images(r, &query)).await) }
    }))
    .await;
    let (mut images, mut errors) = (vec![], vec![]);
    for (region, answer) in answers {
        match answer {
            Ok(found) => images.extend(
                found
                    .into_iter()
                    .filter(|i| i.state != ImageState::Deregistered)
                    .map(|i| ProjectImage {
                        template: i.tags.get(tags::SAVED_TEMPLATE).cloned(),
                        version: i.tags.get(tags::SAVED_VERSION).cloned(),
                        region: region.clone(),
                        usd_per_month: round_cents(i.size_gb as f64 * price),
                        image_id: i.id,
                        size_gb: i.size_gb,
                    }),
            ),
            Err(e) => errors.push(format!("{region}: {e}")),
        }
    }
    let size_gb: i64 = images.iter().map(|i| i.size_gb).sum();
    let storage = round_cents(size_gb as f64 * price);
    let compute = compute_this_month(env, name).await?;
    let compute_usd = round_cents(compute.iter().filter_map(|c| c.usd).sum());
    let mut unknown: Vec<String> = compute
        .iter()
        .filter(|c| c.usd_per_hour.is_none())
        .map(|c| c.instance_type.clone())
        .collect();
    unknown.sort();
    unknown.dedup();
    let total = round_cents(storage + compute_usd);
    Ok(ProjectCost {
        project: name.to_string(),
        regions: regions.into_iter().collect(),
        images,
        size_gb,
        storage_usd_per_month: storage,
        budget_usd_per_month: project.budget_usd_per_month,
        budget_used_percent: project
            .budget_usd_per_month
            .map(|b| (total / b * 1000.0).round() / 10.0),
        errors,
        storage_basis: storage_basis(price),
        compute,
        compute_usd_this_month: compute_usd,
        compute_unknown_types: unknown,
        price_list: crate::prices::SOURCE.to_string(),
        total_usd: total,
    })
}

/// Label of a size EC2 reported (the save plan and `project cost` both use it).
pub const MEASURED: &str = "(measured)";
/// Label of a snapshot storage cost (the save plan and `project cost` both use it).
pub const STORAGE_ESTIMATE: &str = "(estimate; an upper bound: EBS snapshots are incremental)";
/// Label of a compute cost.
pub const COMPUTE_ESTIMATE: &str = "(estimate: hours Prism recorded running × on-demand price)";

/// How storage figures are got, in the words the save plan uses too: the size is what EC2
/// says (measured), the cost an estimate.
pub fn storage_basis(usd_per_gb_month: f64) -> String {
    format!(
        "size measured (EC2 VolumeSize of the images' snapshots); cost estimated at \
         ${usd_per_gb_month}/GB-month, an upper bound: EBS snapshots are incremental"
    )
}

/// Hours each of the project's workstations ran since the first of this month (UTC), from
/// Prism's running periods, priced from the dated table (`prices`).
async fn compute_this_month(env: &Env, name: &str) -> Result<Vec<ProjectCompute>, OpsError> {
    use chrono::Datelike;
    let now = crate::clock::now();
    let month = now
        .date_naive()
        .with_day(1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap_or(now);
    let month_s = month.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let now_s = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut out: Vec<ProjectCompute> = vec![];
    for run in env.store.workstation_runs_since(&month_s).await? {
        if run.project.as_deref() != Some(name) {
            continue;
        }
        let from = if run.started_at < month_s {
            &month_s
        } else {
            &run.started_at
        };
        let to = run.stopped_at.as_deref().unwrap_or(&now_s);
        let hours = (crate::clock::seconds_between(from, to) / 3600.0).max(0.0);
        match out
            .iter_mut()
            .find(|c| c.workstation == run.name && c.instance_type == run.instance_type)
        {
            Some(c) => {
                c.hours += hours;
                c.running |= run.stopped_at.is_none();
            }
            None => out.push(ProjectCompute {
                workstation: run.name.clone(),
                usd_per_hour: crate::prices::usd_per_hour(&run.instance_type),
                instance_type: run.instance_type,
                hours,
                usd: None,
                running: run.stopped_at.is_none(),
            }),
        }
    }
    for c in &mut out {
        c.usd = c.usd_per_hour.map(|p| round_cents(p * c.hours));
        c.hours = (c.hours * 1000.0).round() / 1000.0;
    }
    Ok(out)
}

/// Share of the budget from which launch and save warn.
pub const BUDGET_WARN_PERCENT: f64 = 80.0;

/// Checks project `name`'s budget before a launch or save: refused at 100% or more unless
/// `over_budget`; a warning (returned) from [`BUDGET_WARN_PERCENT`].
pub async fn budget_check(
    env: &Env,
    catalogue: &Catalogue,
    name: &str,
    profile: Option<&str>,
    region: &str,
    over_budget: bool,
) -> Result<Option<String>, OpsError> {
    if get(env, name).await?.budget_usd_per_month.is_none() {
        return Ok(None);
    }
    let c = cost(env, catalogue, name, profile, Some(region)).await?;
    let (Some(b), Some(pct)) = (c.budget_usd_per_month, c.budget_used_percent) else {
        return Ok(None);
    };
    let figures = format!(
        "${:.2} of its ${b:.2}/month budget ({pct:.1}%): image storage ${:.2}/month + \
         compute this month ${:.2} (estimates)",
        c.total_usd, c.storage_usd_per_month, c.compute_usd_this_month
    );
    if pct >= 100.0 && !over_budget {
        return Err(OpsError::invalid(
            format!("project '{name}' is over budget: {figures}"),
            Some(format!(
                "see where it goes with: prism project cost {name}; raise it with: prism \
                 project update {name} --budget USD; or pass --over-budget"
            )),
        ));
    }
    Ok((pct >= BUDGET_WARN_PERCENT).then(|| format!("project '{name}' has used {figures}")))
}

fn round_cents(usd: f64) -> f64 {
    (usd * 100.0).round() / 100.0
}

/// The share request that gives project `name`'s member accounts one of its templates.
pub async fn share_request(
    env: &Env,
    catalogue: &Catalogue,
    name: &str,
    req: &prism_api::ProjectShareRequest,
) -> Result<ShareRequest, OpsError> {
    let project = get(env, name).await?;
    let entry = catalogue.get(&req.template).map_err(|e| {
        OpsError::not_found(
            e.to_string(),
            Some(format!(
                "list the project's templates with: prism project templates {name}"
            )),
        )
    })?;
    if entry.raw.project.as_deref() != Some(name) {
        return Err(OpsError::invalid(
            format!(
                "template '{}' is not in project '{name}' (its project is {})",
                entry.raw.id(),
                entry
                    .raw
                    .project
                    .as_deref()
                    .map(|p| format!("'{p}'"))
                    .unwrap_or_else(|| "not set".into())
            ),
            Some(format!(
                "save it into the project with: prism save WORKSTATION {} --project {name}",
                entry.raw.id()
            )),
        ));
    }
    if project.accounts.is_empty() {
        return Err(OpsError::invalid(
            format!("project '{name}' has no member accounts to share with"),
            Some(format!(
                "share with accounts directly: prism template share {} --account ID",
                entry.raw.id()
            )),
        ));
    }
    Ok(ShareRequest {
        template: req.template.clone(),
        accounts: project.accounts,
        dry_run: req.dry_run,
        aws: req.aws.clone(),
        ..Default::default()
    })
}
