//! Test helpers: starts the pinned moto EC2 emulator on a loopback port for protocol tests.
//!
//! Tests that need the emulator call [`Moto::start`]; it installs moto on first use (through
//! `scripts/setup-moto.sh`), starts `moto_server` with the project's AMI fixture, waits until
//! it answers and panics loudly — with the tail of moto's log — when it cannot: a test that
//! needs moto fails, it is never skipped. Dropping the [`Moto`] stops the server.
//!
//! [`FaultProxy`] sits between a client and moto and injects throttling, server errors,
//! dropped connections, delays and lost responses ([`fault_proxy`]).

#![warn(missing_docs)]

pub mod fault_proxy;

pub use fault_proxy::{Fault, FaultPlan, FaultProxy, FaultRule, FaultStats};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long `moto_server` may take to answer after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Pause between readiness probes.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Attempts at starting moto (a free port can be taken between our probe and moto's bind).
const START_ATTEMPTS: usize = 3;
/// Timeout of one HTTP exchange with moto's control API.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Environment variables that [`Moto::configure_command`] removes from a child process, so
/// that the developer's own AWS settings never reach a test.
pub const AWS_ENV_REMOVE: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_ENDPOINT_URL_EC2",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_SSM",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
];

/// A running `moto_server` on 127.0.0.1, stopped when dropped.
pub struct Moto {
    /// The port moto listens on.
    pub port: u16,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    child: Child,
    log_path: PathBuf,
    /// Holds the log and the empty AWS config/credentials files; removed on drop.
    dir: tempfile::TempDir,
}

impl Moto {
    /// Starts moto on a free loopback port with the project's AMI fixture
    /// (`tests/fixtures/moto-amis.json`) and waits until it answers.
    ///
    /// # Panics
    ///
    /// When moto cannot be installed or does not answer within 20 s; the message carries the
    /// tail of moto's log. Tests needing moto must fail, never skip.
    pub fn start() -> Moto {
        Self::start_with(&[])
    }

    /// Like [`Moto::start`], with extra environment for moto itself (e.g.
    /// `MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION=true`). `RunInstances` always validates its
    /// AMI (`MOTO_ENABLE_AMI_VALIDATION=true`), as real EC2 does; pass
    /// `("MOTO_ENABLE_AMI_VALIDATION", "")` to turn that off.
    ///
    /// # Panics
    ///
    /// As [`Moto::start`].
    pub fn start_with(moto_env: &[(&str, &str)]) -> Moto {
        let server = ensure_moto_installed();
        let fixture = project_root().join("tests/fixtures/moto-amis.json");
        assert!(
            fixture.is_file(),
            "moto AMI fixture missing: {}",
            fixture.display()
        );
        let mut failures = Vec::new();
        for attempt in 1..=START_ATTEMPTS {
            let dir = tempfile::Builder::new()
                .prefix("prism-moto-")
                .tempdir()
                .unwrap_or_else(|e| panic!("cannot create a temp dir for moto: {e}"));
            match try_start(&server, &fixture, moto_env, dir) {
                Ok(moto) => return moto,
                Err(failure) => {
                    failures.push(format!("attempt {attempt}: {failure}"));
                }
            }
        }
        panic!(
            "moto_server did not start after {START_ATTEMPTS} attempts:\n{}",
            failures.join("\n")
        );
    }

    /// Forgets every resource moto holds (`POST /moto-api/reset`); the AMI fixture is loaded
    /// again.
    ///
    /// # Panics
    ///
    /// When moto does not answer 200.
    pub fn reset(&self) {
        let (status, body) = http_request(self.port, "POST", "/moto-api/reset")
            .unwrap_or_else(|e| panic!("moto reset failed: {e}\n{}", self.log_tail()));
        assert_eq!(
            status,
            200,
            "moto reset answered {status}: {body}\n{}",
            self.log_tail()
        );
    }

    /// Environment for a process (CLI, daemon) that must talk to this moto and nothing else:
    /// endpoint, static `testing` credentials, region `us-east-1`, no instance metadata, no
    /// proxy for loopback, and empty AWS config/credentials files so `~/.aws` never leaks in.
    /// Combine with [`AWS_ENV_REMOVE`] (or use [`Moto::configure_command`]).
    pub fn aws_env(&self) -> Vec<(String, String)> {
        let config = self.dir.path().join("aws-config");
        let credentials = self.dir.path().join("aws-credentials");
        for f in [&config, &credentials] {
            if !f.exists() {
                std::fs::write(f, "")
                    .unwrap_or_else(|e| panic!("cannot write {}: {e}", f.display()));
            }
        }
        [
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
            ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
            ("NO_PROXY", "127.0.0.1,localhost".to_string()),
            ("no_proxy", "127.0.0.1,localhost".to_string()),
            ("AWS_CONFIG_FILE", config.display().to_string()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                credentials.display().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Points `cmd` at this moto: removes [`AWS_ENV_REMOVE`] and sets [`Moto::aws_env`].
    pub fn configure_command<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        for k in AWS_ENV_REMOVE {
            cmd.env_remove(k);
        }
        cmd.envs(self.aws_env())
    }

    /// A command running the `prism` binary at `bin` against this moto with state in `home`:
    /// the emulator's AWS environment, fast polling, plain output, stdin closed, and none of
    /// the caller's settings that would change Prism's behaviour (profile, crash hook,
    /// attempt timeout, backtraces).
    pub fn prism_command(&self, bin: &str, home: &std::path::Path) -> Command {
        let mut c = Command::new(bin);
        self.configure_command(&mut c);
        c.env("PRISM_HOME", home)
            .env("PRISM_FAST_POLL", "1")
            .env("NO_COLOR", "1")
            // A launch without --allow-from asks for the caller's address: tests never leave
            // 127.0.0.1, so they are given one (a documentation address, RFC 5737).
            .env("PRISM_TEST_CALLER_ADDRESS", "203.0.113.7")
            .env_remove("PRISM_TEST_CHECKIP_URL")
            .env_remove("PRISM_TEST_CRASH_AT")
            .env_remove("PRISM_AWS_ATTEMPT_TIMEOUT")
            .env_remove("AWS_PROFILE")
            .env_remove("RUST_BACKTRACE")
            .stdin(std::process::Stdio::null());
        c
    }

    /// The last lines of moto's log (for failure messages).
    pub fn log_tail(&self) -> String {
        log_tail(&self.log_path)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The workspace root (two levels above this crate's manifest).
pub fn project_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("no workspace root above {}", here.display()))
}

/// Installs the pinned moto into `<root>/.venv` (once per process, through
/// `scripts/setup-moto.sh`) and returns the path of `moto_server`.
///
/// # Panics
///
/// When the script fails; the message carries its output.
pub fn ensure_moto_installed() -> PathBuf {
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let root = project_root();
            let out = Command::new("bash")
                .arg(root.join("scripts/setup-moto.sh"))
                .current_dir(&root)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("cannot run scripts/setup-moto.sh: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "scripts/setup-moto.sh failed ({}):\n{}\n{}",
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let server = root.join(".venv/bin/moto_server");
            if !server.is_file() {
                return Err(format!(
                    "scripts/setup-moto.sh succeeded but {} is missing",
                    server.display()
                ));
            }
            Ok(server)
        })
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// One attempt at starting moto; `Err` carries why, with the log tail.
fn try_start(
    server: &Path,
    fixture: &Path,
    moto_env: &[(&str, &str)],
    dir: tempfile::TempDir,
) -> Result<Moto, String> {
    let port = free_port()?;
    let log_path = dir.path().join("moto.log");
    let log = std::fs::File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("cannot clone the log handle: {e}"))?;
    let mut cmd = Command::new(server);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_AMIS_PATH", fixture)
        .env("MOTO_ENABLE_AMI_VALIDATION", "true")
        .env("PYTHONUNBUFFERED", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    for k in AWS_ENV_REMOVE {
        cmd.env_remove(k);
    }
    for (k, v) in moto_env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", server.display()))?;
    let mut moto = Moto {
        port,
        endpoint: format!("http://127.0.0.1:{port}"),
        child,
        log_path,
        dir,
    };
    match wait_ready(&mut moto) {
        Ok(()) => Ok(moto),
        Err(why) => {
            // Dropping `moto` kills and reaps the child.
            Err(format!("{why}\n--- moto log ---\n{}", moto.log_tail()))
        }
    }
}

/// Waits until *our* child (not another process that took the port) answers `GET /moto-api/`.
fn wait_ready(moto: &mut Moto) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    // Werkzeug prints this line only after it has bound the socket; seeing it in our own log
    // proves the port is ours before we trust an HTTP answer on it.
    let banner = format!("Running on http://127.0.0.1:{}", moto.port);
    loop {
        if let Some(status) = moto
            .child
            .try_wait()
            .map_err(|e| format!("cannot poll moto_server: {e}"))?
        {
            return Err(format!("moto_server exited early ({status})"));
        }
        let bound = std::fs::read_to_string(&moto.log_path)
            .map(|log| log.contains(&banner))
            .unwrap_or(false);
        if bound {
            if let Ok((200, _)) = http_request(moto.port, "GET", "/moto-api/") {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "moto_server did not answer on port {} within {}s",
                moto.port,
                START_TIMEOUT.as_secs()
            ));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot bind 127.0.0.1:0: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot read the bound port: {e}"))
}

/// A minimal HTTP/1.1 exchange with an empty body; returns the status and the body.
fn http_request(port: u16, method: &str, path: &str) -> Result<(u16, String), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream =
        TcpStream::connect_timeout(&addr, HTTP_TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(HTTP_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(HTTP_TIMEOUT)))
        .map_err(|e| format!("socket timeouts: {e}"))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("not an HTTP response: {:?}", truncate(&text, 200)))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// The last 40 lines of a log file, or why it cannot be read.
fn log_tail(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(log) => {
            let lines: Vec<&str> = log.lines().collect();
            let start = lines.len().saturating_sub(40);
            lines[start..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_root_holds_the_workspace() {
        let root = project_root();
        assert!(root.join("Cargo.toml").is_file());
        assert!(root.join("scripts/setup-moto.sh").is_file());
    }

    #[test]
    fn moto_starts_answers_resets_and_stops() {
        let moto = Moto::start();
        assert_eq!(moto.endpoint, format!("http://127.0.0.1:{}", moto.port));
        let (status, _) = http_request(moto.port, "GET", "/moto-api/").expect("moto answers");
        assert_eq!(status, 200);
        moto.reset();
        let env = moto.aws_env();
        let get = |k: &str| {
            env.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("{k} missing"))
        };
        assert_eq!(get("AWS_ENDPOINT_URL"), moto.endpoint);
        assert_eq!(get("AWS_ACCESS_KEY_ID"), "testing");
        let config = PathBuf::from(get("AWS_CONFIG_FILE"));
        assert_eq!(std::fs::read_to_string(config).unwrap(), "");
        let port = moto.port;
        drop(moto);
        // Once dropped, nothing answers on the port any more.
        assert!(http_request(port, "GET", "/moto-api/").is_err());
    }

    #[test]
    fn two_motos_get_distinct_ports() {
        let a = Moto::start();
        let b = Moto::start();
        assert_ne!(a.port, b.port);
    }
}
