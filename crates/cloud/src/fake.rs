//! An in-memory [`Cloud`] for logic tests: states that take (tokio) time to change, injected
//! failures, and a log of every call so tests can check ordering.
//!
//! Two kinds of injected failure: [`FakeCloud::fail`] refuses a call *before* it acts (as a
//! throttled or erroring service does), [`FakeCloud::lose_response`] lets the call act and
//! then loses its answer (as a dropped connection or a timeout does): the effect happens, the
//! caller gets the transient, code-less error that `prism-aws` makes of a dispatch failure or
//! timeout, and must find out for itself whether the call acted.
//!
//! Time is tokio's clock, so `#[tokio::test(start_paused = true)]` makes every wait virtual.

use crate::{
    CallerIdentity, Cloud, CloudError, CloudErrorKind, CloudResult, CopyImageRequest,
    CreateImageRequest, Image, ImageQuery, ImageState, Instance, InstanceFilter, InstanceState,
    RunSpec, Share, Snapshot, SnapshotQuery, SnapshotState, Tags,
};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// How long simulated transitions take.
#[derive(Debug, Clone)]
pub struct FakeTimings {
    /// running → stopped.
    pub stop: Duration,
    /// stopped → running (also pending → running at launch).
    pub start: Duration,
    /// CreateImage → snapshots visible on the image.
    pub snapshot_visible: Duration,
    /// CreateImage → available.
    pub image_available: Duration,
    /// CopyImage → available.
    pub copy_available: Duration,
    /// Added to every API call (network and service time).
    pub api_latency: Duration,
}

impl Default for FakeTimings {
    fn default() -> Self {
        FakeTimings {
            stop: Duration::from_secs(30),
            start: Duration::from_secs(20),
            snapshot_visible: Duration::from_secs(2),
            image_available: Duration::from_secs(300),
            copy_available: Duration::from_secs(600),
            api_latency: Duration::ZERO,
        }
    }
}

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
    pub at: Duration,
}

#[derive(Debug, Clone)]
struct Fault {
    action: String,
    region: Option<String>,
    remaining: Option<u32>,
    error: CloudError,
}

#[derive(Debug, Clone)]
struct FakeInstance {
    inst: Instance,
    transition: Option<(Instant, InstanceState)>,
}

#[derive(Debug, Clone)]
struct FakeImage {
    image: Image,
    snapshots_at: Instant,
    pending_snapshots: Vec<String>,
    ready_at: Instant,
    final_state: ImageState,
    final_reason: Option<String>,
}

#[derive(Default)]
struct State {
    next: u64,
    instances: BTreeMap<String, FakeInstance>,
    images: BTreeMap<String, FakeImage>,
    snapshots: BTreeMap<String, (String, Snapshot)>,
    calls: Vec<Call>,
    faults: Vec<Fault>,
    /// Calls that act, then lose their answer (`error` is unused: see [`lost_answer`]).
    lost: Vec<Fault>,
    /// Answers lost so far, per action.
    lost_count: BTreeMap<String, u32>,
    failing_images: Vec<(String, String)>,
    /// Launch permissions per image id (accounts, organizations, OUs; `public` mirrors the image).
    shares: BTreeMap<String, Share>,
    /// Regions whose image block-public-access state is `block-new-sharing`.
    public_blocked: Vec<String>,
}

/// The in-memory cloud.
#[derive(Clone)]
pub struct FakeCloud {
    state: Arc<Mutex<State>>,
    timings: FakeTimings,
    regions: Vec<String>,
    epoch: Instant,
}

impl FakeCloud {
    /// A fake with the given timings and the usual regions.
    pub fn new(timings: FakeTimings) -> Self {
        FakeCloud {
            state: Arc::new(Mutex::new(State::default())),
            timings,
            regions: [
                "us-east-1",
                "us-east-2",
                "us-west-1",
                "us-west-2",
                "eu-west-1",
                "eu-central-1",
                "ap-southeast-2",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            epoch: Instant::now(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a public base image (like a distribution's AMI) and returns its id.
    pub fn add_base_image(&self, region: &str, owner: &str, name: &str, arch: &str) -> String {
        let mut s = self.lock();
        s.next += 1;
        let id = format!("ami-{:017x}", s.next);
        let now = Instant::now();
        let day = s.next % 28 + 1;
        s.images.insert(
            id.clone(),
            FakeImage {
                image: Image {
                    id: id.clone(),
                    region: region.into(),
                    name: name.into(),
                    description: None,
                    state: ImageState::Available,
                    state_reason: None,
                    owner_id: Some(owner.into()),
                    architecture: arch.into(),
                    creation_date: Some(format!("2024-01-{day:02}T00:00:00Z")),
                    public: true,
                    encrypted: false,
                    snapshot_ids: vec![],
                    size_gb: 8,
                    tags: Tags::new(),
                    root_device_name: Some("/dev/xvda".into()),
                    volumes: vec![crate::ImageVolume {
                        device_name: "/dev/xvda".into(),
                        size_gb: Some(8),
                        snapshot_id: None,
                    }],
                    key: crate::KeyKind::None,
                },
                snapshots_at: now,
                pending_snapshots: vec![],
                ready_at: now,
                final_state: ImageState::Available,
                final_reason: None,
            },
        );
        id
    }

    /// Makes the next `times` calls of `action` (in `region`, or any) fail with `kind`/`code`.
    /// `times = None`: every call fails.
    pub fn fail(
        &self,
        action: &str,
        region: Option<&str>,
        times: Option<u32>,
        kind: CloudErrorKind,
        code: &str,
    ) {
        self.lock().faults.push(Fault {
            action: action.into(),
            region: region.map(Into::into),
            remaining: times,
            error: CloudError::new(kind, action, region.unwrap_or("*"), "injected failure")
                .with_code(code),
        });
    }

    /// Makes the next `times` calls of `action` (in `region`, or any) act, then lose their
    /// answer: the call's effect happens (the instance runs, the image is created, the tags are
    /// set…) and the caller gets a [`CloudErrorKind::Transient`] error without an AWS code, as
    /// `prism-aws` reports a dropped connection or a timeout. `times = None`: every call.
    ///
    /// Only calls that reach the service count: a call refused by [`FakeCloud::fail`] or sent
    /// to an unknown region keeps its error and does not use up a lost answer. A call the
    /// service refuses (e.g. `InvalidAMIID.NotFound`) does, and its error is lost too.
    pub fn lose_response(&self, action: &str, region: Option<&str>, times: Option<u32>) {
        self.lock().lost.push(Fault {
            action: action.into(),
            region: region.map(Into::into),
            remaining: times,
            error: lost_answer(action, region.unwrap_or("*"), None),
        });
    }

    /// How many answers of `action` were lost so far (see [`FakeCloud::lose_response`]).
    pub fn lost_responses(&self, action: &str) -> u32 {
        self.lock().lost_count.get(action).copied().unwrap_or(0)
    }

    /// Makes images created (or copied) in `region` end in state `failed` with `reason`.
    pub fn fail_images_in(&self, region: &str, reason: &str) {
        self.lock()
            .failing_images
            .push((region.into(), reason.into()));
    }

    /// Marks an image's snapshots as encrypted (it can then not be made public).
    pub fn set_encrypted(&self, image_id: &str) {
        if let Some(i) = self.lock().images.get_mut(image_id) {
            i.image.encrypted = true;
        }
    }

    /// Turns on image block public access in `region`.
    pub fn block_public_sharing_in(&self, region: &str) {
        self.lock().public_blocked.push(region.into());
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Every image that exists (not deregistered), across regions.
    pub fn images(&self) -> Vec<Image> {
        let now = Instant::now();
        let s = self.lock();
        s.images
            .values()
            .map(|i| image_view(i, now))
            .filter(|i| i.state != ImageState::Deregistered)
            .collect()
    }

    /// Every snapshot that exists, with its region.
    pub fn snapshots(&self) -> Vec<(String, Snapshot)> {
        self.lock().snapshots.values().cloned().collect()
    }

    /// Every instance, with its current state.
    pub fn instances(&self) -> Vec<Instance> {
        let now = Instant::now();
        let mut s = self.lock();
        s.instances
            .values_mut()
            .map(|i| {
                settle(i, now);
                i.inst.clone()
            })
            .collect()
    }

    /// Adds a running instance directly (test setup) and returns its id.
    pub fn add_instance(&self, region: &str, tags: Tags, volume_gb: i32) -> String {
        let mut s = self.lock();
        s.next += 1;
        let id = format!("i-{:017x}", s.next);
        s.instances.insert(
            id.clone(),
            FakeInstance {
                inst: Instance {
                    id: id.clone(),
                    region: region.into(),
                    state: InstanceState::Running,
                    instance_type: "t3.large".into(),
                    architecture: "x86_64".into(),
                    image_id: "ami-00000000000000001".into(),
                    public_ip: Some("203.0.113.10".into()),
                    private_ip: Some("10.0.0.10".into()),
                    launch_time: Some("2026-01-01T00:00:00Z".into()),
                    volume_sizes_gb: vec![volume_gb],
                    tags,
                },
                transition: None,
            },
        );
        id
    }

    /// One API call: waits the modelled latency, then records and checks it.
    async fn call(&self, action: &str, region: &str, resource: Option<&str>) -> CloudResult<()> {
        if !self.timings.api_latency.is_zero() {
            tokio::time::sleep(self.timings.api_latency).await;
        }
        self.enter(action, region, resource)
    }

    #[allow(clippy::result_large_err)] // test double; mirrors the trait's error type
    fn enter(&self, action: &str, region: &str, resource: Option<&str>) -> CloudResult<()> {
        let mut s = self.lock();
        s.calls.push(Call {
            action: action.into(),
            region: region.into(),
            resource: resource.map(Into::into),
            at: Instant::now() - self.epoch,
        });
        if !self.regions.iter().any(|r| r == region) {
            return Err(CloudError::new(
                CloudErrorKind::Transient,
                action,
                region,
                format!("could not connect to the endpoint of region {region}"),
            ));
        }
        let pos = s
            .faults
            .iter()
            .position(|f| f.action == action && f.region.as_deref().is_none_or(|r| r == region));
        if let Some(i) = pos {
            let mut err = s.faults[i].error.clone();
            err.region = region.into();
            err.resource = resource.map(Into::into);
            match &mut s.faults[i].remaining {
                Some(n) if *n <= 1 => {
                    s.faults.remove(i);
                }
                Some(n) => *n -= 1,
                None => {}
            }
            return Err(err);
        }
        Ok(())
    }

    /// Whether this call (which reached the service) loses its answer; uses one up if so.
    fn take_lost(&self, action: &str, region: &str) -> bool {
        let mut s = self.lock();
        let pos = s
            .lost
            .iter()
            .position(|f| f.action == action && f.region.as_deref().is_none_or(|r| r == region));
        let Some(i) = pos else { return false };
        match &mut s.lost[i].remaining {
            Some(n) if *n <= 1 => {
                s.lost.remove(i);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        *s.lost_count.entry(action.to_string()).or_default() += 1;
        true
    }

    fn new_id(s: &mut State, prefix: &str) -> String {
        s.next += 1;
        format!("{prefix}-{:017x}", s.next)
    }

    #[allow(clippy::too_many_arguments)] // internal constructor of a test double
    fn new_image(
        &self,
        s: &mut State,
        region: &str,
        name: &str,
        description: &str,
        arch: &str,
        size_gb: i64,
        ready_after: Duration,
        tags: Tags,
    ) -> String {
        let id = Self::new_id(s, "ami");
        let snap = Self::new_id(s, "snap");
        let now = Instant::now();
        s.snapshots.insert(
            snap.clone(),
            (
                region.to_string(),
                Snapshot {
                    id: snap.clone(),
                    state: SnapshotState::Pending,
                    progress: Some(0),
                    size_gb,
                    description: Some(format!("Created by CreateImage for {id}")),
                    tags: Tags::new(),
                },
            ),
        );
        let failing = s
            .failing_images
            .iter()
            .find(|(r, _)| r == region)
            .map(|(_, why)| why.clone());
        s.images.insert(
            id.clone(),
            FakeImage {
                image: Image {
                    id: id.clone(),
                    region: region.into(),
                    name: name.into(),
                    description: Some(description.into()),
                    state: ImageState::Pending,
                    state_reason: None,
                    owner_id: Some("123456789012".into()),
                    architecture: arch.into(),
                    creation_date: Some(chrono::Utc::now().to_rfc3339()),
                    public: false,
                    encrypted: false,
                    snapshot_ids: vec![],
                    size_gb,
                    tags,
                    root_device_name: Some("/dev/xvda".into()),
                    volumes: vec![crate::ImageVolume {
                        device_name: "/dev/xvda".into(),
                        size_gb: Some(size_gb),
                        snapshot_id: None,
                    }],
                    key: crate::KeyKind::None,
                },
                snapshots_at: now + self.timings.snapshot_visible,
                pending_snapshots: vec![snap],
                ready_at: now + ready_after,
                final_state: if failing.is_some() {
                    ImageState::Failed
                } else {
                    ImageState::Available
                },
                final_reason: failing,
            },
        );
        id
    }
}

/// What a caller gets when a call's answer is lost: what `prism-aws` makes of the SDK's
/// dispatch failure (the connection closed before the answer came).
fn lost_answer(action: &str, region: &str, resource: Option<&str>) -> CloudError {
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

/// One call as the service sees it: [`Service::call`] also decides whether its answer will be
/// lost, and [`Service::deliver`] then replaces the answer. The `Cloud` methods of
/// [`FakeCloud`] each go through one.
struct Service<'a> {
    cloud: &'a FakeCloud,
    lost: Mutex<Option<CloudError>>,
}

impl<'a> Service<'a> {
    fn new(cloud: &'a FakeCloud) -> Self {
        Service {
            cloud,
            lost: Mutex::new(None),
        }
    }

    /// [`FakeCloud::call`], then: does the answer get lost?
    async fn call(&self, action: &str, region: &str, resource: Option<&str>) -> CloudResult<()> {
        self.cloud.call(action, region, resource).await?;
        if self.cloud.take_lost(action, region) {
            *self.lost.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(lost_answer(action, region, resource));
        }
        Ok(())
    }

    /// The answer the caller gets.
    #[allow(clippy::result_large_err)] // test double; mirrors the trait's error type
    fn deliver<T>(self, answer: CloudResult<T>) -> CloudResult<T> {
        match self.lost.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(e) => Err(e),
            None => answer,
        }
    }
}

impl std::ops::Deref for Service<'_> {
    type Target = FakeCloud;
    fn deref(&self) -> &FakeCloud {
        self.cloud
    }
}

/// Runs one `Cloud` method of the service for a caller of the fake.
macro_rules! serve {
    ($cloud:expr, $method:ident($($arg:expr),* $(,)?)) => {{
        let svc = Service::new($cloud);
        let answer = svc.$method($($arg),*).await;
        svc.deliver(answer)
    }};
}

#[async_trait]
impl Cloud for FakeCloud {
    async fn describe_regions(&self, region: &str) -> CloudResult<Vec<String>> {
        serve!(self, describe_regions(region))
    }

    async fn caller_identity(&self, region: &str) -> CloudResult<CallerIdentity> {
        serve!(self, caller_identity(region))
    }

    async fn describe_instances(
        &self,
        region: &str,
        filter: &InstanceFilter,
    ) -> CloudResult<Vec<Instance>> {
        serve!(self, describe_instances(region, filter))
    }

    async fn run_instance(&self, region: &str, spec: &RunSpec) -> CloudResult<Instance> {
        serve!(self, run_instance(region, spec))
    }

    async fn start_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        serve!(self, start_instance(region, instance_id))
    }

    async fn stop_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        serve!(self, stop_instance(region, instance_id))
    }

    async fn terminate_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        serve!(self, terminate_instance(region, instance_id))
    }

    async fn create_image(&self, region: &str, req: &CreateImageRequest) -> CloudResult<String> {
        serve!(self, create_image(region, req))
    }

    async fn describe_images(&self, region: &str, query: &ImageQuery) -> CloudResult<Vec<Image>> {
        serve!(self, describe_images(region, query))
    }

    async fn deregister_image(
        &self,
        region: &str,
        image_id: &str,
        delete_snapshots: bool,
    ) -> CloudResult<()> {
        serve!(self, deregister_image(region, image_id, delete_snapshots))
    }

    async fn describe_snapshots(
        &self,
        region: &str,
        query: &SnapshotQuery,
    ) -> CloudResult<Vec<Snapshot>> {
        serve!(self, describe_snapshots(region, query))
    }

    async fn delete_snapshot(&self, region: &str, snapshot_id: &str) -> CloudResult<()> {
        serve!(self, delete_snapshot(region, snapshot_id))
    }

    async fn create_tags(
        &self,
        region: &str,
        resource_ids: &[String],
        tags: &Tags,
    ) -> CloudResult<()> {
        serve!(self, create_tags(region, resource_ids, tags))
    }

    async fn copy_image(&self, dest_region: &str, req: &CopyImageRequest) -> CloudResult<String> {
        serve!(self, copy_image(dest_region, req))
    }

    async fn share_image(&self, region: &str, image_id: &str, share: &Share) -> CloudResult<()> {
        serve!(self, share_image(region, image_id, share))
    }

    async fn unshare_image(&self, region: &str, image_id: &str, share: &Share) -> CloudResult<()> {
        serve!(self, unshare_image(region, image_id, share))
    }

    async fn launch_permissions(&self, region: &str, image_id: &str) -> CloudResult<Share> {
        serve!(self, launch_permissions(region, image_id))
    }

    async fn public_sharing_blocked(&self, region: &str) -> CloudResult<bool> {
        serve!(self, public_sharing_blocked(region))
    }
}

fn settle(i: &mut FakeInstance, now: Instant) {
    if let Some((at, target)) = i.transition {
        if now >= at {
            i.inst.state = target;
            i.transition = None;
        }
    }
}

fn image_view(i: &FakeImage, now: Instant) -> Image {
    let mut img = i.image.clone();
    if img.state == ImageState::Deregistered {
        return img;
    }
    if now >= i.snapshots_at {
        img.snapshot_ids = i.pending_snapshots.clone();
    }
    if img.state == ImageState::Pending && now >= i.ready_at {
        img.state = i.final_state;
        img.state_reason = i.final_reason.clone();
    }
    img
}

fn not_found(action: &str, region: &str, code: &str, id: &str) -> CloudError {
    CloudError::new(
        CloudErrorKind::NotFound,
        action,
        region,
        format!("The ID '{id}' does not exist"),
    )
    .with_code(code)
    .with_resource(id)
}

fn tags_match(have: &Tags, want: &Tags, keys: &[String]) -> bool {
    want.iter().all(|(k, v)| have.get(k) == Some(v)) && keys.iter().all(|k| have.contains_key(k))
}

fn name_match(pattern: &str, name: &str) -> bool {
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

/// The service itself: each call acts on the state.
#[async_trait]
impl Cloud for Service<'_> {
    async fn describe_regions(&self, region: &str) -> CloudResult<Vec<String>> {
        self.call("DescribeRegions", region, None).await?;
        Ok(self.regions.clone())
    }

    async fn caller_identity(&self, region: &str) -> CloudResult<CallerIdentity> {
        self.call("GetCallerIdentity", region, None).await?;
        Ok(CallerIdentity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/tester".into(),
        })
    }

    async fn describe_instances(
        &self,
        region: &str,
        filter: &InstanceFilter,
    ) -> CloudResult<Vec<Instance>> {
        self.call("DescribeInstances", region, None).await?;
        let now = Instant::now();
        let mut s = self.lock();
        for id in &filter.ids {
            if !s.instances.contains_key(id) {
                return Err(not_found(
                    "DescribeInstances",
                    region,
                    "InvalidInstanceID.NotFound",
                    id,
                ));
            }
        }
        Ok(s.instances
            .values_mut()
            .filter(|i| i.inst.region == region)
            .map(|i| {
                settle(i, now);
                i.inst.clone()
            })
            .filter(|i| filter.ids.is_empty() || filter.ids.contains(&i.id))
            .filter(|i| filter.include_terminated || i.state != InstanceState::Terminated)
            .filter(|i| tags_match(&i.tags, &filter.tags, &filter.tag_keys))
            .collect())
    }

    async fn run_instance(&self, region: &str, spec: &RunSpec) -> CloudResult<Instance> {
        self.call("RunInstances", region, Some(&spec.image_id))
            .await?;
        let now = Instant::now();
        let mut s = self.lock();
        let arch = match s.images.get(&spec.image_id) {
            Some(i) if i.image.region == region => image_view(i, now).architecture,
            _ => {
                return Err(not_found(
                    "RunInstances",
                    region,
                    "InvalidAMIID.NotFound",
                    &spec.image_id,
                ))
            }
        };
        let id = FakeCloud::new_id(&mut s, "i");
        let inst = Instance {
            id: id.clone(),
            region: region.into(),
            state: InstanceState::Pending,
            instance_type: spec.instance_type.clone(),
            architecture: arch,
            image_id: spec.image_id.clone(),
            public_ip: Some("203.0.113.20".into()),
            private_ip: Some("10.0.0.20".into()),
            launch_time: Some(chrono::Utc::now().to_rfc3339()),
            volume_sizes_gb: vec![spec.root_volume_gb.unwrap_or(8)],
            tags: spec.tags.clone(),
        };
        s.instances.insert(
            id,
            FakeInstance {
                inst: inst.clone(),
                transition: Some((now + self.timings.start, InstanceState::Running)),
            },
        );
        Ok(inst)
    }

    async fn start_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        self.call("StartInstances", region, Some(instance_id))
            .await?;
        let now = Instant::now();
        let mut s = self.lock();
        let i = s
            .instances
            .get_mut(instance_id)
            .filter(|i| i.inst.region == region)
            .ok_or_else(|| {
                not_found(
                    "StartInstances",
                    region,
                    "InvalidInstanceID.NotFound",
                    instance_id,
                )
            })?;
        settle(i, now);
        match i.inst.state {
            InstanceState::Stopped => {
                i.inst.state = InstanceState::Pending;
                i.transition = Some((now + self.timings.start, InstanceState::Running));
                Ok(())
            }
            InstanceState::Running | InstanceState::Pending => Ok(()),
            st => Err(CloudError::new(
                CloudErrorKind::InvalidRequest,
                "StartInstances",
                region,
                format!("The instance '{instance_id}' is not in a state from which it can be started ({st})"),
            )
            .with_code("IncorrectInstanceState")
            .with_resource(instance_id)),
        }
    }

    async fn stop_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        self.call("StopInstances", region, Some(instance_id))
            .await?;
        let now = Instant::now();
        let mut s = self.lock();
        let i = s
            .instances
            .get_mut(instance_id)
            .filter(|i| i.inst.region == region)
            .ok_or_else(|| {
                not_found(
                    "StopInstances",
                    region,
                    "InvalidInstanceID.NotFound",
                    instance_id,
                )
            })?;
        settle(i, now);
        match i.inst.state {
            InstanceState::Running | InstanceState::Pending => {
                i.inst.state = InstanceState::Stopping;
                i.transition = Some((now + self.timings.stop, InstanceState::Stopped));
                Ok(())
            }
            InstanceState::Stopped | InstanceState::Stopping => Ok(()),
            st => Err(CloudError::new(
                CloudErrorKind::InvalidRequest,
                "StopInstances",
                region,
                format!("The instance '{instance_id}' is not in a state from which it can be stopped ({st})"),
            )
            .with_code("IncorrectInstanceState")
            .with_resource(instance_id)),
        }
    }

    async fn terminate_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        self.call("TerminateInstances", region, Some(instance_id))
            .await?;
        let mut s = self.lock();
        let i = s
            .instances
            .get_mut(instance_id)
            .filter(|i| i.inst.region == region)
            .ok_or_else(|| {
                not_found(
                    "TerminateInstances",
                    region,
                    "InvalidInstanceID.NotFound",
                    instance_id,
                )
            })?;
        i.inst.state = InstanceState::Terminated;
        i.transition = None;
        Ok(())
    }

    async fn create_image(&self, region: &str, req: &CreateImageRequest) -> CloudResult<String> {
        self.call("CreateImage", region, Some(&req.instance_id))
            .await?;
        // EC2 CreateImage: "Description … Constraints: Up to 255 characters"; "Name … 3-128
        // alphanumeric characters …": refused with InvalidParameterValue (moto accepts both).
        let name_len = req.name.chars().count();
        if req.description.chars().count() > crate::tags::MAX_IMAGE_DESCRIPTION
            || !(3..=128).contains(&name_len)
        {
            return Err(CloudError::new(
                CloudErrorKind::InvalidRequest,
                "CreateImage",
                region,
                "the image name must be 3-128 characters and its description at most 255",
            )
            .with_code("InvalidParameterValue"));
        }
        let now = Instant::now();
        let mut s = self.lock();
        let (arch, size, state) = match s.instances.get_mut(&req.instance_id) {
            Some(i) if i.inst.region == region => {
                settle(i, now);
                (
                    i.inst.architecture.clone(),
                    i.inst
                        .volume_sizes_gb
                        .iter()
                        .map(|v| *v as i64)
                        .sum::<i64>(),
                    i.inst.state,
                )
            }
            _ => {
                return Err(not_found(
                    "CreateImage",
                    region,
                    "InvalidInstanceID.NotFound",
                    &req.instance_id,
                ))
            }
        };
        if !matches!(state, InstanceState::Running | InstanceState::Stopped) {
            return Err(CloudError::new(
                CloudErrorKind::InvalidRequest,
                "CreateImage",
                region,
                format!("instance is {state}"),
            )
            .with_code("IncorrectInstanceState"));
        }
        if !req.no_reboot && state == InstanceState::Running {
            if let Some(i) = s.instances.get_mut(&req.instance_id) {
                // EC2 reboots in place; the instance stays "running" for describe purposes.
                i.inst.state = InstanceState::Running;
            }
        }
        let ready = self.timings.image_available;
        Ok(self.new_image(
            &mut s,
            region,
            &req.name,
            &req.description,
            &arch,
            size,
            ready,
            req.tags.clone(),
        ))
    }

    async fn describe_images(&self, region: &str, query: &ImageQuery) -> CloudResult<Vec<Image>> {
        self.call(
            "DescribeImages",
            region,
            query.ids.first().map(|s| s.as_str()),
        )
        .await?;
        let now = Instant::now();
        let s = self.lock();
        for id in &query.ids {
            let exists = s.images.get(id).is_some_and(|i| {
                i.image.region == region && i.image.state != ImageState::Deregistered
            });
            if !exists {
                return Err(not_found(
                    "DescribeImages",
                    region,
                    "InvalidAMIID.NotFound",
                    id,
                ));
            }
        }
        Ok(s.images
            .values()
            .filter(|i| i.image.region == region)
            .map(|i| image_view(i, now))
            .filter(|i| i.state != ImageState::Deregistered)
            .filter(|i| query.ids.is_empty() || query.ids.contains(&i.id))
            .filter(|i| {
                query.owners.is_empty()
                    || query.owners.iter().any(|o| {
                        i.owner_id.as_deref() == Some(o.as_str())
                            || (o == "self" && i.owner_id.as_deref() == Some("123456789012"))
                            || (o == "amazon" && i.owner_id.as_deref() == Some("137112412989"))
                    })
            })
            .filter(|i| query.name.as_deref().is_none_or(|p| name_match(p, &i.name)))
            .filter(|i| {
                query
                    .architecture
                    .as_deref()
                    .is_none_or(|a| a == i.architecture)
            })
            .filter(|i| tags_match(&i.tags, &query.tags, &query.tag_keys))
            .collect())
    }

    async fn deregister_image(
        &self,
        region: &str,
        image_id: &str,
        _delete_snapshots: bool,
    ) -> CloudResult<()> {
        self.call("DeregisterImage", region, Some(image_id)).await?;
        let mut s = self.lock();
        if let Some(i) = s.images.get_mut(image_id) {
            if i.image.region == region {
                i.image.state = ImageState::Deregistered;
            }
        }
        Ok(())
    }

    async fn describe_snapshots(
        &self,
        region: &str,
        query: &SnapshotQuery,
    ) -> CloudResult<Vec<Snapshot>> {
        self.call(
            "DescribeSnapshots",
            region,
            query.ids.first().map(|s| s.as_str()),
        )
        .await?;
        let now = Instant::now();
        let s = self.lock();
        for id in &query.ids {
            if s.snapshots.get(id).is_none_or(|(r, _)| r != region) {
                return Err(not_found(
                    "DescribeSnapshots",
                    region,
                    "InvalidSnapshot.NotFound",
                    id,
                ));
            }
        }
        Ok(s.snapshots
            .values()
            .filter(|(r, _)| r == region)
            .map(|(_, snap)| {
                let mut snap = snap.clone();
                let owner = s
                    .images
                    .values()
                    .find(|i| i.pending_snapshots.contains(&snap.id));
                if let Some(img) = owner {
                    if now >= img.ready_at {
                        snap.state = SnapshotState::Completed;
                        snap.progress = Some(100);
                    } else {
                        let total = img.ready_at.saturating_duration_since(img.snapshots_at);
                        let done = now.saturating_duration_since(img.snapshots_at);
                        let pct = if total.is_zero() {
                            100
                        } else {
                            (done.as_secs_f64() / total.as_secs_f64() * 100.0).min(99.0) as u8
                        };
                        snap.progress = Some(pct);
                    }
                }
                snap
            })
            .filter(|snap| query.ids.is_empty() || query.ids.contains(&snap.id))
            .filter(|snap| tags_match(&snap.tags, &query.tags, &[]))
            .collect())
    }

    async fn delete_snapshot(&self, region: &str, snapshot_id: &str) -> CloudResult<()> {
        self.call("DeleteSnapshot", region, Some(snapshot_id))
            .await?;
        let mut s = self.lock();
        let in_use = s.images.values().any(|i| {
            i.image.state != ImageState::Deregistered
                && i.pending_snapshots.iter().any(|x| x == snapshot_id)
        });
        if in_use {
            return Err(CloudError::new(
                CloudErrorKind::InvalidRequest,
                "DeleteSnapshot",
                region,
                format!("The snapshot {snapshot_id} is currently in use by an AMI"),
            )
            .with_code("InvalidSnapshot.InUse"));
        }
        s.snapshots.remove(snapshot_id);
        Ok(())
    }

    async fn create_tags(
        &self,
        region: &str,
        resource_ids: &[String],
        tags: &Tags,
    ) -> CloudResult<()> {
        self.call(
            "CreateTags",
            region,
            resource_ids.first().map(|s| s.as_str()),
        )
        .await?;
        let mut s = self.lock();
        for id in resource_ids {
            if let Some(i) = s.images.get_mut(id) {
                i.image.tags.extend(tags.clone());
            } else if let Some(i) = s.instances.get_mut(id) {
                i.inst.tags.extend(tags.clone());
            } else if let Some((_, snap)) = s.snapshots.get_mut(id) {
                snap.tags.extend(tags.clone());
            } else {
                return Err(not_found("CreateTags", region, "InvalidID.NotFound", id));
            }
        }
        Ok(())
    }

    async fn copy_image(&self, dest_region: &str, req: &CopyImageRequest) -> CloudResult<String> {
        self.call("CopyImage", dest_region, Some(&req.source_image_id))
            .await?;
        let now = Instant::now();
        let mut s = self.lock();
        let src = match s.images.get(&req.source_image_id) {
            Some(i) if i.image.region == req.source_region => image_view(i, now),
            _ => {
                return Err(not_found(
                    "CopyImage",
                    dest_region,
                    "InvalidAMIID.NotFound",
                    &req.source_image_id,
                ))
            }
        };
        if src.state != ImageState::Available {
            return Err(CloudError::new(
                CloudErrorKind::InvalidRequest,
                "CopyImage",
                dest_region,
                format!("image {} is {}", src.id, src.state.as_str()),
            )
            .with_code("IncorrectState"));
        }
        let ready = self.timings.copy_available;
        Ok(self.new_image(
            &mut s,
            dest_region,
            &req.name,
            &req.description,
            &src.architecture,
            src.size_gb,
            ready,
            Tags::new(),
        ))
    }

    async fn share_image(&self, region: &str, image_id: &str, share: &Share) -> CloudResult<()> {
        self.call("ModifyImageAttribute", region, Some(image_id))
            .await?;
        let mut s = self.lock();
        let i = s.images.get_mut(image_id).ok_or_else(|| {
            not_found(
                "ModifyImageAttribute",
                region,
                "InvalidAMIID.NotFound",
                image_id,
            )
        })?;
        if share.public {
            if i.image.encrypted {
                return Err(CloudError::new(
                    CloudErrorKind::InvalidRequest,
                    "ModifyImageAttribute",
                    region,
                    "Encrypted images cannot be made public",
                )
                .with_code("InvalidParameter"));
            }
            i.image.public = true;
        }
        let entry = s.shares.entry(image_id.to_string()).or_default();
        for (have, add) in [
            (&mut entry.accounts, &share.accounts),
            (&mut entry.organizations, &share.organizations),
            (&mut entry.organizational_units, &share.organizational_units),
        ] {
            for a in add {
                if !have.contains(a) {
                    have.push(a.clone());
                }
            }
        }
        Ok(())
    }

    async fn unshare_image(&self, region: &str, image_id: &str, share: &Share) -> CloudResult<()> {
        self.call("ModifyImageAttribute", region, Some(image_id))
            .await?;
        let mut s = self.lock();
        let i = s.images.get_mut(image_id).ok_or_else(|| {
            not_found(
                "ModifyImageAttribute",
                region,
                "InvalidAMIID.NotFound",
                image_id,
            )
        })?;
        if share.public {
            i.image.public = false;
        }
        let entry = s.shares.entry(image_id.to_string()).or_default();
        entry.accounts.retain(|a| !share.accounts.contains(a));
        entry
            .organizations
            .retain(|a| !share.organizations.contains(a));
        entry
            .organizational_units
            .retain(|a| !share.organizational_units.contains(a));
        Ok(())
    }

    async fn launch_permissions(&self, region: &str, image_id: &str) -> CloudResult<Share> {
        self.call("DescribeImageAttribute", region, Some(image_id))
            .await?;
        let s = self.lock();
        let i = s.images.get(image_id).ok_or_else(|| {
            not_found(
                "DescribeImageAttribute",
                region,
                "InvalidAMIID.NotFound",
                image_id,
            )
        })?;
        let mut share = s.shares.get(image_id).cloned().unwrap_or_default();
        share.public = i.image.public;
        Ok(share)
    }

    async fn public_sharing_blocked(&self, region: &str) -> CloudResult<bool> {
        self.call("GetImageBlockPublicAccessState", region, None)
            .await?;
        Ok(self.lock().public_blocked.iter().any(|r| r == region))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn create_image_refuses_what_ec2_refuses() {
        let c = FakeCloud::new(FakeTimings::default());
        let id = c.add_instance("us-east-1", Tags::new(), 10);
        let req = |name: &str, description: String| CreateImageRequest {
            instance_id: id.clone(),
            name: name.into(),
            description,
            no_reboot: true,
            tags: Tags::new(),
        };
        for bad in [req("img", "d".repeat(256)), req("x", "d".into())] {
            let e = c.create_image("us-east-1", &bad).await.unwrap_err();
            assert_eq!(e.code.as_deref(), Some("InvalidParameterValue"));
        }
        assert!(c.images().is_empty(), "nothing was created");
        c.create_image("us-east-1", &req("img", "d".repeat(255)))
            .await
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn image_becomes_available_after_virtual_time() {
        let c = FakeCloud::new(FakeTimings::default());
        let id = c.add_instance("us-east-1", Tags::new(), 100);
        let img = c
            .create_image(
                "us-east-1",
                &CreateImageRequest {
                    instance_id: id,
                    name: "img-x".into(),
                    description: "d".into(),
                    no_reboot: true,
                    tags: Tags::new(),
                },
            )
            .await
            .unwrap();
        let q = ImageQuery {
            ids: vec![img.clone()],
            ..Default::default()
        };
        let first = c.describe_images("us-east-1", &q).await.unwrap();
        assert_eq!(first[0].state, ImageState::Pending);
        assert!(first[0].snapshot_ids.is_empty());
        tokio::time::sleep(Duration::from_secs(301)).await;
        let later = c.describe_images("us-east-1", &q).await.unwrap();
        assert_eq!(later[0].state, ImageState::Available);
        assert_eq!(later[0].snapshot_ids.len(), 1);
        assert_eq!(later[0].size_gb, 100);
    }

    #[tokio::test]
    async fn injected_fault_fires_the_given_number_of_times() {
        let c = FakeCloud::new(FakeTimings::default());
        c.fail(
            "DescribeRegions",
            None,
            Some(1),
            CloudErrorKind::Transient,
            "RequestLimitExceeded",
        );
        let e = c.describe_regions("us-east-1").await.unwrap_err();
        assert_eq!(e.code.as_deref(), Some("RequestLimitExceeded"));
        assert!(c.describe_regions("us-east-1").await.is_ok());
    }

    /// The error a lost answer gives: transient, no AWS code, like a dropped connection.
    fn assert_lost(e: &CloudError, action: &str) {
        assert_eq!(e.kind, CloudErrorKind::Transient, "{e}");
        assert!(e.is_transient());
        assert_eq!(e.code, None, "{e}");
        assert_eq!(e.action, action);
        assert!(e.message.contains("dispatch failure"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_answer_comes_after_the_call_acted() {
        let c = FakeCloud::new(FakeTimings::default());
        let ami = c.add_base_image("us-east-1", "137112412989", "base", "x86_64");
        for action in [
            "RunInstances",
            "CreateImage",
            "CopyImage",
            "ModifyImageAttribute",
            "CreateTags",
            "DeleteSnapshot",
        ] {
            c.lose_response(action, None, Some(1));
        }
        let tagged = Tags::from([("prism:operation".to_string(), "op-1".to_string())]);

        // RunInstances: the instance runs, with its tags, though the caller heard nothing.
        let spec = RunSpec {
            image_id: ami.clone(),
            instance_type: "t3.large".into(),
            root_volume_gb: Some(50),
            user_data: None,
            tags: tagged.clone(),
            client_token: "op-1".into(),
        };
        let e = c.run_instance("us-east-1", &spec).await.unwrap_err();
        assert_lost(&e, "RunInstances");
        assert_eq!(e.region, "us-east-1");
        let by_tag = InstanceFilter {
            tags: tagged.clone(),
            ..Default::default()
        };
        let found = c.describe_instances("us-east-1", &by_tag).await.unwrap();
        assert_eq!(found.len(), 1);
        let inst = found[0].id.clone();
        // Once: the next call is answered (and makes a second instance: not idempotent).
        c.run_instance("us-east-1", &spec).await.unwrap();
        assert_eq!(
            c.describe_instances("us-east-1", &by_tag)
                .await
                .unwrap()
                .len(),
            2
        );
        assert_eq!(c.lost_responses("RunInstances"), 1);
        tokio::time::sleep(Duration::from_secs(30)).await;

        // CreateImage: the image exists under its name.
        let req = CreateImageRequest {
            instance_id: inst.clone(),
            name: "saved-1".into(),
            description: "d".into(),
            no_reboot: true,
            tags: tagged.clone(),
        };
        assert_lost(
            &c.create_image("us-east-1", &req).await.unwrap_err(),
            "CreateImage",
        );
        let by_name = ImageQuery {
            name: Some("saved-1".into()),
            ..Default::default()
        };
        let images = c.describe_images("us-east-1", &by_name).await.unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].tags, tagged);
        let image = images[0].id.clone();
        tokio::time::sleep(Duration::from_secs(301)).await;

        // CopyImage: the copy exists in the destination region.
        let copy = CopyImageRequest {
            source_region: "us-east-1".into(),
            source_image_id: image.clone(),
            name: "saved-1".into(),
            description: "d".into(),
            client_token: "op-1-us-west-2".into(),
            tags: Tags::new(),
            kms_key_id: None,
        };
        assert_lost(
            &c.copy_image("us-west-2", &copy).await.unwrap_err(),
            "CopyImage",
        );
        let copies = c.describe_images("us-west-2", &by_name).await.unwrap();
        assert_eq!(copies.len(), 1);
        let copied = copies[0].id.clone();

        // ModifyImageAttribute (share_image): the image is public.
        let public = Share {
            public: true,
            ..Default::default()
        };
        assert_lost(
            &c.share_image("us-east-1", &image, &public)
                .await
                .unwrap_err(),
            "ModifyImageAttribute",
        );
        assert!(
            c.launch_permissions("us-east-1", &image)
                .await
                .unwrap()
                .public
        );

        // CreateTags: the tags are set.
        let more = Tags::from([("k".to_string(), "v".to_string())]);
        assert_lost(
            &c.create_tags("us-west-2", std::slice::from_ref(&copied), &more)
                .await
                .unwrap_err(),
            "CreateTags",
        );
        let q = ImageQuery {
            ids: vec![copied.clone()],
            ..Default::default()
        };
        assert_eq!(
            c.describe_images("us-west-2", &q).await.unwrap()[0]
                .tags
                .get("k")
                .map(String::as_str),
            Some("v")
        );

        // DeleteSnapshot: the snapshot is gone.
        tokio::time::sleep(Duration::from_secs(601)).await;
        let snap = c.describe_images("us-west-2", &q).await.unwrap()[0].snapshot_ids[0].clone();
        c.deregister_image("us-west-2", &copied, false)
            .await
            .unwrap();
        assert_lost(
            &c.delete_snapshot("us-west-2", &snap).await.unwrap_err(),
            "DeleteSnapshot",
        );
        assert!(!c.snapshots().iter().any(|(_, s)| s.id == snap));

        for action in [
            "CreateImage",
            "CopyImage",
            "ModifyImageAttribute",
            "CreateTags",
            "DeleteSnapshot",
        ] {
            assert_eq!(c.lost_responses(action), 1, "{action}");
        }
        // Every loss was used up: the same calls are answered again.
        c.create_tags("us-east-1", std::slice::from_ref(&inst), &more)
            .await
            .unwrap();
        c.share_image("us-east-1", &image, &public).await.unwrap();
    }

    #[tokio::test]
    async fn a_call_refused_before_acting_keeps_its_error_and_the_loss_waits() {
        let c = FakeCloud::new(FakeTimings::default());
        let ami = c.add_base_image("us-east-1", "137112412989", "base", "x86_64");
        let spec = RunSpec {
            image_id: ami,
            instance_type: "t3.large".into(),
            root_volume_gb: None,
            user_data: None,
            tags: Tags::new(),
            client_token: String::new(),
        };
        c.fail(
            "RunInstances",
            None,
            Some(1),
            CloudErrorKind::Transient,
            "RequestLimitExceeded",
        );
        c.lose_response("RunInstances", Some("us-east-1"), Some(1));
        // Refused before acting: nothing runs, the throttling error comes back.
        let e = c.run_instance("us-east-1", &spec).await.unwrap_err();
        assert_eq!(e.code.as_deref(), Some("RequestLimitExceeded"));
        assert!(c.instances().is_empty());
        // Another region is not concerned.
        c.run_instance("us-west-2", &spec).await.unwrap_err(); // no such image there
        assert_eq!(c.lost_responses("RunInstances"), 0);
        // Then the loss: the instance runs, the answer is lost.
        assert_lost(
            &c.run_instance("us-east-1", &spec).await.unwrap_err(),
            "RunInstances",
        );
        assert_eq!(c.instances().len(), 1);
        c.run_instance("us-east-1", &spec).await.unwrap();
        assert_eq!(c.instances().len(), 2);
        // Unlimited: every call acts and loses its answer.
        c.lose_response("DescribeRegions", None, None);
        for _ in 0..3 {
            assert_lost(
                &c.describe_regions("us-east-1").await.unwrap_err(),
                "DescribeRegions",
            );
        }
        assert_eq!(c.lost_responses("DescribeRegions"), 3);
        assert_eq!(
            c.calls()
                .iter()
                .filter(|x| x.action == "RunInstances")
                .count(),
            4
        );
    }

    #[test]
    fn wildcard_names() {
        assert!(name_match(
            "al2023-ami-2023*-x86_64",
            "al2023-ami-2023.4-k6-x86_64"
        ));
        assert!(!name_match(
            "al2023-ami-2023*-x86_64",
            "al2023-ami-2023.4-k6-arm64"
        ));
        assert!(name_match("exact", "exact"));
    }
}
