//! How the fake behaves: how long transitions take ([`FakeTimings`]) and which of EC2's
//! documented unkindnesses it models ([`FakeEc2`]).

use std::time::Duration;

/// How long simulated transitions take.
#[derive(Debug, Clone)]
pub struct FakeTimings {
    /// running → stopped.
    pub stop: Duration,
    /// stopped → running (also pending → running at launch).
    pub start: Duration,
    /// CreateImage/CopyImage → its snapshots exist (as `pending` snapshots).
    pub snapshot_visible: Duration,
    /// CreateImage → available.
    pub image_available: Duration,
    /// CopyImage → available.
    pub copy_available: Duration,
    /// Added to every API call (network and service time).
    pub api_latency: Duration,
}

impl Default for FakeTimings {
    fn default() -> Self {
        FakeTimings {
            stop: Duration::from_secs(30),
            start: Duration::from_secs(20),
            snapshot_visible: Duration::from_secs(2),
            image_available: Duration::from_secs(300),
            copy_available: Duration::from_secs(600),
            api_latency: Duration::ZERO,
        }
    }
}

/// Shortest completion duration of a time-based copy, in minutes; also its increment. EBS
/// "Time-based copies for Amazon EBS snapshots and EBS-backed AMIs"
/// (<https://docs.aws.amazon.com/ebs/latest/userguide/time-based-copies.html>): "you specify a
/// completion duration, between 15 minutes and 48 hours ... in 15 minute increments".
pub const TIME_BASED_COPY_STEP_MINUTES: u32 = 15;
/// Longest completion duration of a time-based copy, in minutes (48 hours; same source).
pub const TIME_BASED_COPY_MAX_MINUTES: u32 = 48 * 60;

/// Whether `minutes` is a completion duration EC2 accepts (15 to 2,880, a multiple of 15).
pub fn valid_completion_duration(minutes: u32) -> bool {
    (TIME_BASED_COPY_STEP_MINUTES..=TIME_BASED_COPY_MAX_MINUTES).contains(&minutes)
        && minutes.is_multiple_of(TIME_BASED_COPY_STEP_MINUTES)
}

/// When a copy that takes `standard` as a best-effort copy becomes available when CopyImage
/// asked for a completion duration of `completion_minutes`.
///
/// "Time-based copies" (EBS User Guide, link above): each snapshot of the AMI "will be completed
/// within the specified completion duration, with copy throughput automatically adjusted for
/// each snapshot based on its size"; without a duration the copy is "completed on a
/// best-effort basis" (CopyImage, EC2 API Reference,
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopyImage.html>). A copy that
/// would be done sooner anyway is not slowed down, so the model is
/// `min(standard, duration)`. Not modelled: the account's throughput quotas (500 MiB/s per
/// snapshot, 2,000 MiB/s per region pair by default), past which EC2 accepts the copy but it
/// takes longer than asked, or refuses it when no throughput is left.
pub fn time_based_copy_ready(standard: Duration, completion_minutes: Option<u32>) -> Duration {
    match completion_minutes {
        Some(m) => standard.min(Duration::from_secs(u64::from(m) * 60)),
        None => standard,
    }
}

/// Destination-region limit of concurrent AMI copies. "Copying an AMI" (Amazon EC2 User
/// Guide, <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/CopyingAMIs.html>): "Destination
/// regions are limited to 50 concurrent AMI copies at a time, with no more than 25 of those
/// coming from a single source region." (The per-source limit of 25 is not modelled.)
pub const EC2_MAX_CONCURRENT_COPIES_PER_REGION: usize = 50;

/// Which of EC2's documented behaviours the fake models. [`Default`] is EC2 as AWS documents
/// it; [`FakeEc2::lenient`] turns every one off (the kind emulator older tests were written
/// against). Each field names the documentation it follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeEc2 {
    /// "Eventual consistency in the Amazon EC2 API" (EC2 API Reference,
    /// <https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>): for this
    /// long after RunInstances, CreateImage or CopyImage, the new id is unknown to calls that
    /// name it (`InvalidInstanceID.NotFound`, `InvalidAMIID.NotFound`) and describes do not
    /// list it. Default 2 s.
    pub consistency_window: Duration,
    /// DescribeImages (EC2 API Reference): a `pending` image's block device mappings carry the
    /// volume sizes but no snapshot ids until it is `available`. Default on.
    pub hide_pending_snapshot_ids: bool,
    /// RunInstances with a root volume smaller than the image's root snapshot is refused with
    /// `InvalidBlockDeviceMapping` ("Amazon EBS volume size and configuration limits", EBS User
    /// Guide: a volume created from a snapshot must be at least the snapshot's size).
    /// Default on.
    pub enforce_root_volume_size: bool,
    /// DeleteSnapshot (EC2 API Reference): "You cannot delete a snapshot of the root device of
    /// an EBS volume used by a registered AMI. You must first de-register the AMI": answered
    /// `InvalidSnapshot.InUse`; it goes on answering that for this long after DeregisterImage
    /// (eventual consistency). Default 5 s.
    pub snapshot_in_use_after_deregister: Duration,
    /// DeregisterImage `DeleteAssociatedSnapshots` (EC2 API Reference, 2025): the image's
    /// snapshots are deleted with it. `false`: the endpoint ignores the flag (as moto and
    /// older endpoints do). Default on.
    pub honour_delete_associated_snapshots: bool,
    /// For this long after an instance reaches `stopped`, CreateImage answers
    /// `IncorrectInstanceState` ("The instance 'i-…' is not in a state from which it can be
    /// imaged"), as EC2 does while it finishes the stop ("Error codes for the Amazon EC2
    /// API", <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html>:
    /// `IncorrectInstanceState` — "The instance is in an incorrect state, so the requested
    /// action can't be completed"; CreateImage accepts only `running` or `stopped`
    /// instances). Default 3 s.
    pub create_image_after_stop: Duration,
    /// Concurrent (pending) CopyImage operations into one region before CopyImage answers
    /// `ResourceLimitExceeded`; `None`: no limit. Default
    /// [`EC2_MAX_CONCURRENT_COPIES_PER_REGION`].
    pub max_pending_copies_per_region: Option<usize>,
    /// CopyImage `TagSpecifications` (EC2 API Reference: "The tags to apply to the new AMI and
    /// new snapshots"): the copy carries its tags from creation on. `false`: tags are dropped,
    /// as moto does. Default on.
    pub copy_tags_at_creation: bool,
    /// CopyImage (EC2 API Reference, `Encrypted`/`KmsKeyId`): a copy of an encrypted image
    /// without `KmsKeyId` is encrypted with the destination's default (AWS-managed) EBS key.
    /// `false`: the copy keeps the source's key kind. Default on.
    pub copy_uses_destination_default_key: bool,
    /// "Share an AMI with specific AWS accounts" (EC2 User Guide,
    /// <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/sharingamis-explicit.html>): "You
    /// can't share AMIs that are backed by snapshots that are encrypted with the default AWS
    /// managed key." ModifyImageAttribute accepts the share, but the recipient's instance
    /// terminates at once ("Troubleshoot Amazon EC2 instance launch issues — Instance
    /// terminates immediately": `Client.InvalidKMSKey.InvalidState`). Default on.
    pub aws_managed_key_unusable_by_others: bool,
    /// "Tag your Amazon EC2 resources" (EC2 User Guide,
    /// <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html>): "You can tag public
    /// or shared resources, but the tags you assign are available only to your AWS account
    /// and not to the other accounts sharing the resource." Other accounts see an image with
    /// their own tags only. `false`: everyone sees the owner's tags. Default on.
    pub tags_per_account: bool,
    /// "Ensuring idempotency in Amazon EC2 API requests"
    /// (<https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html>):
    /// RunInstances and CopyImage with a ClientToken already used by the account answer the
    /// first call's result instead of acting again. `false`: tokens ignored (moto). Default on.
    pub honour_client_tokens: bool,
    /// CreateImage/CopyImage "Name … must be unique" per account and region: a name in use
    /// (visible yet or not) answers `InvalidAMIName.Duplicate`. Default on.
    pub unique_image_names: bool,
}

impl Default for FakeEc2 {
    fn default() -> Self {
        FakeEc2 {
            consistency_window: Duration::from_secs(2),
            hide_pending_snapshot_ids: true,
            enforce_root_volume_size: true,
            snapshot_in_use_after_deregister: Duration::from_secs(5),
            honour_delete_associated_snapshots: true,
            create_image_after_stop: Duration::from_secs(3),
            max_pending_copies_per_region: Some(EC2_MAX_CONCURRENT_COPIES_PER_REGION),
            copy_tags_at_creation: true,
            copy_uses_destination_default_key: true,
            aws_managed_key_unusable_by_others: true,
            tags_per_account: true,
            honour_client_tokens: true,
            unique_image_names: true,
        }
    }
}

impl FakeEc2 {
    /// Every documented unkindness off: new ids visible at once, snapshot ids shown as soon as
    /// the snapshots exist, no root-size check, snapshots free the moment their image is
    /// deregistered, CreateImage right after a stop, no copy limit, no tags on copies (moto),
    /// copies keep their source's key, shares on AWS-managed keys usable, tags seen by all.
    /// Deleting a snapshot of a *registered* image is still refused, and
    /// `DeleteAssociatedSnapshots` is still honoured.
    pub fn lenient() -> Self {
        FakeEc2 {
            consistency_window: Duration::ZERO,
            hide_pending_snapshot_ids: false,
            enforce_root_volume_size: false,
            snapshot_in_use_after_deregister: Duration::ZERO,
            honour_delete_associated_snapshots: true,
            create_image_after_stop: Duration::ZERO,
            max_pending_copies_per_region: None,
            copy_tags_at_creation: false,
            copy_uses_destination_default_key: false,
            aws_managed_key_unusable_by_others: false,
            tags_per_account: false,
            honour_client_tokens: false,
            unique_image_names: false,
        }
    }
}
