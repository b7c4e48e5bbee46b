//! `template delete` on the fake cloud: one version's images and snapshots go in every region,
//! its file goes, other versions stay; refusals change nothing; a failure is retried by
//! running it again.

mod common;

use common::Rig;
use prism_api::TemplateDeleteRequest;
use prism_cloud::fake::FakeTimings;
use prism_cloud::{tags, CloudErrorKind};

/// A rig with `lab-env` versions 1 (us-east-1 + us-west-2) and 2 (us-east-1).
async fn two_versions() -> Rig {
    let rig = Rig::new(FakeTimings::default());
    rig.workstation("ws", 20).await;
    for copies in [&["us-west-2"][..], &[]] {
        let mut req = Rig::save_request("ws", "lab-env", copies);
        // v2 in its source region only (not the regions v1 reached).
        req.no_inherit = true;
        let op = rig.submit_save(&req).await.unwrap();
        assert_eq!(rig.finished(&op).await.status, "succeeded");
    }
    rig
}

fn req(template: &str, all: bool) -> TemplateDeleteRequest {
    TemplateDeleteRequest {
        template: template.into(),
        all_versions: all,
        ..Default::default()
    }
}

async fn run(
    rig: &Rig,
    r: &TemplateDeleteRequest,
) -> Result<prism_store::OperationRow, prism_ops::OpsError> {
    let (_, op) = prism_ops::template_delete::prepare(&rig.env, &rig.catalogue(), r).await?;
    let id = rig.runner.submit(op).await?.id;
    Ok(rig.finished(&id).await)
}

fn versions_in_ec2(rig: &Rig) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = rig
        .own_images()
        .into_iter()
        .map(|i| (i.tags[tags::SAVED_VERSION].clone(), i.region))
        .collect();
    v.sort();
    v
}

#[tokio::test(start_paused = true)]
async fn one_version_goes_everywhere_and_the_others_stay() {
    let rig = two_versions().await;
    let v1_snaps: Vec<String> = rig
        .own_images()
        .into_iter()
        .filter(|i| i.tags[tags::SAVED_VERSION] == "1")
        .flat_map(|i| i.snapshot_ids)
        .collect();
    assert_eq!(v1_snaps.len(), 2);
    let row = run(&rig, &req("lab-env@1", false)).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    assert_eq!(
        versions_in_ec2(&rig),
        vec![("2".into(), "us-east-1".into())]
    );
    let snaps: Vec<String> = rig
        .fake
        .snapshots()
        .into_iter()
        .map(|(_, s)| s.id)
        .collect();
    assert!(
        v1_snaps.iter().all(|s| !snaps.contains(s)),
        "v1's snapshots are deleted"
    );
    assert!(!rig.env.template_dir.join("lab-env@1.yaml").exists());
    assert!(rig.env.template_dir.join("lab-env@2.yaml").exists());
    let result = row.result.unwrap();
    assert_eq!(result["images_deregistered"], 2, "{result}");
    assert_eq!(result["snapshots_deleted"], 2, "{result}");

    // Version numbers are not reused: the next save is 3.
    let op = rig
        .submit_save(&Rig::save_request("ws", "lab-env", &[]))
        .await
        .unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.result.unwrap()["version"], 3);
}

#[tokio::test(start_paused = true)]
async fn all_versions_and_refusals() {
    let rig = two_versions().await;
    let before = rig.fake.calls().len();
    for (r, frag) in [
        (req("lab-env", false), "which version of 'lab-env'"),
        (req("lab-env@1", true), "names one version"),
        (req("python-ml@1.0.0", false), "not a saved template"),
        (req("lab-env@9", false), "has no version '9'"),
    ] {
        let e = run(&rig, &r).await.expect_err(frag).to_string();
        assert!(e.contains(frag), "{frag}: {e}");
    }
    assert!(
        !rig.fake.calls()[before..]
            .iter()
            .any(|c| c.action == "DeregisterImage" || c.action == "DeleteSnapshot"),
        "refusals delete nothing"
    );
    assert_eq!(versions_in_ec2(&rig).len(), 3);

    // A DeregisterImage that fails: the operation fails, the files stay; running it again
    // finishes the job.
    rig.fake.fail(
        "DeregisterImage",
        Some("us-west-2"),
        Some(1),
        CloudErrorKind::Auth,
        "UnauthorizedOperation",
    );
    let row = run(&rig, &req("lab-env", true)).await.unwrap();
    assert_eq!(row.status, "failed");
    assert!(row.error.unwrap().contains("UnauthorizedOperation"));
    assert!(rig.env.template_dir.join("lab-env@1.yaml").exists());
    let row = run(&rig, &req("lab-env", true)).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    assert!(versions_in_ec2(&rig).is_empty());
    assert!(
        rig.fake.snapshots().is_empty(),
        "{:?}",
        rig.fake.snapshots()
    );
    assert!(!rig.env.template_dir.join("lab-env@1.yaml").exists());
    assert!(!rig.env.template_dir.join("lab-env@2.yaml").exists());
}

/// An endpoint that ignores DeleteAssociatedSnapshots, and EC2's `InvalidSnapshot.InUse` for
/// a while after DeregisterImage: the deletion waits it out (bounded) and leaves no snapshot.
#[tokio::test(start_paused = true)]
async fn snapshots_in_use_right_after_deregistration_are_waited_out() {
    let ec2 = prism_cloud::fake::FakeEc2 {
        honour_delete_associated_snapshots: false,
        ..Default::default()
    };
    let rig = Rig::with_ec2(FakeTimings::default(), ec2);
    rig.workstation("ws", 20).await;
    let op = rig
        .submit_save(&Rig::save_request("ws", "lab-env", &["us-west-2"]))
        .await
        .unwrap();
    assert_eq!(rig.finished(&op).await.status, "succeeded");
    let before = rig.fake.snapshots().len();
    let row = run(&rig, &req("lab-env", true)).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    assert!(versions_in_ec2(&rig).is_empty());
    assert_eq!(row.result.unwrap()["snapshots_deleted"], 2);
    assert_eq!(rig.fake.snapshots().len(), before - 2, "no snapshot left");
    let refused = rig
        .fake
        .calls()
        .iter()
        .filter(|c| c.action == "DeleteSnapshot")
        .count();
    assert!(
        refused > 2,
        "InUse answers were retried: {refused} DeleteSnapshot calls"
    );
}

/// A re-run after the images were deregistered but their snapshots not deleted (a crash, or
/// an earlier failure) finds the snapshots by the version's `prism:*` tags and deletes them.
#[tokio::test(start_paused = true)]
async fn a_rerun_finds_leftover_snapshots_by_their_tags() {
    use prism_cloud::Cloud;
    let ec2 = prism_cloud::fake::FakeEc2 {
        honour_delete_associated_snapshots: false,
        ..Default::default()
    };
    let rig = Rig::with_ec2(FakeTimings::default(), ec2);
    rig.workstation("ws", 20).await;
    let op = rig
        .submit_save(&Rig::save_request("ws", "lab-env", &[]))
        .await
        .unwrap();
    assert_eq!(rig.finished(&op).await.status, "succeeded");
    let img = rig.own_images().pop().unwrap();
    assert!(!img.snapshot_ids.is_empty());
    // What an interrupted deletion leaves: the image gone, its snapshots still there.
    rig.fake
        .deregister_image(&img.region, &img.id, false)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    let row = run(&rig, &req("lab-env@1", false)).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let left: Vec<String> = rig
        .fake
        .snapshots()
        .into_iter()
        .map(|(_, s)| s.id)
        .filter(|s| img.snapshot_ids.contains(s))
        .collect();
    assert!(left.is_empty(), "leftover snapshots deleted: {left:?}");
}

#[tokio::test(start_paused = true)]
async fn the_recycle_bin_keeps_deleted_images_and_the_result_says_until_when() {
    let rig = two_versions().await;
    // Without a retention rule nothing is kept.
    let row = run(&rig, &req("lab-env@2", false)).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let bin = &row.result.unwrap()["recycle_bin"];
    assert_eq!(bin["kept"].as_array().unwrap().len(), 0, "{bin}");

    rig.fake.set_image_retention_rule(Some(7));
    let row = run(&rig, &req("lab-env@1", false)).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let bin = row.result.unwrap()["recycle_bin"].clone();
    let kept = bin["kept"].as_array().unwrap();
    let mut regions: Vec<&str> = kept.iter().map(|k| k["region"].as_str().unwrap()).collect();
    regions.sort();
    assert_eq!(regions, vec!["us-east-1", "us-west-2"], "{bin}");
    let until = kept[0]["until"].as_str().unwrap();
    let until = chrono::DateTime::parse_from_rfc3339(until).unwrap();
    let days = (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours();
    assert!((6 * 24..=7 * 24).contains(&days), "{until}");
    assert!(bin["errors"].as_array().unwrap().is_empty(), "{bin}");
}

#[tokio::test(start_paused = true)]
async fn a_recycle_bin_that_cannot_be_read_is_a_note_not_a_failure() {
    let rig = two_versions().await;
    rig.fake.fail(
        "ListImagesInRecycleBin",
        None,
        None,
        CloudErrorKind::Other,
        "InvalidAction",
    );
    let row = run(&rig, &req("lab-env@1", false)).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let bin = row.result.unwrap()["recycle_bin"].clone();
    let errors = bin["errors"].to_string();
    assert!(errors.contains("could not check the Recycle Bin"), "{bin}");
    assert_eq!(
        versions_in_ec2(&rig),
        vec![("2".into(), "us-east-1".into())]
    );
}
