//! `template deprecate|undeprecate` on the fake cloud (moto has no image deprecation): EC2's
//! deprecation time and Prism's tags on every region's image, the template file, `T` moving
//! to the latest current version, the launch warning, and refusals that change nothing.

mod common;

use chrono::{Duration, Utc};
use common::{Rig, REGION};
use prism_api::{DeprecateRequest, LaunchRequest};
use prism_cloud::fake::FakeTimings;
use prism_cloud::{tags, Cloud, CloudErrorKind};
use prism_ops::OpsError;

const WEST: &str = "us-west-2";

/// `lab-env` versions 1 and 2, each in us-east-1 and us-west-2.
async fn two_versions() -> Rig {
    let rig = Rig::new(FakeTimings::default());
    rig.workstation("ws", 20).await;
    for _ in 0..2 {
        let op = rig
            .submit_save(&Rig::save_request("ws", "lab-env", &[WEST]))
            .await
            .unwrap();
        let row = rig.finished(&op).await;
        assert_eq!(row.status, "succeeded", "{:?}", row.error);
    }
    rig
}

fn req(template: &str, replacement: Option<&str>, at: Option<&str>) -> DeprecateRequest {
    DeprecateRequest {
        template: template.into(),
        replacement: replacement.map(Into::into),
        at: at.map(Into::into),
        ..Default::default()
    }
}

async fn run(rig: &Rig, r: &DeprecateRequest) -> Result<prism_store::OperationRow, OpsError> {
    let (_, op) = prism_ops::deprecate::prepare(&rig.env, &rig.catalogue(), r).await?;
    let id = rig.runner.submit(op).await?.id;
    Ok(rig.finished(&id).await)
}

fn images_of(rig: &Rig, version: &str) -> Vec<prism_cloud::Image> {
    rig.own_images()
        .into_iter()
        .filter(|i| i.tags[tags::SAVED_VERSION] == version)
        .collect()
}

fn latest(rig: &Rig) -> String {
    let c = rig.catalogue();
    let e = c.get("lab-env").unwrap();
    e.template.version.clone().unwrap()
}

#[tokio::test(start_paused = true)]
async fn deprecate_reaches_every_region_and_undeprecate_takes_it_back() {
    let rig = two_versions().await;
    assert_eq!(latest(&rig), "2");
    let row = run(&rig, &req("lab-env@2", Some("lab-env@1"), None))
        .await
        .unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    assert_eq!(row.kind, "deprecate.v1");
    let v2 = images_of(&rig, "2");
    assert_eq!(v2.len(), 2);
    for i in &v2 {
        // EC2's time is at least a minute ahead (it refuses the past); Prism's is "now".
        let ec2 = i.deprecation_time.as_deref().expect("EC2 deprecation time");
        let ec2 = chrono::DateTime::parse_from_rfc3339(ec2).unwrap();
        assert!(ec2 > Utc::now(), "{ec2}");
        assert!(i.tags.contains_key(tags::DEPRECATED), "{:?}", i.tags);
        assert_eq!(i.tags[tags::REPLACEMENT], "lab-env@1");
    }
    for i in images_of(&rig, "1") {
        assert!(i.deprecation_time.is_none() && !i.tags.contains_key(tags::DEPRECATED));
    }
    // `T` names the latest version that is not deprecated; `T@2` still names 2.
    assert_eq!(latest(&rig), "1");
    let c = rig.catalogue();
    let v2 = c.get("lab-env@2").unwrap();
    assert_eq!(
        v2.template
            .deprecation
            .as_ref()
            .unwrap()
            .replacement
            .as_deref(),
        Some("lab-env@1")
    );
    // Launching it pinned warns and names the replacement.
    let launch = LaunchRequest {
        template: "lab-env@2".into(),
        name: "pinned".into(),
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
    let warnings = op.input["warnings"].to_string();
    assert!(
        warnings.contains("lab-env@2 is deprecated") && warnings.contains("prism launch lab-env@1"),
        "{warnings}"
    );

    let mut undo = req("lab-env@2", None, None);
    undo.remove = true;
    let row = run(&rig, &undo).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    assert_eq!(row.kind, "undeprecate.v1");
    for i in images_of(&rig, "2") {
        assert!(i.deprecation_time.is_none(), "{i:?}");
        assert!(!i.tags.contains_key(tags::DEPRECATED) && !i.tags.contains_key(tags::REPLACEMENT));
    }
    assert_eq!(latest(&rig), "2");
    assert!(rig
        .catalogue()
        .get("lab-env@2")
        .unwrap()
        .template
        .deprecation
        .is_none());
}

#[tokio::test(start_paused = true)]
async fn a_scheduled_deprecation_keeps_the_version_current_until_its_time() {
    let rig = two_versions().await;
    let at = (Utc::now() + Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let row = run(&rig, &req("lab-env@2", None, Some(&at))).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    for i in images_of(&rig, "2") {
        assert_eq!(
            i.deprecation_time.as_deref(),
            Some(format!("{at}T00:00:00Z").as_str())
        );
    }
    assert_eq!(latest(&rig), "2");
}

#[tokio::test(start_paused = true)]
async fn a_region_that_fails_leaves_nothing_deprecated() {
    let rig = two_versions().await;
    rig.fake.fail(
        "EnableImageDeprecation",
        Some(WEST),
        None,
        CloudErrorKind::Auth,
        "UnauthorizedOperation",
    );
    let row = run(&rig, &req("lab-env@2", None, None)).await.unwrap();
    assert_eq!(row.status, "failed");
    let err = row.error.unwrap();
    assert!(
        err.contains(WEST) && err.contains("UnauthorizedOperation"),
        "{err}"
    );
    for i in images_of(&rig, "2") {
        assert!(
            i.deprecation_time.is_none(),
            "{} {:?}",
            i.region,
            i.deprecation_time
        );
        assert!(!i.tags.contains_key(tags::DEPRECATED), "{:?}", i.tags);
    }
    assert_eq!(latest(&rig), "2");
}

#[tokio::test(start_paused = true)]
async fn refusals_change_nothing() {
    let rig = two_versions().await;
    // lab-env@1 deprecated, so it cannot be a replacement.
    let row = run(&rig, &req("lab-env@1", None, None)).await.unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let files = || {
        let mut v: Vec<(String, String)> = std::fs::read_dir(&rig.env.template_dir)
            .unwrap()
            .flatten()
            .map(|e| {
                let p = e.path();
                (
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap_or_default(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before_files = files();
    let mutating = |rig: &Rig| {
        rig.fake
            .calls()
            .into_iter()
            .filter(|c| {
                matches!(
                    c.action.as_str(),
                    "EnableImageDeprecation"
                        | "DisableImageDeprecation"
                        | "CreateTags"
                        | "DeleteTags"
                )
            })
            .count()
    };
    let before_calls = mutating(&rig);
    let past = (Utc::now() - Duration::days(1)).to_rfc3339();
    let far = (Utc::now() + Duration::days(3700))
        .format("%Y-%m-%d")
        .to_string();
    let mut undep_current = req("lab-env@2", None, None);
    undep_current.remove = true;
    let mut undep_with_at = req("lab-env@1", None, Some("2030-01-01"));
    undep_with_at.remove = true;
    let cases: Vec<(DeprecateRequest, &str)> = vec![
        (
            req("lab-env@2", Some("lab-env@9"), None),
            "replacement lab-env@9",
        ),
        (
            req("lab-env@2", Some("lab-env@1"), None),
            "is itself deprecated",
        ),
        (
            req("lab-env@2", Some("lab-env@2"), None),
            "cannot replace itself",
        ),
        (req("lab-env@2", None, Some(&past)), "is in the past"),
        (
            req("lab-env@2", None, Some(&far)),
            "more than 10 years ahead",
        ),
        (req("lab-env@2", None, Some("soon")), "is not a time"),
        (req("lab-env@7", None, None), "no version '7'"),
        (req("lab-env", None, None), "which version of 'lab-env'"),
        (req("lab-env@1", None, None), "already deprecated"),
        (req("python-ml@1.0.0", None, None), "not a saved template"),
        (undep_current, "is not deprecated"),
        (undep_with_at, "takes no --replacement or --at"),
    ];
    for (r, frag) in cases {
        let e = prism_ops::deprecate::prepare(&rig.env, &rig.catalogue(), &r)
            .await
            .err()
            .unwrap_or_else(|| panic!("{} accepted", r.template))
            .to_string();
        assert!(e.contains(frag), "{}: {e}", r.template);
    }
    assert_eq!(mutating(&rig), before_calls, "a refusal called EC2");
    assert_eq!(files(), before_files, "a refusal changed a file");
}

#[tokio::test(start_paused = true)]
async fn the_fake_refuses_what_ec2_documents_it_refuses() {
    let rig = two_versions().await;
    let img = &images_of(&rig, "2")[0];
    let past = Utc::now() - Duration::hours(1);
    let e = rig
        .fake
        .enable_image_deprecation(&img.region, &img.id, past)
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("InvalidParameterValue"), "{e}");
    let e = rig
        .fake
        .enable_image_deprecation(&img.region, &img.id, Utc::now() + Duration::days(3700))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("InvalidParameterValue"), "{e}");
    // Seconds are rounded to the minute.
    let at = chrono::DateTime::parse_from_rfc3339("2030-06-01T10:20:40Z")
        .unwrap()
        .with_timezone(&Utc);
    rig.fake
        .enable_image_deprecation(&img.region, &img.id, at)
        .await
        .unwrap();
    let q = prism_cloud::ImageQuery {
        ids: vec![img.id.clone()],
        ..Default::default()
    };
    let found = rig.fake.describe_images(&img.region, &q).await.unwrap();
    assert_eq!(
        found[0].deprecation_time.as_deref(),
        Some("2030-06-01T10:21:00Z")
    );
    rig.fake
        .disable_image_deprecation(&img.region, &img.id)
        .await
        .unwrap();
    let found = rig.fake.describe_images(&img.region, &q).await.unwrap();
    assert!(found[0].deprecation_time.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_version_saved_from_a_deprecated_one_starts_current() {
    let rig = two_versions().await;
    let row = run(&rig, &req("lab-env@2", Some("lab-env@1"), None))
        .await
        .unwrap();
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    // A workstation launched from the deprecated version, pinned.
    let id = rig.workstation("ws2", 20).await;
    let t = prism_cloud::Tags::from([(tags::TEMPLATE.to_string(), "lab-env@2".to_string())]);
    rig.fake.create_tags(REGION, &[id], &t).await.unwrap();
    let op = rig
        .submit_save(&Rig::save_request("ws2", "other-env", &[]))
        .await
        .unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let c = rig.catalogue();
    let e = c.get("other-env").expect("the new version is current");
    assert!(
        e.template.deprecation.is_none(),
        "{:?}",
        e.template.deprecation
    );
}
