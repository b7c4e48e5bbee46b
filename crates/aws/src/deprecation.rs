//! Image deprecation (`EnableImageDeprecation` / `DisableImageDeprecation`), deregistration
//! protection (`Enable`/`DisableImageDeregistrationProtection`) and `DeleteTags`.
//! moto 5.2 has none of the deprecation or protection calls: their request shapes are checked against a
//! recording loopback server (`tests/request_shapes.rs`).

use crate::errors::sdk_error;
use aws_sdk_ec2::types as ec2;
use prism_cloud::{CloudResult, RecycledImage, RecycledSnapshot};

/// Sets `DeprecateAt` on `image_id` (EC2 rounds seconds to the minute).
pub(crate) async fn enable(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    image_id: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> CloudResult<()> {
    const ACTION: &str = "EnableImageDeprecation";
    ec2.enable_image_deprecation()
        .image_id(image_id)
        .deprecate_at(aws_smithy_types::DateTime::from_secs(at.timestamp()))
        .send()
        .await
        .map_err(|e| sdk_error(ACTION, region, Some(image_id), e))?;
    Ok(())
}

/// Cancels the deprecation of `image_id`.
pub(crate) async fn disable(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    image_id: &str,
) -> CloudResult<()> {
    const ACTION: &str = "DisableImageDeprecation";
    ec2.disable_image_deprecation()
        .image_id(image_id)
        .send()
        .await
        .map_err(|e| sdk_error(ACTION, region, Some(image_id), e))?;
    Ok(())
}

/// Removes the tags with `keys` from `resource_ids` (nothing to do when either is empty).
pub(crate) async fn delete_tags(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    resource_ids: &[String],
    keys: &[String],
) -> CloudResult<()> {
    const ACTION: &str = "DeleteTags";
    if resource_ids.is_empty() || keys.is_empty() {
        return Ok(());
    }
    // DeleteTags: a tag given by key only is removed whatever its value.
    let tags: Vec<ec2::Tag> = keys
        .iter()
        .map(|k| ec2::Tag::builder().key(k).build())
        .collect();
    ec2.delete_tags()
        .set_resources(Some(resource_ids.to_vec()))
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| sdk_error(ACTION, region, Some(&resource_ids.join(",")), e))?;
    Ok(())
}

/// Protects `image_id` from deregistration (`WithCooldown` only when asked).
pub(crate) async fn protect(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    image_id: &str,
    with_cooldown: bool,
) -> CloudResult<()> {
    const ACTION: &str = "EnableImageDeregistrationProtection";
    let mut call = ec2
        .enable_image_deregistration_protection()
        .image_id(image_id);
    if with_cooldown {
        call = call.with_cooldown(true);
    }
    call.send()
        .await
        .map_err(|e| sdk_error(ACTION, region, Some(image_id), e))?;
    Ok(())
}

/// Lifts the deregistration protection of `image_id`.
pub(crate) async fn unprotect(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    image_id: &str,
) -> CloudResult<()> {
    const ACTION: &str = "DisableImageDeregistrationProtection";
    ec2.disable_image_deregistration_protection()
        .image_id(image_id)
        .send()
        .await
        .map_err(|e| sdk_error(ACTION, region, Some(image_id), e))?;
    Ok(())
}

/// Which of `image_ids` Recycle Bin keeps, and until when (`ListImagesInRecycleBin`). One call
/// with the SDK's own retries only: it is advisory, and an endpoint without it (moto) must not
/// hold a deletion up.
pub(crate) async fn recycled(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    image_ids: &[String],
) -> CloudResult<Vec<RecycledImage>> {
    const ACTION: &str = "ListImagesInRecycleBin";
    if image_ids.is_empty() {
        return Ok(vec![]);
    }
    let out = ec2
        .list_images_in_recycle_bin()
        .set_image_ids(Some(image_ids.to_vec()))
        .send()
        .await
        .map_err(|e| sdk_error(ACTION, region, Some(&image_ids.join(",")), e))?;
    Ok(out
        .images()
        .iter()
        .map(|i| RecycledImage {
            image_id: i.image_id().unwrap_or_default().to_string(),
            exit_time: i.recycle_bin_exit_time().and_then(|t| {
                chrono::DateTime::from_timestamp(t.secs(), 0)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            }),
        })
        .collect())
}

fn rfc3339(t: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    t.and_then(|t| {
        chrono::DateTime::from_timestamp(t.secs(), 0)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    })
}

/// Which of `snapshot_ids` Recycle Bin keeps (`ListSnapshotsInRecycleBin` with `SnapshotIds`).
pub(crate) async fn recycled_snapshots(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    snapshot_ids: &[String],
) -> CloudResult<Vec<RecycledSnapshot>> {
    const ACTION: &str = "ListSnapshotsInRecycleBin";
    if snapshot_ids.is_empty() {
        return Ok(vec![]);
    }
    let out = ec2
        .list_snapshots_in_recycle_bin()
        .set_snapshot_ids(Some(snapshot_ids.to_vec()))
        .send()
        .await
        .map_err(|e| sdk_error(ACTION, region, Some(&snapshot_ids.join(",")), e))?;
    Ok(out
        .snapshots()
        .iter()
        .map(|s| RecycledSnapshot {
            snapshot_id: s.snapshot_id().unwrap_or_default().to_string(),
            exit_time: rfc3339(s.recycle_bin_exit_time()),
            description: s.description().map(str::to_string),
        })
        .collect())
}

/// `RestoreSnapshotFromRecycleBin` of one snapshot.
pub(crate) async fn restore_snapshot(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    snapshot_id: &str,
) -> CloudResult<()> {
    const ACTION: &str = "RestoreSnapshotFromRecycleBin";
    ec2.restore_snapshot_from_recycle_bin()
        .snapshot_id(snapshot_id)
        .send()
        .await
        .map_err(|e| sdk_error(ACTION, region, Some(snapshot_id), e))?;
    Ok(())
}

/// `RestoreImageFromRecycleBin` of one image.
pub(crate) async fn restore_image(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    image_id: &str,
) -> CloudResult<()> {
    const ACTION: &str = "RestoreImageFromRecycleBin";
    ec2.restore_image_from_recycle_bin()
        .image_id(image_id)
        .send()
        .await
        .map_err(|e| sdk_error(ACTION, region, Some(image_id), e))?;
    Ok(())
}
