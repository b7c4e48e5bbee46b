//! `prism template delete`: show what goes, confirm, submit, follow.

use super::{finish, plan_then_submit, target};
use crate::args::{ChangeFlags, Cli};
use crate::client::Client;
use crate::error::CliResult;
use crate::output::{errln, outln};
use prism_api::{TemplateDeletePlan, TemplateDeleteRequest};

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
