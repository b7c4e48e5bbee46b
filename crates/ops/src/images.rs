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

/// Tries of DeleteSnapshot while EC2 answers `InvalidSnapshot.InUse` (pauses up to ~90 s):
/// a snapshot stays "in use" by its image until the deregistration has propagated
/// (DeleteSnapshot: "you must first deregister the AMI"; EC2 is eventually consistent).
pub const IN_USE_ATTEMPTS: u32 = 8;

/// Deregisters an image and deletes its snapshots; absent things are fine. Returns the
/// snapshots deleted.
///
/// The snapshots are found without relying on the image's block device mappings (EC2 shows a
/// pending image's snapshot ids only once it is available): `known` (what the caller
/// recorded), the mappings when shown, and EC2's own description of the snapshots it made
/// for the image ([`snapshots_made_for`]). `fresh`: this operation created the image moments
/// ago, so "not found" may only mean "not visible yet" (eventual consistency): look again,
/// bounded, before believing it.
pub async fn delete_with_snapshots(
    cloud: &dyn Cloud,
    region: &str,
    image_id: &str,
    known: &[String],
    fresh: bool,
) -> Result<usize, StepError> {
    let mut img = get(cloud, region, image_id).await?;
    if img.is_none() && fresh {
        img = crate::poll::settle(|| async { get(cloud, region, image_id).await }).await?;
    }
    let mut snaps: Vec<String> = known.to_vec();
    fn add(snaps: &mut Vec<String>, ids: Vec<String>) {
        for id in ids {
            if !snaps.contains(&id) {
                snaps.push(id);
            }
        }
    }
    if let Some(i) = &img {
        add(&mut snaps, i.snapshot_ids.clone());
    }
    add(
        &mut snaps,
        snapshots_made_for(cloud, region, image_id).await?,
    );
    if let Some(i) = &img {
        if i.state == ImageState::Pending && !i.volumes.is_empty() && snaps.len() < i.volumes.len()
        {
            // CreateImage has not started every snapshot yet: wait (bounded) so none is left.
            let want = i.volumes.len();
            let more = crate::poll::settle(|| async {
                let found = snapshots_made_for(cloud, region, image_id).await?;
                Ok((found.len() >= want).then_some(found))
            })
            .await?
            .unwrap_or_default();
            add(&mut snaps, more);
        }
        // DeleteAssociatedSnapshots: EC2 deletes the snapshots with the image; endpoints
        // that ignore it (moto) leave them for the loop below.
        match retry(|| cloud.deregister_image(region, image_id, true)).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut deleted = 0;
    for s in snaps {
        match delete_snapshot(cloud, region, &s).await {
            Ok(()) => deleted += 1,
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(deleted)
}

/// Deletes one snapshot, waiting out (bounded) EC2's `InvalidSnapshot.InUse` right after its
/// image was deregistered. A snapshot already gone is `Ok`.
pub async fn delete_snapshot(
    cloud: &dyn Cloud,
    region: &str,
    snapshot_id: &str,
) -> Result<(), prism_cloud::CloudError> {
    crate::backoff::retry_codes(
        IN_USE_ATTEMPTS,
        &[prism_cloud::error::codes::SNAPSHOT_IN_USE],
        || cloud.delete_snapshot(region, snapshot_id),
    )
    .await
}

/// Snapshots EC2 made for `image_id` in `region` — "Created by CreateImage(i-…) for ami-…"
/// or "Copied for DestinationAmi ami-… …" — found by description, whatever the image's state
/// (EC2 lists a pending image's snapshots here long before the image shows their ids).
pub async fn snapshots_made_for(
    cloud: &dyn Cloud,
    region: &str,
    image_id: &str,
) -> Result<Vec<String>, StepError> {
    let q = SnapshotQuery {
        description: Some(format!("*{image_id}*")),
        ..Default::default()
    };
    Ok(retry(|| cloud.describe_snapshots(region, &q))
        .await?
        .into_iter()
        .filter(|s| s.made_for(image_id))
        .map(|s| s.id)
        .collect())
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
