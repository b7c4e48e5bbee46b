//! `prism connect` and `prism ssh-config`: reach a workstation with the system's OpenSSH.
//!
//! The daemon tells what EC2 says now (state, public address, key pair) and the template's
//! SSH user and service ports (`GET /v1/workstations/{name}/connection`); this module finds
//! the private key matching the key pair, and builds the `ssh` command with Prism's own
//! known-hosts file (trust on first use: `StrictHostKeyChecking=accept-new`).

use super::target;
use crate::args::{Cli, ConnectArgs, SshConfigArgs};
use crate::client::Client;
use crate::error::{CliError, CliResult};
use crate::output::{errln, outln, print, Format};
use prism_api::{Connection, WorkstationList};
use prism_daemon::Paths;
use std::path::{Path, PathBuf};

/// Test only: `HOST:PORT` that `connect` and `ssh-config` use instead of the workstation's
/// public address (the tests point it at an OpenSSH server on 127.0.0.1).
pub const TEST_ADDRESS_ENV: &str = "PRISM_TEST_CONNECT_ADDRESS";

/// Prism's known-hosts file, in its state directory.
pub fn known_hosts(paths: &Paths) -> PathBuf {
    paths.state_dir.join("known_hosts")
}

/// Where launch remembers the public keys given with `--key` (`KEY_NAME PATH` lines), so
/// connect finds the private key beside them.
fn remembered_keys(paths: &Paths) -> PathBuf {
    paths.state_dir.join("ssh-keys")
}

/// Prism's own key pair (private key; the public key is beside it with `.pub`).
pub fn own_key(paths: &Paths) -> PathBuf {
    paths.state_dir.join("ssh").join("id_ed25519")
}

/// Prism's own ed25519 key pair, created when missing (private key 0600 in the state
/// directory, public key beside it); returns the public key's path and whether it was created.
pub fn own_key_pair(paths: &Paths) -> CliResult<(PathBuf, bool)> {
    let private = own_key(paths);
    let public = private.with_extension("pub");
    if private.is_file() && public.is_file() {
        return Ok((public, false));
    }
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        CliError::refused(
            format!("cannot {what} Prism's SSH key {}: {e}", private.display()),
            Some("pass your own public key with --key PATH".to_string()),
        )
    };
    paths.ensure_state_dir().map_err(|e| fail("create", &e))?;
    let dir = private.parent().expect("the key lives in a directory");
    std::fs::create_dir_all(dir).map_err(|e| fail("create", &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| fail("create", &e))?;
    }
    let key =
        ssh_key::PrivateKey::random(&mut ssh_key::rand_core::OsRng, ssh_key::Algorithm::Ed25519)
            .map_err(|e| fail("generate", &e))?;
    let pem = key
        .to_openssh(ssh_key::LineEnding::LF)
        .map_err(|e| fail("encode", &e))?;
    let mut line = key
        .public_key()
        .to_openssh()
        .map_err(|e| fail("encode", &e))?;
    line.push_str(" prism\n");
    write_private(&private, &pem).map_err(|e| fail("write", &e))?;
    // 0600 like every file of the state directory (docs/SECURITY.md).
    write_private(&public, &line).map_err(|e| fail("write", &e))?;
    Ok((public, true))
}

/// Records that key pair `key_name` was made from the public key at `public` (best effort: a
/// failure only means connect will ask for `--identity`).
pub fn remember_key(key_name: &str, public: &Path) {
    let Ok(paths) = Paths::from_env() else { return };
    let Ok(public) = std::path::absolute(public) else {
        return;
    };
    let file = remembered_keys(&paths);
    let old = std::fs::read_to_string(&file).unwrap_or_default();
    let line = format!("{key_name} {}", public.display());
    if old.lines().any(|l| l == line) {
        return;
    }
    let _ = paths.ensure_state_dir();
    let mut text = old;
    text.push_str(&line);
    text.push('\n');
    let _ = write_private(&file, &text);
}

/// Writes `text` to `path` with mode 0600.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    o.mode(0o600);
    let mut f = o.open(path)?;
    f.write_all(text.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// The private keys that may match, in order: `~/.ssh/id_ed25519`, `~/.ssh/id_rsa`, Prism's
/// own key, then the keys launch was given.
fn candidates(paths: &Paths) -> Vec<PathBuf> {
    let mut c = vec![];
    if let Some(home) = std::env::var_os("HOME") {
        let ssh = Path::new(&home).join(".ssh");
        c.push(ssh.join("id_ed25519"));
        c.push(ssh.join("id_rsa"));
    }
    c.push(own_key(paths));
    let remembered = std::fs::read_to_string(remembered_keys(paths)).unwrap_or_default();
    for l in remembered.lines() {
        if let Some((_, p)) = l.split_once(' ') {
            c.push(PathBuf::from(p.strip_suffix(".pub").unwrap_or(p)));
        }
    }
    c
}

/// The key pair name of the public key beside `private` (`PRIVATE.pub`), if it is one.
fn key_name_of(private: &Path) -> Option<String> {
    let mut public = private.as_os_str().to_owned();
    public.push(".pub");
    let text = std::fs::read_to_string(PathBuf::from(public)).ok()?;
    prism_ops::access::parse_public_key(&text, "key")
        .ok()
        .map(|k| k.key_name)
}

/// The private key for key pair `key_name`: `--identity` when given (it must be readable),
/// else the first candidate whose public key has that name.
fn identity(paths: &Paths, key_name: &str, given: Option<&Path>) -> CliResult<PathBuf> {
    if let Some(p) = given {
        std::fs::File::open(p).map_err(|e| {
            CliError::refused(
                format!("cannot read private key {}: {e}", p.display()),
                Some("pass a readable private key with --identity PATH".to_string()),
            )
        })?;
        return Ok(p.to_path_buf());
    }
    candidates(paths)
        .into_iter()
        .find(|p| p.is_file() && key_name_of(p).as_deref() == Some(key_name))
        .ok_or_else(|| {
            CliError::refused(
                format!("no private key here matches the workstation's key pair {key_name}"),
                Some(
                    "pass the private key of the public key it was launched with: --identity PATH"
                        .to_string(),
                ),
            )
        })
}

/// The first `ssh` on PATH.
fn ssh_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("ssh"))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// Host and port to connect to: the test override, else the current public address.
fn address(c: &Connection) -> CliResult<(String, Option<u16>)> {
    if let Some(a) = std::env::var(TEST_ADDRESS_ENV)
        .ok()
        .filter(|a| !a.is_empty())
    {
        let bad = || {
            CliError::refused(
                format!("{TEST_ADDRESS_ENV}='{a}' is not HOST:PORT"),
                Some(format!("unset {TEST_ADDRESS_ENV} (it is for tests)")),
            )
        };
        let (h, p) = a.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = p.parse().map_err(|_| bad())?;
        return Ok((h.to_string(), Some(port)));
    }
    c.public_ip.clone().map(|ip| (ip, None)).ok_or_else(|| {
        CliError::refused(
            format!("workstation '{}' has no public address", c.name),
            Some(
                "it runs in a subnet without public IPv4 addresses; reach it through your VPN or a bastion"
                    .to_string(),
            ),
        )
    })
}

/// Refuses a workstation that is not running, saying what to do.
fn check_running(c: &Connection) -> CliResult {
    match c.state.as_str() {
        "running" => Ok(()),
        "stopped" | "stopping" => Err(CliError::refused(
            format!("workstation '{}' is {}", c.name, c.state),
            Some(format!("start it with: prism start {}", c.name)),
        )),
        "pending" => Err(CliError::refused(
            format!("workstation '{}' is still starting", c.name),
            Some("try again in a minute".to_string()),
        )),
        s => Err(CliError::refused(
            format!("workstation '{}' is {s}", c.name),
            Some("list workstations with: prism list".to_string()),
        )),
    }
}

/// Asks the daemon how to reach `name` (read from EC2 now).
async fn lookup(client: &Client, cli: &Cli, name: &str) -> CliResult<Connection> {
    let t = target(cli);
    let mut q = vec![];
    if let Some(r) = &t.region {
        q.push(("region", r.clone()));
    }
    if let Some(p) = &t.profile {
        q.push(("profile", p.clone()));
    }
    client
        .get_query(
            &format!(
                "/v1/workstations/{}/connection",
                crate::client::segment(name)
            ),
            &q,
        )
        .await
}

/// How known_hosts names `host` on `port`.
fn host_token(host: &str, port: Option<u16>) -> String {
    match port {
        Some(p) if p != 22 => format!("[{host}]:{p}"),
        _ => host.to_string(),
    }
}

/// Whether Prism's known-hosts file already holds a key for `token` (entries are written
/// unhashed: Prism passes `HashKnownHosts=no`).
fn host_known(file: &Path, token: &str) -> bool {
    std::fs::read_to_string(file).is_ok_and(|t| {
        t.lines()
            .filter_map(|l| l.split_whitespace().next())
            .any(|hosts| hosts.split(',').any(|h| h == token))
    })
}

/// Makes `file` hold exactly `keys` for `token` (other hosts' lines kept), 0600.
fn pin_host_keys(file: &Path, token: &str, keys: &[String]) -> std::io::Result<()> {
    let old = std::fs::read_to_string(file).unwrap_or_default();
    let mut text: String = old
        .lines()
        .filter(|l| {
            !l.split_whitespace()
                .next()
                .is_some_and(|hosts| hosts.split(',').any(|h| h == token))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    for k in keys {
        text.push_str(&format!("{token} {k}\n"));
    }
    write_private(file, &text)
}

/// What a forwarded service port is, for the URL line.
fn service_name(port: u16) -> &'static str {
    match port {
        8888 => "JupyterLab",
        8787 => "RStudio Server",
        _ => "service",
    }
}

/// `ssh` arguments (without the program) for `c`.
#[allow(clippy::too_many_arguments)]
fn ssh_args(
    c: &Connection,
    host: &str,
    port: Option<u16>,
    identity: Option<&Path>,
    known_hosts: &Path,
    forwards: &[(u16, u16)],
    extra: &[String],
) -> Vec<String> {
    let mut a: Vec<String> = vec![];
    if let Some(i) = identity {
        a.extend(["-i".into(), i.display().to_string()]);
        a.extend(["-o".into(), "IdentitiesOnly=yes".into()]);
    }
    if let Some(p) = port {
        a.extend(["-p".into(), p.to_string()]);
    }
    a.extend([
        "-o".into(),
        format!("UserKnownHostsFile={}", known_hosts.display()),
        "-o".into(),
        if c.host_keys.is_empty() {
            "StrictHostKeyChecking=accept-new".into()
        } else {
            "StrictHostKeyChecking=yes".into()
        },
        "-o".into(),
        "HashKnownHosts=no".into(),
    ]);
    for (l, r) in forwards {
        a.extend(["-L".into(), format!("{l}:localhost:{r}")]);
    }
    a.push(format!("{}@{host}", c.ssh_user));
    a.extend(extra.iter().cloned());
    a
}

/// Quotes `s` for a POSIX shell when it needs it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+%[]".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Checks that the workstation's Prism-managed security group admits SSH from the caller's
/// address (`--allow-from`, the config file's `allow_from`, else detected); when it does not,
/// says so and offers (`--yes` accepts) to replace the rule with that address.
async fn check_ssh_rule(client: &Client, cli: &Cli, a: &ConnectArgs, c: &Connection) -> CliResult {
    let Some(group) = &c.security_group_id else {
        return Ok(());
    };
    let file = crate::config::get();
    let (mine, from) = match a.allow_from.clone().or(file.allow_from.clone()) {
        Some(cidr) => (cidr, "given".to_string()),
        None => match crate::caller::detect().await {
            Ok(found) => found,
            Err(e) => {
                errln!("note: cannot check the SSH rule of '{}' ({e})", c.name);
                return Ok(());
            }
        },
    };
    if c.ssh_allowed_from
        .iter()
        .any(|r| prism_ops::access::cidr_covers(r, &mine))
    {
        return Ok(());
    }
    let now = if c.ssh_allowed_from.is_empty() {
        "from nowhere".to_string()
    } else {
        format!("only from {}", c.ssh_allowed_from.join(", "))
    };
    errln!(
        "SSH to '{}' is allowed {now}, not from your address {mine} ({from}): the connection would time out",
        c.name
    );
    let everywhere = if prism_ops::access::is_everywhere(&mine) {
        " — the whole internet"
    } else {
        ""
    };
    crate::prompt::confirm(
        &format!(
            "Replace the SSH rule of security group {group} ({}; every Prism workstation in its VPC uses it) with {mine}{everywhere}?",
            c.region
        ),
        a.yes,
    )?;
    let t = target(cli);
    let req = prism_api::AccessRequest {
        allow_from: mine.clone(),
        aws: prism_api::AwsTarget {
            profile: t.profile.clone(),
            region: Some(c.region.clone()),
        },
    };
    let done: prism_api::AccessChange = client
        .post(
            &format!(
                "/v1/workstations/{}/access",
                crate::client::segment(&c.name)
            ),
            &req,
        )
        .await?;
    errln!(
        "SSH rule of {} updated: allowed from {} (was {})",
        done.security_group_id,
        done.allow_from,
        if done.revoked.is_empty() {
            "none".to_string()
        } else {
            done.revoked.join(", ")
        }
    );
    Ok(())
}

/// `prism connect`.
pub async fn connect(cli: &Cli, a: &ConnectArgs) -> CliResult {
    let ssh = if a.print {
        None
    } else {
        Some(ssh_on_path().ok_or_else(|| {
            CliError::refused(
                "ssh (OpenSSH) was not found on PATH",
                Some("install the OpenSSH client (e.g. apt-get install openssh-client), or use --print to see the command".to_string()),
            )
        })?)
    };
    let client = Client::connect(true).await?;
    let c = lookup(&client, cli, &a.name).await?;
    check_running(&c)?;
    let (host, port) = address(&c)?;
    if !a.print {
        check_ssh_rule(&client, cli, a, &c).await?;
    }
    let paths = Paths::from_env().map_err(|e| CliError::refused(e, None))?;
    let ident = match &c.key_name {
        Some(k) => Some(identity(&paths, k, a.identity.as_deref())?),
        None => {
            errln!(
                "note: workstation '{}' was launched without an SSH key pair; ssh uses your own keys",
                c.name
            );
            a.identity.clone()
        }
    };
    let mut forwards: Vec<(u16, u16)> = vec![];
    if a.jupyter {
        if c.service_ports.is_empty() {
            return Err(CliError::refused(
                format!(
                    "workstation '{}' has no service ports (its template {} lists none)",
                    c.name,
                    c.template.as_deref().unwrap_or("is unknown and")
                ),
                Some("forward a port yourself with --port N".to_string()),
            ));
        }
        forwards.extend(c.service_ports.iter().map(|p| (*p, *p)));
    }
    for f in &a.ports {
        if !forwards.contains(f) {
            forwards.push(*f);
        }
    }
    let kh = known_hosts(&paths);
    let args = ssh_args(
        &c,
        &host,
        port,
        ident.as_deref(),
        &kh,
        &forwards,
        &a.ssh_args,
    );
    if a.print {
        let line = std::iter::once("ssh".to_string())
            .chain(args.iter().map(|s| shell_quote(s)))
            .collect::<Vec<_>>()
            .join(" ");
        let mut argv = vec!["ssh".to_string()];
        argv.extend(args);
        return print(
            cli.output,
            &serde_json::json!({ "command": line, "argv": argv }),
            |_| outln!("{line}"),
        );
    }
    paths
        .ensure_state_dir()
        .map_err(|e| CliError::refused(format!("cannot create the state directory: {e}"), None))?;
    if !kh.exists() {
        // Created 0600 here (ssh would make it 0644): every state file is 0600.
        write_private(&kh, "")
            .map_err(|e| CliError::refused(format!("cannot create {}: {e}", kh.display()), None))?;
    }
    let token = host_token(&host, port);
    if !c.host_keys.is_empty() {
        // The instance's own keys (its console output): ssh checks the server against them.
        pin_host_keys(&kh, &token, &c.host_keys)
            .map_err(|e| CliError::refused(format!("cannot write {}: {e}", kh.display()), None))?;
    } else if !host_known(&kh, &token) {
        errln!(
            "note: first connection to '{}' ({host}): its host key is accepted on first use and kept in {} (EC2 shows no host keys in its console output yet); a different key later is refused",
            c.name,
            kh.display()
        );
    }
    for (l, r) in &forwards {
        let what = if l == r {
            service_name(*r).to_string()
        } else {
            format!("port {r}")
        };
        errln!("{what}: open http://localhost:{l}");
    }
    let ssh = ssh.expect("checked above unless --print");
    if !c.host_keys.is_empty() {
        // ssh only; its exit code stays ours. Waits as long as the session lasts (the user's).
        let status = std::process::Command::new(ssh)
            .args(&args)
            .status()
            .map_err(|e| CliError::refused(format!("cannot run ssh: {e}"), None))?;
        if status.code() == Some(255) {
            errln!(
                "note: ssh checked the server's host key against the keys '{}' printed on its console (EC2 GetConsoleOutput); if it said \"Host key verification failed\", the server at {host} is not that instance: do not connect",
                c.name
            );
        }
        std::process::exit(status.code().unwrap_or(1));
    }
    let mut cmd = std::process::Command::new(ssh);
    cmd.args(&args);
    if cli.output == Format::Json {
        // Only the table format suits an interactive session; JSON is for --print.
        errln!("note: --output json applies to --print only");
    }
    run(cmd)
}

/// Replaces this process with ssh (its exit code becomes ours).
#[cfg(unix)]
fn run(mut cmd: std::process::Command) -> CliResult {
    use std::os::unix::process::CommandExt;
    let e = cmd.exec();
    Err(CliError::refused(format!("cannot run ssh: {e}"), None))
}

#[cfg(not(unix))]
fn run(mut cmd: std::process::Command) -> CliResult {
    let status = cmd
        .status()
        .map_err(|e| CliError::refused(format!("cannot run ssh: {e}"), None))?;
    std::process::exit(status.code().unwrap_or(255));
}

/// Marks around Prism's block in ~/.ssh/config.
const BEGIN: &str = "# >>> prism >>>";
const END: &str = "# <<< prism <<<";

/// One `Host` block for `c`.
fn host_block(
    c: &Connection,
    host: &str,
    port: Option<u16>,
    ident: Option<&Path>,
    kh: &Path,
) -> String {
    let mut b = format!(
        "Host {}\n    HostName {host}\n    User {}\n",
        c.name, c.ssh_user
    );
    if let Some(p) = port {
        b.push_str(&format!("    Port {p}\n"));
    }
    if let Some(i) = ident {
        b.push_str(&format!(
            "    IdentityFile \"{}\"\n    IdentitiesOnly yes\n",
            i.display()
        ));
    }
    b.push_str(&format!(
        "    UserKnownHostsFile \"{}\"\n    StrictHostKeyChecking accept-new\n    HashKnownHosts no\n",
        kh.display()
    ));
    b
}

/// `text` with its Prism block (between the marks) replaced by `block`, or `block` appended;
/// everything else kept byte for byte.
pub fn replace_block(text: &str, block: &str) -> String {
    let wrapped = format!("{BEGIN}\n{block}{END}\n");
    let start = text
        .match_indices(BEGIN)
        .map(|(i, _)| i)
        .find(|i| *i == 0 || text.as_bytes()[i - 1] == b'\n');
    if let Some(start) = start {
        if let Some(end_rel) = text[start..].find(END) {
            let mut end = start + end_rel + END.len();
            if text[end..].starts_with('\n') {
                end += 1;
            }
            return format!("{}{wrapped}{}", &text[..start], &text[end..]);
        }
    }
    let sep = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    format!("{text}{sep}{wrapped}")
}

/// `prism ssh-config`.
pub async fn ssh_config(cli: &Cli, a: &SshConfigArgs) -> CliResult {
    let client = Client::connect(true).await?;
    let t = target(cli);
    let mut q = vec![("refresh", "true".to_string())];
    if let Some(r) = &t.region {
        q.push(("region", r.clone()));
    }
    if let Some(p) = &t.profile {
        q.push(("profile", p.clone()));
    }
    let l: WorkstationList = client.get_query("/v1/workstations", &q).await?;
    let paths = Paths::from_env().map_err(|e| CliError::refused(e, None))?;
    let kh = known_hosts(&paths);
    let mut block = String::new();
    let mut hosts = vec![];
    for w in l.workstations.iter().filter(|w| w.state == "running") {
        let c = lookup(&client, cli, &w.name).await?;
        if c.state != "running" {
            continue;
        }
        let Ok((host, port)) = address(&c) else {
            errln!("note: '{}' has no public address; skipped", c.name);
            continue;
        };
        let ident = match &c.key_name {
            Some(k) => match identity(&paths, k, None) {
                Ok(p) => Some(p),
                Err(e) => {
                    errln!("note: '{}': {e}; its block has no IdentityFile", c.name);
                    None
                }
            },
            None => None,
        };
        block.push_str(&host_block(&c, &host, port, ident.as_deref(), &kh));
        hosts.push(serde_json::json!({ "name": c.name, "host_name": host, "user": c.ssh_user, "port": port, "identity_file": ident }));
    }
    if !a.write {
        return print(cli.output, &serde_json::json!({ "hosts": hosts }), |_| {
            if block.is_empty() {
                errln!("no running workstations");
            }
            print!("{block}");
        });
    }
    let home = std::env::var_os("HOME")
        .ok_or_else(|| CliError::refused("HOME is not set: cannot find ~/.ssh/config", None))?;
    let dir = Path::new(&home).join(".ssh");
    let file = dir.join("config");
    let old = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(CliError::refused(
                format!("cannot read {}: {e}", file.display()),
                None,
            ))
        }
    };
    let new = replace_block(&old, &block);
    let io = |e: std::io::Error| {
        CliError::refused(format!("cannot write {}: {e}", file.display()), None)
    };
    if !dir.exists() {
        std::fs::create_dir_all(&dir).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
    }
    if file.exists() {
        // Keep the file's own mode: write in place.
        std::fs::write(&file, new).map_err(io)?;
    } else {
        write_private(&file, &new).map_err(io)?;
    }
    print(
        cli.output,
        &serde_json::json!({ "file": file, "hosts": hosts }),
        |_| {
            outln!(
                "wrote {} host(s) to {} (between '{BEGIN}' and '{END}')",
                hosts.len(),
                file.display()
            )
        },
    )
}

/// `prism config show`.
pub fn config(cli: &Cli, c: &crate::args::ConfigCommand) -> CliResult {
    match c {
        crate::args::ConfigCommand::Show => {
            let loaded = crate::config::init()?;
            let settings = crate::config::settings(cli.region.as_deref(), cli.profile.as_deref());
            let file = loaded.path.as_ref().map(|p| p.display().to_string());
            print(
                cli.output,
                &serde_json::json!({ "file": file, "exists": loaded.exists, "settings": settings }),
                |_| {
                    outln!(
                        "config file: {}{}",
                        file.as_deref().unwrap_or("(no home directory)"),
                        if loaded.exists { "" } else { " (absent)" }
                    );
                    let mut t = crate::output::table(&["SETTING", "VALUE", "SOURCE"]);
                    for s in &settings {
                        t.add_row(vec![
                            s.name.clone(),
                            crate::output::dash(&s.value),
                            s.source.clone(),
                        ]);
                    }
                    println!("{t}");
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_is_replaced_not_duplicated_and_the_rest_kept() {
        let user = "Host other\n    User me\n";
        let once = replace_block(user, "Host a\n");
        assert_eq!(once, format!("{user}{BEGIN}\nHost a\n{END}\n"));
        let twice = replace_block(&once, "Host b\n");
        assert_eq!(twice, format!("{user}{BEGIN}\nHost b\n{END}\n"));
        let tail = format!("{once}Host after\n");
        assert_eq!(
            replace_block(&tail, "Host c\n"),
            format!("{user}{BEGIN}\nHost c\n{END}\nHost after\n")
        );
        assert_eq!(
            replace_block("no newline", "Host d\n"),
            format!("no newline\n{BEGIN}\nHost d\n{END}\n")
        );
    }

    #[test]
    fn known_hosts_entries_are_found_by_host_and_port() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("kh");
        std::fs::write(&f, "[127.0.0.1]:2222 ssh-ed25519 AAAA\n").unwrap();
        assert!(host_known(&f, &host_token("127.0.0.1", Some(2222))));
        assert!(!host_known(&f, &host_token("127.0.0.1", Some(22))));
        assert!(!host_known(&d.path().join("none"), "x"));
    }

    #[test]
    fn ports_to_forward_parse() {
        assert_eq!(crate::args::parse_forward("8888"), Ok((8888, 8888)));
        assert_eq!(crate::args::parse_forward("9999:8888"), Ok((9999, 8888)));
        assert!(crate::args::parse_forward("0").is_err());
        assert!(crate::args::parse_forward("x:1").is_err());
    }
}
