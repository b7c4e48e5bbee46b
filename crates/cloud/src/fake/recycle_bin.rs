//! Recycle Bin for images and snapshots, as AWS documents it ("Recover deleted Amazon EBS
//! snapshots and EBS-backed AMIs with Recycle Bin", EBS User Guide, and its "Considerations"):
//!
//! - a snapshot deleted (or an image deregistered) while a retention rule for its resource type
//!   applies is kept in the bin for the rule's retention period, then deleted for good; before
//!   that it can be restored, after that it cannot ("If the retention period expires and the
//!   resource is not restored, the resource is permanently deleted");
//! - while in the bin a resource can only be viewed, restored, or have its tags modified; its
//!   tags stay with it;
//! - a shared AMI or snapshot is unshared when it enters the bin; "If you restore the AMI, all
//!   of the previous sharing permissions are automatically restored" (likewise snapshots);
//! - "Before you can restore an AMI from the Recycle Bin, you must first restore all of its
//!   associated snapshots from the Recycle Bin and ensure that they are in the `available`
//!   state"; an AMI whose snapshots left the bin is no longer recoverable;
//! - a restored resource "is immediately available for use" and leaves the bin.
//!
//! Not documented, so guessed here: the error codes of a refused restore. An id the bin does
//! not hold (never there, or its retention ended) answers `InvalidAMIID.NotFound` /
//! `InvalidSnapshot.NotFound`; an image whose snapshots are not restored answers
//! `IncorrectState`. Not modelled: the `aws:recycle-bin:resource-in-bin` tag EC2 puts on a
//! resource in the bin (Prism never reads it), rules that take up to 30 minutes to become
//! active, tag-level rules (every rule here is a Region-level rule for all the account's
//! resources of its type).

use super::state::{ec2_error, not_found, Binned, State};
use super::Service;
use crate::error::codes;
use crate::{CloudResult, ImageState, RecycledSnapshot};
use tokio::time::Instant;

/// Deletes a snapshot as EC2 does: into the bin when a snapshot retention rule applies, its
/// create-volume permissions set aside with it; gone otherwise.
pub(super) fn discard_snapshot(s: &mut State, snapshot_id: &str, now: Instant) {
    let Some(snap) = s.snapshots.remove(snapshot_id) else {
        return;
    };
    let share = s.snapshot_shares.remove(snapshot_id);
    if let Some(days) = s.snapshot_retention_days {
        s.snapshot_bin.insert(
            snapshot_id.to_string(),
            (snap, Binned::new(days, now, share)),
        );
    }
}

impl Service<'_> {
    /// ListSnapshotsInRecycleBin of some snapshot ids: those of the caller's snapshots in
    /// `region` the bin still keeps.
    pub(super) async fn snapshots_in_recycle_bin(
        &self,
        region: &str,
        snapshot_ids: &[String],
    ) -> CloudResult<Vec<RecycledSnapshot>> {
        const ACTION: &str = "ListSnapshotsInRecycleBin";
        self.call(ACTION, region, snapshot_ids.first().map(|s| s.as_str()))
            .await?;
        let now = Instant::now();
        let s = self.lock();
        Ok(snapshot_ids
            .iter()
            .filter_map(|id| {
                let (snap, bin) = s.snapshot_bin.get(id)?;
                (snap.region == region && snap.owner == self.account && bin.kept(now)).then(|| {
                    RecycledSnapshot {
                        snapshot_id: id.clone(),
                        exit_time: Some(bin.exit.clone()),
                        description: snap.snap.description.clone(),
                    }
                })
            })
            .collect())
    }

    /// RestoreSnapshotFromRecycleBin: the snapshot is the caller's again, with its tags and
    /// its create-volume permissions.
    pub(super) async fn restore_snapshot_from_recycle_bin(
        &self,
        region: &str,
        snapshot_id: &str,
    ) -> CloudResult<()> {
        const ACTION: &str = "RestoreSnapshotFromRecycleBin";
        self.call(ACTION, region, Some(snapshot_id)).await?;
        let now = Instant::now();
        let mut s = self.lock();
        let held = s.snapshot_bin.get(snapshot_id).is_some_and(|(snap, bin)| {
            snap.region == region && snap.owner == self.account && bin.kept(now)
        });
        if !held {
            return Err(not_found(
                ACTION,
                region,
                "InvalidSnapshot.NotFound",
                snapshot_id,
            ));
        }
        let Some((snap, bin)) = s.snapshot_bin.remove(snapshot_id) else {
            return Ok(());
        };
        if let Some(share) = bin.share {
            s.snapshot_shares.insert(snapshot_id.to_string(), share);
        }
        s.snapshots.insert(snapshot_id.to_string(), snap);
        Ok(())
    }

    /// RestoreImageFromRecycleBin: refused unless every snapshot of the image exists again;
    /// the image is available at once with its tags and launch permissions.
    pub(super) async fn restore_image_from_recycle_bin(
        &self,
        region: &str,
        image_id: &str,
    ) -> CloudResult<()> {
        const ACTION: &str = "RestoreImageFromRecycleBin";
        self.call(ACTION, region, Some(image_id)).await?;
        let now = Instant::now();
        let mut s = self.lock();
        let held = s.recycle_bin.get(image_id).is_some_and(|b| b.kept(now))
            && s.images.get(image_id).is_some_and(|i| {
                i.image.region == region && i.owner() == self.account && i.is_deregistered()
            });
        if !held {
            return Err(not_found(ACTION, region, codes::AMI_NOT_FOUND, image_id));
        }
        let snaps = s
            .images
            .get(image_id)
            .map(|i| i.image.snapshot_ids.clone())
            .unwrap_or_default();
        if let Some(missing) = snaps.iter().find(|id| !s.snapshots.contains_key(*id)) {
            return Err(ec2_error(
                ACTION,
                region,
                "IncorrectState",
                image_id,
                format!(
                    "snapshot {missing} of {image_id} is not available; restore the AMI's snapshots from the Recycle Bin first"
                ),
            ));
        }
        let bin = s.recycle_bin.remove(image_id);
        if let Some(share) = bin.and_then(|b| b.share) {
            s.shares.insert(image_id.to_string(), share);
        }
        if let Some(i) = s.images.get_mut(image_id) {
            i.deregistered_at = None;
            i.image.state = ImageState::Available;
        }
        Ok(())
    }

    /// Whether `id` is one of the caller's images the bin keeps in `region` (its tags may be
    /// changed there).
    pub(super) fn binned_image(&self, s: &State, region: &str, id: &str, now: Instant) -> bool {
        s.recycle_bin.get(id).is_some_and(|b| b.kept(now))
            && s.images
                .get(id)
                .is_some_and(|i| i.image.region == region && i.owner() == self.account)
    }
}
