//! One module per command area; each function takes parsed args and prints the result.

pub mod connect;
pub mod daemon;
pub mod deprecate;
pub mod operations;
pub mod projects;
pub mod protect;
pub mod restore;
pub mod save;
pub mod share;
pub mod template_delete;
pub mod template_info;
pub mod templates;
pub mod workstations;

use crate::args::Cli;
use crate::client::Client;
use crate::error::CliResult;
use crate::follow::follow;
use crate::output::{errln, outln, print, Format};
use prism_api::{AwsTarget, Operation, Submitted};

/// The AWS target of this invocation.
pub fn target(cli: &Cli) -> AwsTarget {
    // Flags > environment > config file > the AWS config's profile region.
    let profile = crate::config::profile(cli.profile.as_deref().filter(|p| !p.is_empty())).value;
    let region = crate::config::region(cli.region.as_deref(), profile.as_deref()).value;
    AwsTarget { profile, region }
}

/// A daemon's answer to a change that plans first: the plan, and the operation unless it was
/// a dry run.
#[derive(serde::Deserialize)]
pub struct PlanAnswer<P> {
    /// What the change does.
    pub plan: P,
    /// The submitted operation.
    pub submitted: Option<Submitted>,
}

/// How a planned change is confirmed: `--yes`, `--dry-run`.
pub struct Confirm {
    /// Do not ask.
    pub yes: bool,
    /// Only show the plan.
    pub dry_run: bool,
    /// A second question asked on its own after the first (e.g. making an image public), so
    /// agreeing to the rest of the plan never agrees to it by the way.
    pub also_ask: Option<String>,
}

/// The flow of every change that shows its plan first: asks the daemon for the plan (the
/// request built with `dry_run = true`), shows it, asks `question` unless `--yes`, then submits
/// (`dry_run = false`). `None` after a dry run, whose plan is printed as the output.
pub async fn plan_then_submit<R, P>(
    client: &Client,
    cli: &Cli,
    path: &str,
    request: impl Fn(bool) -> R,
    describe: impl Fn(&P),
    confirm: Confirm,
    question: &str,
) -> CliResult<Option<(P, Submitted)>>
where
    R: serde::Serialize,
    P: serde::Serialize + serde::de::DeserializeOwned,
{
    let planned: PlanAnswer<P> = client.post(path, &request(true)).await?;
    if confirm.dry_run {
        print(cli.output, &planned.plan, describe)?;
        return Ok(None);
    }
    if cli.output == Format::Table || !confirm.yes {
        describe(&planned.plan);
    }
    crate::prompt::confirm(question, confirm.yes)?;
    if let Some(q) = &confirm.also_ask {
        crate::prompt::confirm(q, confirm.yes)?;
    }
    let ans: PlanAnswer<P> = client.post(path, &request(false)).await?;
    let sub = ans.submitted.ok_or_else(|| {
        crate::error::CliError::refused("the daemon planned the change but did not submit it", None)
    })?;
    Ok(Some((ans.plan, sub)))
}

/// Follows a submitted operation (unless `detach`) and prints the final operation.
pub async fn finish(
    client: &Client,
    format: Format,
    sub: Submitted,
    detach: bool,
    summary: impl FnOnce(&Operation),
) -> CliResult {
    if detach {
        return print(format, &sub.operation, |o| {
            outln!("{}", o.id);
            errln!("submitted; follow it with: prism operation follow {}", o.id);
        });
    }
    let op = follow(client, &sub.operation.id, format != Format::Table).await?;
    print(format, &op, summary)
}
