//! Protocol tests of `AwsCloud` against the moto EC2 emulator (one moto per test).

use prism_aws::AwsCloudFactory;
use prism_cloud::{
    Cloud, CloudErrorKind, CloudFactory, CopyImageRequest, CreateImageRequest, ImageQuery,
    ImageState, InstanceFilter, InstanceState, RunSpec, Share, SnapshotQuery, Tags,
};
use prism_testkit::{Fault, FaultPlan, FaultProxy, FaultRule, Moto};
use std::sync::Arc;
use std::time::{Duration, Instant};

const REGION: &str = "us-east-1";
const OTHER_REGION: &str = "us-west-2";
const UBUNTU_2204_AMD64: &str = "ami-0c7217cdde317cfec";
const UBUNTU_2204_AMD64_OLD: &str = "ami-053b0d53c279acc90";
const AL2023_X86: &str = "ami-051f8a213df8bc089";
const CANONICAL: &str = "099720109477";

/// Moto and a cloud pointed at it (the moto must outlive the cloud's calls).
async fn setup() -> (Moto, Arc<dyn Cloud>) {
    let moto = Moto::start();
    let factory = AwsCloudFactory::with_endpoint(&moto.endpoint).await;
    let cloud = factory.cloud(None).await.expect("cloud");
    (moto, cloud)
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn run_spec(token: &str, name: &str, root_gb: Option<i32>) -> RunSpec {
    RunSpec {
        image_id: UBUNTU_2204_AMD64.into(),
        instance_type: "t3.medium".into(),
        root_volume_gb: root_gb,
        user_data: Some("#!/bin/bash\necho hello\n".into()),
        tags: tags(&[("prism:managed", "true"), ("prism:name", name)]),
        client_token: token.into(),
        key_name: None,
        security_group_ids: vec![],
        subnet_id: None,
    }
}

async fn by_name(cloud: &dyn Cloud, name: &str) -> Vec<prism_cloud::Instance> {
    cloud
        .describe_instances(
            REGION,
            &InstanceFilter {
                tags: tags(&[("prism:name", name)]),
                ..Default::default()
            },
        )
        .await
        .expect("describe instances")
}

#[tokio::test]
async fn regions_and_identity() {
    let (_moto, cloud) = setup().await;
    let regions = cloud.describe_regions(REGION).await.expect("regions");
    assert!(regions.iter().any(|r| r == "us-east-1"), "{regions:?}");
    assert!(regions.iter().any(|r| r == "eu-west-1"), "{regions:?}");
    let me = cloud.caller_identity(REGION).await.expect("identity");
    assert_eq!(me.account, "123456789012");
    assert!(me.arn.starts_with("arn:aws:"), "{}", me.arn);
}

#[tokio::test]
async fn fixture_images_resolve_in_every_region() {
    let (_moto, cloud) = setup().await;
    for region in [REGION, OTHER_REGION] {
        let found = cloud
            .describe_images(
                region,
                &ImageQuery {
                    owners: vec![CANONICAL.into()],
                    name: Some("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*".into()),
                    architecture: Some("x86_64".into()),
                    ..Default::default()
                },
            )
            .await
            .expect("describe images");
        let mut ids: Vec<&str> = found.iter().map(|i| i.id.as_str()).collect();
        ids.sort();
        assert_eq!(
            ids,
            vec![UBUNTU_2204_AMD64_OLD, UBUNTU_2204_AMD64],
            "{region}"
        );
        let newest = found
            .iter()
            .max_by(|a, b| a.creation_date.cmp(&b.creation_date))
            .unwrap();
        assert_eq!(newest.id, UBUNTU_2204_AMD64);
        assert_eq!(newest.region, region);
        assert_eq!(newest.owner_id.as_deref(), Some(CANONICAL));
        assert_eq!(newest.state, ImageState::Available);
        assert!(newest.public);
        assert_eq!(newest.snapshot_ids.len(), 1);
        assert!(newest.size_gb > 0);
    }
    // The arm64 build is a different image.
    let arm = cloud
        .describe_images(
            REGION,
            &ImageQuery {
                owners: vec![CANONICAL.into()],
                name: Some("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-*".into()),
                architecture: Some("arm64".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(arm.len(), 1);
    assert_eq!(arm[0].architecture, "arm64");

    let al = cloud
        .describe_images(
            OTHER_REGION,
            &ImageQuery {
                owners: vec!["amazon".into()],
                name: Some("al2023-ami-2023*-x86_64".into()),
                ..Default::default()
            },
        )
        .await
        .expect("AL2023");
    assert_eq!(al.len(), 1, "{al:?}");
    assert_eq!(al[0].id, AL2023_X86);
    assert_eq!(al[0].architecture, "x86_64");

    // Ids that do not exist: an empty answer, not an error.
    let none = cloud
        .describe_images(
            REGION,
            &ImageQuery {
                ids: vec!["ami-00000000000000000".into()],
                ..Default::default()
            },
        )
        .await
        .expect("unknown id");
    assert!(none.is_empty());
}

#[tokio::test]
async fn instance_lifecycle_with_tags_and_volume_size() {
    let (_moto, cloud) = setup().await;
    let launched = cloud
        .run_instance(REGION, &run_spec("tok-lifecycle", "ws-1", Some(42)))
        .await
        .expect("run");
    assert!(launched.id.starts_with("i-"), "{}", launched.id);
    assert_eq!(launched.image_id, UBUNTU_2204_AMD64);
    assert_eq!(launched.instance_type, "t3.medium");

    // A second, untagged-by-name instance must not match the tag filter.
    cloud
        .run_instance(REGION, &run_spec("tok-other", "ws-other", None))
        .await
        .expect("run other");

    let found = by_name(cloud.as_ref(), "ws-1").await;
    assert_eq!(found.len(), 1, "{found:?}");
    let inst = &found[0];
    assert_eq!(inst.id, launched.id);
    assert_eq!(inst.state, InstanceState::Running);
    assert_eq!(inst.architecture, "x86_64");
    assert_eq!(
        inst.tags.get("prism:managed").map(String::as_str),
        Some("true")
    );
    assert_eq!(inst.volume_sizes_gb, vec![42], "root volume resized");
    assert!(inst.launch_time.is_some());
    assert!(inst.private_ip.is_some());

    // Without a root size, moto's default 8 GiB root volume is reported.
    let other = by_name(cloud.as_ref(), "ws-other").await;
    assert_eq!(other[0].volume_sizes_gb, vec![8]);

    // tag-key and id filters.
    let by_key = cloud
        .describe_instances(
            REGION,
            &InstanceFilter {
                tag_keys: vec!["prism:managed".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_key.len(), 2);
    let by_id = cloud
        .describe_instances(
            REGION,
            &InstanceFilter {
                ids: vec![launched.id.clone(), "i-0123456789abcdef0".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[0].id, launched.id);

    // Another region sees none of them.
    let elsewhere = cloud
        .describe_instances(OTHER_REGION, &InstanceFilter::default())
        .await
        .unwrap();
    assert!(elsewhere.is_empty());

    cloud
        .stop_instance(REGION, &launched.id)
        .await
        .expect("stop");
    assert_eq!(
        by_name(cloud.as_ref(), "ws-1").await[0].state,
        InstanceState::Stopped
    );
    cloud
        .start_instance(REGION, &launched.id)
        .await
        .expect("start");
    assert_eq!(
        by_name(cloud.as_ref(), "ws-1").await[0].state,
        InstanceState::Running
    );

    cloud
        .terminate_instance(REGION, &launched.id)
        .await
        .expect("terminate");
    assert!(
        by_name(cloud.as_ref(), "ws-1").await.is_empty(),
        "terminated hidden"
    );
    let with_terminated = cloud
        .describe_instances(
            REGION,
            &InstanceFilter {
                tags: tags(&[("prism:name", "ws-1")]),
                include_terminated: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(with_terminated.len(), 1);
    assert_eq!(with_terminated[0].state, InstanceState::Terminated);
}

#[tokio::test]
async fn save_copy_share_and_clean_up_an_image() {
    let (_moto, cloud) = setup().await;
    let inst = cloud
        .run_instance(REGION, &run_spec("tok-save", "ws-save", None))
        .await
        .expect("run");
    cloud.stop_instance(REGION, &inst.id).await.expect("stop");

    let image_tags = tags(&[
        ("prism:managed", "true"),
        ("prism:saved-template", "my-env"),
        ("prism:saved-version", "1"),
    ]);
    let image_id = cloud
        .create_image(
            REGION,
            &CreateImageRequest {
                instance_id: inst.id.clone(),
                name: "prism-my-env-v1".into(),
                description: "my env".into(),
                no_reboot: true,
                tags: image_tags.clone(),
            },
        )
        .await
        .expect("create image");
    assert!(image_id.starts_with("ami-"));

    let mine = cloud
        .describe_images(
            REGION,
            &ImageQuery {
                owners: vec!["self".into()],
                tags: tags(&[("prism:saved-template", "my-env")]),
                ..Default::default()
            },
        )
        .await
        .expect("describe own images");
    assert_eq!(mine.len(), 1, "{mine:?}");
    let img = &mine[0];
    assert_eq!(img.id, image_id);
    assert_eq!(img.name, "prism-my-env-v1");
    assert_eq!(img.description.as_deref(), Some("my env"));
    assert_eq!(img.state, ImageState::Available);
    assert_eq!(img.owner_id.as_deref(), Some("123456789012"));
    assert_eq!(img.tags, image_tags);
    assert!(!img.public);
    assert!(!img.snapshot_ids.is_empty());
    assert!(img.snapshot_ids.iter().all(|s| s.starts_with("snap-")));

    // Snapshots are tagged after the fact.
    let snap_tags = tags(&[
        ("prism:saved-template", "my-env"),
        ("prism:managed", "true"),
    ]);
    cloud
        .create_tags(REGION, &img.snapshot_ids, &snap_tags)
        .await
        .expect("tag snapshots");
    let snaps = cloud
        .describe_snapshots(
            REGION,
            &SnapshotQuery {
                tags: tags(&[("prism:saved-template", "my-env")]),
                ..Default::default()
            },
        )
        .await
        .expect("snapshots by tag");
    let mut snap_ids: Vec<String> = snaps.iter().map(|s| s.id.clone()).collect();
    snap_ids.sort();
    let mut expected = img.snapshot_ids.clone();
    expected.sort();
    assert_eq!(snap_ids, expected);
    assert!(snaps.iter().all(|s| s.tags == snap_tags));
    assert!(snaps
        .iter()
        .all(|s| s.progress == Some(100) && s.size_gb > 0));
    let by_id = cloud
        .describe_snapshots(
            REGION,
            &SnapshotQuery {
                ids: vec![expected[0].clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_id.len(), 1);
    assert!(by_id[0]
        .description
        .as_deref()
        .is_some_and(|d| d.contains(&image_id)));
    assert!(by_id[0].made_for(&image_id), "{:?}", by_id[0].description);
    // Save finds an image's snapshots by EC2's description, without the image's block
    // device mappings (a pending image on EC2 does not show their snapshot ids).
    let by_description = cloud
        .describe_snapshots(
            REGION,
            &SnapshotQuery {
                description: Some(format!("Created by CreateImage(*) for {image_id}")),
                ..Default::default()
            },
        )
        .await
        .expect("snapshots by description");
    let mut found: Vec<String> = by_description.iter().map(|s| s.id.clone()).collect();
    found.sort();
    assert_eq!(found, expected);

    // Copy into another region.
    let copy_id = cloud
        .copy_image(
            OTHER_REGION,
            &CopyImageRequest {
                source_region: REGION.into(),
                source_image_id: image_id.clone(),
                name: "prism-my-env-v1".into(),
                description: "my env (copy)".into(),
                client_token: "copy-tok-1".into(),
                tags: tags(&[("prism:operation", "op-copy")]),
                kms_key_id: None,
                completion_duration_minutes: None,
            },
        )
        .await
        .expect("copy");
    assert_ne!(copy_id, image_id);
    let there = cloud
        .describe_images(
            OTHER_REGION,
            &ImageQuery {
                ids: vec![copy_id.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(there.len(), 1);
    assert_eq!(there[0].region, OTHER_REGION);
    assert_eq!(there[0].name, "prism-my-env-v1");
    assert_eq!(there[0].description.as_deref(), Some("my env (copy)"));
    // The copy is not visible in the source region.
    let not_here = cloud
        .describe_images(
            REGION,
            &ImageQuery {
                ids: vec![copy_id.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(not_here.is_empty());

    // Public sharing, then unsharing.
    let public = Share {
        public: true,
        ..Default::default()
    };
    cloud
        .share_image(REGION, &image_id, &public)
        .await
        .expect("share");
    let shared = describe_one(cloud.as_ref(), &image_id).await;
    assert!(shared.public);
    cloud
        .share_image(
            REGION,
            &image_id,
            &Share {
                accounts: vec!["111122223333".into()],
                ..Default::default()
            },
        )
        .await
        .expect("share with account");
    cloud
        .unshare_image(REGION, &image_id, &public)
        .await
        .expect("unshare");
    assert!(!describe_one(cloud.as_ref(), &image_id).await.public);
    // An invalid account id is refused with AWS's code.
    let bad = cloud
        .share_image(
            REGION,
            &image_id,
            &Share {
                accounts: vec!["not-an-account".into()],
                ..Default::default()
            },
        )
        .await
        .expect_err("bad account");
    assert_eq!(bad.code.as_deref(), Some("InvalidAMIAttributeItemValue"));
    assert_eq!(bad.kind, CloudErrorKind::InvalidRequest);

    // Clean up: deregister, delete snapshots, and both again (already gone is fine).
    cloud
        .deregister_image(REGION, &image_id, true)
        .await
        .expect("deregister");
    cloud
        .deregister_image(REGION, &image_id, true)
        .await
        .expect("deregister again");
    cloud
        .deregister_image(REGION, "ami-0fffffffffffffff0", true)
        .await
        .expect("deregister unknown");
    assert!(cloud
        .describe_images(
            REGION,
            &ImageQuery {
                ids: vec![image_id.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .is_empty());
    for s in &expected {
        cloud
            .delete_snapshot(REGION, s)
            .await
            .expect("delete snapshot");
        cloud
            .delete_snapshot(REGION, s)
            .await
            .expect("delete snapshot again");
    }
    let left = cloud
        .describe_snapshots(
            REGION,
            &SnapshotQuery {
                ids: expected.clone(),
                ..Default::default()
            },
        )
        .await
        .expect("deleted snapshots");
    assert!(left.is_empty());

    cloud
        .terminate_instance(REGION, &inst.id)
        .await
        .expect("terminate");
}

async fn describe_one(cloud: &dyn Cloud, image_id: &str) -> prism_cloud::Image {
    let mut v = cloud
        .describe_images(
            REGION,
            &ImageQuery {
                ids: vec![image_id.to_string()],
                ..Default::default()
            },
        )
        .await
        .expect("describe image");
    assert_eq!(v.len(), 1);
    v.remove(0)
}

#[tokio::test]
async fn errors_name_action_region_and_code() {
    let (_moto, cloud) = setup().await;
    let err = cloud
        .stop_instance(REGION, "i-doesnotexist")
        .await
        .expect_err("unknown instance");
    assert_eq!(err.kind, CloudErrorKind::NotFound);
    assert_eq!(err.code.as_deref(), Some("InvalidInstanceID.NotFound"));
    assert_eq!(err.resource.as_deref(), Some("i-doesnotexist"));
    let text = err.to_string();
    eprintln!("stop error: {text}");
    for part in [
        "StopInstances",
        REGION,
        "InvalidInstanceID.NotFound",
        "i-doesnotexist",
    ] {
        assert!(text.contains(part), "{text:?} lacks {part}");
    }
    assert!(!text.contains("service error"), "{text}");

    // Running an AMI that does not exist.
    let mut spec = run_spec("tok-bad", "bad", Some(20));
    spec.image_id = "ami-0123456789abcdef0".into();
    let err = cloud
        .run_instance(REGION, &spec)
        .await
        .expect_err("bad ami");
    eprintln!("bad ami: {err}");
    assert_eq!(err.kind, CloudErrorKind::NotFound, "{err}");
    assert_eq!(err.code.as_deref(), Some("InvalidAMIID.NotFound"));
    // Without a root size, RunInstances itself refuses it (moto validates AMIs as EC2 does).
    spec.root_volume_gb = None;
    let err = cloud
        .run_instance(REGION, &spec)
        .await
        .expect_err("bad ami, no root size");
    assert_eq!(err.action, "RunInstances", "{err}");
    assert_eq!(err.kind, CloudErrorKind::NotFound, "{err}");
    assert_eq!(err.resource.as_deref(), Some("ami-0123456789abcdef0"));
}

#[tokio::test]
async fn unreachable_endpoint_is_transient() {
    // A port nothing listens on: bind, read, drop.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let factory = AwsCloudFactory::with_endpoint(&format!("http://127.0.0.1:{port}")).await;
    let cloud = factory.cloud(Some("any-profile")).await.unwrap();
    let err = cloud
        .describe_regions(REGION)
        .await
        .expect_err("nothing listens");
    eprintln!("unreachable: {err}");
    assert_eq!(err.kind, CloudErrorKind::Transient, "{err}");
    assert_eq!(err.action, "DescribeRegions");
    assert!(err.code.is_none());
    assert!(!err.message.is_empty());
    assert!(!err.message.eq_ignore_ascii_case("service error"));
}

#[tokio::test]
async fn the_attempt_timeout_bounds_each_call_and_can_be_raised() {
    // Every DescribeImages answer comes 3 s late (moto still answers it).
    let moto = Moto::start();
    let plan = FaultPlan::new(
        1,
        vec![FaultRule::new(
            &["DescribeImages"],
            Fault::Delay(Duration::from_secs(3)),
        )],
    );
    let proxy = FaultProxy::start(&moto.endpoint, plan);
    let query = ImageQuery {
        owners: vec!["self".into()],
        ..Default::default()
    };

    // 1 s per attempt: every attempt times out, and the error says so.
    let impatient =
        AwsCloudFactory::with_endpoint_and_timeout(&proxy.endpoint, Duration::from_secs(1)).await;
    let cloud = impatient.cloud(None).await.unwrap();
    let t = Instant::now();
    let err = cloud
        .describe_images(REGION, &query)
        .await
        .expect_err("3 s answers with a 1 s attempt timeout");
    eprintln!("impatient: {err} after {:?}", t.elapsed());
    assert_eq!(err.kind, CloudErrorKind::Transient, "{err}");
    assert_eq!(err.action, "DescribeImages");
    assert!(err.message.contains("timed out"), "{err}");
    assert_eq!(
        proxy.stats().requests_by_action.get("DescribeImages"),
        Some(&(prism_aws::MAX_ATTEMPTS as u64)),
        "each attempt reached the server"
    );

    // 10 s per attempt: the same slow call succeeds on its first attempt.
    proxy.reset_stats();
    let patient =
        AwsCloudFactory::with_endpoint_and_timeout(&proxy.endpoint, Duration::from_secs(10)).await;
    let cloud = patient.cloud(None).await.unwrap();
    cloud
        .describe_images(REGION, &query)
        .await
        .expect("a 3 s answer fits in 10 s");
    assert_eq!(
        proxy.stats().requests_by_action.get("DescribeImages"),
        Some(&1)
    );
}
