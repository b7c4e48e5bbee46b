//! Key pairs, security groups, VPCs and subnets — per account and region, as EC2 documents
//! them: a default VPC (with a default subnet) per region until a test deletes it, unique key
//! pair names per region, unique group names per VPC, duplicate rules refused.

use super::state::{ec2_error, not_found, tags_match, State};
use super::{FakeCloud, Service};
use crate::error::codes;
use crate::{
    CloudResult, CreateGroupRequest, GroupQuery, IngressRule, KeyPair, SecurityGroup, Subnet, Tags,
};

/// A VPC of the fake.
#[derive(Debug, Clone)]
pub(super) struct FakeVpc {
    pub owner: String,
    pub region: String,
    pub is_default: bool,
}

/// A subnet of the fake.
#[derive(Debug, Clone)]
pub(super) struct FakeSubnet {
    pub owner: String,
    pub region: String,
    pub vpc_id: String,
}

/// A security group of the fake.
#[derive(Debug, Clone)]
pub(super) struct FakeGroup {
    pub owner: String,
    pub region: String,
    pub group: SecurityGroup,
}

impl State {
    /// The default VPC of `account` in `region` and its default subnet, made on first use
    /// (every account has one per region, "Default VPCs", Amazon VPC User Guide), unless
    /// the test deleted it.
    pub(super) fn default_vpc(&mut self, account: &str, region: &str) -> Option<(String, String)> {
        let key = (account.to_string(), region.to_string());
        if self.no_default_vpc.contains(&key) {
            return None;
        }
        if let Some((id, _)) = self
            .vpcs
            .iter()
            .find(|(_, v)| v.is_default && v.owner == account && v.region == region)
        {
            let id = id.clone();
            let subnet = self
                .subnets
                .iter()
                .find(|(_, s)| s.vpc_id == id)
                .map(|(s, _)| s.clone())
                .unwrap_or_default();
            return Some((id, subnet));
        }
        let (vpc, subnet) = self.add_vpc(account, region, true);
        Some((vpc, subnet))
    }

    /// A new VPC with one subnet.
    pub(super) fn add_vpc(
        &mut self,
        account: &str,
        region: &str,
        is_default: bool,
    ) -> (String, String) {
        let vpc = self.new_id("vpc");
        let subnet = self.new_id("subnet");
        self.vpcs.insert(
            vpc.clone(),
            FakeVpc {
                owner: account.into(),
                region: region.into(),
                is_default,
            },
        );
        self.subnets.insert(
            subnet.clone(),
            FakeSubnet {
                owner: account.into(),
                region: region.into(),
                vpc_id: vpc.clone(),
            },
        );
        (vpc, subnet)
    }

    /// The caller's subnet `id` in `region`.
    pub(super) fn subnet(&self, account: &str, region: &str, id: &str) -> Option<Subnet> {
        self.subnets
            .get(id)
            .filter(|s| s.owner == account && s.region == region)
            .map(|s| Subnet {
                id: id.to_string(),
                vpc_id: s.vpc_id.clone(),
            })
    }
}

impl FakeCloud {
    /// Deletes this account's default VPC in `region` (as `aws ec2 delete-vpc` after emptying
    /// it): RunInstances without a subnet there then answers `VPCIdNotSpecified`.
    pub fn delete_default_vpc(&self, region: &str) {
        let mut s = self.lock();
        let account = self.account.clone();
        let ids: Vec<String> = s
            .vpcs
            .iter()
            .filter(|(_, v)| v.is_default && v.owner == account && v.region == region)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            s.vpcs.remove(&id);
            s.subnets.retain(|_, sn| sn.vpc_id != id);
        }
        s.no_default_vpc.insert((account, region.to_string()));
    }

    /// Adds a (non-default) VPC with one subnet for this account in `region`; returns
    /// `(vpc_id, subnet_id)`.
    pub fn add_vpc_with_subnet(&self, region: &str) -> (String, String) {
        let account = self.account.clone();
        self.lock().add_vpc(&account, region, false)
    }

    /// Every key pair of every account: (account, region, key pair).
    pub fn key_pairs(&self) -> Vec<(String, String, KeyPair)> {
        self.lock()
            .key_pairs
            .iter()
            .map(|((a, r, _), k)| (a.clone(), r.clone(), k.clone()))
            .collect()
    }

    /// Every security group created through the API, of every account, with its region.
    pub fn security_groups(&self) -> Vec<(String, SecurityGroup)> {
        self.lock()
            .groups
            .values()
            .map(|g| (g.region.clone(), g.group.clone()))
            .collect()
    }
}

/// EC2's fingerprint stand-in: a stable digest of the key's base64 body (the fake does not
/// compute EC2's MD5/SHA-256 formats; tests compare it only with itself).
fn fingerprint(public_key: &str) -> String {
    let body = public_key.split_whitespace().nth(1).unwrap_or(public_key);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("fnv64:{h:016x}")
}

impl Service<'_> {
    /// DescribeKeyPairs by name (`KeyNames`; an unknown name is `InvalidKeyPair.NotFound` on
    /// EC2, which `prism-aws` turns into `None`, as here).
    pub(super) async fn describe_key_pair(
        &self,
        region: &str,
        name: &str,
    ) -> CloudResult<Option<KeyPair>> {
        self.call("DescribeKeyPairs", region, Some(name)).await?;
        let s = self.lock();
        Ok(s.key_pairs
            .get(&(self.account.clone(), region.to_string(), name.to_string()))
            .cloned())
    }

    /// ImportKeyPair: names are unique per account and region (`InvalidKeyPair.Duplicate`).
    pub(super) async fn import_key_pair(
        &self,
        region: &str,
        name: &str,
        public_key: &str,
        tags: &Tags,
    ) -> CloudResult<KeyPair> {
        const ACTION: &str = "ImportKeyPair";
        self.call(ACTION, region, Some(name)).await?;
        let mut s = self.lock();
        let key = (self.account.clone(), region.to_string(), name.to_string());
        if s.key_pairs.contains_key(&key) {
            return Err(ec2_error(
                ACTION,
                region,
                codes::KEY_PAIR_DUPLICATE,
                name,
                format!("The keypair '{name}' already exists."),
            ));
        }
        let kp = KeyPair {
            name: name.into(),
            id: Some(s.new_id("key")),
            fingerprint: Some(fingerprint(public_key)),
            tags: tags.clone(),
        };
        s.key_pairs.insert(key, kp.clone());
        Ok(kp)
    }

    /// DescribeSecurityGroups with `vpc-id`, `group-name` and `tag:` filters.
    pub(super) async fn describe_security_groups(
        &self,
        region: &str,
        q: &GroupQuery,
    ) -> CloudResult<Vec<SecurityGroup>> {
        self.call("DescribeSecurityGroups", region, None).await?;
        let s = self.lock();
        Ok(s.groups
            .values()
            .filter(|g| g.owner == self.account && g.region == region)
            .map(|g| &g.group)
            .filter(|g| q.vpc_id.is_none() || g.vpc_id == q.vpc_id)
            .filter(|g| q.name.as_ref().is_none_or(|n| *n == g.name))
            .filter(|g| tags_match(&g.tags, &q.tags, &[]))
            .cloned()
            .collect())
    }

    /// CreateSecurityGroup in a VPC, tagged at creation; names are unique per VPC
    /// (`InvalidGroup.Duplicate`); an unknown VPC is `InvalidVpcID.NotFound`. EC2 gives a
    /// new group no inbound rule.
    pub(super) async fn create_security_group(
        &self,
        region: &str,
        req: &CreateGroupRequest,
    ) -> CloudResult<String> {
        const ACTION: &str = "CreateSecurityGroup";
        self.call(ACTION, region, Some(&req.name)).await?;
        let mut s = self.lock();
        let account = self.account.clone();
        // Make the default VPC exist before looking the VPC up.
        let _ = s.default_vpc(&account, region);
        if !s
            .vpcs
            .get(&req.vpc_id)
            .is_some_and(|v| v.owner == account && v.region == region)
        {
            return Err(not_found(
                ACTION,
                region,
                "InvalidVpcID.NotFound",
                &req.vpc_id,
            ));
        }
        let dup = s.groups.values().any(|g| {
            g.owner == account
                && g.group.vpc_id.as_deref() == Some(&req.vpc_id)
                && g.group.name == req.name
        });
        if dup {
            return Err(ec2_error(
                ACTION,
                region,
                codes::GROUP_DUPLICATE,
                &req.name,
                format!(
                    "The security group '{}' already exists for VPC '{}'",
                    req.name, req.vpc_id
                ),
            ));
        }
        let id = s.new_id("sg");
        s.groups.insert(
            id.clone(),
            FakeGroup {
                owner: account,
                region: region.into(),
                group: SecurityGroup {
                    id: id.clone(),
                    name: req.name.clone(),
                    vpc_id: Some(req.vpc_id.clone()),
                    ingress: vec![],
                    tags: req.tags.clone(),
                },
            },
        );
        Ok(id)
    }

    /// AuthorizeSecurityGroupIngress: an existing rule is `InvalidPermission.Duplicate`.
    pub(super) async fn authorize_ingress(
        &self,
        region: &str,
        group_id: &str,
        rule: &IngressRule,
    ) -> CloudResult<()> {
        const ACTION: &str = "AuthorizeSecurityGroupIngress";
        self.call(ACTION, region, Some(group_id)).await?;
        let mut s = self.lock();
        let g = self.my_group(&mut s, ACTION, region, group_id)?;
        if g.ingress.contains(rule) {
            return Err(ec2_error(
                ACTION,
                region,
                codes::PERMISSION_DUPLICATE,
                group_id,
                format!(
                    "the specified rule \"peer: {}, {}, from port: {}, to port: {}, ALLOW\" already exists",
                    rule.cidr, rule.protocol, rule.from_port, rule.to_port
                ),
            ));
        }
        g.ingress.push(rule.clone());
        Ok(())
    }

    /// RevokeSecurityGroupIngress: a rule that does not exist is `InvalidPermission.NotFound`.
    pub(super) async fn revoke_ingress(
        &self,
        region: &str,
        group_id: &str,
        rule: &IngressRule,
    ) -> CloudResult<()> {
        const ACTION: &str = "RevokeSecurityGroupIngress";
        self.call(ACTION, region, Some(group_id)).await?;
        let mut s = self.lock();
        let g = self.my_group(&mut s, ACTION, region, group_id)?;
        let before = g.ingress.len();
        g.ingress.retain(|r| r != rule);
        if g.ingress.len() == before {
            return Err(ec2_error(
                ACTION,
                region,
                codes::PERMISSION_NOT_FOUND,
                group_id,
                "The specified rule does not exist in this security group.",
            ));
        }
        Ok(())
    }

    #[allow(clippy::result_large_err)] // test double; mirrors the trait's error type
    fn my_group<'s>(
        &self,
        s: &'s mut State,
        action: &str,
        region: &str,
        id: &str,
    ) -> CloudResult<&'s mut SecurityGroup> {
        match s.groups.get_mut(id) {
            Some(g) if g.owner == self.account && g.region == region => Ok(&mut g.group),
            _ => Err(not_found(action, region, codes::GROUP_NOT_FOUND, id)),
        }
    }

    /// DescribeVpcs `is-default=true`.
    pub(super) async fn default_vpc(&self, region: &str) -> CloudResult<Option<String>> {
        self.call("DescribeVpcs", region, None).await?;
        let account = self.account.clone();
        Ok(self.lock().default_vpc(&account, region).map(|(v, _)| v))
    }

    /// DescribeSubnets by id (`InvalidSubnetID.NotFound` on EC2 becomes `None`).
    pub(super) async fn describe_subnet(
        &self,
        region: &str,
        subnet_id: &str,
    ) -> CloudResult<Option<Subnet>> {
        self.call("DescribeSubnets", region, Some(subnet_id))
            .await?;
        let account = self.account.clone();
        let mut s = self.lock();
        let _ = s.default_vpc(&account, region);
        Ok(s.subnet(&account, region, subnet_id))
    }
}
