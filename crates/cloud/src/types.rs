//! Plain data exchanged with the cloud: instances, images, snapshots, requests.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Resource tags, sorted by key for stable output.
pub type Tags = BTreeMap<String, String>;

/// Account and principal of the credentials in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerIdentity {
    /// 12-digit account id.
    pub account: String,
    /// ARN of the caller.
    pub arn: String,
}

/// EC2 instance lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceState {
    /// Starting.
    Pending,
    /// Running.
    Running,
    /// Stop in progress.
    Stopping,
    /// Stopped.
    Stopped,
    /// Termination in progress.
    ShuttingDown,
    /// Terminated.
    Terminated,
    /// A state this version does not know.
    Unknown,
}

impl InstanceState {
    /// Parses EC2's state name.
    pub fn parse(s: &str) -> Self {
        match s {
            "pending" => Self::Pending,
            "running" => Self::Running,
            "stopping" => Self::Stopping,
            "stopped" => Self::Stopped,
            "shutting-down" => Self::ShuttingDown,
            "terminated" => Self::Terminated,
            _ => Self::Unknown,
        }
    }

    /// EC2's state name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::ShuttingDown => "shutting-down",
            Self::Terminated => "terminated",
            Self::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for InstanceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One EC2 instance as Prism sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// `i-…` id.
    pub id: String,
    /// Region it lives in.
    pub region: String,
    /// Lifecycle state.
    pub state: InstanceState,
    /// Instance type, e.g. `t3.medium`.
    pub instance_type: String,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// AMI it was launched from.
    pub image_id: String,
    /// Public IPv4 address, when it has one.
    pub public_ip: Option<String>,
    /// Private IPv4 address, when it has one.
    pub private_ip: Option<String>,
    /// Launch time, RFC 3339.
    pub launch_time: Option<String>,
    /// Sizes in GiB of attached EBS volumes, when known.
    pub volume_sizes_gb: Vec<i32>,
    /// Tags.
    pub tags: Tags,
    /// Name of the key pair it was launched with, if any.
    #[serde(default)]
    pub key_name: Option<String>,
    /// Ids of its security groups.
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    /// Subnet it runs in, when known.
    #[serde(default)]
    pub subnet_id: Option<String>,
    /// Its metadata service's `HttpTokens` (`required` = IMDSv2 only), when EC2 reports it.
    #[serde(default)]
    pub http_tokens: Option<String>,
    /// Device name of its root volume (`RootDeviceName`), when EC2 reports it.
    #[serde(default)]
    pub root_device_name: Option<String>,
}

/// Which instances to describe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceFilter {
    /// Only these ids (empty: any).
    pub ids: Vec<String>,
    /// Only instances having all these tags (`key = value`).
    pub tags: Tags,
    /// Only instances having these tag keys, whatever the value.
    pub tag_keys: Vec<String>,
    /// Include terminated instances.
    pub include_terminated: bool,
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// AMI id.
    pub image_id: String,
    /// Instance type.
    pub instance_type: String,
    /// Root volume size in GiB, when the template sets one.
    pub root_volume_gb: Option<i32>,
    /// User data script (plain text; the implementation encodes it).
    pub user_data: Option<String>,
    /// Tags for the instance and its volumes.
    pub tags: Tags,
    /// Idempotency token (≤ 64 ASCII characters).
    pub client_token: String,
    /// Key pair to install (EC2 `KeyName`); `None`: no key.
    #[serde(default)]
    pub key_name: Option<String>,
    /// Security groups (EC2 `SecurityGroupIds`); empty: the VPC's default group.
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    /// Subnet (EC2 `SubnetId`); `None`: a default subnet of the default VPC.
    #[serde(default)]
    pub subnet_id: Option<String>,
}

/// An EC2 key pair (public half only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyPair {
    /// Key pair name (unique per account and region).
    pub name: String,
    /// `key-…` id, when EC2 reports it.
    #[serde(default)]
    pub id: Option<String>,
    /// EC2's fingerprint of the key, when reported.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Tags,
}

/// One inbound rule of a security group: a protocol and port range from one CIDR.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IngressRule {
    /// `tcp`, `udp`, `icmp` or `-1` (all).
    pub protocol: String,
    /// First port.
    pub from_port: i32,
    /// Last port.
    pub to_port: i32,
    /// Source range, IPv4 (`CidrIp`) or IPv6 (`CidrIpv6`) CIDR.
    pub cidr: String,
}

impl IngressRule {
    /// SSH (tcp/22) from `cidr`.
    pub fn ssh_from(cidr: &str) -> Self {
        IngressRule {
            protocol: "tcp".into(),
            from_port: 22,
            to_port: 22,
            cidr: cidr.into(),
        }
    }
}

/// A VPC security group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroup {
    /// `sg-…` id.
    pub id: String,
    /// Group name (unique per VPC).
    pub name: String,
    /// VPC it belongs to.
    pub vpc_id: Option<String>,
    /// Inbound rules (CIDR sources only; rules naming other groups are not listed).
    pub ingress: Vec<IngressRule>,
    /// Tags.
    pub tags: Tags,
}

/// Which security groups to describe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupQuery {
    /// Only groups in this VPC.
    pub vpc_id: Option<String>,
    /// Only groups of this name.
    pub name: Option<String>,
    /// Only groups having all these tags.
    pub tags: Tags,
}

/// How to create a security group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateGroupRequest {
    /// Group name.
    pub name: String,
    /// Description (required by EC2).
    pub description: String,
    /// VPC to create it in.
    pub vpc_id: String,
    /// Tags, applied at creation (`TagSpecifications`).
    pub tags: Tags,
}

/// A subnet and the VPC it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    /// `subnet-…` id.
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
}

/// How to create an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateImageRequest {
    /// Instance to image.
    pub instance_id: String,
    /// AMI name (must be unique per account and region on real EC2).
    pub name: String,
    /// AMI description.
    pub description: String,
    /// `true`: do not reboot (crash-consistent); `false`: EC2 reboots the instance.
    pub no_reboot: bool,
    /// Tags for the image itself (snapshots are tagged separately).
    pub tags: Tags,
}

/// How to copy an image into another region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyImageRequest {
    /// Region holding the source image.
    pub source_region: String,
    /// Source image id.
    pub source_image_id: String,
    /// Name of the copy.
    pub name: String,
    /// Description of the copy.
    pub description: String,
    /// Idempotency token (real EC2 honours it; moto does not).
    pub client_token: String,
    /// Tags for the copy, applied by CopyImage itself (`TagSpecifications`), so the copy is
    /// never untagged even while EC2 does not yet show it to DescribeImages.
    #[serde(default)]
    pub tags: Tags,
    /// KMS key for an encrypted copy (`Encrypted` + `KmsKeyId`); without it EC2 encrypts a
    /// copy of an encrypted image with the destination region's default key.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// A time-based copy's completion duration in minutes (`SnapshotCopyCompletionDurationMinutes`:
    /// 15-minute increments, 15 to 2,880; EBS "Time-based copies",
    /// <https://docs.aws.amazon.com/ebs/latest/userguide/time-based-copies.html>); `None`: a
    /// standard, best-effort copy.
    #[serde(default)]
    pub completion_duration_minutes: Option<u32>,
}

/// AMI state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageState {
    /// Being created or copied.
    Pending,
    /// Ready to launch.
    Available,
    /// Creation failed.
    Failed,
    /// Invalid.
    Invalid,
    /// Deregistered.
    Deregistered,
    /// Error.
    Error,
    /// Transient (e.g. disabled) or unknown.
    Other,
}

impl ImageState {
    /// Parses EC2's state name.
    pub fn parse(s: &str) -> Self {
        match s {
            "pending" => Self::Pending,
            "available" => Self::Available,
            "failed" => Self::Failed,
            "invalid" => Self::Invalid,
            "deregistered" => Self::Deregistered,
            "error" => Self::Error,
            _ => Self::Other,
        }
    }

    /// Whether no further progress is possible.
    pub fn is_terminal_failure(&self) -> bool {
        matches!(
            self,
            Self::Failed | Self::Invalid | Self::Deregistered | Self::Error
        )
    }

    /// EC2's state name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Available => "available",
            Self::Failed => "failed",
            Self::Invalid => "invalid",
            Self::Deregistered => "deregistered",
            Self::Error => "error",
            Self::Other => "other",
        }
    }
}

/// A deregistered image that a Recycle Bin retention rule keeps (`ListImagesInRecycleBin`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecycledImage {
    /// `ami-…` id.
    pub image_id: String,
    /// When Recycle Bin lets it go for good (`RecycleBinExitTime`, RFC 3339), when EC2 says.
    pub exit_time: Option<String>,
}

/// A deleted snapshot that a Recycle Bin retention rule keeps (`ListSnapshotsInRecycleBin`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecycledSnapshot {
    /// `snap-…` id.
    pub snapshot_id: String,
    /// When Recycle Bin lets it go for good (`RecycleBinExitTime`, RFC 3339), when EC2 says.
    pub exit_time: Option<String>,
    /// The snapshot's description (EC2 writes the AMI id it was made for into it).
    pub description: Option<String>,
}

/// One AMI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// `ami-…` id.
    pub id: String,
    /// Region it lives in.
    pub region: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// State.
    pub state: ImageState,
    /// Why the state is what it is (failures), when EC2 says.
    pub state_reason: Option<String>,
    /// Owner account id.
    pub owner_id: Option<String>,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// Creation date, RFC 3339 (sorts chronologically as text).
    pub creation_date: Option<String>,
    /// Whether it is public.
    pub public: bool,
    /// Whether any of its EBS snapshots is encrypted (such an image cannot be made public).
    #[serde(default)]
    pub encrypted: bool,
    /// Snapshot ids of its EBS block devices (empty while not yet known).
    pub snapshot_ids: Vec<String>,
    /// Total size in GiB of its EBS block devices.
    pub size_gb: i64,
    /// Tags.
    pub tags: Tags,
    /// Device name of the root volume (e.g. `/dev/xvda`), when EC2 says.
    #[serde(default)]
    pub root_device_name: Option<String>,
    /// Its EBS block devices, root first when known. EC2 lists the sizes of a `pending`
    /// image's devices but (often) not their snapshot ids until it is `available`.
    #[serde(default)]
    pub volumes: Vec<ImageVolume>,
    /// Which key encrypts its snapshots.
    #[serde(default)]
    pub key: KeyKind,
    /// When it is (or was) deprecated (`DeprecationTime`, RFC 3339), when it has a deprecation.
    #[serde(default)]
    pub deprecation_time: Option<String>,
    /// EC2's `DeregistrationProtection` (`disabled`, `enabled`, `enabled-with-cooldown`,
    /// `disabled-until TIME` during a cooldown), when it says.
    #[serde(default)]
    pub deregistration_protection: Option<String>,
}

impl Image {
    /// Whether EC2 would refuse to deregister it now: protection is on, or was turned off
    /// less than its cooldown ago (`disabled-until TIME`, TIME still ahead).
    pub fn deregistration_protected(&self) -> bool {
        match self.deregistration_protection.as_deref().map(str::trim) {
            None | Some("") | Some("disabled") => false,
            Some(v) => match v.strip_prefix("disabled-until") {
                Some(until) => chrono::DateTime::parse_from_rfc3339(until.trim())
                    .map_or(true, |t| t > chrono::Utc::now()),
                None => true,
            },
        }
    }
}

impl Image {
    /// Size in GiB of the root volume: the device named `root_device_name`, else the first.
    pub fn root_volume_gb(&self) -> Option<i64> {
        let root = self
            .root_device_name
            .as_deref()
            .and_then(|r| self.volumes.iter().find(|v| v.device_name == r))
            .or_else(|| self.volumes.first())?;
        root.size_gb
    }
}

/// One EBS block device of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageVolume {
    /// Device name, e.g. `/dev/xvda`.
    pub device_name: String,
    /// Size in GiB, when EC2 says.
    pub size_gb: Option<i64>,
    /// Snapshot id, once EC2 shows it.
    pub snapshot_id: Option<String>,
}

/// Which KMS key encrypts an image's snapshots: it decides whether the image can be shared
/// with other accounts (not on the AWS-managed key: EC2 "Share an AMI with specific AWS
/// accounts" — AMIs encrypted with the default AWS managed key cannot be shared).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "key_id")]
pub enum KeyKind {
    /// Not encrypted.
    #[default]
    None,
    /// The account's AWS-managed EBS key (`alias/aws/ebs`): cannot be shared.
    AwsManaged(Option<String>),
    /// A customer-managed key (its id or ARN): recipients need a grant on it.
    CustomerManaged(String),
    /// Encrypted with a key whose kind could not be learned (its id or ARN, when known).
    Unknown(Option<String>),
}

/// Which images to describe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageQuery {
    /// Only these ids.
    pub ids: Vec<String>,
    /// Owners: account ids or `self`, `amazon`.
    pub owners: Vec<String>,
    /// Images these accounts may launch (`self`, `all`).
    pub executable_users: Vec<String>,
    /// Name pattern with `*` wildcards.
    pub name: Option<String>,
    /// Architecture.
    pub architecture: Option<String>,
    /// Having all these tags.
    pub tags: Tags,
    /// Having these tag keys.
    pub tag_keys: Vec<String>,
}

/// EBS snapshot state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SnapshotState {
    /// Being taken.
    Pending,
    /// Done.
    Completed,
    /// Failed.
    Error,
    /// Anything else.
    Other,
}

/// One EBS snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// `snap-…` id.
    pub id: String,
    /// State.
    pub state: SnapshotState,
    /// Progress, 0–100, when known.
    pub progress: Option<u8>,
    /// Size in GiB.
    pub size_gb: i64,
    /// Description (EC2 puts the image id in it for AMI snapshots).
    pub description: Option<String>,
    /// Tags.
    pub tags: Tags,
}

impl Snapshot {
    /// Whether EC2's description says this snapshot was made for `image_id` — by CreateImage
    /// ("Created by CreateImage(i-…) for ami-…") or CopyImage ("Copied for DestinationAmi
    /// ami-… from SourceAmi …").
    pub fn made_for(&self, image_id: &str) -> bool {
        self.description.as_deref().is_some_and(|d| {
            d.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .any(|w| w == image_id)
                && (d.starts_with("Created by CreateImage(")
                    && d.ends_with(&format!(" for {image_id}"))
                    || d.starts_with(&format!("Copied for DestinationAmi {image_id} ")))
        })
    }
}

/// Which snapshots to describe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotQuery {
    /// Only these ids.
    pub ids: Vec<String>,
    /// Having all these tags (owned by self).
    pub tags: Tags,
    /// Description pattern with `*` wildcards (EC2's `description` filter; owned by self).
    #[serde(default)]
    pub description: Option<String>,
}

/// Launch permissions to add or remove.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    /// Everyone (`group=all`).
    pub public: bool,
    /// 12-digit account ids.
    pub accounts: Vec<String>,
    /// Organization ARNs.
    pub organizations: Vec<String>,
    /// Organizational unit ARNs.
    pub organizational_units: Vec<String>,
}

/// One EBS volume (`DescribeVolumes`), with its attachment when it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// `vol-…` id.
    pub id: String,
    /// Region it lives in.
    pub region: String,
    /// EC2's state: `creating`, `available` (detached), `in-use` (attached), `deleting`…
    pub state: String,
    /// Instance it is attached to, when attached.
    pub instance_id: Option<String>,
    /// Device name of the attachment, when attached.
    pub device: Option<String>,
    /// Snapshot it was created from, when any.
    pub snapshot_id: Option<String>,
    /// Size in GiB.
    pub size_gb: i64,
    /// Tags.
    pub tags: Tags,
}

/// Which volumes to describe: by id, or attached to an instance (`attachment.instance-id`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeQuery {
    /// Only these ids (empty: any).
    pub ids: Vec<String>,
    /// Only volumes attached to this instance.
    pub instance_id: Option<String>,
}

/// A `CreateReplaceRootVolumeTask` request that restores the root volume from an AMI.
/// `prism-aws` always sends `DeleteReplacedRootVolume=false`: the replaced volume is kept,
/// detached, so the replacement can itself be undone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplaceRootRequest {
    /// The instance whose root volume is replaced.
    pub instance_id: String,
    /// The AMI the new root volume is restored from.
    pub image_id: String,
    /// Tags for the task (`TagSpecifications`, resource type `replace-root-volume-task`).
    pub tags: Tags,
    /// Idempotency token (`ClientToken`); empty: none.
    pub client_token: String,
}

/// A replace-root-volume task's state (`ReplaceRootVolumeTaskState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplaceRootState {
    /// Accepted, not started.
    Pending,
    /// Replacing (the instance reboots).
    InProgress,
    /// Failing; the original root volume is being reattached.
    Failing,
    /// Done: the new root volume is attached, the original is detached.
    Succeeded,
    /// Failed; the original root volume is still attached.
    Failed,
    /// Failed and the original root volume is not attached.
    FailedDetached,
    /// A state this version does not know.
    Unknown,
}

impl ReplaceRootState {
    /// Parses EC2's name (`pending`, `in-progress`, …); unknown names → `Unknown`.
    pub fn parse(s: &str) -> Self {
        match s {
            "pending" => Self::Pending,
            "in-progress" => Self::InProgress,
            "failing" => Self::Failing,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "failed-detached" => Self::FailedDetached,
            _ => Self::Unknown,
        }
    }

    /// EC2's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InProgress => "in-progress",
            Self::Failing => "failing",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::FailedDetached => "failed-detached",
            Self::Unknown => "unknown",
        }
    }

    /// Whether the task is over (succeeded or failed).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::FailedDetached | Self::Unknown
        )
    }
}

impl std::fmt::Display for ReplaceRootState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One replace-root-volume task (`DescribeReplaceRootVolumeTasks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplaceRootTask {
    /// `replacevol-…` id.
    pub id: String,
    /// The instance.
    pub instance_id: String,
    /// The AMI the new root volume comes from, when one was given.
    pub image_id: Option<String>,
    /// State.
    pub state: ReplaceRootState,
    /// Whether EC2 deletes the replaced root volume (Prism always asks it not to).
    pub delete_replaced_root_volume: bool,
    /// When it started / completed, RFC 3339, when EC2 says.
    pub start_time: Option<String>,
    /// When it completed, RFC 3339.
    pub complete_time: Option<String>,
    /// Tags.
    pub tags: Tags,
}

/// Which replace-root-volume tasks to describe: by id, or of one instance (`instance-id`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplaceRootQuery {
    /// Only these task ids (empty: any).
    pub ids: Vec<String>,
    /// Only tasks of this instance.
    pub instance_id: Option<String>,
}
