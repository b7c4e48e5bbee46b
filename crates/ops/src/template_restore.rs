//! Restoring a deleted saved version from EC2's Recycle Bin (`prism template restore T@N`):
//! its snapshots, then its image in every region, then Prism's tags where they are missing,
//! then its template file, so `template versions` and `launch T@N` work again.
//!
//! What Prism knows of a deleted version is what `template delete` journaled: the images and
//! snapshots it removed (per region, per version) and the template files' text. A version
//! deleted on another machine, or before deletions recorded their files, is refused with the
//! AWS CLI commands that restore it by hand.
//!
//! EC2 semantics relied on (EBS User Guide, "Recover deleted Amazon EBS snapshots and
//! EBS-backed AMIs with Recycle Bin" and its "Considerations"):
//! - only a resource a retention rule kept can be restored, and only until its retention
//!   period ends ("the resource is permanently deleted from the Recycle Bin and it is no longer
//!   available for recovery"); `ListImagesInRecycleBin` / `ListSnapshotsInRecycleBin` say which
//!   are kept and until when;
//! - "Before you can restore an AMI from the Recycle Bin, you must first restore all of its
//!   associated snapshots from the Recycle Bin and ensure that they are in the `available`
//!   state"; an AMI whose snapshots left the bin is no longer recoverable;
//! - "If you restore the AMI, all of the previous sharing permissions are automatically
//!   restored" (snapshots likewise), so sharing needs nothing from Prism;
//! - tags stay with a resource in the bin, but may be modified there ("you can only view it,
//!   restore it, or modify its tags"), so the `prism:*` tags Prism finds versions by are
//!   checked after the restore and put back where they are missing;
//! - a restored AMI "is immediately available for use" under its old id.
//!
//! All or nothing: a failure sends what this operation restored back where it was (images
//! deregistered, snapshots deleted: under the retention rule that kept them, EC2 keeps them in
//! the bin again) and removes the file it wrote.

use crate::backoff::retry;
use crate::context::{Env, StepCx};
use crate::error::{OpsError, StepError};
use crate::locks;
use crate::output::StepOutput;
use crate::poll::{poll_until, Poll};
use crate::saga::{step, Saga, TypedStep};
use crate::template_delete::{self, DeleteInput};
use async_trait::async_trait;
use prism_api::{RestoreImagePlan, TemplateRestorePlan, TemplateRestoreRequest};
use prism_cloud::{tags, Cloud, ImageState, SnapshotQuery, SnapshotState, Tags};
use prism_store::NewOperation;
use prism_templates::Catalogue;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// Operation kind.
pub const KIND: &str = "template-restore.v1";

/// Steps of [`saga`] that make a mutating AWS call and mark it with `cx.acted()`, and steps
/// that journal sub-records (`cx.record`). Read by `registry`; checked there.
pub const ACTING_STEPS: &[&str] = &["restore_snapshots", "restore_images", "tag_images"];
/// See [`ACTING_STEPS`].
pub const RECORDING_STEPS: &[&str] = &["restore_images"];
/// Labelled crash points (none: each step makes one kind of mutating call).
pub const ACTED_AT: &[(&str, &str)] = &[];

/// The AWS page on Recycle Bin retention rules, named when the bin cannot help.
pub const RETENTION_RULES_DOC: &str =
    "https://docs.aws.amazon.com/ebs/latest/userguide/recycle-bin.html";

/// The restore saga: its steps in order (names are persisted: never rename one).
pub fn saga() -> Saga {
    Saga {
        kind: KIND,
        steps: vec![
            step(
                "restore_snapshots",
                "restoring the snapshots from the Recycle Bin",
                RestoreSnapshots,
            ),
            step(
                "restore_images",
                "restoring the images from the Recycle Bin",
                RestoreImages,
            ),
            step(
                "tag_images",
                "checking Prism's tags on the images",
                TagImages,
            ),
            step("write_file", "writing the template file back", WriteFile),
        ],
        finish: |cx| {
            let i: RestoreInput = cx.input()?;
            let s: RestoreSnapshotsOut = cx.need()?;
            let r: RestoreImagesOut = cx.need()?;
            let f: WriteFileOut = cx.need()?;
            Ok(json!({
                "template": i.template,
                "version": i.version,
                "images": i.images.iter().map(|m| json!({"region": m.region, "image_id": m.image_id})).collect::<Vec<_>>(),
                "snapshots_restored": s.restored,
                "images_restored": r.restored,
                "file": f.path,
            }))
        },
    }
}

/// One region's image to bring back, as planned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BinnedImage {
    /// Region.
    pub region: String,
    /// AMI id.
    pub image_id: String,
    /// Every snapshot of the image.
    pub snapshot_ids: Vec<String>,
    /// Those of them in the Recycle Bin when planned (restored by this operation).
    pub binned_snapshots: Vec<String>,
    /// Whether the image was in the Recycle Bin when planned (else it was already back).
    pub in_bin: bool,
}

/// What a restore needs; journaled as its input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RestoreInput {
    /// Template name.
    pub template: String,
    /// Version.
    pub version: String,
    /// Profile.
    pub profile: Option<String>,
    /// The version's images.
    pub images: Vec<BinnedImage>,
    /// The template file to write back.
    pub file: String,
    /// Its text as the deletion journaled it; `None`: rebuilt from the images' tags.
    pub file_text: Option<String>,
    /// The deletion this undoes.
    pub deletion: String,
}

/// Output of `restore_snapshots`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreSnapshotsOut {
    /// Snapshots this operation brought back from the bin (whichever run restored them).
    pub restored: u64,
}

impl StepOutput for RestoreSnapshotsOut {
    const STEP: &'static str = "restore_snapshots";
}

/// Output of `restore_images`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreImagesOut {
    /// Images this operation brought back from the bin (whichever run restored them).
    pub restored: u64,
}

impl StepOutput for RestoreImagesOut {
    const STEP: &'static str = "restore_images";
}

/// Output of `tag_images`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagImagesOut {
    /// Images whose `prism:*` tags had to be put back.
    pub retagged: Vec<String>,
}

impl StepOutput for TagImagesOut {
    const STEP: &'static str = "tag_images";
}

/// Output of `write_file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteFileOut {
    /// The template file written.
    pub path: String,
}

impl StepOutput for WriteFileOut {
    const STEP: &'static str = "write_file";
}

/// Sub-record of `restore_images`, one per region's image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoredImage {
    /// AMI id.
    pub image_id: String,
    /// `restored` or `already restored`.
    pub status: String,
}

fn refuse_gone(what: String) -> OpsError {
    OpsError::invalid(
        what,
        Some(format!(
            "EC2 keeps deleted images and snapshots only while a Recycle Bin retention rule for them applies, and only for its retention period (keep snapshots at least as long as images): {RETENTION_RULES_DOC}"
        )),
    )
}

/// The succeeded deletions journaled on this machine, oldest first.
async fn deletions(env: &Env) -> Result<Vec<(String, DeleteInput)>, OpsError> {
    Ok(env
        .store
        .operations_of_kind(template_delete::KIND, "succeeded")
        .await?
        .into_iter()
        .filter_map(|row| Some((row.id, serde_json::from_value(row.input).ok()?)))
        .collect())
}

/// Checks a restore; returns its plan and the operation to submit. Nothing changes.
pub async fn prepare(
    env: &Env,
    catalogue: &Catalogue,
    req: &TemplateRestoreRequest,
) -> Result<(TemplateRestorePlan, NewOperation), OpsError> {
    let (name, version) = match req.template.split_once('@') {
        Some((n, v)) => (n.to_string(), v.to_string()),
        None => (req.template.clone(), String::new()),
    };
    let deleted = deletions(env).await?;
    let deleted_versions = |name: &str| {
        let mut v: Vec<String> = deleted
            .iter()
            .filter(|(_, d)| d.template == name)
            .flat_map(|(_, d)| d.versions.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|v| catalogue.get(&format!("{name}@{v}")).is_err())
            .collect();
        v.sort_by_key(|v| v.parse::<u64>().unwrap_or(u64::MAX));
        v
    };
    let known_here = catalogue.entries().iter().any(|e| e.raw.id() == name)
        || !deleted_versions(&name).is_empty();
    if !known_here {
        let mut names: BTreeSet<&str> = catalogue.entries().iter().map(|e| e.raw.id()).collect();
        names.extend(deleted.iter().map(|(_, d)| d.template.as_str()));
        let close = prism_templates::suggestions(&name, names.iter().copied());
        return Err(OpsError::not_found(
            format!("unknown template '{name}': no template of that name, and no deleted version of it recorded here"),
            Some(if close.is_empty() {
                "list templates with: prism templates".to_string()
            } else {
                format!("did you mean {}? (list templates with: prism templates)", close.join(", "))
            }),
        ));
    }
    if version.is_empty() {
        let listed = deleted_versions(&name);
        return Err(OpsError::invalid(
            format!("which version of '{name}'? Name the deleted version to restore"),
            Some(if listed.is_empty() {
                format!("no deleted version of '{name}' is recorded here")
            } else {
                format!("deleted versions: {}; give {name}@N", listed.join(", "))
            }),
        ));
    }
    if catalogue.get(&req.template).is_ok() {
        return Err(OpsError::invalid(
            format!("{name}@{version} exists; only a deleted version can be restored"),
            Some(format!(
                "launch it with: prism launch {name}@{version} NAME"
            )),
        ));
    }
    let Some((deletion, record)) = deleted
        .iter()
        .rev()
        .find(|(_, d)| d.template == name && d.versions.contains(&version))
    else {
        let listed = deleted_versions(&name);
        return Err(OpsError::not_found(
            format!("no deletion of {name}@{version} is recorded on this machine"),
            Some(format!(
                "{}; a version deleted elsewhere can be restored with: aws ec2 list-images-in-recycle-bin, aws ec2 restore-snapshot-from-recycle-bin, aws ec2 restore-image-from-recycle-bin",
                if listed.is_empty() {
                    format!("no deleted version of '{name}' is recorded here")
                } else {
                    format!("deleted versions recorded here: {}", listed.join(", "))
                }
            )),
        ));
    };
    let mine: Vec<_> = record
        .images
        .iter()
        .filter(|i| match &i.version {
            Some(v) => *v == version,
            None => record.versions.len() == 1,
        })
        .collect();
    if mine.is_empty() {
        return Err(OpsError::invalid(
            format!("the deletion of {name}@{version} ({deletion}) recorded no image of it; there is nothing to restore"),
            Some("restore by hand with: aws ec2 list-images-in-recycle-bin, aws ec2 restore-image-from-recycle-bin".to_string()),
        ));
    }
    locks::ensure_free(env, &locks::template(&name), &format!("template '{name}'")).await?;
    let cloud = env.clouds.cloud(req.aws.profile.as_deref()).await?;
    let mut by_region: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for i in &mine {
        by_region
            .entry(i.region.as_str())
            .or_default()
            .push(i.image_id.clone());
    }
    let mut kept = BTreeMap::new();
    for (region, ids) in &by_region {
        for k in retry(|| cloud.images_in_recycle_bin(region, ids)).await? {
            kept.insert(k.image_id.clone(), k.exit_time);
        }
    }
    let mut images = vec![];
    let mut plan = vec![];
    for i in mine {
        let back = crate::images::lookup(cloud.as_ref(), &i.region, &i.image_id)
            .await?
            .filter(|img| img.state != ImageState::Deregistered);
        let in_bin = back.is_none();
        if in_bin && !kept.contains_key(&i.image_id) {
            return Err(refuse_gone(format!(
                "{name}@{version} cannot be restored: its image {} in {} is not in the Recycle Bin (no retention rule kept it when it was deleted, or its retention period has ended); nothing was changed",
                i.image_id, i.region
            )));
        }
        let mut binned = vec![];
        if in_bin {
            let missing = missing_snapshots(cloud.as_ref(), &i.region, &i.snapshot_ids).await?;
            let in_recycle: BTreeSet<String> = if missing.is_empty() {
                BTreeSet::new()
            } else {
                retry(|| cloud.snapshots_in_recycle_bin(&i.region, &missing))
                    .await?
                    .into_iter()
                    .map(|s| s.snapshot_id)
                    .collect()
            };
            if let Some(gone) = missing.iter().find(|s| !in_recycle.contains(*s)) {
                return Err(refuse_gone(format!(
                    "{name}@{version} cannot be restored: snapshot {gone} of its image {} in {} was deleted for good (no snapshot retention rule kept it, or its retention period has ended), and EC2 restores an image only with its snapshots; nothing was changed",
                    i.image_id, i.region
                )));
            }
            binned = missing;
        }
        plan.push(RestoreImagePlan {
            region: i.region.clone(),
            image_id: i.image_id.clone(),
            already_restored: !in_bin,
            until: kept.get(&i.image_id).cloned().flatten(),
            snapshots: binned.clone(),
        });
        images.push(BinnedImage {
            region: i.region.clone(),
            image_id: i.image_id.clone(),
            snapshot_ids: i.snapshot_ids.clone(),
            binned_snapshots: binned,
            in_bin,
        });
    }
    let file_name = prism_templates::saved_file_name(&name, &version);
    let (file, file_text) = match record.file_texts.iter().find(|(p, _)| {
        std::path::Path::new(p.as_str())
            .file_name()
            .is_some_and(|f| f.to_string_lossy() == file_name)
    }) {
        Some((p, t)) => (p.clone(), Some(t.clone())),
        None => (
            env.template_dir.join(&file_name).display().to_string(),
            None,
        ),
    };
    let mut warnings =
        vec!["EC2 gives the images back the sharing they had when they were deleted".to_string()];
    if file_text.is_none() {
        warnings.push(format!(
            "the deletion did not record the template file; it is rebuilt from the images' prism:* tags (instance defaults and other fields the file had are not restored): {file}"
        ));
    }
    let plan = TemplateRestorePlan {
        template: name.clone(),
        version: version.clone(),
        images: plan,
        file: file.clone(),
        warnings,
    };
    let input = RestoreInput {
        template: name.clone(),
        version: version.clone(),
        profile: req.aws.profile.clone(),
        images,
        file,
        file_text,
        deletion: deletion.clone(),
    };
    let op = NewOperation {
        id: uuid::Uuid::new_v4().to_string(),
        kind: KIND.into(),
        target: format!("{name}@{version}"),
        lock_keys: vec![locks::template(&name)],
        input: serde_json::to_value(&input).map_err(|e| OpsError::Internal(e.to_string()))?,
    };
    Ok((plan, op))
}

/// Those of `ids` that do not exist (as the caller's snapshots) in `region`.
async fn missing_snapshots(
    cloud: &dyn Cloud,
    region: &str,
    ids: &[String],
) -> Result<Vec<String>, prism_cloud::CloudError> {
    let mut missing = vec![];
    for id in ids {
        let q = SnapshotQuery {
            ids: vec![id.clone()],
            ..Default::default()
        };
        if retry(|| cloud.describe_snapshots(region, &q))
            .await?
            .is_empty()
        {
            missing.push(id.clone());
        }
    }
    Ok(missing)
}

/// Restores the binned snapshots, then waits (bounded) until each is `completed`: EC2
/// restores the image only then.
struct RestoreSnapshots;

#[async_trait]
impl TypedStep for RestoreSnapshots {
    type Out = RestoreSnapshotsOut;
    async fn run(&self, cx: &StepCx) -> Result<RestoreSnapshotsOut, StepError> {
        let i: RestoreInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        for img in &i.images {
            for sid in &img.binned_snapshots {
                if missing_snapshots(cloud.as_ref(), &img.region, std::slice::from_ref(sid))
                    .await?
                    .is_empty()
                {
                    continue; // back already (an earlier run, or by hand)
                }
                match retry(|| cloud.restore_snapshot_from_recycle_bin(&img.region, sid)).await {
                    Ok(()) => {}
                    // A lost answer retried: the first call restored it.
                    Err(e)
                        if e.is_not_found()
                            && missing_snapshots(
                                cloud.as_ref(),
                                &img.region,
                                std::slice::from_ref(sid),
                            )
                            .await?
                            .is_empty() => {}
                    Err(e) if e.is_not_found() => {
                        return Err(StepError::Terminal(format!(
                            "snapshot {sid} in {} has left the Recycle Bin (its retention period ended), so image {} cannot be restored: {e}",
                            img.region, img.image_id
                        )))
                    }
                    Err(e) => return Err(e.into()),
                }
                cx.acted();
            }
        }
        // "ensure that they are in the available state" (Considerations for AMIs); EC2 does
        // not say how long a restored snapshot takes: bounded by the snapshot wait (10 min).
        let wait = cx.env.config.snapshot_wait;
        poll_until(cx, "the restored snapshots", &wait, || {
            let (cloud, i) = (cloud.clone(), &i);
            async move {
                for img in &i.images {
                    if img.binned_snapshots.is_empty() {
                        continue;
                    }
                    let q = SnapshotQuery {
                        ids: img.binned_snapshots.clone(),
                        ..Default::default()
                    };
                    let found = retry(|| cloud.describe_snapshots(&img.region, &q)).await?;
                    let done = found
                        .iter()
                        .filter(|s| s.state == SnapshotState::Completed)
                        .count();
                    if done < img.binned_snapshots.len() {
                        return Ok(Poll::Pending(Some(format!(
                            "{done} of {} in {} completed",
                            img.binned_snapshots.len(),
                            img.region
                        ))));
                    }
                }
                Ok(Poll::Ready(()))
            }
        })
        .await?;
        Ok(RestoreSnapshotsOut {
            restored: i
                .images
                .iter()
                .map(|m| m.binned_snapshots.len() as u64)
                .sum(),
        })
    }

    /// Deletes the snapshots this operation restored (after the images' undo deregistered
    /// them again): EC2 keeps them in the bin again under the rule that kept them.
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        let i: RestoreInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        for img in &i.images {
            for sid in &img.binned_snapshots {
                // Waits out InvalidSnapshot.InUse right after the image's deregistration; one
                // never restored (still in the bin) is not the caller's to delete: done.
                match crate::images::delete_snapshot(cloud.as_ref(), &img.region, sid).await {
                    Ok(()) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }
}

/// Restores each binned image; already back is done.
struct RestoreImages;

#[async_trait]
impl TypedStep for RestoreImages {
    type Out = RestoreImagesOut;
    async fn run(&self, cx: &StepCx) -> Result<RestoreImagesOut, StepError> {
        let i: RestoreInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        for img in i.images.iter().filter(|m| m.in_bin) {
            let back = |cloud: std::sync::Arc<dyn Cloud>| async move {
                Ok::<_, StepError>(
                    crate::images::get(cloud.as_ref(), &img.region, &img.image_id)
                        .await?
                        .is_some_and(|m| m.state != ImageState::Deregistered),
                )
            };
            let status = if back(cloud.clone()).await? {
                "already restored"
            } else {
                match retry(|| cloud.restore_image_from_recycle_bin(&img.region, &img.image_id))
                    .await
                {
                    Ok(()) => {}
                    // A lost answer retried: the first call restored it.
                    Err(e) if e.is_not_found() && back(cloud.clone()).await? => {}
                    Err(e) if e.is_not_found() => {
                        return Err(StepError::Terminal(format!(
                        "image {} in {} has left the Recycle Bin (its retention period ended): {e}",
                        img.image_id, img.region
                    )))
                    }
                    Err(e) => return Err(e.into()),
                }
                cx.acted();
                "restored"
            };
            let _ = cx
                .record(
                    &img.region,
                    &RestoredImage {
                        image_id: img.image_id.clone(),
                        status: status.into(),
                    },
                )
                .await;
        }
        Ok(RestoreImagesOut {
            restored: i.images.iter().filter(|m| m.in_bin).count() as u64,
        })
    }

    /// Deregisters the images this operation restored (their snapshots stay for the
    /// snapshots' undo); EC2 keeps them in the bin again under the rule that kept them.
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        let i: RestoreInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        for img in i.images.iter().filter(|m| m.in_bin) {
            match retry(|| cloud.deregister_image(&img.region, &img.image_id, false)).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// The tags Prism finds a saved version by (`discover`, `template delete`'s leftovers).
fn finding_tags(template: &str, version: &str) -> Tags {
    Tags::from([
        (tags::MANAGED.to_string(), "true".to_string()),
        (tags::SAVED_TEMPLATE.to_string(), template.to_string()),
        (tags::SAVED_VERSION.to_string(), version.to_string()),
    ])
}

/// Puts Prism's finding tags back on images (and their snapshots) that lack them: EC2 keeps
/// tags in the bin, but they may have been changed there.
struct TagImages;

#[async_trait]
impl TypedStep for TagImages {
    type Out = TagImagesOut;
    async fn run(&self, cx: &StepCx) -> Result<TagImagesOut, StepError> {
        let i: RestoreInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let want = finding_tags(&i.template, &i.version);
        let mut retagged = vec![];
        for img in &i.images {
            // A restored image may take EC2 a moment to list ("Eventual consistency in the
            // Amazon EC2 API"): looked for again, bounded.
            let found = crate::poll::settle(|| {
                let cloud = cloud.clone();
                async move {
                    Ok(
                        crate::images::get(cloud.as_ref(), &img.region, &img.image_id)
                            .await?
                            .filter(|m| m.state != ImageState::Deregistered),
                    )
                }
            })
            .await?;
            let Some(found) = found else {
                return Err(StepError::Terminal(format!(
                    "image {} in {} is not there after its restore",
                    img.image_id, img.region
                )));
            };
            if want.iter().all(|(k, v)| found.tags.get(k) == Some(v)) {
                continue;
            }
            let mut ids = vec![img.image_id.clone()];
            ids.extend(img.snapshot_ids.iter().cloned());
            retry(|| cloud.create_tags(&img.region, &ids, &want)).await?;
            cx.acted();
            retagged.push(img.image_id.clone());
        }
        Ok(TagImagesOut { retagged })
    }
}

/// Writes the template file back (the deletion's text, or one rebuilt from the tags) and the
/// store's row of the version.
struct WriteFile;

#[async_trait]
impl TypedStep for WriteFile {
    type Out = WriteFileOut;
    async fn run(&self, cx: &StepCx) -> Result<WriteFileOut, StepError> {
        let i: RestoreInput = cx.input()?;
        let text = match &i.file_text {
            Some(t) => t.clone(),
            None => rebuilt(cx, &i).await?,
        };
        let path = std::path::PathBuf::from(&i.file);
        let dir = path
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| cx.env.template_dir.clone());
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_else(|| prism_templates::saved_file_name(&i.template, &i.version));
        let written = tokio::task::spawn_blocking(move || {
            prism_templates::write_atomically(&dir, &file, &text)
        })
        .await
        .map_err(|e| StepError::Internal(e.to_string()))?
        .map_err(|e| StepError::Internal(e.to_string()))?;
        if let Ok(v) = i.version.parse::<u32>() {
            if let Some(mut row) = cx
                .env
                .store
                .template_versions(&i.template)
                .await?
                .into_iter()
                .find(|r| r.version == v)
            {
                row.path = Some(written.display().to_string());
                cx.env.store.upsert_template_version(row).await?;
            }
        }
        Ok(WriteFileOut {
            path: written.display().to_string(),
        })
    }

    /// Removes the file (the version did not exist before this operation).
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        let i: RestoreInput = cx.input()?;
        match tokio::fs::remove_file(&i.file).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StepError::Internal(format!(
                "cannot remove {}: {e}",
                i.file
            ))),
        }
    }
}

/// The version's template from its images' `prism:*` tags (a deletion journaled before files
/// were recorded): what discovery writes for the owner's images.
async fn rebuilt(cx: &StepCx, i: &RestoreInput) -> Result<String, StepError> {
    let cloud = cx.cloud(i.profile.as_deref()).await?;
    let mut t = None;
    for img in &i.images {
        let Some(found) = crate::images::get(cloud.as_ref(), &img.region, &img.image_id).await?
        else {
            continue;
        };
        let t = t.get_or_insert_with(|| {
            crate::discover::from_tags(&found).unwrap_or_else(|| prism_templates::Template {
                name: i.template.clone(),
                version: Some(i.version.clone()),
                base: Some("ami-based".into()),
                package_manager: Some("ami".into()),
                source: Some("saved-from-instance".into()),
                ..Default::default()
            })
        });
        t.ami_config
            .amis
            .entry(found.region.clone())
            .or_default()
            .insert(found.architecture.clone(), found.id.clone());
    }
    let t = t.ok_or_else(|| {
        StepError::Terminal("no image of the version is there to rebuild its file from".into())
    })?;
    t.to_yaml().map_err(|e| StepError::Internal(e.to_string()))
}
