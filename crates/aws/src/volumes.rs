//! EBS volumes (`DescribeVolumes`) and root volume replacement
//! (`CreateReplaceRootVolumeTask`, `DescribeReplaceRootVolumeTasks`). moto 5.2 has no
//! replace-root-volume calls: their request shapes are checked against a recording loopback
//! server (`tests/request_shapes.rs`).

use crate::calls::MAX_PAGES;
use crate::convert::{filter, tag_spec, tags_from_sdk};
use crate::errors::sdk_error;
use aws_sdk_ec2::types as ec2;
use prism_cloud::{
    CloudResult, ReplaceRootQuery, ReplaceRootRequest, ReplaceRootState, ReplaceRootTask, Volume,
    VolumeQuery,
};

/// `DescribeVolumes` by ids or by `attachment.instance-id`, every page (up to `MAX_PAGES`).
pub(crate) async fn describe(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    query: &VolumeQuery,
) -> CloudResult<Vec<Volume>> {
    const ACTION: &str = "DescribeVolumes";
    let mut req = ec2.describe_volumes();
    if !query.ids.is_empty() {
        req = req.set_volume_ids(Some(query.ids.clone()));
    }
    if let Some(i) = &query.instance_id {
        req = req.filters(filter("attachment.instance-id", [i.as_str()]));
    }
    let mut pages = req.into_paginator().send();
    let mut out = Vec::new();
    let mut read = 0;
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| sdk_error(ACTION, region, query.ids.first().map(String::as_str), e))?;
        out.extend(page.volumes().iter().map(|v| volume_from_sdk(region, v)));
        read += 1;
        if read >= MAX_PAGES {
            tracing::warn!(region, "DescribeVolumes: stopped after {MAX_PAGES} pages");
            break;
        }
    }
    Ok(out)
}

fn volume_from_sdk(region: &str, v: &ec2::Volume) -> Volume {
    let att = v.attachments().first();
    Volume {
        id: v.volume_id().unwrap_or_default().to_string(),
        region: region.to_string(),
        state: v
            .state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        instance_id: att.and_then(|a| a.instance_id()).map(str::to_string),
        device: att.and_then(|a| a.device()).map(str::to_string),
        snapshot_id: v
            .snapshot_id()
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        size_gb: i64::from(v.size().unwrap_or(0)),
        tags: tags_from_sdk(v.tags()),
    }
}

/// `CreateReplaceRootVolumeTask` with `ImageId`, `DeleteReplacedRootVolume=false` (the
/// replaced root volume is kept, detached) and the task's tags. Not retried here: the
/// `ClientToken` makes the saga's retry idempotent.
pub(crate) async fn replace_root(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    req: &ReplaceRootRequest,
) -> CloudResult<ReplaceRootTask> {
    const ACTION: &str = "CreateReplaceRootVolumeTask";
    let mut call = ec2
        .create_replace_root_volume_task()
        .instance_id(&req.instance_id)
        .image_id(&req.image_id)
        .delete_replaced_root_volume(false);
    if !req.client_token.is_empty() {
        call = call.client_token(&req.client_token);
    }
    if let Some(ts) = tag_spec(ec2::ResourceType::ReplaceRootVolumeTask, &req.tags) {
        call = call.tag_specifications(ts);
    }
    let out = call
        .send()
        .await
        .map_err(|e| sdk_error(ACTION, region, Some(&req.instance_id), e))?;
    out.replace_root_volume_task()
        .map(task_from_sdk)
        .ok_or_else(|| crate::errors::missing(ACTION, region, "ReplaceRootVolumeTask"))
}

/// `DescribeReplaceRootVolumeTasks` by task ids or by the `instance-id` filter.
pub(crate) async fn describe_tasks(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    query: &ReplaceRootQuery,
) -> CloudResult<Vec<ReplaceRootTask>> {
    const ACTION: &str = "DescribeReplaceRootVolumeTasks";
    let mut req = ec2.describe_replace_root_volume_tasks();
    if !query.ids.is_empty() {
        req = req.set_replace_root_volume_task_ids(Some(query.ids.clone()));
    }
    if let Some(i) = &query.instance_id {
        req = req.filters(filter("instance-id", [i.as_str()]));
    }
    let mut pages = req.into_paginator().send();
    let mut out = Vec::new();
    let mut read = 0;
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| sdk_error(ACTION, region, query.ids.first().map(String::as_str), e))?;
        out.extend(page.replace_root_volume_tasks().iter().map(task_from_sdk));
        read += 1;
        if read >= MAX_PAGES {
            break;
        }
    }
    Ok(out)
}

fn task_from_sdk(t: &ec2::ReplaceRootVolumeTask) -> ReplaceRootTask {
    ReplaceRootTask {
        id: t
            .replace_root_volume_task_id()
            .unwrap_or_default()
            .to_string(),
        instance_id: t.instance_id().unwrap_or_default().to_string(),
        image_id: t.image_id().map(str::to_string),
        state: t
            .task_state()
            .map(|s| ReplaceRootState::parse(s.as_str()))
            .unwrap_or(ReplaceRootState::Unknown),
        delete_replaced_root_volume: t.delete_replaced_root_volume().unwrap_or(false),
        start_time: t.start_time().map(str::to_string),
        complete_time: t.complete_time().map(str::to_string),
        tags: tags_from_sdk(t.tags()),
    }
}
