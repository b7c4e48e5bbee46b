//! Tagging any EC2 resource (`CreateTags`).

use crate::convert::tags_to_sdk;
use crate::errors::sdk_error;
use prism_cloud::{CloudResult, Tags};

/// Most resources EC2 accepts in one `CreateTags` call.
const MAX_RESOURCES_PER_CALL: usize = 1000;

/// Adds or overwrites `tags` on `resource_ids` (nothing to do when either is empty).
pub(crate) async fn create_tags(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    resource_ids: &[String],
    tags: &Tags,
) -> CloudResult<()> {
    const ACTION: &str = "CreateTags";
    if resource_ids.is_empty() || tags.is_empty() {
        return Ok(());
    }
    for chunk in resource_ids.chunks(MAX_RESOURCES_PER_CALL) {
        ec2.create_tags()
            .set_resources(Some(chunk.to_vec()))
            .set_tags(Some(tags_to_sdk(tags)))
            .send()
            .await
            .map_err(|e| sdk_error(ACTION, region, Some(&chunk.join(",")), e))?;
    }
    Ok(())
}
