//! `prism restore WS T@N` on the fake cloud (moto has no replace-root-volume task): the
//! instance keeps its id, private address and data volumes, the new root volume comes from
//! the version's root snapshot, the old root is kept detached and tagged, the store records
//! the new version; every refusal changes nothing; a failed task leaves the instance as it
//! was and says so.

mod common;

use common::{Rig, REGION};
use prism_api::RestoreRequest;
use prism_cloud::fake::FakeTimings;
use prism_cloud::{tags, Cloud, VolumeQuery};
use prism_ops::OpsError;
use prism_store::NewOperation;

/// Workstation `ws` (launched from python-ml, with a 50 GiB data volume) and `lab-env@1`
/// saved from it by a real save.
async fn saved() -> (Rig, String, String) {
    let rig = Rig::new(FakeTimings::default());
    let id = rig.workstation("ws", 20).await;
    let data = rig.fake.attach_volume(&id, "/dev/sdf", 50);
    let op = rig
        .submit_save(&Rig::save_request("ws", "lab-env", &[]))
        .await
        .unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    (rig, id, data)
}

fn req(template: &str) -> RestoreRequest {
    RestoreRequest {
        workstation: "ws".into(),
        template: template.into(),
        ..Default::default()
    }
}

async fn run(rig: &Rig, r: &RestoreRequest) -> Result<prism_store::OperationRow, OpsError> {
    let (_, op) = prism_ops::restore::prepare(&rig.env, &rig.catalogue(), r, REGION).await?;
    let id = rig.runner.submit(op).await?.id;
    Ok(rig.finished(&id).await)
}

async fn attached(rig: &Rig, id: &str) -> Vec<prism_cloud::Volume> {
    rig.fake
        .describe_volumes(
            REGION,
            &VolumeQuery {
                ids: vec![],
                instance_id: Some(id.into()),
            },
        )
        .await
        .unwrap()
}

fn replace_calls(rig: &Rig) -> usize {
    rig.fake
        .calls()
        .iter()
        .filter(|c| c.action == "CreateReplaceRootVolumeTask")
        .count()
}

fn root_of(vols: &[prism_cloud::Volume]) -> prism_cloud::Volume {
    vols.iter()
        .find(|v| v.device.as_deref() == Some("/dev/xvda"))
        .cloned()
        .expect("a root volume")
}

#[tokio::test(start_paused = true)]
async fn restore_replaces_the_root_and_keeps_everything_else() {
    let (rig, id, data) = saved().await;
    let before = rig
        .fake
        .instances()
        .into_iter()
        .find(|i| i.id == id)
        .unwrap();
    let old_root = root_of(&attached(&rig, &id).await).id;
    let image = rig.own_images()[0].clone();
    let root_snap = image.volumes[0].snapshot_id.clone().unwrap();

    let (plan, _) =
        prism_ops::restore::prepare(&rig.env, &rig.catalogue(), &req("lab-env@1"), REGION)
            .await
            .unwrap();
    assert_eq!(plan.image_id, image.id);
    assert_eq!(plan.old_root_volume_id, old_root);
    assert_eq!(plan.current.as_deref(), Some("python-ml"));
    assert_eq!(replace_calls(&rig), 0, "prepare changes nothing");

    let row = run(&rig, &req("lab-env@1")).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    assert_eq!(row.kind, "restore.v1");

    let after = rig
        .fake
        .instances()
        .into_iter()
        .find(|i| i.id == id)
        .expect("same instance id");
    assert_eq!(after.private_ip, before.private_ip);
    assert_eq!(after.public_ip, before.public_ip);
    assert_eq!(after.tags[tags::TEMPLATE], "lab-env");
    assert_eq!(after.tags[tags::TEMPLATE_VERSION], "1");
    let vols = attached(&rig, &id).await;
    assert!(
        vols.iter().any(|v| v.id == data),
        "data volume still attached: {vols:?}"
    );
    let root = root_of(&vols);
    assert_ne!(root.id, old_root);
    assert_eq!(root.snapshot_id.as_deref(), Some(root_snap.as_str()));

    let old = rig
        .fake
        .volumes()
        .into_iter()
        .find(|v| v.id == old_root)
        .expect("old root kept");
    assert_eq!(old.state, "available");
    assert_eq!(old.instance_id, None);
    assert_eq!(old.tags[tags::REPLACED_ROOT_OF], "ws");
    assert_eq!(old.tags[tags::REPLACED_VERSION], "python-ml");
    assert_eq!(old.tags[tags::RESTORED_TO], "lab-env@1");
    assert!(old.tags.contains_key(tags::REPLACED_AT));

    let w = rig.env.store.workstation("ws").await.unwrap().unwrap();
    assert_eq!(w.template.as_deref(), Some("lab-env"));
    assert_eq!(w.template_version.as_deref(), Some("1"));
    let result = row.result.unwrap();
    assert_eq!(result["old_root_volume_id"], old_root);
    assert!(result["delete_old_root"]
        .as_str()
        .unwrap()
        .contains(&format!(
            "delete-volume --region {REGION} --volume-id {old_root}"
        )));
}

/// Refused with `hint`-bearing errors, before anything changes.
async fn refused(rig: &Rig, r: &RestoreRequest, needle: &str) -> OpsError {
    let vols = rig.fake.volumes();
    let e = prism_ops::restore::prepare(&rig.env, &rig.catalogue(), r, REGION)
        .await
        .unwrap_err();
    assert!(e.to_string().contains(needle), "{e}");
    assert_eq!(replace_calls(rig), 0);
    assert_eq!(rig.fake.volumes(), vols, "nothing changed");
    e
}

/// Rewrites the saved version's file (the catalogue reads it).
fn edit_file(rig: &Rig, from: &str, to: &str) {
    for e in std::fs::read_dir(&rig.env.template_dir).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        if text.contains(from) {
            std::fs::write(&p, text.replace(from, to)).unwrap();
        }
    }
}

#[tokio::test(start_paused = true)]
async fn restore_across_architectures_is_refused() {
    let (rig, _, _) = saved().await;
    let ami = rig.own_images()[0].id.clone();
    edit_file(&rig, &format!("x86_64: {ami}"), &format!("arm64: {ami}"));
    let e = refused(
        &rig,
        &req("lab-env@1"),
        "is for arm64 but workstation 'ws' is x86_64",
    )
    .await;
    assert!(matches!(e, OpsError::Invalid { .. }));
}

#[tokio::test(start_paused = true)]
async fn restore_of_a_version_not_in_the_region_names_template_copy() {
    let (rig, _, _) = saved().await;
    edit_file(&rig, &format!("{REGION}:"), "eu-central-1:");
    let e = refused(&rig, &req("lab-env@1"), "has no image in us-east-1").await;
    let OpsError::Invalid { hint, .. } = e else {
        panic!("{e:?}")
    };
    assert!(hint
        .unwrap()
        .contains("prism template copy lab-env@1 --to-region us-east-1"));
}

#[tokio::test(start_paused = true)]
async fn restore_of_another_lineage_is_refused() {
    let (rig, _, _) = saved().await;
    let mut w = rig.env.store.workstation("ws").await.unwrap().unwrap();
    w.template = Some("r-studio".into());
    rig.env.store.upsert_workstation(w).await.unwrap();
    refused(&rig, &req("lab-env@1"), "not in the lineage of 'lab-env'").await;
}

#[tokio::test(start_paused = true)]
async fn restore_of_a_busy_workstation_is_refused() {
    let (rig, _, _) = saved().await;
    rig.env
        .store
        .insert_operation(NewOperation {
            id: "busy-1".into(),
            kind: "stop.v1".into(),
            target: "ws".into(),
            lock_keys: vec!["workstation:ws".into()],
            input: serde_json::json!({}),
        })
        .await
        .unwrap()
        .unwrap();
    let e = refused(&rig, &req("lab-env@1"), "busy with operation busy-1").await;
    assert!(matches!(e, OpsError::Conflict { .. }));
}

#[tokio::test(start_paused = true)]
async fn restore_of_a_stopped_workstation_is_refused() {
    let (rig, id, _) = saved().await;
    rig.fake.stop_instance(REGION, &id).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(120)).await;
    let e = refused(&rig, &req("lab-env@1"), "is stopped").await;
    let OpsError::Invalid { hint, .. } = e else {
        panic!("{e:?}")
    };
    assert_eq!(hint.as_deref(), Some("start it first: prism start ws"));
}

#[tokio::test(start_paused = true)]
async fn restore_of_unknown_names_is_refused() {
    let (rig, _, _) = saved().await;
    let e = refused(&rig, &req("lab-env@9"), "has no version '9'").await;
    assert!(matches!(e, OpsError::NotFound { .. }), "{e:?}");
    let mut r = req("lab-env@1");
    r.workstation = "wz".into();
    let e = refused(&rig, &r, "no workstation named 'wz'").await;
    assert!(matches!(e, OpsError::NotFound { .. }), "{e:?}");
}

#[tokio::test(start_paused = true)]
async fn a_failed_replacement_says_the_workstation_runs_as_before() {
    let (rig, id, _) = saved().await;
    let vols = attached(&rig, &id).await;
    rig.fake.fail_root_replacements_in(REGION);
    let row = run(&rig, &req("lab-env@1")).await.unwrap();
    assert_eq!(row.status, "failed");
    let err = row.error.unwrap_or_default();
    assert!(err.contains("ended failed"), "{err}");
    assert!(err.contains("keeps its original root volume"), "{err}");
    assert_eq!(
        attached(&rig, &id).await,
        vols,
        "the original root stays attached"
    );
    let w = rig.env.store.workstation("ws").await.unwrap().unwrap();
    assert_eq!(w.template.as_deref(), Some("python-ml"), "nothing recorded");
}

/// Back and forth within one lineage: after a restore to `lab-env@1` the workstation runs
/// from it, so a restore to `lab-env@2` tags the root it replaces with `lab-env@1`.
#[tokio::test(start_paused = true)]
async fn restores_move_along_one_lineage_and_name_the_version_replaced() {
    let (rig, id, _) = saved().await;
    let op = rig
        .submit_save(&Rig::save_request("ws", "lab-env", &[]))
        .await
        .unwrap();
    assert_eq!(rig.finished(&op).await.status, "succeeded");
    let row = run(&rig, &req("lab-env@1")).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let first_new_root = root_of(&attached(&rig, &id).await).id;
    let (plan, _) =
        prism_ops::restore::prepare(&rig.env, &rig.catalogue(), &req("lab-env@2"), REGION)
            .await
            .unwrap();
    assert_eq!(plan.current.as_deref(), Some("lab-env@1"));
    let row = run(&rig, &req("lab-env@2")).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let kept = rig
        .fake
        .volumes()
        .into_iter()
        .find(|v| v.id == first_new_root)
        .unwrap();
    assert_eq!(kept.state, "available");
    assert_eq!(kept.tags[tags::REPLACED_VERSION], "lab-env@1");
    assert_eq!(kept.tags[tags::RESTORED_TO], "lab-env@2");
    let w = rig.env.store.workstation("ws").await.unwrap().unwrap();
    assert_eq!(w.template_version.as_deref(), Some("2"));
}

/// A cancel while EC2 replaces the root cannot stop EC2: the undo lets the task end and,
/// since it replaced the root, tags the kept volume and records the new version, so Prism's
/// records say what EC2 did.
#[tokio::test(start_paused = true)]
async fn a_cancel_during_the_replacement_records_what_ec2_did() {
    let (rig, id, _) = saved().await;
    let old_root = root_of(&attached(&rig, &id).await).id;
    let (_, op) =
        prism_ops::restore::prepare(&rig.env, &rig.catalogue(), &req("lab-env@1"), REGION)
            .await
            .unwrap();
    let op = rig.runner.submit(op).await.unwrap().id;
    // Inside wait_task: the fake's task takes 2 s to start and 50 s to end.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert!(rig.env.store.request_cancel(&op).await.unwrap());
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "failed", "{:?}", row.error);
    assert!(row.error.unwrap().contains("cancelled"));
    let root = root_of(&attached(&rig, &id).await);
    assert_ne!(root.id, old_root, "EC2 finished the replacement");
    let old = rig
        .fake
        .volumes()
        .into_iter()
        .find(|v| v.id == old_root)
        .unwrap();
    assert_eq!(old.state, "available");
    assert_eq!(old.tags[tags::RESTORED_TO], "lab-env@1");
    let w = rig.env.store.workstation("ws").await.unwrap().unwrap();
    assert_eq!(w.template_version.as_deref(), Some("1"));
}
