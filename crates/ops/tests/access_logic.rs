//! Reaching a workstation, over the fake EC2: the SSH key is imported once per region, the
//! Prism-managed group admits SSH from the given CIDR only, the instance gets both plus
//! IMDSv2, and a region without a default VPC is refused before anything is created unless a
//! subnet is given.

mod common;

use common::{Rig, REGION};
use prism_api::LaunchRequest;
use prism_cloud::fake::FakeTimings;
use prism_cloud::{tags, IngressRule, Instance};

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvRDtO4b7GQ6tP0Ucxx1ZkEbcf3b4GRuV0C39+dWS7x me@laptop";

fn base_image(rig: &Rig) {
    rig.fake.add_base_image(
        REGION,
        "099720109477",
        "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20240301",
        "x86_64",
    );
}

fn request(name: &str, allow_from: Option<&str>, subnet: Option<&str>) -> LaunchRequest {
    LaunchRequest {
        template: "python-ml".into(),
        name: name.into(),
        size: None,
        arch: None,
        project: None,
        aws: Default::default(),
        ssh_public_key: Some(KEY.into()),
        allow_from: allow_from.map(Into::into),
        subnet_id: subnet.map(Into::into),
        over_budget: false,
    }
}

async fn launch(rig: &Rig, req: &LaunchRequest) -> serde_json::Value {
    let op = prism_ops::launch::prepare(&rig.env, &rig.catalogue(), req, REGION)
        .await
        .unwrap();
    let id = rig.runner.submit(op).await.unwrap().id;
    let row = rig.finished(&id).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    row.result.unwrap()
}

fn instance(rig: &Rig, name: &str) -> Instance {
    rig.fake
        .instances()
        .into_iter()
        .find(|i| i.tags.get(tags::NAME).map(String::as_str) == Some(name))
        .unwrap()
}

fn mutating_calls(rig: &Rig) -> Vec<String> {
    rig.fake
        .calls()
        .into_iter()
        .filter(|c| !c.action.starts_with("Describe") && c.action != "GetCallerIdentity")
        .map(|c| c.action)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn two_launches_import_the_key_once_and_share_one_group_with_one_rule() {
    let rig = Rig::new(FakeTimings::default());
    base_image(&rig);
    launch(&rig, &request("a", Some("203.0.113.7/32"), None)).await;
    let r = launch(&rig, &request("b", Some("203.0.113.7/32"), None)).await;

    let keys = rig.fake.key_pairs();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let key = &keys[0].2;
    assert!(key.name.starts_with("prism-") && key.name.len() == 22);
    assert_eq!(
        key.tags.get(tags::MANAGED).map(String::as_str),
        Some("true")
    );
    let imports = mutating_calls(&rig)
        .into_iter()
        .filter(|a| a == "ImportKeyPair")
        .count();
    assert_eq!(imports, 1);

    let groups = rig.fake.security_groups();
    assert_eq!(groups.len(), 1, "{groups:?}");
    let g = &groups[0].1;
    assert_eq!(g.name, "prism-ssh");
    assert_eq!(g.tags.get(tags::MANAGED).map(String::as_str), Some("true"));
    assert_eq!(g.ingress, vec![IngressRule::ssh_from("203.0.113.7/32")]);

    for name in ["a", "b"] {
        let i = instance(&rig, name);
        assert_eq!(i.key_name.as_deref(), Some(key.name.as_str()));
        assert_eq!(i.security_group_ids, vec![g.id.clone()]);
        assert_eq!(i.http_tokens.as_deref(), Some("required"));
    }
    assert_eq!(r["key_name"], key.name.as_str());
    assert_eq!(r["warnings"], serde_json::json!([]));
}

#[tokio::test(start_paused = true)]
async fn a_new_cidr_replaces_the_rule_and_no_cidr_opens_nothing() {
    let rig = Rig::new(FakeTimings::default());
    base_image(&rig);
    let r = launch(&rig, &request("a", None, None)).await;
    let g = rig.fake.security_groups()[0].1.clone();
    assert!(g.ingress.is_empty(), "{g:?}");
    let warnings = r["warnings"].to_string();
    assert!(warnings.contains("--allow-from"), "{warnings}");

    launch(&rig, &request("b", Some("198.51.100.0/24"), None)).await;
    launch(&rig, &request("c", Some("2001:db8::/64"), None)).await;
    let g = rig.fake.security_groups()[0].1.clone();
    assert_eq!(g.ingress, vec![IngressRule::ssh_from("2001:db8::/64")]);

    let r = launch(&rig, &request("d", Some("0.0.0.0/0"), None)).await;
    assert!(
        r["warnings"].to_string().contains("whole internet"),
        "{}",
        r["warnings"]
    );
}

#[tokio::test(start_paused = true)]
async fn no_default_vpc_is_refused_before_anything_and_a_subnet_launches_there() {
    let rig = Rig::new(FakeTimings::default());
    base_image(&rig);
    rig.fake.delete_default_vpc(REGION);
    let before = rig.fake.calls().len();
    let err = prism_ops::launch::prepare(
        &rig.env,
        &rig.catalogue(),
        &request("a", Some("203.0.113.7/32"), None),
        REGION,
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("region {REGION} has no default VPC: pass --subnet ID")
    );
    assert!(matches!(err, prism_ops::OpsError::Invalid { .. }));
    let after: Vec<_> = rig.fake.calls()[before..]
        .iter()
        .filter(|c| !c.action.starts_with("Describe") && c.action != "GetCallerIdentity")
        .map(|c| c.action.clone())
        .collect();
    assert!(after.is_empty(), "{after:?}");

    // An unknown subnet is refused too.
    let err = prism_ops::launch::prepare(
        &rig.env,
        &rig.catalogue(),
        &request("a", None, Some("subnet-0123456789abcdef0")),
        REGION,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(mutating_calls(&rig).is_empty());

    let (vpc, subnet) = rig.fake.add_vpc_with_subnet(REGION);
    launch(&rig, &request("a", Some("203.0.113.7/32"), Some(&subnet))).await;
    let i = instance(&rig, "a");
    assert_eq!(i.subnet_id.as_deref(), Some(subnet.as_str()));
    let g = rig.fake.security_groups()[0].1.clone();
    assert_eq!(g.vpc_id.as_deref(), Some(vpc.as_str()));
    assert_eq!(i.security_group_ids, vec![g.id]);
}

#[tokio::test(start_paused = true)]
async fn bad_access_input_is_refused_before_anything() {
    let rig = Rig::new(FakeTimings::default());
    base_image(&rig);
    let mut bad_key = request("a", None, None);
    bad_key.ssh_public_key = Some("not a key".into());
    let mut bad_cidr = request("a", Some("203.0.113.7"), None);
    bad_cidr.ssh_public_key = None;
    let bad_subnet = request("a", None, Some("subnet-XYZ"));
    for (req, want) in [
        (bad_key, "not an OpenSSH public key"),
        (bad_cidr, "is not a CIDR"),
        (bad_subnet, "is not a subnet id"),
    ] {
        let err = prism_ops::launch::prepare(&rig.env, &rig.catalogue(), &req, REGION)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(want), "{err}");
    }
    assert!(rig.fake.calls().is_empty(), "{:?}", rig.fake.calls());
}
