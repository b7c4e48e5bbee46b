//! Discovery of saved templates from EC2: Prism images that the caller owns or may launch
//! (shared with the account) become template files under `discovered/` in the template
//! directory, so colleagues' templates appear in `prism templates` and launch like any other.
//!
//! The caller's own images are found by their `prism:saved-template` tag and described by
//! their tags. EC2 shows tags only to the account that set them, so images shared from
//! another account are found by name (`prism-*`) and described by their name and description
//! ([`crate::image_label`], `docs/IMAGE_LABELS.md`); those that do not read as a Prism label
//! are skipped.

use crate::backoff::retry;
use crate::context::Env;
use crate::error::OpsError;
use crate::image_label::{self, ImageLabel};
use prism_api::RefreshReport;
use prism_cloud::{tags, Image, ImageQuery};
use prism_templates::Template;
use std::collections::{BTreeMap, BTreeSet};

/// Sub-directory of the template directory holding discovered versions.
pub const DISCOVERED_DIR: &str = "discovered";

/// A discovered image and where its template facts come from: its `prism:*` tags (`None`,
/// the caller's own images) or its decoded name and description.
struct Found {
    image: Image,
    label: Option<ImageLabel>,
}

/// The (template, version) an image belongs to, from its tags when it carries valid ones,
/// else from its label; `None` for images that are not a saved template's.
fn identify(img: &Image) -> Option<((String, String), Option<ImageLabel>)> {
    if let (Some(n), Some(v)) = (
        img.tags.get(tags::SAVED_TEMPLATE),
        img.tags.get(tags::SAVED_VERSION),
    ) {
        if prism_templates::validate_template_name(n).is_ok()
            && !v.is_empty()
            && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            return Some(((n.clone(), v.clone()), None));
        }
    }
    let label = image_label::decode(&img.name, img.description.as_deref()).ok()?;
    Some((
        (label.template.clone(), label.version.to_string()),
        Some(label),
    ))
}

fn template_from(found: &[&Found]) -> Option<Template> {
    // Tags are the richer record: a tagged image of the version describes it when there is one.
    let first = found
        .iter()
        .find(|f| f.label.is_none())
        .or_else(|| found.first())?;
    let mut t = match &first.label {
        None => from_tags(&first.image)?,
        Some(label) => from_label(label, found),
    };
    // Deprecation as recipients see it: Prism's tag where tags are visible (the owner's
    // account), else EC2's DeprecationTime, which every account that may launch it sees.
    let at = found
        .iter()
        .filter_map(|f| {
            f.image
                .tags
                .get(tags::DEPRECATED)
                .cloned()
                .or_else(|| f.image.deprecation_time.clone())
        })
        .min();
    t.deprecation = at.map(|at| prism_templates::Deprecation {
        at,
        replacement: found
            .iter()
            .find_map(|f| f.image.tags.get(tags::REPLACEMENT).cloned()),
    });
    for f in found {
        let img = &f.image;
        t.ami_config
            .amis
            .entry(img.region.clone())
            .or_default()
            .insert(img.architecture.clone(), img.id.clone());
    }
    Some(t)
}

/// A saved version's template from the `prism:*` tags of one of its images (owner's view).
pub(crate) fn from_tags(img: &Image) -> Option<Template> {
    let tag = |k: &str| img.tags.get(k).cloned();
    Some(Template {
        name: tag(tags::SAVED_TEMPLATE)?,
        version: tag(tags::SAVED_VERSION),
        description: tag(tags::DESCRIPTION),
        base: Some("ami-based".into()),
        package_manager: Some("ami".into()),
        source: Some("saved-from-instance".into()),
        saved_from: tag(tags::SAVED_FROM),
        saved_from_instance: tag(tags::SAVED_FROM_INSTANCE),
        original_template: tag(tags::ORIGINAL_TEMPLATE),
        original_template_version: tag(tags::ORIGINAL_TEMPLATE_VERSION),
        saved_by: tag(tags::SAVED_BY),
        saved_date: tag(tags::SAVED_AT),
        capture_mode: tag(tags::CAPTURE_MODE),
        project: tag(tags::PROJECT),
        gpu_ready: tag(tags::GPU_READY).as_deref() == Some("true"),
        ..Default::default()
    })
}

/// A template from what other accounts see: the label, the owner account (who saved it) and
/// the earliest creation date of the version's images (copies are made after the save).
fn from_label(label: &ImageLabel, found: &[&Found]) -> Template {
    let labels = || found.iter().filter_map(|f| f.label.as_ref());
    // The longest description any copy carries (copies made before prism:v1 carried none).
    let description = labels()
        .filter_map(|l| l.description.clone())
        .max_by_key(|d| d.chars().count());
    let lineage = labels()
        .find(|l| l.original_template.is_some())
        .unwrap_or(label);
    Template {
        name: label.template.clone(),
        version: Some(label.version.to_string()),
        description,
        base: Some("ami-based".into()),
        package_manager: Some("ami".into()),
        source: Some("saved-from-instance".into()),
        original_template: lineage.original_template.clone(),
        original_template_version: lineage.original_version.clone(),
        saved_by: found.iter().find_map(|f| f.image.owner_id.clone()),
        saved_date: found
            .iter()
            .filter_map(|f| f.image.creation_date.clone())
            .min(),
        ..Default::default()
    }
}

/// Looks in `regions` and rewrites the discovered directory; versions saved on this machine
/// (files in the template directory itself) are left alone.
pub async fn refresh(
    env: &Env,
    profile: Option<&str>,
    regions: &[String],
) -> Result<RefreshReport, OpsError> {
    let started = tokio::time::Instant::now();
    let cloud = env.clouds.cloud(profile).await?;
    let queries = [
        ImageQuery {
            owners: vec!["self".into()],
            tag_keys: vec![tags::SAVED_TEMPLATE.into()],
            ..Default::default()
        },
        ImageQuery {
            executable_users: vec!["self".into()],
            tag_keys: vec![tags::SAVED_TEMPLATE.into()],
            ..Default::default()
        },
        // Shared from other accounts: their tags are invisible here, their names are not.
        ImageQuery {
            executable_users: vec!["self".into()],
            name: Some(image_label::NAME_PATTERN.into()),
            ..Default::default()
        },
    ];
    let per_region = futures_util::future::join_all(regions.iter().map(|r| {
        let cloud = cloud.clone();
        let queries = queries.clone();
        async move {
            let mut all: Vec<Image> = vec![];
            for q in &queries {
                match retry(|| cloud.describe_images(r, q)).await {
                    Ok(v) => all.extend(v),
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok(all)
        }
    }))
    .await;
    let mut errors = vec![];
    let mut seen: BTreeMap<(String, String), Vec<Found>> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for res in per_region {
        match res {
            Ok(images) => {
                for img in images {
                    if img.state != prism_cloud::ImageState::Available
                        || !ids.insert(img.id.clone())
                    {
                        continue;
                    }
                    let Some((key, label)) = identify(&img) else {
                        continue;
                    };
                    seen.entry(key)
                        .or_default()
                        .push(Found { image: img, label });
                }
            }
            Err(e) => errors.push(e),
        }
    }
    let images = ids.len();
    tracing::info!(
        images,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "refresh: images described"
    );
    let dir = env.template_dir.clone();
    let all_ok = errors.is_empty();
    let (written, removed) =
        tokio::task::spawn_blocking(move || write_discovered(&dir, &seen, all_ok))
            .await
            .map_err(|e| OpsError::Internal(e.to_string()))??;
    tracing::info!(
        written,
        removed,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "refresh: files written"
    );
    Ok(RefreshReport {
        regions: regions.to_vec(),
        images,
        versions_written: written,
        versions_removed: removed,
        errors,
    })
}

fn write_discovered(
    dir: &std::path::Path,
    seen: &BTreeMap<(String, String), Vec<Found>>,
    remove_stale: bool,
) -> Result<(usize, usize), OpsError> {
    let ddir = dir.join(DISCOVERED_DIR);
    let mut keep = BTreeSet::new();
    let mut written = 0;
    for ((name, version), imgs) in seen {
        let file = prism_templates::saved_file_name(name, version);
        if dir.join(&file).exists() {
            continue; // saved here: the local file is the record
        }
        let refs: Vec<&Found> = imgs.iter().collect();
        let Some(t) = template_from(&refs) else {
            continue;
        };
        let yaml = t.to_yaml().map_err(|e| OpsError::Internal(e.to_string()))?;
        keep.insert(file.clone());
        let path = ddir.join(&file);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(yaml.as_str()) {
            continue;
        }
        // A rebuildable cache: no fsync per file, one directory sync for the batch below.
        prism_templates::write_atomically_unsynced(&ddir, &file, &yaml)
            .map_err(|e| OpsError::Internal(e.to_string()))?;
        written += 1;
    }
    let mut removed = 0;
    if remove_stale {
        if let Ok(rd) = std::fs::read_dir(&ddir) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if name.ends_with(".yaml")
                    && !keep.contains(&name)
                    && std::fs::remove_file(e.path()).is_ok()
                {
                    removed += 1;
                }
            }
        }
    }
    if written + removed > 0 {
        prism_templates::sync_directory(&ddir).map_err(|e| OpsError::Internal(e.to_string()))?;
    }
    Ok((written, removed))
}
