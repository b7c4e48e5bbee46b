//! Cache of workstations (EC2 instances tagged by Prism), refreshed from EC2.

use crate::{json_err, now, Store, StoreResult};
use rusqlite::{params, OptionalExtension, Row};

/// A cached workstation.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkstationRow {
    /// Name.
    pub name: String,
    /// Instance id.
    pub instance_id: String,
    /// Region.
    pub region: String,
    /// Last known EC2 state.
    pub state: String,
    /// Template.
    pub template: Option<String>,
    /// Template version.
    pub template_version: Option<String>,
    /// Project.
    pub project: Option<String>,
    /// Size name.
    pub size: Option<String>,
    /// Instance type.
    pub instance_type: String,
    /// Architecture.
    pub architecture: String,
    /// Public IP.
    pub public_ip: Option<String>,
    /// Launch time.
    pub launched_at: Option<String>,
    /// AWS profile used for it.
    pub profile: Option<String>,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<WorkstationRow> {
    Ok(WorkstationRow {
        name: r.get("name")?,
        instance_id: r.get("instance_id")?,
        region: r.get("region")?,
        state: r.get("state")?,
        template: r.get("template")?,
        template_version: r.get("template_version")?,
        project: r.get("project")?,
        size: r.get("size")?,
        instance_type: r.get("instance_type")?,
        architecture: r.get("architecture")?,
        public_ip: r.get("public_ip")?,
        launched_at: r.get("launched_at")?,
        profile: r.get("profile")?,
    })
}

/// One period a workstation was recorded running (`workstation_runs`, written by triggers).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkstationRun {
    /// Workstation name.
    pub name: String,
    /// Its instance type then.
    pub instance_type: String,
    /// Its project then.
    pub project: Option<String>,
    /// Region.
    pub region: String,
    /// When Prism recorded it running (RFC 3339).
    pub started_at: String,
    /// When Prism recorded another state or forgot it; `None` while running.
    pub stopped_at: Option<String>,
}

impl Store {
    /// Inserts or replaces a workstation.
    pub async fn upsert_workstation(&self, w: WorkstationRow) -> StoreResult<()> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO workstations (name, instance_id, region, state, template, template_version, project, size, instance_type, architecture, public_ip, launched_at, profile, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                 ON CONFLICT(name) DO UPDATE SET instance_id=excluded.instance_id, region=excluded.region, state=excluded.state,
                   template=excluded.template, template_version=excluded.template_version, project=excluded.project, size=excluded.size,
                   instance_type=excluded.instance_type, architecture=excluded.architecture, public_ip=excluded.public_ip,
                   launched_at=excluded.launched_at, profile=COALESCE(excluded.profile, workstations.profile), updated_at=excluded.updated_at",
                params![w.name, w.instance_id, w.region, w.state, w.template, w.template_version, w.project, w.size,
                        w.instance_type, w.architecture, w.public_ip, w.launched_at, w.profile, now()],
            )?;
            Ok(())
        })
        .await
    }

    /// One workstation by name.
    pub async fn workstation(&self, name: &str) -> StoreResult<Option<WorkstationRow>> {
        let name = name.to_string();
        self.call(move |c| {
            c.query_row(
                "SELECT * FROM workstations WHERE name = ?1",
                [name],
                from_row,
            )
            .optional()
        })
        .await
    }

    /// All workstations, by name.
    pub async fn workstations(&self) -> StoreResult<Vec<WorkstationRow>> {
        self.call(|c| {
            let mut s = c.prepare("SELECT * FROM workstations ORDER BY name")?;
            let rows = s.query_map([], from_row)?.collect();
            rows
        })
        .await
    }

    /// When each cached workstation row was last written (RFC 3339), by name.
    pub async fn workstation_read_times(
        &self,
    ) -> StoreResult<std::collections::BTreeMap<String, String>> {
        self.call(|c| {
            let mut s = c.prepare("SELECT name, updated_at FROM workstations")?;
            let rows = s
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect();
            rows
        })
        .await
    }

    /// Updates the cached state of a workstation.
    pub async fn set_workstation_state(&self, name: &str, state: &str) -> StoreResult<()> {
        let (name, state) = (name.to_string(), state.to_string());
        self.call(move |c| {
            c.execute(
                "UPDATE workstations SET state = ?2, updated_at = ?3 WHERE name = ?1",
                params![name, state, now()],
            )?;
            Ok(())
        })
        .await
    }

    /// Running periods (Prism's records of when each workstation ran) overlapping the time
    /// from `since` (RFC 3339) on; an open period has no `stopped_at`.
    pub async fn workstation_runs_since(&self, since: &str) -> StoreResult<Vec<WorkstationRun>> {
        let since = since.to_string();
        self.call(move |c| {
            let mut s = c.prepare(
                "SELECT name, instance_type, project, region, started_at, stopped_at
                 FROM workstation_runs WHERE stopped_at IS NULL OR stopped_at >= ?1 ORDER BY id",
            )?;
            let rows = s
                .query_map([since], |r| {
                    Ok(WorkstationRun {
                        name: r.get(0)?,
                        instance_type: r.get(1)?,
                        project: r.get(2)?,
                        region: r.get(3)?,
                        started_at: r.get(4)?,
                        stopped_at: r.get(5)?,
                    })
                })?
                .collect();
            rows
        })
        .await
    }

    /// Forgets a workstation.
    pub async fn delete_workstation(&self, name: &str) -> StoreResult<()> {
        let name = name.to_string();
        self.call(move |c| {
            c.execute("DELETE FROM workstations WHERE name = ?1", [name])?;
            Ok(())
        })
        .await
    }

    /// Replaces the cached rows of one region by what EC2 said (rows of other regions stay).
    pub async fn replace_region_workstations(
        &self,
        region: &str,
        rows: Vec<WorkstationRow>,
    ) -> StoreResult<()> {
        let region = region.to_string();
        self.call(move |c| {
            let tx = c.unchecked_transaction()?;
            // Rows EC2 still lists are updated in place (not deleted and re-inserted), so a
            // workstation's running period (`workstation_runs`) is not cut at every refresh.
            let keep = serde_json::to_string(&rows.iter().map(|w| &w.name).collect::<Vec<_>>())
                .map_err(|e| json_err("names", e))?;
            tx.execute(
                "DELETE FROM workstations WHERE region = ?1
                   AND name NOT IN (SELECT value FROM json_each(?2))",
                params![&region, keep],
            )?;
            for w in rows {
                tx.execute(
                    "INSERT INTO workstations (name, instance_id, region, state, template, template_version, project, size, instance_type, architecture, public_ip, launched_at, profile, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                     ON CONFLICT(name) DO UPDATE SET instance_id=excluded.instance_id, region=excluded.region, state=excluded.state,
                       template=excluded.template, template_version=excluded.template_version, project=excluded.project, size=excluded.size,
                       instance_type=excluded.instance_type, architecture=excluded.architecture, public_ip=excluded.public_ip,
                       launched_at=excluded.launched_at, profile=excluded.profile, updated_at=excluded.updated_at",
                    params![w.name, w.instance_id, w.region, w.state, w.template, w.template_version, w.project, w.size,
                            w.instance_type, w.architecture, w.public_ip, w.launched_at, w.profile, now()],
                )?;
            }
            tx.commit()
        })
        .await
    }
}

#[cfg(test)]
mod run_tests {
    use super::*;

    fn ws(name: &str, state: &str) -> WorkstationRow {
        WorkstationRow {
            name: name.into(),
            instance_id: format!("i-{name}"),
            region: "us-east-1".into(),
            state: state.into(),
            template: None,
            template_version: None,
            project: Some("lab".into()),
            size: None,
            instance_type: "t3.medium".into(),
            architecture: "x86_64".into(),
            public_ip: None,
            launched_at: None,
            profile: None,
        }
    }

    #[tokio::test]
    async fn running_periods_open_and_close_with_the_recorded_state() {
        let s = Store::open_in_memory().unwrap();
        s.upsert_workstation(ws("a", "pending")).await.unwrap();
        assert!(s.workstation_runs_since("").await.unwrap().is_empty());
        s.upsert_workstation(ws("a", "running")).await.unwrap();
        // A refresh that still sees it running keeps one open period.
        s.replace_region_workstations("us-east-1", vec![ws("a", "running")])
            .await
            .unwrap();
        s.set_workstation_state("a", "running").await.unwrap();
        let runs = s.workstation_runs_since("").await.unwrap();
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert!(runs[0].stopped_at.is_none());
        assert_eq!(runs[0].instance_type, "t3.medium");
        assert_eq!(runs[0].project.as_deref(), Some("lab"));
        s.set_workstation_state("a", "stopped").await.unwrap();
        s.set_workstation_state("a", "running").await.unwrap();
        s.delete_workstation("a").await.unwrap();
        let runs = s.workstation_runs_since("").await.unwrap();
        assert_eq!(runs.len(), 2, "stop then start: two periods, {runs:?}");
        assert!(runs.iter().all(|r| r.stopped_at.is_some()), "{runs:?}");
        assert!(runs[0].started_at <= runs[0].stopped_at.clone().unwrap());
        // Periods that ended before `since` are left out.
        assert!(s
            .workstation_runs_since("9999-01-01T00:00:00Z")
            .await
            .unwrap()
            .is_empty());
    }
}
