//! An in-memory [`Cloud`] for logic tests that behaves like EC2 *as AWS documents it*, not
//! like a kind emulator: states take (tokio) time to change, failures can be injected, and
//! every call is logged so tests can check ordering.
//!
//! # EC2 behaviours modelled (each switchable through [`FakeEc2`]; on by default)
//!
//! - **Pending images hide their snapshot ids** until `available`, though the snapshots exist
//!   from CreateImage/CopyImage on (after [`FakeTimings::snapshot_visible`]) as `pending`
//!   snapshots owned by the account, described as EC2 does ("Created by CreateImage(i-…) for
//!   ami-…", "Copied for DestinationAmi … from SourceAmi … for SourceSnapshot …. Task created
//!   on …"), findable with the `description` filter (`*` wildcards). Progress reaches 100 /
//!   `completed` when the image is available. One snapshot per instance volume, root first.
//! - **Eventual consistency**: for [`FakeEc2::consistency_window`] after RunInstances,
//!   CreateImage or CopyImage, the new id is `…NotFound` to calls naming it, describes by id
//!   answer nothing (as `prism-aws` absorbs `NotFound` there) and describes by filter do not
//!   list it.
//! - **Limits**: image name 3–128 characters, description ≤ 255 (`InvalidParameterValue`);
//!   a root volume smaller than the image's root snapshot (`InvalidBlockDeviceMapping`);
//!   concurrent copies into a region ([`FakeEc2::max_pending_copies_per_region`],
//!   `ResourceLimitExceeded`); no capacity on demand ([`FakeCloud::insufficient_capacity`]).
//! - **Snapshots in use**: DeleteSnapshot of a registered image's snapshot, and for
//!   [`FakeEc2::snapshot_in_use_after_deregister`] after DeregisterImage, answers
//!   `InvalidSnapshot.InUse`; DeregisterImage with `delete_snapshots` deletes them
//!   (`DeleteAssociatedSnapshots`) unless configured as ignored.
//! - **CreateImage right after a stop** (and of a pending/stopping instance) answers
//!   `IncorrectInstanceState`.
//! - **Keys**: a copy of an encrypted image gets the destination's AWS-managed key unless a
//!   `kms_key_id` is given; encrypted images cannot be public; images on an AWS-managed key
//!   can be shared with accounts but the recipients' instances terminate at once.
//! - **Recycle Bin** ([`FakeCloud::set_image_retention_rule`],
//!   [`FakeCloud::set_snapshot_retention_rule`]): deregistered images and deleted snapshots
//!   are kept for the rule's retention period, unshared meanwhile, tags changeable; an image
//!   is restored only after its snapshots, with its sharing; nothing after the period
//!   (`recycle_bin.rs`, each rule cited there).
//! - **CopyImage tags** are on the copy from creation on (`TagSpecifications`).
//! - **Networks and access**: every account has a default VPC (with one subnet) per region
//!   until [`FakeCloud::delete_default_vpc`]; RunInstances without a subnet there answers
//!   `VPCIdNotSpecified`, with an unknown subnet `InvalidSubnetID.NotFound`, with an unknown
//!   key pair or group `InvalidKeyPair.NotFound` / `InvalidGroup.NotFound`, with a group of
//!   another VPC `InvalidParameter`. Key pair names are unique per account and region
//!   (`InvalidKeyPair.Duplicate`), group names per VPC (`InvalidGroup.Duplicate`); a new group
//!   has no inbound rule; a duplicate rule is `InvalidPermission.Duplicate`, revoking a missing
//!   one `InvalidPermission.NotFound`. Instances report `HttpTokens=required` (what `prism-aws`
//!   always sends); the fake's key fingerprint is its own digest, not EC2's.
//! - **Root volume replacement** (`volumes.rs`, "Replace the root volume for an Amazon EC2
//!   instance without stopping it"): instances get one EBS volume per image volume at launch;
//!   `CreateReplaceRootVolumeTask` needs a running instance and an image of its architecture;
//!   the task goes pending → in-progress → succeeded (or `failed`, original kept, in regions
//!   set by [`FakeCloud::fail_root_replacements_in`]); the instance keeps its id, addresses and
//!   data volumes; the original root is kept `available` (`DeleteReplacedRootVolume=false`).
//! - **Accounts**: [`FakeCloud::as_account`] gives a view acting as another account sharing
//!   the state. Instances and snapshots of other accounts are invisible; another account's
//!   image is visible only when public or shared with the caller, and then without its
//!   owner's tags (each account sees only the tags it set); only the owner may share,
//!   unshare, read launch permissions or deregister (`AuthFailure`).
//!
//! # Still kinder than EC2
//!
//! (ClientToken idempotency of RunInstances/CopyImage and unique image names —
//! `InvalidAMIName.Duplicate` — are modelled: `FakeEc2::honour_client_tokens`,
//! `FakeEc2::unique_image_names`.) How long EC2 refuses CreateImage after a stop is not
//! documented (3 s is an assumption); pending images can be launched and copied-from checks only `available`; organizations and
//! OUs in launch permissions grant nothing to anyone (accounts have no organization); KMS
//! grants on customer-managed keys are assumed; snapshots have no consistency window; the
//! per-source-region copy limit (25) is not modelled; throttling happens only when injected.
//!
//! # Injected failures
//!
//! [`FakeCloud::fail`] refuses a call *before* it acts (as a throttled or erroring service
//! does), [`FakeCloud::lose_response`] lets the call act and then loses its answer (as a
//! dropped connection or a timeout does): the effect happens, the caller gets the transient,
//! code-less error that `prism-aws` makes of a dispatch failure or timeout, and must find out
//! for itself whether the call acted.
//!
//! Time is tokio's clock, so `#[tokio::test(start_paused = true)]` makes every wait virtual.

mod config;
mod deprecation;
mod images;
mod instances;
mod network;
mod recycle_bin;
mod sharing;
mod snapshots;
mod state;
mod volumes;

pub use config::{
    time_based_copy_ready, valid_completion_duration, FakeEc2, FakeTimings,
    EC2_MAX_CONCURRENT_COPIES_PER_REGION, TIME_BASED_COPY_MAX_MINUTES,
    TIME_BASED_COPY_STEP_MINUTES,
};
pub use state::{Call, AMAZON_ACCOUNT, DEFAULT_ACCOUNT};

use crate::{
    CallerIdentity, Cloud, CloudError, CloudErrorKind, CloudResult, CopyImageRequest,
    CreateGroupRequest, CreateImageRequest, GroupQuery, Image, ImageQuery, ImageState, IngressRule,
    Instance, InstanceFilter, InstanceState, KeyKind, KeyPair, ReplaceRootQuery,
    ReplaceRootRequest, ReplaceRootTask, RunSpec, SecurityGroup, Share, Snapshot, SnapshotQuery,
    Subnet, Tags, Volume, VolumeQuery,
};
use async_trait::async_trait;
use state::{lost_answer, take_fault, FakeImage, FakeInstance, Fault, State};
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// The in-memory cloud. Clones (and [`FakeCloud::as_account`] views) share one state.
#[derive(Clone)]
pub struct FakeCloud {
    state: Arc<Mutex<State>>,
    timings: FakeTimings,
    ec2: FakeEc2,
    regions: Vec<String>,
    epoch: Instant,
    account: String,
}

impl FakeCloud {
    /// A fake with the given timings, the usual regions, and EC2's documented behaviour
    /// ([`FakeEc2::default`]), acting as account [`DEFAULT_ACCOUNT`].
    pub fn new(timings: FakeTimings) -> Self {
        Self::with_ec2(timings, FakeEc2::default())
    }

    /// A fake with the given timings and behaviour (e.g. [`FakeEc2::lenient`]).
    pub fn with_ec2(timings: FakeTimings, ec2: FakeEc2) -> Self {
        FakeCloud {
            state: Arc::new(Mutex::new(State::default())),
            timings,
            ec2,
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
            account: DEFAULT_ACCOUNT.to_string(),
        }
    }

    /// A view of the same cloud acting as `account` (a 12-digit id): it shares every
    /// resource, fault and log with `self`, but sees and acts as that account does.
    pub fn as_account(&self, account: &str) -> FakeCloud {
        FakeCloud {
            account: account.to_string(),
            ..self.clone()
        }
    }

    /// The account this view acts as.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The behaviour this fake models.
    pub fn ec2(&self) -> &FakeEc2 {
        &self.ec2
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a public, available base image (like a distribution's AMI, 8 GiB root) owned by
    /// `owner` and returns its id. Its snapshot belongs to `owner` and is not listed.
    pub fn add_base_image(&self, region: &str, owner: &str, name: &str, arch: &str) -> String {
        let mut s = self.lock();
        let id = s.new_id("ami");
        let snap = s.new_id("snap");
        let now = Instant::now();
        let day = s.next % 28 + 1;
        let image = Image {
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
            snapshot_ids: vec![snap.clone()],
            size_gb: 8,
            tags: Tags::new(),
            root_device_name: Some("/dev/xvda".into()),
            volumes: state::volumes(&[8], &[snap]),
            key: KeyKind::None,
            deprecation_time: None,
            deregistration_protection: Some("disabled".into()),
        };
        s.images.insert(
            id.clone(),
            FakeImage {
                image,
                created: now - self.ec2.consistency_window,
                snapshots_at: now,
                ready_at: now,
                final_state: ImageState::Available,
                final_reason: None,
                deregistered_at: None,
                is_copy: false,
                foreign_tags: Default::default(),
            },
        );
        id
    }

    /// Sets the account's Recycle Bin retention rule for images: deregistered images are kept
    /// for `days` (EC2 accepts 1 to 365 days; `None`: no rule, they are gone at once).
    pub fn set_image_retention_rule(&self, days: Option<i64>) {
        self.lock().image_retention_days = days;
    }

    /// Sets the account's Recycle Bin retention rule for snapshots: deleted snapshots (also
    /// those `DeleteAssociatedSnapshots` deletes) are kept for `days` (`None`: no rule).
    pub fn set_snapshot_retention_rule(&self, days: Option<i64>) {
        self.lock().snapshot_retention_days = days;
    }

    /// Ids of the snapshots Recycle Bin holds now (retention running or not; inspection).
    pub fn snapshots_in_bin(&self) -> Vec<String> {
        self.lock().snapshot_bin.keys().cloned().collect()
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

    /// Makes the next `times` StartInstances and RunInstances calls in `region` (`None`:
    /// every one) answer `InsufficientInstanceCapacity`, as EC2 does when the zone has no
    /// capacity for the type ("Troubleshoot Amazon EC2 instance launch issues —
    /// Insufficient instance capacity"). Nothing is started or run.
    pub fn insufficient_capacity(&self, region: &str, times: Option<u32>) {
        self.lock().no_capacity.push((region.into(), times));
    }

    /// Makes images created (or copied) in `region` end in state `failed` with `reason`.
    pub fn fail_images_in(&self, region: &str, reason: &str) {
        self.lock()
            .failing_images
            .push((region.into(), reason.into()));
    }

    /// Sets which key encrypts an image's snapshots (and `encrypted` accordingly): an
    /// encrypted image cannot be made public; one on an AWS-managed key is unusable by
    /// the accounts it is shared with.
    pub fn set_key(&self, image_id: &str, key: KeyKind) {
        if let Some(i) = self.lock().images.get_mut(image_id) {
            i.image.encrypted = key != KeyKind::None;
            i.image.key = key;
        }
    }

    /// Turns on image block public access in `region`.
    pub fn block_public_sharing_in(&self, region: &str) {
        self.lock().public_blocked.push(region.into());
    }

    /// Every call so far (of every account view).
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Every image that exists (not deregistered), across regions and accounts, as its owner
    /// sees it now (snapshot ids hidden while pending, as EC2 does).
    pub fn images(&self) -> Vec<Image> {
        let now = Instant::now();
        let s = self.lock();
        s.images
            .values()
            .filter(|i| !i.is_deregistered())
            .map(|i| i.view(now, i.owner(), &self.ec2))
            .collect()
    }

    /// The snapshot ids an image holds (deregistered or not), whether EC2 shows them on the
    /// image yet or not (inspection; EC2 hides them while the image is pending).
    pub fn image_snapshot_ids(&self, image_id: &str) -> Vec<String> {
        self.lock()
            .images
            .get(image_id)
            .map(|i| i.image.snapshot_ids.clone())
            .unwrap_or_default()
    }

    /// Every snapshot that exists (of every account, visible yet or not), with its region.
    pub fn snapshots(&self) -> Vec<(String, Snapshot)> {
        let now = Instant::now();
        let s = self.lock();
        s.snapshots
            .values()
            .map(|f| (f.region.clone(), s.snapshot_view(f, now)))
            .collect()
    }

    /// Every instance of every account, with its current state.
    pub fn instances(&self) -> Vec<Instance> {
        let now = Instant::now();
        let mut s = self.lock();
        s.instances
            .values_mut()
            .map(|i| {
                i.settle(now);
                i.inst.clone()
            })
            .collect()
    }

    /// Adds a running instance of this view's account directly (test setup, visible at
    /// once) with one root volume of `volume_gb` GiB, and returns its id.
    pub fn add_instance(&self, region: &str, tags: Tags, volume_gb: i32) -> String {
        let mut s = self.lock();
        let id = s.new_id("i");
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
                    key_name: None,
                    security_group_ids: vec![],
                    subnet_id: None,
                    http_tokens: Some("required".into()),
                    root_device_name: Some("/dev/xvda".into()),
                },
                owner: self.account.clone(),
                created: Instant::now() - self.ec2.consistency_window,
                transition: None,
                stopped_at: None,
            },
        );
        let account = self.account.clone();
        s.add_volume(
            &account,
            region,
            Some((&id, "/dev/xvda")),
            None,
            i64::from(volume_gb),
        );
        id
    }

    /// Attaches a new (data) volume of `size_gb` GiB to `instance_id` at `device` (test
    /// setup) and returns its id.
    pub fn attach_volume(&self, instance_id: &str, device: &str, size_gb: i64) -> String {
        let mut s = self.lock();
        let (owner, region) = match s.instances.get(instance_id) {
            Some(i) => (i.owner.clone(), i.inst.region.clone()),
            None => return String::new(),
        };
        let id = s.add_volume(&owner, &region, Some((instance_id, device)), None, size_gb);
        if let Some(i) = s.instances.get_mut(instance_id) {
            i.inst.volume_sizes_gb.push(size_gb as i32);
        }
        id
    }

    /// Every volume (of every account), with replace-root-volume tasks settled to now.
    pub fn volumes(&self) -> Vec<Volume> {
        let mut s = self.lock();
        s.settle_root_tasks(Instant::now());
        s.volumes.values().map(|v| v.vol.clone()).collect()
    }

    /// Makes replace-root-volume tasks started in `region` from now on end `failed` (the
    /// original root volume still attached).
    pub fn fail_root_replacements_in(&self, region: &str) {
        self.lock().failing_root_tasks.push(region.into());
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
        if let Some(f) = take_fault(&mut s.faults, action, region) {
            let mut err = f.error;
            err.region = region.into();
            err.resource = resource.map(Into::into);
            return Err(err);
        }
        Ok(())
    }

    /// Whether this call (which reached the service) loses its answer; uses one up if so.
    fn take_lost(&self, action: &str, region: &str) -> bool {
        let mut s = self.lock();
        if take_fault(&mut s.lost, action, region).is_none() {
            return false;
        }
        *s.lost_count.entry(action.to_string()).or_default() += 1;
        true
    }
}

/// One call as the service sees it: [`Service::call`] also decides whether its answer will be
/// lost, and [`Service::deliver`] then replaces the answer. The `Cloud` methods of
/// [`FakeCloud`] each go through one; the service's methods (same names as the trait's) live
/// in `instances`, `images`, `snapshots` and `sharing`.
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

    async fn describe_regions(&self, region: &str) -> CloudResult<Vec<String>> {
        self.call("DescribeRegions", region, None).await?;
        Ok(self.regions.clone())
    }

    async fn caller_identity(&self, region: &str) -> CloudResult<CallerIdentity> {
        self.call("GetCallerIdentity", region, None).await?;
        Ok(CallerIdentity {
            account: self.account.clone(),
            arn: format!("arn:aws:iam::{}:user/tester", self.account),
        })
    }
}

impl std::ops::Deref for Service<'_> {
    type Target = FakeCloud;
    fn deref(&self) -> &FakeCloud {
        self.cloud
    }
}

/// Runs one method of the service for a caller of the fake.
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

    async fn modify_snapshot_copy_permission(
        &self,
        region: &str,
        snapshot_id: &str,
        share: &Share,
        remove: bool,
    ) -> CloudResult<()> {
        serve!(
            self,
            modify_snapshot_copy_permission(region, snapshot_id, share, remove)
        )
    }

    async fn snapshot_copy_permissions(
        &self,
        region: &str,
        snapshot_id: &str,
    ) -> CloudResult<Share> {
        serve!(self, snapshot_copy_permissions(region, snapshot_id))
    }

    async fn public_sharing_blocked(&self, region: &str) -> CloudResult<bool> {
        serve!(self, public_sharing_blocked(region))
    }

    async fn describe_key_pair(&self, region: &str, name: &str) -> CloudResult<Option<KeyPair>> {
        serve!(self, describe_key_pair(region, name))
    }

    async fn import_key_pair(
        &self,
        region: &str,
        name: &str,
        public_key: &str,
        tags: &Tags,
    ) -> CloudResult<KeyPair> {
        serve!(self, import_key_pair(region, name, public_key, tags))
    }

    async fn describe_security_groups(
        &self,
        region: &str,
        query: &GroupQuery,
    ) -> CloudResult<Vec<SecurityGroup>> {
        serve!(self, describe_security_groups(region, query))
    }

    async fn create_security_group(
        &self,
        region: &str,
        req: &CreateGroupRequest,
    ) -> CloudResult<String> {
        serve!(self, create_security_group(region, req))
    }

    async fn authorize_ingress(
        &self,
        region: &str,
        group_id: &str,
        rule: &IngressRule,
    ) -> CloudResult<()> {
        serve!(self, authorize_ingress(region, group_id, rule))
    }

    async fn revoke_ingress(
        &self,
        region: &str,
        group_id: &str,
        rule: &IngressRule,
    ) -> CloudResult<()> {
        serve!(self, revoke_ingress(region, group_id, rule))
    }

    async fn default_vpc(&self, region: &str) -> CloudResult<Option<String>> {
        serve!(self, default_vpc(region))
    }

    async fn describe_subnet(&self, region: &str, subnet_id: &str) -> CloudResult<Option<Subnet>> {
        serve!(self, describe_subnet(region, subnet_id))
    }

    async fn enable_image_deprecation(
        &self,
        region: &str,
        image_id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> CloudResult<()> {
        serve!(self, enable_image_deprecation(region, image_id, at))
    }

    async fn disable_image_deprecation(&self, region: &str, image_id: &str) -> CloudResult<()> {
        serve!(self, disable_image_deprecation(region, image_id))
    }

    async fn delete_tags(
        &self,
        region: &str,
        resource_ids: &[String],
        keys: &[String],
    ) -> CloudResult<()> {
        serve!(self, delete_tags(region, resource_ids, keys))
    }

    async fn images_in_recycle_bin(
        &self,
        region: &str,
        image_ids: &[String],
    ) -> CloudResult<Vec<crate::RecycledImage>> {
        serve!(self, images_in_recycle_bin(region, image_ids))
    }

    async fn snapshots_in_recycle_bin(
        &self,
        region: &str,
        snapshot_ids: &[String],
    ) -> CloudResult<Vec<crate::RecycledSnapshot>> {
        serve!(self, snapshots_in_recycle_bin(region, snapshot_ids))
    }

    async fn restore_snapshot_from_recycle_bin(
        &self,
        region: &str,
        snapshot_id: &str,
    ) -> CloudResult<()> {
        serve!(self, restore_snapshot_from_recycle_bin(region, snapshot_id))
    }

    async fn restore_image_from_recycle_bin(
        &self,
        region: &str,
        image_id: &str,
    ) -> CloudResult<()> {
        serve!(self, restore_image_from_recycle_bin(region, image_id))
    }

    async fn enable_deregistration_protection(
        &self,
        region: &str,
        image_id: &str,
        with_cooldown: bool,
    ) -> CloudResult<()> {
        serve!(
            self,
            enable_deregistration_protection(region, image_id, with_cooldown)
        )
    }

    async fn disable_deregistration_protection(
        &self,
        region: &str,
        image_id: &str,
    ) -> CloudResult<()> {
        serve!(self, disable_deregistration_protection(region, image_id))
    }

    async fn describe_volumes(
        &self,
        region: &str,
        query: &VolumeQuery,
    ) -> CloudResult<Vec<Volume>> {
        serve!(self, describe_volumes(region, query))
    }

    async fn create_replace_root_volume_task(
        &self,
        region: &str,
        req: &ReplaceRootRequest,
    ) -> CloudResult<ReplaceRootTask> {
        serve!(self, create_replace_root_volume_task(region, req))
    }

    async fn describe_replace_root_volume_tasks(
        &self,
        region: &str,
        query: &ReplaceRootQuery,
    ) -> CloudResult<Vec<ReplaceRootTask>> {
        serve!(self, describe_replace_root_volume_tasks(region, query))
    }
}

#[cfg(test)]
mod tests;
