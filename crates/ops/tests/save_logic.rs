//! The save operation's schedule, waits and failure handling on the fake cloud with a virtual
//! clock (moto makes images available instantly, so these cases cannot be shown there).

mod common;

use common::{Rig, REGION};
use prism_cloud::fake::FakeTimings;
use prism_cloud::{CloudErrorKind, InstanceState};
use prism_ops::OpsError;
use serde_json::Value;
use std::time::Duration;

fn result(row: &prism_store::OperationRow) -> prism_api::SaveResult {
    serde_json::from_value(row.result.clone().expect("a result")).unwrap()
}

#[tokio::test(start_paused = true)]
async fn pending_to_available_restarts_before_waiting_and_before_copies() {
    let rig = Rig::new(FakeTimings::default());
    let id = rig.workstation("ws", 100).await;
    let op = rig
        .submit_save(&Rig::save_request(
            "ws",
            "my-env",
            &["us-west-2", "eu-west-1"],
        ))
        .await
        .unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let r = result(&row);
    assert_eq!(r.regions.len(), 3);
    assert!(r.regions.iter().all(|x| x.error.is_none()));
    assert_eq!(rig.instance_state(&id), InstanceState::Running);

    let calls = rig.fake.calls();
    let pos = |action: &str| {
        calls
            .iter()
            .position(|c| c.action == action)
            .unwrap_or_else(|| panic!("no {action}"))
    };
    let start = pos("StartInstances");
    let create = pos("CreateImage");
    let first_copy = pos("CopyImage");
    assert!(
        pos("StopInstances") < create && create < start,
        "stop → create → start"
    );
    assert!(
        start < first_copy,
        "StartInstances must come before any CopyImage"
    );
    // The image became available 300 s (virtual) after CreateImage; the start came long before.
    let created_at = calls[create].at;
    assert!(
        calls[start].at < created_at + Duration::from_secs(60),
        "restart did not wait for `available`: {:?} vs {:?}",
        calls[start].at,
        created_at
    );
    // Downtime = stop (30 s) + snapshots visible (2 s) + start (20 s), plus poll slack — nowhere
    // near the 300 s image wait or the 600 s copies.
    assert!(
        r.downtime_seconds >= 50.0 && r.downtime_seconds < 80.0,
        "downtime {}",
        r.downtime_seconds
    );
    assert!(
        r.total_seconds > 600.0,
        "copies take 600 s after the image is available"
    );
    // Recorded with the version.
    let v = rig.env.store.template_versions("my-env").await.unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].downtime_seconds, Some(r.downtime_seconds));
    let yaml = std::fs::read_to_string(&r.path).unwrap();
    assert!(yaml.contains("downtime_seconds"));
    assert!(yaml.contains("us-west-2") && yaml.contains("eu-west-1"));
}

#[tokio::test(start_paused = true)]
async fn pending_to_failed_unwinds_image_snapshots_and_leaves_workstation_running() {
    let rig = Rig::new(FakeTimings::default());
    rig.fake
        .fail_images_in(REGION, "Client.InternalError: snapshot failed");
    let id = rig.workstation("ws", 50).await;
    let op = rig
        .submit_save(&Rig::save_request("ws", "my-env", &["us-west-2"]))
        .await
        .unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "failed");
    let err = row.error.unwrap();
    assert!(
        err.contains("failed") && err.contains("snapshot failed"),
        "{err}"
    );
    assert_eq!(rig.instance_state(&id), InstanceState::Running);
    assert!(
        rig.own_images().is_empty(),
        "image deregistered: {:?}",
        rig.own_images()
    );
    assert!(
        rig.fake.snapshots().is_empty(),
        "snapshots deleted: {:?}",
        rig.fake.snapshots()
    );
    assert!(!rig.fake.calls().iter().any(|c| c.action == "CopyImage"));
    assert!(rig
        .env
        .store
        .template_versions("my-env")
        .await
        .unwrap()
        .is_empty());
    assert!(!rig.env.template_dir.join("my-env@1.yaml").exists());
}

#[tokio::test(start_paused = true)]
async fn a_failed_copy_keeps_the_version_and_reports_the_region() {
    let rig = Rig::new(FakeTimings::default());
    rig.fake
        .fail_images_in("eu-west-1", "copy failed: KMS key unavailable");
    let id = rig.workstation("ws", 50).await;
    let op = rig
        .submit_save(&Rig::save_request(
            "ws",
            "my-env",
            &["us-west-2", "eu-west-1"],
        ))
        .await
        .unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let r = result(&row);
    let eu = r.regions.iter().find(|x| x.region == "eu-west-1").unwrap();
    assert_eq!(eu.status, "failed");
    assert!(eu.error.as_deref().unwrap().contains("KMS key unavailable"));
    assert!(r
        .warnings
        .iter()
        .any(|w| w.contains("prism template copy my-env@1 --to-region eu-west-1")));
    let images = rig.own_images();
    let regions: Vec<&str> = images.iter().map(|i| i.region.as_str()).collect();
    assert!(regions.contains(&REGION) && regions.contains(&"us-west-2"));
    assert!(
        !regions.contains(&"eu-west-1"),
        "the failed copy is removed"
    );
    let yaml = std::fs::read_to_string(&r.path).unwrap();
    assert!(yaml.contains("us-west-2") && !yaml.contains("eu-west-1"));
    assert_eq!(rig.instance_state(&id), InstanceState::Running);
}

#[tokio::test(start_paused = true)]
async fn a_start_that_fails_after_the_image_was_created_compensates() {
    let rig = Rig::new(FakeTimings::default());
    // First StartInstances (the save's restart) fails for good (a refusal that is not
    // "try later": InsufficientInstanceCapacity is waited out, see below); the undo's start
    // then succeeds.
    rig.fake.fail(
        "StartInstances",
        None,
        Some(5),
        CloudErrorKind::InvalidRequest,
        "Unsupported",
    );
    let id = rig.workstation("ws", 50).await;
    let op = rig
        .submit_save(&Rig::save_request("ws", "my-env", &[]))
        .await
        .unwrap();
    let row = rig.finished(&op).await;
    // The undo of stop_instance retries its start until the injected failures are used up.
    assert!(
        row.error
            .as_deref()
            .unwrap_or_default()
            .contains("Unsupported"),
        "{:?}",
        row.error
    );
    assert_eq!(row.status, "failed");
    assert!(rig.own_images().is_empty());
    assert!(rig.fake.snapshots().is_empty());
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        rig.instance_state(&id),
        InstanceState::Running,
        "the workstation ends as it started"
    );
}

#[tokio::test(start_paused = true)]
async fn waits_give_up_at_their_deadline_and_compensate() {
    let rig = Rig::new(FakeTimings {
        image_available: Duration::from_secs(10 * 3600),
        ..Default::default()
    });
    let id = rig.workstation("ws", 50).await;
    let op = rig
        .submit_save(&Rig::save_request("ws", "my-env", &[]))
        .await
        .unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "failed");
    assert!(row.error.unwrap().contains("timed out after 21600s"));
    assert!(rig.own_images().is_empty());
    assert_eq!(rig.instance_state(&id), InstanceState::Running);
    // Bounded exponential backoff, intervals under a tenth of the time waited: ~100 polls over
    // 6 h, not thousands.
    let polls = rig
        .fake
        .calls()
        .iter()
        .filter(|c| c.action == "DescribeImages")
        .count();
    assert!(polls < 450, "{polls} DescribeImages calls");
}

#[tokio::test(start_paused = true)]
async fn a_second_save_of_the_same_workstation_is_refused_with_the_running_operation() {
    let rig = Rig::new(FakeTimings::default());
    rig.workstation("ws", 50).await;
    let first = rig
        .submit_save(&Rig::save_request("ws", "env-a", &[]))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    match rig
        .submit_save(&Rig::save_request("ws", "env-b", &[]))
        .await
    {
        Err(OpsError::Conflict {
            operation_id,
            message,
        }) => {
            assert_eq!(operation_id, first);
            assert!(message.contains("busy"));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(rig.finished(&first).await.status, "succeeded");
    // Once done, another save goes through.
    let again = rig
        .submit_save(&Rig::save_request("ws", "env-b", &[]))
        .await
        .unwrap();
    assert_eq!(rig.finished(&again).await.status, "succeeded");
}

#[tokio::test(start_paused = true)]
async fn workstations_in_transitional_states_are_refused_before_anything_changes() {
    let rig = Rig::new(FakeTimings::default());
    let id = rig.workstation("ws", 50).await;
    use prism_cloud::Cloud;
    rig.fake.stop_instance(REGION, &id).await.unwrap(); // now "stopping" for 30 s
    let before = rig.fake.calls().len();
    let err = rig
        .submit_save(&Rig::save_request("ws", "my-env", &[]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is stopping"), "{err}");
    let mutating = rig.fake.calls()[before..]
        .iter()
        .filter(|c| !c.action.starts_with("Describe") && c.action != "GetCallerIdentity")
        .count();
    assert_eq!(mutating, 0);
    rig.fake.terminate_instance(REGION, &id).await.unwrap();
    let err = rig
        .submit_save(&Rig::save_request("ws", "my-env", &[]))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no workstation named 'ws'")
            || err.to_string().contains("terminated"),
        "{err}"
    );
    assert!(rig.env.store.operations(10).await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_stopped_workstation_is_saved_without_stop_or_start() {
    let rig = Rig::new(FakeTimings::default());
    let id = rig.workstation("ws", 50).await;
    use prism_cloud::Cloud;
    rig.fake.stop_instance(REGION, &id).await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let before = rig.fake.calls().len();
    let op = rig
        .submit_save(&Rig::save_request("ws", "my-env", &[]))
        .await
        .unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "succeeded");
    let calls = &rig.fake.calls()[before..];
    assert!(!calls
        .iter()
        .any(|c| c.action == "StopInstances" || c.action == "StartInstances"));
    assert_eq!(rig.instance_state(&id), InstanceState::Stopped);
    assert_eq!(result(&row).downtime_seconds, 0.0);
}

#[tokio::test(start_paused = true)]
async fn cancel_during_the_wait_compensates() {
    let rig = Rig::new(FakeTimings::default());
    let id = rig.workstation("ws", 50).await;
    let op = rig
        .submit_save(&Rig::save_request("ws", "my-env", &["us-west-2"]))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(120)).await; // inside wait_available
    assert!(rig.env.store.request_cancel(&op).await.unwrap());
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "failed");
    assert!(row.error.unwrap().contains("cancelled"));
    assert!(rig.own_images().is_empty());
    assert!(rig.fake.snapshots().is_empty());
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(rig.instance_state(&id), InstanceState::Running);
    let events = rig.env.store.events(&op).await.unwrap();
    assert!(events
        .iter()
        .any(|e| e.step == "create_image" && e.event == "undo-finished"));
    let _: Value = serde_json::json!(events.len());
}

#[tokio::test(start_paused = true)]
async fn throttling_and_lost_answers_do_not_duplicate_images() {
    let rig = Rig::new(FakeTimings::default());
    rig.fake.fail(
        "DescribeImages",
        None,
        Some(3),
        CloudErrorKind::Transient,
        "RequestLimitExceeded",
    );
    rig.fake.fail(
        "CopyImage",
        None,
        Some(1),
        CloudErrorKind::Transient,
        "InternalError",
    );
    let id = rig.workstation("ws", 50).await;
    let op = rig
        .submit_save(&Rig::save_request("ws", "my-env", &["us-west-2"]))
        .await
        .unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let per_region = |r: &str| rig.own_images().iter().filter(|i| i.region == r).count();
    assert_eq!(per_region(REGION), 1);
    assert_eq!(per_region("us-west-2"), 1);
    assert_eq!(rig.instance_state(&id), InstanceState::Running);
}

#[tokio::test(start_paused = true)]
async fn copy_regions_are_checked_with_one_describe_regions_call() {
    let rig = Rig::new(FakeTimings::default());
    rig.workstation("ws", 50).await;
    let before = rig.fake.calls().len();
    let req = Rig::save_request("ws", "my-env", &["us-west-2", "eu-west-1", "us-east-2"]);
    prism_ops::save::prepare(&rig.env, &rig.catalogue(), &req, REGION)
        .await
        .unwrap();
    let n = rig.fake.calls()[before..]
        .iter()
        .filter(|c| c.action == "DescribeRegions")
        .count();
    assert_eq!(n, 1);
    let bad = Rig::save_request("ws", "my-env", &["us-west-2", "eu-north-99"]);
    let err = prism_ops::save::prepare(&rig.env, &rig.catalogue(), &bad, REGION)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("unknown or disabled region 'eu-north-99'"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn max_wait_raises_the_image_deadline_and_bounds_each_copy() {
    // The image takes 10 h (past the 6 h default) and copies 3 h.
    let rig = Rig::new(FakeTimings {
        image_available: Duration::from_secs(10 * 3600),
        copy_available: Duration::from_secs(3 * 3600),
        ..Default::default()
    });
    let id = rig.workstation("ws", 50).await;
    let mut req = Rig::save_request("ws", "big-env", &["us-west-2"]);
    req.max_wait_seconds = Some(11 * 3600);
    let op = rig.submit_save(&req).await.unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let r = result(&row);
    assert!(r.regions.iter().all(|x| x.status == "available"), "{r:?}");
    assert_eq!(rig.instance_state(&id), InstanceState::Running);

    // 2 h: the image (1 h) makes it, the copy (3 h) is given up at 2 h, the version is kept.
    let rig = Rig::new(FakeTimings {
        image_available: Duration::from_secs(3600),
        copy_available: Duration::from_secs(3 * 3600),
        ..Default::default()
    });
    rig.workstation("ws", 50).await;
    let mut req = Rig::save_request("ws", "big-env", &["us-west-2"]);
    req.max_wait_seconds = Some(2 * 3600);
    let op = rig.submit_save(&req).await.unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let r = result(&row);
    let west = r.regions.iter().find(|x| x.region == "us-west-2").unwrap();
    assert_eq!(west.status, "failed");
    assert!(
        west.error
            .as_deref()
            .unwrap()
            .contains("timed out after 7200s"),
        "{west:?}"
    );
}

/// `--copy-within`: the duration reaches CopyImage, so on the fake (EC2's time-based copy as
/// the EBS User Guide documents it) a copy that takes 3 h as a standard copy is available
/// within the 1 h asked, inside a 2 h wait that a standard copy misses (see
/// `max_wait_raises_the_image_deadline_and_bounds_each_copy`). The plan prices it per region.
#[tokio::test(start_paused = true)]
async fn a_time_based_copy_is_ready_within_its_duration_and_priced_in_the_plan() {
    let rig = Rig::new(FakeTimings {
        image_available: Duration::from_secs(3600),
        copy_available: Duration::from_secs(3 * 3600),
        ..Default::default()
    });
    rig.workstation("ws", 50).await;
    let mut req = Rig::save_request("ws", "big-env", &["us-west-2", "eu-west-1"]);
    req.max_wait_seconds = Some(2 * 3600);
    req.copy_within_minutes = Some(60);
    let (plan, _) = prism_ops::save::prepare(&rig.env, &rig.catalogue(), &req, REGION)
        .await
        .unwrap();
    let t = plan.time_based_copy.expect("a time-based copy plan");
    assert_eq!(t.within_minutes, 60);
    assert_eq!(t.gib_per_region, plan.volume_gb);
    let per = (plan.volume_gb as f64 * 0.02 * 100.0).round() / 100.0;
    assert_eq!(
        t.per_region
            .iter()
            .map(|r| (r.region.as_str(), r.usd))
            .collect::<Vec<_>>(),
        vec![("us-west-2", per), ("eu-west-1", per)]
    );
    assert_eq!(t.total_usd, (per * 2.0 * 100.0).round() / 100.0);

    let op = rig.submit_save(&req).await.unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let r = result(&row);
    assert_eq!(r.regions.len(), 3);
    assert!(r.regions.iter().all(|x| x.status == "available"), "{r:?}");

    // Without the flag: no time-based copy in the plan.
    let mut plain = Rig::save_request("ws", "other-env", &["us-west-2"]);
    plain.copy_within_minutes = None;
    let (plan, _) = prism_ops::save::prepare(&rig.env, &rig.catalogue(), &plain, REGION)
        .await
        .unwrap();
    assert!(plan.time_based_copy.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_copy_within_ec2_refuses_is_refused_before_anything_changes() {
    let rig = Rig::new(FakeTimings::default());
    rig.workstation("ws", 50).await;
    let before = rig.fake.calls().len();
    for bad in [0, 14, 20, 2895] {
        let mut req = Rig::save_request("ws", "big-env", &["us-west-2"]);
        req.copy_within_minutes = Some(bad);
        let err = rig
            .submit_save(&req)
            .await
            .expect_err("not a duration EC2 takes");
        assert!(matches!(err, OpsError::Invalid { .. }), "{err}");
        assert!(err.to_string().contains("15m to 48h"), "{err}");
    }
    assert_eq!(rig.fake.calls().len(), before, "no EC2 call was made");
}

#[tokio::test(start_paused = true)]
async fn a_max_wait_out_of_range_is_refused_before_anything_changes() {
    let rig = Rig::new(FakeTimings::default());
    rig.workstation("ws", 50).await;
    let before = rig.fake.calls().len();
    for bad in [0, 59, 7 * 24 * 3600 + 1] {
        let mut req = Rig::save_request("ws", "big-env", &[]);
        req.max_wait_seconds = Some(bad);
        let err = rig.submit_save(&req).await.expect_err("out of range");
        assert!(matches!(err, OpsError::Invalid { .. }), "{err}");
        assert!(err.to_string().contains("max_wait_seconds"), "{err}");
    }
    assert_eq!(rig.fake.calls().len(), before, "no EC2 call was made");
}

#[tokio::test(start_paused = true)]
async fn a_public_save_is_refused_where_the_account_blocks_public_images() {
    let rig = Rig::new(FakeTimings::default());
    rig.workstation("ws", 50).await;
    rig.fake.block_public_sharing_in("us-west-2");
    let mut req = Rig::save_request("ws", "open-env", &["us-west-2"]);
    req.public = true;
    let before = rig.fake.calls().len();
    let err = rig
        .submit_save(&req)
        .await
        .expect_err("blocked in us-west-2");
    assert!(matches!(err, OpsError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("us-west-2"), "{err}");
    assert!(
        !rig.fake.calls()[before..]
            .iter()
            .any(|c| c.action == "StopInstances" || c.action == "CreateImage"),
        "nothing was started"
    );
    // Without --public the same save goes ahead.
    req.public = false;
    let op = rig.submit_save(&req).await.unwrap();
    assert_eq!(rig.finished(&op).await.status, "succeeded");
}

/// EC2 refuses an image description over 255 characters; the request accepts 1,000. The
/// plan says the image gets the beginning, and CreateImage is never sent a longer one (it
/// would be refused after the workstation stopped).
#[tokio::test(start_paused = true)]
async fn a_long_description_is_cut_to_ec2s_limit_and_the_plan_says_so() {
    let rig = Rig::new(FakeTimings::default());
    rig.workstation("ws", 40).await;
    let mut req = Rig::save_request("ws", "my-env", &[]);
    req.description = Some("d".repeat(1000));
    let (plan, _) = prism_ops::save::prepare(&rig.env, &rig.catalogue(), &req, REGION)
        .await
        .unwrap();
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("1000 characters") && w.contains("255")),
        "{:?}",
        plan.warnings
    );
    let op = rig.submit_save(&req).await.unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    for img in rig.own_images() {
        let d = img.description.unwrap_or_default();
        assert!(d.chars().count() <= 255, "{} characters", d.chars().count());
        assert!(
            d.starts_with("prism:v1 my-env@1 from python-ml | ddd"),
            "{d}"
        );
    }
    let yaml = std::fs::read_to_string(rig.env.template_dir.join("my-env@1.yaml")).unwrap();
    assert!(yaml.contains(&"d".repeat(1000)), "the file keeps all of it");
}

/// A researcher grew the root disk to 300 GiB (the template says 50): the saved template
/// records the captured 300 GiB, and a launch from it asks for no less (EC2 refuses a volume
/// smaller than its snapshot — the fake does too), so it runs.
#[tokio::test(start_paused = true)]
async fn a_grown_disk_is_recorded_and_the_saved_template_launches() {
    let rig = Rig::new(FakeTimings::default());
    rig.workstation("ws", 300).await;
    let op = rig
        .submit_save(&Rig::save_request("ws", "big-disk", &[]))
        .await
        .unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let path = result(&row).path;
    let saved = prism_templates::parse_template(&std::fs::read_to_string(&path).unwrap(), &path)
        .unwrap()
        .template;
    assert_eq!(saved.instance_defaults.root_volume_gb, Some(300));

    // An older saved file that still says 50 launches with the image's 300 GiB.
    let mut older = saved.clone();
    older.instance_defaults.root_volume_gb = Some(50);
    std::fs::write(&path, older.to_yaml().unwrap()).unwrap();
    let req = prism_api::LaunchRequest {
        template: "big-disk@1".into(),
        name: "from-big".into(),
        size: None,
        arch: None,
        project: None,
        aws: Default::default(),
        ssh_public_key: None,
        allow_from: None,
        subnet_id: None,
        over_budget: false,
    };
    let op = prism_ops::launch::prepare(&rig.env, &rig.catalogue(), &req, REGION)
        .await
        .unwrap();
    assert_eq!(op.input["root_volume_gb"], 300, "{}", op.input);
    let id = rig.runner.submit(op).await.unwrap().id;
    let row = rig.finished(&id).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
}

/// EC2 limits concurrent copies into one region ("ResourceLimitExceeded"): a save whose copy
/// is refused for that waits for the other copy to finish instead of failing the region.
#[tokio::test(start_paused = true)]
async fn a_copy_over_the_regions_copy_limit_waits_instead_of_failing() {
    let ec2 = prism_cloud::fake::FakeEc2 {
        max_pending_copies_per_region: Some(1),
        ..Default::default()
    };
    let rig = Rig::with_ec2(FakeTimings::default(), ec2);
    rig.workstation("ws", 20).await;
    rig.workstation("ws2", 20).await;
    let a = rig
        .submit_save(&Rig::save_request("ws", "env-a", &["us-west-2"]))
        .await
        .unwrap();
    let mut second = Rig::save_request("ws2", "env-b", &["us-west-2"]);
    second.description = Some("second".into());
    let b = rig.submit_save(&second).await.unwrap();
    for op in [a, b] {
        let row = rig.finished(&op).await;
        assert_eq!(row.status, "succeeded", "{:?}", row.error);
        assert!(
            result(&row).regions.iter().all(|r| r.error.is_none()),
            "{:?}",
            result(&row).regions
        );
    }
    let copies = rig
        .fake
        .calls()
        .iter()
        .filter(|c| c.action == "CopyImage")
        .count();
    assert!(
        copies > 2,
        "the refused copy was tried again: {copies} CopyImage calls"
    );
}

/// `--kms-key REGION=KEY`: the copy in REGION is encrypted with that customer-managed key
/// (CopyImage `Encrypted` + `KmsKeyId`); a key that is not one, or a region that is not a copy
/// region, is refused before the workstation stops.
#[tokio::test(start_paused = true)]
async fn copies_are_encrypted_with_the_given_kms_key_and_bad_keys_change_nothing() {
    let rig = Rig::new(FakeTimings::default());
    let id = rig.workstation("ws", 20).await;
    const KEY: &str = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    for (region, key, says) in [
        (
            "us-west-2",
            "alias/aws/ebs",
            "not a customer-managed KMS key",
        ),
        ("us-west-2", "my key", "not a customer-managed KMS key"),
        ("eu-west-1", KEY, "not a region this copies to"),
    ] {
        let mut req = Rig::save_request("ws", "enc-env", &["us-west-2"]);
        req.kms_keys.insert(region.into(), key.into());
        let e = rig.submit_save(&req).await.unwrap_err().to_string();
        assert!(e.contains(says), "{region}={key}: {e}");
    }
    assert!(
        !rig.fake.calls().iter().any(|c| c.action == "StopInstances"),
        "nothing changed"
    );
    let mut req = Rig::save_request("ws", "enc-env", &["us-west-2"]);
    req.kms_keys.insert("us-west-2".into(), KEY.into());
    let op = rig.submit_save(&req).await.unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let copy = rig
        .own_images()
        .into_iter()
        .find(|i| i.region == "us-west-2")
        .unwrap();
    assert_eq!(copy.key, prism_cloud::KeyKind::CustomerManaged(KEY.into()));
    assert_eq!(rig.instance_state(&id), InstanceState::Running);
}

/// EC2 may have no capacity for the instance type when the save restarts the workstation
/// ("InsufficientInstanceCapacity: … wait a few minutes and retry"): the start is retried
/// (bounded) and the save succeeds, the image kept.
#[tokio::test(start_paused = true)]
async fn no_capacity_at_restart_is_waited_out_and_the_save_keeps_its_image() {
    let rig = Rig::new(FakeTimings::default());
    let id = rig.workstation("ws", 20).await;
    rig.fake.insufficient_capacity(REGION, Some(3));
    let op = rig
        .submit_save(&Rig::save_request("ws", "cap-env", &[]))
        .await
        .unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    assert_eq!(rig.instance_state(&id), InstanceState::Running);
    assert_eq!(rig.own_images().len(), 1);
    let starts = rig
        .fake
        .calls()
        .iter()
        .filter(|c| c.action == "StartInstances")
        .count();
    assert_eq!(starts, 4, "three refusals, then the start");
}

/// Issue 13: a new version keeps its audience. v1 was copied to us-west-2 and shared with a
/// colleague; v2, saved without flags, goes to both regions and is shared with the colleague
/// too (the plan says so); with `no_inherit` it stays in the source region, private.
#[tokio::test(start_paused = true)]
async fn a_new_version_keeps_the_previous_versions_regions_and_sharing() {
    use prism_cloud::Cloud;
    const COLLEAGUE: &str = "111122223333";
    let rig = Rig::new(FakeTimings::default());
    rig.workstation("ws", 20).await;
    let op = rig
        .submit_save(&Rig::save_request("ws", "aud-env", &["us-west-2"]))
        .await
        .unwrap();
    assert_eq!(rig.finished(&op).await.status, "succeeded");
    let share = prism_api::ShareRequest {
        template: "aud-env@1".into(),
        accounts: vec![COLLEAGUE.into()],
        ..Default::default()
    };
    let (_, sop) = prism_ops::share::prepare(&rig.env, &rig.catalogue(), &share)
        .await
        .unwrap();
    let sid = rig.runner.submit(sop).await.unwrap().id;
    assert_eq!(rig.finished(&sid).await.status, "succeeded");

    let req = Rig::save_request("ws", "aud-env", &[]);
    let (plan, op) = prism_ops::save::prepare(&rig.env, &rig.catalogue(), &req, REGION)
        .await
        .unwrap();
    assert_eq!(plan.regions, vec![REGION.to_string(), "us-west-2".into()]);
    assert!(
        plan.warnings.iter().any(|w| w.contains(COLLEAGUE)),
        "{:?}",
        plan.warnings
    );
    let id = rig.runner.submit(op).await.unwrap().id;
    let row = rig.finished(&id).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let v2: Vec<prism_cloud::Image> = rig
        .own_images()
        .into_iter()
        .filter(|i| i.tags.get("prism:saved-version").map(String::as_str) == Some("2"))
        .collect();
    assert_eq!(v2.len(), 2, "v2 in both regions");
    for img in &v2 {
        let perms = rig
            .fake
            .launch_permissions(&img.region, &img.id)
            .await
            .unwrap();
        assert_eq!(
            perms.accounts,
            vec![COLLEAGUE.to_string()],
            "{}",
            img.region
        );
    }

    let mut own = Rig::save_request("ws", "aud-env", &[]);
    own.no_inherit = true;
    let (plan, _) = prism_ops::save::prepare(&rig.env, &rig.catalogue(), &own, REGION)
        .await
        .unwrap();
    assert_eq!(plan.regions, vec![REGION.to_string()]);
    assert!(!plan.warnings.iter().any(|w| w.contains(COLLEAGUE)));
}
