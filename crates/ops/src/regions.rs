//! Region checks shared by operations.

use crate::backoff::retry;
use crate::error::OpsError;
use crate::naming::region_shape_ok;
use prism_cloud::Cloud;

/// The refusal of a malformed region name.
pub fn not_a_region(region: &str) -> OpsError {
    OpsError::invalid(
        format!("'{region}' is not a region name"),
        Some("use a name like us-east-1; list them with: aws ec2 describe-regions".into()),
    )
}

/// A region every commercial-partition account has, asked when another region's endpoint fails.
const FALLBACK_REGION: &str = "us-east-1";

/// Refuses a region name that is malformed or that EC2 does not list for this account.
pub async fn check(cloud: &dyn Cloud, region: &str) -> Result<(), OpsError> {
    check_all(cloud, &[region.to_string()]).await
}

/// Like [`check`] for several regions, with one `DescribeRegions` call for all of them.
pub async fn check_all(cloud: &dyn Cloud, regions: &[String]) -> Result<(), OpsError> {
    if let Some(bad) = regions.iter().find(|r| !region_shape_ok(r)) {
        return Err(not_a_region(bad));
    }
    let Some(first_region) = regions.first() else {
        return Ok(());
    };
    // Ask a region that always exists first: a name EC2 does not know has no endpoint, and
    // asking it directly only times out. If that fails (e.g. credentials of another
    // partition), ask the first region itself.
    let known = match retry(|| cloud.describe_regions(FALLBACK_REGION)).await {
        Ok(k) => k,
        Err(first) => match cloud.describe_regions(first_region).await {
            Ok(k) => k,
            Err(e) if e.is_transient() => {
                return Err(OpsError::invalid(
                    format!("region '{first_region}' is unknown or unreachable: {e}"),
                    Some("check the region name and your network".into()),
                ))
            }
            Err(_) => return Err(first.into()),
        },
    };
    if let Some(unknown) = regions.iter().find(|r| !known.contains(r)) {
        return Err(OpsError::invalid(
            format!("unknown or disabled region '{unknown}'"),
            Some(format!("enabled regions: {}", known.join(", "))),
        ));
    }
    Ok(())
}
