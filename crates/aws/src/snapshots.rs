//! Snapshots: describe (by id or by tag, owned by self) and delete.

use crate::calls::MAX_PAGES;
use crate::convert::{snapshot_from_sdk, tag_filters};
use crate::errors::sdk_error;
use prism_cloud::{CloudErrorKind, CloudResult, Snapshot, SnapshotQuery};

/// Snapshots by id, or else owned by this account and having all `query.tags`.
/// Ids that do not exist give an empty list (`InvalidSnapshot.NotFound` is absorbed).
pub(crate) async fn describe(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    query: &SnapshotQuery,
) -> CloudResult<Vec<Snapshot>> {
    const ACTION: &str = "DescribeSnapshots";
    let mut filters = tag_filters(&query.tags, &[]);
    if let Some(d) = &query.description {
        filters.push(crate::convert::filter("description", [d.as_str()]));
    }
    let call = ec2.describe_snapshots().set_filters(if filters.is_empty() {
        None
    } else {
        Some(filters)
    });
    let mut snapshots = Vec::new();
    if query.ids.is_empty() {
        // Without an owner, EC2 also lists every public snapshot of every account.
        let mut pages = call
            .owner_ids("self")
            .into_paginator()
            .page_size(1000)
            .send();
        let mut read = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error(ACTION, region, None, e))?;
            snapshots.extend(page.snapshots().iter().map(snapshot_from_sdk));
            read += 1;
            if read >= MAX_PAGES {
                tracing::warn!(region, "DescribeSnapshots: stopped after {MAX_PAGES} pages");
                break;
            }
        }
    } else {
        let resource = query.ids.join(",");
        match call.set_snapshot_ids(Some(query.ids.clone())).send().await {
            Ok(out) => snapshots.extend(out.snapshots().iter().map(snapshot_from_sdk)),
            Err(e) => {
                let e = sdk_error(ACTION, region, Some(&resource), e);
                if e.kind != CloudErrorKind::NotFound {
                    return Err(e);
                }
            }
        }
    }
    Ok(snapshots)
}

/// Deletes `snapshot_id`; a snapshot that does not exist is not an error.
pub(crate) async fn delete(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    snapshot_id: &str,
) -> CloudResult<()> {
    match ec2.delete_snapshot().snapshot_id(snapshot_id).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = sdk_error("DeleteSnapshot", region, Some(snapshot_id), e);
            if e.is_not_found() {
                tracing::debug!("{e} (already gone)");
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}
