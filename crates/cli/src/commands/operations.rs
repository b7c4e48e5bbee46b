//! operations, operation show|follow|cancel.

use crate::args::{Cli, OperationCommand, OperationsArgs};
use crate::client::Client;
use crate::commands::save::print_summary;
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
                // To the minute, as people read it; the exact time is in --output json.
                chrono::DateTime::parse_from_rfc3339(&o.created_at)
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|_| o.created_at.clone()),
                dash(&note),
            ]);
        }
        println!("{t}");
    })
}

/// Seconds between two RFC 3339 times, as people read them (`0.4s`, `2m 5s`).
fn took(from: &str, to: &str) -> Option<String> {
    let a = chrono::DateTime::parse_from_rfc3339(from).ok()?;
    let b = chrono::DateTime::parse_from_rfc3339(to).ok()?;
    let ms = (b - a).num_milliseconds().max(0);
    Some(if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        humantime::format_duration(std::time::Duration::from_secs(ms as u64 / 1000)).to_string()
    })
}

/// The time of day of an RFC 3339 time (`14:03:27`), else the text as it is.
fn clock(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_else(|_| at.to_string())
}

/// A step's error from its journal payload: the text, else the JSON.
fn reason(payload: &Option<serde_json::Value>) -> String {
    match payload {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => "no reason recorded".into(),
    }
}

/// The journal as a timeline: one row per step, in the order the steps started, with its
/// label, start, duration and result (`ok`, `failed: reason`, `undone`, `running`).
pub fn timeline(o: &Operation) -> crate::output::Table {
    struct Row {
        step: String,
        label: String,
        started: Option<String>,
        ended: Option<String>,
        result: String,
    }
    let mut rows: Vec<Row> = Vec::new();
    for e in o.events.iter().filter(|e| e.event != "record") {
        let i = match rows.iter().position(|r| r.step == e.step) {
            Some(i) => i,
            None => {
                rows.push(Row {
                    step: e.step.clone(),
                    label: e.label.clone().unwrap_or_else(|| e.step.clone()),
                    started: None,
                    ended: None,
                    result: "running".into(),
                });
                rows.len() - 1
            }
        };
        let r = &mut rows[i];
        match e.event.as_str() {
            "started" => r.started = Some(e.at.clone()),
            "succeeded" => {
                r.ended = Some(e.at.clone());
                r.result = "ok".into();
            }
            "failed" => {
                r.ended = Some(e.at.clone());
                r.result = format!("failed: {}", reason(&e.payload));
            }
            "undo-started" => r.result = format!("{}, undoing", r.result),
            "undo-finished" => r.result = "undone".into(),
            "undo-failed" => r.result = format!("undoing failed: {}", reason(&e.payload)),
            _ => {}
        }
    }
    let mut t = table(&["STEP", "STARTED", "TOOK", "RESULT"]);
    for r in rows {
        let took = match (&r.started, &r.ended) {
            (Some(a), Some(b)) => took(a, b).unwrap_or_else(|| "-".into()),
            _ => "-".into(),
        };
        t.add_row(vec![
            r.label,
            r.started
                .as_deref()
                .map(clock)
                .unwrap_or_else(|| "-".into()),
            took,
            r.result,
        ]);
    }
    t
}

fn show_table(o: &Operation) {
    outln!("{} on '{}': {}", o.kind, o.target, o.status.as_str());
    outln!("operation {}", o.id);
    if let Some(e) = &o.error {
        outln!("error: {e}");
    }
    if let Some(p) = o.progress.as_ref().filter(|_| !o.status.is_finished()) {
        outln!("progress: {p}");
    }
    println!("{}", timeline(o));
    if o.kind.starts_with("save.") {
        print_summary(o);
    } else if let Some(serde_json::Value::Object(m)) = &o.result {
        for (k, v) in m {
            match v {
                serde_json::Value::String(s) => outln!("{k}: {s}"),
                v => outln!("{k}: {v}"),
            }
        }
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
                outln!("operation {} {}", o.id, o.status.as_str());
                // A save ends as `save` itself ends: with its summary.
                if o.kind.starts_with("save.") {
                    print_summary(o);
                }
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
