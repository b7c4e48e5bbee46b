//! Finding, starting and talking to the daemon.

use crate::error::{CliError, CliResult};
use prism_api::{ApiError, ApiErrorKind, Health, Hello, TOKEN_HEADER};
use prism_daemon::{DaemonAddress, Paths};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// What answers at the address in `daemon.json`.
enum Probe {
    /// Our daemon: it proved it knows the token.
    Ours(Client),
    /// No address file, or nobody listens there.
    Absent,
    /// Something that cannot prove it knows the token (at this address).
    Impostor(String),
}

/// A connection to the running daemon.
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

fn daemon_err(message: impl Into<String>, hint: &str) -> CliError {
    CliError::Daemon {
        message: message.into(),
        hint: Some(hint.into()),
    }
}

impl Client {
    /// Connects to the daemon, starting it if none runs, and checks its AWS environment matches.
    pub async fn connect(check_env: bool) -> CliResult<Client> {
        let paths = Paths::from_env().map_err(|e| daemon_err(e, "set PRISM_HOME"))?;
        // Checked here too, so a bad value is refused before a daemon starts with it.
        prism_daemon::aws_attempt_timeout().map_err(|e| CliError::refused(e, None))?;
        let c = match Self::probe(&paths).await {
            Probe::Ours(c) => c,
            Probe::Absent => {
                let child = start_daemon(&paths)?;
                Self::wait_ready(&paths, child).await?
            }
            Probe::Impostor(addr) => {
                // Another process holds the port of a daemon that is gone: it got a random
                // challenge and nothing else. Forget the stale address and start our own.
                eprintln!(
                    "prism: warning: something other than prismd answers at {addr} (the address of a daemon that is no longer running); starting a new daemon"
                );
                let _ = std::fs::remove_file(paths.address());
                let child = start_daemon(&paths)?;
                Self::wait_ready(&paths, child).await?
            }
        };
        if check_env {
            let h: Health = c.get("/v1/health").await?;
            let mine = prism_api::aws_env_fingerprint(|k| std::env::var(k).ok());
            if h.aws_env_fingerprint != mine {
                return Err(CliError::Daemon {
                    message: format!(
                        "the running daemon (pid {}) uses a different AWS environment (credentials, endpoint or {}{}) than this shell",
                        h.pid,
                        "PRISM_AWS_ATTEMPT_TIMEOUT",
                        h.aws_endpoint.map(|e| format!(": it uses {e}")).unwrap_or_default()
                    ),
                    hint: Some("restart it with this shell's environment: prism daemon stop (the next command starts it again)".into()),
                });
            }
        }
        Ok(c)
    }

    /// Connects only if our daemon already runs (an impostor on a stale address is ignored).
    pub async fn existing(paths: &Paths) -> Option<Client> {
        match Self::probe(paths).await {
            Probe::Ours(c) => Some(c),
            Probe::Absent | Probe::Impostor(_) => None,
        }
    }

    /// Looks for the daemon `daemon.json` names and makes it prove, before anything secret is
    /// sent, that it read our token file (see [`prism_api::hello`]).
    async fn probe(paths: &Paths) -> Probe {
        let Some(addr) = std::fs::read(paths.address())
            .ok()
            .and_then(|b| serde_json::from_slice::<DaemonAddress>(&b).ok())
        else {
            return Probe::Absent;
        };
        let Ok(token) = std::fs::read_to_string(paths.token()) else {
            return Probe::Absent;
        };
        let Ok(sock) = addr.addr.parse::<std::net::SocketAddr>() else {
            return Probe::Absent;
        };
        // Only loopback: daemon.json is ours (0700 directory), but never send a token elsewhere.
        if !sock.ip().is_loopback() {
            return Probe::Impostor(addr.addr);
        }
        let c = Client::new(&addr.addr, token.trim());
        let challenge = prism_api::hello::new_challenge(rand::random());
        let answer = c
            .http
            .get(format!("{}{}", c.base, "/v1/hello"))
            .header(prism_api::CHALLENGE_HEADER, &challenge)
            // A daemon answers at once; a squatter that keeps the line open is not one.
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let resp = match answer {
            Ok(r) => r,
            // Nobody listens: the daemon is gone and daemon.json is stale.
            Err(e) if e.is_connect() => return Probe::Absent,
            Err(_) => return Probe::Impostor(addr.addr),
        };
        let hello = match resp.status().is_success() {
            true => resp.json::<Hello>().await.ok(),
            false => None,
        };
        match hello {
            Some(h)
                if prism_api::hello::verify(c.token.trim(), sock.port(), &challenge, &h.proof) =>
            {
                Probe::Ours(c)
            }
            _ => Probe::Impostor(addr.addr),
        }
    }

    fn new(addr: &str, token: &str) -> Client {
        let http = reqwest::Client::builder()
            .no_proxy()
            // Requests only check and submit; the daemon bounds its own work (120 s, 15 min for
            // a template refresh).
            .timeout(Duration::from_secs(930))
            .build()
            .expect("a plain HTTP client always builds");
        Client {
            http,
            base: format!("http://{addr}"),
            token: token.to_string(),
        }
    }

    async fn wait_ready(paths: &Paths, mut child: std::process::Child) -> CliResult<Client> {
        // A cold daemon opens its store and binds in well under a second; 20 s covers slow disks.
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Some(c) = Self::existing(paths).await {
                return Ok(c);
            }
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(paths.log()).unwrap_or_default();
                let last = log
                    .lines()
                    .rev()
                    .find(|l| l.contains("error"))
                    .unwrap_or("")
                    .to_string();
                return Err(daemon_err(
                    format!("the daemon exited at start ({status}): {last}"),
                    &format!("see its log: {}", paths.log().display()),
                ));
            }
        }
        Err(daemon_err(
            "the daemon did not start within 20 s",
            &format!("see its log: {}", paths.log().display()),
        ))
    }

    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> CliResult<T> {
        let resp = req
            .header(TOKEN_HEADER, &self.token)
            .send()
            .await
            .map_err(|e| {
                daemon_err(
                    format!("cannot reach the daemon at {}: {e}", self.base),
                    "check it with: prism daemon status",
                )
            })?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| daemon_err(format!("reading the daemon's answer: {e}"), "try again"))?;
        if status.is_success() {
            serde_json::from_slice(&bytes).map_err(|e| {
                daemon_err(
                    format!("unexpected answer from the daemon: {e}"),
                    "the daemon may be another version: prism daemon stop",
                )
            })
        } else {
            let e: ApiError = serde_json::from_slice(&bytes).unwrap_or(ApiError {
                kind: ApiErrorKind::Internal,
                message: format!(
                    "daemon answered {status}: {}",
                    String::from_utf8_lossy(&bytes)
                ),
                hint: None,
                operation_id: None,
            });
            Err(CliError::Api(e))
        }
    }

    /// GET a JSON resource.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> CliResult<T> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// GET with query parameters.
    pub async fn get_query<T: DeserializeOwned, Q: Serialize + ?Sized>(
        &self,
        path: &str,
        q: &Q,
    ) -> CliResult<T> {
        self.send(self.http.get(format!("{}{path}", self.base)).query(q))
            .await
    }

    /// POST a JSON body.
    pub async fn post<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> CliResult<T> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }
}

/// The `prismd` binary: next to this executable, else on PATH.
fn prismd_path() -> std::path::PathBuf {
    if let Ok(exe) = std::env::current_exe() {
        let sib = exe.with_file_name(format!("prismd{}", std::env::consts::EXE_SUFFIX));
        if sib.exists() {
            return sib;
        }
    }
    std::path::PathBuf::from("prismd")
}

/// Starts `prismd` in the background, detached from this terminal, logging to its log file.
pub fn start_daemon(paths: &Paths) -> CliResult<std::process::Child> {
    paths.ensure_state_dir().map_err(|e| {
        daemon_err(
            format!("cannot create {}: {e}", paths.state_dir.display()),
            "check permissions or set PRISM_HOME",
        )
    })?;
    let mut log_opts = std::fs::OpenOptions::new();
    log_opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // The log names workstations, templates and operations: the owner's eyes only.
        log_opts.mode(0o600);
    }
    let log = log_opts.open(paths.log()).map_err(|e| {
        daemon_err(
            format!("cannot open {}: {e}", paths.log().display()),
            "check permissions",
        )
    })?;
    let log2 = log
        .try_clone()
        .map_err(|e| daemon_err(e.to_string(), "check permissions"))?;
    let mut cmd = std::process::Command::new(prismd_path());
    cmd.stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log2);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Own process group: Ctrl-C in this terminal must not reach the daemon.
        cmd.process_group(0);
    }
    cmd.spawn().map_err(|e| {
        daemon_err(
            format!("cannot start prismd: {e}"),
            "install it next to prism (cargo install --path crates/cli installs both)",
        )
    })
}

/// Percent-encodes one URL path segment (names and ids typed by the user).
pub fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
