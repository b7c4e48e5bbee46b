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
    // 3: typed journal. Each event carries the journal schema it was written with, and a
    // step's sub-records (one per region or target) are their own event kind, `record`, keyed
    // by `sub`, which replay cannot mistake for a step's own success or failure. Schema-1
    // sub-records were events of pseudo-steps named `copy:REGION`, `share:REGION`,
    // `unshare:REGION` and `deregister:REGION` carrying `succeeded`/`failed`: the replay of a
    // resumed save read a failed region as a failed step and unwound a good save. They become
    // records of their parent step here. The (step, event) uniqueness stays for step events.
    r#"
    CREATE TABLE operation_events_v3 (
        op_id TEXT NOT NULL REFERENCES operations(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        step TEXT NOT NULL,
        event TEXT NOT NULL,
        sub TEXT,
        schema INTEGER NOT NULL DEFAULT 1,
        payload TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (op_id, seq)
    );
    INSERT INTO operation_events_v3 (op_id, seq, step, event, sub, schema, payload, at)
        SELECT op_id, seq,
            CASE substr(step, 1, instr(step, ':') - 1)
                WHEN 'copy' THEN 'copy_regions'
                WHEN 'deregister' THEN 'deregister_images'
                ELSE substr(step, 1, instr(step, ':') - 1)
            END,
            'record', substr(step, instr(step, ':') + 1), 1, payload, at
        FROM operation_events WHERE instr(step, ':') > 0;
    INSERT INTO operation_events_v3 (op_id, seq, step, event, sub, schema, payload, at)
        SELECT op_id, seq, step, event, NULL, 1, payload, at
        FROM operation_events WHERE instr(step, ':') = 0;
    DROP TABLE operation_events;
    ALTER TABLE operation_events_v3 RENAME TO operation_events;
    CREATE UNIQUE INDEX operation_events_step_event
        ON operation_events(op_id, step, event) WHERE sub IS NULL;
    "#,
    // 4: running periods of workstations, for `project cost`'s compute hours. Written by
    // triggers on `workstations`, so every path that records a state (launch, start, stop,
    // delete, a refresh from EC2) opens or closes a period: a period opens when Prism records
    // a workstation as `running` and closes when it records any other state or forgets it.
    r#"
    CREATE TABLE workstation_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        instance_type TEXT NOT NULL,
        project TEXT,
        region TEXT NOT NULL,
        started_at TEXT NOT NULL,
        stopped_at TEXT
    );
    CREATE INDEX workstation_runs_open ON workstation_runs(name) WHERE stopped_at IS NULL;
    CREATE TRIGGER workstation_runs_insert AFTER INSERT ON workstations
        WHEN NEW.state = 'running'
            AND NOT EXISTS (SELECT 1 FROM workstation_runs WHERE name = NEW.name AND stopped_at IS NULL)
    BEGIN
        INSERT INTO workstation_runs (name, instance_type, project, region, started_at)
            VALUES (NEW.name, NEW.instance_type, NEW.project, NEW.region,
                    strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
    END;
    CREATE TRIGGER workstation_runs_start AFTER UPDATE OF state ON workstations
        WHEN NEW.state = 'running'
            AND NOT EXISTS (SELECT 1 FROM workstation_runs WHERE name = NEW.name AND stopped_at IS NULL)
    BEGIN
        INSERT INTO workstation_runs (name, instance_type, project, region, started_at)
            VALUES (NEW.name, NEW.instance_type, NEW.project, NEW.region,
                    strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
    END;
    CREATE TRIGGER workstation_runs_stop AFTER UPDATE OF state ON workstations
        WHEN NEW.state <> 'running'
    BEGIN
        UPDATE workstation_runs SET stopped_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
            WHERE name = NEW.name AND stopped_at IS NULL;
    END;
    CREATE TRIGGER workstation_runs_forget AFTER DELETE ON workstations
    BEGIN
        UPDATE workstation_runs SET stopped_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
            WHERE name = OLD.name AND stopped_at IS NULL;
    END;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A journal written by the previous format (schema 2 of the store: sub-records as
    /// pseudo-steps `copy:REGION` with `failed`) is converted so that replay sees the step's
    /// own events unchanged and the regions as records.
    #[test]
    fn legacy_sub_records_become_records_of_their_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let c = Connection::open(&path).unwrap();
            for (i, m) in MIGRATIONS.iter().take(2).enumerate() {
                c.execute_batch(&format!(
                    "BEGIN; {m}; PRAGMA user_version = {}; COMMIT;",
                    i + 1
                ))
                .unwrap();
            }
            c.execute_batch(
                r#"INSERT INTO operations (id, kind, status, target, lock_keys, input, created_at, updated_at)
                   VALUES ('op', 'save.v1', 'running', 'ws', '[]', '{}', 't', 't');
                 INSERT INTO operation_events (op_id, seq, step, event, payload, at) VALUES
                   ('op', 1, 'copy_regions', 'started', NULL, 't'),
                   ('op', 2, 'copy:us-west-2', 'succeeded', '{"region":"us-west-2","status":"available"}', 't'),
                   ('op', 3, 'copy:eu-west-1', 'failed', '{"region":"eu-west-1","status":"failed","error":"denied"}', 't'),
                   ('op', 4, 'copy_regions', 'succeeded', '{"regions":[]}', 't'),
                   ('op', 5, 'register', 'started', NULL, 't'),
                   ('op', 6, 'deregister:eu-west-1', 'succeeded', '{}', 't'),
                   ('op', 7, 'unshare:us-east-1', 'failed', '"x"', 't');"#,
            )
            .unwrap();
        }
        let c = Connection::open(&path).unwrap();
        apply(&c, "old.db").unwrap();
        let rows: Vec<(i64, String, String, Option<String>, i64)> = c
            .prepare("SELECT seq, step, event, sub, schema FROM operation_events ORDER BY seq")
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let want = |seq: i64, step: &str, event: &str, sub: Option<&str>| {
            (
                seq,
                step.to_string(),
                event.to_string(),
                sub.map(String::from),
                1,
            )
        };
        assert_eq!(
            rows,
            vec![
                want(1, "copy_regions", "started", None),
                want(2, "copy_regions", "record", Some("us-west-2")),
                want(3, "copy_regions", "record", Some("eu-west-1")),
                want(4, "copy_regions", "succeeded", None),
                want(5, "register", "started", None),
                want(6, "deregister_images", "record", Some("eu-west-1")),
                want(7, "unshare", "record", Some("us-east-1")),
            ]
        );
        // Step events stay unique per (step, event); records are not.
        assert!(c
            .execute(
                "INSERT INTO operation_events (op_id, seq, step, event, at) VALUES ('op', 8, 'register', 'started', 't')",
                [],
            )
            .is_err());
        c.execute(
            "INSERT INTO operation_events (op_id, seq, step, event, sub, at) VALUES ('op', 9, 'copy_regions', 'record', 'eu-west-1', 't')",
            [],
        )
        .unwrap();
    }
}
