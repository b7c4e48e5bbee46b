//! The daemon's local state in SQLite: the operations journal plus caches of EC2 state.
//!
//! The cloud is the source of truth for workstations and saved templates; this store caches
//! them and, above all, holds the append-only journal that lets an operation resume after a
//! crash. WAL mode with `synchronous=FULL`: a journal write has reached the disk before the
//! AWS call it announces is made.

mod migrations;
mod operations;
mod projects;
mod templates;
mod workstations;

pub use operations::{EventRow, NewOperation, OperationRow, JOURNAL_SCHEMA};
pub use projects::ProjectRow;
pub use templates::TemplateVersionRow;
pub use workstations::{WorkstationRow, WorkstationRun};

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Errors of the local store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("local store {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The file is not a Prism store or is damaged.
    #[error("local store {path} is damaged: {reason}")]
    Corrupt {
        /// The database file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The store was written by a newer Prism.
    #[error("local store {path} has schema version {found}, newer than this Prism understands ({known}); upgrade prism")]
    TooNew {
        /// The database file.
        path: String,
        /// Version found.
        found: i64,
        /// Newest version known.
        known: i64,
    },
    /// A JSON column could not be (de)serialized.
    #[error("local store: bad JSON in {what}: {source}")]
    Json {
        /// Which value.
        what: String,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// A blocking task failed.
    #[error("local store task failed: {0}")]
    Task(String),
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// A handle on the store; cheap to clone. Calls run on tokio's blocking pool.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: Arc<PathBuf>,
    /// In-memory stores do no I/O, so they run inline: this keeps tokio's paused clock
    /// (virtual-time tests) from jumping while a call sits on the blocking pool.
    inline: bool,
}

impl Store {
    /// Opens (creating if needed) the store at `path` and applies migrations.
    pub fn open(path: &Path) -> StoreResult<Store> {
        let p = path.display().to_string();
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: p.clone(),
            source,
        })?;
        Self::init(conn, path.to_path_buf())
    }

    /// An in-memory store (tests).
    pub fn open_in_memory() -> StoreResult<Store> {
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Sqlite {
            path: ":memory:".into(),
            source,
        })?;
        Self::init(conn, PathBuf::from(":memory:"))
    }

    fn init(conn: Connection, path: PathBuf) -> StoreResult<Store> {
        let p = path.display().to_string();
        let sql = |source| StoreError::Sqlite {
            path: p.clone(),
            source,
        };
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql)?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| StoreError::Corrupt {
                path: p.clone(),
                reason: e.to_string(),
            })?;
        if check != "ok" {
            return Err(StoreError::Corrupt {
                path: p,
                reason: check,
            });
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql)?;
        migrations::apply(&conn, &p)?;
        let inline = path.as_os_str() == ":memory:";
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            path: Arc::new(path),
            inline,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        let path = self.path.display().to_string();
        let work = move || {
            let guard = conn
                .lock()
                .map_err(|_| StoreError::Task("store lock poisoned".into()))?;
            f(&guard).map_err(|source| StoreError::Sqlite { path, source })
        };
        if self.inline {
            return work();
        }
        tokio_blocking(work).await
    }
}

async fn tokio_blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => h
            .spawn_blocking(f)
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?,
        Err(_) => f(),
    }
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn json_err(what: &str, e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(StoreJsonError(format!("{what}: {e}"))))
}

#[derive(Debug)]
struct StoreJsonError(String);
impl std::fmt::Display for StoreJsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for StoreJsonError {}
