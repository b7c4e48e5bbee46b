//! Snapshots (describe by id, tags and EC2's description; delete, refused while in use) and
//! CreateTags on any of the caller's resources.

use super::state::{ec2_error, name_match, not_found, tags_match, FakeSnapshot};
use super::Service;
use crate::error::codes;
use crate::{CloudResult, Share, Snapshot, SnapshotQuery, Tags};
use tokio::time::Instant;

const SNAPSHOT_NOT_FOUND: &str = "InvalidSnapshot.NotFound";

impl Service<'_> {
    /// Whether the caller sees `snap` in `region` now: its own, once it exists.
    fn sees_snapshot(&self, snap: &FakeSnapshot, region: &str, now: Instant) -> bool {
        snap.region == region && snap.owner == self.account && now >= snap.visible_at
    }

    /// DescribeSnapshots of the caller's snapshots: by ids (any unknown: an empty list, as
    /// `prism-aws` absorbs `InvalidSnapshot.NotFound`), AND tags, AND the `description`
    /// filter (`*` wildcards).
    pub(super) async fn describe_snapshots(
        &self,
        region: &str,
        query: &SnapshotQuery,
    ) -> CloudResult<Vec<Snapshot>> {
        self.call(
            "DescribeSnapshots",
            region,
            query.ids.first().map(|s| s.as_str()),
        )
        .await?;
        let now = Instant::now();
        let s = self.lock();
        let known = |id: &String| {
            s.snapshots
                .get(id)
                .is_some_and(|f| self.sees_snapshot(f, region, now))
        };
        if !query.ids.iter().all(known) {
            return Ok(vec![]);
        }
        Ok(s.snapshots
            .values()
            .filter(|f| self.sees_snapshot(f, region, now))
            .map(|f| s.snapshot_view(f, now))
            .filter(|snap| query.ids.is_empty() || query.ids.contains(&snap.id))
            .filter(|snap| tags_match(&snap.tags, &query.tags, &[]))
            .filter(|snap| {
                query.description.as_deref().is_none_or(|p| {
                    snap.description
                        .as_deref()
                        .is_some_and(|d| name_match(p, d))
                })
            })
            .collect())
    }

    /// DeleteSnapshot. "DeleteSnapshot" (EC2 API Reference): a snapshot used by a registered
    /// AMI cannot be deleted (`InvalidSnapshot.InUse`, "The snapshot snap-… is currently in
    /// use by ami-…"), nor for [`crate::fake::FakeEc2::snapshot_in_use_after_deregister`]
    /// after its image is deregistered. A snapshot the caller does not have is not an error.
    pub(super) async fn delete_snapshot(&self, region: &str, snapshot_id: &str) -> CloudResult<()> {
        const ACTION: &str = "DeleteSnapshot";
        self.call(ACTION, region, Some(snapshot_id)).await?;
        let now = Instant::now();
        let mut s = self.lock();
        let mine = s
            .snapshots
            .get(snapshot_id)
            .is_some_and(|f| self.sees_snapshot(f, region, now));
        if !mine {
            return Ok(());
        }
        let user = s
            .images
            .values()
            .find(|i| i.uses_snapshot(snapshot_id, now, &self.ec2));
        if let Some(i) = user {
            return Err(ec2_error(
                ACTION,
                region,
                codes::SNAPSHOT_IN_USE,
                snapshot_id,
                format!(
                    "The snapshot {snapshot_id} is currently in use by {}",
                    i.image.id
                ),
            ));
        }
        super::recycle_bin::discard_snapshot(&mut s, snapshot_id, now);
        Ok(())
    }

    /// ModifySnapshotAttribute `createVolumePermission` Add/Remove. "Share an Amazon EBS
    /// snapshot" (EBS User Guide): only the owner may modify it; permissions name account ids
    /// or the group `all`; "you can't make your encrypted snapshots publicly available".
    pub(super) async fn modify_snapshot_copy_permission(
        &self,
        region: &str,
        snapshot_id: &str,
        share: &Share,
        remove: bool,
    ) -> CloudResult<()> {
        const ACTION: &str = "ModifySnapshotAttribute";
        self.call(ACTION, region, Some(snapshot_id)).await?;
        let now = Instant::now();
        let mut s = self.lock();
        self.my_snapshot(&s, ACTION, region, snapshot_id, now)?;
        if !share.organizations.is_empty() || !share.organizational_units.is_empty() {
            return Err(ec2_error(
                ACTION,
                region,
                "InvalidParameterValue",
                snapshot_id,
                "createVolumePermission takes account ids and the group 'all' only",
            ));
        }
        // A snapshot is encrypted when the image it was made for is.
        let encrypted = s
            .snapshots
            .get(snapshot_id)
            .is_some_and(|f| s.images.get(&f.image_id).is_some_and(|i| i.image.encrypted));
        if share.public && !remove && encrypted {
            return Err(ec2_error(
                ACTION,
                region,
                "InvalidParameter",
                snapshot_id,
                "Encrypted snapshots with EBS default key cannot be shared",
            ));
        }
        let entry = s
            .snapshot_shares
            .entry(snapshot_id.to_string())
            .or_default();
        if remove {
            entry.accounts.retain(|a| !share.accounts.contains(a));
            if share.public {
                entry.public = false;
            }
        } else {
            for a in &share.accounts {
                if !entry.accounts.contains(a) {
                    entry.accounts.push(a.clone());
                }
            }
            entry.public |= share.public;
        }
        Ok(())
    }

    /// DescribeSnapshotAttribute `createVolumePermission` (owner only).
    pub(super) async fn snapshot_copy_permissions(
        &self,
        region: &str,
        snapshot_id: &str,
    ) -> CloudResult<Share> {
        const ACTION: &str = "DescribeSnapshotAttribute";
        self.call(ACTION, region, Some(snapshot_id)).await?;
        let now = Instant::now();
        let s = self.lock();
        self.my_snapshot(&s, ACTION, region, snapshot_id, now)?;
        Ok(s.snapshot_shares
            .get(snapshot_id)
            .cloned()
            .unwrap_or_default())
    }

    /// The caller's snapshot `snapshot_id` in `region`, or EC2's `InvalidSnapshot.NotFound`
    /// (another account's snapshot looks the same: "does not exist").
    #[allow(clippy::result_large_err)] // test double; mirrors the trait's error type
    fn my_snapshot(
        &self,
        s: &super::state::State,
        action: &str,
        region: &str,
        snapshot_id: &str,
        now: Instant,
    ) -> CloudResult<()> {
        match s.snapshots.get(snapshot_id) {
            Some(f) if self.sees_snapshot(f, region, now) => Ok(()),
            _ => Err(ec2_error(
                action,
                region,
                SNAPSHOT_NOT_FOUND,
                snapshot_id,
                format!("The snapshot '{snapshot_id}' does not exist."),
            )),
        }
    }

    /// CreateTags on the caller's instances and snapshots and on images it can see. "Tag your
    /// Amazon EC2 resources": tags on a shared or public image are kept for the tagging
    /// account only. Every id is checked before anything is tagged.
    pub(super) async fn create_tags(
        &self,
        region: &str,
        resource_ids: &[String],
        tags: &Tags,
    ) -> CloudResult<()> {
        const ACTION: &str = "CreateTags";
        self.call(ACTION, region, resource_ids.first().map(|s| s.as_str()))
            .await?;
        let now = Instant::now();
        let mut s = self.lock();
        for id in resource_ids {
            // "Considerations for Recycle Bin": the tags of an image in the bin may be modified.
            if id.starts_with("ami-") {
                if !self.binned_image(&s, region, id, now) {
                    self.visible_image(&mut s, ACTION, region, id, now)?;
                }
            } else if id.starts_with("i-") {
                self.my_instance(&mut s, ACTION, region, id, now)?;
            } else if id.starts_with("vol-") {
                if !s
                    .volumes
                    .get(id)
                    .is_some_and(|v| v.owner == self.account && v.vol.region == region)
                {
                    return Err(not_found(
                        ACTION,
                        region,
                        super::volumes::VOLUME_NOT_FOUND,
                        id,
                    ));
                }
            } else if !s
                .snapshots
                .get(id)
                .is_some_and(|f| self.sees_snapshot(f, region, now))
            {
                let code = if id.starts_with("snap-") {
                    SNAPSHOT_NOT_FOUND
                } else {
                    "InvalidID.NotFound"
                };
                return Err(not_found(ACTION, region, code, id));
            }
        }
        for id in resource_ids {
            if let Some(i) = s.images.get_mut(id) {
                if i.owner() == self.account {
                    i.image.tags.extend(tags.clone());
                } else {
                    i.foreign_tags
                        .entry(self.account.clone())
                        .or_default()
                        .extend(tags.clone());
                }
            } else if let Some(i) = s.instances.get_mut(id) {
                i.inst.tags.extend(tags.clone());
            } else if let Some(f) = s.snapshots.get_mut(id) {
                f.snap.tags.extend(tags.clone());
            } else if let Some(v) = s.volumes.get_mut(id) {
                v.vol.tags.extend(tags.clone());
            }
        }
        Ok(())
    }
}
