//! `prism-sim`: prints the save-schedule table — Prism's save on EC2 as documented, against
//! the save before issue 9, the seeds' ordering, and a lenient (moto-like) EC2.

use prism_cloud::fake::FakeEc2;
use prism_sim::{
    simulate, simulate_copy_within, simulate_on, trace, Ec2, Model, Ordering, Outcome,
};
use std::time::Duration;

fn secs(o: &Outcome) -> String {
    match &o.failure {
        None => format!("{:.0}s", o.downtime.as_secs_f64()),
        Some(_) => format!("{:.0}s (failed)", o.downtime.as_secs_f64()),
    }
}

/// `prism-sim trace GIB COPIES [before|seeds] [lenient]`: one save's API calls, in order.
fn print_trace(m: &Model, args: &[String]) {
    let gb: u32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(8);
    let copies: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0);
    let has = |w: &str| args.iter().any(|a| a == w);
    let ordering = if has("before") {
        Ordering::ImageSnapshotIds
    } else if has("seeds") {
        Ordering::Seeds
    } else {
        Ordering::Prism
    };
    let ec2 = if has("lenient") {
        Ec2::Lenient
    } else {
        Ec2::Documented
    };
    let (o, calls) = trace(m, gb, copies, ordering, ec2.fake());
    let t0 = calls.first().map(|c| c.at).unwrap_or_default();
    for c in &calls {
        println!(
            "{:>9.2}s {:<16} {:<15} {}",
            (c.at - t0).as_secs_f64(),
            c.region,
            c.action,
            c.resource.as_deref().unwrap_or("")
        );
    }
    println!("{o:?}");
}

fn main() {
    let m = Model::default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("trace") {
        return print_trace(&m, &args[1..]);
    }
    println!("Latency model: stop {}s, start {}s, snapshot init {}s, image {}s+{}s/GiB, copy {}s+{}s/GiB, API call {}ms",
        m.stop.as_secs(), m.start.as_secs(), m.snapshot_init.as_secs(), m.image_base.as_secs(),
        m.image_per_gb.as_secs(), m.copy_base.as_secs(), m.copy_per_gb.as_secs(), m.api_latency.as_millis());
    println!("EC2 as documented (FakeEc2::default): snapshot ids hidden while pending, new ids NotFound 2s, CreateImage refused 3s after a stop; lenient = FakeEc2::lenient (moto-like)");
    println!();
    println!("| GiB | copies | downtime before | downtime after | after/(stop+start) | ≤ 1.10× | downtime lenient | downtime seeds | seeds/after | all available | critical path | total/critical | max notice lag | API calls after | API calls seeds |");
    println!("|---:|---:|---:|---:|---:|:-:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut failures = vec![];
    for gb in [8u32, 100, 1000] {
        for copies in [0usize, 2, 5] {
            let before = simulate(&m, gb, copies, Ordering::ImageSnapshotIds);
            let p = simulate(&m, gb, copies, Ordering::Prism);
            let l = simulate_on(&m, gb, copies, Ordering::Prism, Ec2::Lenient);
            let s = simulate(&m, gb, copies, Ordering::Seeds);
            for (what, o) in [
                ("before", &before),
                ("after", &p),
                ("lenient", &l),
                ("seeds", &s),
            ] {
                if let Some(e) = &o.failure {
                    failures.push(format!("{gb} GiB, {copies} copies, {what}: {e}"));
                }
            }
            let ss = (m.stop + m.start).as_secs_f64();
            let cp = m.critical_path(gb, copies).as_secs_f64();
            let ratio = p.downtime.as_secs_f64() / ss;
            println!(
                "| {gb} | {copies} | {} | {} | {ratio:.3} | {} | {} | {} | {:.1}x | {:.0}s | {:.0}s | {:.3} | {:.0}s | {} | {} |",
                secs(&before),
                secs(&p),
                if ratio <= 1.10 { "yes" } else { "**no**" },
                secs(&l),
                secs(&s),
                s.downtime.as_secs_f64() / p.downtime.as_secs_f64(),
                p.all_available.as_secs_f64(),
                cp,
                p.all_available.as_secs_f64() / cp,
                p.notice_lag.as_secs_f64(),
                p.api_calls,
                s.api_calls,
            );
        }
    }
    if !failures.is_empty() {
        println!();
        println!("Failed saves (downtime: stop request → the unwind's start + start time):");
        for f in failures {
            println!("- {f}");
        }
    }

    // Where the downtime goes (8 GiB, no copies: downtime does not depend on either).
    let (o, calls) = trace(&m, 8, 0, Ordering::Prism, FakeEc2::default());
    let t = |action: &str| {
        calls
            .iter()
            .filter(|c| c.action == action)
            .map(|c| c.at.as_secs_f64())
            .collect::<Vec<_>>()
    };
    let stop = t("StopInstances")[0];
    let creates = t("CreateImage");
    let start = t("StartInstances")[0];
    let rel = |x: f64| x - stop;
    println!();
    println!(
        "Downtime on EC2 as documented, {:.1}s: StopInstances 0s; stopped {:.1}s (model); CreateImage tried at {}; snapshots exist {:.1}s; StartInstances {:.1}s; running {:.1}s (model); seen running {:.1}s",
        o.downtime.as_secs_f64(),
        m.stop.as_secs_f64(),
        creates
            .iter()
            .map(|c| format!("{:.1}s", rel(*c)))
            .collect::<Vec<_>>()
            .join(", "),
        rel(creates[creates.len() - 1]) + m.snapshot_init.as_secs_f64(),
        rel(start),
        rel(start) + m.start.as_secs_f64(),
        o.downtime.as_secs_f64(),
    );
    println!();
    println!("All regions ready with and without --copy-within (EC2 time-based copy: each copy ready within min(copy time, duration); throughput quotas not modelled). Price: GiB × ${}/GiB per copy region ({})", prism_ops::prices::TIME_BASED_COPY_USD_PER_GIB, prism_ops::prices::TIME_BASED_COPY_SOURCE);
    println!();
    println!("| GiB | copies | all available, standard | --copy-within 15m | --copy-within 1h | --copy-within 4h | price per region | price, all copies |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let hm = |d: Duration| {
        let m = d.as_secs().div_ceil(60);
        format!("{}h{:02}m", m / 60, m % 60)
    };
    for gb in [8u32, 100, 1000] {
        for copies in [2usize, 5] {
            let at = |w: Option<u32>| {
                let o = simulate_copy_within(&m, gb, copies, w);
                match &o.failure {
                    None => hm(o.all_available),
                    Some(e) => format!("failed: {e}"),
                }
            };
            let per = f64::from(gb) * prism_ops::prices::TIME_BASED_COPY_USD_PER_GIB;
            println!(
                "| {gb} | {copies} | {} | {} | {} | {} | ${per:.2} | ${:.2} |",
                at(None),
                at(Some(15)),
                at(Some(60)),
                at(Some(240)),
                per * copies as f64
            );
        }
    }
    println!();
    println!("Downtime against the CreateImage-after-stop refusal window (EC2 as documented otherwise; 8 GiB, no copies):");
    println!();
    println!("| refusal window | downtime | /(stop+start) | CreateImage tries |");
    println!("|---:|---:|---:|---:|");
    for w in [0u64, 1, 2, 3, 4, 5, 8] {
        let ec2 = FakeEc2 {
            create_image_after_stop: Duration::from_secs(w),
            ..FakeEc2::default()
        };
        let (o, calls) = trace(&m, 8, 0, Ordering::Prism, ec2);
        println!(
            "| {w}s | {:.1}s | {:.3} | {} |",
            o.downtime.as_secs_f64(),
            o.downtime.as_secs_f64() / (m.stop + m.start).as_secs_f64(),
            calls.iter().filter(|c| c.action == "CreateImage").count()
        );
    }
}
