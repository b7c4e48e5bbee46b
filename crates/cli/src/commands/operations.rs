//! operations, operation show|follow|cancel.

use crate::args::{Cli, OperationCommand, OperationsArgs};
use crate::client::Client;
use crate::error::CliResult;
use crate::follow::follow;
use crate::output::{dash, outln, print, table, Format};
use crate::prompt::confirm;
use prism_api::{Operation, OperationList};

/// `prism operations`.
pub async fn list(cli: &Cli, a: &OperationsArgs) -> CliResult {
    let c = Client::connect(false).await?;
    let l: OperationList = c.get_query("/v1/operations", &[("limit", a.limit)]).await?;
    print(cli.output, &l, |l| {
        let mut t = table(&[
            "ID",
            "KIND",
            "TARGET",
            "STATUS",
            "CREATED",
            "PROGRESS / ERROR",
        ]);
        for o in &l.operations {
            let note = o
                .error
                .clone()
                .or(o.progress.clone().filter(|_| !o.status.is_finished()));
            t.add_row(vec![
                o.id.clone(),
                o.kind.clone(),
                o.target.clone(),
                o.status.as_str().into(),
                o.created_at.clone(),
                dash(&note),
            ]);
        }
        println!("{t}");
    })
}

fn show_table(o: &Operation) {
    outln!(
        "operation {} ({}) on '{}': {}",
        o.id,
        o.kind,
        o.target,
        o.status.as_str()
    );
    if let Some(e) = &o.error {
        outln!("error: {e}");
    }
    if let Some(p) = &o.progress {
        outln!("progress: {p}");
    }
    let mut t = table(&["#", "STEP", "EVENT", "AT", "DETAIL"]);
    for e in &o.events {
        let d = e
            .payload
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default();
        t.add_row(vec![
            e.seq.to_string(),
            match &e.sub {
                Some(sub) => format!("{}[{sub}]", e.step),
                None => e.step.clone(),
            },
            e.event.clone(),
            e.at.clone(),
            d,
        ]);
    }
    println!("{t}");
    if let Some(r) = &o.result {
        outln!(
            "result: {}",
            serde_json::to_string_pretty(r).unwrap_or_default()
        );
    }
}

/// `prism operation …`.
pub async fn operation(cli: &Cli, cmd: &OperationCommand) -> CliResult {
    let id = match cmd {
        OperationCommand::Show { id }
        | OperationCommand::Follow { id }
        | OperationCommand::Cancel { id, .. } => id,
    };
    if id.trim().is_empty() || id == "." || id == ".." {
        return Err(crate::error::CliError::refused(
            format!("no operation '{id}'"),
            Some("list operations with: prism operations".to_string()),
        ));
    }
    let seg = crate::client::segment(id);
    let c = Client::connect(false).await?;
    match cmd {
        OperationCommand::Show { .. } => {
            let o: Operation = c.get(&format!("/v1/operations/{seg}")).await?;
            print(cli.output, &o, show_table)
        }
        OperationCommand::Follow { .. } => {
            let o = follow(&c, &seg, cli.output != Format::Table).await?;
            print(cli.output, &o, |o| {
                outln!("operation {} {}", o.id, o.status.as_str())
            })
        }
        OperationCommand::Cancel { id, yes } => {
            confirm(&format!("Cancel operation {id}? Its work is undone"), *yes)?;
            let o: Operation = c.post(&format!("/v1/operations/{seg}/cancel"), &()).await?;
            print(cli.output, &o, |o| {
                outln!("cancel requested for {}; it is compensating (follow: prism operation follow {})", o.id, o.id)
            })
        }
    }
}
