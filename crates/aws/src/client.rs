//! [`AwsCloud`]: one credential set (profile), with lazily built EC2 and STS clients per region.

use crate::{
    account, deprecation, images, instances, network, sharing, snapshots, tagging, volumes,
};
use async_trait::async_trait;
use aws_config::{Region, SdkConfig};
use prism_cloud::{
    CallerIdentity, Cloud, CloudResult, CopyImageRequest, CreateGroupRequest, CreateImageRequest,
    GroupQuery, Image, ImageQuery, IngressRule, Instance, InstanceFilter, KeyPair, RunSpec,
    SecurityGroup, Share, Snapshot, SnapshotQuery, Subnet, Tags,
};
use std::collections::HashMap;
use std::sync::Mutex;

/// The [`Cloud`] of one AWS credential set, backed by the official SDK.
///
/// Every call names its region; the EC2 and STS clients of a region are built on first use
/// from the shared [`SdkConfig`] and cached (a client is a cheap handle on shared state).
pub struct AwsCloud {
    sdk: SdkConfig,
    /// An endpoint that wins over every other source (emulator mode).
    endpoint_override: Option<String>,
    ec2: Mutex<HashMap<String, aws_sdk_ec2::Client>>,
    sts: Mutex<HashMap<String, aws_sdk_sts::Client>>,
}

impl AwsCloud {
    /// A cloud using `sdk` (credentials, retries, timeouts, endpoint) for every region.
    pub fn from_sdk_config(sdk: SdkConfig) -> Self {
        AwsCloud {
            sdk,
            endpoint_override: None,
            ec2: Mutex::new(HashMap::new()),
            sts: Mutex::new(HashMap::new()),
        }
    }

    /// Like [`AwsCloud::from_sdk_config`], but every client calls `endpoint`, whatever the
    /// environment or profile files say (emulators).
    pub fn with_endpoint_override(sdk: SdkConfig, endpoint: impl Into<String>) -> Self {
        AwsCloud {
            endpoint_override: Some(endpoint.into()),
            ..Self::from_sdk_config(sdk)
        }
    }

    /// The shared SDK configuration.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }

    /// The EC2 client of `region` (built on first use).
    pub fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        let mut map = self.ec2.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(region.to_string())
            .or_insert_with(|| {
                let mut b = aws_sdk_ec2::config::Builder::from(&self.sdk)
                    .region(Region::new(region.to_string()));
                if let Some(ep) = &self.endpoint_override {
                    b = b.endpoint_url(ep);
                }
                aws_sdk_ec2::Client::from_conf(b.build())
            })
            .clone()
    }

    /// The STS client of `region` (built on first use).
    pub fn sts(&self, region: &str) -> aws_sdk_sts::Client {
        let mut map = self.sts.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(region.to_string())
            .or_insert_with(|| {
                let mut b = aws_sdk_sts::config::Builder::from(&self.sdk)
                    .region(Region::new(region.to_string()));
                if let Some(ep) = &self.endpoint_override {
                    b = b.endpoint_url(ep);
                }
                aws_sdk_sts::Client::from_conf(b.build())
            })
            .clone()
    }
}

#[async_trait]
impl Cloud for AwsCloud {
    async fn describe_regions(&self, region: &str) -> CloudResult<Vec<String>> {
        account::describe_regions(&self.ec2(region), region).await
    }

    async fn caller_identity(&self, region: &str) -> CloudResult<CallerIdentity> {
        account::caller_identity(&self.sts(region), region).await
    }

    async fn describe_instances(
        &self,
        region: &str,
        filter: &InstanceFilter,
    ) -> CloudResult<Vec<Instance>> {
        instances::describe(&self.ec2(region), region, filter).await
    }

    async fn run_instance(&self, region: &str, spec: &RunSpec) -> CloudResult<Instance> {
        instances::run(&self.ec2(region), region, spec).await
    }

    async fn start_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        instances::start(&self.ec2(region), region, instance_id).await
    }

    async fn stop_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        instances::stop(&self.ec2(region), region, instance_id).await
    }

    async fn terminate_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        instances::terminate(&self.ec2(region), region, instance_id).await
    }

    async fn create_image(&self, region: &str, req: &CreateImageRequest) -> CloudResult<String> {
        images::create(&self.ec2(region), region, req).await
    }

    async fn describe_images(&self, region: &str, query: &ImageQuery) -> CloudResult<Vec<Image>> {
        images::describe(&self.ec2(region), region, query).await
    }

    async fn deregister_image(
        &self,
        region: &str,
        image_id: &str,
        delete_snapshots: bool,
    ) -> CloudResult<()> {
        images::deregister(&self.ec2(region), region, image_id, delete_snapshots).await
    }

    async fn describe_snapshots(
        &self,
        region: &str,
        query: &SnapshotQuery,
    ) -> CloudResult<Vec<Snapshot>> {
        snapshots::describe(&self.ec2(region), region, query).await
    }

    async fn delete_snapshot(&self, region: &str, snapshot_id: &str) -> CloudResult<()> {
        snapshots::delete(&self.ec2(region), region, snapshot_id).await
    }

    async fn create_tags(
        &self,
        region: &str,
        resource_ids: &[String],
        tags: &Tags,
    ) -> CloudResult<()> {
        tagging::create_tags(&self.ec2(region), region, resource_ids, tags).await
    }

    async fn copy_image(&self, dest_region: &str, req: &CopyImageRequest) -> CloudResult<String> {
        images::copy(&self.ec2(dest_region), dest_region, req).await
    }

    async fn share_image(&self, region: &str, image_id: &str, share: &Share) -> CloudResult<()> {
        sharing::modify(&self.ec2(region), region, image_id, share, sharing::Op::Add).await
    }

    async fn launch_permissions(&self, region: &str, image_id: &str) -> CloudResult<Share> {
        sharing::describe(&self.ec2(region), region, image_id).await
    }

    async fn public_sharing_blocked(&self, region: &str) -> CloudResult<bool> {
        sharing::public_blocked(&self.ec2(region), region).await
    }

    async fn modify_snapshot_copy_permission(
        &self,
        region: &str,
        snapshot_id: &str,
        share: &Share,
        remove: bool,
    ) -> CloudResult<()> {
        let op = if remove {
            sharing::Op::Remove
        } else {
            sharing::Op::Add
        };
        sharing::modify_snapshot(&self.ec2(region), region, snapshot_id, share, op).await
    }

    async fn snapshot_copy_permissions(
        &self,
        region: &str,
        snapshot_id: &str,
    ) -> CloudResult<Share> {
        sharing::describe_snapshot(&self.ec2(region), region, snapshot_id).await
    }

    async fn unshare_image(&self, region: &str, image_id: &str, share: &Share) -> CloudResult<()> {
        sharing::modify(
            &self.ec2(region),
            region,
            image_id,
            share,
            sharing::Op::Remove,
        )
        .await
    }

    async fn console_output(&self, region: &str, instance_id: &str) -> CloudResult<Option<String>> {
        network::console_output(&self.ec2(region), region, instance_id).await
    }

    async fn describe_key_pair(&self, region: &str, name: &str) -> CloudResult<Option<KeyPair>> {
        network::describe_key_pair(&self.ec2(region), region, name).await
    }

    async fn import_key_pair(
        &self,
        region: &str,
        name: &str,
        public_key: &str,
        tags: &Tags,
    ) -> CloudResult<KeyPair> {
        network::import_key_pair(&self.ec2(region), region, name, public_key, tags).await
    }

    async fn describe_security_groups(
        &self,
        region: &str,
        query: &GroupQuery,
    ) -> CloudResult<Vec<SecurityGroup>> {
        network::describe_security_groups(&self.ec2(region), region, query).await
    }

    async fn create_security_group(
        &self,
        region: &str,
        req: &CreateGroupRequest,
    ) -> CloudResult<String> {
        network::create_security_group(&self.ec2(region), region, req).await
    }

    async fn authorize_ingress(
        &self,
        region: &str,
        group_id: &str,
        rule: &IngressRule,
    ) -> CloudResult<()> {
        network::authorize_ingress(&self.ec2(region), region, group_id, rule).await
    }

    async fn revoke_ingress(
        &self,
        region: &str,
        group_id: &str,
        rule: &IngressRule,
    ) -> CloudResult<()> {
        network::revoke_ingress(&self.ec2(region), region, group_id, rule).await
    }

    async fn default_vpc(&self, region: &str) -> CloudResult<Option<String>> {
        network::default_vpc(&self.ec2(region), region).await
    }

    async fn describe_subnet(&self, region: &str, subnet_id: &str) -> CloudResult<Option<Subnet>> {
        network::describe_subnet(&self.ec2(region), region, subnet_id).await
    }

    async fn enable_image_deprecation(
        &self,
        region: &str,
        image_id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> CloudResult<()> {
        deprecation::enable(&self.ec2(region), region, image_id, at).await
    }

    async fn disable_image_deprecation(&self, region: &str, image_id: &str) -> CloudResult<()> {
        deprecation::disable(&self.ec2(region), region, image_id).await
    }

    async fn delete_tags(
        &self,
        region: &str,
        resource_ids: &[String],
        keys: &[String],
    ) -> CloudResult<()> {
        deprecation::delete_tags(&self.ec2(region), region, resource_ids, keys).await
    }

    async fn images_in_recycle_bin(
        &self,
        region: &str,
        image_ids: &[String],
    ) -> CloudResult<Vec<prism_cloud::RecycledImage>> {
        deprecation::recycled(&self.ec2(region), region, image_ids).await
    }

    async fn snapshots_in_recycle_bin(
        &self,
        region: &str,
        snapshot_ids: &[String],
    ) -> CloudResult<Vec<prism_cloud::RecycledSnapshot>> {
        deprecation::recycled_snapshots(&self.ec2(region), region, snapshot_ids).await
    }

    async fn restore_snapshot_from_recycle_bin(
        &self,
        region: &str,
        snapshot_id: &str,
    ) -> CloudResult<()> {
        deprecation::restore_snapshot(&self.ec2(region), region, snapshot_id).await
    }

    async fn restore_image_from_recycle_bin(
        &self,
        region: &str,
        image_id: &str,
    ) -> CloudResult<()> {
        deprecation::restore_image(&self.ec2(region), region, image_id).await
    }

    async fn enable_deregistration_protection(
        &self,
        region: &str,
        image_id: &str,
        with_cooldown: bool,
    ) -> CloudResult<()> {
        deprecation::protect(&self.ec2(region), region, image_id, with_cooldown).await
    }

    async fn disable_deregistration_protection(
        &self,
        region: &str,
        image_id: &str,
    ) -> CloudResult<()> {
        deprecation::unprotect(&self.ec2(region), region, image_id).await
    }

    async fn describe_volumes(
        &self,
        region: &str,
        query: &prism_cloud::VolumeQuery,
    ) -> CloudResult<Vec<prism_cloud::Volume>> {
        volumes::describe(&self.ec2(region), region, query).await
    }

    async fn create_replace_root_volume_task(
        &self,
        region: &str,
        req: &prism_cloud::ReplaceRootRequest,
    ) -> CloudResult<prism_cloud::ReplaceRootTask> {
        volumes::replace_root(&self.ec2(region), region, req).await
    }

    async fn describe_replace_root_volume_tasks(
        &self,
        region: &str,
        query: &prism_cloud::ReplaceRootQuery,
    ) -> CloudResult<Vec<prism_cloud::ReplaceRootTask>> {
        volumes::describe_tasks(&self.ec2(region), region, query).await
    }
}
