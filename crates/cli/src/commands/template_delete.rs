//! `prism template delete`: show what goes, confirm, submit, follow.

use super::{finish, target};
use crate::args::Cli;
use crate::client::Client;
use crate::error::{CliError, CliResult};
use crate::output::{print, Format};
use crate::prompt::confirm;
use prism_api::{Submitted, TemplateDeletePlan, TemplateDeleteRequest};

#[derive(serde::Deserialize)]
struct DeleteAnswer {
    plan: TemplateDeletePlan,
    submitted: Option<Submitted>,
}

fn describe(p: &TemplateDeletePlan) {
    eprintln!(
        "Deleting {} version(s) {} for good:",
        p.template,
        p.versions.join(", ")
    );
    for i in &p.images {
        eprintln!("  deregister {} in {}", i.image_id, i.region);
    }
    eprintln!(
        "  delete {} snapshot(s), saving up to ${:.2}/month",
        p.snapshots, p.monthly_savings_usd
    );
    for f in &p.files {
        eprintln!("  remove {f}");
    }
    for w in &p.warnings {
        eprintln!("  note: {w}");
    }
    eprintln!("  This cannot be undone; colleagues it was shared with lose it too.");
}

/// `prism template delete`.
pub async fn delete(
    cli: &Cli,
    name: &str,
    all_versions: bool,
    yes: bool,
    dry_run: bool,
    detach: bool,
) -> CliResult {
    let c = Client::connect(true).await?;
    let mut req = TemplateDeleteRequest {
        template: name.to_string(),
        all_versions,
        dry_run: true,
        aws: target(cli),
    };
    let plan: DeleteAnswer = c.post("/v1/templates/deletions", &req).await?;
    if dry_run {
        return print(cli.output, &plan.plan, describe);
    }
    if cli.output == Format::Table || !yes {
        describe(&plan.plan);
    }
    confirm("Delete?", yes)?;
    req.dry_run = false;
    let ans: DeleteAnswer = c.post("/v1/templates/deletions", &req).await?;
    let sub = ans
        .submitted
        .ok_or_else(|| CliError::refused("the daemon did not submit the deletion", None))?;
    finish(&c, cli.output, sub, detach, |op| {
        let r = op.result.clone().unwrap_or_default();
        println!(
            "deleted {} version(s) {}: {} image(s), {} snapshot(s)",
            ans.plan.template,
            ans.plan.versions.join(", "),
            r["images_deregistered"],
            r["snapshots_deleted"]
        );
    })
    .await
}
