//! `prism template delete`: show what goes, confirm, submit, follow.

use super::{finish, plan_then_submit, target};
use crate::args::{ChangeFlags, Cli};
use crate::client::Client;
use crate::error::CliResult;
use crate::output::{errln, outln, print};
use prism_api::{
    TemplateDeletePlan, TemplateDeleteRequest, TemplatePrunePlan, TemplatePruneRequest,
};

fn describe(p: &TemplateDeletePlan) {
    errln!(
        "Deleting {} version(s) {} for good:",
        p.template,
        p.versions.join(", ")
    );
    for i in &p.images {
        errln!("  deregister {} in {}", i.image_id, i.region);
    }
    errln!(
        "  delete {} snapshot(s), saving up to ${:.2}/month",
        p.snapshots,
        p.monthly_savings_usd
    );
    for f in &p.files {
        errln!("  remove {f}");
    }
    for w in &p.warnings {
        errln!("  note: {w}");
    }
    eprintln!("  This cannot be undone; colleagues it was shared with lose it too.");
}

/// `prism template delete`.
pub async fn delete(cli: &Cli, name: &str, all_versions: bool, flags: &ChangeFlags) -> CliResult {
    let c = Client::connect(true).await?;
    let req = |dry_run| TemplateDeleteRequest {
        template: name.to_string(),
        all_versions,
        dry_run,
        aws: target(cli),
    };
    let path = "/v1/templates/deletions";
    let Some((plan, sub)) =
        plan_then_submit(&c, cli, path, req, describe, flags.confirm(), "Delete?").await?
    else {
        return Ok(());
    };
    finish(&c, cli.output, sub, flags.detach, |op| {
        let r = op.result.clone().unwrap_or_default();
        outln!(
            "deleted {} version(s) {}: {} image(s), {} snapshot(s)",
            plan.template,
            plan.versions.join(", "),
            r["images_deregistered"],
            r["snapshots_deleted"]
        );
        let bin = &r["recycle_bin"];
        for k in bin["kept"].as_array().into_iter().flatten() {
            let (region, id) = (
                k["region"].as_str().unwrap_or("?"),
                k["image_id"].as_str().unwrap_or("?"),
            );
            outln!(
                "  {id} in {region} is kept in the Recycle Bin until {}",
                k["until"].as_str().unwrap_or("its retention rule ends")
            );
            errln!(
                "  to bring it back: aws ec2 restore-image-from-recycle-bin --region {region} --image-id {id} (and its snapshots: aws ec2 restore-snapshot-from-recycle-bin)"
            );
        }
        for e in bin["errors"].as_array().into_iter().flatten() {
            errln!("  note: {}", e.as_str().unwrap_or_default());
        }
    })
    .await
}

fn describe_prune(p: &TemplatePrunePlan) {
    errln!("Pruning {}:", p.template);
    for d in &p.decisions {
        errln!(
            "  {}@{}: {} — {}",
            p.template,
            d.version,
            if d.delete { "delete" } else { "keep" },
            d.reason
        );
    }
    match &p.deletion {
        Some(del) => describe(del),
        None => errln!("  Nothing to delete."),
    }
}

/// `prism template prune`.
pub async fn prune(
    cli: &Cli,
    name: &str,
    keep: u32,
    older_than: Option<u64>,
    unused_for: Option<u64>,
    flags: &ChangeFlags,
) -> CliResult {
    let c = Client::connect(true).await?;
    let req = |dry_run| TemplatePruneRequest {
        template: name.to_string(),
        keep,
        older_than_seconds: older_than,
        unused_for_seconds: unused_for,
        dry_run,
        aws: target(cli),
    };
    let path = "/v1/templates/prunes";
    let confirm = flags.confirm();
    if !confirm.dry_run {
        // Nothing goes: say so, ask nothing.
        let planned: super::PlanAnswer<TemplatePrunePlan> = c.post(path, &req(true)).await?;
        if planned.plan.deletion.is_none() {
            return print(cli.output, &planned.plan, describe_prune);
        }
    }
    let Some((plan, sub)) =
        plan_then_submit(&c, cli, path, req, describe_prune, confirm, "Delete?").await?
    else {
        return Ok(());
    };
    let versions = plan
        .deletion
        .as_ref()
        .map(|d| d.versions.join(", "))
        .unwrap_or_default();
    finish(&c, cli.output, sub, flags.detach, |op| {
        let r = op.result.clone().unwrap_or_default();
        outln!(
            "pruned {} version(s) {}: {} image(s), {} snapshot(s)",
            plan.template,
            versions,
            r["images_deregistered"],
            r["snapshots_deleted"]
        );
    })
    .await
}
