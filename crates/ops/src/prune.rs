//! `prism template prune T --keep N [--older-than D] [--unused-for D]`: decides, version by
//! version, what goes and why, then submits the deletion of those versions as a
//! `template-delete.v1` operation — the very saga `template delete` runs (its steps, crash
//! points and journal), so a pruned version is deleted exactly as a deleted one.
//!
//! Never deleted: the latest version, the newest `keep`, one saved within `--older-than`,
//! one a workstation that still exists (running or stopped) was launched from, one launched
//! within `--unused-for` (default 30 days; Prism's launch records, [`crate::usage`]), and
//! one [`protected`] says must stay.

use chrono::{DateTime, Duration, Utc};
use prism_api::{PruneDecision, TemplatePrunePlan, TemplatePruneRequest};
use prism_store::NewOperation;
use prism_templates::{Catalogue, Entry, Template};

use crate::context::Env;
use crate::error::OpsError;
use crate::usage::{template_usage, VersionUsage};

/// `--unused-for` when not given: 30 days.
pub const DEFAULT_UNUSED_FOR_SECONDS: u64 = 30 * 24 * 3600;

/// Longest accepted duration (`--older-than`, `--unused-for`): 100 years.
const MAX_DURATION_SECONDS: u64 = 100 * 365 * 24 * 3600;

/// Why a version the rules would delete must stay: one of its images has EC2 deregistration
/// protection (`template protect`), and EC2 refuses to deregister it ("Protect an AMI from
/// deregistration", EC2 User Guide). Read from EC2 for each region's image.
pub async fn protected(
    cloud: &dyn prism_cloud::Cloud,
    t: &Template,
    name: &str,
    version: &str,
) -> Result<Option<String>, OpsError> {
    for (region, by_arch) in &t.ami_config.amis {
        for id in by_arch.values() {
            let Some(img) = crate::images::lookup(cloud, region, id).await? else {
                continue;
            };
            if let Err(OpsError::Invalid { message, hint }) =
                crate::protect::refuse_if_protected(&img, name, version)
            {
                return Ok(Some(match hint {
                    Some(h) => format!("{message}; {h}"),
                    None => message,
                }));
            }
        }
    }
    Ok(None)
}

fn parse_time(t: &Option<String>) -> Option<DateTime<Utc>> {
    t.as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
}

fn human(seconds: u64) -> String {
    match seconds {
        s if s % 86400 == 0 => format!("{}d", s / 86400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn duration(field: &str, seconds: Option<u64>) -> Result<Option<Duration>, OpsError> {
    match seconds {
        None => Ok(None),
        Some(0) => Err(OpsError::invalid(
            format!("--{field} must be longer than 0"),
            Some(format!("give a duration such as --{field} 30d")),
        )),
        Some(s) if s > MAX_DURATION_SECONDS => Err(OpsError::invalid(
            format!("--{field} {s}s is longer than 100 years"),
            Some(format!("give a duration such as --{field} 30d")),
        )),
        Some(s) => Ok(Some(Duration::seconds(s as i64))),
    }
}

/// The fate of one version (`index` 0 is the newest).
fn decide(
    t: &Template,
    index: usize,
    keep: u32,
    usage: &VersionUsage,
    older_than: Option<(Duration, u64)>,
    unused_for: (Duration, u64),
    now: DateTime<Utc>,
) -> (bool, String) {
    if index == 0 {
        return (false, "the latest version".into());
    }
    if (index as u64) < u64::from(keep) {
        return (false, format!("one of the newest {keep} (--keep {keep})"));
    }
    if !usage.workstations.is_empty() {
        return (
            false,
            format!(
                "workstations launched from it still exist: {}",
                usage.workstations.join(", ")
            ),
        );
    }
    if let Some(last) = parse_time(&usage.last_launched_at) {
        if now - last < unused_for.0 {
            return (
                false,
                format!(
                    "launched {} — within --unused-for {}",
                    usage.last_launched_at.as_deref().unwrap_or("?"),
                    human(unused_for.1)
                ),
            );
        }
    }
    if let Some((older, secs)) = older_than {
        match parse_time(&t.saved_date) {
            Some(saved) if now - saved < older => {
                return (
                    false,
                    format!(
                        "saved {} — newer than --older-than {}",
                        t.saved_date.as_deref().unwrap_or("?"),
                        human(secs)
                    ),
                );
            }
            None => {
                return (
                    false,
                    "its save time is unknown, so --older-than cannot be checked".into(),
                )
            }
            Some(_) => {}
        }
    }
    let launched = match &usage.last_launched_at {
        Some(l) => format!("last launched {l}"),
        None => "never launched here".into(),
    };
    (
        true,
        format!(
            "older than the newest {keep}, no workstation runs from it, {launched} (not within {})",
            human(unused_for.1)
        ),
    )
}

/// Checks a prune and decides each version's fate; returns the plan and, when a version
/// goes, the deletion to submit. Nothing changes.
pub async fn prepare(
    env: &Env,
    catalogue: &Catalogue,
    req: &TemplatePruneRequest,
) -> Result<(TemplatePrunePlan, Option<NewOperation>), OpsError> {
    if req.keep == 0 {
        return Err(OpsError::invalid(
            "--keep 0 would delete every version; prune always keeps at least the latest",
            Some(format!(
                "give --keep 1 or more; to delete every version use: prism template delete {} --all-versions",
                req.template
            )),
        ));
    }
    if req.template.contains('@') {
        return Err(OpsError::invalid(
            format!(
                "{} names one version; prune works on a whole template",
                req.template
            ),
            Some("give the template's name without @N".into()),
        ));
    }
    let older_than = duration("older-than", req.older_than_seconds)?
        .map(|d| (d, req.older_than_seconds.unwrap_or_default()));
    let unused_secs = req.unused_for_seconds.unwrap_or(DEFAULT_UNUSED_FOR_SECONDS);
    let unused_for = (
        duration("unused-for", Some(unused_secs))?.unwrap_or_default(),
        unused_secs,
    );
    let entry = catalogue.get(&req.template).map_err(|e| {
        OpsError::not_found(
            e.to_string(),
            Some("list templates with: prism templates".to_string()),
        )
    })?;
    if !entry.raw.is_saved() {
        return Err(OpsError::invalid(
            format!(
                "template '{}' is not a saved template; only saved templates have versions to prune",
                entry.raw.id()
            ),
            Some("list saved templates with: prism templates".into()),
        ));
    }
    let name = entry.raw.id().to_string();
    let usage = template_usage(&env.store, &name).await?;
    let now = crate::clock::now();
    let mut newest_first: Vec<&Entry> = catalogue.versions(&name);
    newest_first.reverse();
    // The account's client, made once when a version would go (its protection is read).
    let mut cloud = None;
    let mut decisions = vec![];
    let mut doomed: Vec<&Entry> = vec![];
    for (i, e) in newest_first.iter().enumerate() {
        let version = e.raw.version.clone().unwrap_or_else(|| "1".into());
        let u = usage.get(&version).cloned().unwrap_or_default();
        let (mut delete, mut reason) = decide(&e.raw, i, req.keep, &u, older_than, unused_for, now);
        if delete {
            let cloud = match &cloud {
                Some(c) => c,
                None => cloud.insert(env.clouds.cloud(req.aws.profile.as_deref()).await?),
            };
            if let Some(why) = protected(cloud.as_ref(), &e.raw, &name, &version).await? {
                (delete, reason) = (false, why);
            }
        }
        if delete {
            doomed.push(e);
        }
        decisions.push(PruneDecision {
            version,
            delete,
            reason,
            saved_at: e.raw.saved_date.clone(),
            last_launched_at: u.last_launched_at,
        });
    }
    decisions.reverse();
    doomed.reverse();
    if doomed.is_empty() {
        return Ok((
            TemplatePrunePlan {
                template: name,
                decisions,
                deletion: None,
                monthly_savings_usd: 0.0,
            },
            None,
        ));
    }
    let versions: Vec<String> = doomed
        .iter()
        .map(|e| e.raw.version.clone().unwrap_or_else(|| "1".into()))
        .collect();
    let target = format!("{name}@{} (prune)", versions.join(","));
    let (deletion, op) = crate::template_delete::plan_versions(
        env,
        &name,
        &doomed,
        req.aws.profile.as_deref(),
        target,
    )
    .await?;
    Ok((
        TemplatePrunePlan {
            template: name,
            decisions,
            monthly_savings_usd: deletion.monthly_savings_usd,
            deletion: Some(deletion),
        },
        Some(op),
    ))
}
