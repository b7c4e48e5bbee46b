//! Cache of saved template versions (the images and their tags are the truth).

use crate::{json_err, now, Store, StoreResult};
use rusqlite::{params, Row};
use serde_json::Value;

/// One saved version.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateVersionRow {
    /// Template name.
    pub name: String,
    /// Version.
    pub version: u32,
    /// Description.
    pub description: Option<String>,
    /// Region the image was made in.
    pub source_region: String,
    /// `{region: {arch: ami}}`.
    pub amis: Value,
    /// Workstation it was saved from.
    pub saved_from: Option<String>,
    /// Measured downtime.
    pub downtime_seconds: Option<f64>,
    /// Template file.
    pub path: Option<String>,
    /// Operation that made it.
    pub op_id: Option<String>,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<TemplateVersionRow> {
    let amis: String = r.get("amis")?;
    Ok(TemplateVersionRow {
        name: r.get("name")?,
        version: r.get("version")?,
        description: r.get("description")?,
        source_region: r.get("source_region")?,
        amis: serde_json::from_str(&amis).unwrap_or(Value::Null),
        saved_from: r.get("saved_from")?,
        downtime_seconds: r.get("downtime_seconds")?,
        path: r.get("path")?,
        op_id: r.get("op_id")?,
    })
}

impl Store {
    /// Records (or updates, e.g. after a region copy) a saved version.
    pub async fn upsert_template_version(&self, v: TemplateVersionRow) -> StoreResult<()> {
        self.call(move |c| {
            let amis = serde_json::to_string(&v.amis).map_err(|e| json_err("amis", e))?;
            c.execute(
                "INSERT INTO template_versions (name, version, description, source_region, amis, saved_from, downtime_seconds, path, op_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT(name, version) DO UPDATE SET amis = excluded.amis, path = COALESCE(excluded.path, template_versions.path),
                   description = COALESCE(excluded.description, template_versions.description)",
                params![v.name, v.version, v.description, v.source_region, amis, v.saved_from, v.downtime_seconds, v.path, v.op_id, now()],
            )?;
            Ok(())
        })
        .await
    }

    /// Versions of one template, ascending.
    pub async fn template_versions(&self, name: &str) -> StoreResult<Vec<TemplateVersionRow>> {
        let name = name.to_string();
        self.call(move |c| {
            let mut s =
                c.prepare("SELECT * FROM template_versions WHERE name = ?1 ORDER BY version")?;
            let rows = s.query_map([name], from_row)?.collect();
            rows
        })
        .await
    }

    /// Highest recorded version of a template (0 when none).
    pub async fn max_template_version(&self, name: &str) -> StoreResult<u32> {
        let name = name.to_string();
        self.call(move |c| {
            c.query_row(
                "SELECT COALESCE(MAX(version), 0) FROM template_versions WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
        })
        .await
    }
}
