//! `prism template share|unshare`: show whom a saved version is shared with, confirm, submit,
//! follow, and tell the user how colleagues find it.

use super::{finish, plan_then_submit, target};
use crate::args::{Cli, ShareArgs};
use crate::client::Client;
use crate::error::CliResult;
use crate::output::{errln, outln};
use prism_api::{SharePlan, ShareRequest};

/// What `--allow-copy` grants, said in the plan and the summary.
const COPY_MEANS: &str = "They may also copy it into their own regions (create-volume permission \
     on its snapshots: they can read its disk).";

/// Whom the plan names, for people.
fn whom(p: &SharePlan) -> String {
    let mut parts: Vec<String> = vec![];
    if p.public {
        parts.push("everyone (public)".into());
    }
    parts.extend(p.accounts.iter().map(|a| format!("account {a}")));
    parts.extend(p.organizations.iter().map(|o| format!("organization {o}")));
    parts.extend(p.organizational_units.iter().map(|o| format!("OU {o}")));
    parts.join(", ")
}

fn describe(p: &SharePlan) {
    let (verb, prep) = if p.remove {
        ("Unsharing", "from")
    } else {
        ("Sharing", "with")
    };
    errln!("{verb} {}@{} {prep} {}", p.template, p.version, whom(p));
    for i in &p.images {
        errln!("  {}: {}", i.region, i.image_id);
    }
    if p.public && !p.remove {
        errln!("  {}", super::save::PUBLIC_MEANS);
    }
    if p.allow_copy {
        errln!("  {COPY_MEANS}");
    }
    for w in &p.warnings {
        errln!("  warning: {w}");
    }
}

/// `prism template share` (`remove`: `unshare`).
pub async fn share(cli: &Cli, a: &ShareArgs, remove: bool) -> CliResult {
    let c = Client::connect(true).await?;
    let req = |dry_run| ShareRequest {
        template: a.name.clone(),
        accounts: a.accounts.clone(),
        organizations: a.organizations.clone(),
        organizational_units: a.organizational_units.clone(),
        public: a.public,
        remove,
        allow_copy: a.allow_copy,
        dry_run,
        aws: target(cli),
    };
    let path = "/v1/templates/shares";
    let mut confirm = a.flags.confirm();
    if a.public && !remove {
        confirm.also_ask = Some(super::save::PUBLIC_QUESTION.to_string());
    }
    let Some((p, sub)) =
        plan_then_submit(&c, cli, path, req, describe, confirm, "Continue?").await?
    else {
        return Ok(());
    };
    finish(&c, cli.output, sub, a.flags.detach, |_| {
        let reference = format!("{}@{}", p.template, p.version);
        if remove {
            outln!("{reference} is no longer shared with {}", whom(&p));
        } else {
            outln!(
                "{reference} is shared with {} in {}",
                whom(&p),
                p.images
                    .iter()
                    .map(|i| i.region.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if p.public {
                outln!("  {}", super::save::PUBLIC_MEANS);
            }
            if p.allow_copy {
                outln!("  {COPY_MEANS}");
            }
            errln!(
                "They find it with: prism templates --refresh, and launch it with: prism launch {} NEW-NAME",
                p.template
            );
        }
    })
    .await
}
