//! `prism restore WS T@N`: show the plan, confirm, submit, follow, summarize.

use super::{finish, plan_then_submit, target};
use crate::args::{Cli, RestoreArgs};
use crate::client::Client;
use crate::error::CliResult;
use crate::output::{errln, outln};
use prism_api::{RestorePlan, RestoreRequest};

fn describe(p: &RestorePlan) {
    errln!(
        "Restoring workstation '{}' ({}, {} in {}) from {}@{} (image {})",
        p.workstation,
        p.instance_id,
        p.architecture,
        p.region,
        p.template,
        p.version,
        p.image_id
    );
    errln!(
        "  It runs from {} now",
        p.current.as_deref().unwrap_or("an unknown version")
    );
    for e in &p.effects {
        errln!("  - {e}");
    }
    for w in &p.warnings {
        errln!("  warning: {w}");
    }
}

/// `prism restore`.
pub async fn restore(cli: &Cli, a: &RestoreArgs) -> CliResult {
    let c = Client::connect(true).await?;
    let req = |dry_run| RestoreRequest {
        workstation: a.workstation.clone(),
        template: a.template.clone(),
        dry_run,
        aws: target(cli),
    };
    let Some((p, sub)) = plan_then_submit(
        &c,
        cli,
        "/v1/restores",
        req,
        describe,
        a.flags.confirm(),
        "Continue?",
    )
    .await?
    else {
        return Ok(());
    };
    finish(&c, cli.output, sub, a.flags.detach, |_| {
        outln!(
            "Workstation '{}' now runs from {}@{} (same instance {}, data volumes and addresses)",
            p.workstation,
            p.template,
            p.version,
            p.instance_id
        );
        outln!(
            "  The old root volume {} is kept, detached and tagged prism:replaced-root-of={}; it is billed until you delete it:",
            p.old_root_volume_id,
            p.workstation
        );
        outln!(
            "    aws ec2 delete-volume --region {} --volume-id {}",
            p.region,
            p.old_root_volume_id
        );
    })
    .await
}
