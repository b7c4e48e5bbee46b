//! Deleting saved versions (`prism template delete T@N`, or `T --all-versions`): their images
//! are deregistered and their snapshots deleted in every region, then their template files are
//! removed. Nothing can be undone, so the operation only goes forward: each step is idempotent
//! (gone is done), a failed one can be run again, and the files go last so that a version
//! whose images could not all be removed stays listed and can be deleted again.

use crate::backoff::retry;
use crate::context::{Env, StepCx};
use crate::error::{OpsError, StepError};
use crate::locks;
use crate::output::StepOutput;
use crate::saga::{step, Saga, TypedStep};
use async_trait::async_trait;
use prism_api::{RegionImage, TemplateDeletePlan, TemplateDeleteRequest};
use prism_cloud::{tags, ImageState, SnapshotQuery};
use prism_store::NewOperation;
use prism_templates::{Catalogue, Origin};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

/// Operation kind.
pub const KIND: &str = "template-delete.v1";

/// Steps of [`saga`] that make a mutating AWS call and mark it with `cx.acted()` (a
/// `template-delete.v1:STEP:acted` crash point), and steps that journal sub-records
/// (`cx.record`). Read by `registry::acting_steps`; `registry::tests` checks them.
pub const ACTING_STEPS: &[&str] = &["deregister_images"];
/// See [`ACTING_STEPS`].
pub const RECORDING_STEPS: &[&str] = &["deregister_images"];

/// Labelled crash points `KIND:STEP:acted:LABEL` (`cx.acted_at("LABEL")`) of steps that make
/// more than one kind of mutating call. Read by `registry::acted_points`; checked likewise.
pub const ACTED_AT: &[(&str, &str)] = &[("deregister_images", "delete-snapshot")];

/// The deletion saga: its steps in order (names are persisted: never rename one).
pub fn saga() -> Saga {
    Saga {
        kind: KIND,
        steps: vec![
            step(
                "deregister_images",
                "deregistering images and deleting their snapshots",
                DeregisterImages,
            ),
            step("remove_files", "removing the template files", RemoveFiles),
        ],
        finish: |cx| {
            let i: DeleteInput = cx.input()?;
            let d: DeregisterImagesOut = cx.need()?;
            let f: RemoveFilesOut = cx.need()?;
            Ok(json!({
                "template": i.template,
                "versions": i.versions,
                "images_deregistered": d.images_deregistered,
                "snapshots_deleted": d.snapshots_deleted,
                "files_removed": f.files_removed,
                "recycle_bin": d.recycle_bin,
            }))
        },
    }
}

/// Output of `deregister_images`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeregisterImagesOut {
    /// Images this run deregistered (not counting those already gone).
    pub images_deregistered: u64,
    /// Snapshots this run deleted.
    pub snapshots_deleted: u64,
    /// What the account's Recycle Bin keeps of the deregistered images (absent in journals
    /// written before it was checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recycle_bin: Option<RecycleBinCheck>,
}

/// The Recycle Bin check after a deletion: images a retention rule keeps, and until when.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RecycleBinCheck {
    /// Images Recycle Bin keeps (restorable until `until`).
    pub kept: Vec<KeptImage>,
    /// Regions where it could not be checked, with why.
    #[serde(default)]
    pub errors: Vec<String>,
}

/// One deregistered image Recycle Bin keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptImage {
    /// Region.
    pub region: String,
    /// AMI id.
    pub image_id: String,
    /// When Recycle Bin lets it go for good (RFC 3339), when EC2 says.
    pub until: Option<String>,
}

impl StepOutput for DeregisterImagesOut {
    const STEP: &'static str = "deregister_images";
}

/// Output of `remove_files`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoveFilesOut {
    /// Files removed by this run.
    pub files_removed: Vec<String>,
}

impl StepOutput for RemoveFilesOut {
    const STEP: &'static str = "remove_files";
}

/// Sub-record of `deregister_images`, one per image removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemovedImage {
    /// AMI id.
    pub image_id: String,
    /// Its snapshots.
    pub snapshot_ids: Vec<String>,
}

/// One image to remove, with the snapshots it had when the deletion was planned (recorded so
/// that a crash between deregistering and deleting them leaves no snapshot behind).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DoomedImage {
    /// Region.
    pub region: String,
    /// AMI id.
    pub image_id: String,
    /// Its snapshots.
    pub snapshot_ids: Vec<String>,
    /// The version it belongs to (absent in journals written before `template restore`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// What a deletion needs; journaled as its input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeleteInput {
    /// Template name.
    pub template: String,
    /// Versions.
    pub versions: Vec<String>,
    /// Profile.
    pub profile: Option<String>,
    /// Images that existed when planned.
    pub images: Vec<DoomedImage>,
    /// Template files to remove.
    pub files: Vec<String>,
    /// Their text when planned, by path: what `template restore` writes back (absent in
    /// journals written before it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub file_texts: BTreeMap<String, String>,
}

fn invalid(message: String, hint: String) -> OpsError {
    OpsError::invalid(message, Some(hint))
}

/// Snapshots of `template@version` in `region` by their `prism:*` tags.
async fn leftover_snapshots(
    cloud: &dyn prism_cloud::Cloud,
    region: &str,
    template: &str,
    version: &str,
) -> Result<Vec<String>, OpsError> {
    let q = SnapshotQuery {
        tags: prism_cloud::Tags::from([
            (tags::SAVED_TEMPLATE.to_string(), template.to_string()),
            (tags::SAVED_VERSION.to_string(), version.to_string()),
        ]),
        ..Default::default()
    };
    Ok(retry(|| cloud.describe_snapshots(region, &q))
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect())
}

/// Checks a deletion; returns its plan and the operation to submit. Nothing changes.
pub async fn prepare(
    env: &Env,
    catalogue: &Catalogue,
    req: &TemplateDeleteRequest,
) -> Result<(TemplateDeletePlan, NewOperation), OpsError> {
    let pinned = req.template.contains('@');
    let name = req
        .template
        .split('@')
        .next()
        .unwrap_or_default()
        .to_string();
    let listed = || {
        catalogue
            .versions(&name)
            .iter()
            .filter_map(|e| e.raw.version.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if pinned && req.all_versions {
        return Err(invalid(
            format!(
                "{} names one version, and --all-versions asks for every one",
                req.template
            ),
            format!("give either {name}@N or {name} --all-versions"),
        ));
    }
    let entry = catalogue.get(&req.template).map_err(|e| {
        OpsError::not_found(
            e.to_string(),
            Some("list templates with: prism templates".to_string()),
        )
    })?;
    if !entry.raw.is_saved() {
        return Err(invalid(
            format!(
                "template '{}' is not a saved template; only saved versions have images to delete",
                entry.raw.id()
            ),
            match &entry.origin {
                Origin::User(p) => format!("it is the file {}: delete that file", p.display()),
                _ => "built-in templates cannot be deleted".to_string(),
            },
        ));
    }
    if !pinned && !req.all_versions {
        return Err(invalid(
            format!("which version of '{name}'? Deleting cannot be undone, so name it"),
            format!(
                "versions: {}; give {name}@N, or {name} --all-versions",
                listed()
            ),
        ));
    }
    let entries = if req.all_versions {
        catalogue.versions(&name)
    } else {
        vec![entry]
    };
    let target = if req.all_versions {
        format!("{name} (all versions)")
    } else {
        format!("{name}@{}", entry.raw.version.as_deref().unwrap_or("1"))
    };
    plan_versions(env, &name, &entries, req.aws.profile.as_deref(), target).await
}

/// The plan and operation deleting `entries` (saved versions of template `name`) — shared
/// by `template delete` and `template prune`. Nothing changes.
pub(crate) async fn plan_versions(
    env: &Env,
    name: &str,
    entries: &[&prism_templates::Entry],
    profile: Option<&str>,
    target: String,
) -> Result<(TemplateDeletePlan, NewOperation), OpsError> {
    let name = name.to_string();
    locks::ensure_free(env, &locks::template(&name), &format!("template '{name}'")).await?;
    let cloud = env.clouds.cloud(profile).await?;
    let mut versions = vec![];
    let mut images = vec![];
    let mut files = vec![];
    let mut size_gb = 0i64;
    let mut own_account = None;
    for e in entries {
        let version = e.raw.version.clone().unwrap_or_else(|| "1".into());
        for (region, by_arch) in &e.raw.ami_config.amis {
            for id in by_arch.values() {
                let found = crate::images::lookup(cloud.as_ref(), region, id).await?;
                // Snapshots carrying this version's `prism:*` tags: what an earlier run (or a
                // crash between deregistering and deleting) left behind is found again.
                let tagged = leftover_snapshots(cloud.as_ref(), region, &name, &version).await?;
                let Some(img) = found.filter(|i| i.state != ImageState::Deregistered) else {
                    if !tagged.is_empty() {
                        images.push(DoomedImage {
                            region: region.clone(),
                            image_id: id.clone(),
                            snapshot_ids: tagged,
                            version: Some(version.clone()),
                        });
                    }
                    continue; // the image is already gone
                };
                if own_account.is_none() {
                    own_account = Some(retry(|| cloud.caller_identity(region)).await?.account);
                }
                if img.owner_id.is_some() && img.owner_id != own_account {
                    return Err(invalid(
                        format!(
                            "image {id} of {name}@{version} in {region} belongs to account {}; only its owner can delete it",
                            img.owner_id.as_deref().unwrap_or("?")
                        ),
                        "ask the template's owner; to stop seeing it, they can unshare it".into(),
                    ));
                }
                // EC2 refuses to deregister a protected image: refuse before anything goes.
                crate::protect::refuse_if_protected(&img, &name, &version)?;
                size_gb += img.size_gb;
                // Recorded before anything is deregistered: the image's own list, EC2's
                // description of the snapshots it made for the image (a pending image shows no
                // ids), and the tagged ones.
                let mut snapshot_ids = img.snapshot_ids.clone();
                let q = SnapshotQuery {
                    description: Some(format!("*{id}*")),
                    ..Default::default()
                };
                let described = retry(|| cloud.describe_snapshots(region, &q)).await?;
                for sid in described
                    .into_iter()
                    .filter(|s| s.made_for(id))
                    .map(|s| s.id)
                    .chain(tagged)
                {
                    if !snapshot_ids.contains(&sid) {
                        snapshot_ids.push(sid);
                    }
                }
                images.push(DoomedImage {
                    region: region.clone(),
                    image_id: id.clone(),
                    snapshot_ids,
                    version: Some(version.clone()),
                });
            }
        }
        let file = prism_templates::saved_file_name(&name, &version);
        for dir in [
            env.template_dir.clone(),
            env.template_dir.join(crate::discover::DISCOVERED_DIR),
        ] {
            let path = dir.join(&file);
            if path.exists() {
                files.push(path.display().to_string());
            }
        }
        if let Origin::Saved(p) = &e.origin {
            let p = p.display().to_string();
            if !files.contains(&p) {
                files.push(p);
            }
        }
        versions.push(version);
    }
    let mut warnings = vec![];
    let launched: Vec<String> = env
        .store
        .workstations()
        .await?
        .into_iter()
        .filter(|w| w.template.as_deref() == Some(name.as_str()))
        .map(|w| w.name)
        .collect();
    if !launched.is_empty() {
        warnings.push(format!(
            "workstations launched from it keep running and do not need its images: {}",
            launched.join(", ")
        ));
    }
    let monthly = (size_gb as f64 * env.config.snapshot_usd_per_gb_month * 100.0).round() / 100.0;
    let plan = TemplateDeletePlan {
        template: name.clone(),
        versions: versions.clone(),
        images: images
            .iter()
            .map(|i| RegionImage {
                region: i.region.clone(),
                image_id: i.image_id.clone(),
            })
            .collect(),
        snapshots: images.iter().map(|i| i.snapshot_ids.len()).sum(),
        files: files.clone(),
        monthly_savings_usd: monthly,
        warnings,
    };
    let mut file_texts = BTreeMap::new();
    for f in &files {
        if let Ok(text) = tokio::fs::read_to_string(f).await {
            file_texts.insert(f.clone(), text);
        }
    }
    let input = DeleteInput {
        template: name.clone(),
        versions,
        profile: profile.map(str::to_string),
        images,
        files,
        file_texts,
    };
    let op = NewOperation {
        id: uuid::Uuid::new_v4().to_string(),
        kind: KIND.into(),
        target,
        lock_keys: vec![locks::template(&name)],
        input: serde_json::to_value(&input).map_err(|e| OpsError::Internal(e.to_string()))?,
    };
    Ok((plan, op))
}

/// Deregisters every image and deletes its recorded snapshots; gone is done.
struct DeregisterImages;

#[async_trait]
impl TypedStep for DeregisterImages {
    type Out = DeregisterImagesOut;
    async fn run(&self, cx: &StepCx) -> Result<DeregisterImagesOut, StepError> {
        let i: DeleteInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let (mut images, mut snapshots) = (0, 0);
        for img in &i.images {
            match retry(|| cloud.deregister_image(&img.region, &img.image_id, true)).await {
                Ok(()) => images += 1,
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
            cx.acted();
            for s in &img.snapshot_ids {
                // EC2 may answer InvalidSnapshot.InUse for a while after the deregistration
                // (waited out, bounded); DeleteAssociatedSnapshots usually removed it already.
                match crate::images::delete_snapshot(cloud.as_ref(), &img.region, s).await {
                    Ok(()) => {
                        snapshots += 1;
                        cx.acted_at("delete-snapshot");
                    }
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let _ = cx
                .record(
                    &img.region,
                    &RemovedImage {
                        image_id: img.image_id.clone(),
                        snapshot_ids: img.snapshot_ids.clone(),
                    },
                )
                .await;
        }
        Ok(DeregisterImagesOut {
            images_deregistered: images,
            snapshots_deleted: snapshots,
            recycle_bin: Some(recycle_bin(cloud.as_ref(), &i.images).await),
        })
    }
}

/// Which of `images` the account's Recycle Bin keeps (`ListImagesInRecycleBin`), region by
/// region. Advisory: one call per region without Prism's retries, and a failure (an endpoint
/// without the API, such as moto) is reported, never fatal — the images are gone either way.
async fn recycle_bin(cloud: &dyn prism_cloud::Cloud, images: &[DoomedImage]) -> RecycleBinCheck {
    let mut by_region: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for img in images {
        by_region
            .entry(img.region.as_str())
            .or_default()
            .push(img.image_id.clone());
    }
    let mut check = RecycleBinCheck::default();
    for (region, ids) in by_region {
        match cloud.images_in_recycle_bin(region, &ids).await {
            Ok(kept) => check.kept.extend(kept.into_iter().map(|k| KeptImage {
                region: region.to_string(),
                image_id: k.image_id,
                until: k.exit_time,
            })),
            Err(e) => check
                .errors
                .push(format!("could not check the Recycle Bin in {region}: {e}")),
        }
    }
    check
}

/// Removes the versions' template files (after their images, so a failure leaves them listed).
struct RemoveFiles;

#[async_trait]
impl TypedStep for RemoveFiles {
    type Out = RemoveFilesOut;
    async fn run(&self, cx: &StepCx) -> Result<RemoveFilesOut, StepError> {
        let i: DeleteInput = cx.input()?;
        let mut removed = vec![];
        for f in &i.files {
            match tokio::fs::remove_file(f).await {
                Ok(()) => removed.push(f.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StepError::Internal(format!("cannot remove {f}: {e}"))),
            }
        }
        for dir in [
            cx.env.template_dir.clone(),
            cx.env.template_dir.join(crate::discover::DISCOVERED_DIR),
        ] {
            if dir.is_dir() {
                prism_templates::sync_directory(&dir)
                    .map_err(|e| StepError::Internal(e.to_string()))?;
            }
        }
        Ok(RemoveFilesOut {
            files_removed: removed,
        })
    }
}
