//! Capturing the image: stop the workstation (stop mode), create the image, and start the
//! workstation again as soon as the image's snapshots are initiated — before the long wait for
//! `available` — then tag the image and its snapshots.

use super::prepare::SaveInput;
use crate::backoff::retry;
use crate::clock;
use crate::context::StepCx;
use crate::error::StepError;
use crate::images;
use crate::launch::wait_instance_state;
use crate::max_wait;
use crate::output::StepOutput;
use crate::poll::{poll_until, Poll};
use crate::saga::TypedStep;
use async_trait::async_trait;
use prism_api::CaptureMode;
use prism_cloud::error::codes;
use prism_cloud::{tags, CreateImageRequest, InstanceState, Tags};
use serde::{Deserialize, Serialize};

/// Stops the workstation (stop mode, when it was running).
pub struct StopInstance;

/// Output of `stop_instance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StopInstanceOut {
    /// Whether this save stopped the workstation.
    pub stopped: bool,
    /// When the stop was requested (the start of the downtime); absent when not stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_requested_at: Option<String>,
}

impl StepOutput for StopInstanceOut {
    const STEP: &'static str = "stop_instance";
}

#[async_trait]
impl TypedStep for StopInstance {
    type Out = StopInstanceOut;
    async fn run(&self, cx: &StepCx) -> Result<StopInstanceOut, StepError> {
        let i: SaveInput = cx.input()?;
        if !i.stops() {
            return Ok(StopInstanceOut {
                stopped: false,
                stop_requested_at: None,
            });
        }
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let at = clock::now_rfc3339();
        retry(|| cloud.stop_instance(&i.region, &i.instance_id)).await?;
        cx.acted();
        cx.env
            .store
            .set_workstation_state(&i.workstation, "stopping")
            .await?;
        Ok(StopInstanceOut {
            stopped: true,
            stop_requested_at: Some(at),
        })
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
            crate::backoff::start_instance(cloud.as_ref(), &i.region, &i.instance_id).await?;
        }
        cx.env
            .store
            .set_workstation_state(&i.workstation, "pending")
            .await?;
        Ok(())
    }
}

/// Waits until the workstation is stopped.
pub struct WaitStopped;

/// Output of `wait_stopped`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitStoppedOut {
    /// When it was seen stopped; absent when the save does not stop it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
}

impl StepOutput for WaitStoppedOut {
    const STEP: &'static str = "wait_stopped";
}

#[async_trait]
impl TypedStep for WaitStopped {
    type Out = WaitStoppedOut;
    async fn run(&self, cx: &StepCx) -> Result<WaitStoppedOut, StepError> {
        let i: SaveInput = cx.input()?;
        if !i.stops() {
            return Ok(WaitStoppedOut { stopped_at: None });
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
        Ok(WaitStoppedOut {
            stopped_at: Some(clock::now_rfc3339()),
        })
    }
}

/// Creates the image (or finds the one this operation already created).
pub struct CreateImage;

/// How long CreateImage is retried (every second) while EC2 answers `IncorrectInstanceState`
/// for an instance that stopped moments ago.
const INCORRECT_STATE_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// The image named `name` after CreateImage answered `InvalidAMIName.Duplicate`, if it is
/// this operation's (tagged with its id). The name is operation-unique, so another owner of
/// it means the name is not ours to take: `None`. EC2 may not show the image for a moment
/// (eventual consistency): looked for, bounded.
async fn adopt_duplicate(
    cloud: &dyn prism_cloud::Cloud,
    region: &str,
    name: &str,
    op_id: &str,
) -> Result<Option<String>, StepError> {
    for pause in [0u64, 1, 2, 4, 8, 16] {
        tokio::time::sleep(std::time::Duration::from_secs(pause)).await;
        if let Some(img) = images::find_by_name(cloud, region, name).await? {
            // Tags on CreateImage are applied with the image; an untagged one is not ours.
            let ours = img.tags.get(tags::OPERATION).map(String::as_str) == Some(op_id);
            return Ok(ours.then_some(img.id));
        }
    }
    Ok(None)
}

/// Output of `create_image`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateImageOut {
    /// The new image.
    pub image_id: String,
}

impl StepOutput for CreateImageOut {
    const STEP: &'static str = "create_image";
}

#[async_trait]
impl TypedStep for CreateImage {
    type Out = CreateImageOut;
    async fn run(&self, cx: &StepCx) -> Result<CreateImageOut, StepError> {
        let i: SaveInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        // CreateImage has no idempotency token: find our uniquely named image first.
        if let Some(img) = images::find_by_name(cloud.as_ref(), &i.region, &i.image_name).await? {
            return Ok(CreateImageOut { image_id: img.id });
        }
        let mut t = Tags::new();
        t.insert(tags::MANAGED.into(), "true".into());
        t.insert(tags::OPERATION.into(), cx.op_id.clone());
        t.insert(tags::SAVED_TEMPLATE.into(), i.template.clone());
        t.insert(tags::SAVED_VERSION.into(), i.version.to_string());
        let req = CreateImageRequest {
            instance_id: i.instance_id.clone(),
            name: i.image_name.clone(),
            description: i.image_description().0,
            no_reboot: i.mode != CaptureMode::Reboot,
            tags: t,
        };
        // CreateImage is not idempotent: before each retry, look for the image a lost answer
        // may have created (its name is unique to this operation). EC2 may refuse an instance
        // that has only just stopped ("IncorrectInstanceState": the stop has not propagated —
        // EC2 error codes reference) for a few seconds: retried with the same bound.
        let tried = std::sync::atomic::AtomicBool::new(false);
        let attempt = || async {
            if tried.swap(true, std::sync::atomic::Ordering::SeqCst) {
                if let Some(img) =
                    images::find_by_name(cloud.as_ref(), &i.region, &i.image_name).await?
                {
                    return Ok(img.id);
                }
            }
            match cloud.create_image(&i.region, &req).await {
                // A retried CreateImage whose first try acted, while the name lookup has not
                // caught up (eventual consistency): adopt the image after checking it is ours.
                Err(e) if e.has_code(codes::AMI_NAME_DUPLICATE) => {
                    adopt_duplicate(cloud.as_ref(), &i.region, &i.image_name, &cx.op_id)
                        .await?
                        .ok_or_else(|| StepError::Cloud(e))
                }
                other => Ok::<_, StepError>(other?),
            }
        };
        // The refusal after a stop lasts seconds, during the downtime: look again every
        // second (bounded), not with the growing pauses of transient failures.
        let settled = || async {
            let since = tokio::time::Instant::now();
            loop {
                match attempt().await {
                    Err(StepError::Cloud(c))
                        if c.has_code(codes::INCORRECT_INSTANCE_STATE)
                            && since.elapsed() < INCORRECT_STATE_WAIT =>
                    {
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                    other => return other,
                }
            }
        };
        let id = crate::backoff::retry_if(
            crate::backoff::CALL_ATTEMPTS,
            |e: &StepError| matches!(e, StepError::Cloud(c) if c.is_transient()),
            settled,
        )
        .await?;
        cx.acted();
        Ok(CreateImageOut { image_id: id })
    }
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        let i: SaveInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        // (id, created by this run moments ago: "not found" may mean "not visible yet").
        let mut ids: Vec<(String, bool)> = vec![];
        if let Some(out) = cx.out::<CreateImageOut>()? {
            ids.push((out.image_id, true));
        }
        if let Some(img) = images::find_by_name(cloud.as_ref(), &i.region, &i.image_name).await? {
            if !ids.iter().any(|(id, _)| *id == img.id) {
                ids.push((img.id, false));
            }
        }
        if ids.is_empty() {
            // CreateImage may have acted with its answer lost, and EC2 may not list the new
            // image by name for a while (eventual consistency): look again, bounded.
            if let Some(img) = crate::poll::settle(|| async {
                images::find_by_name(cloud.as_ref(), &i.region, &i.image_name).await
            })
            .await?
            {
                ids.push((img.id, true));
            }
        }
        let known = cx
            .out::<WaitSnapshotsOut>()?
            .map(|o| o.snapshot_ids)
            .unwrap_or_default();
        for (id, fresh) in ids.iter().filter(|(s, _)| !s.is_empty()) {
            images::delete_with_snapshots(cloud.as_ref(), &i.region, id, &known, *fresh).await?;
        }
        // Snapshots tagged by this operation whose image is already gone.
        let t = Tags::from([(tags::OPERATION.to_string(), cx.op_id.clone())]);
        for s in images::snapshots_tagged(cloud.as_ref(), &i.region, &t).await? {
            images::delete_snapshot(cloud.as_ref(), &i.region, &s).await?;
        }
        Ok(())
    }
}

/// Waits until the image's snapshots are initiated, and tags them as this operation's.
pub struct WaitSnapshots;

/// Output of `wait_snapshots`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitSnapshotsOut {
    /// The image's snapshots.
    pub snapshot_ids: Vec<String>,
}

impl StepOutput for WaitSnapshotsOut {
    const STEP: &'static str = "wait_snapshots";
}

#[async_trait]
impl TypedStep for WaitSnapshots {
    type Out = WaitSnapshotsOut;
    async fn run(&self, cx: &StepCx) -> Result<WaitSnapshotsOut, StepError> {
        let i: SaveInput = cx.input()?;
        let image_id = cx.need::<CreateImageOut>()?.image_id;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        // EC2 shows a pending image's snapshot ids only once it is available (minutes to
        // hours), but lists the snapshots CreateImage started at once, described "Created by
        // CreateImage(i-…) for ami-…" (DescribeSnapshots). Waiting for those — one per EBS
        // device of the image, when EC2 shows the devices — ends the downtime early.
        let snaps = poll_until(
            cx,
            &format!("snapshots of {image_id}"),
            &cx.env.config.snapshot_wait,
            || async {
                let img = images::get(cloud.as_ref(), &i.region, &image_id).await?;
                if let Some(img) = &img {
                    if img.state.is_terminal_failure() {
                        return Err(StepError::Terminal(format!(
                            "image {image_id} in {} is {}: {}",
                            i.region,
                            img.state.as_str(),
                            img.state_reason.clone().unwrap_or_default()
                        )));
                    }
                    if !img.snapshot_ids.is_empty() {
                        return Ok(Poll::Ready(img.snapshot_ids.clone()));
                    }
                }
                let found =
                    images::snapshots_made_for(cloud.as_ref(), &i.region, &image_id).await?;
                // Without the image's device list (not visible yet), one snapshot is enough
                // to know CreateImage has begun reading the disks.
                let want = img.as_ref().map_or(1, |m| m.volumes.len().max(1));
                Ok(if found.len() >= want {
                    Poll::Ready(found)
                } else {
                    Poll::Pending(Some("snapshots not initiated yet".into()))
                })
            },
        )
        .await?;
        // Mark the snapshots as ours at once, so an unwind finds them even without the image.
        let t = Tags::from([
            (tags::OPERATION.to_string(), cx.op_id.clone()),
            (tags::MANAGED.to_string(), "true".to_string()),
        ]);
        crate::backoff::retry_fresh(|| cloud.create_tags(&i.region, &snaps, &t)).await?;
        cx.acted_at("tag");
        Ok(WaitSnapshotsOut {
            snapshot_ids: snaps,
        })
    }
}

/// Starts the workstation again (downtime ends here, before any wait for `available`).
pub struct StartInstance;

/// Output of `start_instance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartInstanceOut {
    /// Whether this save started the workstation.
    pub started: bool,
}

impl StepOutput for StartInstanceOut {
    const STEP: &'static str = "start_instance";
}

#[async_trait]
impl TypedStep for StartInstance {
    type Out = StartInstanceOut;
    async fn run(&self, cx: &StepCx) -> Result<StartInstanceOut, StepError> {
        let i: SaveInput = cx.input()?;
        if !i.stops() {
            return Ok(StartInstanceOut { started: false });
        }
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        crate::backoff::start_instance(cloud.as_ref(), &i.region, &i.instance_id).await?;
        cx.acted();
        cx.env
            .store
            .set_workstation_state(&i.workstation, "pending")
            .await?;
        Ok(StartInstanceOut { started: true })
    }
}

/// Waits until the workstation runs again; measures the downtime.
pub struct WaitRunning;

/// Output of `wait_running`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitRunningOut {
    /// When it was seen running; absent when the save did not stop it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_at: Option<String>,
    /// Seconds from the stop request until running again (0 without a stop).
    pub downtime_seconds: f64,
}

impl StepOutput for WaitRunningOut {
    const STEP: &'static str = "wait_running";
}

#[async_trait]
impl TypedStep for WaitRunning {
    type Out = WaitRunningOut;
    async fn run(&self, cx: &StepCx) -> Result<WaitRunningOut, StepError> {
        let i: SaveInput = cx.input()?;
        if !i.stops() {
            return Ok(WaitRunningOut {
                running_at: None,
                downtime_seconds: 0.0,
            });
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
        let stopped_at = cx.need::<StopInstanceOut>()?.stop_requested_at.ok_or_else(|| {
            StepError::Internal(
                "step stop_instance recorded no stop_requested_at, yet this save stops the workstation"
                    .into(),
            )
        })?;
        let downtime = clock::seconds_between(&stopped_at, &running_at);
        Ok(WaitRunningOut {
            running_at: Some(running_at),
            downtime_seconds: downtime,
        })
    }
}

/// Waits until the image is available (hours for big volumes).
pub struct WaitAvailable;

/// Output of `wait_available`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitAvailableOut {
    /// When it was seen available.
    pub available_at: String,
    /// Its size, GiB.
    pub size_gb: i64,
    /// Size of its root volume, GiB (the captured disk: a grown disk is bigger than the
    /// template's), when EC2 says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_volume_gb: Option<i64>,
}

impl StepOutput for WaitAvailableOut {
    const STEP: &'static str = "wait_available";
}

#[async_trait]
impl TypedStep for WaitAvailable {
    type Out = WaitAvailableOut;
    async fn run(&self, cx: &StepCx) -> Result<WaitAvailableOut, StepError> {
        let i: SaveInput = cx.input()?;
        let image_id = cx.need::<CreateImageOut>()?.image_id;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let img = images::wait_available(
            cx,
            cloud.as_ref(),
            &i.region,
            &image_id,
            &max_wait::backoff(&cx.env.config.image_wait, i.max_wait_seconds),
        )
        .await?;
        Ok(WaitAvailableOut {
            available_at: clock::now_rfc3339(),
            size_gb: img.size_gb,
            root_volume_gb: img.root_volume_gb(),
        })
    }
}

/// Tags the image and its snapshots with the full `prism:*` set.
pub struct TagImage;

/// Output of `tag_image`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagImageOut {
    /// The snapshots tagged.
    pub snapshot_ids: Vec<String>,
}

impl StepOutput for TagImageOut {
    const STEP: &'static str = "tag_image";
}

#[async_trait]
impl TypedStep for TagImage {
    type Out = TagImageOut;
    async fn run(&self, cx: &StepCx) -> Result<TagImageOut, StepError> {
        let i: SaveInput = cx.input()?;
        let image_id = cx.need::<CreateImageOut>()?.image_id;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let snaps = images::tag_with_snapshots(
            cloud.as_ref(),
            &i.region,
            &image_id,
            &i.image_tags(&cx.op_id),
        )
        .await?;
        cx.acted_at("tag");
        Ok(TagImageOut {
            snapshot_ids: snaps,
        })
    }
}
