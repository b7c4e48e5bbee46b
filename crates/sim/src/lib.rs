//! Save-schedule simulator: runs Prism's real save saga (and, as the baseline, the same steps
//! in the seeds' order) against the in-memory fake EC2 with a latency model, in tokio's
//! virtual time, and measures downtime, time until every region is available, and API calls.
//!
//! The latency model (all constants are assumptions, stated so they can be replaced by
//! measurements of real EC2):
//! - stop 60 s and start 45 s: typical for EBS-backed Linux instances (EC2 documentation gives
//!   no figure; seen in practice between 30 s and a few minutes);
//! - snapshot initiation 5 s: CreateImage returns within seconds and the snapshot ids appear on
//!   the image shortly after;
//! - image available: 180 s + 10 s per GiB (first, full snapshot; incremental ones are faster);
//! - region copy available: 300 s + 12 s per GiB after CopyImage (cross-region transfer);
//! - every API call: 150 ms.

use prism_api::{AwsTarget, CaptureMode, SaveRequest, SaveResult};
use prism_cloud::fake::{FakeCloud, FakeTimings};
use prism_cloud::{tags, SingleCloud, Tags};
use prism_ops::saga::{execute, Saga};
use prism_ops::{Env, Hooks, OpsConfig};
use prism_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// The latency model.
#[derive(Debug, Clone, Copy)]
pub struct Model {
    /// running → stopped.
    pub stop: Duration,
    /// stopped → running.
    pub start: Duration,
    /// CreateImage → snapshots visible.
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
    fn image_time(&self, gb: u32) -> Duration {
        self.image_base + self.image_per_gb * gb
    }
    fn copy_time(&self, gb: u32) -> Duration {
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
}

/// Which ordering of the save steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    /// Prism: restart as soon as the snapshots are initiated.
    Prism,
    /// The seeds: restart after the image is available and every copy is done.
    Seeds,
}

/// What one simulated save measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Workstation downtime (stop request → running again).
    pub downtime: Duration,
    /// Time from the start of the save until every region's image was available.
    pub all_available: Duration,
    /// API calls made by the save.
    pub api_calls: usize,
    /// Largest delay between an image becoming available and the save noticing it.
    pub notice_lag: Duration,
}

const COPY_REGIONS: [&str; 5] = [
    "us-west-2",
    "eu-west-1",
    "us-east-2",
    "eu-central-1",
    "ap-southeast-2",
];

/// Runs one save of a `gb`-GiB workstation with `copies` copy regions in virtual time.
pub fn simulate(model: &Model, gb: u32, copies: usize, ordering: Ordering) -> Outcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    rt.block_on(run(model, gb, copies, ordering))
}

async fn run(model: &Model, gb: u32, copies: usize, ordering: Ordering) -> Outcome {
    let fake = FakeCloud::new(FakeTimings {
        stop: model.stop,
        start: model.start,
        snapshot_visible: model.snapshot_init,
        image_available: model.image_time(gb),
        copy_available: model.copy_time(gb),
        api_latency: model.api_latency,
    });
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
    let t0 = tokio::time::Instant::now();
    let saga: Saga = match ordering {
        Ordering::Prism => prism_ops::save::saga(),
        Ordering::Seeds => prism_ops::save::seed_ordering_saga(),
    };
    let status = execute(&env, &saga, &id).await.expect("the saga runs");
    assert_eq!(status.as_str(), "succeeded", "simulated save failed");
    let row = env.store.operation(&id).await.expect("store").expect("row");
    let result: SaveResult =
        serde_json::from_value(row.result.expect("result")).expect("a save result");
    let calls = fake.calls();
    // When each image became available (by the model) and when the save last looked at it.
    let epoch_offset = calls[calls_before].at;
    let create_at = calls
        .iter()
        .find(|c| c.action == "CreateImage")
        .map(|c| c.at)
        .unwrap_or_default();
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
        let r = c.at + model.copy_time(gb);
        ready.push(r);
        if let Some(n) = noticed(&c.region, r) {
            lag = lag.max(n - r);
        }
    }
    let all = ready.into_iter().max().unwrap_or_default();
    let _ = t0;
    Outcome {
        downtime: Duration::from_secs_f64(result.downtime_seconds),
        all_available: all.saturating_sub(epoch_offset),
        api_calls: calls.len() - calls_before,
        notice_lag: lag,
    }
}
