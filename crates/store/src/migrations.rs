//! Schema migrations, applied in order and recorded in `PRAGMA user_version`.

use crate::{StoreError, StoreResult};
use rusqlite::Connection;

/// Each entry moves the schema from version `i` to `i + 1`. Append only; never edit one.
const MIGRATIONS: &[&str] = &[
    // 1: operations journal and caches.
    r#"
    CREATE TABLE operations (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        target TEXT NOT NULL,
        lock_keys TEXT NOT NULL,
        input TEXT NOT NULL,
        result TEXT,
        error TEXT,
        progress TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX operations_status ON operations(status);
    CREATE TABLE operation_events (
        op_id TEXT NOT NULL REFERENCES operations(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        step TEXT NOT NULL,
        event TEXT NOT NULL,
        payload TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (op_id, seq),
        UNIQUE (op_id, step, event)
    );
    CREATE TABLE workstations (
        name TEXT PRIMARY KEY,
        instance_id TEXT NOT NULL,
        region TEXT NOT NULL,
        state TEXT NOT NULL,
        template TEXT,
        template_version TEXT,
        project TEXT,
        size TEXT,
        instance_type TEXT NOT NULL,
        architecture TEXT NOT NULL,
        public_ip TEXT,
        launched_at TEXT,
        profile TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE template_versions (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        description TEXT,
        source_region TEXT NOT NULL,
        amis TEXT NOT NULL,
        saved_from TEXT,
        downtime_seconds REAL,
        path TEXT,
        op_id TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (name, version)
    );
    "#,
    // 2: projects (local: a project groups saved templates and workstations by their
    // prism:project tag, with a budget and the accounts its templates are shared with).
    r#"
    CREATE TABLE projects (
        name TEXT PRIMARY KEY,
        description TEXT,
        budget_usd_per_month REAL,
        accounts TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL
    );
    "#,
];

/// Newest schema version this build knows.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Applies every migration not yet applied, each in its own transaction.
pub(crate) fn apply(conn: &Connection, path: &str) -> StoreResult<()> {
    let sql = |source| StoreError::Sqlite {
        path: path.to_string(),
        source,
    };
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql)?;
    if current > LATEST {
        return Err(StoreError::TooNew {
            path: path.to_string(),
            found: current,
            known: LATEST,
        });
    }
    for (i, m) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let v = i as i64 + 1;
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {m}; PRAGMA user_version = {v}; COMMIT;"
        ))
        .map_err(sql)?;
    }
    Ok(())
}
