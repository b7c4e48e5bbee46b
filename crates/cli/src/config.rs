//! The config file: defaults a user sets once (`$XDG_CONFIG_HOME/prism/config.toml`, else
//! `~/.config/prism/config.toml`). Flags win over environment variables, which win over the
//! file, which wins over Prism's defaults. `prism config show` prints each effective value and
//! where it came from.
//!
//! ```toml
//! key = "~/.ssh/work_ed25519.pub"   # public key to install (launch --key)
//! allow_from = "203.0.113.7/32"     # SSH allowed from (launch --allow-from)
//! region = "us-west-2"              # --region
//! profile = "lab"                   # --profile
//! [subnet]                          # launch --subnet, per region
//! us-west-2 = "subnet-0123456789abcdef0"
//! ```

use crate::error::{CliError, CliResult};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The file's content.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// Public key to install (`launch --key`); `~/` is the home directory.
    pub key: Option<String>,
    /// CIDR allowed to reach SSH (`launch --allow-from`).
    pub allow_from: Option<String>,
    /// Subnet to launch in, per region (`launch --subnet`).
    #[serde(default)]
    pub subnet: BTreeMap<String, String>,
    /// Default region.
    pub region: Option<String>,
    /// Default AWS profile.
    pub profile: Option<String>,
}

/// The loaded file (default when there is none) and its path.
#[derive(Debug, Default, Clone)]
pub struct Loaded {
    /// Where it is (or would be).
    pub path: Option<PathBuf>,
    /// Whether it exists.
    pub exists: bool,
    /// Its values.
    pub file: File,
}

static LOADED: OnceLock<Loaded> = OnceLock::new();

/// Where the config file is: `$XDG_CONFIG_HOME/prism/config.toml`, else
/// `~/.config/prism/config.toml`.
pub fn path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("prism").join("config.toml"))
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// Parses and checks the file's text; errors name `path` and the line.
pub fn parse(text: &str, path: &Path) -> CliResult<File> {
    let bad = |line: Option<usize>, why: String| {
        let at = match line {
            Some(l) => format!("{}:{l}", path.display()),
            None => path.display().to_string(),
        };
        CliError::refused(
            format!("config file {at}: {why}"),
            Some("fix or remove it; the keys are key, allow_from, region, profile and [subnet] REGION = ID (see the README's Configuration)".to_string()),
        )
    };
    let f: File = toml::from_str(text).map_err(|e| {
        bad(
            e.span().map(|s| line_of(text, s.start)),
            e.message().trim().to_string(),
        )
    })?;
    let line_with = |needle: &str| text.lines().position(|l| l.contains(needle)).map(|i| i + 1);
    if let Some(c) = &f.allow_from {
        prism_ops::access::validate_cidr(c)
            .map_err(|e| bad(line_with("allow_from"), format!("allow_from: {e}")))?;
    }
    for (region, id) in &f.subnet {
        prism_ops::access::validate_subnet_id(id)
            .map_err(|e| bad(line_with(id), format!("subnet.{region}: {e}")))?;
    }
    Ok(f)
}

/// Loads the file once (missing: defaults). Called by `main` before a command runs.
pub fn init() -> CliResult<&'static Loaded> {
    if let Some(l) = LOADED.get() {
        return Ok(l);
    }
    let path = path();
    let loaded = match &path {
        None => Loaded::default(),
        Some(p) => match std::fs::read_to_string(p) {
            Ok(text) => Loaded {
                path: path.clone(),
                exists: true,
                file: parse(&text, p)?,
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Loaded {
                path: path.clone(),
                exists: false,
                file: File::default(),
            },
            Err(e) => {
                return Err(CliError::refused(
                    format!("cannot read config file {}: {e}", p.display()),
                    None,
                ))
            }
        },
    };
    Ok(LOADED.get_or_init(|| loaded))
}

/// The loaded file (defaults before [`init`] or without a file).
pub fn get() -> File {
    LOADED.get().map(|l| l.file.clone()).unwrap_or_default()
}

/// `~/x` → `$HOME/x`.
pub fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// One effective value and where it came from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Setting {
    /// Name as in the file (`subnet.REGION` per region).
    pub name: String,
    /// Value (`None`: unset).
    pub value: Option<String>,
    /// `flag`, `env NAME`, `file`, `aws config`, or `default`.
    pub source: String,
}

/// Picks the first set value of `(value, source)` pairs, else unset with `default`.
fn pick(name: &str, options: Vec<(Option<String>, String)>) -> Setting {
    options
        .into_iter()
        .find_map(|(v, src)| {
            v.filter(|v| !v.is_empty()).map(|v| Setting {
                name: name.to_string(),
                value: Some(v),
                source: src,
            })
        })
        .unwrap_or(Setting {
            name: name.to_string(),
            value: None,
            source: "default".into(),
        })
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

/// The effective profile: `--profile` (clap also fills it from `AWS_PROFILE`), else the file.
pub fn profile(flag: Option<&str>) -> Setting {
    let from_env = env("AWS_PROFILE");
    let flag_src = if flag.is_some() && flag.map(str::to_string) == from_env {
        "env AWS_PROFILE"
    } else {
        "flag"
    };
    pick(
        "profile",
        vec![
            (flag.map(str::to_string), flag_src.into()),
            (get().profile, "file".into()),
        ],
    )
}

/// The effective region: `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the file, then the
/// profile's region in the AWS config file.
pub fn region(flag: Option<&str>, profile: Option<&str>) -> Setting {
    // A flag is taken as given, even empty: the daemon refuses `--region ''` by name.
    if let Some(r) = flag {
        return Setting {
            name: "region".into(),
            value: Some(r.to_string()),
            source: "flag".into(),
        };
    }
    pick(
        "region",
        vec![
            (flag.map(str::to_string), "flag".into()),
            (env("AWS_REGION"), "env AWS_REGION".into()),
            (env("AWS_DEFAULT_REGION"), "env AWS_DEFAULT_REGION".into()),
            (get().region, "file".into()),
            (
                crate::region::resolve(None, profile),
                "aws config (profile's region)".into(),
            ),
        ],
    )
}

/// Every effective value, for `prism config show` (launch flags are not global, so key,
/// allow_from and subnet show file or default).
pub fn settings(flag_region: Option<&str>, flag_profile: Option<&str>) -> Vec<Setting> {
    let f = get();
    let p = profile(flag_profile);
    let r = region(flag_region, p.value.as_deref());
    let mut out = vec![
        pick("key", vec![(f.key.clone(), "file".into())]),
        pick("allow_from", vec![(f.allow_from.clone(), "file".into())]),
    ];
    for (region, id) in &f.subnet {
        out.push(Setting {
            name: format!("subnet.{region}"),
            value: Some(id.clone()),
            source: "file".into(),
        });
    }
    out.push(r);
    out.push(p);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_file_is_named_with_its_line() {
        let p = Path::new("/x/config.toml");
        let e = parse("region = \"us-east-1\"\nallow_from = [\n", p).unwrap_err();
        assert!(e.to_string().contains("/x/config.toml:2"), "{e}");
        let e = parse("regoin = \"us-east-1\"\n", p).unwrap_err();
        assert!(
            e.to_string().contains("/x/config.toml:1") && e.to_string().contains("regoin"),
            "{e}"
        );
        let e = parse("allow_from = \"1.2.3.4\"\n", p).unwrap_err();
        assert!(e.to_string().contains(":1: allow_from"), "{e}");
        let e = parse("[subnet]\nus-east-1 = \"subnet-XY\"\n", p).unwrap_err();
        assert!(e.to_string().contains(":2: subnet.us-east-1"), "{e}");
        let f = parse(
            "key = \"~/k.pub\"\nallow_from = \"10.0.0.0/8\"\nregion = \"eu-west-1\"\nprofile = \"lab\"\n[subnet]\neu-west-1 = \"subnet-0123abcd\"\n",
            p,
        )
        .unwrap();
        assert_eq!(f.subnet["eu-west-1"], "subnet-0123abcd");
        assert_eq!(f.region.as_deref(), Some("eu-west-1"));
    }
}
