//! The fake's memory: instances, images, snapshots with their owners and timestamps, and the
//! pure helpers that show them as a given account sees them at a given time.

use super::config::FakeEc2;
use crate::{
    CloudError, CloudErrorKind, Image, ImageState, ImageVolume, Instance, InstanceState, Share,
    Snapshot, SnapshotState, Tags,
};
use std::collections::BTreeMap;
use tokio::time::Instant;

/// The account a [`super::FakeCloud`] acts as unless [`super::FakeCloud::as_account`] says.
pub const DEFAULT_ACCOUNT: &str = "123456789012";
/// Owner of Amazon's public images (`owners: ["amazon"]`).
pub const AMAZON_ACCOUNT: &str = "137112412989";

/// One recorded call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// API name, e.g. `StartInstances`.
    pub action: String,
    /// Region.
    pub region: String,
    /// Resource id, when there is one.
    pub resource: Option<String>,
    /// Virtual time since the fake was made.
    pub at: std::time::Duration,
}

/// An injected failure or lost answer.
#[derive(Debug, Clone)]
pub(super) struct Fault {
    pub action: String,
    pub region: Option<String>,
    pub remaining: Option<u32>,
    pub error: CloudError,
}

impl Fault {
    /// Whether it concerns this call.
    pub fn matches(&self, action: &str, region: &str) -> bool {
        self.action == action && self.region.as_deref().is_none_or(|r| r == region)
    }
}

/// Takes one use of the first fault in `list` matching the call, if any.
pub(super) fn take_fault(list: &mut Vec<Fault>, action: &str, region: &str) -> Option<Fault> {
    let i = list.iter().position(|f| f.matches(action, region))?;
    let f = list[i].clone();
    match &mut list[i].remaining {
        Some(n) if *n <= 1 => {
            list.remove(i);
        }
        Some(n) => *n -= 1,
        None => {}
    }
    Some(f)
}

#[derive(Debug, Clone)]
pub(super) struct FakeInstance {
    pub inst: Instance,
    pub owner: String,
    /// When RunInstances returned (start of its eventual-consistency window).
    pub created: Instant,
    pub transition: Option<(Instant, InstanceState)>,
    /// When it last reached `stopped`.
    pub stopped_at: Option<Instant>,
}

impl FakeInstance {
    /// Applies a transition whose time has come.
    pub fn settle(&mut self, now: Instant) {
        if let Some((at, target)) = self.transition {
            if now >= at {
                self.inst.state = target;
                self.transition = None;
                if target == InstanceState::Stopped {
                    self.stopped_at = Some(at);
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct FakeImage {
    /// The owner's view when available (tags = the owner's tags, snapshot ids filled in).
    pub image: Image,
    /// When CreateImage/CopyImage returned (start of its eventual-consistency window).
    pub created: Instant,
    /// When its snapshots exist (and are shown on a lenient fake).
    pub snapshots_at: Instant,
    pub ready_at: Instant,
    pub final_state: ImageState,
    pub final_reason: Option<String>,
    pub deregistered_at: Option<Instant>,
    /// Whether it is a CopyImage copy (counts against the copy limit while pending).
    pub is_copy: bool,
    /// Tags other accounts put on it, each seen only by its account.
    pub foreign_tags: BTreeMap<String, Tags>,
}

impl FakeImage {
    pub fn owner(&self) -> &str {
        self.image.owner_id.as_deref().unwrap_or_default()
    }

    pub fn is_deregistered(&self) -> bool {
        self.deregistered_at.is_some()
    }

    /// Whether the consistency window after its creation is over.
    pub fn settled(&self, now: Instant, ec2: &FakeEc2) -> bool {
        now >= self.created + ec2.consistency_window
    }

    /// Whether `account` may see it: its owner, or anyone when public, or an account named
    /// in its launch permissions.
    pub fn visible_to(&self, account: &str, share: Option<&Share>) -> bool {
        self.owner() == account
            || self.image.public
            || share.is_some_and(|s| s.accounts.iter().any(|a| a == account))
    }

    /// State now.
    pub fn state(&self, now: Instant) -> ImageState {
        if self.is_deregistered() {
            ImageState::Deregistered
        } else if now >= self.ready_at {
            self.final_state
        } else {
            ImageState::Pending
        }
    }

    /// The image as `viewer` sees it at `now`.
    pub fn view(&self, now: Instant, viewer: &str, ec2: &FakeEc2) -> Image {
        let mut img = self.image.clone();
        img.state = self.state(now);
        if img.state != ImageState::Pending {
            img.state_reason = self.final_reason.clone();
        }
        let show_ids = match img.state {
            ImageState::Available => true,
            ImageState::Pending => !ec2.hide_pending_snapshot_ids && now >= self.snapshots_at,
            _ => false,
        };
        if !show_ids {
            img.snapshot_ids.clear();
            for v in &mut img.volumes {
                v.snapshot_id = None;
            }
        }
        if ec2.tags_per_account && viewer != self.owner() {
            img.tags = self.foreign_tags.get(viewer).cloned().unwrap_or_default();
        }
        img
    }

    /// Whether it holds `snapshot_id` as a registered image would at `now`.
    pub fn uses_snapshot(&self, snapshot_id: &str, now: Instant, ec2: &FakeEc2) -> bool {
        self.image.snapshot_ids.iter().any(|s| s == snapshot_id)
            && self
                .deregistered_at
                .is_none_or(|at| now < at + ec2.snapshot_in_use_after_deregister)
    }
}

#[derive(Debug, Clone)]
pub(super) struct FakeSnapshot {
    pub region: String,
    pub owner: String,
    pub snap: Snapshot,
    /// When it exists (CreateImage/CopyImage + `snapshot_visible`).
    pub visible_at: Instant,
    /// The image it was made for: its progress follows the image's.
    pub image_id: String,
}

#[derive(Default)]
pub(super) struct State {
    pub next: u64,
    pub instances: BTreeMap<String, FakeInstance>,
    pub images: BTreeMap<String, FakeImage>,
    pub snapshots: BTreeMap<String, FakeSnapshot>,
    pub calls: Vec<Call>,
    pub faults: Vec<Fault>,
    /// Calls that act, then lose their answer (`error` is unused).
    pub lost: Vec<Fault>,
    /// Answers lost so far, per action.
    pub lost_count: BTreeMap<String, u32>,
    /// StartInstances/RunInstances refused for want of capacity: (region, remaining).
    pub no_capacity: Vec<(String, Option<u32>)>,
    pub failing_images: Vec<(String, String)>,
    /// Launch permissions per image id (accounts, organizations, OUs; `public` mirrors the image).
    pub shares: BTreeMap<String, Share>,
    /// Create-volume permissions per snapshot id (accounts and `public` only).
    pub snapshot_shares: BTreeMap<String, Share>,
    /// Regions whose image block-public-access state is `block-new-sharing`.
    pub public_blocked: Vec<String>,
    /// Results of calls made with a ClientToken: (account, region, action, token) → id.
    pub client_tokens: BTreeMap<(String, String, String, String), String>,
    /// Key pairs: (account, region, name) → key pair.
    pub key_pairs: BTreeMap<(String, String, String), crate::KeyPair>,
    /// Security groups by id.
    pub groups: BTreeMap<String, super::network::FakeGroup>,
    /// VPCs by id.
    pub vpcs: BTreeMap<String, super::network::FakeVpc>,
    /// Subnets by id.
    pub subnets: BTreeMap<String, super::network::FakeSubnet>,
    /// (account, region) whose default VPC was deleted.
    pub no_default_vpc: std::collections::BTreeSet<(String, String)>,
    /// Days an image retention rule of Recycle Bin keeps deregistered images (`None`: no rule).
    pub image_retention_days: Option<i64>,
    /// Deregistered images Recycle Bin keeps, by image id.
    pub recycle_bin: BTreeMap<String, Binned>,
    /// Days a snapshot retention rule of Recycle Bin keeps deleted snapshots (`None`: no rule).
    pub snapshot_retention_days: Option<i64>,
    /// Deleted snapshots Recycle Bin keeps, by snapshot id (gone from `snapshots` meanwhile).
    pub snapshot_bin: BTreeMap<String, (FakeSnapshot, Binned)>,
    /// EBS volumes by id.
    pub volumes: BTreeMap<String, super::volumes::FakeVolume>,
    /// Replace-root-volume tasks by id.
    pub root_tasks: BTreeMap<String, super::volumes::FakeRootTask>,
    /// Regions whose replace-root-volume tasks end `failed`.
    pub failing_root_tasks: Vec<String>,
}

/// A resource in Recycle Bin: until when, and the sharing it had (EC2 unshares a resource
/// entering the bin and gives the sharing back when it is restored).
#[derive(Debug, Clone)]
pub(super) struct Binned {
    /// When it leaves the bin for good (RFC 3339, as `RecycleBinExitTime`).
    pub exit: String,
    /// The same moment on the fake's clock.
    pub exit_at: Instant,
    /// Launch (image) or create-volume (snapshot) permissions it had.
    pub share: Option<Share>,
}

impl Binned {
    /// Enters the bin now for `days`.
    pub fn new(days: i64, now: Instant, share: Option<Share>) -> Self {
        let exit = chrono::Utc::now() + chrono::Duration::days(days);
        Binned {
            exit: exit.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            exit_at: now + std::time::Duration::from_secs(days.max(0) as u64 * 86_400),
            share,
        }
    }

    /// Whether the retention period is still running at `now`.
    pub fn kept(&self, now: Instant) -> bool {
        now < self.exit_at
    }
}

impl State {
    /// The id an earlier call of `action` with this ClientToken made, when tokens count.
    pub fn by_token(&self, honour: bool, key: &(String, String, String, String)) -> Option<String> {
        (honour && !key.3.is_empty())
            .then(|| self.client_tokens.get(key).cloned())
            .flatten()
    }

    /// The caller's image (any visibility) named `name` in `region`, not deregistered.
    pub fn image_named(&self, account: &str, region: &str, name: &str) -> Option<String> {
        self.images
            .values()
            .find(|i| {
                i.image.region == region
                    && i.image.name == name
                    && i.owner() == account
                    && !i.is_deregistered()
            })
            .map(|i| i.image.id.clone())
    }
}

impl State {
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}-{:017x}", self.next)
    }

    /// The snapshot as seen at `now`: progress follows its image's.
    pub fn snapshot_view(&self, s: &FakeSnapshot, now: Instant) -> Snapshot {
        let mut snap = s.snap.clone();
        if let Some(img) = self.images.get(&s.image_id) {
            if now >= img.ready_at {
                snap.state = SnapshotState::Completed;
                snap.progress = Some(100);
            } else {
                let total = img.ready_at.saturating_duration_since(s.visible_at);
                let done = now.saturating_duration_since(s.visible_at);
                let pct = if total.is_zero() {
                    100.0
                } else {
                    done.as_secs_f64() / total.as_secs_f64() * 100.0
                };
                snap.progress = Some(pct.min(99.0) as u8);
            }
        }
        snap
    }

    /// Takes one refusal for want of capacity in `region`, if any is pending.
    pub fn take_no_capacity(&mut self, region: &str) -> bool {
        let Some(i) = self.no_capacity.iter().position(|(r, _)| r == region) else {
            return false;
        };
        match &mut self.no_capacity[i].1 {
            Some(n) if *n <= 1 => {
                self.no_capacity.remove(i);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        true
    }
}

/// Volumes of an image, root (`/dev/xvda`) first, then `/dev/sdb`, `/dev/sdc`…
pub(super) fn volumes(sizes: &[i64], snapshots: &[String]) -> Vec<ImageVolume> {
    sizes
        .iter()
        .enumerate()
        .map(|(i, gb)| ImageVolume {
            device_name: if i == 0 {
                "/dev/xvda".to_string()
            } else {
                format!("/dev/sd{}", (b'a' + i as u8) as char)
            },
            size_gb: Some(*gb),
            snapshot_id: snapshots.get(i).cloned(),
        })
        .collect()
}

/// An error EC2 would answer: kind from the code, with the resource.
pub(super) fn ec2_error(
    action: &str,
    region: &str,
    code: &str,
    resource: &str,
    message: impl Into<String>,
) -> CloudError {
    CloudError::new(CloudError::kind_for_code(code), action, region, message)
        .with_code(code)
        .with_resource(resource)
}

/// `code` (a `….NotFound`) for `id`.
pub(super) fn not_found(action: &str, region: &str, code: &str, id: &str) -> CloudError {
    ec2_error(
        action,
        region,
        code,
        id,
        format!("The ID '{id}' does not exist"),
    )
}

/// `AuthFailure` for an image the caller can see but does not own (ModifyImageAttribute,
/// DescribeImageAttribute, DeregisterImage on another account's AMI).
pub(super) fn not_owner(action: &str, region: &str, image_id: &str) -> CloudError {
    ec2_error(
        action,
        region,
        "AuthFailure",
        image_id,
        format!("Not authorized for image:{image_id}"),
    )
}

/// What a caller gets when a call's answer is lost: what `prism-aws` makes of the SDK's
/// dispatch failure (the connection closed before the answer came).
pub(super) fn lost_answer(action: &str, region: &str, resource: Option<&str>) -> CloudError {
    let e = CloudError::new(
        CloudErrorKind::Transient,
        action,
        region,
        "dispatch failure: io error: connection closed before message completed \
         (injected: the call acted, its answer was lost)",
    );
    match resource {
        Some(r) => e.with_resource(r),
        None => e,
    }
}

pub(super) fn tags_match(have: &Tags, want: &Tags, keys: &[String]) -> bool {
    want.iter().all(|(k, v)| have.get(k) == Some(v)) && keys.iter().all(|k| have.contains_key(k))
}

/// EC2 filter matching with `*` wildcards (names, descriptions).
pub(super) fn name_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(pos) => rest = &rest[pos + p.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Milliseconds since the epoch with thousands separators, as EC2 writes "Task created on
/// 1,717,171,717,171." in a copied snapshot's description.
pub(super) fn task_millis() -> String {
    let ms = chrono::Utc::now().timestamp_millis().to_string();
    let mut out = String::new();
    for (i, c) in ms.chars().enumerate() {
        if i > 0 && (ms.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
