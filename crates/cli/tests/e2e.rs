//! End-to-end tests: the real `prism` and `prismd` binaries against a moto EC2 server started
//! per test on a free loopback port. EC2 state is checked through EC2 itself (prism-aws).

use prism_cloud::{
    tags, Cloud, CloudFactory, ImageQuery, InstanceFilter, InstanceState, SnapshotQuery, Tags,
};
use prism_testkit::Moto;
use serde_json::Value;
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
    w.ok(&["launch", "my-env", "next-project", "--size", "GPU-L"]);
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
    assert!(
        next.instance_type.starts_with('g'),
        "GPU size gives a GPU type: {}",
        next.instance_type
    );

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
    let versions = w.json(&["template", "versions", "my-env"]);
    assert_eq!(versions, serde_json::json!(["1", "2"]));
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

/// One durable operation in the crash matrix: its kind, its steps, the steps with an
/// "acted" point (after the AWS call, before the journal), how to start it (`n` makes names
/// unique) and what must hold after the daemon is killed there and restarted.
struct CrashCase {
    kind: &'static str,
    steps: &'static [&'static str],
    acted: &'static [&'static str],
    setup: fn(&World),
    start: fn(&World, usize) -> Vec<String>,
    check: fn(&World, usize, &str),
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn no_setup(_: &World) {}

fn crashy_setup(w: &World) {
    w.ok(&["launch", "python-ml", "crashy"]);
}

fn copy_setup(w: &World) {
    w.ok(&["launch", "python-ml", "copy-src"]);
    for n in 0..8 {
        w.ok(&["save", "copy-src", &format!("copy-env-{n}"), "--yes"]);
    }
}

fn save_check(w: &World, n: usize, point: &str) {
    assert_eq!(
        w.instance_state("us-east-1", "crashy"),
        InstanceState::Running,
        "after {point}"
    );
    for r in ["us-east-1", "us-west-2"] {
        assert_eq!(
            w.images(r, &format!("crash-env-{n}"), "1").len(),
            1,
            "one image in {r} after {point}"
        );
    }
}

fn launch_check(w: &World, n: usize, point: &str) {
    assert_eq!(
        w.instance_state("us-east-1", &format!("l-crash-{n}")),
        InstanceState::Running,
        "one running instance after {point}"
    );
}

fn copy_check(w: &World, n: usize, point: &str) {
    assert_eq!(
        w.images("eu-west-1", &format!("copy-env-{n}"), "1").len(),
        1,
        "one copy after {point}"
    );
    let f = w
        .home
        .path()
        .join("templates")
        .join(format!("copy-env-{n}@1.yaml"));
    assert!(
        std::fs::read_to_string(f).unwrap().contains("eu-west-1"),
        "the template lists the copy after {point}"
    );
}

fn share_check(w: &World, n: usize, point: &str) {
    for r in ["us-east-1", "us-west-2"] {
        let img = &w.images(r, "share-env", "1")[0];
        let perms =
            w.rt.block_on(w.cloud.launch_permissions(r, &img.id))
                .unwrap();
        assert!(
            perms.accounts.contains(&share_account(n)),
            "{r} is shared with {} after {point}: {perms:?}",
            share_account(n)
        );
    }
}

fn delete_check(w: &World, n: usize, point: &str) {
    let version = (n + 1).to_string();
    assert!(
        w.images("us-east-1", "del-env", &version).is_empty(),
        "del-env@{version} has no image after {point}"
    );
    let left: Vec<_> = w
        .snapshots("us-east-1")
        .into_iter()
        .filter(|s| {
            s.tags.get(tags::SAVED_TEMPLATE).map(String::as_str) == Some("del-env")
                && s.tags.get(tags::SAVED_VERSION) == Some(&version)
        })
        .collect();
    assert!(
        left.is_empty(),
        "snapshots of del-env@{version} left after {point}: {left:?}"
    );
    let file = w
        .home
        .path()
        .join(format!("templates/del-env@{version}.yaml"));
    assert!(!file.exists(), "{} removed after {point}", file.display());
    // The next version is untouched.
    assert_eq!(
        w.images("us-east-1", "del-env", &(n + 2).to_string()).len(),
        1
    );
}

fn share_account(n: usize) -> String {
    format!("{}", 111_122_223_300u64 + n as u64)
}

fn stop_check(w: &World, n: usize, point: &str) {
    assert_eq!(
        w.instance_state("us-east-1", &format!("s-crash-{n}")),
        InstanceState::Stopped,
        "after {point}"
    );
}

/// The crash matrix: adding a durable operation is one line.
const CRASH_MATRIX: &[CrashCase] = &[
    CrashCase {
        kind: "save.v1",
        steps: &[
            "stop_instance",
            "wait_stopped",
            "create_image",
            "wait_snapshots",
            "start_instance",
            "wait_running",
            "wait_available",
            "tag_image",
            "copy_regions",
            "register",
            "share",
        ],
        acted: &[
            "stop_instance",
            "create_image",
            "start_instance",
            "copy_regions",
        ],
        setup: crashy_setup,
        start: |_, n| {
            s(&[
                "save",
                "crashy",
                &format!("crash-env-{n}"),
                "--copy-to-regions",
                "us-west-2",
                "--yes",
            ])
        },
        check: save_check,
    },
    CrashCase {
        kind: "launch.v1",
        steps: &["run_instance", "wait_running"],
        acted: &["run_instance"],
        setup: no_setup,
        start: |_, n| s(&["launch", "python-ml", &format!("l-crash-{n}")]),
        check: launch_check,
    },
    CrashCase {
        kind: "copy.v1",
        steps: &["copy", "register"],
        acted: &["copy"],
        setup: copy_setup,
        start: |_, n| {
            s(&[
                "template",
                "copy",
                &format!("copy-env-{n}"),
                "--to-region",
                "eu-west-1",
            ])
        },
        check: copy_check,
    },
    CrashCase {
        kind: "share.v1",
        steps: &["share"],
        acted: &["share"],
        setup: |w| {
            w.ok(&["launch", "python-ml", "share-src"]);
            w.ok(&[
                "save",
                "share-src",
                "share-env",
                "--copy-to-regions",
                "us-west-2",
                "--yes",
            ]);
        },
        start: |_, n| {
            s(&[
                "template",
                "share",
                "share-env",
                "--account",
                &share_account(n),
                "--yes",
            ])
        },
        check: share_check,
    },
    CrashCase {
        kind: "template-delete.v1",
        steps: &["deregister_images", "remove_files"],
        acted: &["deregister_images"],
        setup: |w| {
            w.ok(&["launch", "python-ml", "del-src"]);
            for _ in 0..6 {
                w.ok(&["save", "del-src", "del-env", "--yes"]);
            }
        },
        start: |_, n| s(&["template", "delete", &format!("del-env@{}", n + 1), "--yes"]),
        check: delete_check,
    },
    CrashCase {
        kind: "stop.v1",
        steps: &["request", "wait"],
        acted: &["request"],
        setup: |w| {
            for n in 0..6 {
                w.ok(&["launch", "python-ml", &format!("s-crash-{n}")]);
            }
        },
        start: |_, n| s(&["stop", &format!("s-crash-{n}")]),
        check: stop_check,
    },
];

/// Kills `prismd` with SIGKILL at every step boundary (and after each mutating AWS call,
/// before its result is journaled) of every durable operation, restarts it, and checks the
/// end state: the operation succeeds exactly once, nothing is duplicated or orphaned.
#[test]
fn crash_at_every_step_boundary_recovers_to_the_same_end_state() {
    let w = World::new();
    let mut covered = 0;
    let mut per_kind = vec![];
    for case in CRASH_MATRIX {
        (case.setup)(&w);
        let mut points: Vec<String> = vec![];
        for st in case.steps {
            points.push(format!("{}:{st}:started", case.kind));
            points.push(format!("{}:{st}:succeeded", case.kind));
        }
        for st in case.acted {
            points.push(format!("{}:{st}:acted", case.kind));
        }
        for (n, point) in points.iter().enumerate() {
            let _ = w.cmd(&["daemon", "stop"], &[]);
            let args = (case.start)(&w, n);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = w.cmd(&args, &[("PRISM_TEST_CRASH_AT", point)]);
            let err = String::from_utf8_lossy(&o.stderr).to_string();
            assert!(
                !o.status.success() && err.contains("cannot reach the daemon"),
                "the daemon should have died at {point}: {err}"
            );
            // The next command starts a clean daemon, which resumes the operation by itself.
            let ops = w.json(&["operations"]);
            let id = ops["operations"][0]["id"].as_str().unwrap().to_string();
            assert_eq!(ops["operations"][0]["kind"], case.kind);
            let o = w.cmd(&["operation", "follow", &id], &[]);
            assert!(
                o.status.success(),
                "resume after crash at {point}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            (case.check)(&w, n, point);
            covered += 1;
        }
        per_kind.push(format!("{} {}", case.kind, points.len()));
    }
    // No snapshot is unaccounted for: every one of ours belongs to an image.
    for r in ["us-east-1", "us-west-2", "eu-west-1"] {
        let used: Vec<String> = w
            .all_own_images(r)
            .into_iter()
            .flat_map(|i| i.snapshot_ids)
            .collect();
        for snap in w.snapshots(r) {
            if snap.tags.contains_key(tags::OPERATION)
                || snap.tags.contains_key(tags::SAVED_TEMPLATE)
            {
                assert!(
                    used.contains(&snap.id),
                    "orphan snapshot {} in {r}",
                    snap.id
                );
            }
        }
    }
    println!("crash points covered: {covered} ({})", per_kind.join(", "));
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

    // Public: moto lacks GetImageBlockPublicAccessState, so the plan warns and EC2 decides.
    let o = w.cmd(&["template", "share", "team-env", "--public", "--yes"], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("could not check block public access"), "{err}");
    assert!(perms("us-east-1", &east).public && perms("us-west-2", &west).public);
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
    assert_eq!(
        w.json(&["template", "versions", "cs229-env"]),
        serde_json::json!(["2"])
    );
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
