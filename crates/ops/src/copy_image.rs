//! One region's copy of a saved image: made (or found) in the destination, waited for, tagged
//! with its snapshots. Used by save's fan-out and by the copy operation.

use crate::context::StepCx;
use crate::error::StepError;
use crate::images;
use crate::max_wait;
use prism_api::RegionOutcome;
use prism_cloud::{tags, Cloud, CopyImageRequest, Tags};
use serde::{Deserialize, Serialize};

/// Everything needed to make one region's copy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CopySpec {
    /// Source region.
    pub source_region: String,
    /// Source image.
    pub source_image: String,
    /// Name of the copy (same as the source: operation-unique).
    pub image_name: String,
    /// Description.
    pub description: String,
    /// Tags for the copy and its snapshots.
    pub tags: Tags,
    /// Requested bound on the wait for the copy; `None`: the default.
    #[serde(default)]
    pub max_wait_seconds: Option<u64>,
    /// KMS key per destination region for encrypted copies (`--kms-key REGION=KEY`).
    #[serde(default)]
    pub kms_keys: std::collections::BTreeMap<String, String>,
    /// `--copy-within`: a time-based copy completed within this many minutes; `None` (and in
    /// journals written before it existed): a standard copy.
    #[serde(default)]
    pub copy_within_minutes: Option<u32>,
}

/// Makes (or finds) the copy in `dest`, waits for it, tags it and its snapshots. Never fails:
/// a failure is reported in the outcome, and a failed copy is deregistered.
pub async fn copy_to_region(
    cx: &StepCx,
    cloud: &dyn Cloud,
    spec: &CopySpec,
    dest: &str,
) -> RegionOutcome {
    match copy_inner(cx, cloud, spec, dest).await {
        Ok(id) => RegionOutcome {
            region: dest.to_string(),
            image_id: Some(id),
            status: "available".into(),
            error: None,
        },
        Err((id, e)) => RegionOutcome {
            region: dest.to_string(),
            image_id: id,
            status: "failed".into(),
            error: Some(e.to_string()),
        },
    }
}

async fn copy_inner(
    cx: &StepCx,
    cloud: &dyn Cloud,
    spec: &CopySpec,
    dest: &str,
) -> Result<String, (Option<String>, StepError)> {
    let id = start_copy(cx, cloud, spec, dest)
        .await
        .map_err(|e| (None, e))?;
    let wait = max_wait::backoff(&cx.env.config.copy_wait, spec.max_wait_seconds);
    let waited = images::wait_available(cx, cloud, dest, &id, &wait).await;
    if let Err(e) = waited {
        // A copy that can never become available is removed, not left behind.
        let _ = images::delete_with_snapshots(cloud, dest, &id, &[], true).await;
        return Err((None, e));
    }
    let mut t = spec.tags.clone();
    t.insert(tags::SOURCE_REGION.into(), spec.source_region.clone());
    t.insert(tags::SOURCE_IMAGE.into(), spec.source_image.clone());
    images::tag_with_snapshots(cloud, dest, &id, &t)
        .await
        .map_err(|e| (Some(id.clone()), e))?;
    cx.acted_at("tag");
    Ok(id)
}

async fn start_copy(
    cx: &StepCx,
    cloud: &dyn Cloud,
    spec: &CopySpec,
    dest: &str,
) -> Result<String, StepError> {
    // Find before create: CopyImage has a client token on EC2 but not on every emulator.
    if let Some(img) = images::find_by_name(cloud, dest, &spec.image_name).await? {
        return Ok(img.id);
    }
    // The operation's tags go with CopyImage itself (TagSpecifications), so the copy is ours
    // even while DescribeImages does not show it yet; they are applied again below for
    // endpoints that ignore them (moto).
    let op_tags = Tags::from([
        (tags::OPERATION.to_string(), cx.op_id.clone()),
        (tags::MANAGED.to_string(), "true".to_string()),
    ]);
    let req = CopyImageRequest {
        source_region: spec.source_region.clone(),
        source_image_id: spec.source_image.clone(),
        name: spec.image_name.clone(),
        description: spec.description.clone(),
        // One token per run of the step: retries after a lost answer within this run are
        // idempotent (EC2 "Ensuring idempotency"), while a resumed run — whose earlier copy
        // may have failed and been removed — starts a new copy (the operation-unique name
        // still refuses a second live one).
        client_token: format!("{}-{dest}-{:08x}", &cx.op_id, rand_nonce()),
        tags: op_tags.clone(),
        kms_key_id: spec.kms_keys.get(dest).cloned(),
        completion_duration_minutes: spec.copy_within_minutes,
    };
    let mut attempts = 0;
    loop {
        attempts += 1;
        match cloud.copy_image(dest, &req).await {
            Ok(id) => {
                cx.acted();
                // Tag at once so the copy is accounted for even if we crash now.
                crate::backoff::retry_fresh(|| {
                    cloud.create_tags(dest, std::slice::from_ref(&id), &op_tags)
                })
                .await?;
                return Ok(id);
            }
            // "ResourceLimitExceeded": too many copies in flight into this region (EC2 "Copy an
            // AMI": a limit of concurrent copies per destination region); others finish within
            // minutes, so wait (bounded: ~15 min) rather than fail the region.
            Err(e)
                if e.has_code(prism_cloud::error::codes::RESOURCE_LIMIT_EXCEEDED)
                    && attempts < COPY_LIMIT_ATTEMPTS =>
            {
                cx.progress(&format!(
                    "copy to {dest}: EC2's limit of concurrent copies is reached; waiting"
                ))
                .await;
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            }
            Err(e) if e.is_transient() && attempts < crate::backoff::CALL_ATTEMPTS => {
                if let Some(img) = images::find_by_name(cloud, dest, &spec.image_name).await? {
                    return Ok(img.id);
                }
                tokio::time::sleep(std::time::Duration::from_secs(1 << attempts)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Tries of CopyImage while EC2 answers `ResourceLimitExceeded` (one a minute).
const COPY_LIMIT_ATTEMPTS: u32 = 15;

/// A fresh 32-bit value for a client token.
fn rand_nonce() -> u32 {
    uuid::Uuid::new_v4().as_fields().0
}
