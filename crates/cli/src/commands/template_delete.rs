//! `prism template delete`: show what goes, confirm, submit, follow.

use super::{finish, plan_then_submit, target};
use crate::args::{ChangeFlags, Cli};
use crate::client::Client;
use crate::error::CliResult;
use crate::output::{errln, outln, print};
use prism_api::{
    TemplateDeletePlan, TemplateDeleteRequest, TemplatePrunePlan, TemplatePruneRequest,
    TemplateRestorePlan, TemplateRestoreRequest,
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
        let kept = bin["kept"].as_array().cloned().unwrap_or_default();
        for k in &kept {
            let (region, id) = (
                k["region"].as_str().unwrap_or("?"),
                k["image_id"].as_str().unwrap_or("?"),
            );
            outln!(
                "  {id} in {region} is kept in the Recycle Bin until {}",
                k["until"].as_str().unwrap_or("its retention rule ends")
            );
        }
        if !kept.is_empty() {
            for v in &plan.versions {
                errln!(
                    "  to bring it back (its snapshots must be kept too, by a snapshot retention rule): prism template restore {}@{v}",
                    plan.template
                );
            }
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

fn describe_restore(p: &TemplateRestorePlan) {
    errln!(
        "Restoring {}@{} from the Recycle Bin:",
        p.template,
        p.version
    );
    for i in &p.images {
        if i.already_restored {
            errln!("  {} in {}: already restored", i.image_id, i.region);
            continue;
        }
        errln!(
            "  restore {} in {} (kept until {}) and its {} snapshot(s)",
            i.image_id,
            i.region,
            i.until.as_deref().unwrap_or("its retention rule ends"),
            i.snapshots.len()
        );
    }
    errln!("  write {}", p.file);
    for w in &p.warnings {
        errln!("  note: {w}");
    }
}

/// `prism template restore`.
pub async fn restore(cli: &Cli, name: &str, flags: &ChangeFlags) -> CliResult {
    let c = Client::connect(true).await?;
    let req = |dry_run| TemplateRestoreRequest {
        template: name.to_string(),
        dry_run,
        aws: target(cli),
    };
    let path = "/v1/templates/restores";
    let Some((plan, sub)) = plan_then_submit(
        &c,
        cli,
        path,
        req,
        describe_restore,
        flags.confirm(),
        "Restore?",
    )
    .await?
    else {
        return Ok(());
    };
    finish(&c, cli.output, sub, flags.detach, |op| {
        let r = op.result.clone().unwrap_or_default();
        outln!(
            "restored {}@{}: {} image(s), {} snapshot(s) from the Recycle Bin; {}",
            plan.template,
            plan.version,
            r["images_restored"],
            r["snapshots_restored"],
            r["file"].as_str().unwrap_or(&plan.file)
        );
        errln!(
            "  launch it with: prism launch {}@{} NAME",
            plan.template,
            plan.version
        );
    })
    .await
}
