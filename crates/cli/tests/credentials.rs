//! Without usable AWS credentials, or without an answer from EC2, `prism list` never presents
//! cached rows as current: no credentials is one clear error with the fix (exit 3); an
//! unreachable endpoint shows the cached rows marked as cached, with their age.

use prism_testkit::Moto;
use std::path::Path;
use std::process::{Command, Output};

fn prism(moto: &Moto, home: &Path, args: &[&str], no_credentials: bool) -> Output {
    let mut c: Command = moto.prism_command(env!("CARGO_BIN_EXE_prism"), home);
    if no_credentials {
        // Nothing in the environment, no config files, no instance metadata.
        let empty = home.join("empty-home");
        std::fs::create_dir_all(&empty).unwrap();
        c.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env("HOME", &empty)
            .env("AWS_CONFIG_FILE", empty.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", empty.join("credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "true");
    }
    c.args(args).output().expect("run prism")
}

#[test]
fn no_credentials_is_one_clear_error_not_a_table() {
    let moto = Moto::start();
    let home = tempfile::tempdir().unwrap();
    // A workstation in the cache, from a run with credentials.
    let o = prism(
        &moto,
        home.path(),
        &["launch", "python-ml", "cred-ws"],
        false,
    );
    assert!(o.status.success(), "{o:?}");
    prism(&moto, home.path(), &["daemon", "stop"], false);

    let o = prism(&moto, home.path(), &["list"], true);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let stdout = String::from_utf8_lossy(&o.stdout);
    prism(&moto, home.path(), &["daemon", "stop"], true);
    assert_eq!(o.status.code(), Some(3), "exit 3 (AWS): {stderr}");
    assert!(
        !stdout.contains("cred-ws"),
        "no stale row shown as current: {stdout}"
    );
    assert!(stderr.contains("no AWS credentials found"), "{stderr}");
    assert!(
        stderr.contains("aws configure"),
        "the fix is named: {stderr}"
    );
    assert!(
        stderr.lines().count() <= 3,
        "one error line and its hint, not an SDK dump: {stderr}"
    );
}

#[test]
fn rows_that_could_not_be_refreshed_are_marked_cached() {
    let moto = Moto::start();
    let home = tempfile::tempdir().unwrap();
    let o = prism(
        &moto,
        home.path(),
        &["launch", "python-ml", "cache-ws"],
        false,
    );
    assert!(o.status.success(), "{o:?}");
    prism(&moto, home.path(), &["daemon", "stop"], false);
    // The endpoint goes away (a network outage): nothing answers at its address.
    let mut c = moto.prism_command(env!("CARGO_BIN_EXE_prism"), home.path());
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let o = c
        .env("AWS_ENDPOINT_URL", &dead_url)
        .env("AWS_ENDPOINT_URL_EC2", &dead_url)
        .env("PRISM_AWS_ATTEMPT_TIMEOUT", "2")
        .args(["list", "--output", "json"])
        .output()
        .unwrap();
    let mut stop = moto.prism_command(env!("CARGO_BIN_EXE_prism"), home.path());
    let _ = stop
        .env("AWS_ENDPOINT_URL", &dead_url)
        .env("AWS_ENDPOINT_URL_EC2", &dead_url)
        .env("PRISM_AWS_ATTEMPT_TIMEOUT", "2")
        .args(["daemon", "stop"])
        .output();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let ws = v["workstations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "cache-ws")
        .unwrap()
        .clone();
    assert!(
        ws["cached_at"].as_str().is_some_and(|t| t.contains('T')),
        "marked cached with the time it was read: {ws}"
    );
    assert!(!v["errors"].as_array().unwrap().is_empty());
}
