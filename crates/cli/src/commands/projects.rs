//! `prism project create|list|info|templates|share-template|cost|update|delete`.

use super::{finish, plan_then_submit, target};
use crate::args::{Cli, ProjectCommand};
use crate::client::{segment, Client};
use crate::error::CliResult;
use crate::output::{dash, errln, outln, print, table};
use prism_api::{
    Project, ProjectCost, ProjectCreateRequest, ProjectDeleteRequest, ProjectDeletion,
    ProjectDetail, ProjectList, ProjectShareRequest, ProjectUpdate, ProjectUpdateRequest,
    SharePlan, TemplateSummary,
};

fn budget(b: Option<f64>) -> String {
    b.map(|b| format!("${b:.2}/month"))
        .unwrap_or_else(|| "-".into())
}

fn templates_table(ts: &[TemplateSummary]) {
    let mut t = table(&["NAME", "VERSION", "VERSIONS", "REGIONS", "DESCRIPTION"]);
    for s in ts {
        t.add_row(vec![
            s.name.clone(),
            dash(&s.version),
            s.versions.join(","),
            s.regions.join(","),
            s.description.clone().unwrap_or_default(),
        ]);
    }
    println!("{t}");
}

/// A warning when project `name` has used 80% or more of its budget (storage plus this
/// month's compute); `None` when under, without a budget, or when the cost cannot be read.
pub async fn budget_warning(c: &Client, cli: &Cli, name: &str) -> Option<String> {
    let t = target(cli);
    let cost: ProjectCost = c
        .get_query(
            &format!("/v1/projects/{}/cost", segment(name)),
            &[("region", t.region), ("profile", t.profile)],
        )
        .await
        .ok()?;
    let (b, pct) = (cost.budget_usd_per_month?, cost.budget_used_percent?);
    (pct >= 80.0).then(|| {
        format!(
            "project {name} has used {pct:.1}% of its ${b:.2}/month budget (estimated ${:.2}: \
             image storage ${:.2}/month + compute this month ${:.2}); see: prism project cost {name}",
            cost.total_usd, cost.storage_usd_per_month, cost.compute_usd_this_month
        )
    })
}

/// `prism project …`.
pub async fn project(cli: &Cli, cmd: &ProjectCommand) -> CliResult {
    match cmd {
        ProjectCommand::Create {
            name,
            description,
            budget: b,
            accounts,
        } => {
            let c = Client::connect(false).await?;
            let p: Project = c
                .post(
                    "/v1/projects",
                    &ProjectCreateRequest {
                        name: name.clone(),
                        description: description.clone(),
                        budget_usd_per_month: *b,
                        accounts: accounts.clone(),
                    },
                )
                .await?;
            print(cli.output, &p, |p| {
                outln!("created project {}", p.name);
                errln!(
                    "save templates into it with: prism save WORKSTATION TEMPLATE --project {}",
                    p.name
                );
            })
        }
        ProjectCommand::List => {
            let c = Client::connect(false).await?;
            let l: ProjectList = c.get("/v1/projects").await?;
            print(cli.output, &l, |l| {
                let mut t = table(&["NAME", "BUDGET", "ACCOUNTS", "DESCRIPTION"]);
                for p in &l.projects {
                    t.add_row(vec![
                        p.name.clone(),
                        budget(p.budget_usd_per_month),
                        p.accounts.join(","),
                        p.description.clone().unwrap_or_default(),
                    ]);
                }
                println!("{t}");
            })
        }
        ProjectCommand::Info { name } => {
            let c = Client::connect(false).await?;
            let d: ProjectDetail = c.get(&format!("/v1/projects/{}", segment(name))).await?;
            print(cli.output, &d, |d| {
                outln!("Project:      {}", d.project.name);
                outln!("Description:  {}", dash(&d.project.description));
                outln!("Budget:       {}", budget(d.project.budget_usd_per_month));
                outln!(
                    "Accounts:     {}",
                    if d.project.accounts.is_empty() {
                        "-".into()
                    } else {
                        d.project.accounts.join(", ")
                    }
                );
                outln!("Created:      {}", d.project.created_at);
                println!("\nTemplates:");
                templates_table(&d.templates);
                println!("\nWorkstations:");
                let mut t = table(&["NAME", "STATE", "REGION", "TEMPLATE"]);
                for w in &d.workstations {
                    t.add_row(vec![
                        w.name.clone(),
                        w.state.clone(),
                        w.region.clone(),
                        dash(&w.template),
                    ]);
                }
                println!("{t}");
            })
        }
        ProjectCommand::Templates { name } => {
            let c = Client::connect(false).await?;
            let d: ProjectDetail = c.get(&format!("/v1/projects/{}", segment(name))).await?;
            print(cli.output, &d.templates, |ts| templates_table(ts))
        }
        ProjectCommand::Cost { name } => {
            let c = Client::connect(true).await?;
            let t = target(cli);
            let cost: ProjectCost = c
                .get_query(
                    &format!("/v1/projects/{}/cost", segment(name)),
                    &[("region", t.region), ("profile", t.profile)],
                )
                .await?;
            for e in &cost.errors {
                errln!("warning: {e}");
            }
            print(cli.output, &cost, |cost| {
                let mut t = table(&["TEMPLATE", "VERSION", "REGION", "IMAGE", "GIB", "USD/MONTH"]);
                for i in &cost.images {
                    t.add_row(vec![
                        dash(&i.template),
                        dash(&i.version),
                        i.region.clone(),
                        i.image_id.clone(),
                        i.size_gb.to_string(),
                        format!("{:.2}", i.usd_per_month),
                    ]);
                }
                println!("{t}");
                outln!(
                    "Image storage: {} GiB in {} image(s) {}; ${:.2}/month {}",
                    cost.size_gb,
                    cost.images.len(),
                    prism_ops::projects::MEASURED,
                    cost.storage_usd_per_month,
                    prism_ops::projects::STORAGE_ESTIMATE
                );
                outln!("  regions looked in: {}", cost.regions.join(", "));
                println!();
                let mut t = table(&["WORKSTATION", "TYPE", "HOURS", "USD/HOUR", "USD"]);
                for w in &cost.compute {
                    t.add_row(vec![
                        format!(
                            "{}{}",
                            w.workstation,
                            if w.running { " (running)" } else { "" }
                        ),
                        w.instance_type.clone(),
                        format!("{:.2}", w.hours),
                        w.usd_per_hour
                            .map(|p| format!("{p:.4}"))
                            .unwrap_or_else(|| "unknown".into()),
                        w.usd
                            .map(|u| format!("{u:.2}"))
                            .unwrap_or_else(|| "unknown".into()),
                    ]);
                }
                println!("{t}");
                outln!(
                    "Compute this month: ${:.2} {}",
                    cost.compute_usd_this_month,
                    prism_ops::projects::COMPUTE_ESTIMATE
                );
                outln!("  prices: {}", cost.price_list);
                if !cost.compute_unknown_types.is_empty() {
                    outln!(
                        "  no price known for {}: their hours are not in the total",
                        cost.compute_unknown_types.join(", ")
                    );
                }
                outln!("Total: ${:.2} (estimate)", cost.total_usd);
                if let (Some(b), Some(p)) = (cost.budget_usd_per_month, cost.budget_used_percent) {
                    outln!("Budget: ${b:.2}/month; {p:.1}% of it used");
                    if p >= 100.0 {
                        outln!("  over budget: launch and save into {} are refused without --over-budget", cost.project);
                    } else if p >= prism_ops::projects::BUDGET_WARN_PERCENT {
                        outln!("  warning: {p:.1}% used; at 100% launch and save are refused");
                    }
                }
            })
        }
        ProjectCommand::Update {
            name,
            add_members,
            remove_members,
            budget: b,
            description,
        } => {
            let c = Client::connect(false).await?;
            let u: ProjectUpdate = c
                .post(
                    &format!("/v1/projects/{}/update", segment(name)),
                    &ProjectUpdateRequest {
                        add_accounts: add_members.clone(),
                        remove_accounts: remove_members.clone(),
                        budget_usd_per_month: *b,
                        description: description.clone(),
                    },
                )
                .await?;
            print(cli.output, &u, |u| {
                if u.changes.is_empty() {
                    outln!("project {}: nothing changed", u.project.name);
                } else {
                    outln!("updated project {}:", u.project.name);
                    for ch in &u.changes {
                        outln!("  {ch}");
                    }
                }
                outln!(
                    "members: {}",
                    if u.project.accounts.is_empty() {
                        "none".into()
                    } else {
                        u.project.accounts.join(", ")
                    }
                );
            })
        }
        ProjectCommand::Delete {
            name,
            force,
            yes,
            dry_run,
        } => {
            let c = Client::connect(false).await?;
            let path = format!("/v1/projects/{}/delete", segment(name));
            let plan: ProjectDeletion = c
                .post(
                    &path,
                    &ProjectDeleteRequest {
                        force: *force,
                        dry_run: true,
                    },
                )
                .await?;
            if !plan.in_use.is_empty() {
                errln!(
                    "warning: still carrying project {name} (they keep its tag): {}",
                    plan.in_use.join(", ")
                );
            }
            if *dry_run {
                return print(cli.output, &plan, |_| {
                    outln!("would delete project {name} (dry run: nothing changed)");
                });
            }
            crate::prompt::confirm(&format!("Delete project {name}?"), *yes)?;
            let done: ProjectDeletion = c
                .post(
                    &path,
                    &ProjectDeleteRequest {
                        force: *force,
                        dry_run: false,
                    },
                )
                .await?;
            print(cli.output, &done, |d| {
                outln!("deleted project {}", d.project);
            })
        }
        ProjectCommand::ShareTemplate {
            name,
            template,
            flags,
        } => {
            let c = Client::connect(true).await?;
            let path = format!("/v1/projects/{}/shares", segment(name));
            let req = |dry_run| ProjectShareRequest {
                template: template.clone(),
                dry_run,
                aws: target(cli),
            };
            let describe = |p: &SharePlan| {
                errln!(
                    "Sharing {}@{} with project {name}'s accounts: {}",
                    p.template,
                    p.version,
                    p.accounts.join(", ")
                );
                for i in &p.images {
                    errln!("  {}: {}", i.region, i.image_id);
                }
                for w in &p.warnings {
                    errln!("  warning: {w}");
                }
            };
            let Some((p, sub)) =
                plan_then_submit(&c, cli, &path, req, describe, flags.confirm(), "Continue?")
                    .await?
            else {
                return Ok(());
            };
            finish(&c, cli.output, sub, flags.detach, |_| {
                outln!(
                    "{}@{} is shared with project {name}'s accounts: {}",
                    p.template,
                    p.version,
                    p.accounts.join(", ")
                );
            })
            .await
        }
    }
}
