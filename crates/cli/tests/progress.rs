//! Progress speaks the user's language: each finished step is shown by its label from the
//! saga's step table, not by its journal name.

use prism_testkit::Moto;

#[test]
fn progress_lines_use_the_step_labels() {
    let moto = Moto::start();
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut c = moto.prism_command(env!("CARGO_BIN_EXE_prism"), home.path());
        c.args(args).output().unwrap()
    };
    let o = run(&["launch", "python-ml", "labels-ws"]);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let ops = run(&["operations", "--output", "json"]);
    let _ = run(&["daemon", "stop"]);
    assert!(o.status.success(), "{stderr}");
    let saga = prism_ops::registry::saga_for("launch.v1").expect("launch is registered");
    for step in &saga.steps {
        assert!(
            stderr.contains(&format!("✓ {}", step.label())),
            "'{}' shown by its label: {stderr}",
            step.name()
        );
        assert!(
            !stderr.contains(&format!("✓ {} ", step.name())),
            "not by its name: {stderr}"
        );
    }
    // The API carries the label next to the name.
    let list: serde_json::Value = serde_json::from_slice(&ops.stdout).unwrap();
    let id = list["operations"][0]["id"].as_str().unwrap().to_string();
    let mut c = moto.prism_command(env!("CARGO_BIN_EXE_prism"), home.path());
    let show = c
        .args(["operation", "show", &id, "--output", "json"])
        .output()
        .unwrap();
    let _ = run(&["daemon", "stop"]);
    let op: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    let first = &op["events"][0];
    assert_eq!(first["label"], saga.steps[0].label(), "{first}");
}

/// A public save says in plain words who gains access, in the plan and in the summary.
#[test]
fn a_public_save_spells_out_who_can_read_the_disk() {
    let moto = Moto::start();
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut c = moto.prism_command(env!("CARGO_BIN_EXE_prism"), home.path());
        c.args(args).output().unwrap()
    };
    let o = run(&["launch", "python-ml", "pub-ws"]);
    assert!(o.status.success(), "{o:?}");
    let plan = run(&["save", "pub-ws", "pub-env", "--public", "--dry-run"]);
    let saved = run(&["save", "pub-ws", "pub-env", "--public", "--yes"]);
    let _ = run(&["daemon", "stop"]);
    let plan_text = String::from_utf8_lossy(&plan.stderr);
    assert!(
        plan_text.contains(
            "every AWS account in the world will be able to launch this image and read its disk"
        ),
        "{plan_text}"
    );
    // Without a terminal, --yes answers both questions; the summary repeats the meaning.
    assert!(saved.status.success(), "{saved:?}");
    let summary = String::from_utf8_lossy(&saved.stdout);
    assert!(summary.contains("PUBLIC: every AWS account"), "{summary}");
}
