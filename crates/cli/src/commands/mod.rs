//! One module per command area; each function takes parsed args and prints the result.

pub mod daemon;
pub mod operations;
pub mod projects;
pub mod save;
pub mod share;
pub mod template_delete;
pub mod templates;
pub mod workstations;

use crate::args::Cli;
use crate::client::Client;
use crate::error::CliResult;
use crate::follow::follow;
use crate::output::{print, Format};
use prism_api::{AwsTarget, Operation, Submitted};

/// The AWS target of this invocation.
pub fn target(cli: &Cli) -> AwsTarget {
    AwsTarget {
        profile: cli.profile.clone().filter(|p| !p.is_empty()),
        region: crate::region::resolve(cli.region.as_deref(), cli.profile.as_deref()),
    }
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
            println!("{}", o.id);
            eprintln!("submitted; follow it with: prism operation follow {}", o.id);
        });
    }
    let op = follow(client, &sub.operation.id, format != Format::Table).await?;
    print(format, &op, summary)
}
