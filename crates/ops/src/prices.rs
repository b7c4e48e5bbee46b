//! On-demand prices of the instance types Prism launches, for `project cost`'s compute
//! estimate. A fixed, dated table — not a live price list — so every figure derived from it is
//! labelled an estimate, and a type missing here is reported as unknown, never as free.

/// Where the table comes from and when: shown with every compute figure.
pub const SOURCE: &str =
    "us-east-1 Linux on-demand, AWS price list as of 2024-06 (aws.amazon.com/ec2/pricing/on-demand)";

/// us-east-1 Linux on-demand USD per hour, AWS price list as of 2024-06
/// (<https://aws.amazon.com/ec2/pricing/on-demand/>). Other regions cost about the same or
/// more; the figures are an estimate. Covers every type of `sizes::SIZES` and a few common
/// ones.
const ON_DEMAND_USD_PER_HOUR: &[(&str, f64)] = &[
    ("t3.micro", 0.0104),
    ("t3.small", 0.0208),
    ("t3.medium", 0.0416),
    ("t3.large", 0.0832),
    ("t3.xlarge", 0.1664),
    ("t3.2xlarge", 0.3328),
    ("t4g.micro", 0.0084),
    ("t4g.small", 0.0168),
    ("t4g.medium", 0.0336),
    ("t4g.large", 0.0672),
    ("t4g.xlarge", 0.1344),
    ("t4g.2xlarge", 0.2688),
    ("m5.large", 0.096),
    ("m5.xlarge", 0.192),
    ("c5.large", 0.085),
    ("c5.xlarge", 0.17),
    ("r5.large", 0.126),
    ("g4dn.xlarge", 0.526),
    ("g4dn.2xlarge", 0.752),
    ("g5.xlarge", 1.006),
    ("g5.2xlarge", 1.212),
    ("g5g.xlarge", 0.42),
    ("g5g.2xlarge", 0.556),
    ("g5g.4xlarge", 0.828),
    ("g5g.8xlarge", 1.372),
    ("p3.2xlarge", 3.06),
];

/// EBS time-based copy (`--copy-within`), USD per GiB copied: the price of the fastest tier
/// (a 15-minute completion duration) in AWS's EBS price list as of 2024-12
/// (<https://aws.amazon.com/ebs/pricing/>, "Time-based copy"; as quoted by
/// <https://awsinsider.net/Articles/2024/12/13/Creating-Time-Based-Copies-of-Your-EBS-Snapshots.aspx>:
/// "a 15 minute copy costs two cents per GiB of data"). Time-based copies are "charged per GiB
/// of data copied" (EBS "Time-based copies", Pricing and billing,
/// <https://docs.aws.amazon.com/ebs/latest/userguide/time-based-copies.html>); longer durations
/// cost less per GiB, so this is an upper-bound estimate for any duration.
pub const TIME_BASED_COPY_USD_PER_GIB: f64 = 0.02;

/// Where [`TIME_BASED_COPY_USD_PER_GIB`] comes from and when: shown with every figure.
pub const TIME_BASED_COPY_SOURCE: &str =
    "estimate: EBS time-based copy, 15-minute tier $0.02/GiB (upper bound for longer durations), AWS price list as of 2024-12 (aws.amazon.com/ebs/pricing)";

/// The on-demand price per hour of `instance_type`, when the table has it.
pub fn usd_per_hour(instance_type: &str) -> Option<f64> {
    ON_DEMAND_USD_PER_HOUR
        .iter()
        .find(|(t, _)| *t == instance_type)
        .map(|(_, p)| *p)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_size_has_a_price_and_unknown_types_have_none() {
        for (size, x86, arm) in crate::sizes::SIZES {
            for t in [x86, arm] {
                assert!(super::usd_per_hour(t).is_some(), "{size}: {t} has no price");
            }
        }
        assert_eq!(super::usd_per_hour("g5.2xlarge"), Some(1.212));
        assert_eq!(super::usd_per_hour("x9.huge"), None);
    }
}
