//! Soak: 30 launches and 30 saves (each with a region copy) through one daemon while a
//! fault-injecting proxy breaks more than 10% of EC2 calls (throttling, 500/503, resets, lost
//! answers after the server acted). Then EC2 itself is checked: every operation ended
//! succeeded or failed-and-compensated, workstations are running, exactly one AMI per saved
//! version and region, nothing that no operation accounts for.

use prism_cloud::{tags, CloudFactory, ImageQuery, InstanceFilter, InstanceState, SnapshotQuery};
use prism_testkit::{Fault, FaultPlan, FaultProxy, FaultRule, Moto};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;
use std::time::{Duration, Instant};

const LAUNCHES: usize = 30;
const SAVES: usize = 30;
const REGIONS: [&str; 2] = ["us-east-1", "us-west-2"];

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
    let proxy = FaultProxy::start(&moto.endpoint, FaultPlan::new(20261123, rules));
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
    // 30 saves with a copy to us-west-2, all at once (round-robin over the workstations).
    let mut submitted = 0;
    for i in 0..SAVES {
        let ws = &running[i % running.len()];
        // A workstation busy with a save refuses a second one: that is correct, not a failure.
        let o = rig.prism(&[
            "save",
            ws,
            &format!("soak-env-{i}"),
            "--copy-to-regions",
            "us-west-2",
            "--yes",
            "--detach",
        ]);
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

    // Check EC2 directly, around the proxy.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cloud = rt.block_on(async {
        prism_aws::AwsCloudFactory::with_endpoint(&rig.moto.endpoint)
            .await
            .cloud(None)
            .await
            .unwrap()
    });
    let stuck = ops
        .iter()
        .filter(|o| o["status"] != "succeeded" && o["status"] != "failed")
        .count();
    let succeeded: Vec<&Value> = ops.iter().filter(|o| o["status"] == "succeeded").collect();
    let compensated = ops.iter().filter(|o| o["status"] == "failed").count();

    // Instances: every live one belongs to a succeeded launch and is running.
    let mut orphans: Vec<String> = vec![];
    let launched_ok: BTreeSet<String> = succeeded
        .iter()
        .filter(|o| o["kind"] == "launch.v1")
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect();
    for r in REGIONS {
        let all = rt
            .block_on(cloud.describe_instances(r, &InstanceFilter::default()))
            .unwrap();
        for i in all {
            let by = i.tags.get(tags::OPERATION).cloned().unwrap_or_default();
            if launched_ok.contains(&by) {
                assert_eq!(
                    i.state,
                    InstanceState::Running,
                    "workstation {} ended {}",
                    i.id,
                    i.state
                );
            } else {
                orphans.push(format!(
                    "instance {} in {r} ({}) from operation {by}",
                    i.id, i.state
                ));
            }
        }
    }
    // Images: exactly one per succeeded save and region it reported; none for failed saves.
    let mut expected: BTreeMap<(String, String), usize> = BTreeMap::new();
    for o in succeeded.iter().filter(|o| o["kind"] == "save.v1") {
        let r = &o["result"];
        for reg in r["regions"].as_array().unwrap() {
            if reg["error"].is_null() {
                expected.insert(
                    (
                        r["template"].as_str().unwrap().to_string(),
                        reg["region"].as_str().unwrap().to_string(),
                    ),
                    1,
                );
            }
        }
    }
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in REGIONS {
        let images = rt
            .block_on(cloud.describe_images(
                r,
                &ImageQuery {
                    owners: vec!["self".into()],
                    ..Default::default()
                },
            ))
            .unwrap();
        // Snapshots behind any image count as accounted for (moto's catalogue AMIs have
        // snapshots listed under our account too).
        let every_image = rt
            .block_on(cloud.describe_images(r, &ImageQuery::default()))
            .unwrap();
        let mut used_snaps: BTreeSet<String> = every_image
            .iter()
            .flat_map(|i| i.snapshot_ids.iter().cloned())
            .collect();
        for img in &images {
            used_snaps.extend(img.snapshot_ids.iter().cloned());
            let t = img
                .tags
                .get(tags::SAVED_TEMPLATE)
                .cloned()
                .unwrap_or_else(|| format!("(untagged {})", img.name));
            *seen.entry((t, r.to_string())).or_default() += 1;
        }
        for s in rt
            .block_on(cloud.describe_snapshots(r, &SnapshotQuery::default()))
            .unwrap()
        {
            if !used_snaps.contains(&s.id) {
                orphans.push(format!("snapshot {} in {r}", s.id));
            }
        }
    }
    for (k, n) in &seen {
        match expected.get(k) {
            Some(1) if *n == 1 => {}
            _ => orphans.push(format!(
                "{n} image(s) of {} in {} (expected {})",
                k.0,
                k.1,
                expected.get(k).copied().unwrap_or(0)
            )),
        }
    }
    for k in expected.keys() {
        assert!(
            seen.contains_key(k),
            "the image of {} in {} is missing",
            k.0,
            k.1
        );
    }
    let fault_share = stats.injected as f64 / stats.requests.max(1) as f64;
    println!(
        "operations {}, succeeded {}, compensated {}, faults injected {} of {} EC2 calls ({:.1}%), refused at submission {}, orphans {}, stuck {} ({:.0} s)",
        ops.len(), succeeded.len(), compensated, stats.injected, stats.requests, fault_share * 100.0, refused, orphans.len(), stuck, started.elapsed().as_secs_f64()
    );
    assert!(
        fault_share >= 0.10,
        "faults hit only {:.1}% of calls",
        fault_share * 100.0
    );
    assert_eq!(stuck, 0, "operations not ended");
    assert!(orphans.is_empty(), "orphans: {orphans:#?}");
}
