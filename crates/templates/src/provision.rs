//! The first-boot script a launch passes as EC2 user data: it installs what the template
//! lists (`packages`, `users`, `services`) and then runs the template's own
//! `ami_config.user_data_script`. A saved template's image already holds all of that, so it
//! gets only its own script.
//!
//! Everything taken from the template is checked and single-quoted: a template is data, and
//! must never be able to run a command it does not spell out in `user_data_script`.

use crate::model::Template;
use crate::text::printable;

/// EC2 refuses user data over 16 KiB (before base64).
pub const MAX_USER_DATA_BYTES: usize = 16 * 1024;
/// Where conda (Miniforge) goes when the template lists conda packages.
pub const CONDA_PREFIX: &str = "/opt/miniforge3";
/// The conda environment the template's conda and pip packages go into.
pub const CONDA_ENV: &str = "prism";
/// Where the script logs on the instance.
pub const LOG_FILE: &str = "/var/log/prism-provision.log";

const USER_SCRIPT_EOF: &str = "PRISM_USER_SCRIPT_EOF";
/// The script's second line. Constant on purpose: a comment quoting template text (its id
/// or version) would end at a line break in that text, and the rest would run as root.
pub const HEADER_COMMENT: &str = "# Written by Prism: installs what the template lists.";

/// Why a template cannot be turned into a first-boot script.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvisionError {
    /// A package, user, group or service name that is not safe to hand to a shell command.
    #[error("template '{}': {what} {value:?} is not allowed ({why})", printable(.template))]
    Unsafe {
        /// Template id.
        template: String,
        /// What it is (`package`, `user name`, ...).
        what: &'static str,
        /// The value.
        value: String,
        /// Why.
        why: &'static str,
    },
    /// A `users` or `services` entry without the fields it needs.
    #[error("template '{}': {what} entry {entry} is malformed: {why}", printable(.template))]
    Malformed {
        /// Template id.
        template: String,
        /// `users` or `services`.
        what: &'static str,
        /// The entry, as JSON.
        entry: String,
        /// What is missing or wrong.
        why: &'static str,
    },
    /// A `{{.name}}` placeholder whose parameter has no default: there is no value to use.
    #[error("template '{}': {}", printable(.template), printable(&.unresolved.to_string()))]
    Unresolved {
        /// Template id.
        template: String,
        /// The placeholder and where it is.
        unresolved: crate::params::Unresolved,
    },
    /// The script is larger than EC2 accepts.
    #[error("template '{}': its first-boot script is {bytes} bytes; EC2 accepts at most {MAX_USER_DATA_BYTES}", printable(.template))]
    TooLarge {
        /// Template id.
        template: String,
        /// Size.
        bytes: usize,
    },
}

/// Single-quotes `s` for a POSIX shell.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn unsafe_value(
    t: &Template,
    what: &'static str,
    value: &str,
    why: &'static str,
) -> ProvisionError {
    ProvisionError::Unsafe {
        template: t.id().to_string(),
        what,
        value: value.to_string(),
        why,
    }
}

/// A package spec (`numpy`, `python=3.11`, `pandas>=2`): printable, no whitespace, not an
/// option, at most 200 characters.
fn package<'a>(t: &Template, p: &'a str) -> Result<&'a str, ProvisionError> {
    if p.is_empty() || p.len() > 200 {
        return Err(unsafe_value(t, "package", p, "1-200 characters"));
    }
    if p.starts_with('-') {
        return Err(unsafe_value(
            t,
            "package",
            p,
            "it would be read as an option",
        ));
    }
    if p.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(unsafe_value(
            t,
            "package",
            p,
            "no spaces or control characters",
        ));
    }
    Ok(p)
}

/// A Linux user or group name: `[a-z_][a-z0-9_-]*`, at most 32 characters.
fn account<'a>(t: &Template, what: &'static str, n: &'a str) -> Result<&'a str, ProvisionError> {
    let mut chars = n.chars();
    let ok = n.len() <= 32
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(n)
    } else {
        Err(unsafe_value(
            t,
            what,
            n,
            "use [a-z_][a-z0-9_-]*, at most 32 characters",
        ))
    }
}

/// A systemd unit name: letters, digits, `@._-`.
fn unit<'a>(t: &Template, n: &'a str) -> Result<&'a str, ProvisionError> {
    let ok = !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._-".contains(c));
    if ok {
        Ok(n)
    } else {
        Err(unsafe_value(
            t,
            "service name",
            n,
            "letters, digits, '@', '.', '_' or '-'",
        ))
    }
}

fn malformed(
    t: &Template,
    what: &'static str,
    entry: &serde_json::Value,
    why: &'static str,
) -> ProvisionError {
    ProvisionError::Malformed {
        template: t.id().to_string(),
        what,
        entry: printable(&entry.to_string()),
        why,
    }
}

fn quoted(items: &[&str]) -> String {
    items.iter().map(|s| q(s)).collect::<Vec<_>>().join(" ")
}

/// The first-boot script for `t` (resolved: inheritance merged), or `None` when there is
/// nothing to do.
///
/// Placeholders (`{{.name}}`) take the defaults of the merged `parameters` (a parent's
/// default serves a child's placeholder); one left without a value is refused.
pub fn user_data(t: &Template) -> Result<Option<String>, ProvisionError> {
    let mut resolved = t.clone();
    let left = crate::params::resolve(&mut resolved);
    script(&resolved, left)
}

fn script(
    t: &Template,
    unresolved: Vec<crate::params::Unresolved>,
) -> Result<Option<String>, ProvisionError> {
    let own = t.ami_config.user_data_script.clone();
    let baked = t.is_saved() || t.package_manager.as_deref() == Some("ami");
    if baked || (t.packages.is_empty() && t.users.is_empty() && t.services.is_empty()) {
        return Ok(own);
    }
    if let Some(unresolved) = unresolved.into_iter().next() {
        return Err(ProvisionError::Unresolved {
            template: t.id().to_string(),
            unresolved,
        });
    }
    let system: Vec<&str> = t
        .packages
        .system
        .iter()
        .map(|p| package(t, p))
        .collect::<Result<_, _>>()?;
    let conda: Vec<&str> = t
        .packages
        .conda
        .iter()
        .map(|p| package(t, p))
        .collect::<Result<_, _>>()?;
    let pip: Vec<&str> = t
        .packages
        .pip
        .iter()
        .map(|p| package(t, p))
        .collect::<Result<_, _>>()?;
    let spack: Vec<&str> = t
        .packages
        .spack
        .iter()
        .map(|p| package(t, p))
        .collect::<Result<_, _>>()?;
    let login = t
        .ami_config
        .ssh_user
        .clone()
        .unwrap_or_else(|| "ubuntu".into());
    let login = account(t, "ssh user", &login)?.to_string();

    let mut s = String::new();
    let mut line = |l: &str| {
        s.push_str(l);
        s.push('\n');
    };
    line("#!/bin/bash");
    // Constant: no template text in comments, where a line break would end the comment.
    line(HEADER_COMMENT);
    line("set -euo pipefail");
    line(&format!("exec >>{LOG_FILE} 2>&1"));
    line("echo \"prism: provisioning started $(date -u +%FT%TZ)\"");
    // Users first: cheap and independent of the network, so they exist even if a download fails.
    for u in &t.users {
        let name = u
            .get("name")
            .and_then(|v| v.as_str())
            .ok_or_else(|| malformed(t, "users", u, "it needs a name"))?;
        let name = account(t, "user name", name)?;
        line(&format!(
            "id -u {0} >/dev/null 2>&1 || useradd -m -s /bin/bash {0}",
            q(name)
        ));
        let groups: Vec<&str> = match u.get("groups") {
            None | Some(serde_json::Value::Null) => vec![],
            Some(serde_json::Value::Array(g)) => g
                .iter()
                .map(|g| {
                    g.as_str()
                        .ok_or_else(|| malformed(t, "users", u, "groups must be names"))
                        .and_then(|g| account(t, "group name", g))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(malformed(t, "users", u, "groups must be a list")),
        };
        for g in groups {
            line(&format!(
                "getent group {0} >/dev/null || groupadd {0}",
                q(g)
            ));
            line(&format!("usermod -aG {} {}", q(g), q(name)));
        }
    }
    if !system.is_empty() {
        line("if command -v apt-get >/dev/null; then");
        line("  export DEBIAN_FRONTEND=noninteractive");
        line("  apt-get update -y");
        line(&format!(
            "  apt-get install -y --no-install-recommends {}",
            quoted(&system)
        ));
        line("elif command -v dnf >/dev/null; then");
        line(&format!("  dnf install -y {}", quoted(&system)));
        line("else");
        line("  echo 'prism: no apt-get or dnf: system packages not installed' >&2; exit 1");
        line("fi");
    }
    if !conda.is_empty() || !pip.is_empty() {
        line(&format!("if [ ! -x {CONDA_PREFIX}/bin/conda ]; then"));
        line("  curl -fsSL -o /tmp/miniforge.sh \"https://github.com/conda-forge/miniforge/releases/latest/download/Miniforge3-Linux-$(uname -m).sh\"");
        line(&format!("  bash /tmp/miniforge.sh -b -p {CONDA_PREFIX}"));
        line("  rm -f /tmp/miniforge.sh");
        line("fi");
        let mut create = vec![];
        if !conda.is_empty() {
            create.extend(conda.iter().copied());
        } else {
            create.push("python");
        }
        if !pip.is_empty() && !create.iter().any(|p| *p == "pip" || p.starts_with("pip=")) {
            create.push("pip");
        }
        line(&format!(
            "{CONDA_PREFIX}/bin/conda create -y -n {CONDA_ENV} {}",
            quoted(&create)
        ));
        if !pip.is_empty() {
            line(&format!(
                "{CONDA_PREFIX}/envs/{CONDA_ENV}/bin/pip install {}",
                quoted(&pip)
            ));
        }
        line(&format!(
            "echo 'export PATH={CONDA_PREFIX}/envs/{CONDA_ENV}/bin:$PATH' > /etc/profile.d/prism-conda.sh"
        ));
    }
    if !spack.is_empty() {
        line(&format!(
            "echo 'prism: spack packages are not installed automatically:' {} >&2",
            quoted(&spack)
        ));
    }
    for svc in &t.services {
        let name = svc
            .get("name")
            .and_then(|v| v.as_str())
            .ok_or_else(|| malformed(t, "services", svc, "it needs a name"))?;
        let name = unit(t, name)?;
        let enable = svc.get("enable").and_then(|v| v.as_bool()).unwrap_or(true);
        if !enable {
            continue;
        }
        let port = match svc.get("port") {
            None | Some(serde_json::Value::Null) => None,
            Some(p) => Some(
                p.as_u64()
                    .filter(|p| (1..=65535).contains(p))
                    .ok_or_else(|| malformed(t, "services", svc, "port must be 1-65535"))?,
            ),
        };
        if name == "jupyter" && (!conda.is_empty() || !pip.is_empty()) {
            // Listens on the loopback only: reach it with ssh -L PORT:localhost:PORT.
            let port = port.unwrap_or(8888);
            line("cat > /etc/systemd/system/prism-jupyter.service <<'PRISM_UNIT_EOF'");
            line("[Unit]");
            line("Description=JupyterLab (Prism)");
            line("After=network-online.target");
            line("[Service]");
            line(&format!("User={login}"));
            line(&format!("WorkingDirectory=/home/{login}"));
            line(&format!(
                "ExecStart={CONDA_PREFIX}/envs/{CONDA_ENV}/bin/jupyter lab --ip=127.0.0.1 --port={port} --no-browser"
            ));
            line("Restart=on-failure");
            line("[Install]");
            line("WantedBy=multi-user.target");
            line("PRISM_UNIT_EOF");
            line("systemctl daemon-reload");
            line("systemctl enable --now prism-jupyter.service");
        } else {
            line(&format!(
                "if systemctl list-unit-files {0}.service >/dev/null 2>&1; then systemctl enable --now {0}; else echo 'prism: service' {0} 'is not installed; install it, then: systemctl enable --now' {0} >&2; fi",
                q(name)
            ));
        }
    }
    if let Some(script) = &own {
        if script.lines().any(|l| l == USER_SCRIPT_EOF) {
            return Err(unsafe_value(
                t,
                "user_data_script line",
                USER_SCRIPT_EOF,
                "Prism uses it to embed the script",
            ));
        }
        line("mkdir -p /var/lib/prism");
        line(&format!(
            "cat > /var/lib/prism/user-data-script <<'{USER_SCRIPT_EOF}'"
        ));
        s.push_str(script);
        if !script.ends_with('\n') {
            s.push('\n');
        }
        let mut line = |l: &str| {
            s.push_str(l);
            s.push('\n');
        };
        line(USER_SCRIPT_EOF);
        line("chmod 700 /var/lib/prism/user-data-script");
        line("/var/lib/prism/user-data-script");
        line("echo \"prism: provisioning finished $(date -u +%FT%TZ)\"");
    } else {
        line("echo \"prism: provisioning finished $(date -u +%FT%TZ)\"");
    }
    if s.len() > MAX_USER_DATA_BYTES {
        return Err(ProvisionError::TooLarge {
            template: t.id().to_string(),
            bytes: s.len(),
        });
    }
    Ok(Some(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;

    fn bash_syntax_ok(script: &str) {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.sh");
        std::fs::write(&f, script).unwrap();
        let o = std::process::Command::new("bash")
            .arg("-n")
            .arg(&f)
            .output()
            .expect("bash is installed");
        assert!(
            o.status.success(),
            "bash -n: {}\n{script}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    #[test]
    fn every_builtin_gets_a_script_bash_accepts() {
        let c = Catalogue::load(None);
        for e in c.latest() {
            let s = user_data(&e.template).unwrap();
            if let Some(s) = s {
                bash_syntax_ok(&s);
                assert!(s.len() <= MAX_USER_DATA_BYTES);
            }
        }
        let ml = c.get("python-ml").unwrap();
        let s = user_data(&ml.template).unwrap().unwrap();
        assert!(
            s.contains("apt-get install -y --no-install-recommends 'build-essential'"),
            "{s}"
        );
        assert!(s.contains("conda create -y -n prism 'python=3.11'"), "{s}");
        assert!(s.contains("bin/pip install 'seaborn' 'plotly'"), "{s}");
        assert!(s.contains("usermod -aG 'sudo' 'ubuntu'"), "{s}");
        assert!(s.contains("jupyter lab --ip=127.0.0.1 --port=8888"), "{s}");
        let at = |needle: &str| s.find(needle).unwrap();
        assert!(at("usermod") < at("apt-get"), "users before downloads: {s}");
        let r = c.get("r-research").unwrap();
        let s = user_data(&r.template).unwrap().unwrap();
        assert!(s.contains("systemctl enable --now 'rstudio-server'"), "{s}");
    }

    #[test]
    fn a_saved_template_gets_only_its_own_script() {
        let mut t = Catalogue::load(None)
            .get("python-ml")
            .unwrap()
            .template
            .clone();
        t.package_manager = Some("ami".into());
        assert_eq!(user_data(&t).unwrap(), None);
        t.ami_config.user_data_script = Some("#!/bin/sh\necho hi\n".into());
        assert_eq!(
            user_data(&t).unwrap().as_deref(),
            Some("#!/bin/sh\necho hi\n")
        );
    }

    #[test]
    fn the_template_s_own_script_runs_last_verbatim() {
        let mut t = Catalogue::load(None)
            .get("python-ml")
            .unwrap()
            .template
            .clone();
        t.ami_config.user_data_script = Some("#!/bin/bash\necho \"it's $HOME\"\n".into());
        let s = user_data(&t).unwrap().unwrap();
        bash_syntax_ok(&s);
        assert!(
            s.contains("echo \"it's $HOME\"\nPRISM_USER_SCRIPT_EOF\n"),
            "{s}"
        );
        assert!(
            s.trim_end().ends_with("finished $(date -u +%FT%TZ)\""),
            "{s}"
        );
        t.ami_config.user_data_script = Some("PRISM_USER_SCRIPT_EOF\nrm -rf /\n".into());
        assert!(user_data(&t).is_err());
    }

    /// Lines of `s` that are shell comments (the user's own script excluded).
    fn comments(s: &str) -> Vec<&str> {
        s.split(&format!("<<'{USER_SCRIPT_EOF}'"))
            .next()
            .unwrap()
            .lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .collect()
    }

    #[test]
    fn template_text_never_reaches_a_comment() {
        // Weird but valid: the parser accepts this id, display name and version.
        let yaml = "name: \"It's $(id) `id` # ; \\\\ \\\"q\\\"\"\nslug: odd.name_1-x\nversion: \"2.0 'x' $(touch /tmp/p) `id`; # \\\\\"\nbase: ubuntu-22.04\npackages:\n  system: [vim]\n  spack: [\"gcc@12\"]\nservices:\n  - name: web\n";
        let t = crate::parse_template(yaml, "odd.yaml").unwrap().template;
        let version = t.version.clone().unwrap();
        assert!(version.contains("$(touch"), "{version}");
        let s = user_data(&t).unwrap().unwrap();
        assert_eq!(comments(&s), vec!["#!/bin/bash", HEADER_COMMENT], "{s}");
        for text in [t.id(), t.display_name(), &version] {
            assert!(!s.contains(text), "{text:?} is in the script:\n{s}");
        }
        bash_syntax_ok(&s);
    }

    #[test]
    fn a_line_break_in_the_version_cannot_add_a_command() {
        // Not through the parser (which refuses it): the generator holds on its own.
        let mut t = Catalogue::load(None)
            .get("python-ml")
            .unwrap()
            .template
            .clone();
        t.version = Some("1\ntouch /tmp/pwned\n".into());
        t.name = "x\nrm -rf /tmp/pwned\n".into();
        t.slug = Some("python-ml".into());
        let s = user_data(&t).unwrap().unwrap();
        assert!(!s.contains("pwned"), "{s}");
        assert_eq!(comments(&s), vec!["#!/bin/bash", HEADER_COMMENT], "{s}");
        assert_eq!(s.lines().nth(2), Some("set -euo pipefail"), "{s}");
        bash_syntax_ok(&s);
    }

    #[test]
    fn nothing_from_the_template_reaches_the_shell_unquoted() {
        let base = Catalogue::load(None)
            .get("python-ml")
            .unwrap()
            .template
            .clone();
        type Change = Box<dyn Fn(&mut Template)>;
        let cases: Vec<(Change, &str)> = vec![
            (
                Box::new(|t| t.packages.system.push("vim; rm -rf /".into())),
                "no spaces",
            ),
            (
                Box::new(|t| t.packages.pip.push("-i http://evil".into())),
                "option",
            ),
            (
                Box::new(|t| t.packages.conda.push("a\nb".into())),
                "no spaces",
            ),
            (
                Box::new(|t| t.users.push(serde_json::json!({"name": "root;id"}))),
                "user name",
            ),
            (
                Box::new(|t| {
                    t.users
                        .push(serde_json::json!({"name": "bob", "groups": ["wheel$(id)"]}))
                }),
                "group name",
            ),
            (
                Box::new(|t| t.users.push(serde_json::json!({"groups": ["x"]}))),
                "needs a name",
            ),
            (
                Box::new(|t| t.services.push(serde_json::json!({"name": "x y"}))),
                "service name",
            ),
            (
                Box::new(|t| {
                    t.services
                        .push(serde_json::json!({"name": "x", "port": 70000}))
                }),
                "port",
            ),
        ];
        for (change, frag) in cases {
            let mut t = base.clone();
            change(&mut t);
            let e = user_data(&t).expect_err(frag).to_string();
            assert!(e.contains(frag), "{frag}: {e}");
        }
        // A quote inside an allowed value stays inside its quotes.
        let mut t = base.clone();
        t.packages.pip.push("it's".into());
        let s = user_data(&t).unwrap().unwrap();
        assert!(s.contains(r"'it'\''s'"), "{s}");
        bash_syntax_ok(&s);
    }
}
