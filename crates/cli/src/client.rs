//! Finding, starting and talking to the daemon.

use crate::error::{CliError, CliResult};
use prism_api::{ApiError, Health, TOKEN_HEADER};
use prism_daemon::{DaemonAddress, Paths};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

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
        let c = match Self::existing(&paths).await {
            Some(c) => c,
            None => {
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

    /// Connects only if a daemon already runs.
    pub async fn existing(paths: &Paths) -> Option<Client> {
        let addr: DaemonAddress =
            serde_json::from_slice(&std::fs::read(paths.address()).ok()?).ok()?;
        let token = std::fs::read_to_string(paths.token()).ok()?;
        let c = Client::new(&addr.addr, token.trim());
        c.get::<Health>("/v1/health").await.ok()?;
        Some(c)
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
                kind: "internal".into(),
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
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.log())
        .map_err(|e| {
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
