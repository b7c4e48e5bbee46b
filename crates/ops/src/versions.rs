//! `template versions` / `template info`: every version of a template with its lineage
//! (template file), regions, sharing and size (EC2, one region's image per version: a save
//! and a share act on every region alike), downtime and usage ([`crate::usage`]).

use futures_util::future::join_all;
use prism_api::{TemplateVersions, VersionInfo};
use prism_cloud::{Cloud, ImageQuery};
use prism_templates::{Catalogue, Template};

use crate::backoff::retry;
use crate::context::Env;
use crate::error::OpsError;
use crate::usage::{template_usage, VersionUsage};

/// The versions of the template `reference` names (`T` or `T@N`: all versions of `T`).
pub async fn versions(
    env: &Env,
    catalogue: &Catalogue,
    reference: &str,
    profile: Option<&str>,
) -> Result<TemplateVersions, OpsError> {
    let entry = catalogue.get(reference).map_err(|e| {
        OpsError::not_found(
            e.to_string(),
            Some("list templates with: prism templates".to_string()),
        )
    })?;
    let id = entry.template.id().to_string();
    let usage = template_usage(&env.store, &id).await?;
    let entries = catalogue.versions(&id);
    let any_saved = entries.iter().any(|e| e.raw.is_saved());
    let cloud = if any_saved {
        Some(env.clouds.cloud(profile).await?)
    } else {
        None
    };
    let price = env.config.snapshot_usd_per_gb_month;
    let rows = join_all(entries.iter().map(|e| {
        let cloud = cloud.clone();
        let usage = e
            .raw
            .version
            .as_ref()
            .and_then(|v| usage.get(v))
            .cloned()
            .unwrap_or_default();
        async move { version_info(cloud.as_deref(), &e.raw, usage, price).await }
    }))
    .await;
    Ok(TemplateVersions {
        template: id,
        versions: rows,
        snapshot_usd_per_gb_month: price,
    })
}

async fn version_info(
    cloud: Option<&dyn Cloud>,
    t: &Template,
    usage: VersionUsage,
    price: f64,
) -> VersionInfo {
    let regions: Vec<String> = t.ami_config.amis.keys().cloned().collect();
    let mut info = VersionInfo {
        version: t.version.clone().unwrap_or_else(|| "1".into()),
        saved: t.is_saved(),
        saved_at: t.saved_date.clone(),
        saved_by: t.saved_by.clone(),
        description: t.description.clone(),
        saved_from: t.saved_from.clone(),
        original_template: t.original_template.clone(),
        original_template_version: t.original_template_version.clone(),
        regions: if t.is_saved() { regions } else { vec![] },
        downtime_seconds: t.downtime_seconds,
        size_gb: None,
        monthly_storage_usd: None,
        public: false,
        shared_with: vec![],
        launches: usage.launches,
        last_launched_at: usage.last_launched_at,
        running_now: usage.workstations,
        errors: vec![],
    };
    let (Some(cloud), true) = (cloud, t.is_saved()) else {
        return info;
    };
    // Images in every region; one region's image stands for the version's size and
    // sharing (a save copies the same volumes, a share acts on every region or none).
    let images: Vec<(String, String)> = t
        .ami_config
        .amis
        .iter()
        .flat_map(|(r, m)| m.values().map(move |id| (r.clone(), id.clone())))
        .collect();
    let Some((region, image)) = images.first().cloned() else {
        return info;
    };
    let query = ImageQuery {
        ids: vec![image.clone()],
        ..Default::default()
    };
    match retry(|| cloud.describe_images(&region, &query)).await {
        Ok(found) => match found.first() {
            Some(i) => {
                info.size_gb = Some(i.size_gb);
                info.monthly_storage_usd = Some(i.size_gb as f64 * images.len() as f64 * price);
            }
            None => info
                .errors
                .push(format!("{region}: image {image} not found in EC2")),
        },
        Err(e) => info.errors.push(format!("{region}: {e}")),
    }
    match retry(|| cloud.launch_permissions(&region, &image)).await {
        Ok(s) => {
            info.public = s.public;
            info.shared_with = s
                .accounts
                .into_iter()
                .chain(s.organizations)
                .chain(s.organizational_units)
                .collect();
        }
        Err(e) => info.errors.push(format!("{region}: {e}")),
    }
    info
}
