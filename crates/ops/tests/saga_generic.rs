//! The generic saga tests, run against every step of the save (and launch) sagas: every step
//! repeated (idempotency), and a failure injected after each step in turn (clean unwind),
//! with undos repeated too.

mod common;

use async_trait::async_trait;
use common::{Rig, REGION};
use prism_cloud::fake::FakeTimings;
use prism_cloud::InstanceState;
use prism_ops::saga::{execute, Saga, Step};
use prism_ops::{StepCx, StepError};
use serde_json::Value;
use std::sync::Arc;

/// Runs the inner step twice (and its undo twice).
struct Twice(Arc<dyn Step>);

#[async_trait]
impl Step for Twice {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        self.0.run(cx).await?;
        self.0.run(cx).await
    }
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        self.0.undo(cx).await?;
        self.0.undo(cx).await
    }
}

/// Runs the inner step, then fails as if the answer had been lost.
struct FailAfter(Arc<dyn Step>);

#[async_trait]
impl Step for FailAfter {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        self.0.run(cx).await?;
        Err(StepError::Internal("injected failure".into()))
    }
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        self.0.undo(cx).await?;
        self.0.undo(cx).await
    }
}

fn wrap(saga: Saga, f: impl Fn(usize, Arc<dyn Step>) -> Arc<dyn Step>) -> Saga {
    Saga {
        kind: saga.kind,
        steps: saga
            .steps
            .into_iter()
            .enumerate()
            .map(|(i, s)| f(i, s))
            .collect(),
        finish: saga.finish,
    }
}

async fn run_save(rig: &Rig, saga: &Saga) -> (String, String) {
    let id = rig.workstation("ws", 40).await;
    let (_, op) = prism_ops::save::prepare(
        &rig.env,
        &rig.catalogue(),
        &Rig::save_request("ws", "gen-env", &["us-west-2"]),
        REGION,
    )
    .await
    .unwrap();
    let op_id = op.id.clone();
    rig.env.store.insert_operation(op).await.unwrap().unwrap();
    let status = execute(&rig.env, saga, &op_id).await.unwrap();
    (id, status.as_str().to_string())
}

#[tokio::test(start_paused = true)]
async fn every_save_step_repeated_gives_the_same_end_state() {
    let rig = Rig::new(FakeTimings::default());
    let saga = wrap(prism_ops::save::saga(), |_, s| Arc::new(Twice(s)));
    let (id, status) = run_save(&rig, &saga).await;
    assert_eq!(status, "succeeded");
    assert_eq!(rig.instance_state(&id), InstanceState::Running);
    for r in [REGION, "us-west-2"] {
        assert_eq!(
            rig.own_images().iter().filter(|i| i.region == r).count(),
            1,
            "one image in {r}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_failure_after_each_save_step_unwinds_cleanly() {
    let n = prism_ops::save::saga().steps.len();
    for k in 0..n {
        let rig = Rig::new(FakeTimings::default());
        let saga = wrap(prism_ops::save::saga(), |i, s| {
            if i == k {
                Arc::new(FailAfter(s))
            } else {
                Arc::new(Twice(s))
            }
        });
        let step = saga.steps[k].name();
        let (id, status) = run_save(&rig, &saga).await;
        assert_eq!(status, "failed", "failure after {step}");
        tokio::time::sleep(std::time::Duration::from_secs(120)).await;
        assert_eq!(
            rig.instance_state(&id),
            InstanceState::Running,
            "workstation after a failure in {step}"
        );
        assert!(
            rig.own_images().is_empty(),
            "images left after a failure in {step}: {:?}",
            rig.own_images()
        );
        assert!(
            rig.fake.snapshots().is_empty(),
            "snapshots left after a failure in {step}"
        );
        assert!(
            !rig.env.template_dir.join("gen-env@1.yaml").exists(),
            "template file left after {step}"
        );
    }
    println!("save failure injection points covered: {n}");
}

#[tokio::test(start_paused = true)]
async fn a_failure_after_each_launch_step_leaves_no_instance() {
    let n = prism_ops::launch::saga().steps.len();
    for k in 0..n {
        let rig = Rig::new(FakeTimings::default());
        let ami = rig.fake.add_base_image(
            REGION,
            "099720109477",
            "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20240301",
            "x86_64",
        );
        let req = prism_api::LaunchRequest {
            template: "python-ml".into(),
            name: "l1".into(),
            size: None,
            arch: None,
            project: None,
            aws: Default::default(),
        };
        let op = prism_ops::launch::prepare(&rig.env, &rig.catalogue(), &req, REGION)
            .await
            .unwrap();
        assert_eq!(op.input["image_id"], ami.as_str());
        let op_id = op.id.clone();
        rig.env.store.insert_operation(op).await.unwrap().unwrap();
        let saga = wrap(prism_ops::launch::saga(), |i, s| {
            if i == k {
                Arc::new(FailAfter(s))
            } else {
                Arc::new(Twice(s))
            }
        });
        let status = execute(&rig.env, &saga, &op_id).await.unwrap();
        assert_eq!(status.as_str(), "failed");
        let live = rig
            .fake
            .instances()
            .into_iter()
            .filter(|i| i.state != InstanceState::Terminated)
            .count();
        assert_eq!(live, 0, "instance left after a failure in step {k}");
        assert!(rig.env.store.workstation("l1").await.unwrap().is_none());
    }
}
