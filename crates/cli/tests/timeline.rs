//! What an operation says about itself: `operation show` as a timeline of labelled steps,
//! `operation follow` of a save ending with the save's summary, and `list` showing a save
//! while it runs.

use prism_testkit::fault_proxy::{Fault, FaultPlan, FaultProxy, FaultRule};
use prism_testkit::Moto;
use std::process::Output;
use std::time::Duration;

fn text(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn show_is_a_timeline_and_follow_of_a_save_ends_with_its_summary() {
    let moto = Moto::start();
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut c = moto.prism_command(env!("CARGO_BIN_EXE_prism"), home.path());
        c.args(args).output().unwrap()
    };
    text(&run(&["launch", "python-ml", "tl-ws"]));
    let id = text(&run(&["save", "tl-ws", "tl-env", "--yes", "--detach"]))
        .trim()
        .to_string();
    let followed = text(&run(&["operation", "follow", &id]));
    let shown = text(&run(&["operation", "show", &id]));
    let json = text(&run(&["operation", "show", &id, "--output", "json"]));
    let _ = run(&["daemon", "stop"]);

    // follow ends as `save` ends: versions, images per region, downtime and cost.
    for needle in [
        "Saved template 'tl-env' version 1",
        "us-east-1",
        "downtime",
        "estimated storage $",
        "Launch it with: prism launch tl-env",
    ] {
        assert!(followed.contains(needle), "{needle} in {followed}");
    }
    // show: one row per step, by label, with its result; no raw journal.
    let header = shown.lines().nth(2).unwrap_or_default();
    for col in ["STEP", "STARTED", "TOOK", "RESULT"] {
        assert!(header.contains(col), "{col} in {shown}");
    }
    let saga = prism_ops::registry::saga_for("save.v1").unwrap();
    let rows: Vec<&str> = shown
        .lines()
        .filter(|l| saga.steps.iter().any(|s| l.contains(s.label())))
        .collect();
    assert!(!rows.is_empty(), "{shown}");
    assert!(
        rows.iter().all(|r| r.trim_end().ends_with(" ok")),
        "{shown}"
    );
    assert!(
        !shown.contains('{') && !shown.contains("succeeded\""),
        "{shown}"
    );
    assert!(
        shown.contains("Saved template 'tl-env' version 1"),
        "{shown}"
    );
    // The raw journal stays under --output json.
    let op: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        op["events"].as_array().is_some_and(|e| !e.is_empty()),
        "{json}"
    );
}

#[test]
fn list_shows_a_save_while_it_runs() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint, FaultPlan::new(1, vec![]));
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut c = moto.prism_command(env!("CARGO_BIN_EXE_prism"), home.path());
        c.env("AWS_ENDPOINT_URL", &proxy.endpoint)
            .args(args)
            .output()
            .unwrap()
    };
    text(&run(&["launch", "python-ml", "busy-ws"]));
    // EC2 takes its time over the image: the save is still running when `list` asks.
    proxy.set_plan(FaultPlan::new(
        1,
        vec![
            FaultRule::new(&["CreateImage"], Fault::Delay(Duration::from_secs(5)))
                .with_max_count(1),
        ],
    ));
    let id = text(&run(&["save", "busy-ws", "slow-env", "--yes", "--detach"]))
        .trim()
        .to_string();
    let during = text(&run(&["list"]));
    let json = text(&run(&["list", "-o", "json"]));
    text(&run(&["operation", "follow", &id]));
    let after = text(&run(&["list"]));
    let _ = run(&["daemon", "stop"]);
    let row = during
        .lines()
        .find(|l| l.contains("busy-ws"))
        .unwrap_or_default();
    assert!(row.contains("saving → slow-env@1, "), "{during}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["workstations"][0]["operation"]["id"],
        id.as_str(),
        "{json}"
    );
    assert!(!after.contains("saving"), "{after}");
}
