//! daemon status|stop.

use crate::args::{Cli, DaemonCommand};
use crate::client::Client;
use crate::error::{CliError, CliResult};
use crate::output::{errln, outln, print};
use prism_api::Health;
use prism_daemon::Paths;

#[derive(serde::Serialize)]
struct Status {
    running: bool,
    state_dir: String,
    template_dir: String,
    log: String,
    health: Option<Health>,
}

/// `prism daemon …`.
pub async fn daemon(cli: &Cli, cmd: &DaemonCommand) -> CliResult {
    let paths = Paths::from_env().map_err(|e| CliError::refused(e, None))?;
    let existing = Client::existing(&paths).await;
    match cmd {
        DaemonCommand::Status => {
            let health = match &existing {
                Some(c) => Some(c.get::<Health>("/v1/health").await?),
                None => None,
            };
            let s = Status {
                running: health.is_some(),
                state_dir: paths.state_dir.display().to_string(),
                template_dir: paths.template_dir.display().to_string(),
                log: paths.log().display().to_string(),
                health,
            };
            print(cli.output, &s, |s| {
                match &s.health {
                    Some(h) => outln!(
                        "prismd {} running (pid {}, since {}, {} active operations)",
                        h.version,
                        h.pid,
                        h.started_at,
                        h.active_operations
                    ),
                    None => println!("prismd is not running (any prism command starts it)"),
                }
                outln!(
                    "state:     {}\ntemplates: {}\nlog:       {}",
                    s.state_dir,
                    s.template_dir,
                    s.log
                );
            })?;
            Ok(())
        }
        DaemonCommand::Stop => {
            let Some(c) = existing else {
                eprintln!("prismd is not running");
                return Ok(());
            };
            let h: Health = c.get("/v1/health").await?;
            let _: serde_json::Value = c.post("/v1/daemon/shutdown", &()).await?;
            // Graceful shutdown finishes in-flight requests; 10 s bounds it.
            for _ in 0..100 {
                // Gone when its address file is removed and (on Linux) the process has exited.
                let alive = process_alive(h.pid);
                if !paths.address().exists() && !alive {
                    errln!("prismd (pid {}) stopped", h.pid);
                    return Ok(());
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(CliError::Daemon {
                message: format!("prismd (pid {}) did not stop within 10 s", h.pid),
                hint: Some(format!("kill it: kill {}", h.pid)),
            })
        }
    }
}

/// Whether `pid` is a live (not zombie) process; `false` where /proc is missing.
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name: "pid (comm) S ...".
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}
