//! Instances: describe, run, start, stop, terminate — per account, with EC2's eventual
//! consistency after RunInstances, root-size checks and capacity refusals.

use super::state::{ec2_error, not_found, tags_match, FakeInstance, State};
use super::Service;
use crate::error::codes;
use crate::{CloudResult, Instance, InstanceFilter, InstanceState, KeyKind, RunSpec};
use tokio::time::Instant;

impl Service<'_> {
    /// The caller's instance `id` in `region` once its consistency window is over, settled to
    /// `now`; else `InvalidInstanceID.NotFound`.
    #[allow(clippy::result_large_err)] // test double; mirrors the trait's error type
    pub(super) fn my_instance<'s>(
        &self,
        s: &'s mut State,
        action: &str,
        region: &str,
        id: &str,
        now: Instant,
    ) -> CloudResult<&'s mut FakeInstance> {
        match s.instances.get_mut(id) {
            Some(i) if self.sees_instance(i, region, now) => {
                i.settle(now);
                Ok(i)
            }
            _ => Err(not_found(action, region, codes::INSTANCE_NOT_FOUND, id)),
        }
    }

    /// Whether the caller sees `i` in `region` now: its own, past the consistency window
    /// ("Eventual consistency in the Amazon EC2 API": a new instance id may be unknown to
    /// calls naming it for a while after RunInstances).
    fn sees_instance(&self, i: &FakeInstance, region: &str, now: Instant) -> bool {
        i.inst.region == region
            && i.owner == self.account
            && now >= i.created + self.ec2.consistency_window
    }

    /// DescribeInstances: the caller's visible instances; unknown ids are simply absent (as
    /// `prism-aws` asks with the `instance-id` filter).
    pub(super) async fn describe_instances(
        &self,
        region: &str,
        filter: &InstanceFilter,
    ) -> CloudResult<Vec<Instance>> {
        self.call("DescribeInstances", region, None).await?;
        let now = Instant::now();
        let mut s = self.lock();
        s.settle_root_tasks(now);
        Ok(s.instances
            .values_mut()
            .filter(|i| self.sees_instance(i, region, now))
            .map(|i| {
                i.settle(now);
                i.inst.clone()
            })
            .filter(|i| filter.ids.is_empty() || filter.ids.contains(&i.id))
            .filter(|i| filter.include_terminated || i.state != InstanceState::Terminated)
            .filter(|i| tags_match(&i.tags, &filter.tags, &filter.tag_keys))
            .collect())
    }

    /// RunInstances of an image the caller may launch.
    pub(super) async fn run_instance(&self, region: &str, spec: &RunSpec) -> CloudResult<Instance> {
        const ACTION: &str = "RunInstances";
        self.call(ACTION, region, Some(&spec.image_id)).await?;
        let now = Instant::now();
        let mut s = self.lock();
        let token = (
            self.account.clone(),
            region.to_string(),
            ACTION.to_string(),
            spec.client_token.clone(),
        );
        if let Some(id) = s.by_token(self.ec2.honour_client_tokens, &token) {
            if let Some(i) = s.instances.get(&id) {
                return Ok(i.inst.clone());
            }
        }
        let image = match s.images.get(&spec.image_id) {
            Some(i)
                if i.image.region == region
                    && !i.is_deregistered()
                    && i.settled(now, &self.ec2)
                    && i.visible_to(&self.account, s.shares.get(&spec.image_id)) =>
            {
                i.clone()
            }
            _ => {
                return Err(not_found(
                    ACTION,
                    region,
                    codes::AMI_NOT_FOUND,
                    &spec.image_id,
                ))
            }
        };
        let root_gb = image.image.root_volume_gb().unwrap_or(8);
        if let Some(gb) = spec.root_volume_gb {
            // "Amazon EBS volume size and configuration limits": a volume made from a snapshot
            // is at least as large as the snapshot; RunInstances answers
            // InvalidBlockDeviceMapping otherwise.
            if self.ec2.enforce_root_volume_size && i64::from(gb) < root_gb {
                let snap = image
                    .image
                    .volumes
                    .first()
                    .and_then(|v| v.snapshot_id.clone())
                    .unwrap_or_default();
                return Err(ec2_error(
                    ACTION,
                    region,
                    codes::INVALID_BLOCK_DEVICE_MAPPING,
                    &spec.image_id,
                    format!(
                        "Volume of size {gb}GB is smaller than snapshot '{snap}', expect size >= {root_gb}GB"
                    ),
                ));
            }
        }
        // Where it runs. RunInstances (EC2 API Reference, `SubnetId`): without a subnet EC2
        // uses a default subnet of the default VPC; an account or region without one answers
        // `VPCIdNotSpecified` ("Error codes for the Amazon EC2 API": "You have no default VPC
        // in which to carry out the request. Specify a VPC or subnet ID"); an unknown subnet
        // is `InvalidSubnetID.NotFound`.
        let account = self.account.clone();
        let (vpc_id, subnet_id) = match &spec.subnet_id {
            Some(id) => match s.subnet(&account, region, id) {
                Some(sn) => (sn.vpc_id, sn.id),
                None => return Err(not_found(ACTION, region, codes::SUBNET_NOT_FOUND, id)),
            },
            None => match s.default_vpc(&account, region) {
                Some(v) => v,
                None => {
                    return Err(ec2_error(
                        ACTION,
                        region,
                        codes::VPC_ID_NOT_SPECIFIED,
                        &spec.image_id,
                        "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.",
                    ))
                }
            },
        };
        // `KeyName` must name an existing key pair (`InvalidKeyPair.NotFound`).
        if let Some(k) = &spec.key_name {
            if !s
                .key_pairs
                .contains_key(&(account.clone(), region.to_string(), k.clone()))
            {
                return Err(not_found(ACTION, region, codes::KEY_PAIR_NOT_FOUND, k));
            }
        }
        // `SecurityGroupIds` must exist (`InvalidGroup.NotFound`) and be in the subnet's VPC
        // (`InvalidParameter`: "Security group … and subnet … belong to different networks").
        for g in &spec.security_group_ids {
            match s.groups.get(g) {
                Some(fg) if fg.owner == account && fg.region == region => {
                    if fg.group.vpc_id.as_deref() != Some(vpc_id.as_str()) {
                        return Err(ec2_error(
                            ACTION,
                            region,
                            "InvalidParameter",
                            g,
                            format!("Security group {g} and subnet {subnet_id} belong to different networks."),
                        ));
                    }
                }
                _ => return Err(not_found(ACTION, region, codes::GROUP_NOT_FOUND, g)),
            }
        }
        if s.take_no_capacity(region) {
            return Err(no_capacity(
                ACTION,
                region,
                &spec.instance_type,
                &spec.image_id,
            ));
        }
        // "Share an AMI with specific AWS accounts": an AMI on the AWS-managed key cannot be
        // used by the accounts it is shared with; EC2 accepts RunInstances and the instance
        // terminates at once (Client.InvalidKMSKey.InvalidState).
        let unusable = self.ec2.aws_managed_key_unusable_by_others
            && image.owner() != self.account
            && matches!(image.image.key, KeyKind::AwsManaged(_));
        let id = s.new_id("i");
        let inst = Instance {
            id: id.clone(),
            region: region.into(),
            state: InstanceState::Pending,
            instance_type: spec.instance_type.clone(),
            architecture: image.image.architecture.clone(),
            image_id: spec.image_id.clone(),
            public_ip: Some("203.0.113.20".into()),
            private_ip: Some("10.0.0.20".into()),
            launch_time: Some(chrono::Utc::now().to_rfc3339()),
            volume_sizes_gb: vec![spec.root_volume_gb.unwrap_or(root_gb as i32)],
            tags: spec.tags.clone(),
            key_name: spec.key_name.clone(),
            security_group_ids: spec.security_group_ids.clone(),
            subnet_id: Some(subnet_id),
            // `prism-aws` always sends MetadataOptions HttpTokens=required.
            http_tokens: Some("required".into()),
            root_device_name: Some(
                image
                    .image
                    .volumes
                    .first()
                    .map(|v| v.device_name.clone())
                    .unwrap_or_else(|| "/dev/xvda".into()),
            ),
        };
        let target = if unusable {
            InstanceState::Terminated
        } else {
            InstanceState::Running
        };
        if !spec.client_token.is_empty() {
            s.client_tokens.insert(token, id.clone());
        }
        // "Root volumes for your Amazon EC2 instances": "When you launch an instance from an
        // Amazon EBS-backed AMI, we create an Amazon EBS volume for each Amazon EBS snapshot
        // referenced by the AMI" — root first, at the AMI's device names.
        let root_dev = inst.root_device_name.clone().unwrap_or_default();
        if image.image.volumes.is_empty() {
            s.add_volume(
                &account,
                region,
                Some((&id, &root_dev)),
                None,
                i64::from(inst.volume_sizes_gb[0]),
            );
        }
        for (n, v) in image.image.volumes.iter().enumerate() {
            let gb = if n == 0 {
                i64::from(inst.volume_sizes_gb[0])
            } else {
                v.size_gb.unwrap_or(8)
            };
            s.add_volume(
                &account,
                region,
                Some((&id, &v.device_name)),
                v.snapshot_id.clone(),
                gb,
            );
        }
        s.instances.insert(
            id,
            FakeInstance {
                inst: inst.clone(),
                owner: self.account.clone(),
                created: now,
                transition: Some((now + self.timings.start, target)),
                stopped_at: None,
            },
        );
        Ok(inst)
    }

    /// StartInstances.
    pub(super) async fn start_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        const ACTION: &str = "StartInstances";
        self.call(ACTION, region, Some(instance_id)).await?;
        let now = Instant::now();
        let mut s = self.lock();
        let i = self.my_instance(&mut s, ACTION, region, instance_id, now)?;
        match i.inst.state {
            InstanceState::Stopped => {
                let ty = i.inst.instance_type.clone();
                if s.take_no_capacity(region) {
                    return Err(no_capacity(ACTION, region, &ty, instance_id));
                }
                let i = self.my_instance(&mut s, ACTION, region, instance_id, now)?;
                i.inst.state = InstanceState::Pending;
                i.transition = Some((now + self.timings.start, InstanceState::Running));
                Ok(())
            }
            InstanceState::Running | InstanceState::Pending => Ok(()),
            st => Err(ec2_error(
                ACTION,
                region,
                codes::INCORRECT_INSTANCE_STATE,
                instance_id,
                format!("The instance '{instance_id}' is not in a state from which it can be started ({st})"),
            )),
        }
    }

    /// StopInstances.
    pub(super) async fn stop_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        const ACTION: &str = "StopInstances";
        self.call(ACTION, region, Some(instance_id)).await?;
        let now = Instant::now();
        let mut s = self.lock();
        let i = self.my_instance(&mut s, ACTION, region, instance_id, now)?;
        match i.inst.state {
            InstanceState::Running | InstanceState::Pending => {
                i.inst.state = InstanceState::Stopping;
                i.transition = Some((now + self.timings.stop, InstanceState::Stopped));
                Ok(())
            }
            InstanceState::Stopped | InstanceState::Stopping => Ok(()),
            st => Err(ec2_error(
                ACTION,
                region,
                codes::INCORRECT_INSTANCE_STATE,
                instance_id,
                format!("The instance '{instance_id}' is not in a state from which it can be stopped ({st})"),
            )),
        }
    }

    /// TerminateInstances.
    pub(super) async fn terminate_instance(
        &self,
        region: &str,
        instance_id: &str,
    ) -> CloudResult<()> {
        const ACTION: &str = "TerminateInstances";
        self.call(ACTION, region, Some(instance_id)).await?;
        let now = Instant::now();
        let mut s = self.lock();
        let i = self.my_instance(&mut s, ACTION, region, instance_id, now)?;
        i.inst.state = InstanceState::Terminated;
        i.transition = None;
        Ok(())
    }
}

/// EC2's `InsufficientInstanceCapacity` ("Troubleshoot Amazon EC2 instance launch issues —
/// Insufficient instance capacity").
fn no_capacity(
    action: &str,
    region: &str,
    instance_type: &str,
    resource: &str,
) -> crate::CloudError {
    ec2_error(
        action,
        region,
        codes::INSUFFICIENT_CAPACITY,
        resource,
        format!(
            "We currently do not have sufficient {instance_type} capacity in the Availability Zone \
             you requested ({region}a). Our system will be working on provisioning additional \
             capacity. You can currently get {instance_type} capacity by not specifying an \
             Availability Zone in your request or choosing {region}b, {region}c."
        ),
    )
}
