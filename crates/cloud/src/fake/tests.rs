//! The fake's own behaviour: lost answers, injected faults, limits (older, lenient tests).
use super::state::name_match;
use super::*;
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn create_image_refuses_what_ec2_refuses() {
    let c = FakeCloud::new(FakeTimings::default());
    let id = c.add_instance("us-east-1", Tags::new(), 10);
    let req = |name: &str, description: String| CreateImageRequest {
        instance_id: id.clone(),
        name: name.into(),
        description,
        no_reboot: true,
        tags: Tags::new(),
    };
    for bad in [req("img", "d".repeat(256)), req("x", "d".into())] {
        let e = c.create_image("us-east-1", &bad).await.unwrap_err();
        assert_eq!(e.code.as_deref(), Some("InvalidParameterValue"));
    }
    assert!(c.images().is_empty(), "nothing was created");
    c.create_image("us-east-1", &req("img", "d".repeat(255)))
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn image_becomes_available_after_virtual_time() {
    let c = FakeCloud::new(FakeTimings::default());
    let id = c.add_instance("us-east-1", Tags::new(), 100);
    let img = c
        .create_image(
            "us-east-1",
            &CreateImageRequest {
                instance_id: id,
                name: "img-x".into(),
                description: "d".into(),
                no_reboot: true,
                tags: Tags::new(),
            },
        )
        .await
        .unwrap();
    let q = ImageQuery {
        ids: vec![img.clone()],
        ..Default::default()
    };
    tokio::time::sleep(Duration::from_secs(3)).await; // EC2's consistency window
    let first = c.describe_images("us-east-1", &q).await.unwrap();
    assert_eq!(first[0].state, ImageState::Pending);
    assert!(first[0].snapshot_ids.is_empty());
    tokio::time::sleep(Duration::from_secs(301)).await;
    let later = c.describe_images("us-east-1", &q).await.unwrap();
    assert_eq!(later[0].state, ImageState::Available);
    assert_eq!(later[0].snapshot_ids.len(), 1);
    assert_eq!(later[0].size_gb, 100);
}

#[tokio::test]
async fn injected_fault_fires_the_given_number_of_times() {
    let c = FakeCloud::new(FakeTimings::default());
    c.fail(
        "DescribeRegions",
        None,
        Some(1),
        CloudErrorKind::Transient,
        "RequestLimitExceeded",
    );
    let e = c.describe_regions("us-east-1").await.unwrap_err();
    assert_eq!(e.code.as_deref(), Some("RequestLimitExceeded"));
    assert!(c.describe_regions("us-east-1").await.is_ok());
}

/// The error a lost answer gives: transient, no AWS code, like a dropped connection.
fn assert_lost(e: &CloudError, action: &str) {
    assert_eq!(e.kind, CloudErrorKind::Transient, "{e}");
    assert!(e.is_transient());
    assert_eq!(e.code, None, "{e}");
    assert_eq!(e.action, action);
    assert!(e.message.contains("dispatch failure"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn a_lost_answer_comes_after_the_call_acted() {
    // Lost answers, not EC2's windows, are under test: new ids are visible at once.
    let c = FakeCloud::with_ec2(FakeTimings::default(), FakeEc2::lenient());
    let ami = c.add_base_image("us-east-1", "137112412989", "base", "x86_64");
    for action in [
        "RunInstances",
        "CreateImage",
        "CopyImage",
        "ModifyImageAttribute",
        "CreateTags",
        "DeleteSnapshot",
    ] {
        c.lose_response(action, None, Some(1));
    }
    let tagged = Tags::from([("prism:operation".to_string(), "op-1".to_string())]);

    // RunInstances: the instance runs, with its tags, though the caller heard nothing.
    let spec = RunSpec {
        image_id: ami.clone(),
        instance_type: "t3.large".into(),
        root_volume_gb: Some(50),
        user_data: None,
        tags: tagged.clone(),
        client_token: "op-1".into(),
        key_name: None,
        security_group_ids: vec![],
        subnet_id: None,
    };
    let e = c.run_instance("us-east-1", &spec).await.unwrap_err();
    assert_lost(&e, "RunInstances");
    assert_eq!(e.region, "us-east-1");
    let by_tag = InstanceFilter {
        tags: tagged.clone(),
        ..Default::default()
    };
    let found = c.describe_instances("us-east-1", &by_tag).await.unwrap();
    assert_eq!(found.len(), 1);
    let inst = found[0].id.clone();
    // Once: the next call is answered (and makes a second instance: not idempotent).
    c.run_instance("us-east-1", &spec).await.unwrap();
    assert_eq!(
        c.describe_instances("us-east-1", &by_tag)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(c.lost_responses("RunInstances"), 1);
    tokio::time::sleep(Duration::from_secs(30)).await;

    // CreateImage: the image exists under its name.
    let req = CreateImageRequest {
        instance_id: inst.clone(),
        name: "saved-1".into(),
        description: "d".into(),
        no_reboot: true,
        tags: tagged.clone(),
    };
    assert_lost(
        &c.create_image("us-east-1", &req).await.unwrap_err(),
        "CreateImage",
    );
    let by_name = ImageQuery {
        name: Some("saved-1".into()),
        ..Default::default()
    };
    let images = c.describe_images("us-east-1", &by_name).await.unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].tags, tagged);
    let image = images[0].id.clone();
    tokio::time::sleep(Duration::from_secs(301)).await;

    // CopyImage: the copy exists in the destination region.
    let copy = CopyImageRequest {
        source_region: "us-east-1".into(),
        source_image_id: image.clone(),
        name: "saved-1".into(),
        description: "d".into(),
        client_token: "op-1-us-west-2".into(),
        tags: Tags::new(),
        kms_key_id: None,
        completion_duration_minutes: None,
    };
    assert_lost(
        &c.copy_image("us-west-2", &copy).await.unwrap_err(),
        "CopyImage",
    );
    let copies = c.describe_images("us-west-2", &by_name).await.unwrap();
    assert_eq!(copies.len(), 1);
    let copied = copies[0].id.clone();

    // ModifyImageAttribute (share_image): the image is public.
    let public = Share {
        public: true,
        ..Default::default()
    };
    assert_lost(
        &c.share_image("us-east-1", &image, &public)
            .await
            .unwrap_err(),
        "ModifyImageAttribute",
    );
    assert!(
        c.launch_permissions("us-east-1", &image)
            .await
            .unwrap()
            .public
    );

    // CreateTags: the tags are set.
    let more = Tags::from([("k".to_string(), "v".to_string())]);
    assert_lost(
        &c.create_tags("us-west-2", std::slice::from_ref(&copied), &more)
            .await
            .unwrap_err(),
        "CreateTags",
    );
    let q = ImageQuery {
        ids: vec![copied.clone()],
        ..Default::default()
    };
    assert_eq!(
        c.describe_images("us-west-2", &q).await.unwrap()[0]
            .tags
            .get("k")
            .map(String::as_str),
        Some("v")
    );

    // DeleteSnapshot: the snapshot is gone.
    tokio::time::sleep(Duration::from_secs(601)).await;
    let snap = c.describe_images("us-west-2", &q).await.unwrap()[0].snapshot_ids[0].clone();
    c.deregister_image("us-west-2", &copied, false)
        .await
        .unwrap();
    assert_lost(
        &c.delete_snapshot("us-west-2", &snap).await.unwrap_err(),
        "DeleteSnapshot",
    );
    assert!(!c.snapshots().iter().any(|(_, s)| s.id == snap));

    for action in [
        "CreateImage",
        "CopyImage",
        "ModifyImageAttribute",
        "CreateTags",
        "DeleteSnapshot",
    ] {
        assert_eq!(c.lost_responses(action), 1, "{action}");
    }
    // Every loss was used up: the same calls are answered again.
    c.create_tags("us-east-1", std::slice::from_ref(&inst), &more)
        .await
        .unwrap();
    c.share_image("us-east-1", &image, &public).await.unwrap();
}

#[tokio::test]
async fn a_call_refused_before_acting_keeps_its_error_and_the_loss_waits() {
    let c = FakeCloud::new(FakeTimings::default());
    let ami = c.add_base_image("us-east-1", "137112412989", "base", "x86_64");
    let spec = RunSpec {
        image_id: ami,
        instance_type: "t3.large".into(),
        root_volume_gb: None,
        user_data: None,
        tags: Tags::new(),
        client_token: String::new(),
        key_name: None,
        security_group_ids: vec![],
        subnet_id: None,
    };
    c.fail(
        "RunInstances",
        None,
        Some(1),
        CloudErrorKind::Transient,
        "RequestLimitExceeded",
    );
    c.lose_response("RunInstances", Some("us-east-1"), Some(1));
    // Refused before acting: nothing runs, the throttling error comes back.
    let e = c.run_instance("us-east-1", &spec).await.unwrap_err();
    assert_eq!(e.code.as_deref(), Some("RequestLimitExceeded"));
    assert!(c.instances().is_empty());
    // Another region is not concerned.
    c.run_instance("us-west-2", &spec).await.unwrap_err(); // no such image there
    assert_eq!(c.lost_responses("RunInstances"), 0);
    // Then the loss: the instance runs, the answer is lost.
    assert_lost(
        &c.run_instance("us-east-1", &spec).await.unwrap_err(),
        "RunInstances",
    );
    assert_eq!(c.instances().len(), 1);
    c.run_instance("us-east-1", &spec).await.unwrap();
    assert_eq!(c.instances().len(), 2);
    // Unlimited: every call acts and loses its answer.
    c.lose_response("DescribeRegions", None, None);
    for _ in 0..3 {
        assert_lost(
            &c.describe_regions("us-east-1").await.unwrap_err(),
            "DescribeRegions",
        );
    }
    assert_eq!(c.lost_responses("DescribeRegions"), 3);
    assert_eq!(
        c.calls()
            .iter()
            .filter(|x| x.action == "RunInstances")
            .count(),
        4
    );
}

#[test]
fn wildcard_names() {
    assert!(name_match(
        "al2023-ami-2023*-x86_64",
        "al2023-ami-2023.4-k6-x86_64"
    ));
    assert!(!name_match(
        "al2023-ami-2023*-x86_64",
        "al2023-ami-2023.4-k6-arm64"
    ));
    assert!(name_match("exact", "exact"));
}

/// "Replace the root volume for an Amazon EC2 instance without stopping it" (EC2 User Guide):
/// the task goes pending → in-progress → succeeded; the instance keeps its id, addresses and
/// data volumes; the original root is kept detached; the new one comes from the AMI's root
/// snapshot.
#[tokio::test(start_paused = true)]
async fn replace_root_volume_keeps_the_instance_and_the_old_root() {
    let c = FakeCloud::new(FakeTimings::default());
    let inst = c.add_instance("us-east-1", Tags::new(), 10);
    let data = c.attach_volume(&inst, "/dev/sdf", 50);
    let old_root = c
        .volumes()
        .into_iter()
        .find(|v| v.device.as_deref() == Some("/dev/xvda"))
        .unwrap()
        .id;
    let ami = c.add_base_image("us-east-1", DEFAULT_ACCOUNT, "v2", "x86_64");
    let snap = c.image_snapshot_ids(&ami)[0].clone();
    let before = c.instances()[0].clone();
    let req = ReplaceRootRequest {
        instance_id: inst.clone(),
        image_id: ami.clone(),
        tags: Tags::from([("prism:operation".to_string(), "op-1".to_string())]),
        client_token: "op-1".into(),
    };
    let task = c
        .create_replace_root_volume_task("us-east-1", &req)
        .await
        .unwrap();
    assert_eq!(task.state, crate::ReplaceRootState::Pending);
    // Same token: the same task (idempotent), not a second one.
    let again = c
        .create_replace_root_volume_task("us-east-1", &req)
        .await
        .unwrap();
    assert_eq!(again.id, task.id);
    let q = ReplaceRootQuery {
        ids: vec![],
        instance_id: Some(inst.clone()),
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let t = c
        .describe_replace_root_volume_tasks("us-east-1", &q)
        .await
        .unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].state, crate::ReplaceRootState::InProgress);
    tokio::time::sleep(Duration::from_secs(60)).await;
    let t = c
        .describe_replace_root_volume_tasks("us-east-1", &q)
        .await
        .unwrap();
    assert_eq!(t[0].state, crate::ReplaceRootState::Succeeded);
    assert_eq!(t[0].tags["prism:operation"], "op-1");

    let after = c.instances()[0].clone();
    assert_eq!(after.id, before.id);
    assert_eq!(after.private_ip, before.private_ip);
    assert_eq!(after.public_ip, before.public_ip);
    let vols = c
        .describe_volumes(
            "us-east-1",
            &VolumeQuery {
                ids: vec![],
                instance_id: Some(inst.clone()),
            },
        )
        .await
        .unwrap();
    assert_eq!(vols.len(), 2, "{vols:?}");
    assert!(
        vols.iter().any(|v| v.id == data),
        "data volume still attached"
    );
    let root = vols
        .iter()
        .find(|v| v.device.as_deref() == Some("/dev/xvda"))
        .unwrap();
    assert_ne!(root.id, old_root);
    assert_eq!(root.snapshot_id.as_deref(), Some(snap.as_str()));
    let old = c
        .describe_volumes(
            "us-east-1",
            &VolumeQuery {
                ids: vec![old_root.clone()],
                instance_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(old[0].state, "available");
    assert_eq!(old[0].instance_id, None);
    // The kept volume can be tagged.
    c.create_tags(
        "us-east-1",
        std::slice::from_ref(&old_root),
        &Tags::from([("prism:replaced-at".to_string(), "x".to_string())]),
    )
    .await
    .unwrap();
    assert!(c
        .volumes()
        .iter()
        .any(|v| v.id == old_root && v.tags.contains_key("prism:replaced-at")));
}

/// CreateReplaceRootVolumeTask (EC2 API Reference): for a running instance, from an AMI
/// with the instance's key characteristics (architecture).
#[tokio::test(start_paused = true)]
async fn replace_root_volume_refuses_what_ec2_refuses() {
    let c = FakeCloud::new(FakeTimings::default());
    let inst = c.add_instance("us-east-1", Tags::new(), 10);
    let arm = c.add_base_image("us-east-1", DEFAULT_ACCOUNT, "arm", "arm64");
    let x86 = c.add_base_image("us-east-1", DEFAULT_ACCOUNT, "x86", "x86_64");
    let req = |image: &str| ReplaceRootRequest {
        instance_id: inst.clone(),
        image_id: image.into(),
        tags: Tags::new(),
        client_token: String::new(),
    };
    let e = c
        .create_replace_root_volume_task("us-east-1", &req(&arm))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("InvalidParameterValue"));
    c.stop_instance("us-east-1", &inst).await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let e = c
        .create_replace_root_volume_task("us-east-1", &req(&x86))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("IncorrectInstanceState"));
    assert!(c
        .describe_replace_root_volume_tasks("us-east-1", &ReplaceRootQuery::default())
        .await
        .unwrap()
        .is_empty());
}

/// A failed task leaves the original root volume attached (`failed`, not `failed-detached`).
#[tokio::test(start_paused = true)]
async fn a_failing_root_replacement_keeps_the_original_attached() {
    let c = FakeCloud::new(FakeTimings::default());
    let inst = c.add_instance("us-east-1", Tags::new(), 10);
    let ami = c.add_base_image("us-east-1", DEFAULT_ACCOUNT, "v2", "x86_64");
    let before = c.volumes();
    c.fail_root_replacements_in("us-east-1");
    let t = c
        .create_replace_root_volume_task(
            "us-east-1",
            &ReplaceRootRequest {
                instance_id: inst,
                image_id: ami,
                tags: Tags::new(),
                client_token: String::new(),
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(120)).await;
    let t = c
        .describe_replace_root_volume_tasks(
            "us-east-1",
            &ReplaceRootQuery {
                ids: vec![t.id],
                instance_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(t[0].state, crate::ReplaceRootState::Failed);
    assert_eq!(c.volumes(), before);
}
