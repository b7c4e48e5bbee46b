//! Usage of saved template versions, from Prism's own records: every succeeded launch
//! operation (its journaled input names the template and the resolved version) counts as a
//! launch, and the workstation cache says which workstations were launched from a version
//! and still exist (running or stopped). Shown by `template versions`/`info`, and what
//! `template prune` keeps.

use std::collections::BTreeMap;

use prism_store::Store;

use crate::error::OpsError;

/// EC2 instance states of a workstation that is gone (or going) for good.
const GONE: &[&str] = &["terminated", "shutting-down"];

/// How one version has been used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionUsage {
    /// Succeeded launches from it.
    pub launches: u32,
    /// When the latest of them started (RFC 3339), if any.
    pub last_launched_at: Option<String>,
    /// Workstations launched from it that still exist (running or stopped), by name.
    pub workstations: Vec<String>,
}

/// Usage of every version of `template` that Prism has records of, by version.
pub async fn template_usage(
    store: &Store,
    template: &str,
) -> Result<BTreeMap<String, VersionUsage>, OpsError> {
    let mut out: BTreeMap<String, VersionUsage> = BTreeMap::new();
    for op in store
        .operations_of_kind(
            crate::launch::KIND,
            prism_api::OperationStatus::Succeeded.as_str(),
        )
        .await?
    {
        if op.input.get("template").and_then(|v| v.as_str()) != Some(template) {
            continue;
        }
        let Some(version) = op.input.get("template_version").and_then(|v| v.as_str()) else {
            continue;
        };
        let u = out.entry(version.to_string()).or_default();
        u.launches += 1;
        if u.last_launched_at.as_deref() < Some(op.created_at.as_str()) {
            u.last_launched_at = Some(op.created_at.clone());
        }
    }
    for w in store.workstations().await? {
        if w.template.as_deref() != Some(template) || GONE.contains(&w.state.as_str()) {
            continue;
        }
        if let Some(v) = &w.template_version {
            out.entry(v.clone()).or_default().workstations.push(w.name);
        }
    }
    Ok(out)
}
