//! End-to-end tests: the real `prism` and `prismd` binaries against a moto EC2 server started
//! per test on a free loopback port. EC2 state is checked through EC2 itself (prism-aws).

use prism_cloud::{
    tags, Cloud, CloudFactory, ImageQuery, InstanceFilter, InstanceState, SnapshotQuery, Tags,
};
use prism_ops::registry;
use prism_testkit::Moto;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::{Command, Output};
use std::sync::Arc;

struct World {
    moto: Moto,
    home: tempfile::TempDir,
    cloud: Arc<dyn Cloud>,
    rt: tokio::runtime::Runtime,
}

impl World {
    fn new() -> World {
        let moto = Moto::start();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let cloud = rt.block_on(async {
            let f = prism_aws::AwsCloudFactory::with_endpoint(&moto.endpoint).await;
            f.cloud(None).await.unwrap()
        });
        World {
            moto,
            home: tempfile::tempdir().unwrap(),
            cloud,
            rt,
        }
    }

    fn cmd(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        self.cmd_in(self.home.path(), args, extra)
    }

    /// Runs prism as another machine of the same account: its own PRISM_HOME, same EC2.
    fn cmd_in(&self, home: &std::path::Path, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut c = self.moto.prism_command(env!("CARGO_BIN_EXE_prism"), home);
        c.args(args);
        for (k, v) in extra {
            c.env(k, v);
        }
        c.output().expect("run prism")
    }

    /// Runs prism and asserts success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let o = self.cmd(args, &[]);
        assert!(
            o.status.success(),
            "prism {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["--output", "json"]);
        let out = self.ok(&a);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("prism {args:?} printed non-JSON ({e}): {out}"))
    }

    /// The versions `prism template versions T` lists.
    fn versions(&self, template: &str) -> Vec<String> {
        self.json(&["template", "versions", template])["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["version"].as_str().map(str::to_string))
            .collect()
    }

    /// Runs prism expecting failure with `code` and `fragment` in stderr.
    fn fails(&self, args: &[&str], code: i32, fragment: &str) {
        let o = self.cmd(args, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(code),
            "prism {args:?}: expected exit {code}, stderr: {err}"
        );
        assert!(
            err.contains(fragment),
            "prism {args:?}: stderr lacks {fragment:?}: {err}"
        );
        assert!(!err.contains("panicked"), "prism {args:?} panicked: {err}");
    }

    fn instances(&self, region: &str) -> Vec<prism_cloud::Instance> {
        let f = InstanceFilter {
            tag_keys: vec![tags::MANAGED.into()],
            ..Default::default()
        };
        self.rt
            .block_on(self.cloud.describe_instances(region, &f))
            .unwrap()
    }

    fn instance_state(&self, region: &str, name: &str) -> InstanceState {
        let f = InstanceFilter {
            tags: Tags::from([(tags::NAME.to_string(), name.to_string())]),
            include_terminated: true,
            ..Default::default()
        };
        let l = self
            .rt
            .block_on(self.cloud.describe_instances(region, &f))
            .unwrap();
        assert_eq!(
            l.len(),
            1,
            "exactly one instance named {name} in {region}: {l:?}"
        );
        l[0].state
    }

    fn images(&self, region: &str, template: &str, version: &str) -> Vec<prism_cloud::Image> {
        let q = ImageQuery {
            owners: vec!["self".into()],
            tags: Tags::from([
                (tags::SAVED_TEMPLATE.to_string(), template.to_string()),
                (tags::SAVED_VERSION.to_string(), version.to_string()),
            ]),
            ..Default::default()
        };
        self.rt
            .block_on(self.cloud.describe_images(region, &q))
            .unwrap()
    }

    fn all_own_images(&self, region: &str) -> Vec<prism_cloud::Image> {
        let q = ImageQuery {
            owners: vec!["self".into()],
            ..Default::default()
        };
        self.rt
            .block_on(self.cloud.describe_images(region, &q))
            .unwrap()
    }

    fn snapshots(&self, region: &str) -> Vec<prism_cloud::Snapshot> {
        self.rt
            .block_on(
                self.cloud
                    .describe_snapshots(region, &SnapshotQuery::default()),
            )
            .unwrap()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.cmd(&["daemon", "stop"], &[]);
    }
}

#[test]
fn researcher_workflow_save_copy_launch_and_versions() {
    let w = World::new();
    w.ok(&["launch", "python-ml", "my-research"]);
    assert_eq!(
        w.instance_state("us-east-1", "my-research"),
        InstanceState::Running
    );

    // The launch passed the template's packages, users and services as a first-boot script.
    let ops = w.json(&["operations"]);
    let launch_id = ops["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "launch.v1")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let launch = w.json(&["operation", "show", &launch_id]);
    let script = launch["input"]["user_data"].as_str().unwrap_or_default();
    for want in ["apt-get install", "conda create -y -n prism", "jupyter lab"] {
        assert!(script.contains(want), "user data lacks {want:?}: {script}");
    }

    // The plan says how long the save will wait; --max-wait changes it.
    let dry = ["save", "my-research", "my-env", "--dry-run"];
    let o = w.cmd(
        &[&dry[..], &["--copy-to-regions", "us-west-2"]].concat(),
        &[],
    );
    let plan = String::from_utf8_lossy(&o.stderr);
    // (PRISM_FAST_POLL shortens the defaults to 2 min for the emulator.)
    assert!(
        plan.contains("Waits up to 2m for the image and 2m per copy (--max-wait)"),
        "{plan}"
    );
    let plan = w.json(&[&dry[..], &["--max-wait", "1day"]].concat());
    assert_eq!(plan["image_wait_seconds"], 86_400, "{plan}");
    assert_eq!(plan["copy_wait_seconds"], 0, "{plan}");

    let op = w.json(&[
        "save",
        "my-research",
        "my-env",
        "--description",
        "Custom ML env",
        "--copy-to-regions",
        "us-west-2,eu-west-1",
        "--yes",
        "--tag",
        "team=genomics",
        "--max-wait",
        "2h",
    ]);
    assert_eq!(op["status"], "succeeded", "{op}");
    assert_eq!(
        op["input"]["max_wait_seconds"], 7200,
        "journaled with the operation"
    );
    let result = &op["result"];
    assert_eq!(result["version"], 1);
    let regions: Vec<&str> = result["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["region"].as_str().unwrap())
        .collect();
    assert_eq!(regions, vec!["us-east-1", "us-west-2", "eu-west-1"]);
    // The workstation ends running.
    assert_eq!(
        w.instance_state("us-east-1", "my-research"),
        InstanceState::Running
    );

    // Tags on the image, its snapshots and each copy, read back from EC2.
    for r in ["us-east-1", "us-west-2", "eu-west-1"] {
        let imgs = w.images(r, "my-env", "1");
        assert_eq!(imgs.len(), 1, "exactly one image of my-env v1 in {r}");
        let img = &imgs[0];
        assert_eq!(
            img.tags.get(tags::DESCRIPTION).map(String::as_str),
            Some("Custom ML env")
        );
        assert_eq!(
            img.tags.get(tags::SAVED_FROM).map(String::as_str),
            Some("my-research")
        );
        assert_eq!(
            img.tags.get(tags::ORIGINAL_TEMPLATE).map(String::as_str),
            Some("python-ml")
        );
        assert_eq!(img.tags.get("team").map(String::as_str), Some("genomics"));
        assert!(img
            .tags
            .get(tags::SAVED_BY)
            .is_some_and(|a| a.starts_with("arn:")));
        assert!(!img.snapshot_ids.is_empty());
        let snaps = w.snapshots(r);
        for s in &img.snapshot_ids {
            let snap = snaps.iter().find(|x| &x.id == s).expect("snapshot exists");
            assert_eq!(
                snap.tags.get(tags::SAVED_TEMPLATE).map(String::as_str),
                Some("my-env"),
                "snapshot {s} in {r} tagged"
            );
        }
        if r != "us-east-1" {
            assert_eq!(
                img.tags.get(tags::SOURCE_REGION).map(String::as_str),
                Some("us-east-1")
            );
        }
    }

    // `templates` shows it, with its regions; the file validates.
    let list = w.json(&["templates"]);
    let t = list["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "my-env")
        .expect("my-env listed")
        .clone();
    assert_eq!(t["origin"], "saved");
    let path = t["path"].as_str().unwrap().to_string();
    assert!(
        path.starts_with(w.home.path().to_str().unwrap()),
        "written under PRISM_HOME: {path}"
    );
    w.ok(&["template", "validate", &path]);

    // Launch from it in the source region and in a copied region: the right AMI each time.
    // (A size of its own; GPU sizes need a GPU-ready version: see the GPU test.)
    w.ok(&["launch", "my-env", "next-project", "--size", "L"]);
    w.ok(&["launch", "my-env", "west", "--region", "us-west-2"]);
    let west = w.instances("us-west-2");
    let west = west
        .iter()
        .find(|i| i.tags.get(tags::NAME).map(String::as_str) == Some("west"))
        .unwrap();
    assert_eq!(west.image_id, w.images("us-west-2", "my-env", "1")[0].id);
    let next = w.instances("us-east-1");
    let next = next
        .iter()
        .find(|i| i.tags.get(tags::NAME).map(String::as_str) == Some("next-project"))
        .unwrap();
    assert_eq!(next.instance_type, "t3.xlarge", "size L gives its type");

    // A region it was not copied to is refused with the copy command as the hint.
    w.fails(
        &["launch", "my-env", "nowhere", "--region", "ap-southeast-2"],
        1,
        "prism template copy my-env",
    );

    // Second save, public: version 2; versions are listed; T@1 pins.
    let op2 = w.json(&["save", "my-research", "my-env", "--public", "--yes"]);
    assert_eq!(op2["result"]["version"], 2);
    let v2 = w.images("us-east-1", "my-env", "2");
    assert_eq!(v2.len(), 1);
    assert!(v2[0].public, "--public makes the image public");
    assert!(
        !w.images("us-east-1", "my-env", "1")[0].public,
        "version 1 stays private"
    );
    assert_eq!(w.versions("my-env"), vec!["1", "2"]);
    w.ok(&["launch", "my-env@1", "pinned"]);
    let pinned = w.instances("us-east-1");
    let pinned = pinned
        .iter()
        .find(|i| i.tags.get(tags::NAME).map(String::as_str) == Some("pinned"))
        .unwrap();
    assert_eq!(pinned.image_id, w.images("us-east-1", "my-env", "1")[0].id);

    // Copy later to another region.
    w.ok(&[
        "template",
        "copy",
        "my-env@2",
        "--to-region",
        "ap-southeast-2",
    ]);
    assert_eq!(w.images("ap-southeast-2", "my-env", "2").len(), 1);
    w.ok(&["launch", "my-env", "south", "--region", "ap-southeast-2"]);

    // A stopped workstation is saved without a stop/start and stays stopped.
    w.ok(&["stop", "my-research"]);
    let op3 = w.json(&["save", "my-research", "my-env", "--yes"]);
    assert_eq!(op3["result"]["downtime_seconds"], 0.0);
    let steps: Vec<String> = w.json(&["operation", "show", op3["id"].as_str().unwrap()])["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["step"].as_str().unwrap(),
                e["event"].as_str().unwrap()
            )
        })
        .collect();
    assert!(steps.contains(&"stop_instance:succeeded".to_string()));
    assert_eq!(
        w.instance_state("us-east-1", "my-research"),
        InstanceState::Stopped
    );
}

#[test]
fn every_builtin_launches_in_two_regions_and_lifecycle_follows_ec2() {
    let w = World::new();
    let list = w.json(&["templates"]);
    let names: Vec<String> = list["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    for required in ["python-ml", "r-research", "amazon-linux-2023"] {
        assert!(
            names.iter().any(|n| n == required),
            "built-in {required} missing: {names:?}"
        );
    }
    for (i, t) in names.iter().enumerate() {
        for region in ["us-east-1", "eu-west-1"] {
            let name = format!("ws{i}-{region}");
            w.ok(&["launch", t, &name, "--region", region]);
            assert_eq!(
                w.instance_state(region, &name),
                InstanceState::Running,
                "{t} in {region}"
            );
        }
    }
    let listed = w.json(&["list", "--region", "eu-west-1"]);
    assert_eq!(
        listed["workstations"].as_array().unwrap().len(),
        names.len() * 2
    );

    w.ok(&["stop", "ws0-us-east-1"]);
    assert_eq!(
        w.instance_state("us-east-1", "ws0-us-east-1"),
        InstanceState::Stopped
    );
    w.ok(&["start", "ws0-us-east-1"]);
    assert_eq!(
        w.instance_state("us-east-1", "ws0-us-east-1"),
        InstanceState::Running
    );
    // delete asks; without a terminal it needs --yes and changes nothing.
    w.fails(&["delete", "ws0-us-east-1"], 1, "--yes");
    assert_eq!(
        w.instance_state("us-east-1", "ws0-us-east-1"),
        InstanceState::Running
    );
    w.ok(&["delete", "ws0-us-east-1", "--yes"]);
    assert_eq!(
        w.instance_state("us-east-1", "ws0-us-east-1"),
        InstanceState::Terminated
    );
    let listed = w.json(&["list"]);
    assert!(!listed["workstations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["name"] == "ws0-us-east-1"));
    let ops = w.json(&["operations"]);
    assert!(ops["operations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["status"] == "succeeded"));
}

#[test]
fn bad_input_is_refused_clearly_and_changes_nothing() {
    let w = World::new();
    w.ok(&["launch", "python-ml", "busy"]);
    let before = (
        w.instances("us-east-1").len(),
        w.all_own_images("us-east-1").len(),
    );

    w.fails(&["launch", "no-such-template", "x1"], 1, "not found");
    w.fails(
        &["launch", "python-ml", "x2", "--size", "HUGE"],
        1,
        "unknown size 'HUGE'",
    );
    w.fails(&["launch", "python-ml", "busy"], 1, "already exists");
    w.fails(
        &["launch", "python-ml", "bad name"],
        1,
        "invalid workstation name",
    );
    w.fails(
        &["launch", "python-ml", "x3", "--region", "us-east-99"],
        1,
        "unknown or disabled region 'us-east-99'",
    );
    w.fails(
        &["launch", "python-ml", "x4", "--region", "moon"],
        1,
        "not a region name",
    );
    w.fails(&["stop", "ghost"], 1, "no workstation named 'ghost'");
    w.fails(
        &["delete", "ghost", "--yes"],
        1,
        "no workstation named 'ghost'",
    );
    w.fails(
        &["save", "ghost", "some-env", "--yes"],
        1,
        "no workstation named 'ghost'",
    );
    for bad in ["../etc", "a/b", "..", "", "ab", "has space", "x@1"] {
        w.fails(&["save", "busy", bad, "--yes"], 1, "invalid template name");
    }
    let long = "x".repeat(101);
    w.fails(
        &["save", "busy", &long, "--yes"],
        1,
        "invalid template name",
    );
    w.fails(&["save", "busy", "python-ml", "--yes"], 1, "built-in");
    w.fails(
        &[
            "save",
            "busy",
            "ok-env",
            "--copy-to-regions",
            "us-west-2,nowhere-9",
            "--yes",
        ],
        1,
        "not a region name",
    );
    w.fails(
        &[
            "save",
            "busy",
            "ok-env",
            "--copy-to-regions",
            "eu-north-99",
            "--yes",
        ],
        1,
        "unknown or disabled region",
    );
    w.fails(&["save", "busy", "ok-env"], 1, "--yes");
    w.fails(&["template", "info", "nothing-here"], 1, "not found");
    w.fails(&["operation", "show", "ffffffff-0000"], 1, "no operation");
    w.fails(&["save", "busy", "ok-env", "--tag", "novalue"], 2, "K=V");

    assert_eq!(
        (
            w.instances("us-east-1").len(),
            w.all_own_images("us-east-1").len()
        ),
        before,
        "nothing changed in EC2"
    );
    assert_eq!(
        w.instance_state("us-east-1", "busy"),
        InstanceState::Running
    );
    let ops = w.json(&["operations"]);
    assert_eq!(
        ops["operations"].as_array().unwrap().len(),
        1,
        "only the launch was recorded: {ops}"
    );
    assert!(!w
        .home
        .path()
        .join("templates")
        .join("ok-env@1.yaml")
        .exists());
}

#[test]
fn broken_and_cyclic_template_files_are_reported_and_skipped() {
    let w = World::new();
    let dir = w.home.path().join("templates");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("good.yaml"),
        "name: my-good\ndescription: fine\nbase: ubuntu-22.04\nmaintainer: someone\n",
    )
    .unwrap();
    std::fs::write(dir.join("broken.yaml"), "name: [unclosed\n  base: : :\n").unwrap();
    std::fs::write(
        dir.join("a.yaml"),
        "name: cyc-a\nbase: ubuntu-22.04\ninherits: [cyc-b]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("b.yaml"),
        "name: cyc-b\nbase: ubuntu-22.04\ninherits: [cyc-a]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("unknown-base.yaml"),
        "name: weird-base\nbase: plan9\n",
    )
    .unwrap();
    let list = w.json(&["templates"]);
    let names: Vec<&str> = list["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"my-good") && names.contains(&"python-ml"),
        "{names:?}"
    );
    assert!(!names.contains(&"cyc-a") && !names.contains(&"cyc-b"));
    let issues = list["issues"].to_string();
    assert!(issues.contains("broken.yaml"), "{issues}");
    assert!(issues.contains("cyc-a"), "{issues}");
    w.fails(&["launch", "weird-base", "w1"], 1, "plan9");
    w.fails(
        &[
            "template",
            "validate",
            dir.join("broken.yaml").to_str().unwrap(),
        ],
        1,
        "not a valid template",
    );
    w.ok(&[
        "template",
        "validate",
        dir.join("good.yaml").to_str().unwrap(),
    ]);
    w.ok(&["launch", "my-good", "from-user-template"]);
    assert!(w
        .instances("us-east-1")
        .iter()
        .all(|i| i.tags.get(tags::NAME).map(String::as_str) == Some("from-user-template")));
}

fn raw_http(addr: &str, request: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn daemon_refuses_callers_without_token_or_from_the_web() {
    let w = World::new();
    w.ok(&["templates"]);
    let state = w.home.path().join("state");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state.join("token"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "token file mode");
        let dmode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
        assert_eq!(dmode, 0o700, "state dir mode");
    }
    let info: Value =
        serde_json::from_slice(&std::fs::read(state.join("daemon.json")).unwrap()).unwrap();
    let addr = info["addr"].as_str().unwrap();
    assert!(addr.starts_with("127.0.0.1:"));
    let token = std::fs::read_to_string(state.join("token")).unwrap();
    let get = |host: &str, extra: &str| {
        raw_http(
            addr,
            &format!("GET /v1/health HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n"),
        )
    };
    assert!(get(addr, "").starts_with("HTTP/1.1 401"), "no token");
    assert!(
        get(addr, "x-prism-token: wrong\r\n").starts_with("HTTP/1.1 401"),
        "wrong token"
    );
    assert!(
        get("evil.example", &format!("x-prism-token: {token}\r\n")).starts_with("HTTP/1.1 403"),
        "foreign Host"
    );
    assert!(
        get(
            addr,
            &format!("x-prism-token: {token}\r\nOrigin: https://evil.example\r\n")
        )
        .starts_with("HTTP/1.1 403"),
        "foreign Origin"
    );
    assert!(
        get(addr, &format!("x-prism-token: {token}\r\n")).starts_with("HTTP/1.1 200"),
        "good request"
    );
    let spec = raw_http(addr, &format!("GET /v1/openapi.json HTTP/1.1\r\nHost: {addr}\r\nx-prism-token: {token}\r\nConnection: close\r\n\r\n"));
    assert!(
        spec.contains("\"openapi\"") && spec.contains("/v1/saves"),
        "OpenAPI served"
    );
    // A second shell with another endpoint is told to restart the daemon.
    let o = w.cmd(&["list"], &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")]);
    assert_eq!(o.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&o.stderr).contains("prism daemon stop"));
}

// ---------------------------------------------------------------------------------------------
// The crash matrix. Its points come from the registry: for every kind in `registry::KINDS`
// and every step of its saga, `started` and `succeeded`; `acted` for the steps that make a
// mutating AWS call, `acted:LABEL` for each further kind of mutating call of a step
// (tagging, snapshot deletion, each region's share: `registry::acted_points`), and `record`
// for those that journal sub-records (declared next to each step table, checked against the
// code by `registry::tests`); and for save and launch, the
// `undo-started`/`undo-finished` of every step, reached by making the run fail.

/// One shell of the matrix: its own PRISM_HOME (so chunks run in parallel against the same
/// moto) and a chunk number `c` that makes its setup's names unique.
struct Crew<'w> {
    w: &'w World,
    home: tempfile::TempDir,
    c: usize,
}

impl Crew<'_> {
    fn cmd(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        self.w.cmd_in(self.home.path(), args, extra)
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.cmd(args, &[]);
        assert!(
            o.status.success(),
            "prism {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["--output", "json"]);
        let out = self.ok(&a);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("prism {args:?} printed non-JSON ({e}): {out}"))
    }

    /// The workstation row the daemon's store holds for `name`, if any (`prism list`).
    fn workstation_row(&self, name: &str) -> Option<Value> {
        self.json(&["list"])["workstations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .cloned()
    }

    /// The versions of `template` the store and the template directory list (`prism template
    /// versions`); none when the template is unknown.
    fn versions(&self, template: &str) -> Vec<String> {
        let o = self.cmd(&["template", "versions", template, "-o", "json"], &[]);
        if !o.status.success() {
            return vec![];
        }
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        v["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["version"].as_str().map(str::to_string))
            .collect()
    }

    fn template_file(&self, template: &str, version: &str) -> std::path::PathBuf {
        self.home
            .path()
            .join("templates")
            .join(format!("{template}@{version}.yaml"))
    }
}

impl Drop for Crew<'_> {
    fn drop(&mut self) {
        let _ = self.cmd(&["daemon", "stop"], &[]);
    }
}

/// What one point's operation ended as.
struct End {
    point: String,
    /// `prism operation show ID -o json` once it finished.
    op: Value,
}

impl End {
    fn status(&self) -> &str {
        self.op["status"].as_str().unwrap_or_default()
    }
}

/// How a run of a kind is made to fail so that its undo points are reached: the daemon is
/// first killed when `step` has started, then `arrange` makes the resumed run fail there.
struct Failure {
    step: &'static str,
    arrange: fn(&Crew, usize, &str),
    /// The end state after the failure was compensated.
    check: fn(&Crew, usize, &End),
}

/// How the matrix runs operations of one kind.
struct KindRunner {
    kind: &'static str,
    /// Once per chunk, in its own home.
    setup: fn(&Crew),
    /// Prepares operation number `n` (unique in the matrix) and returns its command.
    start: fn(&Crew, usize) -> Vec<String>,
    /// The images the operation's sweep must find per region when it succeeded.
    images: &'static [(&'static str, usize)],
    /// The end state after a forward point (the operation succeeded).
    check: fn(&Crew, usize, &End),
    /// How to reach the undo points; `None`: the matrix does not crash this kind's undos.
    fail: Option<Failure>,
}

/// Points of the matrix that cannot be reached against moto, with the reason (counted as not
/// covered in the printed line, never skipped silently).
const UNREACHABLE: &[(&str, &str)] = &[];

/// Every region the matrix's operations use: REGION plus the copy regions.
const SWEEP_REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn no_setup(_: &Crew) {}

fn share_account(n: usize) -> String {
    format!("{}", 111_122_223_300u64 + n as u64)
}

/// Runs a Python `sqlite3` script on the store of the crew's daemon while no daemon runs (a
/// started daemon would resume the operation at once); `sys.argv[1]` is the database, then
/// `args`. Returns standard output.
fn store_offline(crew: &Crew, script: &str, args: &[&str]) -> String {
    let db = crew.home.path().join("state/prism.db");
    let venv_python = prism_testkit::ensure_moto_installed().with_file_name("python");
    let python = if venv_python.exists() {
        venv_python
    } else {
        "python3".into()
    };
    let o = Command::new(python)
        .arg("-c")
        .arg(format!(
            "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\n{script}\nc.commit()\nc.close()"
        ))
        .arg(&db)
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "sqlite script on {} failed: {}",
        db.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Marks operation `op` cancelled in the store of the (dead) daemon, so that the next daemon
/// compensates it (moto gives no save step a failure that is not retried away; a cancel is the
/// same unwind: a `failed` step, then the undo of every started step).
fn request_cancel_offline(crew: &Crew, op: &str) {
    store_offline(
        crew,
        "n=c.execute('UPDATE operations SET cancel_requested=1 WHERE id=?',(sys.argv[2],)).rowcount\nassert n==1,n",
        &[op],
    );
}

fn instance_named(w: &World, region: &str, name: &str) -> prism_cloud::Instance {
    let f = InstanceFilter {
        tags: Tags::from([(tags::NAME.to_string(), name.to_string())]),
        include_terminated: true,
        ..Default::default()
    };
    let l =
        w.rt.block_on(w.cloud.describe_instances(region, &f))
            .unwrap();
    assert_eq!(l.len(), 1, "one instance named {name}: {l:?}");
    l[0].clone()
}

fn save_setup(c: &Crew) {
    c.ok(&["launch", "python-ml", &format!("crashy-{}", c.c)]);
}

fn save_start(c: &Crew, n: usize) -> Vec<String> {
    s(&[
        "save",
        &format!("crashy-{}", c.c),
        &format!("crash-env-{n}"),
        "--copy-to-regions",
        "us-west-2",
        "--yes",
    ])
}

fn save_check(c: &Crew, n: usize, e: &End) {
    let point = &e.point;
    let ws = format!("crashy-{}", c.c);
    assert_eq!(
        c.w.instance_state("us-east-1", &ws),
        InstanceState::Running,
        "after {point}"
    );
    let t = format!("crash-env-{n}");
    let file = std::fs::read_to_string(c.template_file(&t, "1"))
        .unwrap_or_else(|err| panic!("{t}@1 has a template file after {point}: {err}"));
    for r in ["us-east-1", "us-west-2"] {
        let img = &c.w.images(r, &t, "1")[0];
        assert!(
            file.contains(&img.id),
            "the template file lists {} ({r}) after {point}",
            img.id
        );
    }
    assert_eq!(c.versions(&t), vec!["1"], "store versions after {point}");
    assert_eq!(
        c.workstation_row(&ws).unwrap()["state"],
        "running",
        "store row of {ws} after {point}"
    );
}

fn save_failed_check(c: &Crew, n: usize, e: &End) {
    let point = &e.point;
    let ws = format!("crashy-{}", c.c);
    assert_eq!(
        c.w.instance_state("us-east-1", &ws),
        InstanceState::Running,
        "the workstation runs again after {point}"
    );
    let t = format!("crash-env-{n}");
    assert!(
        !c.template_file(&t, "1").exists(),
        "no template file after {point}"
    );
    assert!(
        c.versions(&t).is_empty(),
        "no stored version of {t} after {point}: {:?}",
        c.versions(&t)
    );
}

fn launch_check(c: &Crew, n: usize, e: &End) {
    let name = format!("l-crash-{n}");
    assert_eq!(
        c.w.instance_state("us-east-1", &name),
        InstanceState::Running,
        "one running instance after {}",
        e.point
    );
    let row = c.workstation_row(&name).expect("a store row");
    assert_eq!(row["state"], "running", "after {}", e.point);
    assert_eq!(
        row["instance_id"],
        instance_named(c.w, "us-east-1", &name).id,
        "after {}",
        e.point
    );
}

fn launch_failed_check(c: &Crew, n: usize, e: &End) {
    let name = format!("l-crash-{n}");
    assert_eq!(
        c.w.instance_state("us-east-1", &name),
        InstanceState::Terminated,
        "its one instance stays terminated after {}",
        e.point
    );
    assert!(
        c.workstation_row(&name).is_none(),
        "no store row after {}",
        e.point
    );
}

fn copy_start(c: &Crew, n: usize) -> Vec<String> {
    c.ok(&[
        "save",
        &format!("copy-src-{}", c.c),
        &format!("copy-env-{n}"),
        "--yes",
    ]);
    s(&[
        "template",
        "copy",
        &format!("copy-env-{n}"),
        "--to-region",
        "eu-west-1",
    ])
}

fn copy_check(c: &Crew, n: usize, e: &End) {
    let t = format!("copy-env-{n}");
    let img = &c.w.images("eu-west-1", &t, "1")[0];
    let file = std::fs::read_to_string(c.template_file(&t, "1")).unwrap();
    assert!(
        file.contains("eu-west-1") && file.contains(&img.id),
        "the template lists the copy {} after {}",
        img.id,
        e.point
    );
    assert_eq!(c.versions(&t), vec!["1"], "after {}", e.point);
}

fn share_setup(c: &Crew) {
    let ws = format!("share-src-{}", c.c);
    c.ok(&["launch", "python-ml", &ws]);
    c.ok(&[
        "save",
        &ws,
        &format!("share-env-{}", c.c),
        "--copy-to-regions",
        "us-west-2",
        "--yes",
    ]);
}

fn shared_with(c: &Crew, n: usize, e: &End, want: bool) {
    for r in ["us-east-1", "us-west-2"] {
        let img = &c.w.images(r, &format!("share-env-{}", c.c), "1")[0];
        let perms =
            c.w.rt
                .block_on(c.w.cloud.launch_permissions(r, &img.id))
                .unwrap();
        assert_eq!(
            perms.accounts.contains(&share_account(n)),
            want,
            "{r}: shared with {} after {}: {perms:?}",
            share_account(n),
            e.point
        );
        // Shared with --allow-copy: the snapshots' copy permission follows the launch one.
        for snap in &img.snapshot_ids {
            let copy =
                c.w.rt
                    .block_on(c.w.cloud.snapshot_copy_permissions(r, snap))
                    .unwrap();
            assert_eq!(
                copy.accounts.contains(&share_account(n)),
                want,
                "{r}: {snap} copy permission after {}: {copy:?}",
                e.point
            );
        }
    }
}

fn delete_start(c: &Crew, n: usize) -> Vec<String> {
    let t = format!("del-env-{n}");
    for _ in 0..2 {
        c.ok(&["save", &format!("del-src-{}", c.c), &t, "--yes"]);
    }
    s(&["template", "delete", &format!("{t}@1"), "--yes"])
}

fn delete_check(c: &Crew, n: usize, e: &End) {
    let t = format!("del-env-{n}");
    let point = &e.point;
    assert!(
        !c.template_file(&t, "1").exists(),
        "{t}@1's file removed after {point}"
    );
    assert_eq!(c.versions(&t), vec!["2"], "store versions after {point}");
    // The other version is untouched.
    assert_eq!(c.w.images("us-east-1", &t, "2").len(), 1, "after {point}");
    assert!(c.template_file(&t, "2").exists(), "after {point}");
}

fn lifecycle_check(c: &Crew, name: &str, e: &End, want: InstanceState, row: Option<&str>) {
    assert_eq!(
        c.w.instance_state("us-east-1", name),
        want,
        "after {}",
        e.point
    );
    assert_eq!(
        c.workstation_row(name)
            .map(|r| r["state"].as_str().unwrap().to_string()),
        row.map(String::from),
        "store row of {name} after {}",
        e.point
    );
}

/// How the matrix runs each kind. A kind of the registry without a runner fails the test.
fn runners() -> Vec<KindRunner> {
    vec![
        KindRunner {
            kind: "save.v1",
            setup: save_setup,
            start: save_start,
            images: &[("us-east-1", 1), ("us-west-2", 1)],
            check: save_check,
            fail: Some(Failure {
                // The last step: every step before it has started, so every undo runs.
                step: "share",
                arrange: |c, _, op| request_cancel_offline(c, op),
                check: save_failed_check,
            }),
        },
        KindRunner {
            kind: "launch.v1",
            setup: no_setup,
            start: |_, n| s(&["launch", "python-ml", &format!("l-crash-{n}")]),
            images: &[],
            check: launch_check,
            fail: Some(Failure {
                // The instance is terminated while the launch waits for it to run: a real
                // failure of wait_running, then both undos.
                step: "wait_running",
                arrange: |c, n, _| {
                    let i = instance_named(c.w, "us-east-1", &format!("l-crash-{n}"));
                    c.w.rt
                        .block_on(c.w.cloud.terminate_instance("us-east-1", &i.id))
                        .unwrap();
                },
                check: launch_failed_check,
            }),
        },
        KindRunner {
            kind: "copy.v1",
            setup: |c| {
                c.ok(&["launch", "python-ml", &format!("copy-src-{}", c.c)]);
            },
            start: copy_start,
            images: &[("us-east-1", 1), ("eu-west-1", 1)],
            check: copy_check,
            fail: None,
        },
        KindRunner {
            kind: "share.v1",
            setup: share_setup,
            start: |c, n| {
                s(&[
                    "template",
                    "share",
                    &format!("share-env-{}", c.c),
                    "--account",
                    &share_account(n),
                    "--allow-copy",
                    "--yes",
                ])
            },
            images: &[("us-east-1", 1), ("us-west-2", 1)],
            check: |c, n, e| shared_with(c, n, e, true),
            fail: None,
        },
        KindRunner {
            kind: "unshare.v1",
            setup: share_setup,
            start: |c, n| {
                let t = format!("share-env-{}", c.c);
                let a = share_account(n);
                c.ok(&[
                    "template",
                    "share",
                    &t,
                    "--account",
                    &a,
                    "--allow-copy",
                    "--yes",
                ]);
                s(&["template", "unshare", &t, "--account", &a, "--yes"])
            },
            images: &[("us-east-1", 1), ("us-west-2", 1)],
            check: |c, n, e| shared_with(c, n, e, false),
            fail: None,
        },
        KindRunner {
            kind: "template-delete.v1",
            setup: |c| {
                c.ok(&["launch", "python-ml", &format!("del-src-{}", c.c)]);
            },
            start: delete_start,
            images: &[],
            check: delete_check,
            fail: None,
        },
        KindRunner {
            kind: "stop.v1",
            setup: no_setup,
            start: |c, n| {
                let name = format!("s-crash-{n}");
                c.ok(&["launch", "python-ml", &name]);
                s(&["stop", &name])
            },
            images: &[],
            check: |c, n, e| {
                let name = format!("s-crash-{n}");
                lifecycle_check(c, &name, e, InstanceState::Stopped, Some("stopped"))
            },
            fail: None,
        },
        KindRunner {
            kind: "start.v1",
            setup: no_setup,
            start: |c, n| {
                let name = format!("s-crash-{n}");
                c.ok(&["launch", "python-ml", &name]);
                c.ok(&["stop", &name]);
                s(&["start", &name])
            },
            images: &[],
            check: |c, n, e| {
                let name = format!("s-crash-{n}");
                lifecycle_check(c, &name, e, InstanceState::Running, Some("running"))
            },
            fail: None,
        },
        KindRunner {
            kind: "delete.v1",
            setup: no_setup,
            start: |c, n| {
                let name = format!("s-crash-{n}");
                c.ok(&["launch", "python-ml", &name]);
                s(&["delete", &name, "--yes"])
            },
            images: &[],
            check: |c, n, e| {
                let name = format!("s-crash-{n}");
                lifecycle_check(c, &name, e, InstanceState::Terminated, None)
            },
            fail: None,
        },
    ]
}

/// The crash points of `kind`, from the registry: (point, whether it is an undo point).
fn crash_points(r: &KindRunner) -> Vec<(String, bool)> {
    let kind = r.kind;
    let saga = registry::saga_for(kind).unwrap_or_else(|| panic!("{kind} is not registered"));
    let mut points = vec![];
    for st in &saga.steps {
        for ev in ["started", "succeeded"] {
            points.push((format!("{kind}:{}:{ev}", st.name()), false));
        }
    }
    for st in registry::acting_steps(kind) {
        points.push((format!("{kind}:{st}:acted"), false));
    }
    for (st, label) in registry::acted_points(kind) {
        points.push((format!("{kind}:{st}:acted:{label}"), false));
    }
    for st in registry::recording_steps(kind) {
        points.push((format!("{kind}:{st}:record"), false));
    }
    if r.fail.is_some() {
        for st in saga.steps.iter().rev() {
            for ev in ["undo-started", "undo-finished"] {
                points.push((format!("{kind}:{}:{ev}", st.name()), true));
            }
        }
    }
    points
}

/// Every strings in `v` that starts with `prefix` (ids an operation journaled).
fn ids_in(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            for word in s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
                if word.starts_with(prefix) && word.len() > prefix.len() {
                    out.insert(word.to_string());
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| ids_in(x, prefix, out)),
        Value::Object(m) => m.values().for_each(|x| ids_in(x, prefix, out)),
        _ => {}
    }
}

/// Every image and snapshot of ours, in every region the matrix uses, that belongs to the
/// operation — tagged or not: by its `prism:operation` tag, by its operation-unique AMI name,
/// by a description or `prism:saved-*` tags naming the operation's template version, or by
/// an id the operation journaled; snapshots also by belonging to such an image or naming one
/// in their description. Checks that each region holds exactly `want` images (0 elsewhere),
/// each with snapshots, and that no snapshot found lacks its image.
fn sweep(w: &World, e: &End, want: &[(&str, usize)]) {
    let op = &e.op;
    let op_id = op["id"].as_str().unwrap();
    let mut names = BTreeSet::new();
    for v in [
        &op["input"]["image_name"],
        &op["input"]["spec"]["image_name"],
    ] {
        if let Some(s) = v.as_str() {
            names.insert(s.to_string());
        }
    }
    let template = op["input"]["template"].as_str().unwrap_or_default();
    let mut versions: Vec<String> = vec![];
    match &op["input"]["version"] {
        Value::Number(v) => versions.push(v.to_string()),
        Value::String(v) => versions.push(v.clone()),
        _ => {}
    }
    for v in op["input"]["versions"].as_array().into_iter().flatten() {
        versions.push(v.as_str().map_or_else(|| v.to_string(), String::from));
    }
    let (mut amis, mut snaps) = (BTreeSet::new(), BTreeSet::new());
    ids_in(op, "ami-", &mut amis);
    ids_in(op, "snap-", &mut snaps);
    // The image a launch starts from is not the launch's (nor are its snapshots).
    if let Some(base) = op["input"]["image_id"].as_str() {
        amis.remove(base);
    }
    let ours_by_tags = |t: &Tags| {
        t.get(tags::OPERATION).map(String::as_str) == Some(op_id)
            || (!template.is_empty()
                && t.get(tags::SAVED_TEMPLATE).map(String::as_str) == Some(template)
                && versions
                    .iter()
                    .any(|v| t.get(tags::SAVED_VERSION) == Some(v)))
    };
    let describes = |d: &str| {
        !template.is_empty()
            && versions.iter().any(|v| {
                // The legacy description and the `prism:v1` label (docs/IMAGE_LABELS.md).
                let p = format!("Prism template {template} v{v}");
                let q = format!("prism:v1 {template}@{v}");
                d == p
                    || d.starts_with(&format!("{p}:"))
                    || d == q
                    || d.starts_with(&format!("{q} "))
            })
    };
    let point = &e.point;
    for r in SWEEP_REGIONS {
        let images: Vec<prism_cloud::Image> = w
            .all_own_images(r)
            .into_iter()
            .filter(|i| {
                ours_by_tags(&i.tags)
                    || names.contains(&i.name)
                    || i.description.as_deref().is_some_and(describes)
                    || amis.contains(&i.id)
            })
            .collect();
        let n = want.iter().find(|(x, _)| *x == r).map_or(0, |x| x.1);
        assert_eq!(
            images.len(),
            n,
            "{r}: {n} image(s) of operation {op_id} ({}) after {point}, found {:#?}",
            e.status(),
            images
        );
        let of_images: BTreeSet<&String> = images.iter().flat_map(|i| &i.snapshot_ids).collect();
        for i in &images {
            assert!(
                !i.snapshot_ids.is_empty(),
                "{r}: {} has no snapshot after {point}",
                i.id
            );
        }
        let found: Vec<prism_cloud::Snapshot> = w
            .snapshots(r)
            .into_iter()
            .filter(|s| {
                ours_by_tags(&s.tags)
                    || snaps.contains(&s.id)
                    || of_images.contains(&s.id)
                    || s.description.as_deref().is_some_and(|d| {
                        describes(d)
                            || amis.iter().any(|a| d.contains(a.as_str()))
                            || images.iter().any(|i| d.contains(i.id.as_str()))
                    })
            })
            .collect();
        let found_ids: BTreeSet<&String> = found.iter().map(|s| &s.id).collect();
        assert_eq!(
            found_ids, of_images,
            "{r}: the snapshots of operation {op_id} ({}) are exactly those of its images after {point}: {found:#?}",
            e.status()
        );
    }
}

/// Runs `args` expecting the daemon to kill itself at `point` (the command cannot finish).
fn expect_crash(c: &Crew, args: &[&str], point: &str) {
    let o = c.cmd(args, &[("PRISM_TEST_CRASH_AT", point)]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        !o.status.success() && err.contains("daemon"),
        "the daemon should have died at {point}: {err}"
    );
    // And it is gone: the process the daemon file names no longer exists.
    let info: Value =
        serde_json::from_slice(&std::fs::read(c.home.path().join("state/daemon.json")).unwrap())
            .unwrap();
    let pid = info["pid"].as_i64().unwrap() as libc::pid_t;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // SAFETY: signal 0 only checks that the process exists. A zombie (not reaped yet by
    // whoever adopted it) is dead too.
    let alive = || {
        (unsafe { libc::kill(pid, 0) }) == 0
            && std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |st| {
                st.rsplit(") ").next().is_some_and(|r| !r.starts_with('Z'))
            })
    };
    while alive() {
        assert!(
            std::time::Instant::now() < deadline,
            "daemon {pid} still runs after {point}: {err}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// One point: start the operation with a daemon that dies at `point`, restart a clean daemon
/// (it resumes the operation), wait for the end, then check the end state.
fn run_point(c: &Crew, r: &KindRunner, n: usize, point: &str, undo: bool) {
    let kind = r.kind;
    let args = (r.start)(c, n);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _ = c.cmd(&["daemon", "stop"], &[]);
    let fail = r.fail.as_ref().filter(|_| undo);
    let first = match fail {
        Some(f) => format!("{kind}:{}:started", f.step),
        None => point.to_string(),
    };
    expect_crash(c, &args, &first);
    // Read from the store with no daemon running: a daemon would resume the operation.
    let id = store_offline(
        c,
        "r=c.execute('SELECT id, status FROM operations WHERE kind=? ORDER BY rowid DESC LIMIT 1',(sys.argv[2],)).fetchone()\nprint(r[0] if r and r[1]=='running' else '')",
        &[kind],
    );
    assert!(
        !id.is_empty(),
        "no running {kind} operation after a crash at {first}"
    );
    if let Some(f) = fail {
        // Arrange the failure, then resume under a daemon that dies at the undo point.
        (f.arrange)(c, n, &id);
        expect_crash(c, &["operation", "follow", &id], point);
    }
    let _ = c.cmd(&["operation", "follow", &id], &[]);
    let op = c.json(&["operation", "show", &id]);
    let end = End {
        point: point.to_string(),
        op,
    };
    // The daemon died where it was told to: the journal holds that event.
    let (_, rest) = point.split_once(':').unwrap();
    let (step, event) = rest.split_once(':').unwrap();
    if !event.starts_with("acted") {
        assert!(
            end.op["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["step"] == step && e["event"] == event),
            "{point} is in the journal: {}",
            end.op["events"]
        );
    }
    match fail {
        None => {
            assert_eq!(end.status(), "succeeded", "after {point}: {}", end.op);
            sweep(c.w, &end, r.images);
            (r.check)(c, n, &end);
        }
        Some(f) => {
            assert_eq!(
                end.status(),
                "failed",
                "compensated after {point}: {}",
                end.op
            );
            sweep(c.w, &end, &[]);
            (f.check)(c, n, &end);
        }
    }
}

/// A runner's index and its points: (operation number, point, whether an undo point).
type Chunk = (usize, Vec<(usize, String, bool)>);

/// Kinds whose EC2 calls moto 5.2 does not implement (`EnableImageDeprecation`,
/// `DisableImageDeprecation`, `Enable`/`DisableImageDeregistrationProtection`,
/// `CreateReplaceRootVolumeTask`): the daemon cannot run them against moto at all. Their crash
/// points are proven on the fake cloud instead, by `ops/tests/saga_generic.rs` (every step
/// twice, a failure after each step, a death after each step and sub-record then a resume),
/// and their request shapes by `aws/tests/request_shapes.rs`.
const MOTO_LACKS: &[&str] = &[
    "deprecate.v1",
    "undeprecate.v1",
    "protect.v1",
    "unprotect.v1",
    // moto 5.2 has no Recycle Bin (`ListImagesInRecycleBin`, `Restore*FromRecycleBin`).
    "template-restore.v1",
    // moto 5.2 has no CreateReplaceRootVolumeTask / DescribeReplaceRootVolumeTasks: restore's
    // crash points are proven by ops/tests/saga_generic.rs on the fake cloud instead.
    "restore.v1",
];

/// Kills `prismd` with SIGKILL at every crash point the registry gives (every step boundary
/// of every saga, after each mutating AWS call and each sub-record, and the undo points of
/// save and launch), restarts it, and checks the end state: the operation ends exactly once
/// (succeeded, or failed and compensated), and a sweep of every region finds exactly the
/// images and snapshots that status implies; template files and store rows agree.
#[test]
fn crash_at_every_step_boundary_recovers_to_the_same_end_state() {
    let started = std::time::Instant::now();
    let w = World::new();
    let runners = runners();
    for kind in registry::KINDS {
        assert!(
            runners.iter().any(|r| r.kind == *kind) || MOTO_LACKS.contains(kind),
            "kind {kind} is registered but the crash matrix has no runner for it: add one to runners()"
        );
    }
    for r in &runners {
        assert!(
            registry::KINDS.contains(&r.kind),
            "the crash matrix runs {}, which is not registered",
            r.kind
        );
    }
    // Chunks of at most CHUNK points, each in its own home, shared by WORKERS threads.
    const CHUNK: usize = 10;
    const WORKERS: usize = 2;
    let mut chunks: Vec<Chunk> = vec![];
    let mut n = 0;
    let mut unreachable = 0;
    let mut per_kind = vec![];
    let mut undo_points = 0;
    for (ri, r) in runners.iter().enumerate() {
        let points = crash_points(r);
        let mut runnable = vec![];
        for (p, undo) in points {
            if let Some((_, why)) = UNREACHABLE.iter().find(|(x, _)| *x == p) {
                println!("not reachable on moto: {p}: {why}");
                unreachable += 1;
                continue;
            }
            undo_points += usize::from(undo);
            runnable.push((n, p, undo));
            n += 1;
        }
        per_kind.push(format!(
            "{} {}",
            r.kind.split('.').next().unwrap(),
            runnable.len()
        ));
        for part in runnable.chunks(CHUNK) {
            chunks.push((ri, part.to_vec()));
        }
    }
    // Workers pop from the end: the longest kind (save, first in the registry) goes first.
    let mut chunks: Vec<_> = chunks.into_iter().enumerate().collect();
    chunks.reverse();
    let queue = std::sync::Mutex::new(chunks);
    let covered = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| loop {
                let Some((ci, (ri, points))) =
                    queue.lock().unwrap_or_else(|e| e.into_inner()).pop()
                else {
                    return;
                };
                let r = &runners[ri];
                let crew = Crew {
                    w: &w,
                    home: tempfile::tempdir().unwrap(),
                    c: ci,
                };
                (r.setup)(&crew);
                for (n, p, undo) in &points {
                    let t = std::time::Instant::now();
                    run_point(&crew, r, *n, p, *undo);
                    covered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    eprintln!("crash point {p}: ok ({:.1}s)", t.elapsed().as_secs_f64());
                }
            });
        }
    });
    let covered = covered.into_inner();
    assert_eq!(covered, n, "every runnable point ran");
    println!(
        "crash points covered: {covered} ({}; undo points {undo_points}; not reachable on moto: {unreachable}) in {:.0}s",
        per_kind.join(", "),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn a_colleague_on_another_machine_discovers_and_launches_a_saved_template() {
    let w = World::new();
    w.ok(&["launch", "python-ml", "lab-ws"]);
    w.ok(&[
        "save",
        "lab-ws",
        "team-genomics-env",
        "--description",
        "Lab pipeline",
        "--copy-to-regions",
        "eu-west-1",
        "--yes",
    ]);
    let other = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let o = w.cmd_in(other.path(), args, &[]);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    // Before a refresh the other machine knows only the built-ins.
    let before: Value = serde_json::from_str(&run(&["templates", "-o", "json"])).unwrap();
    assert!(!before["templates"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "team-genomics-env"));
    let after: Value = serde_json::from_str(&run(&[
        "templates",
        "--refresh",
        "--region",
        "eu-west-1",
        "-o",
        "json",
    ]))
    .unwrap();
    let t = after["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "team-genomics-env")
        .expect("discovered")
        .clone();
    assert_eq!(t["description"], "Lab pipeline");
    assert_eq!(t["origin"], "saved");
    let regions: Vec<&str> = t["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        regions.contains(&"us-east-1") && regions.contains(&"eu-west-1"),
        "{regions:?}"
    );
    run(&[
        "launch",
        "team-genomics-env",
        "colleague-ws",
        "--region",
        "eu-west-1",
    ]);
    assert_eq!(
        w.instance_state("eu-west-1", "colleague-ws"),
        InstanceState::Running
    );
    let _ = w.cmd_in(other.path(), &["daemon", "stop"], &[]);
}

#[test]
fn a_damaged_store_is_set_aside_and_workstations_come_back_from_ec2() {
    let w = World::new();
    w.ok(&["launch", "python-ml", "survivor"]);
    w.ok(&["daemon", "stop"]);
    let state = w.home.path().join("state");
    std::fs::write(state.join("prism.db"), b"this is not a sqlite database, it is garbage ....................................................................").unwrap();
    let _ = std::fs::remove_file(state.join("prism.db-wal"));
    let _ = std::fs::remove_file(state.join("prism.db-shm"));
    let listed = w.json(&["list"]);
    let names: Vec<&str> = listed["workstations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["survivor"], "rebuilt from EC2 tags");
    let aside: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("damaged"))
        .collect();
    assert_eq!(aside.len(), 1, "the damaged file is kept aside: {aside:?}");
    let log = std::fs::read_to_string(state.join("prismd.log")).unwrap();
    assert!(
        log.contains("damaged") && log.contains("not resumed"),
        "the log says what could not be recovered"
    );
}

#[test]
fn no_secret_reaches_a_log_line_or_an_error() {
    let w = World::new();
    let secret = "SeCrEtKeY0123456789abcdefghijABCDEFGHIJ";
    let session = "SeSsIoNtOkEn-FQoGZXIvYXdzEJr-very-long-session-token";
    let env = [
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_SESSION_TOKEN", session),
        ("PRISM_LOG", "debug"),
    ];
    let mut outputs = String::new();
    for args in [
        &["launch", "python-ml", "secret-ws"][..],
        &[
            "save",
            "secret-ws",
            "secret-env",
            "--copy-to-regions",
            "us-west-2",
            "--yes",
        ],
        &["launch", "nope-template", "x1"],
        &["save", "ghost", "secret-env2", "--yes"],
        &["list", "-o", "json"],
        &["daemon", "status", "-o", "json"],
        &["operations", "-o", "json"],
    ] {
        let o = w.cmd(args, &env);
        outputs.push_str(&String::from_utf8_lossy(&o.stdout));
        outputs.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    let state = w.home.path().join("state");
    let token = std::fs::read_to_string(state.join("token")).unwrap();
    let _ = w.cmd(&["daemon", "stop"], &env);
    let log = std::fs::read_to_string(state.join("prismd.log")).unwrap();
    assert!(
        log.len() > 200,
        "the daemon logged something at debug level"
    );
    for (what, s) in [
        ("secret key", secret),
        ("session token", session),
        ("daemon token", token.trim()),
    ] {
        assert!(!log.contains(s), "the {what} is in the daemon log");
        assert!(!outputs.contains(s), "the {what} is in the CLI's output");
    }
}

#[test]
fn completions_man_page_and_yaml_output_come_from_the_cli_definition() {
    let w = World::new();
    let bash = w.ok(&["completions", "bash"]);
    assert!(bash.contains("prism") && bash.contains("save") && bash.contains("--copy-to-regions"));
    let man = w.ok(&["man"]);
    assert!(man.contains(".TH") && man.contains("launch"));
    let yaml = w.ok(&["templates", "-o", "yaml"]);
    assert!(yaml.contains("name: python-ml"), "{yaml}");
    let help = w.ok(&["--help"]);
    for cmd in [
        "launch",
        "list",
        "stop",
        "start",
        "delete",
        "save",
        "templates",
        "template",
        "operations",
        "daemon",
    ] {
        assert!(help.contains(cmd), "--help lists {cmd}");
    }
}

#[test]
fn the_aws_attempt_timeout_is_checked_before_a_daemon_starts_and_part_of_its_environment() {
    let w = World::new();
    let daemon_file = w.home.path().join("state/daemon.json");
    // A value that is not whole seconds in range is refused, and no daemon is started with it.
    for bad in ["abc", "0", "30s", "7200"] {
        let o = w.cmd(&["templates"], &[("PRISM_AWS_ATTEMPT_TIMEOUT", bad)]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{bad}: {err}");
        assert!(
            err.contains("PRISM_AWS_ATTEMPT_TIMEOUT") && err.contains("from 1 to 3600"),
            "{bad}: {err}"
        );
        assert!(!daemon_file.exists(), "{bad}: a daemon was started");
    }
    // prismd itself refuses it too (e.g. started by a service manager), with the same words.
    let o = Command::new(env!("CARGO_BIN_EXE_prismd"))
        .env("PRISM_HOME", w.home.path())
        .env("PRISM_AWS_ATTEMPT_TIMEOUT", "never")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "prismd started: {err}");
    assert!(err.contains("PRISM_AWS_ATTEMPT_TIMEOUT=\"never\""), "{err}");
    assert!(!daemon_file.exists());

    // A valid value works, and a daemon started with another one is not silently reused.
    w.ok(&["templates"]);
    assert!(daemon_file.exists());
    let o = w.cmd(&["list"], &[("PRISM_AWS_ATTEMPT_TIMEOUT", "300")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains("PRISM_AWS_ATTEMPT_TIMEOUT"), "{err}");
    assert!(err.contains("prism daemon stop"), "{err}");
    w.ok(&["daemon", "stop"]);
    let o = w.cmd(&["list"], &[("PRISM_AWS_ATTEMPT_TIMEOUT", "300")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_lab_lead_shares_a_saved_template_with_an_account_and_takes_it_back() {
    let w = World::new();
    w.ok(&["launch", "python-ml", "genomics-work"]);
    w.ok(&[
        "save",
        "genomics-work",
        "team-env",
        "--copy-to-regions",
        "us-west-2",
        "--yes",
    ]);
    let image = |region: &str| {
        let imgs = w.images(region, "team-env", "1");
        assert_eq!(imgs.len(), 1, "{region}: {imgs:?}");
        imgs[0].id.clone()
    };
    let (east, west) = (image("us-east-1"), image("us-west-2"));
    let perms = |region: &str, id: &str| {
        w.rt.block_on(w.cloud.launch_permissions(region, id))
            .unwrap()
    };

    // The plan names whom and which images; the share reaches both regions.
    let o = w.cmd(
        &[
            "template",
            "share",
            "team-env",
            "--account",
            "111122223333",
            "--yes",
        ],
        &[],
    );
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{err}");
    assert!(err.contains(&east) && err.contains(&west), "{err}");
    assert!(
        out.contains("team-env@1 is shared with account 111122223333 in us-east-1, us-west-2"),
        "{out}"
    );
    assert!(err.contains("prism templates --refresh"), "{err}");
    assert_eq!(perms("us-east-1", &east).accounts, vec!["111122223333"]);
    assert_eq!(perms("us-west-2", &west).accounts, vec!["111122223333"]);
    // The lab lead sees who has access, per region, read back from EC2.
    let info = w.json(&["template", "info", "team-env", "--sharing"]);
    let regions = info["sharing"]["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 2, "{info}");
    for r in regions {
        assert_eq!(r["accounts"], serde_json::json!(["111122223333"]), "{info}");
        assert_eq!(r["public"], false, "{info}");
    }
    assert_eq!(info["template"]["summary"]["name"], "team-env", "{info}");
    let text = w.ok(&["template", "info", "team-env", "--sharing"]);
    assert!(
        text.contains("who may launch it") && text.contains("111122223333"),
        "{text}"
    );

    // Refusals change nothing.
    w.fails(
        &[
            "template",
            "share",
            "team-env",
            "--account",
            "123456789012",
            "--yes",
        ],
        1,
        "your own account",
    );
    w.fails(
        &[
            "template",
            "share",
            "python-ml",
            "--account",
            "111122223333",
            "--yes",
        ],
        1,
        "not a saved template",
    );
    w.fails(
        &[
            "template",
            "share",
            "team-env",
            "--account",
            "1111-2222-3333",
            "--yes",
        ],
        1,
        "not an AWS account id",
    );
    w.fails(
        &["template", "share", "team-env", "--yes"],
        1,
        "nothing to share with",
    );
    assert_eq!(perms("us-east-1", &east).accounts, vec!["111122223333"]);

    // Unshare, as JSON: the operation and its per-region outcome.
    let op = w.json(&[
        "template",
        "unshare",
        "team-env@1",
        "--account",
        "111122223333",
        "--yes",
    ]);
    assert_eq!(op["status"], "succeeded", "{op}");
    assert_eq!(op["kind"], "unshare.v1");
    assert_eq!(op["result"]["regions"].as_array().unwrap().len(), 2, "{op}");
    assert!(perms("us-east-1", &east).accounts.is_empty());
    assert!(perms("us-west-2", &west).accounts.is_empty());
    let info = w.json(&["template", "info", "team-env", "--sharing"]);
    assert!(
        info["sharing"]["regions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["accounts"] == serde_json::json!([])),
        "{info}"
    );
    w.fails(
        &["template", "info", "python-ml", "--sharing"],
        1,
        "not a saved template",
    );

    // --allow-copy: the snapshots' create-volume permission too (so the colleague can copy the
    // image into their own regions), read back through EC2; unshare takes it back.
    let snapshot_perms = |region: &str| {
        let imgs = w.images(region, "team-env", "1");
        assert!(!imgs[0].snapshot_ids.is_empty(), "{region}: {imgs:?}");
        imgs[0]
            .snapshot_ids
            .iter()
            .map(|s| {
                w.rt.block_on(w.cloud.snapshot_copy_permissions(region, s))
                    .unwrap()
            })
            .collect::<Vec<_>>()
    };
    let o = w.cmd(
        &[
            "template",
            "share",
            "team-env",
            "--account",
            "111122223333",
            "--allow-copy",
            "--yes",
        ],
        &[],
    );
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{err}");
    assert!(out.contains("copy it into their own regions"), "{out}");
    for region in ["us-east-1", "us-west-2"] {
        for p in snapshot_perms(region) {
            assert_eq!(p.accounts, vec!["111122223333"], "{region}");
        }
    }
    w.ok(&[
        "template",
        "unshare",
        "team-env",
        "--account",
        "111122223333",
        "--yes",
    ]);
    for region in ["us-east-1", "us-west-2"] {
        for p in snapshot_perms(region) {
            assert!(p.accounts.is_empty(), "{region}: {p:?}");
        }
    }
    assert!(perms("us-east-1", &east).accounts.is_empty());

    // Public: moto lacks GetImageBlockPublicAccessState, so the plan warns and EC2 decides.
    let o = w.cmd(&["template", "share", "team-env", "--public", "--yes"], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("could not check block public access"), "{err}");
    assert!(perms("us-east-1", &east).public && perms("us-west-2", &west).public);

    // Issue 13: a new version keeps its audience — v2, saved without flags, goes to v1's
    // regions with v1's launch permissions, read back through EC2; --no-inherit keeps it home.
    w.ok(&[
        "template",
        "share",
        "team-env@1",
        "--account",
        "111122223333",
        "--yes",
    ]);
    let o = w.cmd(&["save", "genomics-work", "team-env", "--yes"], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("us-west-2") && err.contains("111122223333"),
        "the plan says what is inherited: {err}"
    );
    for region in ["us-east-1", "us-west-2"] {
        let imgs = w.images(region, "team-env", "2");
        assert_eq!(imgs.len(), 1, "v2 in {region}: {imgs:?}");
        let p = perms(region, &imgs[0].id);
        assert_eq!(p.accounts, vec!["111122223333"], "v2 in {region}");
        assert!(p.public, "v1 was public, so is v2 in {region}");
    }
    let plan = w.json(&[
        "save",
        "genomics-work",
        "team-env",
        "--no-inherit",
        "--dry-run",
    ]);
    assert_eq!(plan["regions"], serde_json::json!(["us-east-1"]), "{plan}");
}

#[test]
fn a_saved_version_is_deleted_for_good_in_every_region() {
    let w = World::new();
    w.ok(&["launch", "python-ml", "course-prep"]);
    w.ok(&[
        "save",
        "course-prep",
        "cs229-env",
        "--copy-to-regions",
        "us-west-2",
        "--yes",
    ]);
    w.ok(&["save", "course-prep", "cs229-env", "--yes"]);
    w.fails(
        &["template", "delete", "cs229-env", "--yes"],
        1,
        "which version of 'cs229-env'",
    );
    // No terminal to confirm on and no --yes: refused, nothing deleted.
    w.fails(&["template", "delete", "cs229-env@1"], 1, "--yes");
    let plan = w.json(&["template", "delete", "cs229-env@1", "--dry-run"]);
    assert_eq!(plan["images"].as_array().unwrap().len(), 2, "{plan}");
    assert_eq!(plan["snapshots"], 2, "{plan}");
    assert_eq!(w.images("us-west-2", "cs229-env", "1").len(), 1);

    let out = w.ok(&["template", "delete", "cs229-env@1", "--yes"]);
    assert!(
        out.contains("deleted cs229-env version(s) 1: 2 image(s), 2 snapshot(s)"),
        "{out}"
    );
    for r in ["us-east-1", "us-west-2"] {
        assert!(w.images(r, "cs229-env", "1").is_empty(), "{r}");
    }
    assert_eq!(w.images("us-east-1", "cs229-env", "2").len(), 1);
    assert_eq!(w.versions("cs229-env"), vec!["2"]);
    w.fails(
        &["template", "delete", "cs229-env@1", "--yes"],
        1,
        "has no version '1'",
    );
}

#[test]
fn a_pi_groups_templates_in_a_project_sees_their_cost_and_shares_them() {
    let w = World::new();
    w.ok(&[
        "project",
        "create",
        "brain-imaging",
        "--description",
        "fMRI pipelines",
        "--budget",
        "50",
        "--account",
        "111122223333",
    ]);
    w.fails(
        &["project", "create", "brain-imaging"],
        1,
        "project 'brain-imaging' already exists",
    );
    w.fails(
        &["project", "create", "cheap", "--budget=NaN"],
        2,
        "is not a positive amount",
    );
    w.fails(&["project", "info", "nope"], 1, "no project named 'nope'");
    w.ok(&[
        "launch",
        "python-ml",
        "scanner-ws",
        "--project",
        "brain-imaging",
    ]);
    w.ok(&[
        "save",
        "scanner-ws",
        "brain-env",
        "--project",
        "brain-imaging",
        "--copy-to-regions",
        "us-west-2",
        "--yes",
    ]);

    let list = w.json(&["project", "list"]);
    assert_eq!(list["projects"][0]["name"], "brain-imaging", "{list}");
    let templates = w.json(&["project", "templates", "brain-imaging"]);
    let names: Vec<&str> = templates
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["brain-env"]);
    let info = w.json(&["project", "info", "brain-imaging"]);
    assert_eq!(info["workstations"][0]["name"], "scanner-ws", "{info}");

    // Cost: the version's image in both regions, read from EC2, against the budget.
    let cost = w.json(&["project", "cost", "brain-imaging"]);
    assert_eq!(cost["images"].as_array().unwrap().len(), 2, "{cost}");
    let size = cost["size_gb"].as_i64().unwrap();
    assert!(size > 0, "{cost}");
    let usd = cost["storage_usd_per_month"].as_f64().unwrap();
    assert!((usd - size as f64 * 0.05).abs() < 0.01, "{cost}");
    let pct = cost["budget_used_percent"].as_f64().unwrap();
    assert!((pct - usd / 50.0 * 100.0).abs() < 0.1, "{cost}");
    let text = w.ok(&["project", "cost", "brain-imaging"]);
    assert!(text.contains("of it"), "{text}");

    // Share with the project's accounts; a template outside the project is refused.
    w.fails(
        &[
            "project",
            "share-template",
            "brain-imaging",
            "python-ml",
            "--yes",
        ],
        1,
        "not in project 'brain-imaging'",
    );
    w.ok(&[
        "project",
        "share-template",
        "brain-imaging",
        "brain-env",
        "--yes",
    ]);
    for r in ["us-east-1", "us-west-2"] {
        let img = &w.images(r, "brain-env", "1")[0];
        let perms =
            w.rt.block_on(w.cloud.launch_permissions(r, &img.id))
                .unwrap();
        assert_eq!(perms.accounts, vec!["111122223333"], "{r}");
    }
}

#[test]
fn a_project_must_exist_gains_members_later_and_is_deleted_only_when_unused() {
    let w = World::new();
    w.ok(&[
        "project",
        "create",
        "brain-imaging",
        "--account",
        "111122223333",
    ]);
    // A typo in --project is refused with the close name and how to create one; nothing made.
    let typo = [
        "launch",
        "python-ml",
        "typo-ws",
        "--project",
        "brain-imagin",
    ];
    w.fails(&typo, 1, "no project named 'brain-imagin'");
    w.fails(&typo, 1, "did you mean 'brain-imaging'?");
    w.fails(&typo, 1, "prism project create brain-imagin");
    assert!(
        w.instances("us-east-1").is_empty(),
        "a refused launch starts nothing"
    );
    w.ok(&[
        "launch",
        "python-ml",
        "scanner-ws",
        "--project",
        "brain-imaging",
    ]);
    w.fails(
        &[
            "save",
            "scanner-ws",
            "brain-env",
            "--project",
            "brain-imagin",
            "--yes",
        ],
        1,
        "did you mean 'brain-imaging'?",
    );
    assert!(w.images("us-east-1", "brain-env", "1").is_empty());
    let list = w.json(&["project", "list"]);
    assert_eq!(list["projects"].as_array().unwrap().len(), 1, "{list}");
    w.ok(&[
        "save",
        "scanner-ws",
        "brain-env",
        "--project",
        "brain-imaging",
        "--yes",
    ]);

    // Members added after creation, with what changed; a bad account id changes nothing.
    w.fails(
        &["project", "update", "brain-imaging", "--add-member", "4444"],
        1,
        "\"4444\" is not an AWS account id",
    );
    let out = w.ok(&[
        "project",
        "update",
        "brain-imaging",
        "--add-member",
        "444455556666",
        "--budget",
        "75",
    ]);
    assert!(out.contains("added member 444455556666"), "{out}");
    assert!(out.contains("budget none → $75.00/month"), "{out}");
    let info = w.json(&["project", "info", "brain-imaging"]);
    assert_eq!(
        info["project"]["accounts"],
        serde_json::json!(["111122223333", "444455556666"]),
        "{info}"
    );
    assert_eq!(info["project"]["budget_usd_per_month"], 75.0, "{info}");

    // share-template grants the new member launch permission, read back from EC2.
    w.ok(&[
        "project",
        "share-template",
        "brain-imaging",
        "brain-env",
        "--yes",
    ]);
    let img = &w.images("us-east-1", "brain-env", "1")[0];
    let mut perms =
        w.rt.block_on(w.cloud.launch_permissions("us-east-1", &img.id))
            .unwrap()
            .accounts;
    perms.sort();
    assert_eq!(perms, vec!["111122223333", "444455556666"]);

    let out = w.ok(&[
        "project",
        "update",
        "brain-imaging",
        "--remove-member",
        "111122223333",
    ]);
    assert!(out.contains("removed member 111122223333"), "{out}");
    w.fails(
        &[
            "project",
            "update",
            "brain-imaging",
            "--remove-member",
            "111122223333",
        ],
        1,
        "account 111122223333 is not a member of project 'brain-imaging'",
    );

    // Delete: refused while in use, naming what; --force deletes the record only.
    w.fails(
        &["project", "delete", "brain-imaging", "--yes"],
        1,
        "in use by 2 thing(s): workstation scanner-ws, template brain-env@1",
    );
    w.ok(&["project", "info", "brain-imaging"]);
    w.fails(
        &["project", "delete", "brain-imaging", "--force"],
        1,
        "pass --yes",
    );
    w.ok(&["project", "info", "brain-imaging"]);
    w.ok(&["project", "delete", "brain-imaging", "--force", "--yes"]);
    w.fails(
        &["project", "info", "brain-imaging"],
        1,
        "no project named 'brain-imaging'",
    );
    w.ok(&["project", "create", "empty-one"]);
    let out = w.ok(&["project", "delete", "empty-one", "--yes"]);
    assert!(out.contains("deleted project empty-one"), "{out}");
    let list = w.json(&["project", "list"]);
    assert!(list["projects"].as_array().unwrap().is_empty(), "{list}");
}

/// Runs prism, asserts success; returns stdout and stderr together.
fn ok_all(w: &World, args: &[&str]) -> String {
    let o = w.cmd(args, &[]);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "prism {args:?}: {out}\n{err}");
    format!("{out}{err}")
}

#[test]
fn a_project_near_its_budget_warns_and_past_it_refuses_launch_and_save() {
    let w = World::new();
    w.ok(&["project", "create", "tight"]);
    w.ok(&["launch", "python-ml", "t-one", "--project", "tight"]);
    w.ok(&["save", "t-one", "tight-env", "--project", "tight", "--yes"]);

    // Cost: storage measured from EC2 and estimated; compute from Prism's running records.
    let cost = w.json(&["project", "cost", "tight"]);
    let storage = cost["storage_usd_per_month"].as_f64().unwrap();
    assert!(storage > 0.0, "{cost}");
    let compute = cost["compute"].as_array().unwrap();
    assert_eq!(compute.len(), 1, "{cost}");
    assert_eq!(compute[0]["workstation"], "t-one", "{cost}");
    assert_eq!(compute[0]["running"], true, "{cost}");
    assert!(compute[0]["hours"].as_f64().unwrap() >= 0.0, "{cost}");
    let itype = compute[0]["instance_type"].as_str().unwrap();
    assert_eq!(
        compute[0]["usd_per_hour"].as_f64(),
        prism_ops::prices::usd_per_hour(itype),
        "{cost}"
    );
    assert!(
        cost["price_list"]
            .as_str()
            .unwrap()
            .contains("as of 2024-06"),
        "{cost}"
    );
    // The save plan and project cost label the same figures the same way.
    let plan = ok_all(&w, &["save", "t-one", "tight-env", "--dry-run"]);
    let text = w.ok(&["project", "cost", "tight"]);
    for label in [
        prism_ops::projects::MEASURED,
        prism_ops::projects::STORAGE_ESTIMATE,
    ] {
        assert!(plan.contains(label), "plan lacks {label:?}: {plan}");
        assert!(text.contains(label), "cost lacks {label:?}: {text}");
    }
    assert!(text.contains("Compute this month"), "{text}");
    assert!(text.contains("t-one (running)"), "{text}");

    // At ~87% of the budget: launch and save warn, and go ahead.
    let budget = format!("{:.4}", storage / 0.87);
    w.ok(&["project", "update", "tight", "--budget", &budget]);
    let out = ok_all(&w, &["launch", "python-ml", "t-two", "--project", "tight"]);
    assert!(out.contains("warning: project tight has used 8"), "{out}");
    let plan = ok_all(&w, &["save", "t-one", "tight-env", "--dry-run"]);
    assert!(plan.contains("project 'tight' has used"), "{plan}");

    // Past 100%: refused with the figures, nothing made, unless --over-budget.
    let budget = format!("{:.4}", storage / 2.0);
    w.ok(&["project", "update", "tight", "--budget", &budget]);
    let before = w.instances("us-east-1").len();
    w.fails(
        &["launch", "python-ml", "t-three", "--project", "tight"],
        1,
        "project 'tight' is over budget: $",
    );
    w.fails(
        &["launch", "python-ml", "t-three", "--project", "tight"],
        1,
        "or pass --over-budget",
    );
    assert_eq!(w.instances("us-east-1").len(), before, "nothing launched");
    w.fails(
        &["save", "t-one", "tight-env", "--yes"],
        1,
        "project 'tight' is over budget",
    );
    assert!(w.images("us-east-1", "tight-env", "2").is_empty());
    let text = w.ok(&["project", "cost", "tight"]);
    assert!(text.contains("over budget"), "{text}");
    w.ok(&[
        "launch",
        "python-ml",
        "t-three",
        "--project",
        "tight",
        "--over-budget",
    ]);
    assert_eq!(w.instances("us-east-1").len(), before + 1);
}

#[test]
fn an_exported_template_is_imported_on_another_machine_and_launches() {
    let w = World::new();
    w.ok(&["launch", "python-ml", "prep-ws"]);
    w.ok(&["save", "prep-ws", "cs229-env", "--yes"]);
    let out = w.home.path().join("cs229-env.yaml");
    let out_s = out.to_str().unwrap();
    w.ok(&["template", "export", "cs229-env@1", "--file", out_s]);
    let yaml = std::fs::read_to_string(&out).unwrap();
    assert!(
        yaml.contains("cs229-env") && yaml.contains("ami-"),
        "{yaml}"
    );
    w.fails(
        &["template", "export", "cs229-env", "--file", out_s],
        1,
        "pass --force",
    );
    // Standard output by default: the same YAML.
    assert_eq!(w.ok(&["template", "export", "cs229-env@1"]), yaml);

    // A student's machine: its own PRISM_HOME, same EC2.
    let student = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| w.cmd_in(student.path(), args, &[]);
    let o = run(&["template", "import", out_s, "-o", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["template"], "cs229-env@1", "{r}");
    // Importing the same version again changes nothing; other content is refused.
    let o = run(&["template", "import", out_s]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(yaml.contains("saved_by: "), "{yaml}");
    std::fs::write(
        &out,
        yaml.replacen("saved_by: ", "saved_by: someone-else-", 1),
    )
    .unwrap();
    let o = run(&["template", "import", out_s]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("saved versions never change"), "{err}");
    // An invalid file is refused and nothing is written.
    let bad = student.path().join("bad.yaml");
    std::fs::write(&bad, "name: [broken\n").unwrap();
    let o = run(&["template", "import", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a valid template"));
    let files: Vec<_> = std::fs::read_dir(student.path().join("templates"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(files, vec!["cs229-env@1.yaml"], "{files:?}");
    // The student launches from it.
    let o = run(&["launch", "cs229-env", "assignment-1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        w.instance_state("us-east-1", "assignment-1"),
        InstanceState::Running
    );
    run(&["daemon", "stop"]);
}

/// Reaching a workstation through the whole path (CLI reads the key file, daemon, saga, EC2):
/// the instance has the imported key pair and the `prism-ssh` group admitting tcp/22 from the
/// given CIDR only, with IMDSv2 required; a second launch reuses both; without a key or a
/// CIDR the launch warns.
#[test]
fn a_launch_with_key_and_allow_from_is_reachable_by_ssh_only_from_there() {
    let w = World::new();
    let key = w.home.path().join("me.pub");
    std::fs::write(
        &key,
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvRDtO4b7GQ6tP0Ucxx1ZkEbcf3b4GRuV0C39+dWS7x me@laptop\n",
    )
    .unwrap();
    let key = key.to_string_lossy().to_string();
    let r = w.json(&[
        "launch",
        "python-ml",
        "reach-1",
        "--key",
        &key,
        "--allow-from",
        "203.0.113.7/32",
    ]);
    let key_name = r["result"]["key_name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(key_name.starts_with("prism-"), "{r}");
    let i = instance_named(&w, "us-east-1", "reach-1");
    assert_eq!(i.key_name.as_deref(), Some(key_name.as_str()));
    assert_eq!(i.http_tokens.as_deref(), Some("required"));
    let q = prism_cloud::GroupQuery {
        name: Some("prism-ssh".into()),
        ..Default::default()
    };
    let groups =
        w.rt.block_on(w.cloud.describe_security_groups("us-east-1", &q))
            .unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(i.security_group_ids, vec![groups[0].id.clone()]);
    assert_eq!(
        groups[0].ingress,
        vec![prism_cloud::IngressRule::ssh_from("203.0.113.7/32")]
    );

    // Another launch, no key in ~/.ssh (HOME without one) and no CIDR: Prism creates its own
    // ed25519 key pair (private key 0600 in its state directory), imports it, allows SSH from
    // the caller's address (the same here), reuses the group.
    let empty = tempfile::tempdir().unwrap();
    let home = empty.path().to_string_lossy().to_string();
    let o = w.cmd(&["launch", "python-ml", "reach-2"], &[("HOME", &home)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("created an ed25519 key pair for Prism"),
        "{err}"
    );
    assert!(!err.contains("launched without a key pair"), "{err}");
    // No --allow-from: the caller's address (given by the testkit as 203.0.113.7).
    assert!(
        err.contains("SSH allowed from your address 203.0.113.7/32"),
        "{err}"
    );
    let own = w.home.path().join("state").join("ssh").join("id_ed25519");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&own).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", own.display());
    let private = std::fs::read_to_string(&own).unwrap();
    assert!(
        private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"),
        "{private}"
    );
    let public = std::fs::read_to_string(own.with_extension("pub")).unwrap();
    let own_name = prism_ops::access::parse_public_key(&public, "own")
        .unwrap()
        .key_name;
    let i2 = instance_named(&w, "us-east-1", "reach-2");
    assert_eq!(i2.key_name.as_deref(), Some(own_name.as_str()));
    assert_eq!(i2.security_group_ids, i.security_group_ids);
    let again =
        w.rt.block_on(w.cloud.describe_security_groups("us-east-1", &q))
            .unwrap();
    assert_eq!(again[0].ingress, groups[0].ingress);
    // EC2's fingerprint of the imported key is the one of Prism's public key. moto computes
    // it as the SHA-256 of the key's DER SubjectPublicKeyInfo, hex with colons.
    let pair =
        w.rt.block_on(w.cloud.describe_key_pair("us-east-1", &own_name))
            .unwrap()
            .expect("Prism's own key pair was imported");
    let blob = {
        let b64 = public.split_whitespace().nth(1).unwrap();
        ssh_key::PublicKey::from_openssh(&format!("ssh-ed25519 {b64}")).unwrap()
    };
    let raw = blob.key_data().ed25519().unwrap().0;
    let mut der = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    der.extend_from_slice(&raw);
    use sha2::Digest;
    let want = sha2::Sha256::digest(&der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    assert_eq!(pair.fingerprint.as_deref(), Some(want.as_str()));
    // The next launch reuses it: no new key, the same key pair.
    let o = w.cmd(&["launch", "python-ml", "reach-3"], &[("HOME", &home)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("created an ed25519 key pair"), "{err}");
    assert_eq!(std::fs::read_to_string(&own).unwrap(), private);
    let i3 = instance_named(&w, "us-east-1", "reach-3");
    assert_eq!(i3.key_name.as_deref(), Some(own_name.as_str()));
    let keys =
        w.rt.block_on(w.cloud.describe_key_pair("us-east-1", &key_name))
            .unwrap();
    assert!(keys.is_some());
}

/// Issue 13, items 3 and 6: `template versions` is a table of every version (saved at, by,
/// regions, downtime, size, sharing, launches, running now) fitting the terminal, with the
/// full data under `--output json`; `template info` summarizes the template (lineage back
/// to the built-in, regions, sharing, storage estimate, usage), `--output json` gives the
/// full template. Usage comes from Prism's launch records and workstations.
#[test]
fn template_versions_and_info_show_lineage_sharing_storage_and_usage() {
    const DESC: &str = "Genomics pipeline with samtools, bwa and the lab's QC scripts for the 2026 sequencing runs";
    let w = World::new();
    w.ok(&["launch", "python-ml", "seq-base"]);
    w.ok(&[
        "save",
        "seq-base",
        "seq-env",
        "--copy-to-regions",
        "us-west-2",
        "--description",
        DESC,
        "--yes",
    ]);
    // v1: launched twice, one of them deleted again; v2 saved from a v1 workstation.
    w.ok(&["launch", "seq-env", "seq-a"]);
    w.ok(&["launch", "seq-env", "seq-gone"]);
    w.ok(&["delete", "seq-gone", "--yes"]);
    w.ok(&["save", "seq-a", "seq-env", "--yes"]);
    w.ok(&[
        "template",
        "share",
        "seq-env@2",
        "--account",
        "111122223333",
        "--yes",
    ]);

    let v = w.json(&["template", "versions", "seq-env"]);
    assert_eq!(v["template"], "seq-env");
    let rows = v["versions"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    let (v1, v2) = (&rows[0], &rows[1]);
    assert_eq!(v1["version"], "1");
    assert_eq!(v1["launches"], 2, "{v1}");
    assert_eq!(v1["running_now"], serde_json::json!(["seq-a"]), "{v1}");
    assert_eq!(v1["regions"], serde_json::json!(["us-east-1", "us-west-2"]));
    assert_eq!(v1["shared_with"], serde_json::json!([]));
    assert_eq!(v1["description"], DESC);
    assert_eq!(v2["launches"], 0, "{v2}");
    assert_eq!(v2["running_now"], serde_json::json!([]));
    assert_eq!(v2["saved_from"], "seq-a");
    assert_eq!(v2["original_template"], "seq-env");
    assert_eq!(v2["original_template_version"], "1");
    // Inherited regions; the share read back from EC2.
    assert_eq!(v2["regions"], serde_json::json!(["us-east-1", "us-west-2"]));
    assert_eq!(
        v2["shared_with"],
        serde_json::json!(["111122223333"]),
        "{v2}"
    );
    let size = v2["size_gb"].as_i64().expect("size read from EC2");
    assert!(size > 0, "{v2}");
    let usd = v2["monthly_storage_usd"].as_f64().unwrap();
    let price = v["snapshot_usd_per_gb_month"].as_f64().unwrap();
    assert!((usd - size as f64 * 2.0 * price).abs() < 1e-9, "{v2}");

    // The table: one row per version, within COLUMNS; --wide shows the whole description.
    let run = |columns: &str, args: &[&str]| {
        let o = w.cmd(args, &[("COLUMNS", columns)]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    for width in [100usize, 160] {
        let table = run(&width.to_string(), &["template", "versions", "seq-env"]);
        for line in table.lines() {
            assert!(line.chars().count() <= width, "{width}: {line:?}\n{table}");
        }
        let versions: Vec<&str> = table
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(versions, ["1", "2"], "{table}");
        assert!(table.contains("LAUNCHES"), "{table}");
        assert!(!table.contains(DESC), "{table}");
    }
    let wide = run("100", &["template", "versions", "seq-env", "--wide"]);
    assert!(wide.contains(DESC), "{wide}");
    let row = |v: &str| {
        wide.lines()
            .find(|l| l.split_whitespace().next() == Some(v))
            .unwrap_or_else(|| panic!("no row {v}: {wide}"))
            .to_string()
    };
    let row1 = row("1");
    assert!(
        row1.contains("seq-a") && row1.contains("us-east-1,us-west-2"),
        "{row1}"
    );
    let row2 = row("2");
    assert!(
        row2.contains("111122223333") && row2.contains("GiB"),
        "{row2}"
    );

    // info: a summary for people; the full template under --output json.
    let info = w.ok(&["template", "info", "seq-env"]);
    assert!(
        info.contains(
            "python-ml → saved from workstation seq-base → seq-env@1 → saved from workstation seq-a → seq-env@2"
        ),
        "{info}"
    );
    assert!(
        info.contains("Latest:     seq-env@2 of 2 version(s)"),
        "{info}"
    );
    assert!(info.contains("Shared:     111122223333"), "{info}");
    assert!(info.contains("estimate"), "{info}");
    assert!(info.contains("Regions:    us-east-1,us-west-2"), "{info}");
    let info1 = w.ok(&["template", "info", "seq-env@1"]);
    assert!(
        info1.contains("2 launch(es)") && info1.contains("running now: seq-a"),
        "{info1}"
    );
    let full = w.json(&["template", "info", "seq-env"]);
    assert!(
        full["yaml"].as_str().unwrap().contains("saved_from: seq-a"),
        "{full}"
    );
    assert_eq!(full["template"]["saved_from"], "seq-a");
}

/// Issue 13, item 2: `template prune` keeps the latest, the newest N, a version a workstation
/// runs from and one launched within --unused-for, and deletes the rest exactly as `template
/// delete` does — checked through EC2 (DescribeImages) in every region.
#[test]
fn prune_keeps_exactly_what_it_should() {
    let w = World::new();
    w.ok(&["launch", "python-ml", "prune-src"]);
    w.ok(&[
        "save",
        "prune-src",
        "old-env",
        "--copy-to-regions",
        "us-west-2",
        "--yes",
    ]);
    for _ in 2..=4 {
        w.ok(&["save", "prune-src", "old-env", "--yes"]);
    }
    // v2 has a workstation; v1 was launched, its workstation deleted since.
    w.ok(&["launch", "old-env@2", "prune-v2"]);
    w.ok(&["launch", "old-env@1", "prune-v1"]);
    w.ok(&["delete", "prune-v1", "--yes"]);
    let images = |v: &str| {
        w.images("us-east-1", "old-env", v).len() + w.images("us-west-2", "old-env", v).len()
    };
    for v in ["1", "2", "3", "4"] {
        assert_eq!(images(v), 2, "v{v} in both regions");
    }

    // Bad input: a clear error, nothing changed.
    w.fails(
        &["template", "prune", "old-env", "--keep", "0", "--yes"],
        1,
        "--keep 0",
    );
    w.fails(
        &["template", "prune", "no-such-env", "--keep", "1", "--yes"],
        1,
        "not found",
    );
    w.fails(
        &[
            "template",
            "prune",
            "old-env",
            "--keep",
            "1",
            "--older-than",
            "soon",
            "--yes",
        ],
        2,
        "--older-than",
    );
    w.fails(
        &["template", "prune", "old-env@2", "--keep", "1", "--yes"],
        1,
        "names one version",
    );

    let plan = w.json(&["template", "prune", "old-env", "--keep", "1", "--dry-run"]);
    let fate: Vec<(String, bool)> = plan["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["version"].as_str().unwrap().to_string(),
                d["delete"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        fate,
        [
            ("1".into(), false),
            ("2".into(), false),
            ("3".into(), true),
            ("4".into(), false)
        ],
        "{plan}"
    );
    let reason = |v: &str| {
        plan["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["version"] == v)
            .unwrap()["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(reason("4").contains("latest"), "{plan}");
    assert!(reason("2").contains("prune-v2"), "{plan}");
    assert!(reason("1").contains("--unused-for 30d"), "{plan}");
    assert!(
        plan["monthly_savings_usd"].as_f64().unwrap() > 0.0,
        "{plan}"
    );
    assert_eq!(plan["deletion"]["versions"], serde_json::json!(["3"]));
    for v in ["1", "2", "3", "4"] {
        assert_eq!(images(v), 2, "dry run changed nothing: v{v}");
    }

    // v1's launch is now older than --unused-for 1s: it goes too.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let out = w.ok(&[
        "template",
        "prune",
        "old-env",
        "--keep",
        "1",
        "--unused-for",
        "1s",
        "--yes",
    ]);
    assert!(out.contains("pruned old-env version(s) 1, 3"), "{out}");
    for (v, want) in [("1", 0), ("2", 2), ("3", 0), ("4", 2)] {
        assert_eq!(images(v), want, "v{v} after the prune");
    }
    assert_eq!(w.versions("old-env"), vec!["2", "4"]);
    // Nothing more to prune: says so, changes nothing.
    let again = w.json(&[
        "template",
        "prune",
        "old-env",
        "--keep",
        "1",
        "--unused-for",
        "1s",
        "--yes",
    ]);
    assert!(again["deletion"].is_null(), "{again}");
    assert_eq!(w.versions("old-env"), vec!["2", "4"]);
}

/// Deprecated versions are hidden from `templates` unless `--all`, and `T` never names one
/// (files written as a deprecation leaves them: moto cannot deprecate an image, see
/// `MOTO_LACKS`).
#[test]
fn deprecated_versions_are_hidden_unless_all_and_never_the_latest() {
    let w = World::new();
    let dir = w.home.path().join("templates");
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, v: u32, deprecation: &str| {
        std::fs::write(
            dir.join(format!("{name}@{v}.yaml")),
            format!("name: {name}\nversion: {v}\nbase: ubuntu-22.04\n{deprecation}"),
        )
        .unwrap();
    };
    let deprecated = "deprecation:\n  at: \"2001-01-01T00:00:00Z\"\n  replacement: old-env@1\n";
    file("old-env", 1, "");
    file("old-env", 2, deprecated);
    file("gone-env", 1, deprecated);
    let find = |list: &serde_json::Value, name: &str| {
        list["templates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
    };
    let list = w.json(&["templates"]);
    let old = find(&list, "old-env").expect("old-env listed");
    assert_eq!(old["version"], "1", "{old}");
    assert!(find(&list, "gone-env").is_none(), "{list}");

    let all = w.json(&["templates", "--all"]);
    let old = find(&all, "old-env").expect("old-env listed");
    assert_eq!(old["version"], "2", "{old}");
    assert_eq!(old["deprecated"], "2001-01-01T00:00:00Z", "{old}");
    assert_eq!(old["replacement"], "old-env@1", "{old}");
    assert!(find(&all, "gone-env").is_some(), "{all}");

    w.fails(
        &["launch", "gone-env", "g1"],
        1,
        "every version of template 'gone-env' is deprecated",
    );
}

/// `--copy-within` (EC2 time-based copy): the save's plan shows the deadline and the estimated
/// price per destination region; the save and `template copy` go through on moto, which
/// accepts CopyImage's `SnapshotCopyCompletionDurationMinutes` and ignores it (moto 5.x
/// `copy_image` reads only the source, name and description), so the copies exist. That the
/// parameter is sent is proven at the SDK boundary (`aws/tests/request_shapes.rs`); that the
/// copy is ready within the duration, on the fake (`cloud/tests/ec2_behaviour.rs`).
#[test]
fn a_deadline_copy_shows_its_price_and_reaches_every_region() {
    let w = World::new();
    w.ok(&["launch", "python-ml", "deadline"]);
    let save = [
        "save",
        "deadline",
        "dl-env",
        "--copy-to-regions",
        "us-west-2,eu-west-1",
        "--copy-within",
        "2h",
    ];
    let plan = w.json(&[&save[..], &["--dry-run"]].concat());
    let t = &plan["time_based_copy"];
    assert_eq!(t["within_minutes"], 120, "{plan}");
    let gib = plan["volume_gb"].as_i64().unwrap();
    assert_eq!(t["gib_per_region"], gib, "{plan}");
    let per = (gib as f64 * 0.02 * 100.0).round() / 100.0;
    let regions: Vec<(String, f64)> = t["per_region"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["region"].as_str().unwrap().to_string(),
                r["usd"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        regions,
        vec![
            ("us-west-2".to_string(), per),
            ("eu-west-1".to_string(), per)
        ],
        "{plan}"
    );
    assert!(
        t["price_source"].as_str().unwrap().contains("estimate"),
        "{plan}"
    );
    let shown = ok_all(&w, &[&save[..], &["--dry-run"]].concat());
    assert!(
        shown.contains("Time-based copy (--copy-within 2h): each region's copy is ready within 2h"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "{gib} GiB × $0.02/GiB per region: us-west-2 ${per:.2}, eu-west-1 ${per:.2}; total ${:.2}",
            per * 2.0
        )),
        "{shown}"
    );
    // Without the flag the plan has no time-based copy.
    let plain = w.json(&[
        "save",
        "deadline",
        "dl-env",
        "--copy-to-regions",
        "us-west-2",
        "--dry-run",
    ]);
    assert!(plain["time_based_copy"].is_null(), "{plain}");

    w.ok(&[&save[..], &["--yes"]].concat());
    for r in ["us-east-1", "us-west-2", "eu-west-1"] {
        assert_eq!(w.images(r, "dl-env", "1").len(), 1, "{r}");
    }
    // `template copy --copy-within` is charged: its plan (price, deadline) is shown and
    // confirmed first. A dry run and a refusal without --yes copy nothing.
    let copy = [
        "template",
        "copy",
        "dl-env",
        "--to-region",
        "eu-central-1",
        "--copy-within",
        "45m",
    ];
    let cplan = w.json(&[&copy[..], &["--dry-run"]].concat());
    assert_eq!(cplan["to_region"], "eu-central-1", "{cplan}");
    assert!(
        ["us-east-1", "us-west-2", "eu-west-1"].contains(&cplan["source_region"].as_str().unwrap()),
        "{cplan}"
    );
    assert_eq!(cplan["time_based_copy"]["within_minutes"], 45, "{cplan}");
    assert_eq!(
        cplan["time_based_copy"]["per_region"][0]["usd"].as_f64(),
        Some((cplan["size_gb"].as_f64().unwrap() * 0.02 * 100.0).round() / 100.0),
        "{cplan}"
    );
    w.fails(&copy, 1, "needs confirmation");
    assert_eq!(w.images("eu-central-1", "dl-env", "1").len(), 0);
    let out = ok_all(&w, &[&copy[..], &["--yes"]].concat());
    assert!(out.contains("Time-based copy (--copy-within 45m)"), "{out}");
    assert!(out.contains("per region: eu-central-1 $"), "{out}");
    assert_eq!(w.images("eu-central-1", "dl-env", "1").len(), 1);
}

/// `prism restore WS T@N --dry-run` against moto: the plan comes from what EC2 says — the
/// instance, its addresses, the root volume `DescribeVolumes` lists at its root device, the
/// version's image — and changes nothing. moto 5.2 has no replace-root-volume task, so the
/// restore itself is proven on the fake (`ops/tests/restore_logic.rs`) and the request by
/// `aws/tests/request_shapes.rs`.
#[test]
fn restore_plan_reads_the_workstation_and_its_root_volume_from_ec2() {
    let w = World::new();
    w.ok(&["launch", "python-ml", "rs-ws"]);
    w.ok(&["save", "rs-ws", "rs-env", "--yes"]);
    let i = instance_named(&w, "us-east-1", "rs-ws");
    let vols =
        w.rt.block_on(w.cloud.describe_volumes(
            "us-east-1",
            &prism_cloud::VolumeQuery {
                ids: vec![],
                instance_id: Some(i.id.clone()),
            },
        ))
        .unwrap();
    let root = vols
        .iter()
        .find(|v| v.device.is_some() && v.device == i.root_device_name)
        .unwrap_or_else(|| panic!("moto lists a root volume for {i:?}: {vols:?}"));
    let plan = w.json(&["restore", "rs-ws", "rs-env@1", "--dry-run"]);
    // A dry run prints the plan alone.
    let p = &plan;
    assert_eq!(p["instance_id"], i.id, "{plan}");
    assert_eq!(p["old_root_volume_id"], root.id.as_str(), "{plan}");
    assert_eq!(p["current"], "python-ml@1.0.0", "{plan}");
    assert_eq!(p["version"], "1", "{plan}");
    assert!(
        p["image_id"].as_str().unwrap().starts_with("ami-"),
        "{plan}"
    );
    assert_eq!(p["private_ip"].as_str(), i.private_ip.as_deref(), "{plan}");
    // Refused without --yes off a terminal, after showing the plan; nothing changed.
    w.fails(&["restore", "rs-ws", "rs-env@1"], 1, "--yes");
    let after = instance_named(&w, "us-east-1", "rs-ws");
    assert_eq!(after.image_id, i.image_id);
    assert_eq!(after.tags.get(tags::TEMPLATE), i.tags.get(tags::TEMPLATE));
}

/// Issue 10, item 7: a `GPU-*` size launches the template's GPU image (python-ml: the AWS
/// Deep Learning Base image, found by its `ami_config.gpu_image` search; the moto fixture
/// holds two x86_64 dates and an arm64 one) or is refused before anything is made, naming a
/// template that has one. A save of a GPU workstation is GPU-ready (file and image tag) and
/// launches with a GPU size; a save of a plain one does not.
#[test]
fn a_gpu_size_launches_a_gpu_image_or_is_refused_before_anything_is_made() {
    const DLAMI_NEWEST: &str = "ami-0b9c1a2f3e4d5c6b7";
    let w = World::new();
    let q = prism_cloud::GroupQuery {
        name: Some("prism-ssh".into()),
        ..Default::default()
    };

    // r-research has no GPU image: refused, naming python-ml; nothing exists afterwards.
    w.fails(
        &["launch", "r-research", "plain-gpu", "--size", "GPU-L", "--yes"],
        1,
        "size GPU-L needs an image with the NVIDIA driver and CUDA, and template 'r-research' has none",
    );
    let o = w.cmd(
        &["launch", "r-research", "plain-gpu", "--size", "gpu-l"],
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("error: size GPU-L needs an image with the NVIDIA driver and CUDA")
            && err.contains("hint: launch a template that has one (python-ml) with --size GPU-L"),
        "names a template with one: {err}"
    );
    assert!(w.instances("us-east-1").is_empty());
    assert!(
        w.rt.block_on(w.cloud.describe_security_groups("us-east-1", &q))
            .unwrap()
            .is_empty(),
        "no security group made"
    );
    let ops = w.json(&["operations"]);
    assert_eq!(ops["operations"].as_array().map(Vec::len), Some(0), "{ops}");

    // python-ml with a GPU size: the newest Deep Learning Base image, a GPU type, tagged.
    w.ok(&["launch", "python-ml", "gpu-box", "--size", "GPU-S"]);
    let i = instance_named(&w, "us-east-1", "gpu-box");
    assert_eq!(i.image_id, DLAMI_NEWEST);
    assert_eq!(i.instance_type, "g4dn.xlarge");
    assert_eq!(
        i.tags.get(tags::GPU_READY).map(String::as_str),
        Some("true")
    );
    // Without a GPU size the usual Ubuntu image, and no GPU tag.
    w.ok(&["launch", "python-ml", "cpu-box"]);
    let c = instance_named(&w, "us-east-1", "cpu-box");
    assert_eq!(c.image_id, "ami-0c7217cdde317cfec");
    assert_eq!(c.tags.get(tags::GPU_READY), None);

    // A save of the GPU workstation is GPU-ready: file, image tag, and a GPU launch of it
    // runs the saved image.
    w.ok(&["save", "gpu-box", "gpu-env", "--yes"]);
    let img = w.images("us-east-1", "gpu-env", "1");
    assert_eq!(img.len(), 1);
    assert_eq!(
        img[0].tags.get(tags::GPU_READY).map(String::as_str),
        Some("true")
    );
    let list = w.json(&["templates"]);
    let path = list["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "gpu-env")
        .expect("gpu-env listed")["path"]
        .as_str()
        .unwrap()
        .to_string();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("gpu_ready: true"), "{text}");
    assert!(
        !text.contains("gpu_image"),
        "the DLAMI search is not kept: {text}"
    );
    w.ok(&["launch", "gpu-env", "gpu-2", "--size", "GPU-M"]);
    let g2 = instance_named(&w, "us-east-1", "gpu-2");
    assert_eq!(g2.image_id, img[0].id);
    assert_eq!(g2.instance_type, "g4dn.2xlarge");
    assert_eq!(
        g2.tags.get(tags::GPU_READY).map(String::as_str),
        Some("true")
    );

    // A save of the plain workstation is not: a GPU launch of it is refused, naming the
    // templates that have one, and makes nothing.
    w.ok(&["save", "cpu-box", "cpu-env", "--yes"]);
    assert_eq!(
        w.images("us-east-1", "cpu-env", "1")[0]
            .tags
            .get(tags::GPU_READY),
        None
    );
    let before = w.instances("us-east-1").len();
    let o = w.cmd(&["launch", "cpu-env", "cpu-gpu", "--size", "GPU-XL"], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "template 'cpu-env' has none (it was saved from a workstation without a GPU image)"
        ),
        "{err}"
    );
    assert!(err.contains("gpu-env, python-ml"), "{err}");
    assert_eq!(w.instances("us-east-1").len(), before);
}

/// Issue 10, item 2: when the caller's address changed, `prism connect` sees that the
/// workstation's Prism security group no longer admits it, says so, and (with `--yes`; never
/// silently without a terminal) replaces the rule through `POST /v1/workstations/{name}/access`
/// — checked through DescribeSecurityGroups. ssh itself is pointed at a closed port on
/// 127.0.0.1 (`PRISM_TEST_CONNECT_ADDRESS`): no traffic leaves the machine.
#[test]
fn connect_offers_to_update_the_ssh_rule_when_the_callers_address_changed() {
    let w = World::new();
    let empty = tempfile::tempdir().unwrap();
    let home = empty.path().to_string_lossy().to_string();
    // Launched from 203.0.113.7 (the testkit's caller address).
    let o = w.cmd(&["launch", "python-ml", "roam"], &[("HOME", &home)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let q = prism_cloud::GroupQuery {
        name: Some("prism-ssh".into()),
        ..Default::default()
    };
    let rules = || {
        w.rt.block_on(w.cloud.describe_security_groups("us-east-1", &q))
            .unwrap()[0]
            .ingress
            .clone()
    };
    assert_eq!(
        rules(),
        vec![prism_cloud::IngressRule::ssh_from("203.0.113.7/32")]
    );
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ssh_at = format!("127.0.0.1:{closed}");
    let moved = [
        ("HOME", home.as_str()),
        ("PRISM_TEST_CALLER_ADDRESS", "198.51.100.9"),
        ("PRISM_TEST_CONNECT_ADDRESS", ssh_at.as_str()),
    ];

    // From the same address: nothing to say about the rule.
    let same = [
        moved[0],
        ("PRISM_TEST_CALLER_ADDRESS", "203.0.113.7"),
        moved[2],
    ];
    let o = w.cmd(&["connect", "roam", "--", "true"], &same);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("SSH to 'roam' is allowed"), "{err}");

    // From a new address without a terminal and without --yes: said, refused, unchanged.
    let o = w.cmd(&["connect", "roam", "--", "true"], &moved);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("SSH to 'roam' is allowed only from 203.0.113.7/32, not from your address 198.51.100.9/32"),
        "{err}"
    );
    assert!(err.contains("pass --yes"), "{err}");
    assert_eq!(
        rules(),
        vec![prism_cloud::IngressRule::ssh_from("203.0.113.7/32")]
    );

    // With --yes: the old rule is revoked and the new one authorized (only that one).
    let o = w.cmd(&["connect", "roam", "--yes", "--", "true"], &moved);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("updated: allowed from 198.51.100.9/32 (was 203.0.113.7/32)"),
        "{err}"
    );
    assert_eq!(
        rules(),
        vec![prism_cloud::IngressRule::ssh_from("198.51.100.9/32")]
    );
    // The next connect from there has nothing to change.
    let o = w.cmd(&["connect", "roam", "--", "true"], &moved);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("SSH to 'roam' is allowed"), "{err}");
    // --allow-from names the range to check instead of the detected address.
    let o = w.cmd(
        &[
            "connect",
            "roam",
            "--allow-from",
            "198.51.100.0/24",
            "--yes",
            "--",
            "true",
        ],
        &moved,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("updated: allowed from 198.51.100.0/24 (was 198.51.100.9/32)"),
        "{err}"
    );
    assert_eq!(
        rules(),
        vec![prism_cloud::IngressRule::ssh_from("198.51.100.0/24")]
    );
}
