//! Images: CreateImage, CopyImage, DescribeImages, DeregisterImage — with their snapshots
//! made at once (EC2's descriptions), snapshot ids hidden while pending, eventual
//! consistency, per-account visibility and tags.

use super::state::{
    ec2_error, name_match, not_found, not_owner, tags_match, task_millis, volumes, Binned,
    FakeImage, FakeSnapshot, State, AMAZON_ACCOUNT,
};
use super::Service;
use crate::error::codes;
use crate::{
    CloudResult, CopyImageRequest, CreateImageRequest, Image, ImageQuery, ImageState,
    InstanceState, KeyKind, Snapshot, SnapshotState, Tags,
};
use std::time::Duration;
use tokio::time::Instant;

/// What a new image is made of.
struct NewImage<'a> {
    region: &'a str,
    name: &'a str,
    description: &'a str,
    arch: &'a str,
    /// GiB per volume, root first.
    sizes: Vec<i64>,
    ready_after: Duration,
    tags: Tags,
    key: KeyKind,
    /// CreateImage of an instance, or CopyImage of an image.
    origin: Origin<'a>,
}

enum Origin<'a> {
    Instance(&'a str),
    Copy {
        source_image: &'a str,
        source_snapshots: Vec<String>,
    },
}

impl Service<'_> {
    /// The image `id` in `region` as the caller may name it: registered, past its
    /// consistency window, visible to the caller; else `InvalidAMIID.NotFound`.
    #[allow(clippy::result_large_err)] // test double; mirrors the trait's error type
    pub(super) fn visible_image<'s>(
        &self,
        s: &'s mut State,
        action: &str,
        region: &str,
        id: &str,
        now: Instant,
    ) -> CloudResult<&'s mut FakeImage> {
        let visible = s.images.get(id).is_some_and(|i| {
            i.image.region == region
                && !i.is_deregistered()
                && i.settled(now, &self.ec2)
                && i.visible_to(&self.account, s.shares.get(id))
        });
        match s.images.get_mut(id) {
            Some(i) if visible => Ok(i),
            _ => Err(not_found(action, region, codes::AMI_NOT_FOUND, id)),
        }
    }

    /// As [`Service::visible_image`], and owned by the caller (else `AuthFailure`).
    #[allow(clippy::result_large_err)] // test double; mirrors the trait's error type
    pub(super) fn my_image<'s>(
        &self,
        s: &'s mut State,
        action: &str,
        region: &str,
        id: &str,
        now: Instant,
    ) -> CloudResult<&'s mut FakeImage> {
        let account = self.account.clone();
        let i = self.visible_image(s, action, region, id, now)?;
        if i.owner() != account {
            return Err(not_owner(action, region, id));
        }
        Ok(i)
    }

    /// Makes an image and its snapshots (one per volume), as CreateImage and CopyImage do.
    fn new_image(&self, s: &mut State, new: NewImage<'_>) -> String {
        let id = s.new_id("ami");
        let now = Instant::now();
        let mut snaps = Vec::new();
        for (n, gb) in new.sizes.iter().enumerate() {
            let snap = s.new_id("snap");
            let description = match &new.origin {
                Origin::Instance(instance) => format!("Created by CreateImage({instance}) for {id}"),
                Origin::Copy {
                    source_image,
                    source_snapshots,
                } => format!(
                    "Copied for DestinationAmi {id} from SourceAmi {source_image} for SourceSnapshot {}. Task created on {}.",
                    source_snapshots.get(n).map(String::as_str).unwrap_or("snap-unknown"),
                    task_millis()
                ),
            };
            s.snapshots.insert(
                snap.clone(),
                FakeSnapshot {
                    region: new.region.to_string(),
                    owner: self.account.clone(),
                    snap: Snapshot {
                        id: snap.clone(),
                        state: SnapshotState::Pending,
                        progress: Some(0),
                        size_gb: *gb,
                        description: Some(description),
                        tags: Tags::new(),
                    },
                    visible_at: now + self.timings.snapshot_visible,
                    image_id: id.clone(),
                },
            );
            snaps.push(snap);
        }
        let failing = s
            .failing_images
            .iter()
            .find(|(r, _)| r == new.region)
            .map(|(_, why)| why.clone());
        let image = Image {
            id: id.clone(),
            region: new.region.into(),
            name: new.name.into(),
            description: Some(new.description.into()),
            state: ImageState::Pending,
            state_reason: None,
            owner_id: Some(self.account.clone()),
            architecture: new.arch.into(),
            creation_date: Some(chrono::Utc::now().to_rfc3339()),
            public: false,
            encrypted: new.key != KeyKind::None,
            snapshot_ids: snaps.clone(),
            size_gb: new.sizes.iter().sum(),
            tags: new.tags,
            root_device_name: Some("/dev/xvda".into()),
            volumes: volumes(&new.sizes, &snaps),
            key: new.key,
            deprecation_time: None,
            deregistration_protection: Some("disabled".into()),
        };
        s.images.insert(
            id.clone(),
            FakeImage {
                image,
                created: now,
                snapshots_at: now + self.timings.snapshot_visible,
                ready_at: now + new.ready_after,
                final_state: if failing.is_some() {
                    ImageState::Failed
                } else {
                    ImageState::Available
                },
                final_reason: failing,
                deregistered_at: None,
                is_copy: matches!(new.origin, Origin::Copy { .. }),
                foreign_tags: Default::default(),
            },
        );
        id
    }

    /// CreateImage of one of the caller's instances.
    pub(super) async fn create_image(
        &self,
        region: &str,
        req: &CreateImageRequest,
    ) -> CloudResult<String> {
        const ACTION: &str = "CreateImage";
        self.call(ACTION, region, Some(&req.instance_id)).await?;
        // EC2 CreateImage: "Description … Constraints: Up to 255 characters"; "Name … 3-128
        // alphanumeric characters …": refused with InvalidParameterValue (moto accepts both).
        let name_len = req.name.chars().count();
        if req.description.chars().count() > crate::tags::MAX_IMAGE_DESCRIPTION
            || !(3..=128).contains(&name_len)
        {
            return Err(ec2_error(
                ACTION,
                region,
                "InvalidParameterValue",
                &req.instance_id,
                "the image name must be 3-128 characters and its description at most 255",
            ));
        }
        let now = Instant::now();
        let mut s = self.lock();
        self.refuse_duplicate_name(&s, ACTION, region, &req.name, &req.instance_id)?;
        let i = self.my_instance(&mut s, ACTION, region, &req.instance_id, now)?;
        // EC2 answers IncorrectInstanceState for an instance that is not running or stopped,
        // and for a while after it reached `stopped` (the stop is still being finished).
        let just_stopped = i.inst.state == InstanceState::Stopped
            && i.stopped_at
                .is_some_and(|at| now < at + self.ec2.create_image_after_stop);
        if !matches!(
            i.inst.state,
            InstanceState::Running | InstanceState::Stopped
        ) || just_stopped
        {
            return Err(ec2_error(
                ACTION,
                region,
                codes::INCORRECT_INSTANCE_STATE,
                &req.instance_id,
                format!(
                    "The instance '{}' is not in a state from which it can be imaged",
                    req.instance_id
                ),
            ));
        }
        let arch = i.inst.architecture.clone();
        let sizes = i.inst.volume_sizes_gb.iter().map(|v| *v as i64).collect();
        let ready_after = self.timings.image_available;
        Ok(self.new_image(
            &mut s,
            NewImage {
                region,
                name: &req.name,
                description: &req.description,
                arch: &arch,
                sizes,
                ready_after,
                tags: req.tags.clone(),
                key: KeyKind::None,
                origin: Origin::Instance(&req.instance_id),
            },
        ))
    }

    /// DescribeImages as the caller sees them. Ids any of which the caller cannot see
    /// answer an empty list (EC2's `InvalidAMIID.NotFound`, absorbed by `prism-aws`).
    pub(super) async fn describe_images(
        &self,
        region: &str,
        query: &ImageQuery,
    ) -> CloudResult<Vec<Image>> {
        self.call(
            "DescribeImages",
            region,
            query.ids.first().map(|s| s.as_str()),
        )
        .await?;
        let now = Instant::now();
        let mut s = self.lock();
        for id in &query.ids {
            if self
                .visible_image(&mut s, "DescribeImages", region, id, now)
                .is_err()
            {
                return Ok(vec![]);
            }
        }
        let me = self.account.as_str();
        let shared_with = |s: &State, id: &str, who: &str| {
            s.shares
                .get(id)
                .is_some_and(|sh| sh.accounts.iter().any(|a| a == who))
        };
        Ok(s.images
            .values()
            .filter(|i| {
                i.image.region == region
                    && !i.is_deregistered()
                    && i.settled(now, &self.ec2)
                    && i.visible_to(me, s.shares.get(&i.image.id))
            })
            .map(|i| i.view(now, me, &self.ec2))
            .filter(|i| query.ids.is_empty() || query.ids.contains(&i.id))
            .filter(|i| {
                let owner = i.owner_id.as_deref().unwrap_or_default();
                query.owners.is_empty()
                    || query.owners.iter().any(|o| match o.as_str() {
                        "self" => owner == me,
                        "amazon" => owner == AMAZON_ACCOUNT,
                        acct => owner == acct,
                    })
            })
            .filter(|i| {
                query.executable_users.is_empty()
                    || query.executable_users.iter().any(|u| match u.as_str() {
                        "all" => i.public,
                        "self" => shared_with(&s, &i.id, me),
                        acct => shared_with(&s, &i.id, acct),
                    })
            })
            .filter(|i| query.name.as_deref().is_none_or(|p| name_match(p, &i.name)))
            .filter(|i| {
                query
                    .architecture
                    .as_deref()
                    .is_none_or(|a| a == i.architecture)
            })
            .filter(|i| tags_match(&i.tags, &query.tags, &query.tag_keys))
            .collect())
    }

    /// DeregisterImage of one of the caller's images; with `delete_snapshots`, its
    /// snapshots go too (`DeleteAssociatedSnapshots`) unless the endpoint ignores the flag.
    /// An image that no longer exists is not an error; one still in its consistency window
    /// answers `InvalidAMIID.NotFound`.
    pub(super) async fn deregister_image(
        &self,
        region: &str,
        image_id: &str,
        delete_snapshots: bool,
    ) -> CloudResult<()> {
        const ACTION: &str = "DeregisterImage";
        self.call(ACTION, region, Some(image_id)).await?;
        let now = Instant::now();
        let mut s = self.lock();
        let gone = s
            .images
            .get(image_id)
            .is_none_or(|i| i.image.region != region || i.is_deregistered());
        if gone {
            return Ok(());
        }
        let i = self.my_image(&mut s, ACTION, region, image_id, now)?;
        // EnableImageDeregistrationProtection: "When deregistration protection is enabled, the
        // AMI can't be deregistered" (also during a cooldown). The error code is not
        // documented: the fake answers `OperationNotPermitted`.
        if i.image.deregistration_protected() {
            return Err(ec2_error(
                ACTION,
                region,
                "OperationNotPermitted",
                image_id,
                "the AMI has deregistration protection enabled",
            ));
        }
        i.deregistered_at = Some(now);
        i.image.state = ImageState::Deregistered;
        let snaps = i.image.snapshot_ids.clone();
        let share = s.shares.remove(image_id);
        // Recycle Bin ("Recycle Bin retention rules"): an image deregistered while a
        // retention rule for images applies is kept for the rule's retention period, and
        // `ListImagesInRecycleBin` shows when it leaves (`RecycleBinExitTime`). "Considerations
        // for AMIs": a shared AMI is unshared when it enters the bin, and its sharing is
        // restored with it (kept in the bin entry).
        if let Some(days) = s.image_retention_days {
            s.recycle_bin
                .insert(image_id.to_string(), Binned::new(days, now, share));
        }
        if delete_snapshots && self.ec2.honour_delete_associated_snapshots {
            for snap in snaps {
                super::recycle_bin::discard_snapshot(&mut s, &snap, now);
            }
        }
        Ok(())
    }

    /// CopyImage of an image the caller can see into `dest_region`.
    pub(super) async fn copy_image(
        &self,
        dest_region: &str,
        req: &CopyImageRequest,
    ) -> CloudResult<String> {
        const ACTION: &str = "CopyImage";
        self.call(ACTION, dest_region, Some(&req.source_image_id))
            .await?;
        // CopyImage, EC2 API Reference: the completion duration is "in 15 minute increments";
        // EBS "Time-based copies": between 15 minutes and 48 hours. EC2 refuses others (the
        // error code is an assumption: EC2's generic one for a bad parameter value).
        if let Some(m) = req.completion_duration_minutes {
            if !super::config::valid_completion_duration(m) {
                return Err(ec2_error(
                    ACTION,
                    dest_region,
                    "InvalidParameterValue",
                    &req.source_image_id,
                    format!(
                        "SnapshotCopyCompletionDurationMinutes {m} is not a multiple of 15 between 15 and 2880"
                    ),
                ));
            }
        }
        let now = Instant::now();
        let mut s = self.lock();
        let token = (
            self.account.clone(),
            dest_region.to_string(),
            ACTION.to_string(),
            req.client_token.clone(),
        );
        if let Some(id) = s.by_token(self.ec2.honour_client_tokens, &token) {
            return Ok(id);
        }
        self.refuse_duplicate_name(&s, ACTION, dest_region, &req.name, &req.source_image_id)?;
        let src = match self.visible_image(
            &mut s,
            ACTION,
            &req.source_region,
            &req.source_image_id,
            now,
        ) {
            Ok(i) => i.clone(),
            Err(mut e) => {
                e.region = dest_region.into();
                return Err(e);
            }
        };
        let state = src.state(now);
        if state != ImageState::Available {
            return Err(ec2_error(
                ACTION,
                dest_region,
                "IncorrectState",
                &req.source_image_id,
                format!("image {} is {}", req.source_image_id, state.as_str()),
            ));
        }
        if let Some(max) = self.ec2.max_pending_copies_per_region {
            let pending = s
                .images
                .values()
                .filter(|i| {
                    i.is_copy
                        && i.image.region == dest_region
                        && i.owner() == self.account
                        && i.state(now) == ImageState::Pending
                })
                .count();
            if pending >= max {
                return Err(ec2_error(
                    ACTION,
                    dest_region,
                    codes::RESOURCE_LIMIT_EXCEEDED,
                    &req.source_image_id,
                    format!(
                        "You have reached the limit of {max} concurrent AMI copies into {dest_region}; \
                         wait for some copies to complete"
                    ),
                ));
            }
        }
        let key = match (&req.kms_key_id, &src.image.key) {
            (Some(k), _) => KeyKind::CustomerManaged(k.clone()),
            (None, KeyKind::None) => KeyKind::None,
            (None, _) if self.ec2.copy_uses_destination_default_key => KeyKind::AwsManaged(None),
            (None, k) => k.clone(),
        };
        let tags = if self.ec2.copy_tags_at_creation {
            req.tags.clone()
        } else {
            Tags::new()
        };
        let sizes = src
            .image
            .volumes
            .iter()
            .map(|v| v.size_gb.unwrap_or(8))
            .collect();
        // A time-based copy completes within its duration (see `time_based_copy_ready`).
        let ready_after = super::config::time_based_copy_ready(
            self.timings.copy_available,
            req.completion_duration_minutes,
        );
        let id = self.new_image(
            &mut s,
            NewImage {
                region: dest_region,
                name: &req.name,
                description: &req.description,
                arch: &src.image.architecture,
                sizes,
                ready_after,
                tags,
                key,
                origin: Origin::Copy {
                    source_image: &req.source_image_id,
                    source_snapshots: src.image.snapshot_ids.clone(),
                },
            },
        );
        if !req.client_token.is_empty() {
            s.client_tokens.insert(token, id.clone());
        }
        Ok(id)
    }

    /// EC2 answers `InvalidAMIName.Duplicate` for a name the account already uses in the
    /// region, whether DescribeImages shows that image yet or not.
    #[allow(clippy::result_large_err)] // test double; mirrors the trait's error type
    fn refuse_duplicate_name(
        &self,
        s: &State,
        action: &str,
        region: &str,
        name: &str,
        resource: &str,
    ) -> CloudResult<()> {
        if !self.ec2.unique_image_names {
            return Ok(());
        }
        match s.image_named(&self.account, region, name) {
            Some(id) => Err(ec2_error(
                action,
                region,
                codes::AMI_NAME_DUPLICATE,
                resource,
                format!("AMI name {name} is already in use by AMI {id}"),
            )),
            None => Ok(()),
        }
    }
}
