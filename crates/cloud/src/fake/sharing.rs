//! Launch permissions: share, unshare, read, and the region's block-public-access state.
//! Only the owner may change or read an image's launch permissions (`AuthFailure` for
//! others: "Share an AMI with specific AWS accounts" — "your AWS account must own the AMI").

use super::state::ec2_error;
use super::Service;
use crate::{CloudResult, Share};
use tokio::time::Instant;

impl Service<'_> {
    /// ModifyImageAttribute `launchPermission` Add.
    pub(super) async fn share_image(
        &self,
        region: &str,
        image_id: &str,
        share: &Share,
    ) -> CloudResult<()> {
        const ACTION: &str = "ModifyImageAttribute";
        self.call(ACTION, region, Some(image_id)).await?;
        let now = Instant::now();
        let mut s = self.lock();
        let i = self.my_image(&mut s, ACTION, region, image_id, now)?;
        if share.public {
            // "Make your AMI publicly available": "You can't make an AMI public that has
            // encrypted volumes".
            if i.image.encrypted {
                return Err(ec2_error(
                    ACTION,
                    region,
                    "InvalidParameter",
                    image_id,
                    "Encrypted images cannot be made public",
                ));
            }
            i.image.public = true;
        }
        let entry = s.shares.entry(image_id.to_string()).or_default();
        for (have, add) in [
            (&mut entry.accounts, &share.accounts),
            (&mut entry.organizations, &share.organizations),
            (&mut entry.organizational_units, &share.organizational_units),
        ] {
            for a in add {
                if !have.contains(a) {
                    have.push(a.clone());
                }
            }
        }
        Ok(())
    }

    /// ModifyImageAttribute `launchPermission` Remove: the accounts removed lose sight of
    /// the image at once.
    pub(super) async fn unshare_image(
        &self,
        region: &str,
        image_id: &str,
        share: &Share,
    ) -> CloudResult<()> {
        const ACTION: &str = "ModifyImageAttribute";
        self.call(ACTION, region, Some(image_id)).await?;
        let now = Instant::now();
        let mut s = self.lock();
        let i = self.my_image(&mut s, ACTION, region, image_id, now)?;
        if share.public {
            i.image.public = false;
        }
        let entry = s.shares.entry(image_id.to_string()).or_default();
        entry.accounts.retain(|a| !share.accounts.contains(a));
        entry
            .organizations
            .retain(|a| !share.organizations.contains(a));
        entry
            .organizational_units
            .retain(|a| !share.organizational_units.contains(a));
        Ok(())
    }

    /// DescribeImageAttribute `launchPermission`.
    pub(super) async fn launch_permissions(
        &self,
        region: &str,
        image_id: &str,
    ) -> CloudResult<Share> {
        const ACTION: &str = "DescribeImageAttribute";
        self.call(ACTION, region, Some(image_id)).await?;
        let now = Instant::now();
        let mut s = self.lock();
        let public = self
            .my_image(&mut s, ACTION, region, image_id, now)?
            .image
            .public;
        let mut share = s.shares.get(image_id).cloned().unwrap_or_default();
        share.public = public;
        Ok(share)
    }

    /// GetImageBlockPublicAccessState.
    pub(super) async fn public_sharing_blocked(&self, region: &str) -> CloudResult<bool> {
        self.call("GetImageBlockPublicAccessState", region, None)
            .await?;
        Ok(self.lock().public_blocked.iter().any(|r| r == region))
    }
}
