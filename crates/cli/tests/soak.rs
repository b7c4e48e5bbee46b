//! Soak: 30 launches and 30 saves (each with a region copy, every 10th public) through one
//! daemon while a fault-injecting proxy breaks more than 10% of EC2 calls (throttling, 500/503,
//! resets, lost answers after the server acted), and loses the answer of the first call of each
//! non-idempotent action (RunInstances, CreateImage, CopyImage, ModifyImageAttribute) exactly
//! once. Then EC2 itself is checked, exactly: every operation ended succeeded or
//! failed-and-compensated; each succeeded launch has exactly one live instance carrying its
//! operation tag (a duplicate with the same tags, e.g. from a RunInstances retried after a lost
//! answer, fails the test) and its name, running; a compensated launch has none; each succeeded
//! save has exactly one image per region that succeeded (found by its tag and by its
//! operation-unique name), with its snapshots, and a failed save none; nothing that no
//! operation accounts for.

use prism_cloud::{
    tags, Cloud, CloudFactory, Image, ImageQuery, InstanceFilter, InstanceState, SnapshotQuery,
    Tags,
};
use prism_testkit::{Fault, FaultPlan, FaultProxy, FaultRule, Moto};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;
use std::time::{Duration, Instant};

const LAUNCHES: usize = 30;
const SAVES: usize = 30;
const REGIONS: [&str; 2] = ["us-east-1", "us-west-2"];
/// Every this many saves is public.
const PUBLIC_EVERY: usize = 10;
/// The calls that are not idempotent: the first answer of each is lost once.
const NON_IDEMPOTENT: [&str; 4] = [
    "RunInstances",
    "CreateImage",
    "CopyImage",
    "ModifyImageAttribute",
];

struct Rig {
    moto: Moto,
    proxy: FaultProxy,
    home: tempfile::TempDir,
}

impl Rig {
    fn prism(&self, args: &[&str]) -> Output {
        let mut c = self
            .moto
            .prism_command(env!("CARGO_BIN_EXE_prism"), self.home.path());
        c.env("AWS_ENDPOINT_URL", &self.proxy.endpoint).args(args);
        c.output().expect("run prism")
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["-o", "json"]);
        let o = self.prism(&a);
        assert!(
            o.status.success(),
            "prism {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).expect("json")
    }

    /// Waits until no operation is running or compensating (bounded: 10 min).
    fn settle(&self) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let ops = self.json(&["operations", "--limit", "1000"])["operations"]
                .as_array()
                .unwrap()
                .clone();
            if ops
                .iter()
                .all(|o| o["status"] != "running" && o["status"] != "compensating")
            {
                return ops;
            }
            assert!(
                Instant::now() < deadline,
                "operations still running after 10 min: stuck"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// An operation's journal, one line per event, for failure messages.
    fn journal(&self, id: &str) -> String {
        let o = self.prism(&["operation", "show", id, "-o", "json"]);
        let Ok(v) = serde_json::from_slice::<Value>(&o.stdout) else {
            return format!("(no journal: {})", String::from_utf8_lossy(&o.stderr));
        };
        let mut out = format!(
            "operation {id} {} {}: {}\n",
            v["kind"], v["status"], v["error"]
        );
        for e in v["events"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "  {} {} {} {}\n",
                e["seq"], e["step"], e["event"], e["payload"]
            ));
        }
        out
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = self.prism(&["daemon", "stop"]);
    }
}

#[test]
fn soak_with_faults_leaves_no_orphans_and_nothing_stuck() {
    let moto = Moto::start();
    let rules = vec![
        FaultRule::new::<&str>(&[], Fault::Throttle).with_probability(0.04),
        FaultRule::new::<&str>(&[], Fault::InternalError).with_probability(0.03),
        FaultRule::new::<&str>(&[], Fault::ServiceUnavailable).with_probability(0.02),
        FaultRule::new::<&str>(&[], Fault::ConnectionReset).with_probability(0.02),
        FaultRule::new::<&str>(&[], Fault::ResponseLost).with_probability(0.03),
    ];
    let plan = FaultPlan::new(20261123, rules).losing_first_response_of(&NON_IDEMPOTENT);
    let proxy = FaultProxy::start(&moto.endpoint, plan);
    let rig = Rig {
        moto,
        proxy,
        home: tempfile::tempdir().unwrap(),
    };
    let started = Instant::now();

    // 30 launches, submitted one after another without waiting; faults may refuse some at
    // submission (AWS unreachable during the checks): those changed nothing.
    let mut refused = 0;
    for i in 0..LAUNCHES {
        let o = rig.prism(&["launch", "python-ml", &format!("soak-{i}"), "--detach"]);
        if !o.status.success() {
            refused += 1;
        }
    }
    rig.settle();
    let launched_in = started.elapsed();
    let running: Vec<String> = {
        let listed = rig.json(&["list"]);
        listed["workstations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["state"] == "running")
            .map(|w| w["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        running.len() >= LAUNCHES / 2,
        "too few launches survived the faults: {}",
        running.len()
    );
    // 30 saves with a copy to us-west-2, every 10th public, all at once (round-robin over the
    // workstations): CreateImage and CopyImage on every one, ModifyImageAttribute on some.
    let mut submitted = 0;
    for i in 0..SAVES {
        let ws = &running[i % running.len()];
        // A workstation busy with a save refuses a second one: that is correct, not a failure.
        let name = format!("soak-env-{i}");
        let mut args = vec![
            "save",
            ws,
            &name,
            "--copy-to-regions",
            "us-west-2",
            "--yes",
            "--detach",
        ];
        // Some public (ModifyImageAttribute); not all: moto lacks the block-public-access
        // check that precedes it, which costs seconds of SDK retries per region.
        if i % PUBLIC_EVERY == 0 {
            args.push("--public");
        }
        let o = rig.prism(&args);
        if o.status.success() {
            submitted += 1;
        } else {
            refused += 1;
        }
    }
    assert!(
        submitted >= SAVES / 3,
        "too few saves submitted: {submitted}"
    );
    let ops = rig.settle();
    let stats = rig.proxy.stats();
    println!(
        "launches settled after {:.0} s, saves {:.0} s later",
        launched_in.as_secs_f64(),
        (started.elapsed() - launched_in).as_secs_f64()
    );

    // Check EC2 directly, around the proxy.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cloud = rt.block_on(async {
        prism_aws::AwsCloudFactory::with_endpoint(&rig.moto.endpoint)
            .await
            .cloud(None)
            .await
            .unwrap()
    });
    let ec2 = Ec2 {
        rt: &rt,
        cloud: cloud.as_ref(),
    };
    let stuck = ops
        .iter()
        .filter(|o| o["status"] != "succeeded" && o["status"] != "failed")
        .count();
    let succeeded = ops.iter().filter(|o| o["status"] == "succeeded").count();
    let compensated = ops.iter().filter(|o| o["status"] == "failed").count();
    let launches: Vec<&Value> = ops.iter().filter(|o| o["kind"] == "launch.v1").collect();
    let saves: Vec<&Value> = ops.iter().filter(|o| o["kind"] == "save.v1").collect();
    assert_eq!(
        launches.len() + saves.len(),
        ops.len(),
        "only launches and saves were asked for"
    );

    // Resources more than an operation accounts for, or that none does.
    let mut orphans: Vec<String> = vec![];
    // Resources an operation reported but that are missing or wrong.
    let mut missing: Vec<String> = vec![];
    // Operations whose journal explains a finding.
    let mut suspects: BTreeSet<String> = BTreeSet::new();

    // Instances: exactly one live instance per succeeded launch (by its operation tag and by
    // its name), running; none for a compensated one; none that no launch accounts for.
    let mut live = vec![];
    for r in REGIONS {
        live.extend(ec2.instances(r, Tags::new()));
    }
    let launch_ids: BTreeSet<&str> = launches.iter().map(|o| o["id"].as_str().unwrap()).collect();
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for o in &launches {
        let id = o["id"].as_str().unwrap();
        let name = o["input"]["name"].as_str().unwrap().to_string();
        let ok = o["status"] == "succeeded";
        *by_name.entry(name.clone()).or_default() += usize::from(ok);
        let mine: Vec<_> = live
            .iter()
            .filter(|i| i.tags.get(tags::OPERATION).map(String::as_str) == Some(id))
            .collect();
        let want = usize::from(ok);
        if mine.len() > want {
            suspects.insert(id.to_string());
            orphans.push(format!(
                "{} live instance(s) of {} launch {id} ({name}), expected {want}: {:?}",
                mine.len(),
                o["status"],
                mine.iter()
                    .map(|i| format!("{} {} in {}", i.id, i.state, i.region))
                    .collect::<Vec<_>>()
            ));
        } else if mine.len() < want {
            suspects.insert(id.to_string());
            missing.push(format!(
                "launch {id} ({name}) succeeded but has no instance"
            ));
        }
        for i in &mine {
            if ok && i.state != InstanceState::Running {
                missing.push(format!("workstation {name} ({}) ended {}", i.id, i.state));
            }
            if i.tags.get(tags::NAME) != Some(&name) {
                orphans.push(format!(
                    "instance {} of launch {id} is not named {name}",
                    i.id
                ));
            }
        }
    }
    for i in &live {
        let by = i.tags.get(tags::OPERATION).cloned().unwrap_or_default();
        if !launch_ids.contains(by.as_str()) {
            orphans.push(format!(
                "instance {} in {} ({}) from no launch (operation tag {by:?})",
                i.id, i.region, i.state
            ));
        }
    }
    for i in 0..LAUNCHES {
        let name = format!("soak-{i}");
        let n = live
            .iter()
            .filter(|x| x.tags.get(tags::NAME) == Some(&name))
            .count();
        let want = by_name.get(&name).copied().unwrap_or(0);
        if n != want {
            orphans.push(format!(
                "{n} live instance(s) named {name}, expected {want}"
            ));
        }
    }

    // Images: exactly one per region a succeeded save reports available, found both by the
    // operation's tag and by its operation-unique name, with its snapshots; none elsewhere.
    let mut own: BTreeMap<&str, Vec<Image>> = BTreeMap::new();
    for r in REGIONS {
        own.insert(r, ec2.own_images(r));
    }
    let mut accounted_images: BTreeSet<String> = BTreeSet::new();
    for o in &saves {
        let id = o["id"].as_str().unwrap();
        let name = o["input"]["image_name"].as_str().unwrap();
        let mut want: BTreeMap<&str, usize> = REGIONS.iter().map(|r| (*r, 0)).collect();
        if o["status"] == "succeeded" {
            for reg in o["result"]["regions"].as_array().unwrap() {
                if reg["error"].is_null() {
                    want.insert(reg["region"].as_str().unwrap(), 1);
                }
            }
        }
        for (r, w) in want {
            let images = &own[r];
            let named: Vec<&Image> = images.iter().filter(|i| i.name == name).collect();
            let tagged: Vec<&Image> = images
                .iter()
                .filter(|i| i.tags.get(tags::OPERATION).map(String::as_str) == Some(id))
                .collect();
            accounted_images.extend(named.iter().map(|i| i.id.clone()));
            accounted_images.extend(tagged.iter().map(|i| i.id.clone()));
            for (how, found) in [("named", &named), ("tagged", &tagged)] {
                if found.len() > w {
                    suspects.insert(id.to_string());
                    orphans.push(format!(
                        "{} image(s) {how} for {} save {id} in {r}, expected {w}: {:?}",
                        found.len(),
                        o["status"],
                        found.iter().map(|i| &i.id).collect::<Vec<_>>()
                    ));
                } else if found.len() < w {
                    suspects.insert(id.to_string());
                    missing.push(format!("no image {how} for save {id} ({name}) in {r}"));
                }
            }
            for img in named.iter().filter(|_| w == 1) {
                if img.snapshot_ids.is_empty() {
                    missing.push(format!(
                        "image {} of save {id} in {r} has no snapshot",
                        img.id
                    ));
                }
                if o["input"]["public"] == true && !img.public {
                    missing.push(format!(
                        "image {} of save {id} in {r} is not public",
                        img.id
                    ));
                }
            }
            if w == 0 {
                let t = Tags::from([(tags::OPERATION.to_string(), id.to_string())]);
                for snap in ec2.snapshots(r, t) {
                    orphans.push(format!(
                        "snapshot {} in {r} of save {id} that has no image there",
                        snap
                    ));
                }
            }
        }
    }
    for r in REGIONS {
        // Snapshots: each backs an image (moto's catalogue AMIs have snapshots listed under
        // our account too) and each snapshot an image lists exists.
        let every_image = ec2.all_images(r);
        let used: BTreeSet<String> = every_image
            .iter()
            .flat_map(|i| i.snapshot_ids.iter().cloned())
            .collect();
        let snaps: BTreeSet<String> = ec2.snapshots(r, Tags::new()).into_iter().collect();
        for s in snaps.difference(&used) {
            orphans.push(format!("snapshot {s} in {r} backs no image"));
        }
        for img in &own[r] {
            if !accounted_images.contains(&img.id) {
                orphans.push(format!(
                    "image {} ({}) in {r} that no save accounts for (operation tag {:?})",
                    img.id,
                    img.name,
                    img.tags.get(tags::OPERATION)
                ));
            }
            for s in &img.snapshot_ids {
                if !snaps.contains(s) {
                    missing.push(format!(
                        "snapshot {s} of image {} in {r} is missing",
                        img.id
                    ));
                }
            }
        }
    }

    let fault_share = stats.injected as f64 / stats.requests.max(1) as f64;
    println!(
        "operations {}, succeeded {}, compensated {}, faults injected {} of {} EC2 calls ({:.1}%), refused at submission {}, orphans {}, stuck {} ({:.0} s)",
        ops.len(), succeeded, compensated, stats.injected, stats.requests, fault_share * 100.0, refused, orphans.len(), stuck, started.elapsed().as_secs_f64()
    );
    let lost = |a: &str| stats.lost_responses.get(a).copied().unwrap_or(0);
    println!(
        "lost responses injected: {}",
        NON_IDEMPOTENT
            .iter()
            .map(|a| format!("{a} {}", lost(a)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let journals: String = suspects.iter().take(4).map(|id| rig.journal(id)).collect();
    assert!(
        fault_share >= 0.10,
        "faults hit only {:.1}% of calls",
        fault_share * 100.0
    );
    for a in NON_IDEMPOTENT {
        assert_eq!(
            stats.lost_first.get(a),
            Some(&1),
            "the first answer of {a} must have been lost exactly once: {stats:?}"
        );
    }
    assert_eq!(stuck, 0, "operations not ended");
    assert!(
        orphans.is_empty() && missing.is_empty(),
        "orphans: {orphans:#?}\nmissing: {missing:#?}\n{journals}"
    );
}

/// EC2 as it is, read directly (not through the proxy); any failure fails the test.
struct Ec2<'a> {
    rt: &'a tokio::runtime::Runtime,
    cloud: &'a dyn Cloud,
}

impl Ec2<'_> {
    /// Live (not terminated) instances with these tags.
    fn instances(&self, region: &str, t: Tags) -> Vec<prism_cloud::Instance> {
        let f = InstanceFilter {
            tags: t,
            ..Default::default()
        };
        self.rt
            .block_on(self.cloud.describe_instances(region, &f))
            .unwrap()
    }

    fn own_images(&self, region: &str) -> Vec<Image> {
        let q = ImageQuery {
            owners: vec!["self".into()],
            ..Default::default()
        };
        self.rt
            .block_on(self.cloud.describe_images(region, &q))
            .unwrap()
    }

    fn all_images(&self, region: &str) -> Vec<Image> {
        self.rt
            .block_on(self.cloud.describe_images(region, &ImageQuery::default()))
            .unwrap()
    }

    /// Ids of the snapshots with these tags.
    fn snapshots(&self, region: &str, t: Tags) -> Vec<String> {
        let q = SnapshotQuery {
            tags: t,
            ..Default::default()
        };
        self.rt
            .block_on(self.cloud.describe_snapshots(region, &q))
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect()
    }
}
