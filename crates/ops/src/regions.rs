//! Region checks shared by operations.

use crate::backoff::retry;
use crate::error::OpsError;
use crate::naming::region_shape_ok;
use prism_cloud::Cloud;

/// A region every commercial-partition account has, asked when another region's endpoint fails.
const FALLBACK_REGION: &str = "us-east-1";

/// Refuses a region name that is malformed or that EC2 does not list for this account.
pub async fn check(cloud: &dyn Cloud, region: &str) -> Result<(), OpsError> {
    if !region_shape_ok(region) {
        return Err(OpsError::invalid(
            format!("'{region}' is not a region name"),
            Some("use a name like us-east-1; list them with: aws ec2 describe-regions".into()),
        ));
    }
    // Ask the region itself; if its endpoint does not answer (a name EC2 does not know has
    // no endpoint), ask a region that always exists and compare.
    let known = match retry(|| cloud.describe_regions(region)).await {
        Ok(k) => k,
        Err(e) if e.is_transient() => match retry(|| cloud.describe_regions(FALLBACK_REGION)).await
        {
            Ok(k) => k,
            Err(_) => {
                return Err(OpsError::invalid(
                    format!("region '{region}' is unknown or unreachable: {e}"),
                    Some("check the region name and your network".into()),
                ))
            }
        },
        Err(e) => return Err(e.into()),
    };
    if !known.iter().any(|r| r == region) {
        return Err(OpsError::invalid(
            format!("unknown or disabled region '{region}'"),
            Some(format!("enabled regions: {}", known.join(", "))),
        ));
    }
    Ok(())
}
