//! templates, template info|versions|validate|copy|export|import.

use super::{finish, target};
use crate::args::{Cli, TemplateCommand, TemplatesArgs};
use crate::client::Client;
use crate::error::{CliError, CliResult};
use crate::output::{dash, errln, out, outln, print, table};
use prism_api::TemplateVersions;
use prism_api::{CopyRequest, TemplateDetail, TemplateList, ValidateReport, ValidateRequest};
use prism_api::{ImportReport, ImportRequest, RefreshReport, RefreshRequest, TemplateSharing};

/// `file` as an absolute path to an existing regular file (the daemon reads it by path).
fn template_file(file: &std::path::Path) -> CliResult<std::path::PathBuf> {
    let path = std::path::absolute(file)
        .map_err(|e| CliError::refused(format!("{}: {e}", file.display()), None))?;
    if !path.is_file() {
        return Err(CliError::refused(
            format!("no such file: {}", file.display()),
            Some("give the path of a template YAML file".into()),
        ));
    }
    Ok(path)
}

/// Writes an exported template where the user asked, atomically (no half-written file).
fn write_export(dir: &std::path::Path, file: &str, yaml: &str) -> CliResult {
    let tmp = dir.join(format!(".{file}.prism-export.tmp"));
    std::fs::write(&tmp, yaml)
        .and_then(|()| std::fs::rename(&tmp, dir.join(file)))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            CliError::refused(
                format!("cannot write {}: {e}", dir.join(file).display()),
                None,
            )
        })
}

/// `prism templates`.
/// Whether a deprecation time (RFC 3339) has come (one that does not parse counts as come).
fn deprecated_now(at: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(at).map_or(true, |t| t <= chrono::Utc::now())
}

pub async fn list(cli: &Cli, a: &TemplatesArgs) -> CliResult {
    let c = Client::connect(a.refresh).await?;
    if a.refresh {
        let r: RefreshReport = c
            .post(
                "/v1/templates/refresh",
                &RefreshRequest { aws: target(cli) },
            )
            .await?;
        for e in &r.errors {
            errln!("warning: {e}");
        }
        errln!(
            "refreshed from EC2 in {}: {} images, {} versions updated, {} removed",
            r.regions.join(", "),
            r.images,
            r.versions_written,
            r.versions_removed
        );
    }
    let l: TemplateList = c
        .get(if a.all {
            "/v1/templates?all=true"
        } else {
            "/v1/templates"
        })
        .await?;
    for i in &l.issues {
        errln!("warning: skipped {}: {}", i.origin, i.message);
    }
    print(cli.output, &l, |l| {
        let mut t = table(&[
            "NAME",
            "VERSION",
            "ORIGIN",
            "BASE",
            "REGIONS",
            "DESCRIPTION",
        ]);
        for s in &l.templates {
            let d = s.description.clone().unwrap_or_default();
            t.add_row(vec![
                s.name.clone(),
                match &s.deprecated {
                    Some(at) if deprecated_now(at) => format!("{} (deprecated)", dash(&s.version)),
                    Some(at) => format!("{} (deprecated from {at})", dash(&s.version)),
                    None => dash(&s.version),
                },
                s.origin.clone(),
                dash(&s.base),
                if s.regions.is_empty() {
                    "-".into()
                } else {
                    s.regions.join(",")
                },
                d,
            ]);
        }
        t.limit("DESCRIPTION", 50);
        println!("{t}");
    })
}

/// `prism template …`.
pub async fn template(cli: &Cli, cmd: &TemplateCommand) -> CliResult {
    match cmd {
        TemplateCommand::Info { name, sharing } => {
            let c = Client::connect(*sharing).await?;
            let d: TemplateDetail = c
                .get(&format!("/v1/templates/{}", crate::client::segment(name)))
                .await?;
            if *sharing {
                let s: TemplateSharing = c
                    .get_query(
                        &format!("/v1/templates/{}/sharing", crate::client::segment(name)),
                        &[("profile", target(cli).profile)],
                    )
                    .await?;
                let both = serde_json::json!({ "template": d, "sharing": s });
                return print(cli.output, &both, |_| {
                    outln!("# {}@{}: who may launch it", s.template, s.version);
                    let mut t = table(&[
                        "REGION",
                        "IMAGE",
                        "PUBLIC",
                        "ACCOUNTS",
                        "ORGANIZATIONS / OUS",
                    ]);
                    for r in &s.regions {
                        let mut orgs = r.organizations.clone();
                        orgs.extend(r.organizational_units.iter().cloned());
                        t.add_row(vec![
                            r.region.clone(),
                            r.image_id.clone(),
                            match (&r.error, r.public) {
                                (Some(e), _) => format!("? ({e})"),
                                (None, true) => "yes".into(),
                                (None, false) => "no".into(),
                            },
                            if r.accounts.is_empty() {
                                "-".into()
                            } else {
                                r.accounts.join(",")
                            },
                            if orgs.is_empty() {
                                "-".into()
                            } else {
                                orgs.join(",")
                            },
                        ]);
                    }
                    println!("{t}");
                });
            }
            if !matches!(cli.output, crate::output::Format::Table) {
                // The full template, as before.
                return print(cli.output, &d, |_| {});
            }
            for w in &d.warnings {
                errln!("warning: {w}");
            }
            let v: TemplateVersions = c
                .get_query(
                    &format!("/v1/templates/{}/versions", crate::client::segment(name)),
                    &[("profile", target(cli).profile)],
                )
                .await?;
            let chain = super::template_info::lineage(&c, &d).await;
            super::template_info::summary(&d, &v, &chain);
            Ok(())
        }
        TemplateCommand::Versions { name } => {
            let c = Client::connect(false).await?;
            let v: TemplateVersions = c
                .get_query(
                    &format!("/v1/templates/{}/versions", crate::client::segment(name)),
                    &[("profile", target(cli).profile)],
                )
                .await?;
            print(cli.output, &v, super::template_info::versions_table)
        }
        TemplateCommand::Export { name, file, force } => {
            let c = Client::connect(false).await?;
            let d: TemplateDetail = c
                .get(&format!("/v1/templates/{}", crate::client::segment(name)))
                .await?;
            let Some(file) = file else {
                // Exact bytes into a pipe or file; escaped on a terminal.
                if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                    out!("{}", d.yaml);
                } else {
                    print!("{}", d.yaml);
                }
                return Ok(());
            };
            if file.exists() && !force {
                return Err(CliError::refused(
                    format!("{} exists", file.display()),
                    Some("pass --force to replace it, or choose another file".into()),
                ));
            }
            let path = std::path::absolute(file)
                .map_err(|e| CliError::refused(format!("{}: {e}", file.display()), None))?;
            let (dir, base) = match (path.parent(), path.file_name()) {
                (Some(d), Some(b)) => (d.to_path_buf(), b.to_string_lossy().to_string()),
                _ => {
                    return Err(CliError::refused(
                        format!("{} is not a file path", file.display()),
                        None,
                    ))
                }
            };
            write_export(&dir, &base, &d.yaml)?;
            errln!(
                "wrote {} ({}); import it elsewhere with: prism template import {}",
                path.display(),
                d.summary.name,
                path.display()
            );
            Ok(())
        }
        TemplateCommand::Import { file, force } => {
            let path = template_file(file)?;
            let c = Client::connect(false).await?;
            let r: ImportReport = c
                .post(
                    "/v1/templates/imports",
                    &ImportRequest {
                        path: path.display().to_string(),
                        force: *force,
                    },
                )
                .await?;
            for w in &r.warnings {
                errln!("warning: {w}");
            }
            print(cli.output, &r, |r| {
                outln!(
                    "imported {} ({}{})",
                    r.template,
                    r.path,
                    if r.replaced { ", replaced" } else { "" }
                );
            })
        }
        TemplateCommand::Validate { file, verbose } => {
            let path = template_file(file)?;
            let c = Client::connect(false).await?;
            let r: ValidateReport = c
                .post(
                    "/v1/templates/validate",
                    &ValidateRequest {
                        path: path.display().to_string(),
                    },
                )
                .await?;
            print(cli.output, &r, |r| {
                for e in &r.errors {
                    outln!("error: {e}");
                }
                for w in &r.warnings {
                    outln!("warning: {w}");
                }
                if *verbose {
                    for u in &r.unused_fields {
                        outln!("accepted, not used yet: {u}");
                    }
                }
                if r.valid {
                    outln!(
                        "{}: valid template '{}'",
                        r.path,
                        r.template.clone().unwrap_or_default()
                    );
                }
            })?;
            if r.valid {
                Ok(())
            } else {
                Err(CliError::refused(
                    format!(
                        "{} is not a valid template ({} errors)",
                        r.path,
                        r.errors.len()
                    ),
                    None,
                ))
            }
        }
        TemplateCommand::Copy {
            name,
            to_region,
            max_wait,
            kms_key,
            copy_within,
            flags,
        } => {
            if let Some((r, _)) = kms_key {
                if r != to_region {
                    return Err(CliError::refused(
                        format!("--kms-key names region '{r}', but the copy goes to '{to_region}'"),
                        Some(format!("write --kms-key {to_region}=KEY")),
                    ));
                }
            }
            let c = Client::connect(true).await?;
            let req = |dry_run| CopyRequest {
                template: name.clone(),
                to_region: to_region.clone(),
                max_wait_seconds: *max_wait,
                kms_key: kms_key.as_ref().map(|(_, k)| k.clone()),
                aws: target(cli),
                copy_within_minutes: *copy_within,
                dry_run,
            };
            // A standard copy is asked no question (as before); a time-based copy is charged
            // per GiB, so its deadline and price are shown and confirmed first.
            let mut confirm = flags.confirm();
            confirm.yes |= copy_within.is_none();
            let Some((_, sub)) = super::plan_then_submit(
                &c,
                cli,
                "/v1/templates/copies",
                req,
                describe_copy,
                confirm,
                "Copy?",
            )
            .await?
            else {
                return Ok(());
            };
            finish(&c, cli.output, sub, flags.detach, |op| {
                let r = op.result.clone().unwrap_or_default();
                outln!(
                    "{}@{} is now in {}: {}",
                    r["template"].as_str().unwrap_or("?"),
                    r["version"].as_str().unwrap_or("?"),
                    to_region,
                    r["region"]["image_id"].as_str().unwrap_or("?")
                );
            })
            .await
        }
        TemplateCommand::Deprecate {
            name,
            replacement,
            at,
            flags,
        } => {
            let how = super::deprecate::How {
                replacement: replacement.clone(),
                at: at.clone(),
                remove: false,
            };
            super::deprecate::deprecate(cli, name, how, flags).await
        }
        TemplateCommand::Undeprecate { name, flags } => {
            let how = super::deprecate::How {
                replacement: None,
                at: None,
                remove: true,
            };
            super::deprecate::deprecate(cli, name, how, flags).await
        }
        TemplateCommand::Protect {
            name,
            with_cooldown,
            flags,
        } => super::protect::protect(cli, name, *with_cooldown, false, flags).await,
        TemplateCommand::Unprotect { name, flags } => {
            super::protect::protect(cli, name, false, true, flags).await
        }
        TemplateCommand::Share(a) => super::share::share(cli, a, false).await,
        TemplateCommand::Unshare(a) => super::share::share(cli, a, true).await,
        TemplateCommand::Delete {
            name,
            all_versions,
            flags,
        } => super::template_delete::delete(cli, name, *all_versions, flags).await,
        TemplateCommand::Restore { name, flags } => {
            super::template_delete::restore(cli, name, flags).await
        }
        TemplateCommand::Prune {
            name,
            keep,
            older_than,
            unused_for,
            flags,
        } => super::template_delete::prune(cli, name, *keep, *older_than, *unused_for, flags).await,
    }
}

/// The plan of `template copy`: what goes where, and a time-based copy's deadline and price.
fn describe_copy(p: &prism_api::CopyPlan) {
    errln!(
        "Copy {}@{} ({} GiB) from {} ({}) to {}",
        p.template,
        p.version,
        p.size_gb,
        p.source_region,
        p.source_image,
        p.to_region
    );
    if let Some(t) = &p.time_based_copy {
        super::save::describe_time_based_copy(t);
    }
}
