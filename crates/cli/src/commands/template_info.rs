//! `template versions` as a table and `template info` as a summary for people (their
//! `--output json|yaml` give the full data).

use crate::client::Client;
use crate::output::{outln, table};
use prism_api::{TemplateDetail, TemplateVersions, VersionInfo};

/// Longest lineage followed back through saved templates (a guard against a loop in files).
const MAX_LINEAGE: usize = 8;

/// `2026-11-30T15:52:07Z` → `2026-11-30 15:52`.
fn when(t: &Option<String>) -> String {
    match t {
        Some(t) if t.len() >= 16 => t[..16].replace('T', " "),
        Some(t) => t.clone(),
        None => "-".into(),
    }
}

/// A caller ARN → its last part (`arn:aws:iam::1:user/alice` → `alice`).
fn who(arn: &Option<String>) -> String {
    match arn {
        Some(a) => a.rsplit(['/', ':']).next().unwrap_or(a).to_string(),
        None => "-".into(),
    }
}

fn downtime(s: Option<f64>) -> String {
    match s {
        Some(s) if s >= 60.0 => format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64),
        Some(s) => format!("{s:.0}s"),
        None => "-".into(),
    }
}

fn list_or_dash(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

fn shared(v: &VersionInfo) -> String {
    let mut who = v.shared_with.clone();
    if v.public {
        who.insert(0, "public".into());
    }
    if who.is_empty() && v.saved {
        "private".into()
    } else {
        list_or_dash(&who)
    }
}

fn size(v: &VersionInfo) -> String {
    match v.size_gb {
        Some(g) => format!("{g} GiB"),
        None => "-".into(),
    }
}

/// `template versions T`: one row per version.
pub fn versions_table(v: &TemplateVersions) {
    let mut t = table(&[
        "VERSION",
        "SAVED AT",
        "BY",
        "DESCRIPTION",
        "REGIONS",
        "DOWNTIME",
        "SIZE",
        "SHARED WITH",
        "LAUNCHES",
        "RUNNING NOW",
    ]);
    t.limit("DESCRIPTION", 40);
    for x in &v.versions {
        t.add_row([
            x.version.clone(),
            when(&x.saved_at),
            who(&x.saved_by),
            x.description.clone().unwrap_or_else(|| "-".into()),
            list_or_dash(&x.regions),
            downtime(x.downtime_seconds),
            size(x),
            shared(x),
            x.launches.to_string(),
            list_or_dash(&x.running_now),
        ]);
    }
    println!("{t}");
    for x in &v.versions {
        for e in &x.errors {
            crate::output::errln!("warning: {}@{}: {e}", v.template, x.version);
        }
    }
}

/// One link of a lineage: a template version and what it was saved from.
pub struct Link {
    /// `T@N` (or a built-in's name).
    pub reference: String,
    /// Workstation it was saved from, for a saved version.
    pub saved_from: Option<String>,
}

fn field(d: &TemplateDetail, key: &str) -> Option<String> {
    d.template
        .get(key)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// The lineage of `d`, oldest first: the template its workstation was launched from, and
/// so on back to a template that was not saved (a built-in or user template).
pub async fn lineage(c: &Client, d: &TemplateDetail) -> Vec<Link> {
    let mut chain = vec![Link {
        reference: format!(
            "{}@{}",
            d.summary.name,
            d.summary.version.as_deref().unwrap_or("1")
        ),
        saved_from: field(d, "saved_from"),
    }];
    let mut at = (
        field(d, "original_template"),
        field(d, "original_template_version"),
    );
    while let (Some(name), version) = at.clone() {
        if chain.len() >= MAX_LINEAGE {
            break;
        }
        let reference = match &version {
            Some(v) => format!("{name}@{v}"),
            None => name.clone(),
        };
        let parent: Option<TemplateDetail> = c
            .get(&format!(
                "/v1/templates/{}",
                crate::client::segment(&reference)
            ))
            .await
            .ok();
        let Some(p) = parent else {
            // Deleted or never known here: still named.
            chain.push(Link {
                reference,
                saved_from: None,
            });
            break;
        };
        let saved = p.summary.origin == "saved";
        chain.push(Link {
            reference: if saved { reference } else { name.clone() },
            saved_from: field(&p, "saved_from"),
        });
        if !saved {
            break;
        }
        at = (
            field(&p, "original_template"),
            field(&p, "original_template_version"),
        );
    }
    chain.reverse();
    chain
}

/// `template info T`: what it is, the latest version, lineage, regions, sharing, storage
/// and usage.
pub fn summary(d: &TemplateDetail, v: &TemplateVersions, chain: &[Link]) {
    let s = &d.summary;
    let kind = match s.origin.as_str() {
        "saved" => "saved template",
        "builtin" => "built-in template",
        _ => "user template",
    };
    let this = s.version.clone().unwrap_or_else(|| "1".into());
    outln!("{} ({kind}): {}", s.name, s.display_name);
    if let Some(desc) = &s.description {
        outln!("  {desc}");
    }
    if let Some(p) = &s.path {
        outln!("File:       {p}");
    }
    if let Some(b) = &s.base {
        outln!("Base:       {b}");
    }
    let latest = v.versions.last();
    if let Some(l) = latest {
        outln!(
            "Latest:     {}@{} of {} version(s){}",
            v.template,
            l.version,
            v.versions.len(),
            if l.saved {
                format!(", saved {} by {}", when(&l.saved_at), who(&l.saved_by))
            } else {
                String::new()
            }
        );
    }
    let Some(x) = v.versions.iter().find(|x| x.version == this) else {
        return;
    };
    if !x.saved {
        outln!("Launch it:  prism launch {} NAME", s.name);
        return;
    }
    if latest.is_some_and(|l| l.version != x.version) {
        outln!("Showing:    {}@{}", v.template, x.version);
    }
    let links: Vec<String> = chain
        .iter()
        .map(|l| match &l.saved_from {
            Some(ws) => format!("saved from workstation {ws} → {}", l.reference),
            None => l.reference.clone(),
        })
        .collect();
    outln!(
        "Lineage:    {} (by {}, {})",
        links.join(" → "),
        who(&x.saved_by),
        when(&x.saved_at)
    );
    outln!("Regions:    {}", list_or_dash(&x.regions));
    outln!("Shared:     {}", shared(x));
    match x.monthly_storage_usd {
        Some(usd) => {
            let all: f64 = v
                .versions
                .iter()
                .filter_map(|x| x.monthly_storage_usd)
                .sum();
            outln!(
                "Storage:    {} in {} region(s), about ${usd:.2}/month (estimate at ${}/GiB-month, an upper bound: snapshots are incremental); all versions about ${all:.2}/month",
                size(x),
                x.regions.len(),
                v.snapshot_usd_per_gb_month
            );
        }
        None => outln!("Storage:    unknown (EC2 could not be read)"),
    }
    outln!(
        "Usage:      {} launch(es){}; running now: {}",
        x.launches,
        match &x.last_launched_at {
            Some(_) => format!(", last {}", when(&x.last_launched_at)),
            None => String::new(),
        },
        if x.running_now.is_empty() {
            "none".to_string()
        } else {
            x.running_now.join(", ")
        }
    );
    for e in &x.errors {
        crate::output::errln!("warning: {e}");
    }
}
