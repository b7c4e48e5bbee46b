//! `prism template deprecate|undeprecate`: show what changes, confirm, submit, follow.

use super::{finish, plan_then_submit, target};
use crate::args::{ChangeFlags, Cli};
use crate::client::Client;
use crate::error::CliResult;
use crate::output::{errln, outln};
use prism_api::{DeprecatePlan, DeprecateRequest};

/// What to do to the version.
pub struct How {
    /// `--replacement`.
    pub replacement: Option<String>,
    /// `--at`.
    pub at: Option<String>,
    /// Cancel the deprecation.
    pub remove: bool,
}

fn describe(p: &DeprecatePlan) {
    let reference = format!("{}@{}", p.template, p.version);
    if p.remove {
        errln!(
            "Cancelling the deprecation of {reference} (from {})",
            p.at.as_deref().unwrap_or("?")
        );
    } else {
        errln!(
            "Deprecating {reference} from {}{}",
            p.at.as_deref().unwrap_or("now"),
            p.replacement
                .as_deref()
                .map(|r| format!(", replaced by {r}"))
                .unwrap_or_default()
        );
    }
    for i in &p.images {
        errln!("  {}: {}", i.region, i.image_id);
    }
    match &p.latest_after {
        Some(l) => errln!("  `{}` then names {l}", p.template),
        None => errln!("  `{}` then names no version", p.template),
    }
    for w in &p.warnings {
        errln!("  warning: {w}");
    }
}

/// `prism template deprecate` (`how.remove`: `undeprecate`).
pub async fn deprecate(cli: &Cli, name: &str, how: How, flags: &ChangeFlags) -> CliResult {
    let c = Client::connect(true).await?;
    let req = |dry_run| DeprecateRequest {
        template: name.to_string(),
        replacement: how.replacement.clone(),
        at: how.at.clone(),
        remove: how.remove,
        dry_run,
        aws: target(cli),
    };
    let path = "/v1/templates/deprecations";
    let Some((p, sub)) =
        plan_then_submit(&c, cli, path, req, describe, flags.confirm(), "Continue?").await?
    else {
        return Ok(());
    };
    finish(&c, cli.output, sub, flags.detach, |_| {
        let reference = format!("{}@{}", p.template, p.version);
        if p.remove {
            outln!("{reference} is no longer deprecated");
        } else {
            outln!(
                "{reference} is deprecated from {}{}",
                p.at.as_deref().unwrap_or("now"),
                p.replacement
                    .as_deref()
                    .map(|r| format!("; launches of it are pointed to {r}"))
                    .unwrap_or_default()
            );
        }
    })
    .await
}
