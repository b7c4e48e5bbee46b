//! `templates --refresh` across accounts on the fake cloud: EC2 shows an image's tags only to
//! the account that set them, so a colleague's account, with which a saved template was
//! shared, finds it by its image name and description (`docs/IMAGE_LABELS.md`), launches it,
//! and loses it when it is unshared.

mod common;

use common::{Rig, REGION};
use prism_api::{LaunchRequest, ShareRequest};
use prism_cloud::fake::FakeTimings;
use prism_cloud::{Cloud, CreateImageRequest, ImageState, Share, SingleCloud, Tags};
use prism_ops::runner::Runner;
use prism_ops::{Env, Hooks, OpsConfig};
use prism_store::Store;
use prism_templates::Catalogue;
use std::sync::Arc;

const COPY: &str = "us-west-2";
const RECIPIENT: &str = "210987654321";
const REGIONS: [&str; 3] = [REGION, COPY, "eu-west-1"];

/// Another account's machine: its own store and template directory, acting as `account` on
/// the same fake cloud as `owner`.
struct Other {
    env: Env,
    runner: Arc<Runner>,
    _dir: tempfile::TempDir,
}

impl Other {
    fn new(owner: &Rig, account: &str) -> Other {
        let dir = tempfile::tempdir().unwrap();
        let env = Env {
            clouds: Arc::new(SingleCloud(Arc::new(owner.fake.as_account(account)))),
            store: Store::open_in_memory().unwrap(),
            template_dir: dir.path().join("templates"),
            config: OpsConfig::default(),
            hooks: Hooks::default(),
        };
        let runner = Runner::new(env.clone());
        Other {
            env,
            runner,
            _dir: dir,
        }
    }

    fn catalogue(&self) -> Catalogue {
        Catalogue::load(Some(&self.env.template_dir))
    }

    async fn refresh(&self) -> prism_api::RefreshReport {
        let regions: Vec<String> = REGIONS.iter().map(|s| s.to_string()).collect();
        prism_ops::discover::refresh(&self.env, None, &regions)
            .await
            .unwrap()
    }
}

/// The owner saves `team-env@1` (described, copied to us-west-2) and shares it with the
/// recipient account.
async fn saved_and_shared() -> Rig {
    let rig = Rig::new(FakeTimings::default());
    rig.workstation("ws", 20).await;
    let mut req = Rig::save_request("ws", "team-env", &[COPY]);
    req.description = Some("GPU box for the team — CUDA 12, ünïcödé".into());
    let op = rig.submit_save(&req).await.unwrap();
    let row = rig.finished(&op).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    assert_eq!(rig.own_images().len(), 2);
    let row = share(&rig, false).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    rig
}

async fn share(rig: &Rig, remove: bool) -> prism_store::OperationRow {
    let req = ShareRequest {
        template: "team-env".into(),
        accounts: vec![RECIPIENT.into()],
        remove,
        ..Default::default()
    };
    let (_, op) = prism_ops::share::prepare(&rig.env, &rig.catalogue(), &req)
        .await
        .unwrap();
    let id = rig.runner.submit(op).await.unwrap().id;
    rig.finished(&id).await
}

#[tokio::test(start_paused = true)]
async fn a_shared_template_is_discovered_launched_and_gone_once_unshared() {
    let rig = saved_and_shared().await;
    let colleague = Other::new(&rig, RECIPIENT);
    // The premise: the recipient sees the images, but none of their tags.
    let seen = colleague
        .env
        .clouds
        .cloud(None)
        .await
        .unwrap()
        .describe_images(
            REGION,
            &prism_cloud::ImageQuery {
                executable_users: vec!["self".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].tags.is_empty(), "{:?}", seen[0].tags);

    let report = colleague.refresh().await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.versions_written, 1, "{report:?}");
    let cat = colleague.catalogue();
    let entry = cat
        .get("team-env@1")
        .expect("the shared template is listed");
    let t = &entry.template;
    assert_eq!(t.name, "team-env");
    assert_eq!(t.version.as_deref(), Some("1"));
    assert_eq!(
        t.description.as_deref(),
        Some("GPU box for the team — CUDA 12, ünïcödé")
    );
    assert_eq!(t.original_template.as_deref(), Some("python-ml"));
    assert_eq!(
        t.saved_by.as_deref(),
        Some("123456789012"),
        "the owner account"
    );
    assert!(t.is_saved());
    // Both regions' images, grouped into the one version.
    let mut regions: Vec<&String> = t.ami_config.amis.keys().collect();
    regions.sort();
    assert_eq!(regions, vec![REGION, COPY]);

    // The recipient launches it (its own instance, from the owner's shared image).
    let req = LaunchRequest {
        template: "team-env@1".into(),
        name: "colleague-ws".into(),
        size: None,
        arch: None,
        project: None,
        aws: Default::default(),
        ssh_public_key: None,
        allow_from: None,
        subnet_id: None,
        over_budget: false,
    };
    let op = prism_ops::launch::prepare(&colleague.env, &cat, &req, REGION)
        .await
        .unwrap();
    let id = colleague.runner.submit(op).await.unwrap().id;
    let row = common_finished(&colleague, &id).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);

    // Unshared: the recipient's next refresh no longer lists it.
    let row = share(&rig, true).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let report = colleague.refresh().await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.versions_removed, 1, "{report:?}");
    assert!(colleague.catalogue().get("team-env").is_err());
}

/// The owner's other machine (same account, empty template directory) still reads the
/// richer tags: the workstation it was saved from is known there, not to the recipient.
#[tokio::test(start_paused = true)]
async fn the_owner_still_discovers_from_tags_and_the_recipient_from_the_label() {
    let rig = saved_and_shared().await;
    let owner_elsewhere = Other::new(&rig, "123456789012");
    owner_elsewhere.refresh().await;
    let cat = owner_elsewhere.catalogue();
    let t = &cat.get("team-env@1").unwrap().template;
    assert_eq!(t.saved_from.as_deref(), Some("ws"));
    assert_eq!(t.capture_mode.as_deref(), Some("stop"));

    let colleague = Other::new(&rig, RECIPIENT);
    colleague.refresh().await;
    let cat = colleague.catalogue();
    let t = &cat.get("team-env@1").unwrap().template;
    assert_eq!(t.saved_from, None, "tags are invisible to the recipient");
    assert_eq!(t.ami_config.amis.len(), 2);
}

/// Images saved before the `prism:v1` label (description `Prism template NAME vN: …`) are
/// discovered too; shared images named `prism-*` that are not Prism labels are skipped
/// without an error.
#[tokio::test(start_paused = true)]
async fn old_labels_are_read_and_foreign_images_skipped() {
    let rig = Rig::new(FakeTimings::default());
    let inst = rig.workstation("ws", 20).await;
    let make = |name: &'static str, description: &'static str| {
        let fake = rig.fake.clone();
        let inst = inst.clone();
        async move {
            let id = fake
                .create_image(
                    REGION,
                    &CreateImageRequest {
                        instance_id: inst,
                        name: name.into(),
                        description: description.into(),
                        no_reboot: true,
                        tags: Tags::new(),
                    },
                )
                .await
                .unwrap();
            let share = Share {
                accounts: vec![RECIPIENT.into()],
                ..Default::default()
            };
            // Images become visible (and shareable) after EC2's consistency window.
            for _ in 0..600 {
                if fake.share_image(REGION, &id, &share).await.is_ok() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            id
        }
    };
    make(
        "prism-old-env-v2-deadbeef",
        "Prism template old-env v2: legacy box",
    )
    .await;
    make("prism-not-ours-v1-12345678", "Ubuntu with extras").await;
    make("prism-liar-v1-12345678", "prism:v1 someone-else@1").await;
    // Wait until the images are available.
    for _ in 0..3600 {
        if rig
            .fake
            .images()
            .iter()
            .filter(|i| i.name.starts_with("prism-"))
            .all(|i| i.state == ImageState::Available)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    let colleague = Other::new(&rig, RECIPIENT);
    let report = colleague.refresh().await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.versions_written, 1, "{report:?}");
    let cat = colleague.catalogue();
    let t = &cat.get("old-env@2").unwrap().template;
    assert_eq!(t.description.as_deref(), Some("legacy box"));
    assert!(cat.get("not-ours").is_err());
    assert!(cat.get("liar").is_err());
    assert!(cat.get("someone-else").is_err());
}

/// Waits (virtual time) until the recipient's operation ends.
async fn common_finished(o: &Other, id: &str) -> prism_store::OperationRow {
    for _ in 0..200_000 {
        let row = o.env.store.operation(id).await.unwrap().unwrap();
        if !matches!(row.status.as_str(), "running" | "compensating") {
            return row;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    panic!("operation {id} did not finish");
}

#[tokio::test(start_paused = true)]
async fn a_recipient_reads_a_deprecation_from_ec2() {
    let rig = saved_and_shared().await;
    let req = prism_api::DeprecateRequest {
        template: "team-env@1".into(),
        ..Default::default()
    };
    let (_, op) = prism_ops::deprecate::prepare(&rig.env, &rig.catalogue(), &req)
        .await
        .unwrap();
    let id = rig.runner.submit(op).await.unwrap().id;
    let row = rig.finished(&id).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let other = Other::new(&rig, RECIPIENT);
    other.refresh().await;
    let c = other.catalogue();
    let v1 = c.get("team-env@1").unwrap();
    let d = v1
        .template
        .deprecation
        .as_ref()
        .expect("deprecation read from EC2");
    assert!(d.at.starts_with("20"), "{d:?}");
    // Tags are the owner's: the recipient has EC2's time, and no replacement.
    assert_eq!(d.replacement, None);
}
