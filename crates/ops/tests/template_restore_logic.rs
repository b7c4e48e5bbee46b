//! `template restore` on the fake cloud (EC2's Recycle Bin as AWS documents it): a deleted
//! version comes back in every region with Prism's tags, its sharing and its file, and
//! launches; past the retention period (or without a rule) it is refused with nothing
//! changed; a failure midway unwinds and leaves it restorable.

mod common;

use common::{Rig, REGION};
use prism_api::{LaunchRequest, ShareRequest, TemplateDeleteRequest, TemplateRestoreRequest};
use prism_cloud::fake::FakeTimings;
use prism_cloud::{tags, Cloud, CloudErrorKind};
use prism_ops::OpsError;

const WEST: &str = "us-west-2";
const COLLEAGUE: &str = "111122223333";

/// `lab-env` v1 (us-east-1 + us-west-2, shared with a colleague) and v2 (us-east-1), with
/// Recycle Bin rules of `days` for images and snapshots (`None`: that rule absent).
async fn saved(image_days: Option<i64>, snapshot_days: Option<i64>) -> Rig {
    let rig = Rig::new(FakeTimings::default());
    rig.fake.set_image_retention_rule(image_days);
    rig.fake.set_snapshot_retention_rule(snapshot_days);
    rig.workstation("ws", 20).await;
    for copies in [&[WEST][..], &[]] {
        let mut req = Rig::save_request("ws", "lab-env", copies);
        req.no_inherit = true;
        let op = rig.submit_save(&req).await.unwrap();
        assert_eq!(rig.finished(&op).await.status, "succeeded");
    }
    let share = ShareRequest {
        template: "lab-env@1".into(),
        accounts: vec![COLLEAGUE.into()],
        ..Default::default()
    };
    let (_, op) = prism_ops::share::prepare(&rig.env, &rig.catalogue(), &share)
        .await
        .unwrap();
    let id = rig.runner.submit(op).await.unwrap().id;
    assert_eq!(rig.finished(&id).await.status, "succeeded");
    rig
}

/// Deletes `lab-env@1` (it must succeed).
async fn delete_v1(rig: &Rig) {
    let req = TemplateDeleteRequest {
        template: "lab-env@1".into(),
        ..Default::default()
    };
    let (_, op) = prism_ops::template_delete::prepare(&rig.env, &rig.catalogue(), &req)
        .await
        .unwrap();
    let id = rig.runner.submit(op).await.unwrap().id;
    let row = rig.finished(&id).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
}

fn req(template: &str) -> TemplateRestoreRequest {
    TemplateRestoreRequest {
        template: template.into(),
        ..Default::default()
    }
}

async fn restore(rig: &Rig, template: &str) -> Result<prism_store::OperationRow, OpsError> {
    let (_, op) =
        prism_ops::template_restore::prepare(&rig.env, &rig.catalogue(), &req(template)).await?;
    let id = rig.runner.submit(op).await?.id;
    Ok(rig.finished(&id).await)
}

fn v1_images(rig: &Rig) -> Vec<prism_cloud::Image> {
    let mut v: Vec<_> = rig
        .own_images()
        .into_iter()
        .filter(|i| i.tags.get(tags::SAVED_VERSION).map(String::as_str) == Some("1"))
        .collect();
    v.sort_by(|a, b| a.region.cmp(&b.region));
    v
}

/// The error's message and hint.
fn said(e: &OpsError) -> String {
    match e {
        OpsError::Invalid { message, hint } | OpsError::NotFound { message, hint } => {
            format!("{message} — {}", hint.as_deref().unwrap_or_default())
        }
        other => other.to_string(),
    }
}

fn restore_calls(rig: &Rig) -> usize {
    rig.fake
        .calls()
        .iter()
        .filter(|c| c.action.starts_with("Restore"))
        .count()
}

fn v1_file(rig: &Rig) -> std::path::PathBuf {
    rig.env.template_dir.join("lab-env@1.yaml")
}

#[tokio::test(start_paused = true)]
async fn a_deleted_version_comes_back_everywhere_with_its_tags_sharing_and_file_and_launches() {
    let rig = saved(Some(7), Some(7)).await;
    let before = v1_images(&rig);
    assert_eq!(before.len(), 2);
    let text = std::fs::read_to_string(v1_file(&rig)).unwrap();
    delete_v1(&rig).await;
    assert!(v1_images(&rig).is_empty() && !v1_file(&rig).exists());
    // Someone removes a tag Prism finds the version by while the image is in the bin (EC2
    // allows changing tags there).
    let west = before.iter().find(|i| i.region == WEST).unwrap();
    rig.fake
        .delete_tags(
            WEST,
            std::slice::from_ref(&west.id),
            &[tags::SAVED_TEMPLATE.to_string()],
        )
        .await
        .unwrap();

    let (plan, _) =
        prism_ops::template_restore::prepare(&rig.env, &rig.catalogue(), &req("lab-env@1"))
            .await
            .unwrap();
    assert_eq!(plan.images.len(), 2);
    assert!(plan
        .images
        .iter()
        .all(|i| !i.already_restored && i.until.is_some() && i.snapshots.len() == 1));
    let row = restore(&rig, "lab-env@1").await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let result = row.result.unwrap();
    assert_eq!(result["images_restored"], 2, "{result}");
    assert_eq!(result["snapshots_restored"], 2, "{result}");

    // Same images, same snapshots, every region, Prism's tags, the colleague's permission.
    let after = v1_images(&rig);
    assert_eq!(
        after.iter().map(|i| (&i.region, &i.id)).collect::<Vec<_>>(),
        before
            .iter()
            .map(|i| (&i.region, &i.id))
            .collect::<Vec<_>>()
    );
    for (a, b) in after.iter().zip(&before) {
        assert_eq!(a.snapshot_ids, b.snapshot_ids);
        assert_eq!(a.tags[tags::SAVED_TEMPLATE], "lab-env");
        let perms = rig.fake.launch_permissions(&a.region, &a.id).await.unwrap();
        assert_eq!(perms.accounts, vec![COLLEAGUE.to_string()], "{}", a.region);
    }
    assert!(rig.fake.snapshots_in_bin().is_empty());
    // The file as it was: `template versions` and `launch T@N` see it again.
    assert_eq!(std::fs::read_to_string(v1_file(&rig)).unwrap(), text);
    let c = rig.catalogue();
    assert_eq!(
        c.get("lab-env@1").unwrap().raw.version.as_deref(),
        Some("1")
    );
    let launch = LaunchRequest {
        template: "lab-env@1".into(),
        name: "again".into(),
        size: None,
        arch: None,
        project: None,
        aws: Default::default(),
        ssh_public_key: None,
        allow_from: None,
        subnet_id: None,
        over_budget: false,
    };
    let op = prism_ops::launch::prepare(&rig.env, &c, &launch, REGION)
        .await
        .unwrap();
    let id = rig.runner.submit(op).await.unwrap().id;
    let row = rig.finished(&id).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let east = before.iter().find(|i| i.region == REGION).unwrap();
    assert!(rig
        .fake
        .instances()
        .iter()
        .any(|i| i.image_id == east.id
            && i.tags.get(tags::NAME).map(String::as_str) == Some("again")));

    // Restored, it exists: a second restore is refused.
    let e = restore(&rig, "lab-env@1").await.unwrap_err().to_string();
    assert!(e.contains("lab-env@1 exists"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn past_the_retention_period_it_is_refused_and_nothing_changes() {
    let rig = saved(Some(7), Some(7)).await;
    delete_v1(&rig).await;
    tokio::time::sleep(std::time::Duration::from_secs(8 * 86_400)).await;
    let e = prism_ops::template_restore::prepare(&rig.env, &rig.catalogue(), &req("lab-env@1"))
        .await
        .unwrap_err();
    let text = said(&e);
    assert!(
        text.contains("not in the Recycle Bin")
            && text.contains("retention period has ended")
            && text.contains(prism_ops::template_restore::RETENTION_RULES_DOC),
        "{text}"
    );
    assert_eq!(restore_calls(&rig), 0);
    assert!(v1_images(&rig).is_empty() && !v1_file(&rig).exists());
}

#[tokio::test(start_paused = true)]
async fn without_a_snapshot_rule_the_images_cannot_come_back_and_nothing_changes() {
    let rig = saved(Some(7), None).await;
    delete_v1(&rig).await;
    let e = prism_ops::template_restore::prepare(&rig.env, &rig.catalogue(), &req("lab-env@1"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("was deleted for good") && e.contains("snap-"),
        "{e}"
    );
    assert_eq!(restore_calls(&rig), 0);
    assert!(!v1_file(&rig).exists());
}

#[tokio::test(start_paused = true)]
async fn a_failure_midway_unwinds_and_the_version_stays_restorable() {
    let rig = saved(Some(7), Some(7)).await;
    delete_v1(&rig).await;
    let binned = rig.fake.snapshots_in_bin();
    assert_eq!(binned.len(), 2);
    rig.fake.fail(
        "RestoreImageFromRecycleBin",
        Some(WEST),
        Some(1),
        CloudErrorKind::Auth,
        "UnauthorizedOperation",
    );
    let row = restore(&rig, "lab-env@1").await.unwrap();
    assert_eq!(row.status, "failed", "{:?}", row.error);
    // us-east-1's image and both snapshots had been restored: all back in the bin.
    assert!(v1_images(&rig).is_empty());
    assert_eq!(rig.fake.snapshots_in_bin(), binned);
    assert!(!v1_file(&rig).exists());
    assert!(rig.catalogue().get("lab-env@1").is_err());
    // Nothing was lost: it restores now.
    let row = restore(&rig, "lab-env@1").await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    assert_eq!(v1_images(&rig).len(), 2);
}

#[tokio::test(start_paused = true)]
async fn bad_requests_are_refused_before_anything_changes() {
    let rig = saved(Some(7), Some(7)).await;
    delete_v1(&rig).await;
    let refuse = |t: &'static str| {
        let rig = &rig;
        async move {
            let e = prism_ops::template_restore::prepare(&rig.env, &rig.catalogue(), &req(t))
                .await
                .unwrap_err();
            said(&e)
        }
    };
    let e = refuse("lab-env@2").await;
    assert!(e.contains("lab-env@2 exists"), "{e}");
    let e = refuse("lab-envv@1").await;
    assert!(
        e.contains("unknown template 'lab-envv'") && e.contains("did you mean lab-env"),
        "{e}"
    );
    let e = refuse("lab-env").await;
    assert!(
        e.contains("which version") && e.contains("deleted versions: 1"),
        "{e}"
    );
    let e = refuse("lab-env@7").await;
    assert!(e.contains("no deletion of lab-env@7"), "{e}");
    assert_eq!(restore_calls(&rig), 0);
}

/// A deletion journaled before `template delete` recorded each image's version and the files'
/// text: the images are the deletion's (it deleted one version), and the file is rebuilt from
/// their `prism:*` tags, so the version lists and resolves again.
#[tokio::test(start_paused = true)]
async fn a_deletion_journaled_without_the_file_gets_a_file_rebuilt_from_the_tags() {
    let rig = saved(Some(7), Some(7)).await;
    delete_v1(&rig).await;
    let row = rig
        .env
        .store
        .operations_of_kind(prism_ops::template_delete::KIND, "succeeded")
        .await
        .unwrap()
        .pop()
        .unwrap();
    let mut input = row.input.clone();
    input.as_object_mut().unwrap().remove("file_texts");
    for i in input["images"].as_array_mut().unwrap() {
        i.as_object_mut().unwrap().remove("version");
    }
    let (id, text) = (row.id.clone(), input.to_string());
    rig.env
        .store
        .call(move |c| {
            c.execute("UPDATE operations SET input = ?1 WHERE id = ?2", [text, id])?;
            Ok(())
        })
        .await
        .unwrap();

    let (plan, _) =
        prism_ops::template_restore::prepare(&rig.env, &rig.catalogue(), &req("lab-env@1"))
            .await
            .unwrap();
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("rebuilt from the images' prism:* tags")),
        "{:?}",
        plan.warnings
    );
    let row = restore(&rig, "lab-env@1").await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let c = rig.catalogue();
    let t = &c.get("lab-env@1").unwrap().raw;
    assert_eq!(t.version.as_deref(), Some("1"));
    let mut regions: Vec<&String> = t.ami_config.amis.keys().collect();
    regions.sort();
    assert_eq!(regions, vec![REGION, WEST]);
}
