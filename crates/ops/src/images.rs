//! Image helpers shared by save and copy: find by name, tag with snapshots, delete with
//! snapshots, wait for `available`.

use crate::backoff::{retry, Backoff};
use crate::context::StepCx;
use crate::error::StepError;
use crate::poll::{poll_until, Poll};
use prism_cloud::{Cloud, Image, ImageQuery, ImageState, SnapshotQuery, Tags};

/// Our image named `name` in `region`, if any (names are operation-unique).
pub async fn find_by_name(
    cloud: &dyn Cloud,
    region: &str,
    name: &str,
) -> Result<Option<Image>, StepError> {
    let q = ImageQuery {
        owners: vec!["self".into()],
        name: Some(name.to_string()),
        ..Default::default()
    };
    let mut found = retry(|| cloud.describe_images(region, &q)).await?;
    found.retain(|i| i.name == name && i.state != ImageState::Deregistered);
    Ok(found.into_iter().next())
}

/// One image by id (`None` when it does not exist), for steps.
pub async fn get(cloud: &dyn Cloud, region: &str, id: &str) -> Result<Option<Image>, StepError> {
    Ok(lookup(cloud, region, id).await?)
}

/// One image by id, `None` when it does not exist (EC2 answers an unknown id with an error
/// or, for a recently deregistered one, with nothing).
pub async fn lookup(
    cloud: &dyn Cloud,
    region: &str,
    id: &str,
) -> Result<Option<Image>, prism_cloud::CloudError> {
    let q = ImageQuery {
        ids: vec![id.to_string()],
        ..Default::default()
    };
    match retry(|| cloud.describe_images(region, &q)).await {
        Ok(v) => Ok(v.into_iter().find(|i| i.id == id)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Tags an image and all its snapshots (explicitly: copies do not inherit tags).
pub async fn tag_with_snapshots(
    cloud: &dyn Cloud,
    region: &str,
    image_id: &str,
    tags: &Tags,
) -> Result<Vec<String>, StepError> {
    let img = get(cloud, region, image_id).await?.ok_or_else(|| {
        StepError::Terminal(format!(
            "image {image_id} in {region} disappeared before it was tagged"
        ))
    })?;
    let mut ids = vec![image_id.to_string()];
    ids.extend(img.snapshot_ids.iter().cloned());
    retry(|| cloud.create_tags(region, &ids, tags)).await?;
    Ok(img.snapshot_ids)
}

/// Deregisters an image and deletes its snapshots; absent things are fine. Waits (bounded by
/// `snap_wait`) for a pending image's snapshot ids to show so none is left behind.
pub async fn delete_with_snapshots(
    cx: &StepCx,
    cloud: &dyn Cloud,
    region: &str,
    image_id: &str,
    snap_wait: &Backoff,
) -> Result<(), StepError> {
    let Some(img) = get(cloud, region, image_id).await? else {
        return Ok(());
    };
    let mut snaps = img.snapshot_ids.clone();
    if snaps.is_empty() && img.state == ImageState::Pending {
        snaps = poll_until(
            cx,
            &format!("snapshots of {image_id}"),
            snap_wait,
            || async {
                match get(cloud, region, image_id).await? {
                    Some(i) if !i.snapshot_ids.is_empty() => Ok(Poll::Ready(i.snapshot_ids)),
                    Some(i) if i.state.is_terminal_failure() => Ok(Poll::Ready(vec![])),
                    None => Ok(Poll::Ready(vec![])),
                    Some(_) => Ok(Poll::Pending(None)),
                }
            },
        )
        .await
        .unwrap_or_default();
    }
    retry(|| cloud.deregister_image(region, image_id, true)).await?;
    for s in snaps {
        match retry(|| cloud.delete_snapshot(region, &s)).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Snapshots carrying all of `tags` in `region`.
pub async fn snapshots_tagged(
    cloud: &dyn Cloud,
    region: &str,
    tags: &Tags,
) -> Result<Vec<String>, StepError> {
    let q = SnapshotQuery {
        tags: tags.clone(),
        ..Default::default()
    };
    Ok(retry(|| cloud.describe_snapshots(region, &q))
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect())
}

/// Waits until an image is `available`; `failed`/`error`/`invalid`/deregistered are final,
/// with EC2's reason. Progress is the mean progress of its snapshots.
pub async fn wait_available(
    cx: &StepCx,
    cloud: &dyn Cloud,
    region: &str,
    image_id: &str,
    b: &Backoff,
) -> Result<Image, StepError> {
    let what = format!("{image_id} in {region} to be available");
    poll_until(cx, &what, b, || async {
        let img = match get(cloud, region, image_id).await? {
            Some(i) => i,
            // Right after CreateImage/CopyImage the id may not be visible yet.
            None => return Ok(Poll::Pending(Some("not visible yet".into()))),
        };
        match img.state {
            ImageState::Available => Ok(Poll::Ready(img)),
            s if s.is_terminal_failure() => Err(StepError::Terminal(format!(
                "image {image_id} in {region} is {}: {}",
                s.as_str(),
                img.state_reason
                    .clone()
                    .unwrap_or_else(|| "no reason given by EC2".into())
            ))),
            _ => {
                let mut pct = None;
                if !img.snapshot_ids.is_empty() {
                    let q = SnapshotQuery {
                        ids: img.snapshot_ids.clone(),
                        ..Default::default()
                    };
                    if let Ok(snaps) = cloud.describe_snapshots(region, &q).await {
                        let p: Vec<u32> = snaps
                            .iter()
                            .filter_map(|s| s.progress.map(u32::from))
                            .collect();
                        if !p.is_empty() {
                            pct = Some(p.iter().sum::<u32>() / p.len() as u32);
                        }
                    }
                }
                Ok(Poll::Pending(Some(match pct {
                    Some(p) => format!("{p}%"),
                    None => img.state.as_str().to_string(),
                })))
            }
        }
    })
    .await
}
