//! `template share|unshare` on the fake cloud: every region gets the permissions, a failure in
//! one region takes back what the share added elsewhere (and only that), and the pre-flight
//! refusals change nothing.

mod common;

use common::{Rig, REGION};
use prism_api::ShareRequest;
use prism_cloud::fake::FakeTimings;
use prism_cloud::{Cloud, CloudErrorKind, Share};
use prism_ops::OpsError;

const OTHER: &str = "us-west-2";
const COLLEAGUE: &str = "111122223333";
const ANOTHER: &str = "444455556666";

/// A rig with `team-env@1` saved in us-east-1 and copied to us-west-2; its image ids.
async fn saved() -> (Rig, Vec<(String, String)>) {
    let rig = Rig::new(FakeTimings::default());
    rig.workstation("ws", 20).await;
    let op = rig
        .submit_save(&Rig::save_request("ws", "team-env", &[OTHER]))
        .await
        .unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let images = rig
        .own_images()
        .into_iter()
        .map(|i| (i.region, i.id))
        .collect::<Vec<_>>();
    assert_eq!(images.len(), 2);
    (rig, images)
}

fn req(accounts: &[&str], public: bool, remove: bool) -> ShareRequest {
    ShareRequest {
        template: "team-env".into(),
        accounts: accounts.iter().map(|s| s.to_string()).collect(),
        public,
        remove,
        ..Default::default()
    }
}

async fn submit(rig: &Rig, r: &ShareRequest) -> Result<prism_store::OperationRow, OpsError> {
    let (_, op) = prism_ops::share::prepare(&rig.env, &rig.catalogue(), r).await?;
    let id = rig.runner.submit(op).await?.id;
    Ok(rig.finished(&id).await)
}

async fn perms(rig: &Rig, region: &str, id: &str) -> Share {
    rig.fake.launch_permissions(region, id).await.unwrap()
}

#[tokio::test(start_paused = true)]
async fn share_reaches_every_region_and_unshare_takes_it_back() {
    let (rig, images) = saved().await;
    let row = submit(&rig, &req(&[COLLEAGUE], false, false))
        .await
        .unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    assert_eq!(row.kind, "share.v1");
    for (r, id) in &images {
        assert_eq!(perms(&rig, r, id).await.accounts, vec![COLLEAGUE], "{r}");
    }
    let result = row.result.unwrap();
    assert_eq!(result["regions"].as_array().unwrap().len(), 2, "{result}");

    let row = submit(&rig, &req(&[COLLEAGUE], false, true)).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    assert_eq!(row.kind, "unshare.v1");
    for (r, id) in &images {
        assert!(perms(&rig, r, id).await.accounts.is_empty(), "{r}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_region_that_fails_undoes_only_what_the_share_added() {
    let (rig, images) = saved().await;
    // COLLEAGUE already has access everywhere before this share.
    submit(&rig, &req(&[COLLEAGUE], false, false))
        .await
        .unwrap();
    rig.fake.fail(
        "ModifyImageAttribute",
        Some(OTHER),
        None,
        CloudErrorKind::Auth,
        "UnauthorizedOperation",
    );
    let row = submit(&rig, &req(&[COLLEAGUE, ANOTHER], false, false))
        .await
        .unwrap();
    assert_eq!(row.status, "failed");
    let err = row.error.unwrap();
    assert!(
        err.contains("us-west-2") && err.contains("UnauthorizedOperation"),
        "{err}"
    );
    let east = images.iter().find(|(r, _)| r == REGION).unwrap();
    assert_eq!(
        perms(&rig, REGION, &east.1).await.accounts,
        vec![COLLEAGUE],
        "ANOTHER taken back, COLLEAGUE (there before) kept"
    );
}

#[tokio::test(start_paused = true)]
async fn refusals_change_nothing() {
    let (rig, images) = saved().await;
    let before = rig.fake.calls().len();
    let mut cases: Vec<(ShareRequest, &str)> = vec![
        (req(&["12345"], false, false), "not an AWS account id"),
        (req(&[], false, false), "nothing to share with"),
        (req(&["123456789012"], false, false), "your own account"),
    ];
    let mut builtin = req(&[COLLEAGUE], false, false);
    builtin.template = "python-ml".into();
    cases.push((builtin, "not a saved template"));
    let mut unknown = req(&[COLLEAGUE], false, false);
    unknown.template = "nope-env".into();
    cases.push((unknown, "not found"));
    for (r, frag) in &cases {
        let e = submit(&rig, r).await.expect_err(frag).to_string();
        assert!(e.contains(frag), "{frag}: {e}");
    }
    // Public: an encrypted image, then an account that blocks public sharing.
    rig.fake.set_key(
        &images[0].1,
        prism_cloud::KeyKind::CustomerManaged("k1".into()),
    );
    let e = submit(&rig, &req(&[], true, false)).await.unwrap_err();
    assert!(e.to_string().contains("encrypted"), "{e}");
    let (rig2, images2) = saved().await;
    rig2.fake.block_public_sharing_in(OTHER);
    let e = submit(&rig2, &req(&[], true, false)).await.unwrap_err();
    assert!(e.to_string().contains("block public access"), "{e}");
    for (r, id) in images.iter().chain(&images2) {
        let rig = if images.contains(&(r.clone(), id.clone())) {
            &rig
        } else {
            &rig2
        };
        assert_eq!(perms(rig, r, id).await, Share::default(), "{r} {id}");
    }
    assert!(
        !rig.fake.calls()[before..]
            .iter()
            .any(|c| c.action == "ModifyImageAttribute"),
        "nothing was modified"
    );
}

/// EC2 "Share an AMI with specific AWS accounts": an image on the AWS-managed EBS key cannot
/// be used by other accounts — refused before anything changes, with the copy that fixes it;
/// one on a customer-managed key is shared with a warning that the key must be shared too.
#[tokio::test(start_paused = true)]
async fn encryption_keys_decide_whether_accounts_can_use_a_share() {
    let (rig, images) = saved().await;
    let before = rig.fake.calls().len();
    rig.fake
        .set_key(&images[1].1, prism_cloud::KeyKind::AwsManaged(None));
    let e = submit(&rig, &req(&[COLLEAGUE], false, false))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("AWS-managed"), "{text}");
    assert!(
        matches!(&e, OpsError::Invalid { hint: Some(h), .. } if h.contains("--kms-key")),
        "{e:?}"
    );
    assert!(
        !rig.fake.calls()[before..]
            .iter()
            .any(|c| c.action == "ModifyImageAttribute"),
        "nothing was modified"
    );
    for (r, id) in &images {
        assert_eq!(perms(&rig, r, id).await, Share::default(), "{r} {id}");
    }

    rig.fake.set_key(
        &images[1].1,
        prism_cloud::KeyKind::CustomerManaged("arn:aws:kms:us-west-2:123456789012:key/k1".into()),
    );
    let (plan, _) =
        prism_ops::share::prepare(&rig.env, &rig.catalogue(), &req(&[COLLEAGUE], false, false))
            .await
            .unwrap();
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("key/k1") && w.contains("key policy")),
        "{:?}",
        plan.warnings
    );
}

/// The create-volume (copy) permissions of every snapshot in the fake, by snapshot id.
async fn copy_perms(rig: &Rig) -> Vec<(String, Share)> {
    let mut out = vec![];
    for (region, snap) in rig.fake.snapshots() {
        let p = rig
            .fake
            .snapshot_copy_permissions(&region, &snap.id)
            .await
            .unwrap();
        out.push((snap.id, p));
    }
    assert!(!out.is_empty(), "the saved version has snapshots");
    out
}

#[tokio::test(start_paused = true)]
async fn allow_copy_grants_the_snapshots_and_unshare_takes_them_back() {
    let (rig, _) = saved().await;
    // Without --allow-copy, recipients may launch but not copy.
    submit(&rig, &req(&[COLLEAGUE], false, false))
        .await
        .unwrap();
    for (id, p) in copy_perms(&rig).await {
        assert!(p.accounts.is_empty(), "{id}: {p:?}");
    }
    let mut r = req(&[COLLEAGUE], false, false);
    r.allow_copy = true;
    let row = submit(&rig, &r).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let snaps = copy_perms(&rig).await;
    assert_eq!(snaps.len(), 2, "one snapshot per region: {snaps:?}");
    for (id, p) in &snaps {
        assert_eq!(p.accounts, vec![COLLEAGUE], "{id}");
    }
    // An unshare (no flag needed) takes the copy permission back with the launch permission.
    let row = submit(&rig, &req(&[COLLEAGUE], false, true)).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    for (id, p) in copy_perms(&rig).await {
        assert!(p.accounts.is_empty(), "{id}: {p:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_allow_copy_share_takes_back_only_the_copy_permission_it_added() {
    let (rig, _) = saved().await;
    let mut r = req(&[COLLEAGUE], false, false);
    r.allow_copy = true;
    submit(&rig, &r).await.unwrap();
    rig.fake.fail(
        "ModifySnapshotAttribute",
        Some(OTHER),
        None,
        CloudErrorKind::Auth,
        "UnauthorizedOperation",
    );
    let mut r = req(&[COLLEAGUE, ANOTHER], false, false);
    r.allow_copy = true;
    let row = submit(&rig, &r).await.unwrap();
    assert_eq!(row.status, "failed");
    assert!(row.error.unwrap().contains("ModifySnapshotAttribute"));
    for (id, p) in copy_perms(&rig).await {
        assert_eq!(p.accounts, vec![COLLEAGUE], "{id}: ANOTHER taken back");
    }
}

#[tokio::test(start_paused = true)]
async fn allow_copy_for_organizations_only_is_refused_before_anything_changes() {
    let (rig, _) = saved().await;
    let before = rig.fake.calls().len();
    let mut r = req(&[], false, false);
    r.organizations = vec!["arn:aws:organizations::123456789012:organization/o-abcdefghij".into()];
    r.allow_copy = true;
    let e = submit(&rig, &r).await.unwrap_err().to_string();
    assert!(e.contains("--allow-copy") && e.contains("accounts"), "{e}");
    assert_eq!(rig.fake.calls().len(), before, "nothing was called");
}
