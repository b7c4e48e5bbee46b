//! Conversions between AWS SDK types and `prism_cloud` types (pure functions, no I/O).

use aws_sdk_ec2::types as ec2;
use aws_smithy_types::date_time::Format;
use prism_cloud::{
    Image, ImageState, ImageVolume, Instance, InstanceState, KeyKind, Snapshot, SnapshotState, Tags,
};

/// SDK tags → sorted [`Tags`] (tags without a key are dropped).
pub(crate) fn tags_from_sdk(tags: &[ec2::Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| {
            t.key()
                .map(|k| (k.to_string(), t.value().unwrap_or_default().to_string()))
        })
        .collect()
}

/// [`Tags`] → SDK tags.
pub(crate) fn tags_to_sdk(tags: &Tags) -> Vec<ec2::Tag> {
    tags.iter()
        .map(|(k, v)| ec2::Tag::builder().key(k).value(v).build())
        .collect()
}

/// A tag specification for `resource_type` (`None` when there is nothing to tag, since EC2
/// rejects an empty tag list).
pub(crate) fn tag_spec(
    resource_type: ec2::ResourceType,
    tags: &Tags,
) -> Option<ec2::TagSpecification> {
    if tags.is_empty() {
        return None;
    }
    Some(
        ec2::TagSpecification::builder()
            .resource_type(resource_type)
            .set_tags(Some(tags_to_sdk(tags)))
            .build(),
    )
}

/// A `Name=name, Values=values` filter.
pub(crate) fn filter(
    name: &str,
    values: impl IntoIterator<Item = impl Into<String>>,
) -> ec2::Filter {
    ec2::Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}

/// `tag:K = V` filters for every tag plus one `tag-key` filter per key.
pub(crate) fn tag_filters(tags: &Tags, tag_keys: &[String]) -> Vec<ec2::Filter> {
    let mut out: Vec<ec2::Filter> = tags
        .iter()
        .map(|(k, v)| filter(&format!("tag:{k}"), [v.as_str()]))
        .collect();
    out.extend(tag_keys.iter().map(|k| filter("tag-key", [k.as_str()])));
    out
}

/// An SDK timestamp as RFC 3339.
fn rfc3339(t: &aws_smithy_types::DateTime) -> Option<String> {
    t.fmt(Format::DateTime).ok()
}

/// An SDK instance → [`Instance`] of `region` (volume sizes are filled in separately).
pub(crate) fn instance_from_sdk(region: &str, i: &ec2::Instance) -> Instance {
    Instance {
        id: i.instance_id().unwrap_or_default().to_string(),
        region: region.to_string(),
        state: i
            .state()
            .and_then(|s| s.name())
            .map(|n| InstanceState::parse(n.as_str()))
            .unwrap_or(InstanceState::Unknown),
        instance_type: i
            .instance_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        architecture: i
            .architecture()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default(),
        image_id: i.image_id().unwrap_or_default().to_string(),
        public_ip: i.public_ip_address().map(str::to_string),
        private_ip: i.private_ip_address().map(str::to_string),
        launch_time: i.launch_time().and_then(rfc3339),
        volume_sizes_gb: Vec::new(),
        tags: tags_from_sdk(i.tags()),
        key_name: i.key_name().map(str::to_string),
        security_group_ids: i
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect(),
        subnet_id: i.subnet_id().map(str::to_string),
        http_tokens: i
            .metadata_options()
            .and_then(|m| m.http_tokens())
            .map(|t| t.as_str().to_string()),
        root_device_name: i.root_device_name().map(str::to_string),
    }
}

/// An SDK image → [`Image`] of `region`.
pub(crate) fn image_from_sdk(region: &str, i: &ec2::Image) -> Image {
    let ebs: Vec<&ec2::EbsBlockDevice> = i
        .block_device_mappings()
        .iter()
        .filter_map(|m| m.ebs())
        .collect();
    Image {
        id: i.image_id().unwrap_or_default().to_string(),
        region: region.to_string(),
        name: i.name().unwrap_or_default().to_string(),
        description: i.description().map(str::to_string),
        state: i
            .state()
            .map(|s| ImageState::parse(s.as_str()))
            .unwrap_or(ImageState::Other),
        state_reason: i
            .state_reason()
            .and_then(|r| r.message().or(r.code()))
            .filter(|m| !m.is_empty())
            .map(str::to_string),
        owner_id: i.owner_id().map(str::to_string),
        architecture: i
            .architecture()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default(),
        creation_date: i.creation_date().map(str::to_string),
        public: i.public().unwrap_or(false),
        encrypted: ebs.iter().any(|e| e.encrypted() == Some(true)),
        snapshot_ids: ebs
            .iter()
            .filter_map(|e| e.snapshot_id())
            .map(str::to_string)
            .collect(),
        size_gb: ebs
            .iter()
            .filter_map(|e| e.volume_size())
            .map(i64::from)
            .sum(),
        tags: tags_from_sdk(i.tags()),
        root_device_name: i.root_device_name().map(str::to_string),
        volumes: i
            .block_device_mappings()
            .iter()
            .filter_map(|m| {
                let e = m.ebs()?;
                Some(ImageVolume {
                    device_name: m.device_name().unwrap_or_default().to_string(),
                    size_gb: e.volume_size().map(i64::from),
                    snapshot_id: e.snapshot_id().map(str::to_string),
                })
            })
            .collect(),
        // DescribeImages does not name the key (EbsBlockDevice.KmsKeyId is only read by
        // RunInstances and Spot requests); `images::key_kind` learns it from the snapshots.
        key: if ebs.iter().any(|e| e.encrypted() == Some(true)) {
            KeyKind::Unknown(None)
        } else {
            KeyKind::None
        },
        deprecation_time: i.deprecation_time().map(str::to_string),
        deregistration_protection: i.deregistration_protection().map(str::to_string),
    }
}

/// An SDK snapshot → [`Snapshot`].
pub(crate) fn snapshot_from_sdk(s: &ec2::Snapshot) -> Snapshot {
    Snapshot {
        id: s.snapshot_id().unwrap_or_default().to_string(),
        state: match s.state() {
            Some(ec2::SnapshotState::Pending) => SnapshotState::Pending,
            Some(ec2::SnapshotState::Completed) => SnapshotState::Completed,
            Some(ec2::SnapshotState::Error) => SnapshotState::Error,
            _ => SnapshotState::Other,
        },
        progress: s.progress().and_then(parse_progress),
        size_gb: s.volume_size().map(i64::from).unwrap_or(0),
        description: s.description().map(str::to_string),
        tags: tags_from_sdk(s.tags()),
    }
}

/// EC2's `"42%"` → 42 (clamped to 100).
fn parse_progress(p: &str) -> Option<u8> {
    let n: u32 = p.trim().trim_end_matches('%').trim().parse().ok()?;
    Some(n.min(100) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> ec2::Tag {
        ec2::Tag::builder().key(k).value(v).build()
    }

    #[test]
    fn image_collects_snapshots_sizes_and_state_reason() {
        let bdm = |dev: &str, snap: &str, size: i32| {
            ec2::BlockDeviceMapping::builder()
                .device_name(dev)
                .ebs(
                    ec2::EbsBlockDevice::builder()
                        .snapshot_id(snap)
                        .volume_size(size)
                        .build(),
                )
                .build()
        };
        let img = ec2::Image::builder()
            .image_id("ami-1")
            .name("n")
            .state(ec2::ImageState::Failed)
            .state_reason(
                ec2::StateReason::builder()
                    .code("x")
                    .message("disk gone")
                    .build(),
            )
            .public(true)
            .architecture(ec2::ArchitectureValues::Arm64)
            .block_device_mappings(bdm("/dev/sda1", "snap-a", 30))
            .block_device_mappings(bdm("/dev/sdb", "snap-b", 100))
            .block_device_mappings(
                ec2::BlockDeviceMapping::builder()
                    .device_name("/dev/sdc")
                    .virtual_name("ephemeral0")
                    .build(),
            )
            .tags(tag("prism:managed", "true"))
            .build();
        let i = image_from_sdk("eu-west-1", &img);
        assert_eq!(i.region, "eu-west-1");
        assert_eq!(i.state, ImageState::Failed);
        assert_eq!(i.state_reason.as_deref(), Some("disk gone"));
        assert_eq!(i.snapshot_ids, vec!["snap-a", "snap-b"]);
        assert_eq!(i.size_gb, 130);
        assert!(i.public);
        assert_eq!(i.architecture, "arm64");
        assert_eq!(
            i.tags.get("prism:managed").map(String::as_str),
            Some("true")
        );
    }

    #[test]
    fn instance_state_type_and_time() {
        let inst = ec2::Instance::builder()
            .instance_id("i-1")
            .state(
                ec2::InstanceState::builder()
                    .name(ec2::InstanceStateName::ShuttingDown)
                    .build(),
            )
            .instance_type(ec2::InstanceType::T3Medium)
            .launch_time(aws_smithy_types::DateTime::from_secs(0))
            .tags(tag("b", "2"))
            .tags(tag("a", "1"))
            .build();
        let i = instance_from_sdk("us-east-1", &inst);
        assert_eq!(i.state, InstanceState::ShuttingDown);
        assert_eq!(i.instance_type, "t3.medium");
        assert_eq!(i.launch_time.as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(i.tags.keys().collect::<Vec<_>>(), vec!["a", "b"]);
    }

    #[test]
    fn snapshot_progress_and_state() {
        let s = ec2::Snapshot::builder()
            .snapshot_id("snap-1")
            .state(ec2::SnapshotState::Pending)
            .progress("37%")
            .volume_size(8)
            .build();
        let s = snapshot_from_sdk(&s);
        assert_eq!(s.state, SnapshotState::Pending);
        assert_eq!(s.progress, Some(37));
        assert_eq!(s.size_gb, 8);
        assert_eq!(parse_progress("garbage"), None);
        assert_eq!(parse_progress("100%"), Some(100));
    }

    #[test]
    fn tag_filters_and_specs() {
        let tags: Tags = [("prism:managed".to_string(), "true".to_string())].into();
        let f = tag_filters(&tags, &["prism:name".to_string()]);
        assert_eq!(f[0].name(), Some("tag:prism:managed"));
        assert_eq!(f[0].values(), ["true".to_string()]);
        assert_eq!(f[1].name(), Some("tag-key"));
        assert_eq!(f[1].values(), ["prism:name".to_string()]);
        assert!(tag_spec(ec2::ResourceType::Image, &Tags::new()).is_none());
        let spec = tag_spec(ec2::ResourceType::Image, &tags).unwrap();
        assert_eq!(spec.resource_type(), Some(&ec2::ResourceType::Image));
        assert_eq!(spec.tags().len(), 1);
    }
}
