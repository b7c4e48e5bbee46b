//! `prism connect` and `prism ssh-config` against a **real OpenSSH server**: Debian's `sshd`
//! on 127.0.0.1, started by the test as a stand-in for the instance, authorizing the public key
//! Prism imported for the workstation. The workstation itself is launched on moto; only its
//! address is replaced (`PRISM_TEST_CONNECT_ADDRESS`): user, key, known-hosts file and ssh
//! options are the real path. Fails (never skips) when sshd, ssh or ssh-keygen is missing:
//! `scripts/test.sh` installs them.

use prism_testkit::Moto;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

fn need(tool: &str) -> PathBuf {
    let p = Path::new(tool);
    if p.is_absolute() {
        assert!(
            p.exists(),
            "{tool} is missing: install openssh-server (scripts/test.sh does)"
        );
        return p.to_path_buf();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{tool} is not on PATH: install openssh-client (scripts/test.sh does)")
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn whoami() -> String {
    let o = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// An sshd on 127.0.0.1 that is killed when dropped.
struct Sshd {
    child: Child,
    port: u16,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts sshd for `authorized` (a public key file) with a host key made here.
fn start_sshd(dir: &Path, authorized: &Path) -> Sshd {
    let host_key = dir.join("host_ed25519");
    let ok = Command::new(need("ssh-keygen"))
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&host_key)
        .status()
        .unwrap();
    assert!(ok.success());
    // sshd's privilege separation directory (Debian creates it from its service unit).
    std::fs::create_dir_all("/run/sshd").ok();
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "ListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\nStrictModes no\nPidFile none\n\
             PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             UsePAM no\nAllowTcpForwarding yes\nLogLevel VERBOSE\n",
            host_key.display(),
            authorized.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.join("sshd.log")).unwrap();
    let child = Command::new(SSHD)
        .args(["-D", "-e", "-f"])
        .arg(&config)
        .args(["-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start sshd");
    // Bounded: sshd listens within milliseconds; 10 s covers a loaded CI machine.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "sshd did not listen on {port}: {}",
            std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Sshd { child, port }
}

struct World {
    moto: Moto,
    prism_home: tempfile::TempDir,
    home: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl World {
    fn cmd(&self, args: &[&str], extra: &[(&str, &str)]) -> Command {
        let mut c = self
            .moto
            .prism_command(env!("CARGO_BIN_EXE_prism"), self.prism_home.path());
        c.env("HOME", self.home.path()).args(args);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        for (k, v) in extra {
            c.env(k, v);
        }
        c
    }

    fn run(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        self.cmd(args, extra).output().expect("run prism")
    }

    fn ok(&self, args: &[&str]) -> (String, String) {
        let o = self.run(args, &[]);
        let (out, err) = (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        );
        assert!(o.status.success(), "prism {args:?} failed: {err}\n{out}");
        (out, err)
    }

    fn fails(&self, args: &[&str], extra: &[(&str, &str)], fragment: &str) {
        let o = self.run(args, extra);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "prism {args:?}: {err}");
        assert!(
            err.contains(fragment),
            "prism {args:?}: stderr lacks {fragment:?}: {err}"
        );
    }
}

/// A TCP server that answers each connection's first message with `pong:` + it.
fn echo_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 64];
            if let Ok(n) = s.read(&mut buf) {
                let _ = s.write_all(&[b"pong:", &buf[..n]].concat());
            }
        }
    });
    port
}

#[test]
fn connect_runs_a_command_and_forwards_ports_through_real_openssh() {
    let ssh = need("ssh");
    need("ssh-keygen");
    need(SSHD);
    let moto = Moto::start();
    let w = World {
        moto,
        prism_home: tempfile::tempdir().unwrap(),
        home: tempfile::tempdir().unwrap(),
        env: vec![],
    };
    // The user's own key, found by launch in ~/.ssh and matched again by connect.
    let dot_ssh = w.home.path().join(".ssh");
    std::fs::create_dir_all(&dot_ssh).unwrap();
    let key = dot_ssh.join("id_ed25519");
    assert!(Command::new(need("ssh-keygen"))
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "me@laptop", "-f"])
        .arg(&key)
        .status()
        .unwrap()
        .success());
    // A template whose ssh_user is whoever runs the test (root on CI).
    let user = whoami();
    let tdir = w.prism_home.path().join("templates");
    std::fs::create_dir_all(&tdir).unwrap();
    std::fs::write(
        tdir.join("me-ml.yaml"),
        format!("name: me-ml\nbase: ubuntu-22.04\ninherits: [python-ml]\nami_config:\n  ssh_user: {user}\n"),
    )
    .unwrap();
    // allow_from comes from the config file (no flag).
    let xdg = w.home.path().join("xdg");
    std::fs::create_dir_all(xdg.join("prism")).unwrap();
    std::fs::write(
        xdg.join("prism").join("config.toml"),
        "allow_from = \"127.0.0.1/32\"\n",
    )
    .unwrap();
    let w = World {
        env: vec![("XDG_CONFIG_HOME".into(), xdg.to_string_lossy().into())],
        ..w
    };
    let (_, err) = w.ok(&["launch", "me-ml", "ws"]);
    assert!(!err.contains("SSH will not be reachable"), "{err}");

    // sshd authorizes exactly the key Prism imported: checked against EC2's key pair name.
    let sshd_dir = tempfile::tempdir().unwrap();
    let sshd = start_sshd(sshd_dir.path(), &dot_ssh.join("id_ed25519.pub"));
    let addr = format!("127.0.0.1:{}", sshd.port);
    let mut env = w.env.clone();
    env.push(("PRISM_TEST_CONNECT_ADDRESS".into(), addr.clone()));
    let w = World { env, ..w };

    // --print: the exact command, with user, key, known-hosts file and options.
    let (printed, _) = w.ok(&["connect", "ws", "--print"]);
    let kh = w.prism_home.path().join("state").join("known_hosts");
    for part in [
        format!("-i {}", key.display()),
        format!("-p {}", sshd.port),
        format!("UserKnownHostsFile={}", kh.display()),
        "StrictHostKeyChecking=accept-new".to_string(),
        format!("{user}@127.0.0.1"),
    ] {
        assert!(printed.contains(&part), "{part} not in {printed}");
    }
    let (jp, jerr) = w.ok(&["connect", "ws", "--jupyter", "--print"]);
    assert!(jp.contains("-L 8888:localhost:8888"), "{jp}{jerr}");

    // A command runs on the server; the first connection says the host key was accepted.
    let o = w.run(&["connect", "ws", "--", "echo", "hello"], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "connect failed: {err}\nsshd: {}",
        std::fs::read_to_string(sshd_dir.path().join("sshd.log")).unwrap_or_default()
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "hello\n");
    assert!(err.contains("accepted on first use"), "{err}");
    assert!(std::fs::read_to_string(&kh)
        .unwrap()
        .contains(&format!("[127.0.0.1]:{}", sshd.port)));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&kh).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let o = w.run(&["connect", "ws", "--", "echo", "again"], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "again\n", "{err}");
    assert!(!err.contains("accepted on first use"), "said twice: {err}");

    // --port LOCAL:REMOTE forwards while ssh runs a command: bytes flow through it.
    let remote = echo_server();
    let local = free_port();
    let mut child = w
        .cmd(
            &[
                "connect",
                "ws",
                "--port",
                &format!("{local}:{remote}"),
                "--",
                "sleep",
                "30",
            ],
            &[],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: ssh sets the forward up within a second; 15 s covers a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(15);
    let answer = loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut s = TcpStream::connect(("127.0.0.1", local))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"ping")?;
            let mut got = String::new();
            s.read_to_string(&mut got)?;
            Ok(got)
        })();
        match attempt {
            Ok(a) if !a.is_empty() => break a,
            _ if Instant::now() > deadline => {
                let _ = child.kill();
                let o = child.wait_with_output().unwrap();
                panic!(
                    "no forward on {local}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    };
    let _ = child.kill();
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        answer,
        "pong:ping",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!("open http://localhost:{local}")),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // ssh-config --write: a marked block, idempotent, the rest of the file kept; and plain
    // `ssh ws` works with it.
    let config = dot_ssh.join("config");
    let mine = "# my own\nHost elsewhere\n    User someone\n";
    std::fs::write(&config, mine).unwrap();
    w.ok(&["ssh-config", "--write"]);
    w.ok(&["ssh-config", "--write"]);
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.starts_with(mine), "{text}");
    assert_eq!(text.matches("Host ws\n").count(), 1, "{text}");
    assert_eq!(text.matches("# >>> prism >>>").count(), 1, "{text}");
    assert!(text.ends_with("# <<< prism <<<\n"), "{text}");
    let o = Command::new(&ssh)
        .args(["-F"])
        .arg(&config)
        .args(["-o", "BatchMode=yes", "ws", "echo", "via-config"])
        .env("HOME", w.home.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "via-config\n",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Without a config file: created 0600.
    std::fs::remove_file(&config).unwrap();
    w.ok(&["ssh-config", "--write"]);
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (printed, _) = w.ok(&["ssh-config"]);
    assert!(
        printed.contains("Host ws\n") && printed.contains(&format!("User {user}")),
        "{printed}"
    );

    // list names the address and how to connect.
    let (_, listed) = w.ok(&["list"]);
    assert!(listed.contains("prism connect ws"), "{listed}");

    // A save stops and starts the workstation: plan and summary say the address changes,
    // and connect by name still works afterwards.
    let o = w.run(&["save", "ws", "my-env", "--yes"], &[]);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("stop/start changes its public address"),
        "plan: {err}"
    );
    assert!(
        out.contains("stop/start changes its public address"),
        "summary: {out}"
    );
    let o = w.run(&["connect", "ws", "--", "echo", "after-save"], &[]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "after-save\n",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Refusals: no ssh on PATH, unknown name, stopped workstation.
    let empty = tempfile::tempdir().unwrap();
    w.fails(
        &["connect", "ws"],
        &[("PATH", &empty.path().to_string_lossy())],
        "ssh (OpenSSH) was not found on PATH",
    );
    w.fails(&["connect", "wz"], &[], "did you mean 'ws'");
    w.ok(&["stop", "ws"]);
    w.fails(&["connect", "ws"], &[], "prism start ws");
    drop(sshd);
}

/// Runs `prism` without a daemon or moto (config show needs neither).
fn prism_offline(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_prism"));
    c.args(args)
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn the_config_file_gives_defaults_that_env_and_flags_override() {
    let d = tempfile::tempdir().unwrap();
    let xdg = d.path().to_string_lossy().to_string();
    std::fs::create_dir_all(d.path().join("prism")).unwrap();
    let file = d.path().join("prism").join("config.toml");
    std::fs::write(
        &file,
        "key = \"~/.ssh/work.pub\"\nallow_from = \"203.0.113.7/32\"\nregion = \"eu-west-1\"\nprofile = \"lab\"\n\n[subnet]\neu-west-1 = \"subnet-0123abcd\"\n",
    )
    .unwrap();
    let show = |args: &[&str], env: &[(&str, &str)]| -> serde_json::Value {
        let mut a = vec!["config", "show", "--output", "json"];
        a.extend_from_slice(args);
        let mut e = vec![("XDG_CONFIG_HOME", xdg.as_str())];
        e.extend_from_slice(env);
        let o = prism_offline(&a, &e);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let get = |v: &serde_json::Value, name: &str| -> (String, String) {
        let s = v["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {v}"));
        (
            s["value"].as_str().unwrap_or("-").to_string(),
            s["source"].as_str().unwrap().to_string(),
        )
    };
    let v = show(&[], &[]);
    assert_eq!(v["file"], file.to_string_lossy().as_ref());
    assert_eq!(get(&v, "region"), ("eu-west-1".into(), "file".into()));
    assert_eq!(get(&v, "profile"), ("lab".into(), "file".into()));
    assert_eq!(
        get(&v, "allow_from"),
        ("203.0.113.7/32".into(), "file".into())
    );
    assert_eq!(get(&v, "key"), ("~/.ssh/work.pub".into(), "file".into()));
    assert_eq!(
        get(&v, "subnet.eu-west-1"),
        ("subnet-0123abcd".into(), "file".into())
    );
    let v = show(
        &[],
        &[("AWS_REGION", "eu-central-1"), ("AWS_PROFILE", "other")],
    );
    assert_eq!(
        get(&v, "region"),
        ("eu-central-1".into(), "env AWS_REGION".into())
    );
    assert_eq!(
        get(&v, "profile"),
        ("other".into(), "env AWS_PROFILE".into())
    );
    let v = show(
        &["--region", "ap-south-1", "--profile", "p2"],
        &[("AWS_REGION", "eu-central-1")],
    );
    assert_eq!(get(&v, "region"), ("ap-south-1".into(), "flag".into()));
    assert_eq!(get(&v, "profile"), ("p2".into(), "flag".into()));
    // No file: defaults.
    let empty = tempfile::tempdir().unwrap();
    let o = prism_offline(
        &["config", "show", "--output", "json"],
        &[("XDG_CONFIG_HOME", &empty.path().to_string_lossy())],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["exists"], false);
    assert_eq!(get(&v, "region"), ("-".into(), "default".into()));
    // A malformed file: a clear error naming the file and the line, for any command using it.
    std::fs::write(
        &file,
        "region = \"eu-west-1\"\nallow_from = 203.0.113.7/32\n",
    )
    .unwrap();
    for args in [&["config", "show"][..], &["list"][..]] {
        let o = prism_offline(args, &[("XDG_CONFIG_HOME", &xdg)]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(&format!("{}:2", file.display())), "{err}");
    }
}

/// An HTTP server answering every request with `body` (as checkip.amazonaws.com does).
fn checkip_server(body: &'static str) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    port
}

#[test]
fn without_allow_from_ssh_opens_to_the_callers_detected_address_only() {
    use prism_cloud::CloudFactory;
    let moto = Moto::start();
    let w = World {
        moto,
        prism_home: tempfile::tempdir().unwrap(),
        home: tempfile::tempdir().unwrap(),
        env: vec![],
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cloud = rt.block_on(async {
        let f = prism_aws::AwsCloudFactory::with_endpoint(&w.moto.endpoint).await;
        f.cloud(None).await.unwrap()
    });
    let group = || {
        let q = prism_cloud::GroupQuery {
            name: Some("prism-ssh".into()),
            ..Default::default()
        };
        rt.block_on(cloud.describe_security_groups("us-east-1", &q))
            .unwrap()
    };
    // The answer of the (local stand-in for) checkip.amazonaws.com becomes the only rule.
    let port = checkip_server("198.51.100.23\n");
    let url = format!("http://127.0.0.1:{port}/");
    let o = w
        .cmd(
            &["launch", "python-ml", "det-1"],
            &[("PRISM_TEST_CHECKIP_URL", &url)],
        )
        .env_remove("PRISM_TEST_CALLER_ADDRESS")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("SSH allowed from your address 198.51.100.23/32"),
        "{err}"
    );
    let g = group();
    assert_eq!(g.len(), 1);
    assert_eq!(
        g[0].ingress,
        vec![prism_cloud::IngressRule::ssh_from("198.51.100.23/32")]
    );
    // Detection fails (nothing listens): refused naming --allow-from, nothing launched.
    let dead = format!("http://127.0.0.1:{}/", free_port());
    let o = w
        .cmd(
            &["launch", "python-ml", "det-2"],
            &[("PRISM_TEST_CHECKIP_URL", &dead)],
        )
        .env_remove("PRISM_TEST_CALLER_ADDRESS")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot detect your public address") && err.contains("--allow-from"),
        "{err}"
    );
    // A garbage answer: refused too.
    let junk = format!("http://127.0.0.1:{}/", checkip_server("<html>hello</html>"));
    let o = w
        .cmd(
            &["launch", "python-ml", "det-2"],
            &[("PRISM_TEST_CHECKIP_URL", &junk)],
        )
        .env_remove("PRISM_TEST_CALLER_ADDRESS")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not an IP address"));
    // 0.0.0.0/0 only when given and confirmed.
    w.fails(
        &["launch", "python-ml", "det-2", "--allow-from", "0.0.0.0/0"],
        &[],
        "needs confirmation",
    );
    let (out, _) = w.ok(&["list", "--output", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        listed["workstations"].as_array().unwrap().len(),
        1,
        "{listed}"
    );
    let (_, err) = w.ok(&[
        "launch",
        "python-ml",
        "det-3",
        "--allow-from",
        "0.0.0.0/0",
        "--yes",
    ]);
    assert!(err.contains("whole internet"), "{err}");
    assert_eq!(
        group()[0].ingress,
        vec![prism_cloud::IngressRule::ssh_from("0.0.0.0/0")]
    );
}

/// Issue 10, item 4: where EC2's console output shows the instance's SSH host keys (cloud-init's
/// `-----BEGIN SSH HOST KEY KEYS-----` block), connect pins them in Prism's known-hosts file and
/// runs ssh with `StrictHostKeyChecking=yes`: the real sshd with that key is reached without a
/// trust-on-first-use note; a server whose key is not the console's is refused by ssh, and
/// Prism says what that means. The console text comes from `PRISM_TEST_CONSOLE_OUTPUT_FILE`
/// (test-only, read by the daemon instead of GetConsoleOutput).
#[test]
fn connect_checks_the_host_key_against_the_console_output() {
    need("ssh");
    let keygen = need("ssh-keygen");
    need(SSHD);
    let moto = Moto::start();
    let prism_home = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let dot_ssh = home.path().join(".ssh");
    std::fs::create_dir_all(&dot_ssh).unwrap();
    let key = dot_ssh.join("id_ed25519");
    assert!(Command::new(&keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "me@laptop", "-f"])
        .arg(&key)
        .status()
        .unwrap()
        .success());
    let user = whoami();
    let tdir = prism_home.path().join("templates");
    std::fs::create_dir_all(&tdir).unwrap();
    std::fs::write(
        tdir.join("me-ml.yaml"),
        format!("name: me-ml\nbase: ubuntu-22.04\ninherits: [python-ml]\nami_config:\n  ssh_user: {user}\n"),
    )
    .unwrap();
    let xdg = home.path().join("xdg");
    std::fs::create_dir_all(xdg.join("prism")).unwrap();
    std::fs::write(
        xdg.join("prism").join("config.toml"),
        "allow_from = \"127.0.0.1/32\"\n",
    )
    .unwrap();
    let console = home.path().join("console.txt");
    let sshd_dir = tempfile::tempdir().unwrap();
    let sshd = start_sshd(sshd_dir.path(), &dot_ssh.join("id_ed25519.pub"));
    let w = World {
        moto,
        prism_home,
        home,
        env: vec![
            ("XDG_CONFIG_HOME".into(), xdg.to_string_lossy().into()),
            (
                "PRISM_TEST_CONSOLE_OUTPUT_FILE".into(),
                console.to_string_lossy().into(),
            ),
            (
                "PRISM_TEST_CONNECT_ADDRESS".into(),
                format!("127.0.0.1:{}", sshd.port),
            ),
        ],
    };
    w.ok(&["launch", "me-ml", "ws"]);
    let console_with = |host_pub: &str| {
        let key = host_pub
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        std::fs::write(
            &console,
            format!("[   12.3] cloud-init[1]: boot\n-----BEGIN SSH HOST KEY KEYS-----\n{key} root@ip-10-0-0-1\n-----END SSH HOST KEY KEYS-----\n"),
        )
        .unwrap();
    };

    // The console shows the server's own key: strict checking, no first-use note.
    console_with(&std::fs::read_to_string(sshd_dir.path().join("host_ed25519.pub")).unwrap());
    let (printed, _) = w.ok(&["connect", "ws", "--print"]);
    assert!(printed.contains("StrictHostKeyChecking=yes"), "{printed}");
    let o = w.run(&["connect", "ws", "--", "echo", "hello"], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "connect failed: {err}\nsshd: {}",
        std::fs::read_to_string(sshd_dir.path().join("sshd.log")).unwrap_or_default()
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "hello\n");
    assert!(!err.contains("accepted on first use"), "{err}");

    // The console shows another key: ssh refuses the server, Prism says what it means.
    let other = tempfile::tempdir().unwrap();
    let other_key = other.path().join("k");
    assert!(Command::new(&keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other_key)
        .status()
        .unwrap()
        .success());
    console_with(&std::fs::read_to_string(other_key.with_extension("pub")).unwrap());
    let o = w.run(&["connect", "ws", "--", "echo", "hello"], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(255), "{err}");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "", "nothing ran: {err}");
    assert!(err.contains("Host key verification failed"), "{err}");
    assert!(
        err.contains("is not that instance: do not connect"),
        "{err}"
    );
    let kh = w.prism_home.path().join("state").join("known_hosts");
    let pinned = std::fs::read_to_string(kh).unwrap();
    assert_eq!(
        pinned.lines().count(),
        1,
        "only the console's key: {pinned}"
    );
}
