//! The EC2 operations Prism uses, as a small trait, plus the domain types they exchange.
//!
//! Everything except `prism-aws` talks to EC2 through [`Cloud`], so the saga engine, the
//! operations and the daemon build and test without compiling the AWS SDK. `prism-aws`
//! implements it with the official SDK; [`fake::FakeCloud`] implements it in memory for
//! logic tests (failure injection, pending states, call log).

pub mod error;
pub mod fake;
pub mod tags;
pub mod types;

pub use error::{CloudError, CloudErrorKind};
pub use types::*;

use async_trait::async_trait;
use std::sync::Arc;

/// Result of a cloud call.
pub type CloudResult<T> = Result<T, CloudError>;

/// The EC2 (and STS) calls Prism makes. Every method names its region explicitly so one
/// value serves all regions of one credential set (profile).
#[async_trait]
pub trait Cloud: Send + Sync {
    /// Names of the regions enabled for this account (used to validate `--region`).
    async fn describe_regions(&self, region: &str) -> CloudResult<Vec<String>>;

    /// The caller's identity (account and ARN), recorded as `saved-by` on templates.
    async fn caller_identity(&self, region: &str) -> CloudResult<CallerIdentity>;

    /// Instances matching the filter; terminated instances are included only when asked.
    async fn describe_instances(
        &self,
        region: &str,
        filter: &InstanceFilter,
    ) -> CloudResult<Vec<Instance>>;

    /// Runs one instance. `spec.client_token` makes a retried call idempotent on real EC2.
    async fn run_instance(&self, region: &str, spec: &RunSpec) -> CloudResult<Instance>;

    /// Requests a start; returns at once.
    async fn start_instance(&self, region: &str, instance_id: &str) -> CloudResult<()>;

    /// Requests a stop; returns at once.
    async fn stop_instance(&self, region: &str, instance_id: &str) -> CloudResult<()>;

    /// Requests termination; returns at once.
    async fn terminate_instance(&self, region: &str, instance_id: &str) -> CloudResult<()>;

    /// Creates an image of an instance; returns the new image id.
    async fn create_image(&self, region: &str, req: &CreateImageRequest) -> CloudResult<String>;

    /// Images matching the query (ids, owners, name pattern, tags, executable-by).
    async fn describe_images(&self, region: &str, query: &ImageQuery) -> CloudResult<Vec<Image>>;

    /// Deregisters an image; a missing image is not an error. With `delete_snapshots`, asks
    /// EC2 to delete its snapshots too (`DeleteAssociatedSnapshots`); an endpoint that
    /// ignores the flag leaves them, so callers still delete the snapshot ids they recorded.
    async fn deregister_image(
        &self,
        region: &str,
        image_id: &str,
        delete_snapshots: bool,
    ) -> CloudResult<()>;

    /// Snapshots by id or by tag filter.
    async fn describe_snapshots(
        &self,
        region: &str,
        query: &SnapshotQuery,
    ) -> CloudResult<Vec<Snapshot>>;

    /// Deletes a snapshot; a missing snapshot is not an error.
    async fn delete_snapshot(&self, region: &str, snapshot_id: &str) -> CloudResult<()>;

    /// Adds or overwrites tags on any EC2 resources of one region.
    async fn create_tags(
        &self,
        region: &str,
        resource_ids: &[String],
        tags: &Tags,
    ) -> CloudResult<()>;

    /// Starts a copy of `req.source_image_id` from `req.source_region` into `dest_region`;
    /// returns the new image id in `dest_region`.
    async fn copy_image(&self, dest_region: &str, req: &CopyImageRequest) -> CloudResult<String>;

    /// Adds launch permissions to an image (public and/or accounts/organizations).
    async fn share_image(&self, region: &str, image_id: &str, share: &Share) -> CloudResult<()>;

    /// Removes launch permissions from an image.
    async fn unshare_image(&self, region: &str, image_id: &str, share: &Share) -> CloudResult<()>;

    /// Who may launch an image besides its owner (`DescribeImageAttribute launchPermission`).
    async fn launch_permissions(&self, region: &str, image_id: &str) -> CloudResult<Share>;

    /// Whether the account blocks making images public in `region`
    /// (`GetImageBlockPublicAccessState`), checked before a public share.
    async fn public_sharing_blocked(&self, region: &str) -> CloudResult<bool>;

    /// Adds (or, with `remove`, removes) permission to create volumes from a snapshot for
    /// `share`'s accounts and, with `share.public`, everyone (`ModifySnapshotAttribute
    /// createVolumePermission`): what a recipient needs to copy a shared image into its own
    /// regions. EC2 takes accounts and `all` only here, never organizations or OUs.
    async fn modify_snapshot_copy_permission(
        &self,
        region: &str,
        snapshot_id: &str,
        share: &Share,
        remove: bool,
    ) -> CloudResult<()>;

    /// Who may create volumes from (and so copy) a snapshot besides its owner
    /// (`DescribeSnapshotAttribute createVolumePermission`): accounts and `public`.
    async fn snapshot_copy_permissions(
        &self,
        region: &str,
        snapshot_id: &str,
    ) -> CloudResult<Share>;

    /// The instance's console output (`GetConsoleOutput`, decoded from base64), `None` when EC2
    /// has none (yet). On boot cloud-init prints the SSH host keys there between
    /// `-----BEGIN SSH HOST KEY KEYS-----` and `-----END SSH HOST KEY KEYS-----` ("Connect to
    /// your Linux instance using SSH": verify the host key fingerprint from the system log,
    /// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/connection-prereqs-general.html).
    /// The default (the fake, the test harnesses) has none.
    async fn console_output(&self, region: &str, instance_id: &str) -> CloudResult<Option<String>> {
        let _ = (region, instance_id);
        Ok(None)
    }

    /// The key pair named `name` (`DescribeKeyPairs`), `None` when there is none.
    async fn describe_key_pair(&self, region: &str, name: &str) -> CloudResult<Option<KeyPair>>;

    /// Imports an OpenSSH public key as key pair `name` with `tags` (`ImportKeyPair`).
    async fn import_key_pair(
        &self,
        region: &str,
        name: &str,
        public_key: &str,
        tags: &Tags,
    ) -> CloudResult<KeyPair>;

    /// Security groups matching `query` (`DescribeSecurityGroups`).
    async fn describe_security_groups(
        &self,
        region: &str,
        query: &GroupQuery,
    ) -> CloudResult<Vec<SecurityGroup>>;

    /// Creates a security group in a VPC, tagged at creation; returns its id.
    async fn create_security_group(
        &self,
        region: &str,
        req: &CreateGroupRequest,
    ) -> CloudResult<String>;

    /// Adds one inbound rule (`AuthorizeSecurityGroupIngress`).
    async fn authorize_ingress(
        &self,
        region: &str,
        group_id: &str,
        rule: &IngressRule,
    ) -> CloudResult<()>;

    /// Removes one inbound rule (`RevokeSecurityGroupIngress`).
    async fn revoke_ingress(
        &self,
        region: &str,
        group_id: &str,
        rule: &IngressRule,
    ) -> CloudResult<()>;

    /// The id of the region's default VPC (`DescribeVpcs` `is-default=true`), if it has one.
    async fn default_vpc(&self, region: &str) -> CloudResult<Option<String>>;

    /// The subnet `subnet_id` with its VPC (`DescribeSubnets`), `None` when it does not exist.
    async fn describe_subnet(&self, region: &str, subnet_id: &str) -> CloudResult<Option<Subnet>>;

    /// Sets when one of the caller's images becomes deprecated (`EnableImageDeprecation`,
    /// `DeprecateAt`; EC2 rounds seconds to the minute and refuses a time in the past).
    async fn enable_image_deprecation(
        &self,
        region: &str,
        image_id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> CloudResult<()>;

    /// Cancels an image's deprecation (`DisableImageDeprecation`).
    async fn disable_image_deprecation(&self, region: &str, image_id: &str) -> CloudResult<()>;

    /// Protects one of the caller's images from deregistration
    /// (`EnableImageDeregistrationProtection`; `with_cooldown`: it stays protected for 24 hours
    /// after protection is disabled).
    async fn enable_deregistration_protection(
        &self,
        region: &str,
        image_id: &str,
        with_cooldown: bool,
    ) -> CloudResult<()>;

    /// Lifts an image's deregistration protection (`DisableImageDeregistrationProtection`).
    async fn disable_deregistration_protection(
        &self,
        region: &str,
        image_id: &str,
    ) -> CloudResult<()>;

    /// Which of these deregistered images Recycle Bin keeps, and until when
    /// (`ListImagesInRecycleBin` with `ImageIds`).
    async fn images_in_recycle_bin(
        &self,
        region: &str,
        image_ids: &[String],
    ) -> CloudResult<Vec<RecycledImage>>;

    /// Which of these deleted snapshots Recycle Bin keeps, and until when
    /// (`ListSnapshotsInRecycleBin` with `SnapshotIds`).
    async fn snapshots_in_recycle_bin(
        &self,
        region: &str,
        snapshot_ids: &[String],
    ) -> CloudResult<Vec<RecycledSnapshot>>;

    /// Restores a deleted snapshot from Recycle Bin (`RestoreSnapshotFromRecycleBin`): it is
    /// the caller's again, with its tags and its sharing as before the deletion.
    async fn restore_snapshot_from_recycle_bin(
        &self,
        region: &str,
        snapshot_id: &str,
    ) -> CloudResult<()>;

    /// Restores a deregistered image from Recycle Bin (`RestoreImageFromRecycleBin`); EC2
    /// requires every snapshot of the image restored (and `completed`) first.
    async fn restore_image_from_recycle_bin(&self, region: &str, image_id: &str)
        -> CloudResult<()>;

    /// Removes the tags with these keys from resources of one region (`DeleteTags`).
    async fn delete_tags(
        &self,
        region: &str,
        resource_ids: &[String],
        keys: &[String],
    ) -> CloudResult<()>;

    /// EBS volumes by id or attached to an instance (`DescribeVolumes`).
    async fn describe_volumes(&self, region: &str, query: &VolumeQuery)
        -> CloudResult<Vec<Volume>>;

    /// Starts replacing an instance's root volume with a new one restored from
    /// `req.image_id` (`CreateReplaceRootVolumeTask`, `DeleteReplacedRootVolume=false`: the
    /// replaced volume stays, detached). Returns the task, usually `pending`.
    async fn create_replace_root_volume_task(
        &self,
        region: &str,
        req: &ReplaceRootRequest,
    ) -> CloudResult<ReplaceRootTask>;

    /// Replace-root-volume tasks by id or instance (`DescribeReplaceRootVolumeTasks`).
    async fn describe_replace_root_volume_tasks(
        &self,
        region: &str,
        query: &ReplaceRootQuery,
    ) -> CloudResult<Vec<ReplaceRootTask>>;
}

/// Hands out a [`Cloud`] for a named AWS profile (or the default chain when `None`), so that
/// each request can carry its own profile.
#[async_trait]
pub trait CloudFactory: Send + Sync {
    /// The cloud for `profile`; the same value may be returned for repeated calls.
    async fn cloud(&self, profile: Option<&str>) -> CloudResult<Arc<dyn Cloud>>;
}

/// A factory that always returns one cloud, whatever the profile (fakes and tests).
pub struct SingleCloud(pub Arc<dyn Cloud>);

#[async_trait]
impl CloudFactory for SingleCloud {
    async fn cloud(&self, _profile: Option<&str>) -> CloudResult<Arc<dyn Cloud>> {
        Ok(self.0.clone())
    }
}
