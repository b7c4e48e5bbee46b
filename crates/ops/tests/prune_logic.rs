//! `template prune` on the fake cloud (virtual clock): which versions go and why — the
//! latest, the newest N, a version a stopped workstation was launched from and one launched
//! within --unused-for stay; --older-than spares recent saves; the versions that go are
//! deleted by the template-delete saga in EC2; refusals change nothing.

mod common;

use common::Rig;
use prism_api::TemplatePruneRequest;
use prism_cloud::fake::FakeTimings;
use prism_cloud::tags;
use prism_store::{NewOperation, WorkstationRow};
use std::time::Duration;

const DAY: Duration = Duration::from_secs(86_400);

fn versions_in_ec2(rig: &Rig) -> Vec<String> {
    let mut v: Vec<String> = rig
        .own_images()
        .into_iter()
        .map(|i| i.tags[tags::SAVED_VERSION].clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

async fn workstation(rig: &Rig, name: &str, version: &str, state: &str) {
    rig.env
        .store
        .upsert_workstation(WorkstationRow {
            name: name.into(),
            instance_id: format!("i-{name}"),
            region: common::REGION.into(),
            state: state.into(),
            template: Some("lab-env".into()),
            template_version: Some(version.into()),
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
}

/// A succeeded launch of `lab-env@version` in Prism's records.
async fn launched(rig: &Rig, version: &str) {
    let id = uuid_like(version);
    rig.env
        .store
        .insert_operation(NewOperation {
            id: id.clone(),
            kind: prism_ops::launch::KIND.into(),
            target: format!("ws from lab-env@{version}"),
            lock_keys: vec![],
            input: serde_json::json!({"template": "lab-env", "template_version": version}),
        })
        .await
        .unwrap()
        .unwrap();
    rig.env
        .store
        .set_operation_status(&id, "succeeded", Some(serde_json::json!({})), None)
        .await
        .unwrap();
}

fn uuid_like(v: &str) -> String {
    format!("00000000-0000-0000-0000-00000000000{v}")
}

fn req(keep: u32) -> TemplatePruneRequest {
    TemplatePruneRequest {
        template: "lab-env".into(),
        keep,
        ..Default::default()
    }
}

/// lab-env versions 1–2 saved 20 days before 3–5; v1 launched (workstation gone since), a
/// stopped workstation from v3, a terminated one from v2.
async fn five_versions() -> Rig {
    let rig = Rig::new(FakeTimings::default());
    rig.workstation("ws", 20).await;
    for n in 1..=5 {
        if n == 3 {
            tokio::time::advance(20 * DAY).await;
        }
        let mut r = Rig::save_request("ws", "lab-env", &[]);
        r.no_inherit = true;
        let op = rig.submit_save(&r).await.unwrap();
        assert_eq!(rig.finished(&op).await.status, "succeeded");
    }
    launched(&rig, "1").await;
    workstation(&rig, "w3", "3", "stopped").await;
    workstation(&rig, "w2", "2", "terminated").await;
    rig
}

#[tokio::test(start_paused = true)]
async fn prune_deletes_only_what_no_rule_keeps() {
    let rig = five_versions().await;
    let (plan, op) = prism_ops::prune::prepare(&rig.env, &rig.catalogue(), &req(2))
        .await
        .unwrap();
    let fate: Vec<(&str, bool)> = plan
        .decisions
        .iter()
        .map(|d| (d.version.as_str(), d.delete))
        .collect();
    assert_eq!(
        fate,
        [
            ("1", false),
            ("2", true),
            ("3", false),
            ("4", false),
            ("5", false)
        ],
        "{plan:#?}"
    );
    let why = |v: &str| {
        plan.decisions
            .iter()
            .find(|d| d.version == v)
            .unwrap()
            .reason
            .clone()
    };
    assert!(why("5").contains("latest"), "{}", why("5"));
    assert!(why("4").contains("--keep 2"), "{}", why("4"));
    assert!(
        why("3").contains("w3"),
        "stopped still counts: {}",
        why("3")
    );
    assert!(why("1").contains("--unused-for 30d"), "{}", why("1"));
    assert!(why("2").contains("never launched"), "{}", why("2"));
    assert!(plan.monthly_savings_usd > 0.0);
    assert_eq!(plan.deletion.as_ref().unwrap().versions, ["2"]);
    assert_eq!(
        versions_in_ec2(&rig),
        ["1", "2", "3", "4", "5"],
        "planning changes nothing"
    );

    let id = rig.runner.submit(op.expect("a deletion")).await.unwrap().id;
    let done = rig.finished(&id).await;
    assert_eq!(
        done.kind,
        prism_ops::template_delete::KIND,
        "the delete saga runs"
    );
    assert_eq!(done.status, "succeeded", "{:?}", done.error);
    assert_eq!(versions_in_ec2(&rig), ["1", "3", "4", "5"]);
    let left: Vec<String> = rig
        .catalogue()
        .versions("lab-env")
        .iter()
        .filter_map(|e| e.raw.version.clone())
        .collect();
    assert_eq!(left, ["1", "3", "4", "5"]);
}

#[tokio::test(start_paused = true)]
async fn older_than_and_unused_for_move_the_line() {
    let rig = five_versions().await;
    // v1/v2 were saved 20 days ago: --older-than 30d spares them, so nothing goes.
    let mut r = req(2);
    r.older_than_seconds = Some(30 * 86_400);
    let (plan, op) = prism_ops::prune::prepare(&rig.env, &rig.catalogue(), &r)
        .await
        .unwrap();
    assert!(op.is_none() && plan.deletion.is_none(), "{plan:#?}");
    let v2 = plan.decisions.iter().find(|d| d.version == "2").unwrap();
    assert!(v2.reason.contains("--older-than 30d"), "{}", v2.reason);

    // 40 days on, v1's launch is outside the default 30 days: v1 and v2 go.
    tokio::time::advance(40 * DAY).await;
    let (plan, _) = prism_ops::prune::prepare(&rig.env, &rig.catalogue(), &req(2))
        .await
        .unwrap();
    assert_eq!(plan.deletion.unwrap().versions, ["1", "2"]);
    // ...unless --unused-for reaches back further.
    let mut r = req(2);
    r.unused_for_seconds = Some(90 * 86_400);
    let (plan, _) = prism_ops::prune::prepare(&rig.env, &rig.catalogue(), &r)
        .await
        .unwrap();
    assert_eq!(plan.deletion.unwrap().versions, ["2"]);
}

#[tokio::test(start_paused = true)]
async fn bad_prunes_are_refused_and_change_nothing() {
    let rig = five_versions().await;
    let before = versions_in_ec2(&rig);
    let refused = |r: TemplatePruneRequest| {
        let rig = &rig;
        async move {
            prism_ops::prune::prepare(&rig.env, &rig.catalogue(), &r)
                .await
                .map(|_| ())
                .unwrap_err()
                .to_string()
        }
    };
    assert!(refused(req(0)).await.contains("--keep 0"));
    let mut r = req(1);
    r.template = "nope-env".into();
    assert!(refused(r).await.contains("not found"));
    let mut r = req(1);
    r.template = "lab-env@2".into();
    assert!(refused(r).await.contains("names one version"));
    let mut r = req(1);
    r.template = "python-ml".into();
    assert!(refused(r).await.contains("not a saved template"));
    let mut r = req(1);
    r.unused_for_seconds = Some(0);
    assert!(refused(r).await.contains("--unused-for"));
    assert_eq!(versions_in_ec2(&rig), before);
    assert!(rig
        .env
        .store
        .operations(10)
        .await
        .unwrap()
        .iter()
        .all(|o| o.kind != prism_ops::template_delete::KIND));
}

/// A version `template protect` protected stays, whatever the rules say, with the reason and
/// how to lift it (EC2 would refuse its DeregisterImage); the rest of the prune goes ahead.
#[tokio::test(start_paused = true)]
async fn a_protected_version_stays_and_says_how_to_lift_it() {
    use prism_cloud::Cloud;
    let rig = five_versions().await;
    let v2 = rig
        .own_images()
        .into_iter()
        .find(|i| i.tags[tags::SAVED_VERSION] == "2")
        .unwrap();
    rig.fake
        .enable_deregistration_protection(&v2.region, &v2.id, false)
        .await
        .unwrap();
    let (plan, op) = prism_ops::prune::prepare(&rig.env, &rig.catalogue(), &req(1))
        .await
        .unwrap();
    let d2 = plan.decisions.iter().find(|d| d.version == "2").unwrap();
    assert!(!d2.delete, "{plan:#?}");
    assert!(
        d2.reason.contains("protected") && d2.reason.contains("prism template unprotect lab-env@2"),
        "{}",
        d2.reason
    );
    // v4 (no rule keeps it) still goes; v1 (launched lately) and v3 (w3) stay as before.
    assert_eq!(plan.deletion.as_ref().unwrap().versions, ["4"], "{plan:#?}");
    let id = rig.runner.submit(op.unwrap()).await.unwrap().id;
    assert_eq!(rig.finished(&id).await.status, "succeeded");
    assert_eq!(versions_in_ec2(&rig), ["1", "2", "3", "5"]);
}
