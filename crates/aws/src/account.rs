//! Account-level calls: enabled regions (EC2 `DescribeRegions`) and caller identity (STS).

use crate::errors::{missing, sdk_error};
use prism_cloud::{CallerIdentity, CloudResult};

/// Names of the regions enabled for the account (`DescribeRegions`, `AllRegions=false`).
pub(crate) async fn describe_regions(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
) -> CloudResult<Vec<String>> {
    const ACTION: &str = "DescribeRegions";
    let out = ec2
        .describe_regions()
        .all_regions(false)
        .send()
        .await
        .map_err(|e| sdk_error(ACTION, region, None, e))?;
    let mut names: Vec<String> = out
        .regions()
        .iter()
        .filter_map(|r| r.region_name())
        .map(str::to_string)
        .collect();
    names.sort();
    Ok(names)
}

/// The caller's account and ARN (`GetCallerIdentity`).
pub(crate) async fn caller_identity(
    sts: &aws_sdk_sts::Client,
    region: &str,
) -> CloudResult<CallerIdentity> {
    const ACTION: &str = "GetCallerIdentity";
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| sdk_error(ACTION, region, None, e))?;
    Ok(CallerIdentity {
        account: out
            .account()
            .ok_or_else(|| missing(ACTION, region, "account"))?
            .to_string(),
        arn: out
            .arn()
            .ok_or_else(|| missing(ACTION, region, "ARN"))?
            .to_string(),
    })
}
