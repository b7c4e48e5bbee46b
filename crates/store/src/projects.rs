//! Projects: a name, a budget and member accounts. Templates and workstations belong to a
//! project through their `prism:project` tag, so membership needs no table.

use crate::{json_err, now, Store, StoreResult};
use rusqlite::{params, OptionalExtension, Row};

/// One project.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectRow {
    /// Name (also the `prism:project` tag value).
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Monthly budget in USD.
    pub budget_usd_per_month: Option<f64>,
    /// Accounts the project's templates are shared with (`project share-template`).
    pub accounts: Vec<String>,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<ProjectRow> {
    let accounts: String = r.get("accounts")?;
    Ok(ProjectRow {
        name: r.get("name")?,
        description: r.get("description")?,
        budget_usd_per_month: r.get("budget_usd_per_month")?,
        accounts: serde_json::from_str(&accounts).map_err(|e| json_err("accounts", e))?,
        created_at: r.get("created_at")?,
    })
}

impl Store {
    /// Creates a project; `Ok(false)` when one of that name exists (nothing is changed).
    pub async fn insert_project(&self, p: ProjectRow) -> StoreResult<bool> {
        self.call(move |c| {
            let accounts =
                serde_json::to_string(&p.accounts).map_err(|e| json_err("accounts", e))?;
            let n = c.execute(
                "INSERT INTO projects (name, description, budget_usd_per_month, accounts, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(name) DO NOTHING",
                params![p.name, p.description, p.budget_usd_per_month, accounts, now()],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// Every project, by name.
    pub async fn projects(&self) -> StoreResult<Vec<ProjectRow>> {
        self.call(|c| {
            let mut s = c.prepare("SELECT * FROM projects ORDER BY name")?;
            let rows = s.query_map([], from_row)?.collect();
            rows
        })
        .await
    }

    /// Replaces a project's description, budget and accounts; `Ok(false)` when there is no
    /// project of that name (nothing is changed).
    pub async fn update_project(&self, p: ProjectRow) -> StoreResult<bool> {
        self.call(move |c| {
            let accounts =
                serde_json::to_string(&p.accounts).map_err(|e| json_err("accounts", e))?;
            let n = c.execute(
                "UPDATE projects SET description = ?2, budget_usd_per_month = ?3, accounts = ?4
                 WHERE name = ?1",
                params![p.name, p.description, p.budget_usd_per_month, accounts],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// Deletes a project's record; `Ok(false)` when there was none.
    pub async fn delete_project(&self, name: &str) -> StoreResult<bool> {
        let name = name.to_string();
        self.call(move |c| Ok(c.execute("DELETE FROM projects WHERE name = ?1", [name])? == 1))
            .await
    }

    /// One project.
    pub async fn project(&self, name: &str) -> StoreResult<Option<ProjectRow>> {
        let name = name.to_string();
        self.call(move |c| {
            c.query_row("SELECT * FROM projects WHERE name = ?1", [name], from_row)
                .optional()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_project_is_created_once_and_read_back() {
        let s = Store::open_in_memory().unwrap();
        let p = ProjectRow {
            name: "brain-imaging".into(),
            description: Some("fMRI".into()),
            budget_usd_per_month: Some(500.0),
            accounts: vec!["111122223333".into()],
            created_at: String::new(),
        };
        assert!(s.insert_project(p.clone()).await.unwrap());
        assert!(
            !s.insert_project(p.clone()).await.unwrap(),
            "a second create is refused"
        );
        let got = s.project("brain-imaging").await.unwrap().unwrap();
        assert_eq!(got.accounts, p.accounts);
        assert_eq!(got.budget_usd_per_month, Some(500.0));
        assert!(!got.created_at.is_empty());
        assert_eq!(s.projects().await.unwrap().len(), 1);
        assert!(s.project("nope").await.unwrap().is_none());

        let mut changed = got.clone();
        changed.accounts.push("444455556666".into());
        changed.budget_usd_per_month = Some(750.0);
        changed.description = None;
        assert!(s.update_project(changed.clone()).await.unwrap());
        let back = s.project("brain-imaging").await.unwrap().unwrap();
        assert_eq!(back, changed, "every field written back, created_at kept");
        let ghost = ProjectRow {
            name: "ghost".into(),
            ..changed
        };
        assert!(!s.update_project(ghost).await.unwrap(), "nothing to update");
        assert!(s.delete_project("brain-imaging").await.unwrap());
        assert!(!s.delete_project("brain-imaging").await.unwrap());
        assert!(s.projects().await.unwrap().is_empty());
    }
}
