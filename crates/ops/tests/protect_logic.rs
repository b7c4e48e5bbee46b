//! `template protect|unprotect` on the fake cloud (moto has no deregistration protection):
//! every region's image is protected, `template delete` then refuses the version naming
//! `template unprotect` and changes nothing, EC2 (the fake) refuses the DeregisterImage
//! itself, a cooldown outlives unprotect, and a failed region unwinds.

mod common;

use common::Rig;
use prism_api::{ProtectRequest, TemplateDeleteRequest};
use prism_cloud::fake::FakeTimings;
use prism_cloud::{Cloud, CloudErrorKind};
use prism_ops::OpsError;

const WEST: &str = "us-west-2";

async fn saved() -> Rig {
    let rig = Rig::new(FakeTimings::default());
    rig.workstation("ws", 20).await;
    let op = rig
        .submit_save(&Rig::save_request("ws", "lab-env", &[WEST]))
        .await
        .unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    rig
}

fn req(template: &str, cooldown: bool, remove: bool) -> ProtectRequest {
    ProtectRequest {
        template: template.into(),
        with_cooldown: cooldown,
        remove,
        ..Default::default()
    }
}

async fn run(rig: &Rig, r: &ProtectRequest) -> Result<prism_store::OperationRow, OpsError> {
    let (_, op) = prism_ops::protect::prepare(&rig.env, &rig.catalogue(), r).await?;
    let id = rig.runner.submit(op).await?.id;
    Ok(rig.finished(&id).await)
}

async fn delete(rig: &Rig) -> Result<prism_store::OperationRow, OpsError> {
    let r = TemplateDeleteRequest {
        template: "lab-env@1".into(),
        ..Default::default()
    };
    let (_, op) = prism_ops::template_delete::prepare(&rig.env, &rig.catalogue(), &r).await?;
    let id = rig.runner.submit(op).await?.id;
    Ok(rig.finished(&id).await)
}

#[tokio::test(start_paused = true)]
async fn a_protected_version_is_refused_by_delete_until_unprotected() {
    let rig = saved().await;
    let row = run(&rig, &req("lab-env@1", false, false)).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    assert_eq!(row.kind, "protect.v1");
    let images = rig.own_images();
    assert_eq!(images.len(), 2);
    for i in &images {
        assert_eq!(
            i.deregistration_protection.as_deref(),
            Some("enabled"),
            "{}",
            i.region
        );
    }
    // EC2 itself refuses to deregister a protected image.
    let e = rig
        .fake
        .deregister_image(&images[0].region, &images[0].id, true)
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("OperationNotPermitted"), "{e}");
    // Prism refuses before anything changes, naming the way out.
    let calls = rig.fake.calls().len();
    // The message and its hint (what the user reads: error, then "hint: …").
    let e = format!("{:?}", delete(&rig).await.unwrap_err());
    assert!(
        e.contains("lab-env@1 is protected from deletion")
            && e.contains("prism template unprotect lab-env@1"),
        "{e}"
    );
    assert!(
        !rig.fake.calls()[calls..]
            .iter()
            .any(|c| c.action == "DeregisterImage" || c.action == "DeleteSnapshot"),
        "a refused delete called EC2"
    );
    assert_eq!(rig.own_images().len(), 2);

    let row = run(&rig, &req("lab-env@1", false, true)).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    assert_eq!(row.kind, "unprotect.v1");
    let row = delete(&rig).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    assert!(rig.own_images().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_cooldown_keeps_it_protected_after_unprotect() {
    let rig = saved().await;
    run(&rig, &req("lab-env", true, false)).await.unwrap();
    for i in rig.own_images() {
        assert_eq!(
            i.deregistration_protection.as_deref(),
            Some("enabled-with-cooldown")
        );
    }
    let row = run(&rig, &req("lab-env@1", false, true)).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    for i in rig.own_images() {
        let p = i.deregistration_protection.clone().unwrap();
        assert!(p.starts_with("disabled-until "), "{p}");
        assert!(i.deregistration_protected());
    }
    let e = format!("{:?}", delete(&rig).await.unwrap_err());
    assert!(e.contains("24 hours"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn a_region_that_fails_leaves_nothing_protected() {
    let rig = saved().await;
    rig.fake.fail(
        "EnableImageDeregistrationProtection",
        Some(WEST),
        None,
        CloudErrorKind::Auth,
        "UnauthorizedOperation",
    );
    let row = run(&rig, &req("lab-env@1", false, false)).await.unwrap();
    assert_eq!(row.status, "failed");
    for i in rig.own_images() {
        assert!(
            !i.deregistration_protected(),
            "{}: {:?}",
            i.region,
            i.deregistration_protection
        );
    }
}

#[tokio::test(start_paused = true)]
async fn refusals_change_nothing() {
    let rig = saved().await;
    let calls = rig.fake.calls().len();
    for (r, frag) in [
        (req("lab-env@1", false, true), "lab-env@1 is not protected"),
        (
            req("lab-env@1", true, true),
            "--with-cooldown is for protect",
        ),
        (req("lab-env@4", false, false), "no version '4'"),
        (req("python-ml", false, false), "not a saved template"),
    ] {
        let e = prism_ops::protect::prepare(&rig.env, &rig.catalogue(), &r)
            .await
            .err()
            .unwrap_or_else(|| panic!("{} accepted", r.template))
            .to_string();
        assert!(e.contains(frag), "{}: {e}", r.template);
    }
    run(&rig, &req("lab-env@1", false, false)).await.unwrap();
    let e =
        prism_ops::protect::prepare(&rig.env, &rig.catalogue(), &req("lab-env@1", false, false))
            .await
            .unwrap_err()
            .to_string();
    assert!(e.contains("already protected in every region"), "{e}");
    let mutating = rig.fake.calls()[calls..]
        .iter()
        .filter(|c| c.action.contains("DeregistrationProtection"))
        .count();
    assert_eq!(mutating, 2, "only the one protect that ran called EC2");
}
