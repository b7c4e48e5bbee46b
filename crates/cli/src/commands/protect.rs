//! `prism template protect|unprotect`: show what changes, confirm, submit, follow.

use super::{finish, plan_then_submit, target};
use crate::args::{ChangeFlags, Cli};
use crate::client::Client;
use crate::error::CliResult;
use crate::output::{errln, outln};
use prism_api::{ProtectPlan, ProtectRequest};

fn describe(p: &ProtectPlan) {
    let reference = format!("{}@{}", p.template, p.version);
    if p.remove {
        errln!("Lifting the deregistration protection of {reference}");
    } else {
        errln!(
            "Protecting {reference} from deregistration{}",
            if p.with_cooldown {
                " (with EC2's 24-hour cooldown after unprotect)"
            } else {
                ""
            }
        );
    }
    for i in &p.images {
        errln!("  {}: {}", i.region, i.image_id);
    }
}

/// `prism template protect` (`remove`: `unprotect`).
pub async fn protect(
    cli: &Cli,
    name: &str,
    with_cooldown: bool,
    remove: bool,
    flags: &ChangeFlags,
) -> CliResult {
    let c = Client::connect(true).await?;
    let req = |dry_run| ProtectRequest {
        template: name.to_string(),
        with_cooldown,
        remove,
        dry_run,
        aws: target(cli),
    };
    let path = "/v1/templates/protections";
    let Some((p, sub)) =
        plan_then_submit(&c, cli, path, req, describe, flags.confirm(), "Continue?").await?
    else {
        return Ok(());
    };
    finish(&c, cli.output, sub, flags.detach, |_| {
        let reference = format!("{}@{}", p.template, p.version);
        if p.remove {
            outln!("{reference} can be deleted again");
        } else {
            outln!(
                "{reference} is protected: template delete refuses it until: prism template unprotect {reference}"
            );
        }
    })
    .await
}
