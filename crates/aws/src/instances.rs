//! Instances: describe (with attached volume sizes), run, start, stop, terminate.

use crate::calls::{no_retry, MAX_PAGES};
use crate::convert::{filter, instance_from_sdk, tag_filters, tag_spec};
use crate::errors::{missing, sdk_error};
use aws_sdk_ec2::types as ec2;
use prism_cloud::{CloudResult, Instance, InstanceFilter, RunSpec};
use std::collections::HashMap;

/// Most values EC2 accepts in one filter.
const MAX_FILTER_VALUES: usize = 200;
/// Instance states other than `terminated`.
const LIVE_STATES: [&str; 5] = ["pending", "running", "stopping", "stopped", "shutting-down"];
/// Root device name assumed when the AMI does not say.
const DEFAULT_ROOT_DEVICE: &str = "/dev/sda1";

/// Instances matching `filter`, terminated ones only when asked, with the sizes of their
/// attached EBS volumes (root volume first).
///
/// Ids are matched with the `instance-id` filter, so an unknown id is simply absent from
/// the result (no `InvalidInstanceID.NotFound`).
pub(crate) async fn describe(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    filter_: &InstanceFilter,
) -> CloudResult<Vec<Instance>> {
    let mut base = tag_filters(&filter_.tags, &filter_.tag_keys);
    if !filter_.include_terminated {
        base.push(filter("instance-state-name", LIVE_STATES));
    }
    let mut instances = Vec::new();
    let mut roots = HashMap::new();
    if filter_.ids.is_empty() {
        describe_pages(ec2, region, base, &mut instances, &mut roots).await?;
    } else {
        for chunk in filter_.ids.chunks(MAX_FILTER_VALUES) {
            let mut filters = base.clone();
            filters.push(filter("instance-id", chunk.iter().cloned()));
            describe_pages(ec2, region, filters, &mut instances, &mut roots).await?;
        }
    }
    if !instances.is_empty() {
        fill_volume_sizes(ec2, region, &mut instances, &roots).await;
    }
    Ok(instances)
}

/// Reads every page of one `DescribeInstances` query, flattening reservations; records each
/// instance's root device name in `roots`.
async fn describe_pages(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    filters: Vec<ec2::Filter>,
    out: &mut Vec<Instance>,
    roots: &mut HashMap<String, String>,
) -> CloudResult<()> {
    const ACTION: &str = "DescribeInstances";
    let mut pages = ec2
        .describe_instances()
        .set_filters(Some(filters))
        .into_paginator()
        .page_size(1000)
        .send();
    let mut read = 0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error(ACTION, region, None, e))?;
        for i in page.reservations().iter().flat_map(|r| r.instances()) {
            let inst = instance_from_sdk(region, i);
            if let Some(root) = i.root_device_name() {
                roots.insert(inst.id.clone(), root.to_string());
            }
            out.push(inst);
        }
        read += 1;
        if read >= MAX_PAGES {
            tracing::warn!(region, "DescribeInstances: stopped after {MAX_PAGES} pages");
            break;
        }
    }
    Ok(())
}

/// Fills `volume_sizes_gb` with one `DescribeVolumes` query per 200 instances. Sizes are a
/// report detail: a failure (e.g. no `ec2:DescribeVolumes` permission) is logged and leaves
/// them empty rather than failing the description.
async fn fill_volume_sizes(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    instances: &mut [Instance],
    roots: &HashMap<String, String>,
) {
    let ids: Vec<String> = instances.iter().map(|i| i.id.clone()).collect();
    // instance id → (is not root, device, size)
    let mut found: HashMap<String, Vec<(bool, String, i32)>> = HashMap::new();
    for chunk in ids.chunks(MAX_FILTER_VALUES) {
        let mut pages = ec2
            .describe_volumes()
            .filters(filter("attachment.instance-id", chunk.iter().cloned()))
            .into_paginator()
            .page_size(500)
            .send();
        let mut read = 0;
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    let e = sdk_error("DescribeVolumes", region, None, e);
                    tracing::warn!("volume sizes unavailable: {e}");
                    return;
                }
            };
            for v in page.volumes() {
                let size = v.size().unwrap_or(0);
                for a in v.attachments() {
                    let (Some(inst), Some(dev)) = (a.instance_id(), a.device()) else {
                        continue;
                    };
                    let is_root = roots.get(inst).is_some_and(|r| r == dev);
                    found.entry(inst.to_string()).or_default().push((
                        !is_root,
                        dev.to_string(),
                        size,
                    ));
                }
            }
            read += 1;
            if read >= MAX_PAGES {
                break;
            }
        }
    }
    for inst in instances.iter_mut() {
        if let Some(mut vols) = found.remove(&inst.id) {
            vols.sort();
            inst.volume_sizes_gb = vols.into_iter().map(|(_, _, s)| s).collect();
        }
    }
}

/// Runs one instance of `spec` (MinCount = MaxCount = 1) with its tags on the instance and
/// its volumes, user data base64-encoded, and the root volume resized when asked.
pub(crate) async fn run(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    spec: &RunSpec,
) -> CloudResult<Instance> {
    const ACTION: &str = "RunInstances";
    let mut req = ec2
        .run_instances()
        .image_id(&spec.image_id)
        .instance_type(ec2::InstanceType::from(spec.instance_type.as_str()))
        .min_count(1)
        .max_count(1);
    if !spec.client_token.is_empty() {
        req = req.client_token(&spec.client_token);
    }
    if let Some(key) = &spec.key_name {
        req = req.key_name(key);
    }
    if !spec.security_group_ids.is_empty() {
        req = req.set_security_group_ids(Some(spec.security_group_ids.clone()));
    }
    if let Some(subnet) = &spec.subnet_id {
        req = req.subnet_id(subnet);
    }
    // IMDSv2 only ("Configure the instance metadata options for new instances", EC2 User
    // Guide: `HttpTokens=required` makes the metadata service refuse requests without a
    // session token; `HttpEndpoint=enabled` keeps it reachable).
    req = req.metadata_options(
        ec2::InstanceMetadataOptionsRequest::builder()
            .http_tokens(ec2::HttpTokensState::Required)
            .http_endpoint(ec2::InstanceMetadataEndpointState::Enabled)
            .build(),
    );
    if let Some(script) = &spec.user_data {
        req = req.user_data(aws_smithy_types::base64::encode(script));
    }
    if let Some(size) = spec.root_volume_gb {
        let device = root_device_name(ec2, region, &spec.image_id).await?;
        req = req.block_device_mappings(
            ec2::BlockDeviceMapping::builder()
                .device_name(device)
                .ebs(
                    ec2::EbsBlockDevice::builder()
                        .volume_size(size)
                        .delete_on_termination(true)
                        .build(),
                )
                .build(),
        );
    }
    for resource in [ec2::ResourceType::Instance, ec2::ResourceType::Volume] {
        if let Some(ts) = tag_spec(resource, &spec.tags) {
            req = req.tag_specifications(ts);
        }
    }
    // Not idempotent on every EC2 (CreateImage has no token; moto ignores ClientToken): no
    // blind SDK retry. The caller looks for what a lost answer may have created, then retries.
    let out = req
        .customize()
        .config_override(no_retry())
        .send()
        .await
        .map_err(|e| sdk_error(ACTION, region, Some(&spec.image_id), e))?;
    let first = out
        .instances()
        .first()
        .ok_or_else(|| missing(ACTION, region, "instance"))?;
    let mut inst = instance_from_sdk(region, first);
    if inst.id.is_empty() {
        return Err(missing(ACTION, region, "instance id"));
    }
    // Tag specifications are applied atomically with the launch.
    if inst.tags.is_empty() {
        inst.tags = spec.tags.clone();
    }
    if let Some(size) = spec.root_volume_gb {
        inst.volume_sizes_gb = vec![size];
    }
    Ok(inst)
}

/// The root device name of `image_id` (`/dev/sda1` when the AMI does not say).
async fn root_device_name(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    image_id: &str,
) -> CloudResult<String> {
    let out = ec2
        .describe_images()
        .image_ids(image_id)
        .send()
        .await
        .map_err(|e| sdk_error("DescribeImages", region, Some(image_id), e))?;
    Ok(out
        .images()
        .first()
        .and_then(|i| i.root_device_name())
        .unwrap_or(DEFAULT_ROOT_DEVICE)
        .to_string())
}

/// Requests a start of `id`.
pub(crate) async fn start(ec2: &aws_sdk_ec2::Client, region: &str, id: &str) -> CloudResult<()> {
    ec2.start_instances()
        .instance_ids(id)
        .send()
        .await
        .map_err(|e| sdk_error("StartInstances", region, Some(id), e))?;
    Ok(())
}

/// Requests a stop of `id`.
pub(crate) async fn stop(ec2: &aws_sdk_ec2::Client, region: &str, id: &str) -> CloudResult<()> {
    ec2.stop_instances()
        .instance_ids(id)
        .send()
        .await
        .map_err(|e| sdk_error("StopInstances", region, Some(id), e))?;
    Ok(())
}

/// Requests termination of `id`.
pub(crate) async fn terminate(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    id: &str,
) -> CloudResult<()> {
    ec2.terminate_instances()
        .instance_ids(id)
        .send()
        .await
        .map_err(|e| sdk_error("TerminateInstances", region, Some(id), e))?;
    Ok(())
}
