//! A test rig: the real operations over the in-memory fake cloud, an in-memory store and a
//! temporary template directory, on tokio's paused (virtual) clock.

#![allow(dead_code)]

use prism_api::{AwsTarget, CaptureMode, SaveRequest};
use prism_cloud::fake::{FakeCloud, FakeEc2, FakeTimings};
use prism_cloud::{tags, ImageState, InstanceState, SingleCloud, Tags};
use prism_ops::runner::Runner;
use prism_ops::{Env, Hooks, OpsConfig, OpsError};
use prism_store::{OperationRow, Store, WorkstationRow};
use prism_templates::Catalogue;
use std::sync::Arc;
use std::time::Duration;

pub const REGION: &str = "us-east-1";

pub struct Rig {
    pub fake: FakeCloud,
    pub env: Env,
    pub runner: Arc<Runner>,
    pub dir: tempfile::TempDir,
}

impl Rig {
    pub fn new(timings: FakeTimings) -> Rig {
        Rig::with_ec2(timings, FakeEc2::default())
    }

    /// A rig whose fake EC2 behaves as `ec2` says (e.g. a lower copy limit).
    pub fn with_ec2(timings: FakeTimings, ec2: FakeEc2) -> Rig {
        let fake = FakeCloud::with_ec2(timings, ec2);
        let dir = tempfile::tempdir().unwrap();
        let env = Env {
            clouds: Arc::new(SingleCloud(Arc::new(fake.clone()))),
            store: Store::open_in_memory().unwrap(),
            template_dir: dir.path().join("templates"),
            config: OpsConfig::default(),
            hooks: Hooks::default(),
        };
        let runner = Runner::new(env.clone());
        Rig {
            fake,
            env,
            runner,
            dir,
        }
    }

    pub fn catalogue(&self) -> Catalogue {
        Catalogue::load(Some(&self.env.template_dir))
    }

    /// A running managed workstation `name` launched from python-ml.
    pub async fn workstation(&self, name: &str, volume_gb: i32) -> String {
        let t = Tags::from([
            (tags::MANAGED.to_string(), "true".to_string()),
            (tags::NAME.to_string(), name.to_string()),
            (tags::TEMPLATE.to_string(), "python-ml".to_string()),
        ]);
        let id = self.fake.add_instance(REGION, t, volume_gb);
        self.env
            .store
            .upsert_workstation(WorkstationRow {
                name: name.into(),
                instance_id: id.clone(),
                region: REGION.into(),
                state: "running".into(),
                template: Some("python-ml".into()),
                template_version: None,
                project: None,
                size: None,
                instance_type: "t3.large".into(),
                architecture: "x86_64".into(),
                public_ip: None,
                launched_at: None,
                profile: None,
            })
            .await
            .unwrap();
        id
    }

    pub fn save_request(ws: &str, template: &str, copies: &[&str]) -> SaveRequest {
        SaveRequest {
            workstation: ws.into(),
            template: template.into(),
            description: Some("test".into()),
            copy_to_regions: copies.iter().map(|s| s.to_string()).collect(),
            project: None,
            public: false,
            mode: CaptureMode::Stop,
            tags: Default::default(),
            aws: AwsTarget {
                profile: None,
                region: Some(REGION.into()),
            },
            max_wait_seconds: None,
            dry_run: false,
            kms_keys: Default::default(),
            no_inherit: false,
            over_budget: false,
            copy_within_minutes: None,
        }
    }

    /// Prepares and submits a save; returns the operation id.
    pub async fn submit_save(&self, req: &SaveRequest) -> Result<String, OpsError> {
        let (_, op) = prism_ops::save::prepare(&self.env, &self.catalogue(), req, REGION).await?;
        Ok(self.runner.submit(op).await?.id)
    }

    /// Waits (virtual time) until the operation ends.
    pub async fn finished(&self, id: &str) -> OperationRow {
        for _ in 0..200_000 {
            let row = self.env.store.operation(id).await.unwrap().unwrap();
            if !matches!(row.status.as_str(), "running" | "compensating") {
                return row;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        panic!("operation {id} did not finish");
    }

    pub fn instance_state(&self, id: &str) -> InstanceState {
        self.fake
            .instances()
            .into_iter()
            .find(|i| i.id == id)
            .unwrap()
            .state
    }

    /// Our images that still exist (not deregistered).
    pub fn own_images(&self) -> Vec<prism_cloud::Image> {
        self.fake
            .images()
            .into_iter()
            .filter(|i| {
                i.owner_id.as_deref() == Some("123456789012") && i.state != ImageState::Deregistered
            })
            .collect()
    }
}
