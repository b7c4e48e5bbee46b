//! Resuming after the daemon died: what the journal says must be what happens next.

mod common;

use async_trait::async_trait;
use common::{Rig, REGION};
use prism_api::OperationStatus;
use prism_cloud::fake::FakeTimings;
use prism_cloud::InstanceState;
use prism_ops::saga::{execute, Saga, Step};
use prism_ops::{StepCx, StepError};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// A step whose action starts and never ends, as when the daemon dies during it.
struct DiesDuring(Arc<dyn Step>);

#[async_trait]
impl Step for DiesDuring {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    async fn run(&self, _cx: &StepCx) -> Result<Value, StepError> {
        std::future::pending().await
    }
}

/// `saga` with the step named `dies_in` replaced by one the daemon dies during.
fn dying_in(saga: Saga, dies_in: &str) -> Saga {
    Saga {
        kind: saga.kind,
        steps: saga
            .steps
            .into_iter()
            .map(|s| -> Arc<dyn Step> {
                if s.name() == dies_in {
                    Arc::new(DiesDuring(s))
                } else {
                    s
                }
            })
            .collect(),
        finish: saga.finish,
    }
}

/// The data-loss bug of issue 11: a save copies to two regions, one copy fails (kept and
/// reported), and the daemon dies while the save registers its template. Resumed, the save
/// must succeed and keep its good images; the old replay read the failed region's journal
/// line as a failed step and deleted the images in the source and the good region.
#[tokio::test(start_paused = true)]
async fn a_resumed_save_with_a_failed_region_keeps_its_good_images() {
    let rig = Rig::new(FakeTimings::default());
    rig.fake
        .fail_images_in("eu-west-1", "copy denied by an organization policy");
    let ws = rig.workstation("ws", 40).await;
    let (_, op) = prism_ops::save::prepare(
        &rig.env,
        &rig.catalogue(),
        &Rig::save_request("ws", "my-env", &["us-west-2", "eu-west-1"]),
        REGION,
    )
    .await
    .unwrap();
    let op_id = op.id.clone();
    rig.env.store.insert_operation(op).await.unwrap().unwrap();

    // First run: the daemon dies while the template is being registered.
    let first = tokio::time::timeout(
        Duration::from_secs(24 * 3600),
        execute(
            &rig.env,
            &dying_in(prism_ops::save::saga(), "register"),
            &op_id,
        ),
    )
    .await;
    assert!(first.is_err(), "the first run dies in register");
    let events = rig.env.store.events(&op_id).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event == "record" && e.sub.as_deref() == Some("eu-west-1")),
        "the failed region is journaled as a record of its step: {events:?}"
    );

    // The daemon starts again and resumes the operation.
    let status = execute(&rig.env, &prism_ops::save::saga(), &op_id)
        .await
        .unwrap();
    let row = rig.env.store.operation(&op_id).await.unwrap().unwrap();
    assert_eq!(status, OperationStatus::Succeeded, "{:?}", row.error);
    let regions: Vec<String> = rig.own_images().into_iter().map(|i| i.region).collect();
    assert!(
        regions.iter().any(|r| r == REGION) && regions.iter().any(|r| r == "us-west-2"),
        "the good images are kept: {regions:?}"
    );
    assert!(!regions.iter().any(|r| r == "eu-west-1"));
    let result = row.result.unwrap();
    let eu = result["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["region"] == "eu-west-1")
        .unwrap();
    assert_eq!(
        eu["status"], "failed",
        "the failed region is still reported"
    );
    assert!(rig.env.template_dir.join("my-env@1.yaml").exists());
    assert_eq!(rig.instance_state(&ws), InstanceState::Running);
}

/// A journal that a newer Prism wrote is not resumed by guesswork.
#[tokio::test(start_paused = true)]
async fn a_journal_from_a_newer_schema_is_not_replayed() {
    let rig = Rig::new(FakeTimings::default());
    rig.workstation("ws", 40).await;
    let (_, op) = prism_ops::save::prepare(
        &rig.env,
        &rig.catalogue(),
        &Rig::save_request("ws", "my-env", &[]),
        REGION,
    )
    .await
    .unwrap();
    let op_id = op.id.clone();
    rig.env.store.insert_operation(op).await.unwrap().unwrap();
    let sql = format!(
        "INSERT INTO operation_events (op_id, seq, step, event, schema, at) VALUES ('{op_id}', 1, 'stop_instance', 'started', 99, 't')"
    );
    rig.env
        .store
        .call(move |c| c.execute(&sql, []))
        .await
        .unwrap();
    let err = execute(&rig.env, &prism_ops::save::saga(), &op_id)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("newer Prism"), "{err}");
}
