//! The fake behaves like EC2 as AWS documents it (each test fails if its behaviour is
//! removed), and `FakeEc2::lenient()` turns the behaviour off.

use prism_cloud::error::codes;
use prism_cloud::fake::{FakeCloud, FakeEc2, FakeTimings};
use prism_cloud::{
    Cloud, CloudResult, CopyImageRequest, CreateImageRequest, ImageQuery, ImageState,
    InstanceFilter, InstanceState, KeyKind, RunSpec, Share, SnapshotQuery, SnapshotState, Tags,
};
use std::time::Duration;

const R: &str = "us-east-1";
const DEST: &str = "us-west-2";
const OTHER: &str = "210987654321";

fn tags(k: &str, v: &str) -> Tags {
    Tags::from([(k.to_string(), v.to_string())])
}

async fn sleep(secs: u64) {
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

fn image_req(instance: &str, name: &str) -> CreateImageRequest {
    CreateImageRequest {
        instance_id: instance.into(),
        name: name.into(),
        description: "d".into(),
        no_reboot: true,
        tags: tags("prism:template", name),
    }
}

fn copy_req(src: &str, name: &str) -> CopyImageRequest {
    CopyImageRequest {
        source_region: R.into(),
        source_image_id: src.into(),
        name: name.into(),
        description: "d".into(),
        client_token: name.into(),
        tags: tags("prism:template", name),
        kms_key_id: None,
        completion_duration_minutes: None,
    }
}

fn run_spec(image: &str, root: Option<i32>) -> RunSpec {
    RunSpec {
        image_id: image.into(),
        instance_type: "t3.large".into(),
        root_volume_gb: root,
        user_data: None,
        tags: tags("prism:launch", "1"),
        client_token: String::new(),
        key_name: None,
        security_group_ids: vec![],
        subnet_id: None,
    }
}

fn by_id(id: &str) -> ImageQuery {
    ImageQuery {
        ids: vec![id.into()],
        ..Default::default()
    }
}

fn code<T: std::fmt::Debug>(r: CloudResult<T>) -> String {
    r.unwrap_err().code.unwrap_or_default()
}

/// An available image of a fresh `gb` GiB instance: (instance, image).
async fn saved(c: &FakeCloud, gb: i32, name: &str) -> (String, String) {
    let inst = c.add_instance(R, Tags::new(), gb);
    let img = c.create_image(R, &image_req(&inst, name)).await.unwrap();
    sleep(301).await;
    (inst, img)
}

fn fake() -> FakeCloud {
    FakeCloud::new(FakeTimings::default())
}

#[tokio::test(start_paused = true)]
async fn pending_image_hides_snapshot_ids_while_its_snapshots_exist() {
    let c = fake();
    let inst = c.add_instance(R, Tags::new(), 300);
    let img = c.create_image(R, &image_req(&inst, "img-1")).await.unwrap();
    sleep(3).await;
    let pending = &c.describe_images(R, &by_id(&img)).await.unwrap()[0];
    assert_eq!(pending.state, ImageState::Pending);
    assert!(pending.snapshot_ids.is_empty());
    assert_eq!(c.image_snapshot_ids(&img).len(), 1, "inspection sees them");
    assert_eq!(pending.volumes[0].snapshot_id, None);
    assert_eq!(pending.root_volume_gb(), Some(300));

    // The snapshot exists, pending, with EC2's description, findable by it (wildcards too).
    let exact = format!("Created by CreateImage({inst}) for {img}");
    let by_desc = |d: &str| SnapshotQuery {
        description: Some(d.into()),
        ..Default::default()
    };
    let snaps = c.describe_snapshots(R, &by_desc(&exact)).await.unwrap();
    assert_eq!(snaps.len(), 1);
    let snap = snaps[0].clone();
    assert_eq!(snap.state, SnapshotState::Pending);
    assert!(snap.progress.unwrap() < 100);
    assert_eq!(snap.size_gb, 300);
    assert!(snap.made_for(&img));
    let wild = format!("Created by CreateImage(*) for {img}");
    assert_eq!(
        c.describe_snapshots(R, &by_desc(&wild))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(c
        .describe_snapshots(R, &by_desc("Created by CreateImage(*) for ami-nope"))
        .await
        .unwrap()
        .is_empty());
    // Description AND tags.
    let both = SnapshotQuery {
        description: Some(wild.clone()),
        tags: tags("k", "v"),
        ..Default::default()
    };
    assert!(c.describe_snapshots(R, &both).await.unwrap().is_empty());
    c.create_tags(R, std::slice::from_ref(&snap.id), &tags("k", "v"))
        .await
        .unwrap();
    assert_eq!(c.describe_snapshots(R, &both).await.unwrap().len(), 1);
    let ids = SnapshotQuery {
        ids: vec![snap.id.clone()],
        ..Default::default()
    };
    assert_eq!(c.describe_snapshots(R, &ids).await.unwrap()[0].id, snap.id);

    // Available: the ids appear, the snapshot is complete.
    sleep(300).await;
    let ready = &c.describe_images(R, &by_id(&img)).await.unwrap()[0];
    assert_eq!(ready.state, ImageState::Available);
    assert_eq!(ready.snapshot_ids, vec![snap.id.clone()]);
    assert_eq!(
        ready.volumes[0].snapshot_id.as_deref(),
        Some(snap.id.as_str())
    );
    let done = &c.describe_snapshots(R, &ids).await.unwrap()[0];
    assert_eq!(
        (done.state, done.progress),
        (SnapshotState::Completed, Some(100))
    );

    // A copy's snapshot says where it comes from.
    let copy = c.copy_image(DEST, &copy_req(&img, "img-1")).await.unwrap();
    sleep(3).await;
    let copied = format!(
        "Copied for DestinationAmi {copy} from SourceAmi {img} for SourceSnapshot {}. Task created on *",
        snap.id
    );
    let found = c.describe_snapshots(DEST, &by_desc(&copied)).await.unwrap();
    assert_eq!(found.len(), 1);
    assert!(found[0].made_for(&copy));
    assert!(c.describe_images(DEST, &by_id(&copy)).await.unwrap()[0]
        .snapshot_ids
        .is_empty());

    // Lenient: ids shown as soon as the snapshots exist.
    let l = FakeCloud::with_ec2(FakeTimings::default(), FakeEc2::lenient());
    let inst = l.add_instance(R, Tags::new(), 10);
    let img = l.create_image(R, &image_req(&inst, "img-1")).await.unwrap();
    sleep(3).await;
    assert_eq!(
        l.describe_images(R, &by_id(&img)).await.unwrap()[0]
            .snapshot_ids
            .len(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn new_ids_are_unknown_for_a_while() {
    let c = fake();
    let base = c.add_base_image(R, "137112412989", "base", "x86_64");
    let inst = c.run_instance(R, &run_spec(&base, None)).await.unwrap().id;
    let ids = InstanceFilter {
        ids: vec![inst.clone()],
        ..Default::default()
    };
    let by_tag = InstanceFilter {
        tags: tags("prism:launch", "1"),
        ..Default::default()
    };
    assert!(c.describe_instances(R, &ids).await.unwrap().is_empty());
    assert!(c.describe_instances(R, &by_tag).await.unwrap().is_empty());
    assert_eq!(
        code(c.stop_instance(R, &inst).await),
        codes::INSTANCE_NOT_FOUND
    );
    assert_eq!(
        code(c.terminate_instance(R, &inst).await),
        codes::INSTANCE_NOT_FOUND
    );
    assert_eq!(
        code(
            c.create_tags(R, std::slice::from_ref(&inst), &tags("a", "b"))
                .await
        ),
        codes::INSTANCE_NOT_FOUND
    );
    sleep(2).await;
    assert_eq!(c.describe_instances(R, &ids).await.unwrap().len(), 1);
    assert_eq!(c.describe_instances(R, &by_tag).await.unwrap().len(), 1);
    sleep(30).await;

    let img = c.create_image(R, &image_req(&inst, "img-2")).await.unwrap();
    let by_name = ImageQuery {
        name: Some("img-2".into()),
        ..Default::default()
    };
    assert!(c.describe_images(R, &by_id(&img)).await.unwrap().is_empty());
    assert!(c.describe_images(R, &by_name).await.unwrap().is_empty());
    let public = Share {
        public: true,
        ..Default::default()
    };
    assert_eq!(
        code(c.share_image(R, &img, &public).await),
        codes::AMI_NOT_FOUND
    );
    assert_eq!(
        code(
            c.create_tags(R, std::slice::from_ref(&img), &tags("a", "b"))
                .await
        ),
        codes::AMI_NOT_FOUND
    );
    assert_eq!(
        code(c.deregister_image(R, &img, false).await),
        codes::AMI_NOT_FOUND
    );
    sleep(2).await;
    assert_eq!(c.describe_images(R, &by_name).await.unwrap().len(), 1);
    sleep(300).await;

    let copy = c.copy_image(DEST, &copy_req(&img, "img-2")).await.unwrap();
    assert!(c
        .describe_images(DEST, &by_id(&copy))
        .await
        .unwrap()
        .is_empty());
    sleep(2).await;
    assert_eq!(
        c.describe_images(DEST, &by_id(&copy)).await.unwrap().len(),
        1
    );

    let l = FakeCloud::with_ec2(FakeTimings::default(), FakeEc2::lenient());
    let base = l.add_base_image(R, "137112412989", "base", "x86_64");
    let inst = l.run_instance(R, &run_spec(&base, None)).await.unwrap().id;
    l.stop_instance(R, &inst).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn root_volume_cannot_be_smaller_than_the_images_snapshot() {
    let c = fake();
    let (_, img) = saved(&c, 300, "img-3").await;
    sleep(2).await;
    let snap = c.describe_images(R, &by_id(&img)).await.unwrap()[0].snapshot_ids[0].clone();
    let e = c
        .run_instance(R, &run_spec(&img, Some(50)))
        .await
        .unwrap_err();
    assert!(e.has_code(codes::INVALID_BLOCK_DEVICE_MAPPING), "{e}");
    assert_eq!(
        e.message,
        format!("Volume of size 50GB is smaller than snapshot '{snap}', expect size >= 300GB")
    );
    let inst = c.run_instance(R, &run_spec(&img, None)).await.unwrap();
    assert_eq!(inst.volume_sizes_gb, vec![300]);
    c.run_instance(R, &run_spec(&img, Some(300))).await.unwrap();

    let l = FakeCloud::with_ec2(FakeTimings::default(), FakeEc2::lenient());
    let (_, img) = saved(&l, 300, "img-3").await;
    l.run_instance(R, &run_spec(&img, Some(50))).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn snapshots_stay_in_use_until_after_deregistration() {
    let c = fake();
    let (_, img) = saved(&c, 20, "img-4").await;
    let snap = c.describe_images(R, &by_id(&img)).await.unwrap()[0].snapshot_ids[0].clone();
    let e = c.delete_snapshot(R, &snap).await.unwrap_err();
    assert!(e.has_code(codes::SNAPSHOT_IN_USE));
    assert_eq!(
        e.message,
        format!("The snapshot {snap} is currently in use by {img}")
    );
    c.deregister_image(R, &img, false).await.unwrap();
    assert!(c.describe_images(R, &by_id(&img)).await.unwrap().is_empty());
    assert!(c.images().is_empty());
    assert_eq!(
        code(c.delete_snapshot(R, &snap).await),
        codes::SNAPSHOT_IN_USE
    );
    sleep(5).await;
    c.delete_snapshot(R, &snap).await.unwrap();
    assert!(c.snapshots().is_empty());

    // DeleteAssociatedSnapshots: the snapshots go with the image…
    let (_, img) = saved(&c, 20, "img-5").await;
    c.deregister_image(R, &img, true).await.unwrap();
    assert!(c.snapshots().is_empty());
    // …unless the endpoint ignores the flag.
    let ignoring = FakeEc2 {
        honour_delete_associated_snapshots: false,
        ..FakeEc2::default()
    };
    let m = FakeCloud::with_ec2(FakeTimings::default(), ignoring);
    let (_, img) = saved(&m, 20, "img-5").await;
    m.deregister_image(R, &img, true).await.unwrap();
    assert_eq!(m.snapshots().len(), 1);

    let l = FakeCloud::with_ec2(FakeTimings::default(), FakeEc2::lenient());
    let (_, img) = saved(&l, 20, "img-4").await;
    let snap = l.images()[0].snapshot_ids[0].clone();
    l.deregister_image(R, &img, false).await.unwrap();
    l.delete_snapshot(R, &snap).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn create_image_is_refused_right_after_a_stop_and_while_stopping() {
    let c = fake();
    let inst = c.add_instance(R, Tags::new(), 10);
    c.stop_instance(R, &inst).await.unwrap();
    let e = c
        .create_image(R, &image_req(&inst, "img-6"))
        .await
        .unwrap_err();
    assert!(e.has_code(codes::INCORRECT_INSTANCE_STATE), "stopping: {e}");
    sleep(30).await;
    let e = c
        .create_image(R, &image_req(&inst, "img-6"))
        .await
        .unwrap_err();
    assert!(
        e.has_code(codes::INCORRECT_INSTANCE_STATE),
        "just stopped: {e}"
    );
    assert_eq!(
        e.message,
        format!("The instance '{inst}' is not in a state from which it can be imaged")
    );
    sleep(3).await;
    c.create_image(R, &image_req(&inst, "img-6")).await.unwrap();

    let l = FakeCloud::with_ec2(FakeTimings::default(), FakeEc2::lenient());
    let inst = l.add_instance(R, Tags::new(), 10);
    l.stop_instance(R, &inst).await.unwrap();
    sleep(30).await;
    l.create_image(R, &image_req(&inst, "img-6")).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn capacity_and_the_copy_limit() {
    let c = fake();
    let inst = c.add_instance(R, Tags::new(), 10);
    c.stop_instance(R, &inst).await.unwrap();
    sleep(30).await;
    c.insufficient_capacity(R, Some(2));
    let e = c.start_instance(R, &inst).await.unwrap_err();
    assert!(e.has_code(codes::INSUFFICIENT_CAPACITY));
    assert!(e
        .message
        .contains("We currently do not have sufficient t3.large capacity"));
    let base = c.add_base_image(R, "137112412989", "base", "x86_64");
    assert_eq!(
        code(c.run_instance(R, &run_spec(&base, None)).await),
        codes::INSUFFICIENT_CAPACITY
    );
    assert_eq!(c.instances().len(), 1, "nothing ran");
    c.start_instance(R, &inst).await.unwrap();

    let two = FakeEc2 {
        max_pending_copies_per_region: Some(2),
        ..FakeEc2::default()
    };
    let c = FakeCloud::with_ec2(FakeTimings::default(), two);
    let (_, img) = saved(&c, 10, "img-7").await;
    c.copy_image(DEST, &copy_req(&img, "c1")).await.unwrap();
    c.copy_image(DEST, &copy_req(&img, "c2")).await.unwrap();
    let e = c.copy_image(DEST, &copy_req(&img, "c3")).await.unwrap_err();
    assert!(e.has_code(codes::RESOURCE_LIMIT_EXCEEDED), "{e}");
    c.copy_image("eu-west-1", &copy_req(&img, "c3"))
        .await
        .unwrap();
    sleep(601).await;
    c.copy_image(DEST, &copy_req(&img, "c3")).await.unwrap();
    assert_eq!(FakeEc2::default().max_pending_copies_per_region, Some(50));
}

#[tokio::test(start_paused = true)]
async fn copies_get_keys_and_tags_as_ec2_gives_them() {
    let c = fake();
    let (_, img) = saved(&c, 10, "img-8").await;
    sleep(2).await;
    // Unencrypted source with a key: customer-managed.
    let mut req = copy_req(&img, "k1");
    req.kms_key_id = Some("alias/prism".into());
    let k1 = c.copy_image(DEST, &req).await.unwrap();
    c.set_key(&img, KeyKind::CustomerManaged("key-1".into()));
    // Encrypted source without a key: the destination's AWS-managed default key.
    let k2 = c.copy_image(DEST, &copy_req(&img, "k2")).await.unwrap();
    sleep(2).await;
    let k1 = &c.describe_images(DEST, &by_id(&k1)).await.unwrap()[0];
    assert_eq!(k1.key, KeyKind::CustomerManaged("alias/prism".into()));
    assert!(k1.encrypted);
    let k2 = &c.describe_images(DEST, &by_id(&k2)).await.unwrap()[0];
    assert_eq!(k2.key, KeyKind::AwsManaged(None));
    // Tags from CopyImage itself.
    assert_eq!(k2.tags, tags("prism:template", "k2"));
    // Encrypted: never public.
    let public = Share {
        public: true,
        ..Default::default()
    };
    assert_eq!(
        code(c.share_image(R, &img, &public).await),
        "InvalidParameter"
    );

    let l = FakeCloud::with_ec2(FakeTimings::default(), FakeEc2::lenient());
    let (_, img) = saved(&l, 10, "img-8").await;
    l.set_key(&img, KeyKind::CustomerManaged("key-1".into()));
    let k = l.copy_image(DEST, &copy_req(&img, "k2")).await.unwrap();
    let k = &l.describe_images(DEST, &by_id(&k)).await.unwrap()[0];
    assert_eq!(k.key, KeyKind::CustomerManaged("key-1".into()));
    assert!(k.tags.is_empty(), "moto drops CopyImage tags");
}

#[tokio::test(start_paused = true)]
async fn images_on_the_aws_managed_key_are_unusable_by_the_accounts_they_are_shared_with() {
    let c = fake();
    let other = c.as_account(OTHER);
    let (_, img) = saved(&c, 10, "img-9").await;
    let with_other = Share {
        accounts: vec![OTHER.into()],
        ..Default::default()
    };
    c.set_key(&img, KeyKind::AwsManaged(None));
    c.share_image(R, &img, &with_other).await.unwrap();
    let inst = other.run_instance(R, &run_spec(&img, None)).await.unwrap();
    sleep(30).await;
    let state = |id: &str| {
        c.instances()
            .into_iter()
            .find(|i| i.id == id)
            .unwrap()
            .state
    };
    assert_eq!(state(&inst.id), InstanceState::Terminated);
    // On a customer-managed key the recipient's instance runs.
    c.set_key(&img, KeyKind::CustomerManaged("key-1".into()));
    let inst = other.run_instance(R, &run_spec(&img, None)).await.unwrap();
    sleep(30).await;
    assert_eq!(state(&inst.id), InstanceState::Running);
    // The owner's own instances run on the AWS-managed key.
    c.set_key(&img, KeyKind::AwsManaged(None));
    let inst = c.run_instance(R, &run_spec(&img, None)).await.unwrap();
    sleep(30).await;
    assert_eq!(state(&inst.id), InstanceState::Running);
}

#[tokio::test(start_paused = true)]
async fn accounts_see_their_own_resources_and_shared_images_without_tags() {
    let c = fake();
    let other = c.as_account(OTHER);
    assert_eq!(other.caller_identity(R).await.unwrap().account, OTHER);
    assert_eq!(c.caller_identity(R).await.unwrap().account, "123456789012");
    let (inst, img) = saved(&c, 10, "img-10").await;
    sleep(2).await;

    // Instances and snapshots of another account are invisible.
    assert!(other
        .describe_instances(R, &InstanceFilter::default())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        code(other.stop_instance(R, &inst).await),
        codes::INSTANCE_NOT_FOUND
    );
    assert!(other
        .describe_snapshots(R, &SnapshotQuery::default())
        .await
        .unwrap()
        .is_empty());
    // A private image is invisible and cannot be launched.
    assert!(other
        .describe_images(R, &by_id(&img))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        code(other.run_instance(R, &run_spec(&img, None)).await),
        codes::AMI_NOT_FOUND
    );

    let with_other = Share {
        accounts: vec![OTHER.into()],
        ..Default::default()
    };
    c.share_image(R, &img, &with_other).await.unwrap();
    let seen = &other.describe_images(R, &by_id(&img)).await.unwrap()[0];
    assert!(seen.tags.is_empty(), "the owner's tags are not shown");
    let q = |f: fn(&mut ImageQuery)| {
        let mut q = ImageQuery::default();
        f(&mut q);
        q
    };
    let n = |q: ImageQuery| {
        let other = other.clone();
        async move { other.describe_images(R, &q).await.unwrap().len() }
    };
    assert_eq!(n(q(|q| q.tags = tags("prism:template", "img-10"))).await, 0);
    assert_eq!(
        n(q(|q| q.tag_keys = vec!["prism:template".into()])).await,
        0
    );
    assert_eq!(n(q(|q| q.owners = vec!["self".into()])).await, 0);
    assert_eq!(n(q(|q| q.owners = vec!["123456789012".into()])).await, 1);
    assert_eq!(n(q(|q| q.executable_users = vec!["self".into()])).await, 1);
    assert_eq!(n(q(|q| q.executable_users = vec!["all".into()])).await, 0);
    other.run_instance(R, &run_spec(&img, None)).await.unwrap();

    // Its own tags on the shared image are its own.
    other
        .create_tags(R, std::slice::from_ref(&img), &tags("mine", "yes"))
        .await
        .unwrap();
    assert_eq!(n(q(|q| q.tags = tags("mine", "yes"))).await, 1);
    let owner_view = &c.describe_images(R, &by_id(&img)).await.unwrap()[0];
    assert_eq!(owner_view.tags, tags("prism:template", "img-10"));

    // Only the owner shares, reads permissions, deregisters.
    assert_eq!(
        code(other.share_image(R, &img, &with_other).await),
        "AuthFailure"
    );
    assert_eq!(
        code(other.unshare_image(R, &img, &with_other).await),
        "AuthFailure"
    );
    assert_eq!(code(other.launch_permissions(R, &img).await), "AuthFailure");
    assert_eq!(
        code(other.deregister_image(R, &img, true).await),
        "AuthFailure"
    );

    // Unsharing hides it at once.
    c.unshare_image(R, &img, &with_other).await.unwrap();
    assert!(other
        .describe_images(R, &by_id(&img))
        .await
        .unwrap()
        .is_empty());

    // Inspection sees every account.
    assert_eq!(c.instances().len(), 2);
    assert_eq!(other.images().len(), 1);
    assert_eq!(other.snapshots().len(), 1);

    // Lenient: everyone sees the owner's tags.
    let l = FakeCloud::with_ec2(FakeTimings::default(), FakeEc2::lenient());
    let (_, img) = saved(&l, 10, "img-10").await;
    l.share_image(R, &img, &with_other).await.unwrap();
    let seen = &l
        .as_account(OTHER)
        .describe_images(R, &by_id(&img))
        .await
        .unwrap()[0];
    assert_eq!(seen.tags, tags("prism:template", "img-10"));
}

/// "Ensuring idempotency": a RunInstances or CopyImage repeated with its ClientToken answers
/// the first call's result (even while the new id is not listed yet); CreateImage and
/// CopyImage refuse a name the account already uses in the region, listed yet or not.
#[tokio::test(start_paused = true)]
async fn client_tokens_are_idempotent_and_image_names_unique() {
    let c = FakeCloud::new(FakeTimings::default());
    let ami = c.add_base_image(R, "137112412989", "al2023", "x86_64");
    let mut spec = run_spec(&ami, None);
    spec.client_token = "op-1".into();
    let first = c.run_instance(R, &spec).await.unwrap();
    let again = c.run_instance(R, &spec).await.unwrap();
    assert_eq!(first.id, again.id);
    spec.client_token = "op-2".into();
    assert_ne!(c.run_instance(R, &spec).await.unwrap().id, first.id);

    sleep(60).await;
    let img = c
        .create_image(R, &image_req(&first.id, "same-name"))
        .await
        .unwrap();
    // At once: the new image is not listed yet, and its name is still taken.
    let dup = c
        .create_image(R, &image_req(&first.id, "same-name"))
        .await
        .unwrap_err();
    assert!(dup.has_code(codes::AMI_NAME_DUPLICATE), "{dup}");
    assert!(dup.message.contains(&img), "{dup}");

    sleep(3600).await;
    let copy = c.copy_image(DEST, &copy_req(&img, "copy-1")).await.unwrap();
    let same = c.copy_image(DEST, &copy_req(&img, "copy-1")).await.unwrap();
    assert_eq!(copy, same, "same ClientToken, same copy");
    let mut other_token = copy_req(&img, "copy-1");
    other_token.client_token = "another".into();
    let dup = c.copy_image(DEST, &other_token).await.unwrap_err();
    assert!(dup.has_code(codes::AMI_NAME_DUPLICATE), "{dup}");

    // Lenient (moto): tokens ignored, names not checked.
    let l = FakeCloud::with_ec2(FakeTimings::default(), FakeEc2::lenient());
    let ami = l.add_base_image(R, "137112412989", "al2023", "x86_64");
    let mut spec = run_spec(&ami, None);
    spec.client_token = "op-1".into();
    let a = l.run_instance(R, &spec).await.unwrap();
    assert_ne!(l.run_instance(R, &spec).await.unwrap().id, a.id);
}

/// RunInstances (EC2 API Reference, `SubnetId`; "Error codes for the Amazon EC2 API"): no
/// default VPC and no subnet is `VPCIdNotSpecified`; an unknown subnet, key pair or group is
/// `….NotFound`; a group of another VPC is refused; names are unique; rules are not doubled.
#[tokio::test(start_paused = true)]
async fn networks_key_pairs_and_groups_follow_ec2() {
    let c = FakeCloud::new(FakeTimings::default());
    let ami = c.add_base_image(R, "099720109477", "ubuntu-x", "x86_64");
    sleep(3).await;
    let default = c.default_vpc(R).await.unwrap().expect("a default VPC");

    // Key pairs: unique per region, unknown ones refused at launch.
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvRDtO4b7GQ6tP0Ucxx1ZkEbcf3b4GRuV0C39+dWS7x";
    c.import_key_pair(R, "k1", key, &Tags::new()).await.unwrap();
    assert_eq!(
        code(c.import_key_pair(R, "k1", key, &Tags::new()).await),
        codes::KEY_PAIR_DUPLICATE
    );
    assert!(c.describe_key_pair(DEST, "k1").await.unwrap().is_none());
    let mut spec = run_spec(&ami, None);
    spec.key_name = Some("nope".into());
    assert_eq!(
        code(c.run_instance(R, &spec).await),
        codes::KEY_PAIR_NOT_FOUND
    );

    // Groups: unique per VPC, no rule at first, duplicate rules and missing revokes refused.
    let req = prism_cloud::CreateGroupRequest {
        name: "g".into(),
        description: "d".into(),
        vpc_id: default.clone(),
        tags: tags("prism:managed", "true"),
    };
    let g = c.create_security_group(R, &req).await.unwrap();
    assert_eq!(
        code(c.create_security_group(R, &req).await),
        codes::GROUP_DUPLICATE
    );
    let rule = prism_cloud::IngressRule::ssh_from("203.0.113.7/32");
    c.authorize_ingress(R, &g, &rule).await.unwrap();
    assert_eq!(
        code(c.authorize_ingress(R, &g, &rule).await),
        codes::PERMISSION_DUPLICATE
    );
    c.revoke_ingress(R, &g, &rule).await.unwrap();
    assert_eq!(
        code(c.revoke_ingress(R, &g, &rule).await),
        codes::PERMISSION_NOT_FOUND
    );

    // Launch with key and group in the default VPC.
    spec.key_name = Some("k1".into());
    spec.security_group_ids = vec![g.clone()];
    let i = c.run_instance(R, &spec).await.unwrap();
    assert_eq!(i.key_name.as_deref(), Some("k1"));
    assert_eq!(i.security_group_ids, vec![g.clone()]);
    assert_eq!(i.http_tokens.as_deref(), Some("required"));

    // Without the default VPC: VPCIdNotSpecified, unknown subnet, group of another VPC.
    c.delete_default_vpc(R);
    assert!(c.default_vpc(R).await.unwrap().is_none());
    assert_eq!(
        code(c.run_instance(R, &run_spec(&ami, None)).await),
        codes::VPC_ID_NOT_SPECIFIED
    );
    let mut bad = run_spec(&ami, None);
    bad.subnet_id = Some("subnet-0123456789abcdef0".into());
    assert_eq!(code(c.run_instance(R, &bad).await), codes::SUBNET_NOT_FOUND);
    let (vpc, subnet) = c.add_vpc_with_subnet(R);
    assert_eq!(
        c.describe_subnet(R, &subnet).await.unwrap().unwrap().vpc_id,
        vpc
    );
    spec.subnet_id = Some(subnet.clone());
    assert_eq!(code(c.run_instance(R, &spec).await), "InvalidParameter");
    spec.security_group_ids = vec![];
    let i = c.run_instance(R, &spec).await.unwrap();
    assert_eq!(i.subnet_id.as_deref(), Some(subnet.as_str()));
    // Other regions keep their default VPC.
    assert!(c.default_vpc(DEST).await.unwrap().is_some());
}

/// ModifySnapshotAttribute / DescribeSnapshotAttribute `createVolumePermission` ("Share an
/// Amazon EBS snapshot", EBS User Guide): only the owner changes or reads it (another account
/// gets `InvalidSnapshot.NotFound`), it names accounts and `all` only, and an encrypted
/// snapshot cannot be made public.
#[tokio::test(start_paused = true)]
async fn snapshot_copy_permission_is_the_owners_accounts_or_all_and_never_public_when_encrypted() {
    let c = fake();
    let other = c.as_account(OTHER);
    let (_, img) = saved(&c, 10, "img-copy").await;
    let snap = c.describe_images(R, &by_id(&img)).await.unwrap()[0].snapshot_ids[0].clone();
    let to_other = Share {
        accounts: vec![OTHER.into()],
        ..Default::default()
    };
    c.modify_snapshot_copy_permission(R, &snap, &to_other, false)
        .await
        .unwrap();
    assert_eq!(
        c.snapshot_copy_permissions(R, &snap)
            .await
            .unwrap()
            .accounts,
        vec![OTHER]
    );
    assert_eq!(
        code(
            other
                .modify_snapshot_copy_permission(R, &snap, &to_other, true)
                .await
        ),
        "InvalidSnapshot.NotFound"
    );
    assert_eq!(
        code(other.snapshot_copy_permissions(R, &snap).await),
        "InvalidSnapshot.NotFound"
    );
    let to_org = Share {
        organizations: vec!["arn:aws:organizations::123456789012:organization/o-abc".into()],
        ..Default::default()
    };
    assert_eq!(
        code(
            c.modify_snapshot_copy_permission(R, &snap, &to_org, false)
                .await
        ),
        "InvalidParameterValue"
    );
    c.modify_snapshot_copy_permission(R, &snap, &to_other, true)
        .await
        .unwrap();
    assert!(c
        .snapshot_copy_permissions(R, &snap)
        .await
        .unwrap()
        .accounts
        .is_empty());
    c.set_key(&img, KeyKind::CustomerManaged("k1".into()));
    let public = Share {
        public: true,
        ..Default::default()
    };
    assert_eq!(
        code(
            c.modify_snapshot_copy_permission(R, &snap, &public, false)
                .await
        ),
        "InvalidParameter"
    );
    assert!(!c.snapshot_copy_permissions(R, &snap).await.unwrap().public);
}

/// EBS "Time-based copies" (<https://docs.aws.amazon.com/ebs/latest/userguide/time-based-copies.html>):
/// a copy given a completion duration is done within it; one without is best-effort (here the
/// timings' 3 h); durations that are not 15-minute increments from 15 min to 48 h are refused.
#[tokio::test(start_paused = true)]
async fn time_based_copy_completes_within_its_duration() {
    let timings = FakeTimings {
        copy_available: Duration::from_secs(3 * 3600),
        ..FakeTimings::default()
    };
    let c = FakeCloud::new(timings);
    let (_, img) = saved(&c, 100, "img-tb").await;
    let within = CopyImageRequest {
        completion_duration_minutes: Some(30),
        ..copy_req(&img, "img-tb")
    };
    let fast = c.copy_image(DEST, &within).await.unwrap();
    let slow = c
        .copy_image("eu-west-1", &copy_req(&img, "img-tb"))
        .await
        .unwrap();
    let state = |id: String, region: &'static str| {
        let c = c.clone();
        async move { c.describe_images(region, &by_id(&id)).await.unwrap()[0].state }
    };
    sleep(29 * 60).await;
    assert_eq!(state(fast.clone(), DEST).await, ImageState::Pending);
    sleep(61).await;
    assert_eq!(state(fast.clone(), DEST).await, ImageState::Available);
    assert_eq!(state(slow.clone(), "eu-west-1").await, ImageState::Pending);
    sleep(3 * 3600).await;
    assert_eq!(state(slow, "eu-west-1").await, ImageState::Available);

    // A duration longer than the best-effort copy does not slow it down.
    let long = CopyImageRequest {
        completion_duration_minutes: Some(48 * 60),
        ..copy_req(&img, "img-tb")
    };
    let l = c.copy_image("eu-central-1", &long).await.unwrap();
    sleep(3 * 3600 + 1).await;
    assert_eq!(state(l, "eu-central-1").await, ImageState::Available);

    for bad in [0, 10, 20, 2895, 3000] {
        let req = CopyImageRequest {
            completion_duration_minutes: Some(bad),
            ..copy_req(&img, "img-tb")
        };
        assert_eq!(
            code(c.copy_image("ap-southeast-2", &req).await),
            "InvalidParameterValue",
            "{bad} minutes"
        );
    }
}

/// Recycle Bin ("Recover deleted Amazon EBS snapshots and EBS-backed AMIs with Recycle Bin" and
/// its "Considerations"): with retention rules for images and snapshots, a deregistered image
/// and its deleted snapshots are kept; the image cannot come back before its snapshots do;
/// restored, it is available with its tags and its sharing; past the retention period
/// nothing can be restored.
#[tokio::test(start_paused = true)]
async fn the_recycle_bin_keeps_and_restores_images_and_snapshots_as_documented() {
    let c = fake();
    c.set_image_retention_rule(Some(7));
    c.set_snapshot_retention_rule(Some(7));
    let (_, img) = saved(&c, 20, "img-rb").await;
    let snap = c.image_snapshot_ids(&img)[0].clone();
    let share = Share {
        accounts: vec![OTHER.into()],
        ..Default::default()
    };
    c.share_image(R, &img, &share).await.unwrap();
    c.deregister_image(R, &img, true).await.unwrap();
    // Both in the bin, neither usable; the sharing is gone meanwhile.
    assert!(c.describe_images(R, &by_id(&img)).await.unwrap().is_empty());
    assert!(c.snapshots().is_empty());
    assert_eq!(c.snapshots_in_bin(), vec![snap.clone()]);
    assert_eq!(
        c.images_in_recycle_bin(R, std::slice::from_ref(&img))
            .await
            .unwrap()
            .len(),
        1
    );
    let binned = c
        .snapshots_in_recycle_bin(R, std::slice::from_ref(&snap))
        .await
        .unwrap();
    assert!(binned[0]
        .description
        .as_deref()
        .is_some_and(|d| d.contains(&img)));
    let other = c.as_account(OTHER);
    assert!(other
        .describe_images(R, &by_id(&img))
        .await
        .unwrap()
        .is_empty());
    // Tags may be changed while in the bin.
    c.delete_tags(
        R,
        std::slice::from_ref(&img),
        &["prism:template".to_string()],
    )
    .await
    .unwrap();
    // The image first: refused, its snapshot is still in the bin.
    assert_eq!(
        code(c.restore_image_from_recycle_bin(R, &img).await),
        "IncorrectState"
    );
    c.restore_snapshot_from_recycle_bin(R, &snap).await.unwrap();
    c.restore_image_from_recycle_bin(R, &img).await.unwrap();
    let back = &c.describe_images(R, &by_id(&img)).await.unwrap()[0];
    assert_eq!(back.state, ImageState::Available);
    assert_eq!(back.snapshot_ids, vec![snap.clone()]);
    assert!(!back.tags.contains_key("prism:template"));
    assert_eq!(c.launch_permissions(R, &img).await.unwrap(), share);
    assert_eq!(
        other.describe_images(R, &by_id(&img)).await.unwrap().len(),
        1
    );
    assert!(c
        .images_in_recycle_bin(R, std::slice::from_ref(&img))
        .await
        .unwrap()
        .is_empty());
    // Again, and this time the retention period ends first: gone for good.
    c.deregister_image(R, &img, true).await.unwrap();
    sleep(7 * 86_400).await;
    assert!(c
        .images_in_recycle_bin(R, std::slice::from_ref(&img))
        .await
        .unwrap()
        .is_empty());
    assert!(c
        .snapshots_in_recycle_bin(R, std::slice::from_ref(&snap))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        code(c.restore_snapshot_from_recycle_bin(R, &snap).await),
        "InvalidSnapshot.NotFound"
    );
    assert_eq!(
        code(c.restore_image_from_recycle_bin(R, &img).await),
        codes::AMI_NOT_FOUND
    );
    // No rule: a deleted snapshot is gone at once.
    c.set_snapshot_retention_rule(None);
    let (_, img) = saved(&c, 20, "img-rb2").await;
    c.deregister_image(R, &img, true).await.unwrap();
    assert!(c.snapshots_in_bin().len() == 1, "only the first snapshot");
}
