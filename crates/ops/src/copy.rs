//! Region copies: one region's copy of a saved image (used by save's fan-out and by
//! `prism template copy`), and the copy operation that adds or retries a region later.

use crate::backoff::retry;
use crate::context::{Env, StepCx};
use crate::error::{OpsError, StepError};
use crate::images;
use crate::max_wait;
use crate::saga::{Saga, Step};
use crate::save::{register_amis, RegisterTarget};
use async_trait::async_trait;
use prism_api::RegionOutcome;
use prism_cloud::{tags, Cloud, CopyImageRequest, Tags};
use prism_store::NewOperation;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;

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
        let _ =
            images::delete_with_snapshots(cx, cloud, dest, &id, &cx.env.config.snapshot_wait).await;
        return Err((None, e));
    }
    let mut t = spec.tags.clone();
    t.insert(tags::SOURCE_REGION.into(), spec.source_region.clone());
    t.insert(tags::SOURCE_IMAGE.into(), spec.source_image.clone());
    images::tag_with_snapshots(cloud, dest, &id, &t)
        .await
        .map_err(|e| (Some(id.clone()), e))?;
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
    let req = CopyImageRequest {
        source_region: spec.source_region.clone(),
        source_image_id: spec.source_image.clone(),
        name: spec.image_name.clone(),
        description: spec.description.clone(),
        client_token: format!("{}-{dest}", &cx.op_id),
    };
    let mut attempts = 0;
    loop {
        attempts += 1;
        match cloud.copy_image(dest, &req).await {
            Ok(id) => {
                cx.acted();
                // Tag at once so the copy is accounted for even if we crash now.
                let t = Tags::from([
                    (tags::OPERATION.to_string(), cx.op_id.clone()),
                    (tags::MANAGED.to_string(), "true".to_string()),
                ]);
                retry(|| cloud.create_tags(dest, std::slice::from_ref(&id), &t)).await?;
                return Ok(id);
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

/// Input of `prism template copy`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CopyInput {
    /// Template name.
    pub template: String,
    /// Version.
    pub version: String,
    /// Destination.
    pub dest_region: String,
    /// Profile.
    pub profile: Option<String>,
    /// What to copy.
    pub spec: CopySpec,
    /// Architecture of the image.
    pub arch: String,
}

/// Checks a copy request against the catalogue and EC2.
pub async fn prepare(
    env: &Env,
    catalogue: &prism_templates::Catalogue,
    req: &prism_api::CopyRequest,
) -> Result<NewOperation, OpsError> {
    max_wait::check(req.max_wait_seconds)?;
    let (t, version) = crate::saved::saved_version(catalogue, &req.template, "copy")?;
    let cloud = env.clouds.cloud(req.aws.profile.as_deref()).await?;
    crate::regions::check(cloud.as_ref(), &req.to_region).await?;
    if t.ami_config.amis.contains_key(&req.to_region) {
        return Err(OpsError::invalid(
            format!(
                "{}@{version} already has an image in {}",
                t.id(),
                req.to_region
            ),
            None,
        ));
    }
    let (source_region, arch, source_image) = t
        .ami_config
        .amis
        .iter()
        .flat_map(|(r, m)| {
            m.iter()
                .map(move |(a, id)| (r.clone(), a.clone(), id.clone()))
        })
        .next()
        .ok_or_else(|| OpsError::invalid(format!("template '{}' lists no image", t.id()), None))?;
    let img = images::get(cloud.as_ref(), &source_region, &source_image)
        .await
        .map_err(|e| OpsError::Internal(e.to_string()))?
        .ok_or_else(|| {
            OpsError::not_found(
                format!(
                    "image {source_image} of {}@{version} no longer exists in {source_region}",
                    t.id()
                ),
                None,
            )
        })?;
    let mut tags_ = img.tags.clone();
    tags_.retain(|k, _| k.starts_with("prism:") && k != tags::OPERATION);
    let input = CopyInput {
        template: t.id().to_string(),
        version: version.clone(),
        dest_region: req.to_region.clone(),
        profile: req.aws.profile.clone(),
        spec: CopySpec {
            source_region,
            source_image,
            image_name: img.name.clone(),
            description: img.description.clone().unwrap_or_default(),
            tags: tags_,
            max_wait_seconds: req.max_wait_seconds,
        },
        arch,
    };
    Ok(NewOperation {
        id: uuid::Uuid::new_v4().to_string(),
        kind: KIND.into(),
        target: format!("{}@{version}", t.id()),
        lock_keys: vec![format!("template:{}", t.id())],
        input: serde_json::to_value(&input).map_err(|e| OpsError::Internal(e.to_string()))?,
    })
}

/// Operation kind.
pub const KIND: &str = "copy.v1";

struct CopyStep;

#[async_trait]
impl Step for CopyStep {
    fn name(&self) -> &'static str {
        "copy"
    }
    fn label(&self) -> &'static str {
        "copying the image"
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        let i: CopyInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let out = copy_to_region(cx, cloud.as_ref(), &i.spec, &i.dest_region).await;
        if let Some(e) = &out.error {
            return Err(StepError::Terminal(format!(
                "copy to {} failed: {e}",
                i.dest_region
            )));
        }
        Ok(serde_json::to_value(&out).map_err(|e| StepError::Internal(e.to_string()))?)
    }
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        let i: CopyInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        if let Some(img) =
            images::find_by_name(cloud.as_ref(), &i.dest_region, &i.spec.image_name).await?
        {
            images::delete_with_snapshots(
                cx,
                cloud.as_ref(),
                &i.dest_region,
                &img.id,
                &cx.env.config.snapshot_wait,
            )
            .await?;
        }
        Ok(())
    }
}

struct Register;

#[async_trait]
impl Step for Register {
    fn name(&self) -> &'static str {
        "register"
    }
    fn label(&self) -> &'static str {
        "adding the region to the template"
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        let i: CopyInput = cx.input()?;
        let out: RegionOutcome = cx.require("copy")?;
        let path = register_amis(
            &cx.env,
            &RegisterTarget {
                template: i.template.clone(),
                version: i.version.clone(),
            },
            &[(
                i.dest_region.clone(),
                i.arch.clone(),
                out.image_id.clone().unwrap_or_default(),
            )],
        )
        .await?;
        Ok(json!({ "path": path }))
    }
}

/// The copy saga.
pub fn saga() -> Saga {
    Saga {
        kind: KIND,
        steps: vec![Arc::new(CopyStep), Arc::new(Register)],
        finish: |cx| {
            let i: CopyInput = cx.input()?;
            let out: RegionOutcome = cx.require("copy")?;
            Ok(json!({ "template": i.template, "version": i.version, "region": out }))
        },
    }
}
