//! Defences against a hostile neighbour on the same machine (docs/SECURITY.md): a squatter on
//! a dead daemon's port gets no token, a flood of half-sent connections cannot starve the
//! user's own commands, and the state files are private. Each test fails without its defence.

use prism_testkit::Moto;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn prism(moto: &Moto, home: &Path, args: &[&str]) -> Output {
    let mut c = moto.prism_command(env!("CARGO_BIN_EXE_prism"), home);
    c.args(args).output().expect("run prism")
}

fn ok(moto: &Moto, home: &Path, args: &[&str]) -> String {
    let o = prism(moto, home, args);
    assert!(
        o.status.success(),
        "prism {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stops the daemon of `home` when the test ends, whatever happened.
struct StopDaemon<'a>(&'a Moto, &'a Path);

impl Drop for StopDaemon<'_> {
    fn drop(&mut self) {
        let _ = prism(self.0, self.1, &["daemon", "stop"]);
    }
}

fn daemon_addr(state: &Path) -> String {
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.join("daemon.json")).unwrap()).unwrap();
    info["addr"].as_str().unwrap().to_string()
}

/// Reads one HTTP request head (and a Content-Length body) from `s`.
fn read_request(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return buf,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).to_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    while buf.len() < head_end + len {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    buf
}

#[test]
fn a_squatter_on_a_dead_daemons_port_receives_no_token() {
    let moto = Moto::start();
    let home = tempfile::tempdir().unwrap();
    let _stop = StopDaemon(&moto, home.path());
    let state = home.path().join("state");
    // A daemon ran and died without cleaning up: its token file and daemon.json stay behind.
    ok(&moto, home.path(), &["templates"]);
    let old_token = std::fs::read_to_string(state.join("token")).unwrap();
    ok(&moto, home.path(), &["daemon", "stop"]);
    // Another local user binds a port and makes daemon.json name it (as after a crash, when
    // the dead daemon's port is free for anyone to take).
    let squatter = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = squatter.local_addr().unwrap().port();
    std::fs::write(state.join("token"), &old_token).unwrap();
    std::fs::write(
        state.join("daemon.json"),
        format!(r#"{{"addr":"127.0.0.1:{port}","pid":1,"version":"0.1.0"}}"#),
    )
    .unwrap();
    // The squatter records everything and answers every request as a daemon would, with a
    // made-up proof (it cannot compute the right one without the token).
    let received = Arc::new(Mutex::new(Vec::<u8>::new()));
    let rec = received.clone();
    squatter.set_nonblocking(false).unwrap();
    std::thread::spawn(move || {
        for s in squatter.incoming() {
            let Ok(mut s) = s else { break };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let req = read_request(&mut s);
            rec.lock().unwrap().extend_from_slice(&req);
            let body = format!(
                r#"{{"proof":"{}","pid":1,"version":"0.1.0","started_at":"x","aws_env_fingerprint":"x","aws_endpoint":null,"active_operations":0,"templates":[],"issues":[]}}"#,
                "0".repeat(64)
            );
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let o = prism(&moto, home.path(), &["templates", "--output", "json"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "prism templates works through a new daemon: {stderr}"
    );
    assert!(
        stderr.contains("something other than prismd answers"),
        "the user is told: {stderr}"
    );
    let got = received.lock().unwrap().clone();
    let got = String::from_utf8_lossy(&got);
    assert!(got.contains("/v1/hello"), "the squatter was asked: {got}");
    assert!(
        !got.contains(old_token.trim()),
        "the token never reached the squatter: {got}"
    );
    assert!(
        !got.to_lowercase().contains("x-prism-token"),
        "no token header at all: {got}"
    );
    assert!(!got.contains("POST"), "no request body either: {got}");
    assert_ne!(
        daemon_addr(&state),
        format!("127.0.0.1:{port}"),
        "the stale address was replaced"
    );
}

/// A daemon started by the test: killed and reaped when the test ends.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts prismd for `home` with an open-file limit of `nofile`, and waits for its address.
fn start_limited_daemon(moto: &Moto, home: &Path, nofile: u64) -> (String, Daemon) {
    let state = home.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let mut c: Command = moto.prism_command(env!("CARGO_BIN_EXE_prismd"), home);
    let log = std::fs::File::create(home.join("prismd-test.log")).unwrap();
    c.stdout(log.try_clone().unwrap()).stderr(log);
    #[cfg(unix)]
    unsafe {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe and touches only the child.
        c.pre_exec(move || {
            let l = libc::rlimit {
                rlim_cur: nofile as libc::rlim_t,
                rlim_max: nofile as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &l) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let daemon = Daemon(c.spawn().expect("start prismd"));
    // A daemon binds in well under a second; 20 s covers a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(b) = std::fs::read(state.join("daemon.json")) {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&b) {
                return (v["addr"].as_str().unwrap().to_string(), daemon);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "prismd did not start: {}",
        std::fs::read_to_string(home.join("prismd-test.log")).unwrap_or_default()
    );
}

/// Whether the daemon closed `s` (EOF or reset) within `within`.
fn closed_by_peer(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut b = [0u8; 512];
    loop {
        match s.read(&mut b) {
            Ok(0) => return true,
            // An answer (e.g. 408) before the close is fine; keep reading to the close.
            Ok(_) => continue,
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            }
        }
    }
}

#[test]
fn half_sent_connections_cannot_starve_the_users_commands() {
    let moto = Moto::start();
    let home = tempfile::tempdir().unwrap();
    let _stop = StopDaemon(&moto, home.path());
    // A daemon limited to 200 open files, and a neighbour holding 400 connections open with
    // half a request head each (more than the daemon could ever hold at once).
    let (addr, _daemon) = start_limited_daemon(&moto, home.path(), 200);
    let mut held = Vec::new();
    for _ in 0..400 {
        let mut s = TcpStream::connect(&addr).unwrap();
        let _ = s.write_all(format!("GET /v1/health HTTP/1.1\r\nHost: {addr}\r\n").as_bytes());
        held.push(s);
    }
    // The user's own command still answers.
    let out = ok(&moto, home.path(), &["templates", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["templates"].as_array().is_some_and(|t| !t.is_empty()),
        "{out}"
    );
    // And the daemon closes every half-sent connection: the oldest as newer ones arrive,
    // the rest after the header-read timeout (10 s; 25 s allowed here).
    let deadline = Duration::from_secs(25);
    let start = Instant::now();
    let mut still_open = 0;
    for s in held.iter_mut() {
        let left = deadline
            .saturating_sub(start.elapsed())
            .max(Duration::from_millis(10));
        if !closed_by_peer(s, left) {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "half-sent connections the daemon kept open");
    // Still serving afterwards.
    ok(&moto, home.path(), &["daemon", "status"]);
}

#[test]
fn state_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let moto = Moto::start();
    let home = tempfile::tempdir().unwrap();
    let _stop = StopDaemon(&moto, home.path());
    let state = home.path().join("state");
    // An older version left the store and the log world-readable: they are tightened.
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("prismd.log"), "old\n").unwrap();
    std::fs::set_permissions(
        state.join("prismd.log"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    ok(&moto, home.path(), &["templates"]);
    ok(&moto, home.path(), &["list"]);
    for f in [
        "prism.db",
        "prism.db-wal",
        "prism.db-shm",
        "prismd.log",
        "daemon.lock",
        "daemon.json",
        "token",
    ] {
        let p = state.join(f);
        let mode = std::fs::metadata(&p)
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f} mode {mode:o}");
    }
}
