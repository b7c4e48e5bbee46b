//! Where Prism keeps things: the state directory (store, token, address, logs) and the
//! template directory. `PRISM_HOME` overrides both; otherwise XDG (Linux) / platform dirs.

use etcetera::BaseStrategy;
use std::path::PathBuf;

/// Resolved locations.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Private state: store, token, address file, logs (0700).
    pub state_dir: PathBuf,
    /// User and saved templates.
    pub template_dir: PathBuf,
}

impl Paths {
    /// From the environment: `PRISM_HOME`, else `$XDG_STATE_HOME/prism` and `$XDG_DATA_HOME/prism/templates`.
    pub fn from_env() -> Result<Paths, String> {
        if let Some(home) = std::env::var_os("PRISM_HOME").filter(|v| !v.is_empty()) {
            let home = PathBuf::from(home);
            return Ok(Paths {
                state_dir: home.join("state"),
                template_dir: home.join("templates"),
            });
        }
        let base = etcetera::choose_base_strategy()
            .map_err(|e| format!("cannot find your home directory ({e}); set PRISM_HOME"))?;
        let state = base
            .state_dir()
            .unwrap_or_else(|| base.data_dir())
            .join("prism");
        Ok(Paths {
            state_dir: state,
            template_dir: base.data_dir().join("prism").join("templates"),
        })
    }

    /// The SQLite store.
    pub fn store(&self) -> PathBuf {
        self.state_dir.join("prism.db")
    }
    /// The token file (0600).
    pub fn token(&self) -> PathBuf {
        self.state_dir.join("token")
    }
    /// Where the running daemon writes its address.
    pub fn address(&self) -> PathBuf {
        self.state_dir.join("daemon.json")
    }
    /// Held (locked) by the running daemon.
    pub fn lock(&self) -> PathBuf {
        self.state_dir.join("daemon.lock")
    }
    /// The daemon's log.
    pub fn log(&self) -> PathBuf {
        self.state_dir.join("prismd.log")
    }

    /// Creates the state directory with mode 0700 (and tightens an existing one).
    pub fn ensure_state_dir(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.state_dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&self.state_dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
}

/// What the daemon writes to `daemon.json` for clients to find it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DaemonAddress {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Process id.
    pub pid: u32,
    /// Daemon version.
    pub version: String,
}
