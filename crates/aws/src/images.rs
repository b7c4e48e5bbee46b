//! Images: create, describe, deregister, copy to another region.

use crate::calls::{no_retry, MAX_PAGES};
use crate::convert::{filter, image_from_sdk, tag_filters, tag_spec};
use crate::errors::{missing, sdk_error};
use aws_sdk_ec2::types as ec2;
use prism_cloud::{
    CloudErrorKind, CloudResult, CopyImageRequest, CreateImageRequest, Image, ImageQuery,
};

/// Codes meaning "this image is gone" (already deregistered, or never existed).
const IMAGE_GONE: [&str; 2] = ["InvalidAMIID.NotFound", "InvalidAMIID.Unavailable"];

/// Creates an image of `req.instance_id`; tags only the image (a `snapshot` tag
/// specification is not portable: moto answers 500 — snapshots are tagged afterwards).
pub(crate) async fn create(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    req: &CreateImageRequest,
) -> CloudResult<String> {
    const ACTION: &str = "CreateImage";
    let mut call = ec2
        .create_image()
        .instance_id(&req.instance_id)
        .name(&req.name)
        .description(&req.description)
        .no_reboot(req.no_reboot);
    if let Some(ts) = tag_spec(ec2::ResourceType::Image, &req.tags) {
        call = call.tag_specifications(ts);
    }
    // Not idempotent on every EC2 (CreateImage has no token; moto ignores ClientToken): no
    // blind SDK retry. The caller looks for what a lost answer may have created, then retries.
    let out = call
        .customize()
        .config_override(no_retry())
        .send()
        .await
        .map_err(|e| sdk_error(ACTION, region, Some(&req.instance_id), e))?;
    out.image_id()
        .map(str::to_string)
        .ok_or_else(|| missing(ACTION, region, "image id"))
}

/// Images matching `query`. Asking for ids none of which exists gives an empty list (EC2's
/// `InvalidAMIID.NotFound` is absorbed), as does asking for images that match nothing.
pub(crate) async fn describe(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    query: &ImageQuery,
) -> CloudResult<Vec<Image>> {
    const ACTION: &str = "DescribeImages";
    let mut filters = tag_filters(&query.tags, &query.tag_keys);
    if let Some(name) = &query.name {
        filters.push(filter("name", [name.as_str()]));
    }
    if let Some(arch) = &query.architecture {
        filters.push(filter("architecture", [arch.as_str()]));
    }
    let call = ec2
        .describe_images()
        .set_image_ids(non_empty(&query.ids))
        .set_owners(non_empty(&query.owners))
        .set_executable_users(non_empty(&query.executable_users))
        // Without it EC2 leaves other accounts' deprecated images out of a listing, and
        // recipients could not see that a version they use was deprecated.
        .include_deprecated(true)
        .set_filters(if filters.is_empty() {
            None
        } else {
            Some(filters)
        });
    let resource = (!query.ids.is_empty()).then(|| query.ids.join(","));
    let mut images = Vec::new();
    if query.ids.is_empty() {
        // MaxResults cannot be combined with ImageIds; without ids, page through.
        let mut pages = call.into_paginator().page_size(1000).send();
        let mut read = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error(ACTION, region, None, e))?;
            images.extend(page.images().iter().map(|i| image_from_sdk(region, i)));
            read += 1;
            if read >= MAX_PAGES {
                tracing::warn!(region, "DescribeImages: stopped after {MAX_PAGES} pages");
                break;
            }
        }
    } else {
        match call.send().await {
            Ok(out) => images.extend(out.images().iter().map(|i| image_from_sdk(region, i))),
            Err(e) => {
                let e = sdk_error(ACTION, region, resource.as_deref(), e);
                if e.kind != CloudErrorKind::NotFound {
                    return Err(e);
                }
            }
        }
    }
    Ok(images)
}

/// Deregisters `image_id`; an image that is already gone is not an error.
pub(crate) async fn deregister(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    image_id: &str,
    delete_snapshots: bool,
) -> CloudResult<()> {
    // DeleteAssociatedSnapshots (DeregisterImage, 2025): EC2 deletes the image's snapshots
    // with it. An endpoint that does not know the parameter (moto) ignores it.
    let call = ec2.deregister_image().image_id(image_id);
    let call = if delete_snapshots {
        call.delete_associated_snapshots(true)
    } else {
        call
    };
    match call.send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = sdk_error("DeregisterImage", region, Some(image_id), e);
            if e.code.as_deref().is_some_and(|c| IMAGE_GONE.contains(&c)) {
                tracing::debug!("{e} (already gone)");
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}

/// Starts a copy of `req.source_image_id` from `req.source_region`; `ec2` is the client of
/// `dest_region`.
pub(crate) async fn copy(
    ec2: &aws_sdk_ec2::Client,
    dest_region: &str,
    req: &CopyImageRequest,
) -> CloudResult<String> {
    const ACTION: &str = "CopyImage";
    let mut call = ec2
        .copy_image()
        .source_region(&req.source_region)
        .source_image_id(&req.source_image_id)
        .name(&req.name)
        .description(&req.description);
    if !req.client_token.is_empty() {
        call = call.client_token(&req.client_token);
    }
    // Tagged at creation, so the copy is never untagged while not yet visible (moto ignores
    // CopyImage's TagSpecifications: the caller tags again afterwards).
    if let Some(ts) = tag_spec(ec2::ResourceType::Image, &req.tags) {
        call = call.tag_specifications(ts);
    }
    if let Some(key) = &req.kms_key_id {
        call = call.encrypted(true).kms_key_id(key);
    }
    // A time-based copy (CopyImage `SnapshotCopyCompletionDurationMinutes`, EC2 API Reference,
    // <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopyImage.html>): each of the
    // image's snapshots is copied within this many minutes; without it the copy is best-effort.
    if let Some(minutes) = req.completion_duration_minutes {
        call = call.snapshot_copy_completion_duration_minutes(i64::from(minutes));
    }
    // Not idempotent on every EC2 (CreateImage has no token; moto ignores ClientToken): no
    // blind SDK retry. The caller looks for what a lost answer may have created, then retries.
    let out = call
        .customize()
        .config_override(no_retry())
        .send()
        .await
        .map_err(|e| sdk_error(ACTION, dest_region, Some(&req.source_image_id), e))?;
    out.image_id()
        .map(str::to_string)
        .ok_or_else(|| missing(ACTION, dest_region, "image id"))
}

/// `Some(list)` when the list has entries.
fn non_empty(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}
