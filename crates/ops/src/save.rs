//! Save: capture a workstation as a new version of a template — the reason Prism exists.
//!
//! Steps (stop mode): stop → wait stopped → create image → wait for its snapshots → start the
//! workstation again (downtime ends here, before any wait for `available`) → wait running →
//! wait available → tag image and snapshots → copy to regions in parallel → write the
//! template file → share. A failure before the image is available unwinds: the image and its
//! snapshots are deleted and the workstation is left as it was. A failed region copy or share
//! is reported and kept out of the template; the saved version stands.

use crate::backoff::{poll_until, retry, Poll};
use crate::clock;
use crate::context::{Env, StepCx};
use crate::copy::{copy_to_region, CopySpec};
use crate::error::{OpsError, StepError};
use crate::images;
use crate::launch::wait_instance_state;
use crate::lifecycle::find_workstation;
use crate::max_wait;
use crate::saga::{Saga, Step};
use async_trait::async_trait;
use prism_api::{CaptureMode, RegionOutcome, SavePlan, SaveRequest, SaveResult};
use prism_cloud::{tags, CreateImageRequest, InstanceState, Share, Tags};
use prism_store::{NewOperation, TemplateVersionRow};
use prism_templates::{Catalogue, Template};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Operation kind.
pub const KIND: &str = "save.v1";

/// Everything the save saga needs, resolved before it starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SaveInput {
    /// Workstation name.
    pub workstation: String,
    /// Its instance.
    pub instance_id: String,
    /// Its region.
    pub region: String,
    /// Profile.
    pub profile: Option<String>,
    /// Template name.
    pub template: String,
    /// Version being created.
    pub version: u32,
    /// Description.
    pub description: Option<String>,
    /// Copy regions.
    pub copy_to_regions: Vec<String>,
    /// Project.
    pub project: Option<String>,
    /// Make public.
    pub public: bool,
    /// Capture mode.
    pub mode: CaptureMode,
    /// Extra tags.
    pub extra_tags: BTreeMap<String, String>,
    /// State when the save was asked (`running` or `stopped`): the state it ends in.
    pub original_state: String,
    /// Template the workstation was launched from.
    pub original_template: Option<String>,
    /// Its version.
    pub original_template_version: Option<String>,
    /// Architecture.
    pub arch: String,
    /// Instance type.
    pub instance_type: String,
    /// EBS GiB.
    pub volume_gb: i64,
    /// AMI name (operation-unique, so a retried CreateImage finds the first one).
    pub image_name: String,
    /// Caller ARN.
    pub saved_by: String,
    /// When the save was asked.
    pub saved_at: String,
    /// The original template, resolved (its defaults carry over), when it still exists.
    pub base_template: Option<Value>,
    /// Requested bound on each wait for availability (image, copies); `None`: the defaults.
    #[serde(default)]
    pub max_wait_seconds: Option<u64>,
}

impl SaveInput {
    fn stops(&self) -> bool {
        self.mode == CaptureMode::Stop && self.original_state == "running"
    }

    /// The full `prism:*` tag set of the saved image and its snapshots.
    pub fn image_tags(&self, op_id: &str) -> Tags {
        let mut t: Tags = self
            .extra_tags
            .iter()
            .map(|(k, v)| (k.clone(), tags::clamp_value(v)))
            .collect();
        let mut put = |k: &str, v: &str| {
            t.insert(k.to_string(), tags::clamp_value(v));
        };
        put("Name", &format!("{} v{}", self.template, self.version));
        put(tags::MANAGED, "true");
        put(tags::SCHEMA, tags::SCHEMA_VERSION);
        put(tags::OPERATION, op_id);
        put(tags::SAVED_TEMPLATE, &self.template);
        put(tags::SAVED_VERSION, &self.version.to_string());
        put(tags::SAVED_FROM, &self.workstation);
        put(tags::SAVED_FROM_INSTANCE, &self.instance_id);
        put(tags::SAVED_BY, &self.saved_by);
        put(tags::SAVED_AT, &self.saved_at);
        put(tags::CAPTURE_MODE, self.mode.as_str());
        if let Some(v) = &self.original_template {
            put(tags::ORIGINAL_TEMPLATE, v);
        }
        if let Some(v) = &self.original_template_version {
            put(tags::ORIGINAL_TEMPLATE_VERSION, v);
        }
        if let Some(v) = &self.project {
            put(tags::PROJECT, v);
        }
        if let Some(v) = &self.description {
            put(tags::DESCRIPTION, v);
        }
        t
    }
}

/// Checks a save request; returns the plan and the operation to submit. Nothing changes.
pub async fn prepare(
    env: &Env,
    catalogue: &Catalogue,
    req: &SaveRequest,
    region: &str,
) -> Result<(SavePlan, NewOperation), OpsError> {
    prism_templates::validate_template_name(&req.template).map_err(|e| {
        OpsError::invalid(
            format!("invalid template name {:?}: {e}", req.template),
            Some(
                "use 3-100 letters, digits, '.', '_' or '-', starting with a letter or digit"
                    .to_string(),
            ),
        )
    })?;
    if let Some(d) = &req.description {
        if d.chars().count() > 1000 || d.chars().any(|c| c.is_control() && c != '\n') {
            return Err(OpsError::invalid(
                "the description must be at most 1000 characters without control characters",
                None,
            ));
        }
    }
    crate::naming::validate_tags(&req.tags)?;
    max_wait::check(req.max_wait_seconds)?;
    if let Some(p) = &req.project {
        crate::naming::validate_project(p)?;
    }
    if !crate::naming::region_shape_ok(region) {
        return Err(crate::regions::not_a_region(region));
    }
    if let Ok(existing) = catalogue.get(&req.template) {
        if !existing.raw.is_saved() {
            return Err(OpsError::invalid(
                format!(
                    "'{}' is the name of a {} template, not a saved one",
                    req.template,
                    if matches!(existing.origin, prism_templates::Origin::Builtin) {
                        "built-in"
                    } else {
                        "user-written"
                    }
                ),
                Some("choose another template name".to_string()),
            ));
        }
    }
    crate::runner::ensure_free(
        env,
        &format!("workstation:{}", req.workstation),
        &format!("workstation '{}'", req.workstation),
    )
    .await?;
    crate::runner::ensure_free(
        env,
        &format!("template:{}", req.template),
        &format!("template '{}'", req.template),
    )
    .await?;
    let cloud = env.clouds.cloud(req.aws.profile.as_deref()).await?;
    let mut copy_regions: Vec<String> = Vec::new();
    for r in &req.copy_to_regions {
        let r = r.trim().to_string();
        if r.is_empty() || copy_regions.contains(&r) {
            continue;
        }
        copy_regions.push(r);
    }
    // One DescribeRegions for all copy regions.
    crate::regions::check_all(cloud.as_ref(), &copy_regions).await?;
    let found = find_workstation(env, cloud.as_ref(), &req.workstation, region).await?;
    let inst = found.instance;
    copy_regions.retain(|r| *r != found.region);
    let state = inst.state;
    if !matches!(state, InstanceState::Running | InstanceState::Stopped) {
        return Err(OpsError::invalid(
            format!(
                "workstation '{}' is {state}; only a running or stopped workstation can be saved",
                req.workstation
            ),
            Some("wait until it is running or stopped (prism list), then save again".to_string()),
        ));
    }
    let from_catalogue = catalogue
        .versions(&req.template)
        .iter()
        .filter_map(|e| e.raw.version.as_deref()?.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    let version = env
        .store
        .max_template_version(&req.template)
        .await?
        .max(from_catalogue)
        + 1;
    let identity = retry(|| cloud.caller_identity(&found.region)).await?;
    let original_template = inst.tags.get(tags::TEMPLATE).cloned();
    let base_template = original_template
        .as_deref()
        .and_then(|t| catalogue.get(t).ok())
        .and_then(|e| serde_json::to_value(&e.template).ok());
    let op_id = uuid::Uuid::new_v4().to_string();
    let volume_gb: i64 = inst
        .volume_sizes_gb
        .iter()
        .map(|v| *v as i64)
        .sum::<i64>()
        .max(1);
    let input = SaveInput {
        workstation: req.workstation.clone(),
        instance_id: inst.id.clone(),
        region: found.region.clone(),
        profile: req.aws.profile.clone(),
        template: req.template.clone(),
        version,
        description: req.description.clone(),
        copy_to_regions: copy_regions.clone(),
        project: req
            .project
            .clone()
            .or_else(|| inst.tags.get(tags::PROJECT).cloned()),
        public: req.public,
        mode: req.mode,
        extra_tags: req.tags.clone(),
        original_state: state.as_str().to_string(),
        original_template,
        original_template_version: inst.tags.get(tags::TEMPLATE_VERSION).cloned(),
        arch: inst.architecture.clone(),
        instance_type: inst.instance_type.clone(),
        volume_gb,
        image_name: format!("prism-{}-v{version}-{}", req.template, &op_id[..8]),
        saved_by: identity.arn,
        saved_at: clock::now_rfc3339(),
        base_template,
        max_wait_seconds: req.max_wait_seconds,
    };
    let mut warnings = vec![];
    if req.mode == CaptureMode::Live {
        warnings.push("live mode does not stop the workstation: the image is crash-consistent (like pulling the plug); files being written may be incomplete".to_string());
    }
    if req.mode == CaptureMode::Reboot && state == InstanceState::Running {
        warnings.push(
            "reboot mode: EC2 reboots the workstation in place while it takes the image"
                .to_string(),
        );
    }
    let mut regions = vec![found.region.clone()];
    regions.extend(copy_regions.iter().cloned());
    if req.public {
        for r in &regions {
            warnings.extend(crate::share::public_sharing_allowed(cloud.as_ref(), r).await?);
        }
    }
    let plan = SavePlan {
        workstation: req.workstation.clone(),
        instance_id: inst.id.clone(),
        region: found.region.clone(),
        state: state.as_str().into(),
        template: req.template.clone(),
        version,
        mode: req.mode,
        will_stop: input.stops(),
        // EC2 typically stops a workstation in ~1 min and starts it in ~1 min.
        estimated_downtime_seconds: input.stops().then_some(120),
        regions: regions.clone(),
        volume_gb,
        estimated_monthly_cost_usd: monthly_cost(env, volume_gb, regions.len()),
        image_wait_seconds: max_wait::backoff(&env.config.image_wait, req.max_wait_seconds)
            .deadline
            .as_secs(),
        copy_wait_seconds: if copy_regions.is_empty() {
            0
        } else {
            max_wait::backoff(&env.config.copy_wait, req.max_wait_seconds)
                .deadline
                .as_secs()
        },
        warnings,
    };
    let op = NewOperation {
        id: op_id,
        kind: KIND.into(),
        target: req.workstation.clone(),
        lock_keys: vec![
            format!("workstation:{}", req.workstation),
            format!("template:{}", req.template),
        ],
        input: serde_json::to_value(&input).map_err(|e| OpsError::Internal(e.to_string()))?,
    };
    Ok((plan, op))
}

fn monthly_cost(env: &Env, volume_gb: i64, regions: usize) -> f64 {
    // Upper bound: EBS snapshots are incremental, but the first one of a volume is full-size.
    let c = volume_gb as f64 * regions as f64 * env.config.snapshot_usd_per_gb_month;
    (c * 100.0).round() / 100.0
}

fn out_str(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

macro_rules! step {
    ($ty:ident, $name:literal, $label:literal) => {
        struct $ty;
        impl $ty {
            const NAME: &'static str = $name;
            const LABEL: &'static str = $label;
        }
    };
}

step!(StopInstance, "stop_instance", "stopping the workstation");
step!(
    WaitStopped,
    "wait_stopped",
    "waiting for the workstation to stop"
);
step!(CreateImage, "create_image", "creating the image");
step!(
    WaitSnapshots,
    "wait_snapshots",
    "waiting for the image's snapshots to be initiated"
);
step!(
    StartInstance,
    "start_instance",
    "starting the workstation again"
);
step!(
    WaitRunning,
    "wait_running",
    "waiting for the workstation to run"
);
step!(
    WaitAvailable,
    "wait_available",
    "waiting for the image to be available"
);
step!(TagImage, "tag_image", "tagging the image and its snapshots");
step!(CopyRegions, "copy_regions", "copying to other regions");
step!(Register, "register", "writing the template");
step!(ShareImages, "share", "sharing");

#[async_trait]
impl Step for StopInstance {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn label(&self) -> &'static str {
        Self::LABEL
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        let i: SaveInput = cx.input()?;
        if !i.stops() {
            return Ok(json!({ "stopped": false }));
        }
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let at = clock::now_rfc3339();
        retry(|| cloud.stop_instance(&i.region, &i.instance_id)).await?;
        cx.acted();
        cx.env
            .store
            .set_workstation_state(&i.workstation, "stopping")
            .await?;
        Ok(json!({ "stopped": true, "stop_requested_at": at }))
    }
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        let i: SaveInput = cx.input()?;
        if !i.stops() {
            return Ok(());
        }
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        // A stopping instance cannot be started: wait until it settles, then start it.
        let settled = poll_until(
            cx,
            "the workstation to settle",
            &cx.env.config.instance_wait,
            || async {
                let f = prism_cloud::InstanceFilter {
                    ids: vec![i.instance_id.clone()],
                    ..Default::default()
                };
                let list = cloud.describe_instances(&i.region, &f).await?;
                match list.first().map(|x| x.state) {
                    Some(s @ (InstanceState::Stopped | InstanceState::Running)) => {
                        Ok(Poll::Ready(s))
                    }
                    Some(InstanceState::Pending) => Ok(Poll::Ready(InstanceState::Pending)),
                    Some(s @ (InstanceState::Terminated | InstanceState::ShuttingDown)) => {
                        Ok(Poll::Ready(s))
                    }
                    _ => Ok(Poll::Pending(None)),
                }
            },
        );
        let state = match settled.await {
            Err(StepError::Cancelled) => {
                // Undo must finish even when the cancel flag is set.
                InstanceState::Stopped
            }
            other => other?,
        };
        if matches!(
            state,
            InstanceState::Terminated | InstanceState::ShuttingDown
        ) {
            return Err(StepError::Terminal(format!(
                "workstation {} was terminated during the save",
                i.instance_id
            )));
        }
        if state == InstanceState::Stopped {
            retry(|| cloud.start_instance(&i.region, &i.instance_id)).await?;
        }
        cx.env
            .store
            .set_workstation_state(&i.workstation, "pending")
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Step for WaitStopped {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn label(&self) -> &'static str {
        Self::LABEL
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        let i: SaveInput = cx.input()?;
        if !i.stops() {
            return Ok(json!({}));
        }
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        wait_instance_state(
            cx,
            cloud.as_ref(),
            &i.region,
            &i.instance_id,
            InstanceState::Stopped,
        )
        .await?;
        cx.env
            .store
            .set_workstation_state(&i.workstation, "stopped")
            .await?;
        Ok(json!({ "stopped_at": clock::now_rfc3339() }))
    }
}

#[async_trait]
impl Step for CreateImage {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn label(&self) -> &'static str {
        Self::LABEL
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        let i: SaveInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        // CreateImage has no idempotency token: find our uniquely named image first.
        if let Some(img) = images::find_by_name(cloud.as_ref(), &i.region, &i.image_name).await? {
            return Ok(json!({ "image_id": img.id }));
        }
        let mut t = Tags::new();
        t.insert(tags::MANAGED.into(), "true".into());
        t.insert(tags::OPERATION.into(), cx.op_id.clone());
        t.insert(tags::SAVED_TEMPLATE.into(), i.template.clone());
        t.insert(tags::SAVED_VERSION.into(), i.version.to_string());
        let req = CreateImageRequest {
            instance_id: i.instance_id.clone(),
            name: i.image_name.clone(),
            description: tags::clamp_value(&format!(
                "Prism template {} v{}{}",
                i.template,
                i.version,
                i.description
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            )),
            no_reboot: i.mode != CaptureMode::Reboot,
            tags: t,
        };
        let mut attempts = 0;
        let id = loop {
            attempts += 1;
            match cloud.create_image(&i.region, &req).await {
                Ok(id) => break id,
                Err(e) if e.is_transient() && attempts < crate::backoff::CALL_ATTEMPTS => {
                    // The call may have acted before its answer was lost: look again.
                    if let Some(img) =
                        images::find_by_name(cloud.as_ref(), &i.region, &i.image_name).await?
                    {
                        break img.id;
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(1 << attempts)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        cx.acted();
        Ok(json!({ "image_id": id }))
    }
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        let i: SaveInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let mut ids: Vec<String> = vec![];
        if let Some(out) = cx.output::<Value>(Self::NAME)? {
            ids.push(out_str(&out, "image_id"));
        }
        if let Some(img) = images::find_by_name(cloud.as_ref(), &i.region, &i.image_name).await? {
            if !ids.contains(&img.id) {
                ids.push(img.id);
            }
        }
        for id in ids.iter().filter(|s| !s.is_empty()) {
            images::delete_with_snapshots(
                cx,
                cloud.as_ref(),
                &i.region,
                id,
                &cx.env.config.snapshot_wait,
            )
            .await?;
        }
        // Snapshots tagged by this operation whose image is already gone.
        let t = Tags::from([(tags::OPERATION.to_string(), cx.op_id.clone())]);
        for s in images::snapshots_tagged(cloud.as_ref(), &i.region, &t).await? {
            let _ = retry(|| cloud.delete_snapshot(&i.region, &s)).await;
        }
        Ok(())
    }
}

#[async_trait]
impl Step for WaitSnapshots {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn label(&self) -> &'static str {
        Self::LABEL
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        let i: SaveInput = cx.input()?;
        let image_id = out_str(&cx.require::<Value>("create_image")?, "image_id");
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let snaps = poll_until(
            cx,
            &format!("snapshots of {image_id}"),
            &cx.env.config.snapshot_wait,
            || async {
                match images::get(cloud.as_ref(), &i.region, &image_id).await? {
                    Some(img) if !img.snapshot_ids.is_empty() => Ok(Poll::Ready(img.snapshot_ids)),
                    Some(img) if img.state.is_terminal_failure() => {
                        Err(StepError::Terminal(format!(
                            "image {image_id} in {} is {}: {}",
                            i.region,
                            img.state.as_str(),
                            img.state_reason.unwrap_or_default()
                        )))
                    }
                    _ => Ok(Poll::Pending(Some("snapshots not initiated yet".into()))),
                }
            },
        )
        .await?;
        // Mark the snapshots as ours at once, so an unwind finds them even without the image.
        let t = Tags::from([
            (tags::OPERATION.to_string(), cx.op_id.clone()),
            (tags::MANAGED.to_string(), "true".to_string()),
        ]);
        retry(|| cloud.create_tags(&i.region, &snaps, &t)).await?;
        Ok(json!({ "snapshot_ids": snaps }))
    }
}

#[async_trait]
impl Step for StartInstance {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn label(&self) -> &'static str {
        Self::LABEL
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        let i: SaveInput = cx.input()?;
        if !i.stops() {
            return Ok(json!({ "started": false }));
        }
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        retry(|| cloud.start_instance(&i.region, &i.instance_id)).await?;
        cx.acted();
        cx.env
            .store
            .set_workstation_state(&i.workstation, "pending")
            .await?;
        Ok(json!({ "started": true }))
    }
}

#[async_trait]
impl Step for WaitRunning {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn label(&self) -> &'static str {
        Self::LABEL
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        let i: SaveInput = cx.input()?;
        if !i.stops() {
            return Ok(json!({ "downtime_seconds": 0.0 }));
        }
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        wait_instance_state(
            cx,
            cloud.as_ref(),
            &i.region,
            &i.instance_id,
            InstanceState::Running,
        )
        .await?;
        let running_at = clock::now_rfc3339();
        cx.env
            .store
            .set_workstation_state(&i.workstation, "running")
            .await?;
        let stop: Value = cx.require("stop_instance")?;
        let downtime = clock::seconds_between(&out_str(&stop, "stop_requested_at"), &running_at);
        Ok(json!({ "running_at": running_at, "downtime_seconds": downtime }))
    }
}

#[async_trait]
impl Step for WaitAvailable {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn label(&self) -> &'static str {
        Self::LABEL
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        let i: SaveInput = cx.input()?;
        let image_id = out_str(&cx.require::<Value>("create_image")?, "image_id");
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let img = images::wait_available(
            cx,
            cloud.as_ref(),
            &i.region,
            &image_id,
            &max_wait::backoff(&cx.env.config.image_wait, i.max_wait_seconds),
        )
        .await?;
        Ok(json!({ "available_at": clock::now_rfc3339(), "size_gb": img.size_gb }))
    }
}

#[async_trait]
impl Step for TagImage {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn label(&self) -> &'static str {
        Self::LABEL
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        let i: SaveInput = cx.input()?;
        let image_id = out_str(&cx.require::<Value>("create_image")?, "image_id");
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let snaps = images::tag_with_snapshots(
            cloud.as_ref(),
            &i.region,
            &image_id,
            &i.image_tags(&cx.op_id),
        )
        .await?;
        Ok(json!({ "snapshot_ids": snaps }))
    }
}

#[async_trait]
impl Step for CopyRegions {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn label(&self) -> &'static str {
        Self::LABEL
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        let i: SaveInput = cx.input()?;
        if i.copy_to_regions.is_empty() {
            return Ok(json!({ "regions": [] }));
        }
        let image_id = out_str(&cx.require::<Value>("create_image")?, "image_id");
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let spec = CopySpec {
            source_region: i.region.clone(),
            source_image: image_id,
            image_name: i.image_name.clone(),
            description: format!("Prism template {} v{}", i.template, i.version),
            tags: i.image_tags(&cx.op_id),
            max_wait_seconds: i.max_wait_seconds,
        };
        // All regions at once; each is journaled as it ends so `operation show` shows it.
        let outcomes = futures_util::future::join_all(i.copy_to_regions.iter().map(|r| {
            let (cloud, spec) = (cloud.clone(), spec.clone());
            async move {
                let out = copy_to_region(cx, cloud.as_ref(), &spec, r).await;
                // Best effort: the step's output holds every outcome anyway.
                let _ = cx.record(r, &out).await;
                out
            }
        }))
        .await;
        Ok(json!({ "regions": outcomes }))
    }
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        let i: SaveInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        for r in &i.copy_to_regions {
            if let Some(img) = images::find_by_name(cloud.as_ref(), r, &i.image_name).await? {
                images::delete_with_snapshots(
                    cx,
                    cloud.as_ref(),
                    r,
                    &img.id,
                    &cx.env.config.snapshot_wait,
                )
                .await?;
            }
        }
        Ok(())
    }
}

/// Which saved version to (re)write.
pub struct RegisterTarget {
    /// Template name.
    pub template: String,
    /// Version.
    pub version: String,
}

/// Adds `(region, arch, ami)` entries to a saved version's file and cache row; returns the path.
pub async fn register_amis(
    env: &Env,
    target: &RegisterTarget,
    amis: &[(String, String, String)],
) -> Result<String, StepError> {
    let file = prism_templates::saved_file_name(&target.template, &target.version);
    let path = env.template_dir.join(&file);
    let text = tokio::fs::read_to_string(&path)
        .await
        .map_err(|e| StepError::Internal(format!("cannot read {}: {e}", path.display())))?;
    let mut t = prism_templates::parse_template(&text, &path.display().to_string())
        .map_err(|e| StepError::Internal(e.to_string()))?
        .template;
    for (r, a, id) in amis {
        t.ami_config
            .amis
            .entry(r.clone())
            .or_default()
            .insert(a.clone(), id.clone());
    }
    let yaml = t
        .to_yaml()
        .map_err(|e| StepError::Internal(e.to_string()))?;
    let dir = env.template_dir.clone();
    let written =
        tokio::task::spawn_blocking(move || prism_templates::write_atomically(&dir, &file, &yaml))
            .await
            .map_err(|e| StepError::Internal(e.to_string()))?
            .map_err(|e| StepError::Internal(e.to_string()))?;
    if let Ok(v) = target.version.parse::<u32>() {
        if let Some(mut row) = env
            .store
            .template_versions(&target.template)
            .await?
            .into_iter()
            .find(|r| r.version == v)
        {
            row.amis = serde_json::to_value(&t.ami_config.amis).unwrap_or(Value::Null);
            env.store.upsert_template_version(row).await?;
        }
    }
    Ok(written.display().to_string())
}

/// The template a save writes: the original template's defaults, the new images, lineage.
pub fn saved_template(i: &SaveInput, amis: &[(String, String)]) -> Template {
    let mut t: Template = i
        .base_template
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    t.slug = None;
    t.name = i.template.clone();
    t.description = i.description.clone();
    t.base = Some("ami-based".into());
    t.package_manager = Some("ami".into());
    t.inherits.clear();
    t.version = Some(i.version.to_string());
    t.source = Some("saved-from-instance".into());
    t.saved_from = Some(i.workstation.clone());
    t.saved_from_instance = Some(i.instance_id.clone());
    t.original_template = i.original_template.clone();
    t.original_template_version = i.original_template_version.clone();
    t.saved_by = Some(i.saved_by.clone());
    t.saved_date = Some(i.saved_at.clone());
    t.capture_mode = Some(i.mode.as_str().into());
    t.project = i.project.clone();
    t.ami_config.amis.clear();
    t.ami_config.ami_mappings.clear();
    t.ami_config.ami_search = None;
    t.ami_config.user_data_script = None;
    for (r, id) in amis {
        t.ami_config
            .amis
            .entry(r.clone())
            .or_default()
            .insert(i.arch.clone(), id.clone());
    }
    t
}

#[async_trait]
impl Step for Register {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn label(&self) -> &'static str {
        Self::LABEL
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        let i: SaveInput = cx.input()?;
        let image_id = out_str(&cx.require::<Value>("create_image")?, "image_id");
        let copies: Vec<RegionOutcome> =
            serde_json::from_value(cx.require::<Value>("copy_regions")?["regions"].clone())
                .unwrap_or_default();
        let mut amis = vec![(i.region.clone(), image_id)];
        amis.extend(
            copies
                .iter()
                .filter(|c| c.error.is_none())
                .filter_map(|c| Some((c.region.clone(), c.image_id.clone()?))),
        );
        let mut t = saved_template(&i, &amis);
        let downtime = cx.require::<Value>("wait_running")?["downtime_seconds"]
            .as_f64()
            .unwrap_or(0.0);
        t.downtime_seconds = Some(downtime);
        let yaml = t
            .to_yaml()
            .map_err(|e| StepError::Internal(e.to_string()))?;
        let file = prism_templates::saved_file_name(&i.template, &i.version.to_string());
        let dir = cx.env.template_dir.clone();
        let path = tokio::task::spawn_blocking(move || {
            prism_templates::write_atomically(&dir, &file, &yaml)
        })
        .await
        .map_err(|e| StepError::Internal(e.to_string()))?
        .map_err(|e| StepError::Internal(e.to_string()))?;
        cx.env
            .store
            .upsert_template_version(TemplateVersionRow {
                name: i.template.clone(),
                version: i.version,
                description: i.description.clone(),
                source_region: i.region.clone(),
                amis: serde_json::to_value(&t.ami_config.amis).unwrap_or(Value::Null),
                saved_from: Some(i.workstation.clone()),
                downtime_seconds: Some(downtime),
                path: Some(path.display().to_string()),
                op_id: Some(cx.op_id.clone()),
            })
            .await?;
        Ok(json!({ "path": path.display().to_string() }))
    }
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        let i: SaveInput = cx.input()?;
        let path = cx.env.template_dir.join(prism_templates::saved_file_name(
            &i.template,
            &i.version.to_string(),
        ));
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StepError::Internal(format!(
                "cannot remove {}: {e}",
                path.display()
            ))),
        }
    }
}

#[async_trait]
impl Step for ShareImages {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn label(&self) -> &'static str {
        Self::LABEL
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        let i: SaveInput = cx.input()?;
        if !i.public {
            return Ok(json!({ "warnings": [] }));
        }
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let image_id = out_str(&cx.require::<Value>("create_image")?, "image_id");
        let copies: Vec<RegionOutcome> =
            serde_json::from_value(cx.require::<Value>("copy_regions")?["regions"].clone())
                .unwrap_or_default();
        let mut targets = vec![(i.region.clone(), image_id)];
        targets.extend(
            copies
                .into_iter()
                .filter(|c| c.error.is_none())
                .filter_map(|c| Some((c.region, c.image_id?))),
        );
        let share = Share {
            public: true,
            ..Default::default()
        };
        let mut warnings = vec![];
        for (r, id) in targets {
            if let Err(e) = retry(|| cloud.share_image(&r, &id, &share)).await {
                warnings.push(format!("could not make {id} in {r} public: {e}"));
            }
        }
        Ok(json!({ "warnings": warnings }))
    }
}

/// The save saga.
pub fn saga() -> Saga {
    Saga {
        kind: KIND,
        steps: vec![
            Arc::new(StopInstance),
            Arc::new(WaitStopped),
            Arc::new(CreateImage),
            Arc::new(WaitSnapshots),
            Arc::new(StartInstance),
            Arc::new(WaitRunning),
            Arc::new(WaitAvailable),
            Arc::new(TagImage),
            Arc::new(CopyRegions),
            Arc::new(Register),
            Arc::new(ShareImages),
        ],
        finish: finish_save,
    }
}

/// The seeds' ordering of the same steps — restart only after the image is available and
/// every copy is done. Never submitted; the schedule simulator runs it as the baseline.
pub fn seed_ordering_saga() -> Saga {
    Saga {
        kind: "save-seed-ordering",
        steps: vec![
            Arc::new(StopInstance),
            Arc::new(WaitStopped),
            Arc::new(CreateImage),
            Arc::new(WaitSnapshots),
            Arc::new(WaitAvailable),
            Arc::new(TagImage),
            Arc::new(CopyRegions),
            Arc::new(StartInstance),
            Arc::new(WaitRunning),
            Arc::new(Register),
            Arc::new(ShareImages),
        ],
        finish: finish_save,
    }
}

fn finish_save(cx: &StepCx) -> Result<Value, StepError> {
    let i: SaveInput = cx.input()?;
    let image_id = out_str(&cx.require::<Value>("create_image")?, "image_id");
    let copies: Vec<RegionOutcome> =
        serde_json::from_value(cx.require::<Value>("copy_regions")?["regions"].clone())
            .unwrap_or_default();
    let mut warnings: Vec<String> = copies
        .iter()
        .filter_map(|c| {
            c.error.as_ref().map(|e| {
                format!(
                    "copy to {} failed: {e} (retry: prism template copy {}@{} --to-region {})",
                    c.region, i.template, i.version, c.region
                )
            })
        })
        .collect();
    if let Some(w) = cx.output::<Value>("share")? {
        warnings.extend(
            w["warnings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(String::from)),
        );
    }
    let ok_regions = 1 + copies.iter().filter(|c| c.error.is_none()).count();
    let mut regions = vec![RegionOutcome {
        region: i.region.clone(),
        image_id: Some(image_id),
        status: "available".into(),
        error: None,
    }];
    regions.extend(copies);
    let path = out_str(&cx.require::<Value>("register")?, "path");
    let downtime = cx.require::<Value>("wait_running")?["downtime_seconds"]
        .as_f64()
        .unwrap_or(0.0);
    let result = SaveResult {
        template: i.template.clone(),
        version: i.version,
        path,
        source_region: i.region.clone(),
        regions,
        downtime_seconds: downtime,
        total_seconds: clock::seconds_between(&i.saved_at, &clock::now_rfc3339()),
        estimated_monthly_cost_usd: monthly_cost(&cx.env, i.volume_gb, ok_regions),
        warnings,
        launch_command: format!("prism launch {} NEW-NAME", i.template),
    };
    serde_json::to_value(result).map_err(|e| StepError::Internal(e.to_string()))
}
