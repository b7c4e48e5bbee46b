//! `--copy-within`: region copies made as EC2 time-based copies — CopyImage with
//! `SnapshotCopyCompletionDurationMinutes` (EC2 API Reference,
//! <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopyImage.html>) — for users who
//! need a region ready by a deadline. EBS "Time-based copies for Amazon EBS snapshots and
//! EBS-backed AMIs" (<https://docs.aws.amazon.com/ebs/latest/userguide/time-based-copies.html>):
//! the duration is 15 minutes to 48 hours in 15-minute increments, applies to each snapshot of
//! the AMI, and is charged per GiB copied; a copy whose required throughput exceeds what is left
//! of the account's throughput quota (2,000 MiB/s per region pair by default) takes longer than
//! asked, and one with no throughput left is refused.

use crate::error::OpsError;
use crate::prices;
use prism_api::{RegionPrice, TimeBasedCopyPlan};

/// Refuses a completion duration EC2 would refuse (see the module docs), naming the allowed
/// values.
pub fn check(minutes: Option<u32>) -> Result<(), OpsError> {
    match minutes {
        Some(m) => prism_api::check_copy_within_minutes(m).map_err(|e| {
            OpsError::invalid(
                format!("copy_within_minutes: {e}"),
                Some("give --copy-within a multiple of 15m from 15m to 48h, e.g. 30m or 2h".into()),
            )
        }),
        None => Ok(()),
    }
}

/// The plan's price and deadline of copying `gib` GiB to each of `regions` within `minutes`:
/// GiB × the estimated price per GiB ([`prices::TIME_BASED_COPY_USD_PER_GIB`]) per region.
pub fn plan(minutes: u32, gib: i64, regions: &[String]) -> TimeBasedCopyPlan {
    let per = round_cents(gib.max(0) as f64 * prices::TIME_BASED_COPY_USD_PER_GIB);
    TimeBasedCopyPlan {
        within_minutes: minutes,
        gib_per_region: gib,
        usd_per_gib: prices::TIME_BASED_COPY_USD_PER_GIB,
        per_region: regions
            .iter()
            .map(|r| RegionPrice {
                region: r.clone(),
                usd: per,
            })
            .collect(),
        total_usd: round_cents(per * regions.len() as f64),
        price_source: prices::TIME_BASED_COPY_SOURCE.to_string(),
        throughput_warning: throughput_warning(minutes, gib),
    }
}

/// Most throughput one snapshot's time-based copy gets, MiB/s (EBS "Time-based copies",
/// Quotas: "Snapshot copy operation throughput quota", 500 MiB/s, not adjustable; for an AMI it
/// applies to each of its snapshots).
pub const SNAPSHOT_MIB_PER_SECOND: f64 = 500.0;

/// A warning when copying `gib` GiB within `minutes` needs more than
/// [`SNAPSHOT_MIB_PER_SECOND`] (the throughput a copy needs is its data ÷ the duration: EBS
/// "Time-based copies"); an upper bound, as if one snapshot held all of it. EC2 then copies
/// more slowly than asked, so the plan names the shortest duration that fits.
pub fn throughput_warning(minutes: u32, gib: i64) -> Option<String> {
    let mib = gib.max(0) as f64 * 1024.0;
    let need = mib / (f64::from(minutes) * 60.0);
    (need > SNAPSHOT_MIB_PER_SECOND).then(|| {
        let fits = (mib / SNAPSHOT_MIB_PER_SECOND / 60.0 / 15.0).ceil() as u32 * 15;
        format!(
            "copying {gib} GiB within {minutes}m needs up to {need:.0} MiB/s, more than the {SNAPSHOT_MIB_PER_SECOND:.0} MiB/s EC2 gives one snapshot's time-based copy: it may take longer than asked (--copy-within {fits}m or more fits)"
        )
    })
}

/// A warning when the wait for a copy ends before its completion duration (`--max-wait` shorter
/// than `--copy-within`): the copy would be given up on while EC2 may still be within its time.
pub fn wait_warning(minutes: Option<u32>, wait_seconds: u64) -> Option<String> {
    let m = minutes?;
    (wait_seconds < u64::from(m) * 60).then(|| {
        format!(
            "the wait for each copy ({}m, --max-wait) is shorter than --copy-within ({m}m): a copy may be given up on before its deadline",
            wait_seconds / 60
        )
    })
}

fn round_cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_checked_as_ec2_documents() {
        for ok in [None, Some(15), Some(30), Some(120), Some(2880)] {
            assert!(check(ok).is_ok(), "{ok:?}");
        }
        for bad in [0, 10, 20, 2895, 3000] {
            let e = check(Some(bad)).unwrap_err().to_string();
            assert!(e.contains("15m to 48h"), "{e}");
        }
    }

    #[test]
    fn the_price_is_gib_times_the_price_per_gib_per_region() {
        let p = plan(30, 100, &["us-west-2".into(), "eu-west-1".into()]);
        assert_eq!(p.usd_per_gib, 0.02);
        assert_eq!(p.per_region.len(), 2);
        assert!(p.per_region.iter().all(|r| r.usd == 2.0), "{p:?}");
        assert_eq!(p.total_usd, 4.0);
        assert!(p.price_source.contains("estimate"), "{}", p.price_source);
        assert_eq!(p.throughput_warning, None);
        // 1,000 GiB in 15 min needs ~1,138 MiB/s; 45 min (~379 MiB/s) fits.
        let w = plan(15, 1000, &["us-west-2".into()])
            .throughput_warning
            .unwrap();
        assert!(w.contains("needs up to 1138 MiB/s"), "{w}");
        assert!(w.contains("--copy-within 45m or more fits"), "{w}");
        assert_eq!(throughput_warning(45, 1000), None);
        assert!(wait_warning(Some(30), 1200).is_some());
        assert_eq!(wait_warning(Some(30), 1800), None);
        assert_eq!(wait_warning(None, 60), None);
    }
}
