//! Save-schedule simulator: runs Prism's real save saga against the in-memory fake EC2 with a
//! latency model, in tokio's virtual time, and measures downtime, time until every region is
//! available, and API calls. Baselines: the same steps in the seeds' order
//! ([`Ordering::Seeds`]), and the save as it was before issue 9 taught it to find its
//! snapshots by description ([`Ordering::ImageSnapshotIds`]).
//!
//! # Latency model
//!
//! All constants are assumptions, stated so they can be replaced by measurements of real EC2:
//! - stop 60 s and start 45 s: typical for EBS-backed Linux instances (EC2 documentation gives
//!   no figure; seen in practice between 30 s and a few minutes);
//! - snapshot initiation 5 s: CreateImage returns within seconds and its snapshots exist
//!   (`pending`) shortly after;
//! - image available: 180 s + 10 s per GiB (first, full snapshot; incremental ones are faster);
//! - region copy available: 300 s + 12 s per GiB after CopyImage (cross-region transfer);
//! - every API call: 150 ms.
//!
//! # EC2 behaviours
//!
//! By default ([`Ec2::Documented`]) the fake is `FakeEc2::default()`: EC2 as AWS documents it.
//! The behaviours that bear on the save's schedule, each an assumption with its source:
//! - **A pending image shows no snapshot ids.** DescribeImages gives a `pending` image's block
//!   device mappings (device, size) but no `SnapshotId` until it is `available` (minutes to
//!   hours), while DescribeSnapshots lists the snapshots CreateImage started, described
//!   "Created by CreateImage(i-…) for ami-…" (EC2 API Reference, DescribeImages and
//!   DescribeSnapshots, <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeImages.html>,
//!   <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSnapshots.html>; the
//!   documentation does not say when the ids appear: the model takes the latest moment, which
//!   is what makes a wait for them cost the whole image time).
//! - **New ids are unknown for a while.** For 2 s after CreateImage, CopyImage or
//!   RunInstances, calls naming the new id answer `…NotFound` and describes do not list it
//!   ("Eventual consistency in the Amazon EC2 API",
//!   <https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>; the length
//!   is an assumption).
//! - **CreateImage right after a stop is refused.** For 3 s after the instance reaches
//!   `stopped`, CreateImage answers `IncorrectInstanceState` ("Error codes for the Amazon EC2
//!   API", <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html>:
//!   "The instance is in an incorrect state, so the requested action can't be completed";
//!   the 3 s are an assumption). The save retries it after 1, 2, 4 … s pauses.
//! - Others modelled by the fake (copy limit of 50 per destination region, snapshots in use
//!   after deregistration, ClientToken idempotency, unique names) do not bear on one save.
//!
//! [`Ec2::Lenient`] (`FakeEc2::lenient()`) turns them all off, like moto: snapshot ids on the
//! image as soon as the snapshots exist, new ids visible at once, CreateImage right after a
//! stop.
//!
//! # Time-based copies (`--copy-within`)
//!
//! [`simulate_copy_within`] saves with `copy_within_minutes`: the fake makes each copy
//! available after `min(copy time, duration)` (`prism_cloud::fake::time_based_copy_ready`,
//! after EBS "Time-based copies",
//! <https://docs.aws.amazon.com/ebs/latest/userguide/time-based-copies.html>: each snapshot is
//! copied within the duration). Assumed: the account's time-based copy throughput quota is not
//! exhausted (500 MiB/s per snapshot, 2,000 MiB/s per region pair by default); a 1,000 GiB copy
//! within 15 minutes needs ~1,140 MiB/s, more than one snapshot's 500 MiB/s, so on real EC2 it
//! would take longer than asked — the simulator does not model that.

use prism_api::{AwsTarget, CaptureMode, SaveRequest, SaveResult};
use prism_cloud::fake::{time_based_copy_ready, Call, FakeCloud, FakeEc2, FakeTimings};
use prism_cloud::{tags, SingleCloud, Tags};
use prism_ops::saga::{execute, Saga};
use prism_ops::{Env, Hooks, OpsConfig};
use prism_store::Store;
use std::sync::Arc;
use std::time::Duration;

mod before;

/// The latency model.
#[derive(Debug, Clone, Copy)]
pub struct Model {
    /// running → stopped.
    pub stop: Duration,
    /// stopped → running.
    pub start: Duration,
    /// CreateImage → snapshots exist.
    pub snapshot_init: Duration,
    /// Image available: base.
    pub image_base: Duration,
    /// Image available: per GiB.
    pub image_per_gb: Duration,
    /// Copy available: base.
    pub copy_base: Duration,
    /// Copy available: per GiB.
    pub copy_per_gb: Duration,
    /// Every API call.
    pub api_latency: Duration,
}

impl Default for Model {
    fn default() -> Self {
        Model {
            stop: Duration::from_secs(60),
            start: Duration::from_secs(45),
            snapshot_init: Duration::from_secs(5),
            image_base: Duration::from_secs(180),
            image_per_gb: Duration::from_secs(10),
            copy_base: Duration::from_secs(300),
            copy_per_gb: Duration::from_secs(12),
            api_latency: Duration::from_millis(150),
        }
    }
}

impl Model {
    /// CreateImage → image available, for a `gb`-GiB volume.
    pub fn image_time(&self, gb: u32) -> Duration {
        self.image_base + self.image_per_gb * gb
    }
    /// CopyImage → copy available, for a `gb`-GiB volume.
    pub fn copy_time(&self, gb: u32) -> Duration {
        self.copy_base + self.copy_per_gb * gb
    }
    /// Shortest possible time until every region is available: stop, then the image, then
    /// (in parallel) the copies.
    pub fn critical_path(&self, gb: u32, copies: usize) -> Duration {
        self.stop
            + self.image_time(gb)
            + if copies > 0 {
                self.copy_time(gb)
            } else {
                Duration::ZERO
            }
    }
    /// The fake's timings for a `gb`-GiB workstation.
    pub fn timings(&self, gb: u32) -> FakeTimings {
        FakeTimings {
            stop: self.stop,
            start: self.start,
            snapshot_visible: self.snapshot_init,
            image_available: self.image_time(gb),
            copy_available: self.copy_time(gb),
            api_latency: self.api_latency,
        }
    }
}

/// Which save saga.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    /// Prism (`prism_ops::save::saga`): restart as soon as the snapshots are initiated, found
    /// by EC2's description.
    Prism,
    /// Prism before issue 9: the same saga, but `wait_snapshots` waits for the image to show
    /// its snapshot ids (see `before.rs`).
    ImageSnapshotIds,
    /// The seeds: restart after the image is available and every copy is done.
    Seeds,
}

/// Which EC2 the fake plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ec2 {
    /// `FakeEc2::default()`: EC2 as documented (see the crate docs).
    Documented,
    /// `FakeEc2::lenient()`: moto-like.
    Lenient,
}

impl Ec2 {
    /// The fake's configuration.
    pub fn fake(self) -> FakeEc2 {
        match self {
            Ec2::Documented => FakeEc2::default(),
            Ec2::Lenient => FakeEc2::lenient(),
        }
    }
}

/// What one simulated save measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The operation's error when the save failed (and unwound); `None` when it succeeded.
    pub failure: Option<String>,
    /// Workstation downtime (stop request → running again). Measured by the save itself when
    /// it succeeds; after a failed save (whose undo starts the workstation and does not wait),
    /// StopInstances → the undo's StartInstances + the model's start time.
    pub downtime: Duration,
    /// Time from the start of the save until every region's image was available (zero when
    /// the save failed).
    pub all_available: Duration,
    /// API calls made by the save.
    pub api_calls: usize,
    /// Largest delay between an image becoming available and the save noticing it.
    pub notice_lag: Duration,
    /// Time from the start of the save until the operation ended (it ends once it has seen
    /// every region's image available, as the fake reports them).
    pub save_finished: Duration,
}

impl Outcome {
    /// Whether the save succeeded.
    pub fn succeeded(&self) -> bool {
        self.failure.is_none()
    }
}

const COPY_REGIONS: [&str; 5] = [
    "us-west-2",
    "eu-west-1",
    "us-east-2",
    "eu-central-1",
    "ap-southeast-2",
];

/// Runs one save of a `gb`-GiB workstation with `copies` copy regions in virtual time, against
/// EC2 as documented.
pub fn simulate(model: &Model, gb: u32, copies: usize, ordering: Ordering) -> Outcome {
    simulate_on(model, gb, copies, ordering, Ec2::Documented)
}

/// [`simulate`] against the chosen EC2.
pub fn simulate_on(model: &Model, gb: u32, copies: usize, ordering: Ordering, ec2: Ec2) -> Outcome {
    simulate_with(model, gb, copies, ordering, ec2.fake())
}

/// [`simulate`] against a fake configured by hand (e.g. another CreateImage-after-stop
/// refusal window).
pub fn simulate_with(
    model: &Model,
    gb: u32,
    copies: usize,
    ordering: Ordering,
    ec2: FakeEc2,
) -> Outcome {
    trace(model, gb, copies, ordering, ec2).0
}

/// One Prism save against EC2 as documented whose region copies are time-based copies completed
/// within `within_minutes` (`--copy-within`); `None`: standard copies.
pub fn simulate_copy_within(
    model: &Model,
    gb: u32,
    copies: usize,
    within_minutes: Option<u32>,
) -> Outcome {
    block_on(run(
        model,
        gb,
        copies,
        Ordering::Prism,
        FakeEc2::default(),
        within_minutes,
    ))
    .0
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
        .block_on(f)
}

/// [`simulate_with`], also returning every API call the save made (virtual time since the
/// fake was made).
pub fn trace(
    model: &Model,
    gb: u32,
    copies: usize,
    ordering: Ordering,
    ec2: FakeEc2,
) -> (Outcome, Vec<Call>) {
    block_on(run(model, gb, copies, ordering, ec2, None))
}

async fn run(
    model: &Model,
    gb: u32,
    copies: usize,
    ordering: Ordering,
    ec2: FakeEc2,
    within_minutes: Option<u32>,
) -> (Outcome, Vec<Call>) {
    let fake = FakeCloud::with_ec2(model.timings(gb), ec2);
    let dir = tempfile::tempdir().expect("a temp dir");
    let env = Env {
        clouds: Arc::new(SingleCloud(Arc::new(fake.clone()))),
        store: Store::open_in_memory().expect("an in-memory store"),
        template_dir: dir.path().join("templates"),
        config: OpsConfig::default(),
        hooks: Hooks::default(),
    };
    let t = Tags::from([
        (tags::MANAGED.to_string(), "true".to_string()),
        (tags::NAME.to_string(), "ws".to_string()),
        (tags::TEMPLATE.to_string(), "python-ml".to_string()),
    ]);
    fake.add_instance("us-east-1", t, gb as i32);
    let req = SaveRequest {
        workstation: "ws".into(),
        template: "sim-env".into(),
        description: None,
        copy_to_regions: COPY_REGIONS[..copies]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        project: None,
        public: false,
        mode: CaptureMode::Stop,
        tags: Default::default(),
        aws: AwsTarget::default(),
        max_wait_seconds: None,
        dry_run: false,
        kms_keys: Default::default(),
        no_inherit: false,
        over_budget: false,
        copy_within_minutes: within_minutes,
    };
    let catalogue = prism_templates::Catalogue::load(None);
    let (_, op) = prism_ops::save::prepare(&env, &catalogue, &req, "us-east-1")
        .await
        .expect("the simulated save is valid");
    let id = op.id.clone();
    env.store
        .insert_operation(op)
        .await
        .expect("store")
        .expect("no conflict");
    let calls_before = fake.calls().len();
    let started = tokio::time::Instant::now();
    let saga: Saga = match ordering {
        Ordering::Prism => prism_ops::save::saga(),
        Ordering::ImageSnapshotIds => before::saga(),
        Ordering::Seeds => prism_ops::save::seed_ordering_saga(),
    };
    execute(&env, &saga, &id).await.expect("the saga runs");
    let save_finished = started.elapsed();
    let row = env.store.operation(&id).await.expect("store").expect("row");
    let calls: Vec<Call> = fake.calls().split_off(calls_before);
    let epoch_offset = calls.first().map(|c| c.at).unwrap_or_default();
    let at = |action: &'static str| times(&calls, action);
    if row.status != "succeeded" {
        let stop = at("StopInstances").next().unwrap_or_default();
        let start = at("StartInstances")
            .last()
            .map_or(Duration::ZERO, |s| s + model.start);
        let outcome = Outcome {
            failure: Some(row.error.unwrap_or_else(|| row.status.clone())),
            downtime: start.saturating_sub(stop),
            all_available: Duration::ZERO,
            api_calls: calls.len(),
            notice_lag: Duration::ZERO,
            save_finished,
        };
        return (outcome, calls);
    }
    let result: SaveResult =
        serde_json::from_value(row.result.expect("result")).expect("a save result");
    // When each image became available (by the model) and when the save first looked at it
    // after that.
    let create_at = at("CreateImage").last().unwrap_or_default();
    let source_ready = create_at + model.image_time(gb);
    let mut ready = vec![source_ready];
    let mut lag = Duration::ZERO;
    let noticed = |region: &str, after: Duration| {
        calls
            .iter()
            .filter(|c| c.action == "DescribeImages" && c.region == region && c.at >= after)
            .map(|c| c.at)
            .next()
    };
    if let Some(n) = noticed("us-east-1", source_ready) {
        lag = lag.max(n - source_ready);
    }
    for c in calls.iter().filter(|c| c.action == "CopyImage") {
        let r = c.at + time_based_copy_ready(model.copy_time(gb), within_minutes);
        ready.push(r);
        if let Some(n) = noticed(&c.region, r) {
            lag = lag.max(n - r);
        }
    }
    let all = ready.into_iter().max().unwrap_or_default();
    let outcome = Outcome {
        failure: None,
        downtime: Duration::from_secs_f64(result.downtime_seconds),
        all_available: all.saturating_sub(epoch_offset),
        api_calls: calls.len(),
        notice_lag: lag,
        save_finished,
    };
    (outcome, calls)
}

/// When `calls` made `action`, in order.
fn times<'a>(calls: &'a [Call], action: &'a str) -> impl Iterator<Item = Duration> + 'a {
    calls
        .iter()
        .filter(move |c| c.action == action)
        .map(|c| c.at)
}
