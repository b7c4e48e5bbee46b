//! Key pairs, security groups, VPCs and subnets: what a workstation needs to be reachable.

use crate::calls::no_retry;
use crate::convert::{filter, tag_filters, tag_spec, tags_from_sdk};
use crate::errors::{missing, sdk_error};
use aws_sdk_ec2::types as ec2;
use prism_cloud::{
    CloudResult, CreateGroupRequest, GroupQuery, IngressRule, KeyPair, SecurityGroup, Subnet, Tags,
};

/// `DescribeKeyPairs` with the `key-name` filter (an unknown name is then simply absent,
/// where `KeyNames` would answer `InvalidKeyPair.NotFound`).
/// `GetConsoleOutput`: the instance's console output, base64 in the answer, decoded (invalid
/// UTF-8 replaced); `None` when EC2 returns none.
pub(crate) async fn console_output(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    instance_id: &str,
) -> CloudResult<Option<String>> {
    let out = ec2
        .get_console_output()
        .instance_id(instance_id)
        .send()
        .await
        .map_err(|e| sdk_error("GetConsoleOutput", region, Some(instance_id), e))?;
    Ok(out
        .output()
        .filter(|o| !o.is_empty())
        .and_then(|o| aws_smithy_types::base64::decode(o).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned()))
}

pub(crate) async fn describe_key_pair(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    name: &str,
) -> CloudResult<Option<KeyPair>> {
    let out = ec2
        .describe_key_pairs()
        .filters(filter("key-name", [name]))
        .send()
        .await
        .map_err(|e| sdk_error("DescribeKeyPairs", region, Some(name), e))?;
    Ok(out
        .key_pairs()
        .iter()
        .find(|k| k.key_name() == Some(name))
        .map(|k| KeyPair {
            name: name.to_string(),
            id: k.key_pair_id().map(str::to_string),
            fingerprint: k.key_fingerprint().map(str::to_string),
            tags: tags_from_sdk(k.tags()),
        }))
}

/// `ImportKeyPair` with `TagSpecifications` (resource type `key-pair`). Not retried by the
/// SDK: a lost answer is found by the caller with [`describe_key_pair`].
pub(crate) async fn import_key_pair(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    name: &str,
    public_key: &str,
    tags: &Tags,
) -> CloudResult<KeyPair> {
    const ACTION: &str = "ImportKeyPair";
    let mut req = ec2
        .import_key_pair()
        .key_name(name)
        .public_key_material(aws_smithy_types::Blob::new(public_key.as_bytes()));
    if let Some(ts) = tag_spec(ec2::ResourceType::KeyPair, tags) {
        req = req.tag_specifications(ts);
    }
    let out = req
        .customize()
        .config_override(no_retry())
        .send()
        .await
        .map_err(|e| sdk_error(ACTION, region, Some(name), e))?;
    Ok(KeyPair {
        name: out.key_name().unwrap_or(name).to_string(),
        id: out.key_pair_id().map(str::to_string),
        fingerprint: out.key_fingerprint().map(str::to_string),
        tags: tags.clone(),
    })
}

/// `DescribeSecurityGroups` with `vpc-id`, `group-name` and `tag:` filters; inbound rules
/// are listed per CIDR (IPv4 and IPv6), rules naming groups or prefix lists are left out.
pub(crate) async fn describe_security_groups(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    q: &GroupQuery,
) -> CloudResult<Vec<SecurityGroup>> {
    let mut filters = tag_filters(&q.tags, &[]);
    if let Some(v) = &q.vpc_id {
        filters.push(filter("vpc-id", [v.as_str()]));
    }
    if let Some(n) = &q.name {
        filters.push(filter("group-name", [n.as_str()]));
    }
    let out = ec2
        .describe_security_groups()
        .set_filters(Some(filters))
        .send()
        .await
        .map_err(|e| sdk_error("DescribeSecurityGroups", region, None, e))?;
    Ok(out
        .security_groups()
        .iter()
        .map(|g| SecurityGroup {
            id: g.group_id().unwrap_or_default().to_string(),
            name: g.group_name().unwrap_or_default().to_string(),
            vpc_id: g.vpc_id().map(str::to_string),
            ingress: g.ip_permissions().iter().flat_map(rules_of).collect(),
            tags: tags_from_sdk(g.tags()),
        })
        .collect())
}

/// The CIDR rules of one SDK permission.
fn rules_of(p: &ec2::IpPermission) -> Vec<IngressRule> {
    let protocol = p.ip_protocol().unwrap_or("-1").to_string();
    let (from, to) = (p.from_port().unwrap_or(-1), p.to_port().unwrap_or(-1));
    let v4 = p.ip_ranges().iter().filter_map(|r| r.cidr_ip());
    let v6 = p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6());
    v4.chain(v6)
        .map(|c| IngressRule {
            protocol: protocol.clone(),
            from_port: from,
            to_port: to,
            cidr: c.to_string(),
        })
        .collect()
}

/// `CreateSecurityGroup` in a VPC, tagged at creation (`TagSpecifications`, resource type
/// `security-group`). Not retried by the SDK (a retry after a lost answer would answer
/// `InvalidGroup.Duplicate`; the caller looks the group up instead).
pub(crate) async fn create_security_group(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    req: &CreateGroupRequest,
) -> CloudResult<String> {
    const ACTION: &str = "CreateSecurityGroup";
    let mut call = ec2
        .create_security_group()
        .group_name(&req.name)
        .description(&req.description)
        .vpc_id(&req.vpc_id);
    if let Some(ts) = tag_spec(ec2::ResourceType::SecurityGroup, &req.tags) {
        call = call.tag_specifications(ts);
    }
    let out = call
        .customize()
        .config_override(no_retry())
        .send()
        .await
        .map_err(|e| sdk_error(ACTION, region, Some(&req.name), e))?;
    out.group_id()
        .map(str::to_string)
        .ok_or_else(|| missing(ACTION, region, "group id"))
}

/// One SDK permission for `rule` (an IPv6 CIDR goes in `Ipv6Ranges`).
fn permission(rule: &IngressRule) -> ec2::IpPermission {
    let b = ec2::IpPermission::builder()
        .ip_protocol(&rule.protocol)
        .from_port(rule.from_port)
        .to_port(rule.to_port);
    if rule.cidr.contains(':') {
        b.ipv6_ranges(ec2::Ipv6Range::builder().cidr_ipv6(&rule.cidr).build())
            .build()
    } else {
        b.ip_ranges(ec2::IpRange::builder().cidr_ip(&rule.cidr).build())
            .build()
    }
}

/// `AuthorizeSecurityGroupIngress` of one rule.
pub(crate) async fn authorize_ingress(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    group_id: &str,
    rule: &IngressRule,
) -> CloudResult<()> {
    ec2.authorize_security_group_ingress()
        .group_id(group_id)
        .ip_permissions(permission(rule))
        .send()
        .await
        .map_err(|e| sdk_error("AuthorizeSecurityGroupIngress", region, Some(group_id), e))?;
    Ok(())
}

/// `RevokeSecurityGroupIngress` of one rule.
pub(crate) async fn revoke_ingress(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    group_id: &str,
    rule: &IngressRule,
) -> CloudResult<()> {
    ec2.revoke_security_group_ingress()
        .group_id(group_id)
        .ip_permissions(permission(rule))
        .send()
        .await
        .map_err(|e| sdk_error("RevokeSecurityGroupIngress", region, Some(group_id), e))?;
    Ok(())
}

/// `DescribeVpcs` with `is-default=true`.
pub(crate) async fn default_vpc(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
) -> CloudResult<Option<String>> {
    let out = ec2
        .describe_vpcs()
        .filters(filter("is-default", ["true"]))
        .send()
        .await
        .map_err(|e| sdk_error("DescribeVpcs", region, None, e))?;
    Ok(out
        .vpcs()
        .iter()
        .find_map(|v| v.vpc_id().map(str::to_string)))
}

/// `DescribeSubnets` with the `subnet-id` filter (an unknown id is then absent, where
/// `SubnetIds` would answer `InvalidSubnetID.NotFound`).
pub(crate) async fn describe_subnet(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    subnet_id: &str,
) -> CloudResult<Option<Subnet>> {
    let out = ec2
        .describe_subnets()
        .filters(filter("subnet-id", [subnet_id]))
        .send()
        .await
        .map_err(|e| sdk_error("DescribeSubnets", region, Some(subnet_id), e))?;
    Ok(out.subnets().iter().find_map(|s| {
        Some(Subnet {
            id: s.subnet_id()?.to_string(),
            vpc_id: s.vpc_id()?.to_string(),
        })
    }))
}
