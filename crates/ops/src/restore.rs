//! Restoring a workstation in place from a saved version (`prism restore WS T@N`): EC2's
//! replace-root-volume task replaces the instance's root volume with a new one restored from
//! the version's image in the workstation's region.
//!
//! EC2 semantics relied on ("Replace the root volume for an Amazon EC2 instance without
//! stopping it", EC2 User Guide, <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/replace-root.html>,
//! and `CreateReplaceRootVolumeTask` in the EC2 API Reference): the instance must be running;
//! the AMI must have the instance's key characteristics (architecture among them); the
//! instance keeps its id, its data (non-root) EBS volumes, its network interfaces with their
//! private and public addresses; it is restarted (memory is lost); with
//! `DeleteReplacedRootVolume=false` the original root volume stays, detached, until someone
//! deletes it. Prism tags it (`prism:replaced-root-of`, `prism:replaced-at`,
//! `prism:replaced-version`, `prism:restored-to`) so the restore can itself be undone by
//! hand, and `prism volume`-less users can find it with `aws ec2 describe-volumes`.
//!
//! A restore is forward-only once the task exists: EC2 cannot put the original root volume
//! back by itself. A failure or a cancel after that lets the task end, and when it replaced
//! the root, the undo of `create_task` tags the kept volume and records the new version, so
//! Prism's records say what EC2 did; the failure says what state the instance is in, and
//! running the restore again finishes the job. A task that ends `failed` changed nothing
//! (EC2 keeps the original attached).

use crate::backoff::retry;
use crate::context::{Env, StepCx};
use crate::error::{OpsError, StepError};
use crate::locks;
use crate::output::StepOutput;
use crate::poll::{poll_until, Poll};
use crate::saga::{step, Saga, TypedStep};
use async_trait::async_trait;
use prism_api::{RestorePlan, RestoreRequest};
use prism_cloud::{
    tags, Cloud, ImageQuery, InstanceState, ReplaceRootQuery, ReplaceRootRequest, ReplaceRootState,
    Tags, VolumeQuery,
};
use prism_store::NewOperation;
use prism_templates::Catalogue;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Operation kind of a restore.
pub const KIND: &str = "restore.v1";
/// Steps of [`saga`] that make a mutating AWS call and mark it with `cx.acted()` (a
/// `KIND:STEP:acted` crash point), and steps that journal sub-records (`cx.record`).
pub const ACTING_STEPS: &[&str] = &["create_task", "tag_old_root", "record_version"];
/// See [`ACTING_STEPS`].
pub const RECORDING_STEPS: &[&str] = &[];
/// Labelled crash points (none: each acting step makes one kind of call).
pub const ACTED_AT: &[(&str, &str)] = &[];

/// The saga: its steps in order (names are persisted: never rename one).
pub fn saga() -> Saga {
    Saga {
        kind: KIND,
        steps: vec![
            step(
                "check",
                "checking the workstation and its root volume",
                Check,
            ),
            step(
                "create_task",
                "asking EC2 to replace the root volume",
                CreateTask,
            ),
            step(
                "wait_task",
                "waiting for the root volume replacement (the workstation restarts)",
                WaitTask,
            ),
            step(
                "tag_old_root",
                "tagging the replaced root volume (kept)",
                TagOldRoot,
            ),
            step(
                "record_version",
                "recording the workstation's new template version",
                RecordVersion,
            ),
        ],
        finish: |cx| {
            let i: RestoreInput = cx.input()?;
            let c: CheckOut = cx.need()?;
            let w: WaitTaskOut = cx.need()?;
            Ok(json!({
                "workstation": i.workstation,
                "instance_id": i.instance_id,
                "region": i.region,
                "template": i.template,
                "version": i.version,
                "image_id": i.image_id,
                "task_id": w.task_id,
                "new_root_volume_id": w.new_root_volume_id,
                "old_root_volume_id": c.old_root_volume_id,
                "delete_old_root": format!(
                    "aws ec2 delete-volume --region {} --volume-id {}",
                    i.region, c.old_root_volume_id
                ),
            }))
        },
    }
}

/// What a restore needs; journaled as its input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RestoreInput {
    /// Workstation name.
    pub workstation: String,
    /// Its instance.
    pub instance_id: String,
    /// Its region.
    pub region: String,
    /// Profile.
    pub profile: Option<String>,
    /// Template restored from.
    pub template: String,
    /// Version restored from.
    pub version: String,
    /// The version's image in `region`.
    pub image_id: String,
    /// The version it ran from before (`T@N`), when Prism knew it.
    pub previous: Option<String>,
}

/// Output of `check`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckOut {
    /// The root volume being replaced (kept).
    pub old_root_volume_id: String,
    /// Its device name.
    pub root_device: String,
}

impl StepOutput for CheckOut {
    const STEP: &'static str = "check";
}

/// Output of `create_task`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateTaskOut {
    /// The replace-root-volume task.
    pub task_id: String,
}

impl StepOutput for CreateTaskOut {
    const STEP: &'static str = "create_task";
}

/// Output of `wait_task`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitTaskOut {
    /// The task.
    pub task_id: String,
    /// Its final state (`succeeded`).
    pub state: String,
    /// The new root volume, when EC2 lists it.
    pub new_root_volume_id: Option<String>,
}

impl StepOutput for WaitTaskOut {
    const STEP: &'static str = "wait_task";
}

/// Output of `tag_old_root`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagOldRootOut {
    /// The volume tagged.
    pub volume_id: String,
}

impl StepOutput for TagOldRootOut {
    const STEP: &'static str = "tag_old_root";
}

/// Output of `record_version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordVersionOut {
    /// What the workstation runs from now (`T@N`).
    pub now: String,
}

impl StepOutput for RecordVersionOut {
    const STEP: &'static str = "record_version";
}

fn invalid(message: String, hint: String) -> OpsError {
    OpsError::invalid(message, Some(hint))
}

/// The templates `name` descends from, itself first: each saved template names the template
/// its workstation was launched from (`original_template`, written by save). Bounded: a
/// lineage is never longer than the catalogue.
pub fn lineage(catalogue: &Catalogue, name: &str) -> Vec<String> {
    let mut out = vec![name.to_string()];
    let mut cur = name.to_string();
    for _ in 0..64 {
        let Some(next) = catalogue
            .get(&cur)
            .ok()
            .and_then(|e| e.raw.original_template.clone())
        else {
            break;
        };
        if out.contains(&next) {
            break;
        }
        out.push(next.clone());
        cur = next;
    }
    out
}

/// Whether `a` and `b` are in one lineage (equal, or one descends from the other).
fn same_lineage(catalogue: &Catalogue, a: &str, b: &str) -> bool {
    lineage(catalogue, a).iter().any(|t| t == b) || lineage(catalogue, b).iter().any(|t| t == a)
}

/// Checks a restore; returns its plan and the operation to submit. Nothing changes.
pub async fn prepare(
    env: &Env,
    catalogue: &Catalogue,
    req: &RestoreRequest,
    region: &str,
) -> Result<(RestorePlan, NewOperation), OpsError> {
    let name = req.workstation.as_str();
    let (t, version) = crate::saved::saved_version(catalogue, &req.template, "restore from")?;
    let template = t.id().to_string();
    locks::ensure_free(
        env,
        &locks::workstation(name),
        &format!("workstation '{name}'"),
    )
    .await?;
    locks::ensure_free(
        env,
        &locks::template(&template),
        &format!("template '{template}'"),
    )
    .await?;
    let profile = req.aws.profile.clone();
    let cloud = env.clouds.cloud(profile.as_deref()).await?;
    let found = crate::lifecycle::find_workstation(env, cloud.as_ref(), name, region).await?;
    let inst = found.instance;
    let region = found.region;
    let row = env.store.workstation(name).await?;
    let current_template = row
        .as_ref()
        .and_then(|w| w.template.clone())
        .or_else(|| inst.tags.get(tags::TEMPLATE).cloned());
    let current_version = row
        .as_ref()
        .and_then(|w| w.template_version.clone())
        .or_else(|| inst.tags.get(tags::TEMPLATE_VERSION).cloned());
    // `T@N`, or `T` alone when Prism never learnt the version (a workstation launched from a
    // built-in or user template has none).
    let current = current_template.as_ref().map(|t| match &current_version {
        Some(v) => format!("{t}@{v}"),
        None => t.clone(),
    });
    // Lineage: a restore goes back (or forward) along what the workstation was launched
    // from and saved as, never to an unrelated template.
    match &current_template {
        Some(ct) if same_lineage(catalogue, ct, &template) => {}
        Some(ct) => {
            return Err(invalid(
                format!(
                    "workstation '{name}' runs from template '{ct}', which is not in the lineage of '{template}' (neither descends from the other)"
                ),
                format!(
                    "restore it from a version of '{ct}' or of a template saved from it (see: prism template versions {ct}), or launch a new workstation: prism launch {template}@{version} NAME"
                ),
            ))
        }
        None => {
            return Err(invalid(
                format!("Prism does not know which template workstation '{name}' runs from"),
                format!("launch a new workstation instead: prism launch {template}@{version} NAME"),
            ))
        }
    }
    // "Replace a root volume": the instance must be running.
    if inst.state != InstanceState::Running {
        let hint = match inst.state {
            InstanceState::Stopped => format!("start it first: prism start {name}"),
            _ => "wait until it is running (see: prism list)".to_string(),
        };
        return Err(invalid(
            format!(
                "workstation '{name}' is {}; EC2 replaces the root volume of a running instance only",
                inst.state
            ),
            hint,
        ));
    }
    let by_arch = t.ami_config.amis.get(&region);
    let image_id = match by_arch.and_then(|m| m.get(&inst.architecture)) {
        Some(id) => id.clone(),
        None => {
            if let Some(m) = by_arch.filter(|m| !m.is_empty()) {
                let archs: Vec<&str> = m.keys().map(String::as_str).collect();
                return Err(invalid(
                    format!(
                        "{template}@{version} is for {} but workstation '{name}' is {}: EC2 only restores from an image of the instance's architecture",
                        archs.join(", "),
                        inst.architecture
                    ),
                    format!(
                        "choose a version saved from a {} workstation (see: prism template versions {template})",
                        inst.architecture
                    ),
                ));
            }
            return Err(invalid(
                format!("{template}@{version} has no image in {region}, where workstation '{name}' runs"),
                format!("copy it there first: prism template copy {template}@{version} --to-region {region}"),
            ));
        }
    };
    // EC2's word on the image: it exists, is available and has the instance's architecture.
    let iq = ImageQuery {
        ids: vec![image_id.clone()],
        ..Default::default()
    };
    let images = retry(|| cloud.describe_images(&region, &iq)).await?;
    let Some(image) = images.into_iter().next() else {
        return Err(OpsError::not_found(
            format!("image {image_id} of {template}@{version} is not in {region} any more"),
            Some(format!(
                "copy the version there again: prism template copy {template}@{version} --to-region {region}"
            )),
        ));
    };
    if image.architecture != inst.architecture {
        return Err(invalid(
            format!(
                "image {image_id} of {template}@{version} is {} but workstation '{name}' is {}: EC2 only restores from an image of the instance's architecture",
                image.architecture, inst.architecture
            ),
            format!("choose a version saved from a {} workstation", inst.architecture),
        ));
    }
    if image.state != prism_cloud::ImageState::Available {
        return Err(invalid(
            format!(
                "image {image_id} of {template}@{version} is {:?}, not available",
                image.state
            ),
            "wait until it is available (see: prism template versions)".to_string(),
        ));
    }
    let old_root = root_volume(cloud.as_ref(), &region, &inst).await?;
    let Some(old_root) = old_root else {
        return Err(invalid(
            format!("workstation '{name}' has no EBS root volume EC2 could replace"),
            "launch a new workstation instead".to_string(),
        ));
    };
    let plan = RestorePlan {
        workstation: name.to_string(),
        instance_id: inst.id.clone(),
        region: region.clone(),
        architecture: inst.architecture.clone(),
        current: current.clone(),
        template: template.clone(),
        version: version.clone(),
        image_id: image_id.clone(),
        old_root_volume_id: old_root.clone(),
        private_ip: inst.private_ip.clone(),
        public_ip: inst.public_ip.clone(),
        effects: vec![
            format!(
                "EC2 replaces the root volume {old_root} of {} with a new one restored from {image_id}",
                inst.id
            ),
            "the workstation restarts (unsaved work in memory is lost); its instance id, data volumes, private and public addresses stay".to_string(),
            format!(
                "the old root volume {old_root} is kept, detached, tagged {}={name}, {}, {}={}; it is billed until you delete it: aws ec2 delete-volume --region {region} --volume-id {old_root}",
                tags::REPLACED_ROOT_OF,
                tags::REPLACED_AT,
                tags::REPLACED_VERSION,
                current.as_deref().unwrap_or("unknown")
            ),
            format!("Prism records that '{name}' runs from {template}@{version}"),
        ],
        warnings: vec![
            "files written on the root volume since the version was saved are only on the old root volume".to_string(),
        ],
    };
    let input = RestoreInput {
        workstation: name.to_string(),
        instance_id: inst.id.clone(),
        region,
        profile,
        template: template.clone(),
        version,
        image_id,
        previous: current,
    };
    let op = NewOperation {
        id: uuid::Uuid::new_v4().to_string(),
        kind: KIND.into(),
        target: name.to_string(),
        lock_keys: vec![locks::workstation(name), locks::template(&template)],
        input: serde_json::to_value(&input).map_err(|e| OpsError::Internal(e.to_string()))?,
    };
    Ok((plan, op))
}

/// The instance's root volume (attached at its root device), when EC2 lists one.
async fn root_volume(
    cloud: &dyn Cloud,
    region: &str,
    inst: &prism_cloud::Instance,
) -> Result<Option<String>, prism_cloud::CloudError> {
    let q = VolumeQuery {
        ids: vec![],
        instance_id: Some(inst.id.clone()),
    };
    let vols = retry(|| cloud.describe_volumes(region, &q)).await?;
    let root = inst.root_device_name.as_deref();
    Ok(vols
        .into_iter()
        .find(|v| root.is_some() && v.device.as_deref() == root)
        .map(|v| v.id))
}

struct Check;

#[async_trait]
impl TypedStep for Check {
    type Out = CheckOut;
    async fn run(&self, cx: &StepCx) -> Result<CheckOut, StepError> {
        let i: RestoreInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let filter = prism_cloud::InstanceFilter {
            ids: vec![i.instance_id.clone()],
            ..Default::default()
        };
        let inst = retry(|| cloud.describe_instances(&i.region, &filter))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                StepError::Terminal(format!(
                    "instance {} is gone from {}",
                    i.instance_id, i.region
                ))
            })?;
        if inst.state != InstanceState::Running {
            return Err(StepError::Terminal(format!(
                "workstation '{}' is {} now; EC2 replaces the root volume of a running instance only; nothing was changed",
                i.workstation, inst.state
            )));
        }
        let root = root_volume(cloud.as_ref(), &i.region, &inst)
            .await?
            .ok_or_else(|| {
                StepError::Terminal(format!(
                    "instance {} has no EBS root volume; nothing was changed",
                    i.instance_id
                ))
            })?;
        Ok(CheckOut {
            old_root_volume_id: root,
            root_device: inst.root_device_name.unwrap_or_default(),
        })
    }
}

/// This operation's task, when EC2 lists one (tagged `prism:operation` at creation).
async fn find_task(
    cloud: &dyn Cloud,
    i: &RestoreInput,
    op_id: &str,
) -> Result<Option<prism_cloud::ReplaceRootTask>, prism_cloud::CloudError> {
    let q = ReplaceRootQuery {
        ids: vec![],
        instance_id: Some(i.instance_id.clone()),
    };
    Ok(
        retry(|| cloud.describe_replace_root_volume_tasks(&i.region, &q))
            .await?
            .into_iter()
            .find(|t| t.tags.get(tags::OPERATION).map(String::as_str) == Some(op_id)),
    )
}

/// Tags the replaced root volume so a person finds it (and can undo the restore with it).
async fn tag_old_root(
    cx: &StepCx,
    cloud: &dyn Cloud,
    i: &RestoreInput,
    volume_id: &str,
) -> Result<(), StepError> {
    let t = Tags::from([
        (tags::REPLACED_ROOT_OF.to_string(), i.workstation.clone()),
        (tags::REPLACED_AT.to_string(), crate::clock::now_rfc3339()),
        (
            tags::REPLACED_VERSION.to_string(),
            i.previous.clone().unwrap_or_else(|| "unknown".into()),
        ),
        (
            tags::RESTORED_TO.to_string(),
            format!("{}@{}", i.template, i.version),
        ),
        (tags::OPERATION.to_string(), cx.op_id.clone()),
        (
            "Name".to_string(),
            format!("{} root before restore", i.workstation),
        ),
    ]);
    let ids = vec![volume_id.to_string()];
    retry(|| cloud.create_tags(&i.region, &ids, &t)).await?;
    Ok(())
}

/// Records what the workstation runs from now: the instance's `prism:template*` tags first
/// (a refresh from EC2 reads the version from them), then the store's row.
async fn record_version(cx: &StepCx, cloud: &dyn Cloud, i: &RestoreInput) -> Result<(), StepError> {
    let t = Tags::from([
        (tags::TEMPLATE.to_string(), i.template.clone()),
        (tags::TEMPLATE_VERSION.to_string(), i.version.clone()),
    ]);
    let ids = vec![i.instance_id.clone()];
    retry(|| cloud.create_tags(&i.region, &ids, &t)).await?;
    if let Some(mut w) = cx.env.store.workstation(&i.workstation).await? {
        w.template = Some(i.template.clone());
        w.template_version = Some(i.version.clone());
        cx.env.store.upsert_workstation(w).await?;
    }
    Ok(())
}

/// How task `id` ends: polled until it is over, bounded by the instance wait (a volume
/// restore plus a restart). Not cancellable: an undo uses it and must finish.
async fn task_outcome(
    cx: &StepCx,
    cloud: &dyn Cloud,
    i: &RestoreInput,
    id: &str,
) -> Result<ReplaceRootState, StepError> {
    let b = &cx.env.config.instance_wait;
    let q = ReplaceRootQuery {
        ids: vec![id.to_string()],
        instance_id: None,
    };
    let start = tokio::time::Instant::now();
    let mut n = 0;
    loop {
        let tasks = retry(|| cloud.describe_replace_root_volume_tasks(&i.region, &q)).await?;
        if let Some(t) = tasks.into_iter().find(|t| t.state.is_final()) {
            return Ok(t.state);
        }
        if start.elapsed() >= b.deadline {
            return Err(StepError::Timeout {
                what: format!("root volume replacement {id} to end"),
                after: b.deadline,
            });
        }
        tokio::time::sleep(b.interval(n)).await;
        n += 1;
    }
}

struct CreateTask;

#[async_trait]
impl TypedStep for CreateTask {
    type Out = CreateTaskOut;
    async fn run(&self, cx: &StepCx) -> Result<CreateTaskOut, StepError> {
        let i: RestoreInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        // Idempotent: a task this operation made before a crash or a lost answer is reused
        // (found by its tag; the ClientToken also makes EC2 answer the same task).
        if let Some(t) = find_task(cloud.as_ref(), &i, &cx.op_id).await? {
            return Ok(CreateTaskOut { task_id: t.id });
        }
        let req = ReplaceRootRequest {
            instance_id: i.instance_id.clone(),
            image_id: i.image_id.clone(),
            tags: Tags::from([
                (tags::OPERATION.to_string(), cx.op_id.clone()),
                (tags::MANAGED.to_string(), "true".to_string()),
                (tags::NAME.to_string(), i.workstation.clone()),
            ]),
            client_token: cx.op_id.clone(),
        };
        let task = retry(|| cloud.create_replace_root_volume_task(&i.region, &req)).await?;
        cx.acted();
        Ok(CreateTaskOut { task_id: task.id })
    }

    /// EC2 cannot take a replacement back, so the undo makes Prism's records true instead:
    /// when this operation's task exists, it waits for its end; a task that succeeded has
    /// replaced the root, so the kept volume is tagged and the new version recorded (the
    /// failure message says the rest); a failed one changed nothing.
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        let i: RestoreInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let Some(t) = find_task(cloud.as_ref(), &i, &cx.op_id).await? else {
            return Ok(());
        };
        if task_outcome(cx, cloud.as_ref(), &i, &t.id).await? != ReplaceRootState::Succeeded {
            return Ok(());
        }
        if let Some(c) = cx.out::<CheckOut>()? {
            tag_old_root(cx, cloud.as_ref(), &i, &c.old_root_volume_id).await?;
        }
        record_version(cx, cloud.as_ref(), &i).await
    }
}

struct WaitTask;

#[async_trait]
impl TypedStep for WaitTask {
    type Out = WaitTaskOut;
    async fn run(&self, cx: &StepCx) -> Result<WaitTaskOut, StepError> {
        let i: RestoreInput = cx.input()?;
        let c: CheckOut = cx.need()?;
        let task_id = cx.need::<CreateTaskOut>()?.task_id;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let q = ReplaceRootQuery {
            ids: vec![task_id.clone()],
            instance_id: None,
        };
        let what = format!("root volume replacement {task_id} of {}", i.instance_id);
        // Bounded by the instance wait: the task is a volume restore plus a restart of the
        // instance; a restore longer than an instance start's budget is stuck, and the
        // error then says how to look at it.
        let state = poll_until(cx, &what, &cx.env.config.instance_wait, || async {
            let tasks = cloud
                .describe_replace_root_volume_tasks(&i.region, &q)
                .await?;
            let Some(t) = tasks.into_iter().next() else {
                // Eventual consistency right after CreateReplaceRootVolumeTask.
                return Ok(Poll::Pending(Some("not visible yet".into())));
            };
            if t.state.is_final() {
                Ok(Poll::Ready(t.state))
            } else {
                Ok(Poll::Pending(Some(t.state.to_string())))
            }
        })
        .await?;
        match state {
            ReplaceRootState::Succeeded => {}
            ReplaceRootState::FailedDetached => {
                return Err(StepError::Terminal(format!(
                    "EC2's root volume replacement {task_id} ended failed-detached: the original root volume {} of {} is not attached; reattach it as {} (aws ec2 attach-volume --region {} --volume-id {} --instance-id {} --device {}) and start the instance",
                    c.old_root_volume_id, i.instance_id, c.root_device, i.region, c.old_root_volume_id, i.instance_id, c.root_device
                )))
            }
            other => {
                return Err(StepError::Terminal(format!(
                    "EC2's root volume replacement {task_id} ended {other}: workstation '{}' keeps its original root volume {} and runs as before; nothing was changed",
                    i.workstation, c.old_root_volume_id
                )))
            }
        }
        let vq = VolumeQuery {
            ids: vec![],
            instance_id: Some(i.instance_id.clone()),
        };
        let vols = retry(|| cloud.describe_volumes(&i.region, &vq)).await?;
        let new_root = vols
            .into_iter()
            .find(|v| v.device.as_deref() == Some(c.root_device.as_str()))
            .map(|v| v.id);
        Ok(WaitTaskOut {
            task_id,
            state: state.to_string(),
            new_root_volume_id: new_root,
        })
    }
}

struct TagOldRoot;

#[async_trait]
impl TypedStep for TagOldRoot {
    type Out = TagOldRootOut;
    async fn run(&self, cx: &StepCx) -> Result<TagOldRootOut, StepError> {
        let i: RestoreInput = cx.input()?;
        let c: CheckOut = cx.need()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        tag_old_root(cx, cloud.as_ref(), &i, &c.old_root_volume_id).await?;
        cx.acted();
        Ok(TagOldRootOut {
            volume_id: c.old_root_volume_id,
        })
    }
}

struct RecordVersion;

#[async_trait]
impl TypedStep for RecordVersion {
    type Out = RecordVersionOut;
    async fn run(&self, cx: &StepCx) -> Result<RecordVersionOut, StepError> {
        let i: RestoreInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        record_version(cx, cloud.as_ref(), &i).await?;
        cx.acted();
        Ok(RecordVersionOut {
            now: format!("{}@{}", i.template, i.version),
        })
    }
}
