//! EBS volumes (DescribeVolumes) and root volume replacement (CreateReplaceRootVolumeTask,
//! DescribeReplaceRootVolumeTasks), as the EC2 User Guide's "Replace the root volume for an
//! Amazon EC2 instance without stopping it"
//! (<https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/replace-root.html>) and the EC2 API
//! Reference (`CreateReplaceRootVolumeTask`) describe them:
//!
//! - the instance must be `running` (the API Reference: "Replaces the EBS-backed root volume
//!   for a running instance"); otherwise `IncorrectInstanceState`;
//! - with an AMI, the AMI "has the same key characteristics as that of the instance" — the
//!   User Guide names architecture among them; the fake checks the architecture (the code
//!   EC2 answers for a mismatch is not documented: the fake says `InvalidParameterValue`);
//! - the original root volume is detached and a new one, restored from the AMI's root
//!   snapshot, is attached in its place; the instance's block device mapping shows the new
//!   id; with `DeleteReplacedRootVolume=false` the original stays (`available`) "you must
//!   manually delete it when you no longer need it";
//! - the instance keeps its id, its non-root EBS volumes, its network interfaces with their
//!   private and public addresses ("the instance remains on the same physical host, so it
//!   retains its public and private IP addresses and DNS name"); it is restarted;
//! - the task goes `pending` → `in-progress` → `succeeded` (or `failing` → `failed`, the
//!   original still attached, for regions set with [`super::FakeCloud::fail_root_replacements_in`]).
//!
//! The fake's task takes `snapshot_visible` to start and `stop + start` (the restart) to
//! finish; how long EC2 takes is not documented.

use super::state::{ec2_error, not_found, State};
use super::Service;
use crate::error::codes;
use crate::{
    CloudResult, InstanceState, ReplaceRootQuery, ReplaceRootRequest, ReplaceRootState,
    ReplaceRootTask, Volume, VolumeQuery,
};
use tokio::time::Instant;

/// One volume with its owner.
#[derive(Debug, Clone)]
pub(super) struct FakeVolume {
    pub owner: String,
    pub vol: Volume,
}

/// One replace-root-volume task with what it will do.
#[derive(Debug, Clone)]
pub(super) struct FakeRootTask {
    pub owner: String,
    pub region: String,
    pub task: ReplaceRootTask,
    /// When it turns `in-progress`.
    pub started_at: Instant,
    /// When it is over.
    pub done_at: Instant,
    /// Whether it ends `failed` (original root kept attached).
    pub fails: bool,
    /// The AMI's root snapshot and size, for the new volume.
    pub snapshot_id: Option<String>,
    pub size_gb: i64,
    /// Whether its effect has been applied.
    pub applied: bool,
}

impl State {
    /// Adds a volume attached to `instance_id` at `device` (or detached) and returns its id.
    pub fn add_volume(
        &mut self,
        owner: &str,
        region: &str,
        attach: Option<(&str, &str)>,
        snapshot_id: Option<String>,
        size_gb: i64,
    ) -> String {
        let id = self.new_id("vol");
        self.volumes.insert(
            id.clone(),
            FakeVolume {
                owner: owner.into(),
                vol: Volume {
                    id: id.clone(),
                    region: region.into(),
                    state: if attach.is_some() {
                        "in-use"
                    } else {
                        "available"
                    }
                    .into(),
                    instance_id: attach.map(|a| a.0.to_string()),
                    device: attach.map(|a| a.1.to_string()),
                    snapshot_id,
                    size_gb,
                    tags: Default::default(),
                },
            },
        );
        id
    }

    /// Moves every replace-root-volume task to its state at `now`, applying the replacement
    /// of those that are over.
    pub fn settle_root_tasks(&mut self, now: Instant) {
        let ids: Vec<String> = self.root_tasks.keys().cloned().collect();
        for id in ids {
            let Some(t) = self.root_tasks.get(&id).cloned() else {
                continue;
            };
            if t.applied {
                continue;
            }
            let state = if now >= t.done_at {
                if t.fails {
                    ReplaceRootState::Failed
                } else {
                    ReplaceRootState::Succeeded
                }
            } else if now >= t.started_at {
                if t.fails {
                    ReplaceRootState::Failing
                } else {
                    ReplaceRootState::InProgress
                }
            } else {
                ReplaceRootState::Pending
            };
            let over = state.is_final();
            if over && !t.fails {
                self.replace_root(&t);
            }
            if let Some(ft) = self.root_tasks.get_mut(&id) {
                ft.task.state = state;
                if over {
                    ft.applied = true;
                    ft.task.complete_time = Some(chrono::Utc::now().to_rfc3339());
                }
            }
        }
    }

    /// The effect of a succeeded task: the instance's root volume is detached (kept,
    /// `available`) and a new one from the AMI's root snapshot is attached at the root device.
    fn replace_root(&mut self, t: &FakeRootTask) {
        let inst_id = t.task.instance_id.clone();
        let Some(root_dev) = self
            .instances
            .get(&inst_id)
            .and_then(|i| i.inst.root_device_name.clone())
        else {
            return;
        };
        for v in self.volumes.values_mut() {
            if v.vol.instance_id.as_deref() == Some(inst_id.as_str())
                && v.vol.device.as_deref() == Some(root_dev.as_str())
            {
                v.vol.instance_id = None;
                v.vol.device = None;
                v.vol.state = "available".into();
            }
        }
        let owner = t.owner.clone();
        let region = t.region.clone();
        self.add_volume(
            &owner,
            &region,
            Some((&inst_id, &root_dev)),
            t.snapshot_id.clone(),
            t.size_gb,
        );
        if let Some(i) = self.instances.get_mut(&inst_id) {
            if let Some(first) = i.inst.volume_sizes_gb.first_mut() {
                *first = t.size_gb as i32;
            }
        }
    }
}

impl Service<'_> {
    /// DescribeVolumes: the caller's volumes in `region` by id (unknown ids:
    /// `InvalidVolume.NotFound`) or attached to an instance.
    pub(super) async fn describe_volumes(
        &self,
        region: &str,
        query: &VolumeQuery,
    ) -> CloudResult<Vec<Volume>> {
        const ACTION: &str = "DescribeVolumes";
        self.call(ACTION, region, query.ids.first().map(String::as_str))
            .await?;
        let mut s = self.lock();
        s.settle_root_tasks(Instant::now());
        for id in &query.ids {
            if !s
                .volumes
                .get(id)
                .is_some_and(|v| v.owner == self.account && v.vol.region == region)
            {
                return Err(not_found(ACTION, region, VOLUME_NOT_FOUND, id));
            }
        }
        Ok(s.volumes
            .values()
            .filter(|v| v.owner == self.account && v.vol.region == region)
            .filter(|v| query.ids.is_empty() || query.ids.contains(&v.vol.id))
            .filter(|v| {
                query
                    .instance_id
                    .as_ref()
                    .is_none_or(|i| v.vol.instance_id.as_ref() == Some(i))
            })
            .map(|v| v.vol.clone())
            .collect())
    }

    /// CreateReplaceRootVolumeTask with an AMI (see the module documentation).
    pub(super) async fn create_replace_root_volume_task(
        &self,
        region: &str,
        req: &ReplaceRootRequest,
    ) -> CloudResult<ReplaceRootTask> {
        const ACTION: &str = "CreateReplaceRootVolumeTask";
        self.call(ACTION, region, Some(&req.instance_id)).await?;
        let now = Instant::now();
        let mut s = self.lock();
        let token = (
            self.account.clone(),
            region.to_string(),
            ACTION.to_string(),
            req.client_token.clone(),
        );
        if let Some(id) = s.by_token(self.ec2.honour_client_tokens, &token) {
            if let Some(t) = s.root_tasks.get(&id) {
                return Ok(t.task.clone());
            }
        }
        let inst = self
            .my_instance(&mut s, ACTION, region, &req.instance_id, now)?
            .inst
            .clone();
        if inst.state != InstanceState::Running {
            return Err(ec2_error(
                ACTION,
                region,
                codes::INCORRECT_INSTANCE_STATE,
                &req.instance_id,
                format!(
                    "The instance '{}' is not in the 'running' state ({}).",
                    req.instance_id, inst.state
                ),
            ));
        }
        let image = self
            .visible_image(&mut s, ACTION, region, &req.image_id, now)?
            .clone();
        if image.image.architecture != inst.architecture {
            return Err(ec2_error(
                ACTION,
                region,
                "InvalidParameterValue",
                &req.image_id,
                format!(
                    "The architecture of AMI '{}' ({}) does not match that of instance '{}' ({}).",
                    req.image_id, image.image.architecture, req.instance_id, inst.architecture
                ),
            ));
        }
        let root = image.image.volumes.first().cloned();
        let failing = s.failing_root_tasks.iter().any(|r| r == region);
        let id = s.new_id("replacevol");
        let task = ReplaceRootTask {
            id: id.clone(),
            instance_id: req.instance_id.clone(),
            image_id: Some(req.image_id.clone()),
            state: ReplaceRootState::Pending,
            delete_replaced_root_volume: false,
            start_time: Some(chrono::Utc::now().to_rfc3339()),
            complete_time: None,
            tags: req.tags.clone(),
        };
        if !req.client_token.is_empty() {
            s.client_tokens.insert(token, id.clone());
        }
        s.root_tasks.insert(
            id,
            FakeRootTask {
                owner: self.account.clone(),
                region: region.into(),
                task: task.clone(),
                started_at: now + self.timings.snapshot_visible,
                done_at: now
                    + self.timings.snapshot_visible
                    + self.timings.stop
                    + self.timings.start,
                fails: failing,
                snapshot_id: root.as_ref().and_then(|v| v.snapshot_id.clone()),
                size_gb: root.and_then(|v| v.size_gb).unwrap_or(8),
                applied: false,
            },
        );
        Ok(task)
    }

    /// DescribeReplaceRootVolumeTasks: the caller's tasks by id or instance, settled to now.
    pub(super) async fn describe_replace_root_volume_tasks(
        &self,
        region: &str,
        query: &ReplaceRootQuery,
    ) -> CloudResult<Vec<ReplaceRootTask>> {
        const ACTION: &str = "DescribeReplaceRootVolumeTasks";
        self.call(ACTION, region, query.ids.first().map(String::as_str))
            .await?;
        let mut s = self.lock();
        s.settle_root_tasks(Instant::now());
        Ok(s.root_tasks
            .values()
            .filter(|t| t.owner == self.account && t.region == region)
            .filter(|t| query.ids.is_empty() || query.ids.contains(&t.task.id))
            .filter(|t| {
                query
                    .instance_id
                    .as_ref()
                    .is_none_or(|i| &t.task.instance_id == i)
            })
            .map(|t| t.task.clone())
            .collect())
    }
}

/// EC2's code for an unknown volume id.
pub(super) const VOLUME_NOT_FOUND: &str = "InvalidVolume.NotFound";
