//! launch, list, stop, start, delete.

use super::{finish, target};
use crate::args::{Cli, DeleteArgs, LaunchArgs, ListArgs, NameArgs};
use crate::client::Client;
use crate::error::{CliError, CliResult};
use crate::output::{dash, errln, outln, print, table};
use crate::prompt::confirm;
use prism_api::{LaunchRequest, Submitted, WorkstationAction, WorkstationList};

/// `prism launch`.
pub async fn launch(cli: &Cli, a: &LaunchArgs) -> CliResult {
    // Flags first, then the config file.
    let file = crate::config::get();
    let key_path = a
        .key
        .clone()
        .or_else(|| file.key.as_deref().map(crate::config::expand_home));
    let (key, notes) = ssh_key(key_path.as_deref())?;
    let aws = target(cli);
    let mut notes = notes;
    let allow_from = match a.allow_from.clone().or(file.allow_from.clone()) {
        Some(c) => c,
        None => {
            let (cidr, from) = crate::caller::detect().await?;
            notes.push(format!(
                "SSH allowed from your address {cidr} (asked {from}); choose with --allow-from or allow_from in the config file"
            ));
            cidr
        }
    };
    if prism_ops::access::is_everywhere(&allow_from) {
        confirm(
            &format!("Open SSH (22) to the whole internet ({allow_from})?"),
            a.yes,
        )?;
    }
    let allow_from = Some(allow_from);
    let subnet = a.subnet.clone().or_else(|| {
        aws.region
            .as_ref()
            .and_then(|r| file.subnet.get(r).cloned())
    });
    let c = Client::connect(true).await?;
    let req = LaunchRequest {
        template: a.template.clone(),
        name: a.name.clone(),
        size: a.size.clone(),
        arch: a.arch.clone(),
        project: a.project.clone(),
        aws,
        ssh_public_key: key.as_ref().map(|(_, text)| text.clone()),
        allow_from: allow_from.clone(),
        subnet_id: subnet,
        over_budget: a.over_budget,
    };
    let sub: Submitted = c.post("/v1/workstations", &req).await?;
    if let Some((path, text)) = &key {
        if let Ok(k) = prism_ops::access::parse_public_key(text, "key") {
            super::connect::remember_key(&k.key_name, path);
        }
    }
    if let Some(p) = &a.project {
        if let Some(w) = super::projects::budget_warning(&c, cli, p).await {
            errln!("warning: {w}");
        }
    }
    if cli.output == crate::output::Format::Table && !a.detach {
        errln!(
            "launching '{}' from template '{}' ({})",
            a.name,
            a.template,
            sub.operation.id
        );
        if let Some((path, _)) = &key {
            errln!("SSH key: {}", path.display());
        }
        for n in &notes {
            errln!("note: {n}");
        }
        for w in prism_ops::access::warnings(key.is_some(), allow_from.as_deref()) {
            errln!("warning: {w}");
        }
    }
    if !a.detach {
        // A pinned deprecated version launches (EC2 launches a deprecated image by id), with
        // a warning naming its replacement.
        let path = format!("/v1/templates/{}", crate::client::segment(&a.template));
        if let Ok(d) = c.get::<prism_api::TemplateDetail>(&path).await {
            if let Ok(t) = serde_json::from_value::<prism_templates::Template>(d.template) {
                if let Some(w) = prism_ops::deprecate::launch_warning(&t) {
                    errln!("warning: {w}");
                }
            }
        }
    }
    finish(&c, cli.output, sub, a.detach, |op| {
        let r = op.result.clone().unwrap_or_default();
        outln!(
            "workstation '{}' is running: {} in {} ({}), public IP {}",
            a.name,
            r["instance_id"].as_str().unwrap_or("?"),
            r["region"].as_str().unwrap_or("?"),
            r["instance_type"].as_str().unwrap_or("?"),
            r["public_ip"].as_str().unwrap_or("-")
        );
    })
    .await
}

/// Default public keys, in order of preference (`~/.ssh/…`). ECDSA keys are passed over:
/// EC2 key pairs accept RSA and ED25519 only ("ImportKeyPair", EC2 API Reference).
const DEFAULT_KEYS: &[&str] = &["id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"];

/// The SSH public key to install: `--key PATH` (unreadable or not a key: refused), else the
/// first default key that EC2 accepts; with notes on keys passed over.
#[allow(clippy::type_complexity)]
fn ssh_key(
    given: Option<&std::path::Path>,
) -> Result<(Option<(std::path::PathBuf, String)>, Vec<String>), CliError> {
    let check = |path: &std::path::Path, text: &str| {
        prism_ops::access::parse_public_key(text, &path.display().to_string())
            .map_err(|e| CliError::refused(e.to_string(), hint_of(&e)))
    };
    if let Some(path) = given {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::refused(
                format!("cannot read SSH public key {}: {e}", path.display()),
                Some("pass a readable .pub file with --key PATH".to_string()),
            )
        })?;
        check(path, &text)?;
        return Ok((Some((path.to_path_buf(), text.trim().to_string())), vec![]));
    }
    let mut notes = Vec::new();
    let Some(home) = std::env::var_os("HOME") else {
        return Ok((None, notes));
    };
    let dir = std::path::Path::new(&home).join(".ssh");
    for name in DEFAULT_KEYS {
        let path = dir.join(name);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if name.contains("ecdsa") {
            notes.push(format!(
                "{} passed over: EC2 key pairs accept ed25519 and RSA keys only",
                path.display()
            ));
            continue;
        }
        check(&path, &text)?;
        return Ok((Some((path, text.trim().to_string())), notes));
    }
    // None of the user's own: Prism's own key pair, created once.
    let paths = prism_daemon::Paths::from_env().map_err(|e| CliError::refused(e, None))?;
    let (public, created) = super::connect::own_key_pair(&paths)?;
    if created {
        notes.push(format!(
            "no SSH key in ~/.ssh: created an ed25519 key pair for Prism, {} (private key 0600, public key beside it)",
            super::connect::own_key(&paths).display()
        ));
    }
    let text = std::fs::read_to_string(&public)
        .map_err(|e| CliError::refused(format!("cannot read {}: {e}", public.display()), None))?;
    check(&public, &text)?;
    Ok((Some((public, text.trim().to_string())), notes))
}

/// The hint of a refusal from the checks shared with the daemon.
fn hint_of(e: &prism_ops::OpsError) -> Option<String> {
    match e {
        prism_ops::OpsError::Invalid { hint, .. } | prism_ops::OpsError::NotFound { hint, .. } => {
            hint.clone()
        }
        _ => None,
    }
}

/// `prism list`.
pub async fn list(cli: &Cli, a: &ListArgs) -> CliResult {
    let c = Client::connect(true).await?;
    let t = target(cli);
    let mut q = vec![("refresh", (!a.no_refresh).to_string())];
    if let Some(r) = &t.region {
        q.push(("region", r.clone()));
    }
    if let Some(p) = &t.profile {
        q.push(("profile", p.clone()));
    }
    let l: WorkstationList = c.get_query("/v1/workstations", &q).await?;
    for e in &l.errors {
        errln!("warning: {e} (showing cached rows for that region)");
    }
    print(cli.output, &l, |l| {
        if l.workstations.is_empty() {
            println!("no workstations; launch one with: prism launch TEMPLATE NAME");
            return;
        }
        let mut t = table(&[
            "NAME",
            "STATE",
            "REGION",
            "TEMPLATE",
            "TYPE",
            "PUBLIC IP",
            "INSTANCE",
            "PROJECT",
        ]);
        for w in &l.workstations {
            let tpl = match (&w.template, &w.template_version) {
                (Some(t), Some(v)) => format!("{t}@{v}"),
                (Some(t), None) => t.clone(),
                _ => "-".into(),
            };
            let mut state = match &w.cached_at {
                // Not read from EC2 just now: say so, with the age of what is shown.
                Some(at) => format!("{} (cached, {})", w.state, age(at)),
                None => w.state.clone(),
            };
            // What is happening to it now: "stopped, saving → my-env@3, 2m".
            if let Some(op) = &w.operation {
                state = format!("{state}, {}, {}", op.doing, running_for(&op.started_at));
            }
            t.add_row(vec![
                w.name.clone(),
                state,
                w.region.clone(),
                tpl,
                w.instance_type.clone(),
                dash(&w.public_ip),
                w.instance_id.clone(),
                dash(&w.project),
            ]);
        }
        println!("{t}");
        // How to get in, named after a running workstation: on standard error, so the
        // table on standard output keeps its shape for scripts; short lines, to fit 80 columns.
        if let Some(w) = l.workstations.iter().find(|w| w.state == "running") {
            errln!("connect: prism connect {} [--jupyter]", w.name);
            errln!("VS Code / plain ssh: prism ssh-config --write");
        }
    })
}

/// How long ago an RFC 3339 time was, briefly ("3m ago").
/// How long since `at` (RFC 3339), rounded to what people read (`45s`, `2m`, `1h 5m`).
fn running_for(at: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(at) {
        Ok(t) => {
            let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
                .num_seconds()
                .max(0) as u64;
            let secs = if secs >= 60 { secs / 60 * 60 } else { secs };
            humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
        }
        Err(_) => format!("since {at}"),
    }
}

fn age(at: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(at) {
        Ok(t) => {
            let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
                .num_seconds()
                .max(0) as u64;
            let d = std::time::Duration::from_secs(if secs >= 60 { secs / 60 * 60 } else { secs });
            format!("{} ago", humantime::format_duration(d))
        }
        Err(_) => format!("as of {at}"),
    }
}

async fn act(cli: &Cli, name: &str, action: &str, detach: bool) -> CliResult {
    let c = Client::connect(true).await?;
    let sub: Submitted = c
        .post(
            &format!("/v1/workstations/{}/{action}", crate::client::segment(name)),
            &WorkstationAction { aws: target(cli) },
        )
        .await?;
    finish(&c, cli.output, sub, detach, |op| {
        let r = op.result.clone().unwrap_or_default();
        match action {
            "delete" => outln!(
                "workstation '{name}' deleted ({})",
                r["instance_id"].as_str().unwrap_or("?")
            ),
            _ => outln!(
                "workstation '{name}' is {}",
                r["state"].as_str().unwrap_or("?")
            ),
        }
    })
    .await
}

/// `prism stop`.
pub async fn stop(cli: &Cli, a: &NameArgs) -> CliResult {
    act(cli, &a.name, "stop", a.detach).await
}

/// `prism start`.
pub async fn start(cli: &Cli, a: &NameArgs) -> CliResult {
    act(cli, &a.name, "start", a.detach).await
}

/// `prism delete`.
pub async fn delete(cli: &Cli, a: &DeleteArgs) -> CliResult {
    confirm(
        &format!(
            "Delete (terminate) workstation '{}'? Its disk is lost unless you saved it",
            a.name
        ),
        a.yes,
    )?;
    act(cli, &a.name, "delete", a.detach).await
}
