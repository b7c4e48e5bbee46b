//! Every command that prints survives a closed pipe (`prism operations | head -1`): no panic,
//! no "Broken pipe" message, and the exit of a Unix tool (success, or ended by SIGPIPE).

use prism_testkit::Moto;
use std::process::Stdio;

#[test]
fn printing_commands_end_quietly_when_the_reader_goes_away() {
    let moto = Moto::start();
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut c = moto.prism_command(env!("CARGO_BIN_EXE_prism"), home.path());
        let mut child = c
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader is gone before the command writes anything.
        drop(child.stdout.take());
        child.wait_with_output().unwrap()
    };
    // Something to list in the operations.
    let o = run(&["launch", "python-ml", "pipe-ws"]);
    assert!(o.status.success() || o.status.code().is_none(), "{o:?}");
    for args in [
        &["operations"][..],
        &["operations", "--output", "json"],
        &["templates"],
        &["templates", "--output", "json"],
        &["template", "info", "python-ml"],
        &["template", "versions", "python-ml"],
        &["list"],
        &["list", "--output", "yaml"],
        &["daemon", "status"],
        &["completions", "bash"],
        &["man"],
        &["--help"],
    ] {
        let o = run(args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "prism {args:?}: {stderr}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert!(
                o.status.success() || o.status.signal() == Some(libc::SIGPIPE),
                "prism {args:?} ended with {:?}: {stderr}",
                o.status
            );
        }
    }
    let mut stop = moto.prism_command(env!("CARGO_BIN_EXE_prism"), home.path());
    let _ = stop.args(["daemon", "stop"]).output();
}
