//! The operations table and its append-only journal of step events.

use crate::{json_err, now, Store, StoreResult};
use rusqlite::{params, OptionalExtension, Row};
use serde_json::Value;

/// Statuses during which an operation holds its locks.
const ACTIVE: &str = "('running','compensating')";

/// An operation to record.
#[derive(Debug, Clone)]
pub struct NewOperation {
    /// Id (uuid).
    pub id: String,
    /// Kind, e.g. `save.v1`.
    pub kind: String,
    /// What it acts on, for display.
    pub target: String,
    /// Keys no two active operations may share (e.g. `workstation:NAME`).
    pub lock_keys: Vec<String>,
    /// Input as JSON.
    pub input: Value,
}

/// An operation as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationRow {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Status name.
    pub status: String,
    /// Target.
    pub target: String,
    /// Lock keys.
    pub lock_keys: Vec<String>,
    /// Input.
    pub input: Value,
    /// Result.
    pub result: Option<Value>,
    /// Error.
    pub error: Option<String>,
    /// Latest progress line.
    pub progress: Option<String>,
    /// Cancel requested.
    pub cancel_requested: bool,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
}

/// One journal event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// Sequence within the operation.
    pub seq: i64,
    /// Step name.
    pub step: String,
    /// Event name.
    pub event: String,
    /// The key of a sub-record (`event` = `record`): a region, a target.
    pub sub: Option<String>,
    /// The journal schema the event was written with ([`JOURNAL_SCHEMA`] now; 1 before
    /// sub-records had their own kind).
    pub schema: i64,
    /// Payload.
    pub payload: Option<Value>,
    /// Time.
    pub at: String,
}

/// The journal schema events are written with now: 2 = sub-records are `record` events of
/// their parent step (1 = pseudo-steps named `STEP:KEY`, converted by migration 3).
pub const JOURNAL_SCHEMA: i64 = 2;

fn parse_json(s: Option<String>) -> Option<Value> {
    s.and_then(|s| serde_json::from_str(&s).ok())
}

fn op_from_row(r: &Row<'_>) -> rusqlite::Result<OperationRow> {
    let keys: String = r.get("lock_keys")?;
    let input: String = r.get("input")?;
    Ok(OperationRow {
        id: r.get("id")?,
        kind: r.get("kind")?,
        status: r.get("status")?,
        target: r.get("target")?,
        lock_keys: serde_json::from_str(&keys).unwrap_or_default(),
        input: serde_json::from_str(&input).unwrap_or(Value::Null),
        result: parse_json(r.get("result")?),
        error: r.get("error")?,
        progress: r.get("progress")?,
        cancel_requested: r.get::<_, i64>("cancel_requested")? != 0,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

impl Store {
    /// Records a new running operation unless an active one holds one of its lock keys; in
    /// that case nothing is written and `Ok(Err(id))` names the holder.
    pub async fn insert_operation(&self, op: NewOperation) -> StoreResult<Result<(), String>> {
        self.call(move |c| {
            let tx = c.unchecked_transaction()?;
            let mut stmt = tx.prepare(&format!(
                "SELECT id, lock_keys FROM operations WHERE status IN {ACTIVE}"
            ))?;
            let active: Vec<(String, String)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            drop(stmt);
            for (id, keys) in active {
                let keys: Vec<String> = serde_json::from_str(&keys).unwrap_or_default();
                if keys.iter().any(|k| op.lock_keys.contains(k)) {
                    return Ok(Err(id));
                }
            }
            let t = now();
            let keys = serde_json::to_string(&op.lock_keys).map_err(|e| json_err("lock keys", e))?;
            let input = serde_json::to_string(&op.input).map_err(|e| json_err("input", e))?;
            tx.execute(
                "INSERT INTO operations (id, kind, status, target, lock_keys, input, created_at, updated_at)
                 VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?6)",
                params![op.id, op.kind, op.target, keys, input, t],
            )?;
            tx.commit()?;
            Ok(Ok(()))
        })
        .await
    }

    /// The active operation holding lock `key`, if any (so a request can be refused with its id
    /// before any other check).
    pub async fn lock_holder(&self, key: &str) -> StoreResult<Option<String>> {
        let key = key.to_string();
        self.call(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT id, lock_keys FROM operations WHERE status IN {ACTIVE} ORDER BY created_at"
            ))?;
            let rows: Vec<(String, String)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows.into_iter().find_map(|(id, keys)| {
                let keys: Vec<String> = serde_json::from_str(&keys).unwrap_or_default();
                keys.contains(&key).then_some(id)
            }))
        })
        .await
    }

    /// One operation.
    pub async fn operation(&self, id: &str) -> StoreResult<Option<OperationRow>> {
        let id = id.to_string();
        self.call(move |c| {
            c.query_row("SELECT * FROM operations WHERE id = ?1", [id], op_from_row)
                .optional()
        })
        .await
    }

    /// Operations whose id starts with `prefix` (for short ids on the command line).
    pub async fn operations_by_prefix(&self, prefix: &str) -> StoreResult<Vec<OperationRow>> {
        let pat = format!("{}%", prefix.replace(['%', '_'], ""));
        self.call(move |c| {
            let mut s = c.prepare("SELECT * FROM operations WHERE id LIKE ?1 LIMIT 5")?;
            let rows = s.query_map([pat], op_from_row)?.collect();
            rows
        })
        .await
    }

    /// The newest operations first, at most `limit`.
    pub async fn operations(&self, limit: u32) -> StoreResult<Vec<OperationRow>> {
        self.call(move |c| {
            let mut s = c.prepare(
                "SELECT * FROM operations ORDER BY created_at DESC, rowid DESC LIMIT ?1",
            )?;
            let rows = s.query_map([limit], op_from_row)?.collect();
            rows
        })
        .await
    }

    /// Operations of `kind` with `status`, oldest first (e.g. the succeeded launches, which
    /// are Prism's launch records).
    pub async fn operations_of_kind(
        &self,
        kind: &str,
        status: &str,
    ) -> StoreResult<Vec<OperationRow>> {
        let (kind, status) = (kind.to_string(), status.to_string());
        self.call(move |c| {
            let mut s = c.prepare(
                "SELECT * FROM operations WHERE kind = ?1 AND status = ?2 ORDER BY created_at, rowid",
            )?;
            let rows = s.query_map([kind, status], op_from_row)?.collect();
            rows
        })
        .await
    }

    /// Operations still running or compensating, oldest first (resumed at start-up).
    pub async fn active_operations(&self) -> StoreResult<Vec<OperationRow>> {
        self.call(|c| {
            let mut s = c.prepare(&format!(
                "SELECT * FROM operations WHERE status IN {ACTIVE} ORDER BY created_at, rowid"
            ))?;
            let rows = s.query_map([], op_from_row)?.collect();
            rows
        })
        .await
    }

    /// Sets status, result and error together.
    pub async fn set_operation_status(
        &self,
        id: &str,
        status: &str,
        result: Option<Value>,
        error: Option<String>,
    ) -> StoreResult<()> {
        let (id, status) = (id.to_string(), status.to_string());
        self.call(move |c| {
            let result = result
                .map(|r| serde_json::to_string(&r))
                .transpose()
                .map_err(|e| json_err("result", e))?;
            c.execute(
                "UPDATE operations SET status = ?2, result = COALESCE(?3, result), error = ?4, updated_at = ?5 WHERE id = ?1",
                params![id, status, result, error, now()],
            )?;
            Ok(())
        })
        .await
    }

    /// Records the latest progress line (not journaled: it is only for display).
    pub async fn set_operation_progress(&self, id: &str, progress: &str) -> StoreResult<()> {
        let (id, progress) = (id.to_string(), progress.to_string());
        self.call(move |c| {
            c.execute(
                "UPDATE operations SET progress = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, progress, now()],
            )?;
            Ok(())
        })
        .await
    }

    /// Marks a cancel request; returns whether the operation was still active.
    pub async fn request_cancel(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_string();
        self.call(move |c| {
            let n = c.execute(
                &format!("UPDATE operations SET cancel_requested = 1, updated_at = ?2 WHERE id = ?1 AND status IN {ACTIVE}"),
                params![id, now()],
            )?;
            Ok(n > 0)
        })
        .await
    }

    /// Whether a cancel was requested.
    pub async fn cancel_requested(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_string();
        self.call(move |c| {
            c.query_row(
                "SELECT cancel_requested FROM operations WHERE id = ?1",
                [id],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|v| v.unwrap_or(0) != 0)
        })
        .await
    }

    /// Appends a sub-record of `step` (one region's or target's outcome) durably, keyed by
    /// `sub`. A step re-run after a restart may record the same key again: the newest wins.
    pub async fn append_record(
        &self,
        op_id: &str,
        step: &str,
        sub: &str,
        payload: Value,
    ) -> StoreResult<()> {
        let (op_id, step, sub) = (op_id.to_string(), step.to_string(), sub.to_string());
        self.call(move |c| {
            let payload = serde_json::to_string(&payload).map_err(|e| json_err("payload", e))?;
            let tx = c.unchecked_transaction()?;
            let seq: i64 = tx.query_row(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM operation_events WHERE op_id = ?1",
                [&op_id],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO operation_events (op_id, seq, step, event, sub, schema, payload, at) VALUES (?1, ?2, ?3, 'record', ?4, ?5, ?6, ?7)",
                params![op_id, seq, step, sub, JOURNAL_SCHEMA, payload, now()],
            )?;
            tx.execute(
                "UPDATE operations SET updated_at = ?2 WHERE id = ?1",
                params![op_id, now()],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Appends a journal event durably. Writing the same (step, event) twice keeps the first
    /// (a re-run step announces itself again harmlessly); returns whether it was new.
    pub async fn append_event(
        &self,
        op_id: &str,
        step: &str,
        event: &str,
        payload: Option<Value>,
    ) -> StoreResult<bool> {
        let (op_id, step, event) = (op_id.to_string(), step.to_string(), event.to_string());
        self.call(move |c| {
            let payload = payload
                .map(|p| serde_json::to_string(&p))
                .transpose()
                .map_err(|e| json_err("payload", e))?;
            let tx = c.unchecked_transaction()?;
            let seq: i64 = tx.query_row(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM operation_events WHERE op_id = ?1",
                [&op_id],
                |r| r.get(0),
            )?;
            let n = tx.execute(
                "INSERT OR IGNORE INTO operation_events (op_id, seq, step, event, sub, schema, payload, at) VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7)",
                params![op_id, seq, step, event, JOURNAL_SCHEMA, payload, now()],
            )?;
            tx.execute(
                "UPDATE operations SET updated_at = ?2 WHERE id = ?1",
                params![op_id, now()],
            )?;
            tx.commit()?;
            Ok(n > 0)
        })
        .await
    }

    /// The journal of one operation, in order.
    pub async fn events(&self, op_id: &str) -> StoreResult<Vec<EventRow>> {
        let op_id = op_id.to_string();
        self.call(move |c| {
            let mut s = c.prepare(
                "SELECT seq, step, event, sub, schema, payload, at FROM operation_events WHERE op_id = ?1 ORDER BY seq",
            )?;
            let rows = s
                .query_map([op_id], |r| {
                    Ok(EventRow {
                        seq: r.get(0)?,
                        step: r.get(1)?,
                        event: r.get(2)?,
                        sub: r.get(3)?,
                        schema: r.get(4)?,
                        payload: parse_json(r.get(5)?),
                        at: r.get(6)?,
                    })
                })?
                .collect();
            rows
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(id: &str, keys: &[&str]) -> NewOperation {
        NewOperation {
            id: id.into(),
            kind: "save.v1".into(),
            target: "ws".into(),
            lock_keys: keys.iter().map(|s| s.to_string()).collect(),
            input: json!({"a": 1}),
        }
    }

    #[tokio::test]
    async fn lock_keys_refuse_a_second_active_operation() {
        let s = Store::open_in_memory().unwrap();
        assert_eq!(
            s.insert_operation(op("a", &["ws:x"])).await.unwrap(),
            Ok(())
        );
        assert_eq!(
            s.insert_operation(op("b", &["ws:x", "t:y"])).await.unwrap(),
            Err("a".to_string())
        );
        assert!(s.operation("b").await.unwrap().is_none());
        s.set_operation_status("a", "succeeded", Some(json!({})), None)
            .await
            .unwrap();
        assert_eq!(
            s.insert_operation(op("b", &["ws:x"])).await.unwrap(),
            Ok(())
        );
    }

    #[tokio::test]
    async fn events_are_ordered_and_duplicates_ignored() {
        let s = Store::open_in_memory().unwrap();
        s.insert_operation(op("a", &[])).await.unwrap().unwrap();
        assert!(s.append_event("a", "one", "started", None).await.unwrap());
        assert!(!s.append_event("a", "one", "started", None).await.unwrap());
        assert!(s
            .append_event("a", "one", "succeeded", Some(json!({"id": "x"})))
            .await
            .unwrap());
        let ev = s.events("a").await.unwrap();
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[1].payload, Some(json!({"id": "x"})));
        assert!(ev[0].seq < ev[1].seq);
    }

    #[tokio::test]
    async fn operations_of_kind_and_status_oldest_first() {
        let s = Store::open_in_memory().unwrap();
        for (id, kind) in [
            ("a", "launch.v1"),
            ("b", "save.v1"),
            ("c", "launch.v1"),
            ("d", "launch.v1"),
        ] {
            let mut o = op(id, &[]);
            o.kind = kind.into();
            s.insert_operation(o).await.unwrap().unwrap();
        }
        for id in ["a", "b", "c"] {
            s.set_operation_status(id, "succeeded", None, None)
                .await
                .unwrap();
        }
        let ids: Vec<String> = s
            .operations_of_kind("launch.v1", "succeeded")
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(ids, ["a", "c"]);
    }

    #[tokio::test]
    async fn cancel_only_active() {
        let s = Store::open_in_memory().unwrap();
        s.insert_operation(op("a", &[])).await.unwrap().unwrap();
        assert!(s.request_cancel("a").await.unwrap());
        assert!(s.cancel_requested("a").await.unwrap());
        s.set_operation_status("a", "failed", None, Some("x".into()))
            .await
            .unwrap();
        assert!(!s.request_cancel("a").await.unwrap());
        assert_eq!(s.active_operations().await.unwrap().len(), 0);
    }
}
