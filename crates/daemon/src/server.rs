//! Daemon start-up: single-instance lock, token, store (set aside if damaged), resume of
//! unfinished operations, and serving on 127.0.0.1 until asked to stop.

use crate::auth::Gate;
use crate::paths::{DaemonAddress, Paths};
use crate::routes;
use crate::state::AppState;
use anyhow::{bail, Context};
use prism_ops::runner::Runner;
use prism_ops::{Env, Hooks, OpsConfig};
use prism_store::{Store, StoreError};
use std::io::Write;
use std::sync::Arc;
use tokio::sync::Notify;

fn write_private(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = private_options().write(true).create_new(true).open(&tmp)?;
    f.write_all(contents)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Options that create a file readable by its owner only (0600).
fn private_options() -> std::fs::OpenOptions {
    #[allow(unused_mut)]
    let mut opts = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts
}

/// Makes the state files 0600: they sit in a 0700 directory, but a file that is world-readable
/// by mode is one `chmod` of the directory away from being read. Files made before this rule
/// (older versions created them 0644) are tightened too.
fn tighten_state_files(paths: &Paths) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let store = paths.store();
        for f in [
            store.clone(),
            store.with_extension("db-wal"),
            store.with_extension("db-shm"),
            paths.lock(),
            paths.log(),
            paths.token(),
            paths.address(),
        ] {
            if let Ok(meta) = std::fs::symlink_metadata(&f) {
                if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
                    let _ = std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600));
                }
            }
        }
    }
}

/// Creates the store file 0600 before SQLite opens it: SQLite gives its WAL and shared-memory
/// files the database file's mode, so all three stay private.
fn precreate_store(path: &std::path::Path) -> std::io::Result<()> {
    match private_options().write(true).create_new(true).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn open_store(paths: &Paths) -> anyhow::Result<Store> {
    let path = paths.store();
    precreate_store(&path).with_context(|| format!("creating {}", path.display()))?;
    match Store::open(&path) {
        Ok(s) => Ok(s),
        Err(e @ StoreError::Corrupt { .. }) | Err(e @ StoreError::Sqlite { .. })
            if path.exists() =>
        {
            let aside = path.with_extension(format!(
                "db.damaged-{}",
                chrono::Utc::now().format("%Y%m%dT%H%M%S")
            ));
            tracing::error!(error = %e, aside = %aside.display(), "the local store is damaged; keeping it aside and starting a new one (workstations are re-read from EC2 tags; the journal of unfinished operations in the damaged file is not resumed)");
            std::fs::rename(&path, &aside).with_context(|| {
                format!("moving the damaged store aside to {}", aside.display())
            })?;
            for ext in ["db-wal", "db-shm"] {
                let _ = std::fs::remove_file(path.with_extension(ext));
            }
            precreate_store(&path).with_context(|| format!("creating {}", path.display()))?;
            Ok(Store::open(&path)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// The time allowed per AWS call attempt, from `PRISM_AWS_ATTEMPT_TIMEOUT` (see
/// [`prism_aws::attempt_timeout_from`]); the CLI checks it too before it starts a daemon.
pub fn aws_attempt_timeout() -> Result<std::time::Duration, String> {
    prism_aws::attempt_timeout_from(
        std::env::var(prism_aws::ATTEMPT_TIMEOUT_ENV)
            .ok()
            .as_deref(),
    )
}

/// Runs the daemon until it is asked to stop (API, SIGTERM or Ctrl-C).
pub async fn run() -> anyhow::Result<()> {
    let paths = Paths::from_env().map_err(anyhow::Error::msg)?;
    let attempt_timeout = prism_aws::attempt_timeout_from(
        std::env::var(prism_aws::ATTEMPT_TIMEOUT_ENV)
            .ok()
            .as_deref(),
    )
    .map_err(anyhow::Error::msg)?;
    paths
        .ensure_state_dir()
        .with_context(|| format!("creating {}", paths.state_dir.display()))?;
    tighten_state_files(&paths);
    let lock = private_options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(paths.lock())
        .with_context(|| format!("opening {}", paths.lock().display()))?;
    // A daemon that is shutting down holds the lock for a moment more: retry for up to 5 s.
    let mut tries = 0;
    while lock.try_lock().is_err() {
        tries += 1;
        if tries > 50 {
            bail!(
                "another prismd already runs for {} (stop it with: prism daemon stop)",
                paths.state_dir.display()
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let token: String = rand::random::<[u8; 32]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    write_private(&paths.token(), token.as_bytes()).context("writing the token file")?;
    let store = open_store(&paths)?;
    let config = if std::env::var("PRISM_FAST_POLL").is_ok_and(|v| v == "1") {
        OpsConfig::fast()
    } else {
        OpsConfig::default()
    };
    let clouds = prism_aws::AwsCloudFactory::new().with_attempt_timeout(attempt_timeout);
    let env = Env {
        clouds: Arc::new(clouds),
        store,
        template_dir: paths.template_dir.clone(),
        config,
        hooks: Hooks::from_env(),
    };
    let runner = Runner::new(env);
    let shutdown = Arc::new(Notify::new());
    let state = AppState {
        runner: runner.clone(),
        started_at: chrono::Utc::now().to_rfc3339(),
        aws_env_fingerprint: prism_api::aws_env_fingerprint(|k| std::env::var(k).ok()),
        default_region: std::env::var("AWS_REGION")
            .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
            .ok()
            .filter(|s| !s.is_empty()),
        shutdown: shutdown.clone(),
        catalogue: Default::default(),
    };
    let port: u16 = std::env::var("PRISM_DAEMON_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .context("binding 127.0.0.1")?;
    let addr = listener.local_addr()?;
    let resumed = runner.resume_all().await?;
    let app = routes::router(
        state,
        Gate {
            token: Arc::new(token),
            port: addr.port(),
        },
    );
    let info = DaemonAddress {
        addr: addr.to_string(),
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").into(),
    };
    write_private(&paths.address(), serde_json::to_string(&info)?.as_bytes())
        .context("writing daemon.json")?;
    tracing::info!(%addr, resumed, state_dir = %paths.state_dir.display(), "prismd listening");
    let stop = async move {
        let term = async {
            #[cfg(unix)]
            {
                if let Ok(mut s) =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                {
                    s.recv().await;
                }
            }
            #[cfg(not(unix))]
            std::future::pending::<()>().await;
        };
        tokio::select! {
            _ = shutdown.notified() => {},
            _ = tokio::signal::ctrl_c() => {},
            _ = term => {},
        }
    };
    crate::serve::serve(listener, app, stop).await?;
    let _ = std::fs::remove_file(paths.address());
    tracing::info!("prismd stopped; unfinished operations resume at the next start");
    drop(lock);
    Ok(())
}
