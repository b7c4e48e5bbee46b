//! Region checks shared by operations.

use crate::backoff::retry;
use crate::error::OpsError;
use crate::naming::region_shape_ok;
use prism_cloud::Cloud;

/// Refuses a region name that is malformed or that EC2 does not list for this account.
pub async fn check(cloud: &dyn Cloud, region: &str) -> Result<(), OpsError> {
    if !region_shape_ok(region) {
        return Err(OpsError::invalid(
            format!("'{region}' is not a region name"),
            Some("use a name like us-east-1; list them with: aws ec2 describe-regions".into()),
        ));
    }
    let known = retry(|| cloud.describe_regions(region)).await;
    let known = match known {
        Ok(k) => k,
        Err(e) if e.is_transient() => {
            return Err(OpsError::invalid(
                format!("region '{region}' is unknown or unreachable: {e}"),
                Some("check the region name and your network".into()),
            ))
        }
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
