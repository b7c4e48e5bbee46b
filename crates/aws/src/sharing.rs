//! Image launch permissions: share with everyone, accounts, organizations or OUs, and unshare.

use crate::errors::sdk_error;
use aws_sdk_ec2::types as ec2;
use prism_cloud::{CloudResult, Share};

/// Whether launch permissions are added or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// Grant.
    Add,
    /// Revoke.
    Remove,
}

/// The launch permissions a [`Share`] stands for.
pub(crate) fn permissions(share: &Share) -> Vec<ec2::LaunchPermission> {
    let mut out = Vec::new();
    if share.public {
        out.push(
            ec2::LaunchPermission::builder()
                .group(ec2::PermissionGroup::All)
                .build(),
        );
    }
    out.extend(
        share
            .accounts
            .iter()
            .map(|a| ec2::LaunchPermission::builder().user_id(a).build()),
    );
    out.extend(
        share
            .organizations
            .iter()
            .map(|o| ec2::LaunchPermission::builder().organization_arn(o).build()),
    );
    out.extend(share.organizational_units.iter().map(|u| {
        ec2::LaunchPermission::builder()
            .organizational_unit_arn(u)
            .build()
    }));
    out
}

/// Adds or removes the launch permissions of `share` on `image_id`
/// (`ModifyImageAttribute`); an empty share does nothing.
pub(crate) async fn modify(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    image_id: &str,
    share: &Share,
    op: Op,
) -> CloudResult<()> {
    let perms = permissions(share);
    if perms.is_empty() {
        return Ok(());
    }
    let mods = match op {
        Op::Add => ec2::LaunchPermissionModifications::builder().set_add(Some(perms)),
        Op::Remove => ec2::LaunchPermissionModifications::builder().set_remove(Some(perms)),
    }
    .build();
    ec2.modify_image_attribute()
        .image_id(image_id)
        .launch_permission(mods)
        .send()
        .await
        .map_err(|e| sdk_error("ModifyImageAttribute", region, Some(image_id), e))?;
    Ok(())
}

/// The launch permissions of `image_id` (`DescribeImageAttribute launchPermission`).
pub(crate) async fn describe(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    image_id: &str,
) -> CloudResult<Share> {
    let out = ec2
        .describe_image_attribute()
        .image_id(image_id)
        .attribute(ec2::ImageAttributeName::LaunchPermission)
        .send()
        .await
        .map_err(|e| sdk_error("DescribeImageAttribute", region, Some(image_id), e))?;
    Ok(share_from(out.launch_permissions()))
}

/// Launch permissions as a [`Share`].
pub(crate) fn share_from(perms: &[ec2::LaunchPermission]) -> Share {
    let mut share = Share::default();
    for p in perms {
        if p.group() == Some(&ec2::PermissionGroup::All) {
            share.public = true;
        }
        share.accounts.extend(p.user_id().map(str::to_string));
        share
            .organizations
            .extend(p.organization_arn().map(str::to_string));
        share
            .organizational_units
            .extend(p.organizational_unit_arn().map(str::to_string));
    }
    share
}

/// Adds or removes create-volume permission on `snapshot_id` for `share`'s accounts and
/// `public` (`ModifySnapshotAttribute createVolumePermission`); EC2 takes no organizations
/// or OUs here, so those are not sent. An empty share does nothing.
pub(crate) async fn modify_snapshot(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    snapshot_id: &str,
    share: &Share,
    op: Op,
) -> CloudResult<()> {
    if !share.public && share.accounts.is_empty() {
        return Ok(());
    }
    // The flat form (`OperationType`, `UserId.N`, `GroupName.N`) of ModifySnapshotAttribute,
    // documented beside the `CreateVolumePermission` structure; moto reads only this one.
    let mut call = ec2
        .modify_snapshot_attribute()
        .snapshot_id(snapshot_id)
        .attribute(ec2::SnapshotAttributeName::CreateVolumePermission)
        .operation_type(match op {
            Op::Add => ec2::OperationType::Add,
            Op::Remove => ec2::OperationType::Remove,
        })
        .set_user_ids((!share.accounts.is_empty()).then(|| share.accounts.clone()));
    if share.public {
        call = call.group_names("all");
    }
    call.send()
        .await
        .map_err(|e| sdk_error("ModifySnapshotAttribute", region, Some(snapshot_id), e))?;
    Ok(())
}

/// The create-volume permissions of `snapshot_id` (`DescribeSnapshotAttribute`).
pub(crate) async fn describe_snapshot(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    snapshot_id: &str,
) -> CloudResult<Share> {
    let out = ec2
        .describe_snapshot_attribute()
        .snapshot_id(snapshot_id)
        .attribute(ec2::SnapshotAttributeName::CreateVolumePermission)
        .send()
        .await
        .map_err(|e| sdk_error("DescribeSnapshotAttribute", region, Some(snapshot_id), e))?;
    let mut share = Share::default();
    for p in out.create_volume_permissions() {
        if p.group() == Some(&ec2::PermissionGroup::All) {
            share.public = true;
        }
        share.accounts.extend(p.user_id().map(str::to_string));
    }
    Ok(share)
}

/// Whether image block public access is on in `region` (`GetImageBlockPublicAccessState`).
pub(crate) async fn public_blocked(ec2: &aws_sdk_ec2::Client, region: &str) -> CloudResult<bool> {
    let out = ec2
        .get_image_block_public_access_state()
        .send()
        .await
        .map_err(|e| sdk_error("GetImageBlockPublicAccessState", region, None, e))?;
    Ok(out.image_block_public_access_state() == Some("block-new-sharing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_maps_to_each_permission_kind() {
        let share = Share {
            public: true,
            accounts: vec!["111122223333".into()],
            organizations: vec!["arn:aws:organizations::1:organization/o-1".into()],
            organizational_units: vec!["arn:aws:organizations::1:ou/o-1/ou-1".into()],
        };
        let p = permissions(&share);
        assert_eq!(p.len(), 4);
        assert_eq!(p[0].group(), Some(&ec2::PermissionGroup::All));
        assert_eq!(p[1].user_id(), Some("111122223333"));
        assert!(p[2].organization_arn().is_some());
        assert!(p[3].organizational_unit_arn().is_some());
        assert!(permissions(&Share::default()).is_empty());
        // And back: what DescribeImageAttribute answers reads as the same share.
        assert_eq!(share_from(&p), share);
    }
}
