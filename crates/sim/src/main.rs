//! `prism-sim`: prints the save-schedule table (Prism against the seeds' ordering).

use prism_sim::{simulate, Model, Ordering};

fn main() {
    let m = Model::default();
    println!("Latency model: stop {}s, start {}s, snapshot init {}s, image 180s+10s/GiB, copy 300s+12s/GiB, API call {}ms",
        m.stop.as_secs(), m.start.as_secs(), m.snapshot_init.as_secs(), m.api_latency.as_millis());
    println!();
    println!("| GiB | copies | downtime prism | downtime seeds | seeds/prism | downtime/(stop+start) | all available prism | critical path | total/critical | max notice lag | API calls prism | API calls seeds |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for gb in [8u32, 100, 1000] {
        for copies in [0usize, 2, 5] {
            let p = simulate(&m, gb, copies, Ordering::Prism);
            let s = simulate(&m, gb, copies, Ordering::Seeds);
            let ss = (m.stop + m.start).as_secs_f64();
            let cp = m.critical_path(gb, copies).as_secs_f64();
            println!(
                "| {gb} | {copies} | {:.0}s | {:.0}s | {:.1}x | {:.3} | {:.0}s | {:.0}s | {:.3} | {:.0}s | {} | {} |",
                p.downtime.as_secs_f64(),
                s.downtime.as_secs_f64(),
                s.downtime.as_secs_f64() / p.downtime.as_secs_f64(),
                p.downtime.as_secs_f64() / ss,
                p.all_available.as_secs_f64(),
                cp,
                p.all_available.as_secs_f64() / cp,
                p.notice_lag.as_secs_f64(),
                p.api_calls,
                s.api_calls,
            );
        }
    }
}
