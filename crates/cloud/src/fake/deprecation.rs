//! Image deprecation (`EnableImageDeprecation` / `DisableImageDeprecation`), deregistration
//! protection and `DeleteTags`, as AWS documents them.
//!
//! EC2 API reference, EnableImageDeregistrationProtection: "When deregistration protection is
//! enabled, the AMI can't be deregistered" (`DeregisterImage` is refused, see
//! `images::deregister_image`); `WithCooldown`: "enforces deregistration protection for 24
//! hours after deregistration protection is disabled". DescribeImages shows the state in
//! `DeregistrationProtection`: `disabled`, `enabled`, `enabled-with-cooldown`, and during a
//! cooldown `disabled-until TIME`.
//!
//! EC2 API reference, EnableImageDeprecation (`DeprecateAt`): "The date and time to deprecate
//! the AMI, in UTC ... If you specify a value for seconds, Amazon EC2 rounds the seconds to
//! the nearest minute. You can't specify a date in the past. The upper limit for DeprecateAt
//! is 10 years from now, except for public AMIs, where the upper limit is 2 years from the
//! creation date." User guide, "Deprecate an Amazon EC2 AMI": only the AMI's owner can set or
//! cancel its deprecation; a deprecated AMI can still be launched by id and stays shared.
//! The error code for a refused time is not documented: the fake answers
//! `InvalidParameterValue` (EC2's code for a parameter out of range).

use super::state::{ec2_error, not_found};
use super::Service;
use crate::{CloudResult, RecycledImage};
use chrono::{DateTime, Duration, DurationRound, Utc};
use tokio::time::Instant;

/// Days EC2 allows `DeprecateAt` ahead of now for a private image (10 years).
const PRIVATE_MAX_DAYS: i64 = 3653;
/// Days EC2 allows `DeprecateAt` after the creation of a public image (2 years).
const PUBLIC_MAX_DAYS: i64 = 731;

impl Service<'_> {
    /// EnableImageDeprecation of one of the caller's images.
    pub(super) async fn enable_image_deprecation(
        &self,
        region: &str,
        image_id: &str,
        at: DateTime<Utc>,
    ) -> CloudResult<()> {
        const ACTION: &str = "EnableImageDeprecation";
        self.call(ACTION, region, Some(image_id)).await?;
        let now = Instant::now();
        let wall = Utc::now();
        let mut s = self.lock();
        let i = self.my_image(&mut s, ACTION, region, image_id, now)?;
        let rounded = at.duration_round(Duration::minutes(1)).unwrap_or(at);
        let refuse =
            |why: String| ec2_error(ACTION, region, "InvalidParameterValue", image_id, &why);
        if rounded < wall.duration_trunc(Duration::minutes(1)).unwrap_or(wall) {
            return Err(refuse(format!("DeprecateAt {rounded} is in the past")));
        }
        let limit = if i.image.public {
            i.image
                .creation_date
                .as_deref()
                .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or(wall)
                + Duration::days(PUBLIC_MAX_DAYS)
        } else {
            wall + Duration::days(PRIVATE_MAX_DAYS)
        };
        if rounded > limit {
            return Err(refuse(format!(
                "DeprecateAt {rounded} is later than {limit}"
            )));
        }
        i.image.deprecation_time = Some(rounded.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        Ok(())
    }

    /// DisableImageDeprecation of one of the caller's images (none set is not an error).
    pub(super) async fn disable_image_deprecation(
        &self,
        region: &str,
        image_id: &str,
    ) -> CloudResult<()> {
        const ACTION: &str = "DisableImageDeprecation";
        self.call(ACTION, region, Some(image_id)).await?;
        let now = Instant::now();
        let mut s = self.lock();
        let i = self.my_image(&mut s, ACTION, region, image_id, now)?;
        i.image.deprecation_time = None;
        Ok(())
    }

    /// DeleteTags: removes these keys (a key the resource lacks is not an error, as on EC2);
    /// an image's owner removes its own tags, another account only the tags it put there.
    pub(super) async fn delete_tags(
        &self,
        region: &str,
        resource_ids: &[String],
        keys: &[String],
    ) -> CloudResult<()> {
        const ACTION: &str = "DeleteTags";
        self.call(ACTION, region, resource_ids.first().map(|s| s.as_str()))
            .await?;
        let now = Instant::now();
        let mut s = self.lock();
        for id in resource_ids {
            // "Considerations for Recycle Bin": the tags of a resource in the bin may be
            // modified.
            if id.starts_with("ami-") {
                if !self.binned_image(&s, region, id, now) {
                    self.visible_image(&mut s, ACTION, region, id, now)?;
                }
            } else if !s.snapshots.contains_key(id) && !s.instances.contains_key(id) {
                return Err(not_found(ACTION, region, "InvalidID.NotFound", id));
            }
        }
        for id in resource_ids {
            let tags = if let Some(i) = s.images.get_mut(id) {
                if i.owner() == self.account {
                    &mut i.image.tags
                } else {
                    i.foreign_tags.entry(self.account.clone()).or_default()
                }
            } else if let Some(i) = s.instances.get_mut(id) {
                &mut i.inst.tags
            } else if let Some(f) = s.snapshots.get_mut(id) {
                &mut f.snap.tags
            } else {
                continue;
            };
            for k in keys {
                tags.remove(k);
            }
        }
        Ok(())
    }

    /// EnableImageDeregistrationProtection of one of the caller's images.
    pub(super) async fn enable_deregistration_protection(
        &self,
        region: &str,
        image_id: &str,
        with_cooldown: bool,
    ) -> CloudResult<()> {
        const ACTION: &str = "EnableImageDeregistrationProtection";
        self.call(ACTION, region, Some(image_id)).await?;
        let now = Instant::now();
        let mut s = self.lock();
        let i = self.my_image(&mut s, ACTION, region, image_id, now)?;
        i.image.deregistration_protection = Some(
            if with_cooldown {
                "enabled-with-cooldown"
            } else {
                "enabled"
            }
            .into(),
        );
        Ok(())
    }

    /// DisableImageDeregistrationProtection: with a cooldown, the image stays protected for
    /// 24 hours (`disabled-until TIME`).
    pub(super) async fn disable_deregistration_protection(
        &self,
        region: &str,
        image_id: &str,
    ) -> CloudResult<()> {
        const ACTION: &str = "DisableImageDeregistrationProtection";
        self.call(ACTION, region, Some(image_id)).await?;
        let now = Instant::now();
        let mut s = self.lock();
        let i = self.my_image(&mut s, ACTION, region, image_id, now)?;
        let cooldown =
            i.image.deregistration_protection.as_deref() == Some("enabled-with-cooldown");
        i.image.deregistration_protection = Some(if cooldown {
            let until = Utc::now() + Duration::hours(COOLDOWN_HOURS);
            format!(
                "disabled-until {}",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        } else {
            "disabled".into()
        });
        Ok(())
    }

    /// ListImagesInRecycleBin of some image ids: those of the caller's images Recycle Bin
    /// keeps (ids it does not keep are left out, as EC2 lists only what is in the bin).
    pub(super) async fn images_in_recycle_bin(
        &self,
        region: &str,
        image_ids: &[String],
    ) -> CloudResult<Vec<RecycledImage>> {
        const ACTION: &str = "ListImagesInRecycleBin";
        self.call(ACTION, region, image_ids.first().map(|s| s.as_str()))
            .await?;
        let now = Instant::now();
        let s = self.lock();
        Ok(image_ids
            .iter()
            .filter_map(|id| {
                let i = s.images.get(id)?;
                if i.image.region != region || i.owner() != self.account {
                    return None;
                }
                let bin = s.recycle_bin.get(id).filter(|b| b.kept(now))?;
                Some(RecycledImage {
                    image_id: id.clone(),
                    exit_time: Some(bin.exit.clone()),
                })
            })
            .collect())
    }
}

/// How long a protection enabled `WithCooldown` outlives its disabling.
const COOLDOWN_HOURS: i64 = 24;
