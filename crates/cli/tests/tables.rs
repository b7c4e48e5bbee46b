//! Tables fit the terminal: with `COLUMNS` set (as a terminal's width would be), no line of
//! `templates`, `list`, `operations` or `operation show` is wider; long text is cut with `…`
//! and identifiers stay whole; `--wide` prints everything; output for scripts (no terminal, no
//! `COLUMNS`) keeps its shape.

use prism_testkit::Moto;
use std::process::Output;

/// A description far longer than any terminal line.
const LONG: &str = "Python 3.12 with CUDA, PyTorch, JAX and the lab's analysis pipeline for two-photon calcium imaging, preprocessed with suite2p and checked against the 2025 reference recordings";

#[test]
fn tables_fit_80_and_120_columns_and_wide_shows_everything() {
    let moto = Moto::start();
    let home = tempfile::tempdir().unwrap();
    let run = |columns: Option<&str>, args: &[&str]| -> Output {
        let mut c = moto.prism_command(env!("CARGO_BIN_EXE_prism"), home.path());
        c.env_remove("COLUMNS");
        if let Some(w) = columns {
            c.env("COLUMNS", w);
        }
        c.args(args).output().unwrap()
    };
    let ok = |o: &Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    ok(&run(None, &["launch", "python-ml", "tables-workstation"]));
    ok(&run(
        None,
        &[
            "save",
            "tables-workstation",
            "calcium-imaging-env",
            "--description",
            LONG,
            "--yes",
        ],
    ));
    let ops: serde_json::Value =
        serde_json::from_str(&ok(&run(None, &["operations", "-o", "json"]))).unwrap();
    let save_id = ops["operations"][0]["id"].as_str().unwrap().to_string();

    let commands: Vec<Vec<&str>> = vec![
        vec!["templates"],
        vec!["list"],
        vec!["operations"],
        vec!["operation", "show", &save_id],
    ];
    for width in [80usize, 120] {
        for args in &commands {
            let shown = ok(&run(Some(&width.to_string()), args));
            // The save's summary names the template file: a path, not a table.
            for line in shown.lines().filter(|l| !l.starts_with("Saved template")) {
                assert!(
                    line.chars().count() <= width,
                    "`prism {}` at COLUMNS={width}: {} columns: {line:?}\n{shown}",
                    args.join(" "),
                    line.chars().count()
                );
            }
        }
        // Identifiers are not cut; the long description is.
        let ops = ok(&run(Some(&width.to_string()), &["operations"]));
        assert!(ops.contains(&save_id), "{ops}");
        let templates = ok(&run(Some(&width.to_string()), &["templates"]));
        assert!(templates.contains("calcium-imaging-env"), "{templates}");
        assert!(
            templates.contains('…') && !templates.contains(LONG),
            "{templates}"
        );
    }
    let _ = ok(&run(None, &["list", "--wide"]));
    // --wide: everything, whatever the width.
    let wide = ok(&run(Some("80"), &["templates", "--wide"]));
    assert!(wide.contains(LONG), "{wide}");
    assert!(wide.lines().any(|l| l.chars().count() > 120), "{wide}");
    // For scripts: no terminal, no COLUMNS → the shape of before (description cut at 50).
    let plain = ok(&run(None, &["templates"]));
    assert!(!plain.contains(LONG), "{plain}");
    assert!(plain.contains(&LONG[..40]), "{plain}");
    assert!(plain.lines().any(|l| l.chars().count() > 80), "{plain}");
    let _ = run(None, &["daemon", "stop"]);
}
