//! `prism save`: show the plan, confirm, submit, follow, summarize.

use super::{finish, plan_then_submit, target, Confirm};
use crate::args::{Cli, Mode, SaveArgs};
use crate::client::Client;
use crate::error::CliResult;
use crate::output::{errln, outln, Format};
use prism_api::{CaptureMode, Operation, SavePlan, SaveRequest, SaveResult, TimeBasedCopyPlan};

/// What `--public` means, in plain words (plan and summary say it the same way).
pub const PUBLIC_MEANS: &str = "PUBLIC: every AWS account in the world will be able to launch this image and read its disk — every file on it, including any keys, tokens or data left there";

/// The separate question a public save or share asks.
pub const PUBLIC_QUESTION: &str = "Make it public, readable by every AWS account?";

/// What a save's stop/start does to the workstation's address (plan and summary), in short
/// lines that fit 80 columns (the caller indents the first).
fn address_changes(ws: &str) -> String {
    format!(
        "The stop/start changes its public address; connecting by name is unaffected:\n    \
         prism connect {ws}\n    \
         prism ssh-config --write   (refreshes ~/.ssh/config)"
    )
}

fn describe(p: &SavePlan, public: bool) {
    errln!(
        "Saving workstation '{}' ({}, {} in {}) as template '{}' version {}",
        p.workstation,
        p.instance_id,
        p.state,
        p.region,
        p.template,
        p.version
    );
    if p.will_stop {
        errln!(
            "  The workstation will be stopped for about {} minutes: it is started again as soon as the image's snapshots are initiated.",
            p.estimated_downtime_seconds.unwrap_or(120).div_ceil(60)
        );
        errln!("  {}", address_changes(&p.workstation));
    } else if p.state == "stopped" {
        eprintln!("  The workstation is stopped and stays stopped.");
    }
    errln!("  Regions: {}", p.regions.join(", "));
    let hours = |s: u64| humantime::format_duration(std::time::Duration::from_secs(s)).to_string();
    if p.copy_wait_seconds > 0 {
        errln!(
            "  Waits up to {} for the image and {} per copy (--max-wait)",
            hours(p.image_wait_seconds),
            hours(p.copy_wait_seconds)
        );
    } else if p.image_wait_seconds > 0 {
        errln!(
            "  Waits up to {} for the image (--max-wait)",
            hours(p.image_wait_seconds)
        );
    }
    errln!(
        "  Volume: {} GiB {}; snapshot storage in {} region(s): ${:.2}/month {}",
        p.volume_gb,
        prism_ops::projects::MEASURED,
        p.regions.len(),
        p.estimated_monthly_cost_usd,
        prism_ops::projects::STORAGE_ESTIMATE
    );
    if let Some(t) = &p.time_based_copy {
        describe_time_based_copy(t);
    }
    if public {
        errln!("  {PUBLIC_MEANS}");
    }
    for w in &p.warnings {
        errln!("  warning: {w}");
    }
}

/// The deadline and estimated price of time-based copies (`--copy-within`), as the save's plan
/// and `template copy` show them.
pub fn describe_time_based_copy(t: &TimeBasedCopyPlan) {
    let within = humantime::format_duration(std::time::Duration::from_secs(
        u64::from(t.within_minutes) * 60,
    ));
    errln!(
        "  Time-based copy (--copy-within {within}): each region's copy is ready within {within} of its start"
    );
    let regions: Vec<String> = t
        .per_region
        .iter()
        .map(|r| format!("{} ${:.2}", r.region, r.usd))
        .collect();
    errln!(
        "  Time-based copy price: {} GiB × ${:.2}/GiB per region: {}; total ${:.2} ({})",
        t.gib_per_region,
        t.usd_per_gib,
        regions.join(", "),
        t.total_usd,
        t.price_source
    );
    if let Some(w) = &t.throughput_warning {
        errln!("  warning: {w}");
    }
}

/// `prism save`.
pub async fn save(cli: &Cli, a: &SaveArgs) -> CliResult {
    let c = Client::connect(true).await?;
    let req = |dry_run| SaveRequest {
        workstation: a.workstation.clone(),
        template: a.template.clone(),
        description: a.description.clone(),
        copy_to_regions: a.copy_to_regions.clone(),
        project: a.project.clone(),
        public: a.public,
        mode: match a.mode {
            Mode::Stop => CaptureMode::Stop,
            Mode::Reboot => CaptureMode::Reboot,
            Mode::Live => CaptureMode::Live,
        },
        tags: a.tags.iter().cloned().collect(),
        aws: target(cli),
        max_wait_seconds: a.max_wait,
        kms_keys: a.kms_keys.iter().cloned().collect(),
        no_inherit: a.no_inherit,
        dry_run,
        over_budget: a.over_budget,
        copy_within_minutes: a.copy_within,
    };
    let confirm = Confirm {
        yes: a.yes,
        dry_run: a.dry_run,
        also_ask: a.public.then(|| PUBLIC_QUESTION.to_string()),
    };
    let describe = |p: &SavePlan| describe(p, a.public);
    let Some((_, sub)) =
        plan_then_submit(&c, cli, "/v1/saves", req, describe, confirm, "Continue?").await?
    else {
        return Ok(());
    };
    if cli.output == Format::Table && !a.detach {
        errln!(
            "operation {} (Ctrl-C detaches; the save goes on)",
            sub.operation.id
        );
    }
    finish(&c, cli.output, sub, a.detach, print_summary).await
}

/// The summary of a finished save (saved version, image per region, downtime, cost, warnings,
/// what `--public` means when it was public, how to launch it), as `save`, `operation follow`
/// and `operation show` print it. Prints nothing for an operation without a save's result.
pub fn print_summary(op: &Operation) {
    let Some(r) = op
        .result
        .clone()
        .and_then(|v| serde_json::from_value::<SaveResult>(v).ok())
    else {
        return;
    };
    let public = op
        .input
        .get("public")
        .and_then(|p| p.as_bool())
        .unwrap_or(false);
    outln!(
        "Saved template '{}' version {} ({})",
        r.template,
        r.version,
        r.path
    );
    for reg in &r.regions {
        match &reg.error {
            None => outln!(
                "  {:<16} {}",
                reg.region,
                reg.image_id.clone().unwrap_or_default()
            ),
            Some(e) => outln!("  {:<16} FAILED: {e}", reg.region),
        }
    }
    outln!(
        "  downtime {:.1}s, total {:.1}s, estimated storage ${:.2}/month",
        r.downtime_seconds,
        r.total_seconds,
        r.estimated_monthly_cost_usd
    );
    // A stop/start (stop mode) gives the instance a new public address.
    if r.downtime_seconds > 0.0 {
        if let Some(ws) = op.input.get("workstation").and_then(|w| w.as_str()) {
            outln!("  {}", address_changes(ws));
        }
    }
    for w in &r.warnings {
        outln!("  warning: {w}");
    }
    // The save reports each image it could not make public ("could not make … public").
    if public && !r.warnings.iter().any(|w| w.starts_with("could not make")) {
        outln!("  {PUBLIC_MEANS}");
    }
    outln!("Launch it with: {}", r.launch_command);
}
