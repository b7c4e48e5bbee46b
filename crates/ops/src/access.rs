//! Reaching a workstation: the user's SSH public key imported as an EC2 key pair, a
//! Prism-managed security group that admits SSH only from the CIDR the user gave, and the VPC
//! (default, or the given subnet's) the instance runs in.
//!
//! Checks ([`parse_public_key`], [`validate_cidr`], [`validate_subnet_id`], [`resolve_vpc`])
//! run before an operation starts and create nothing; [`ensure_key`] and [`ensure_group`] run
//! in the launch saga's `prepare_access` step and are idempotent (find before create), so a
//! retried or resumed step reuses what an earlier attempt made. The key pair and group are
//! shared by every workstation of the region (and VPC), reusable and free: nothing undoes them.

use crate::backoff::{retry, CALL_ATTEMPTS};
use crate::error::{OpsError, StepError};
use prism_cloud::{
    error::codes, tags, Cloud, CloudError, CreateGroupRequest, GroupQuery, IngressRule, Tags,
};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// Name of the Prism-managed security group (one per region and VPC).
pub const GROUP_NAME: &str = "prism-ssh";

/// Key types EC2 key pairs accept ("ImportKeyPair", EC2 API Reference: RSA and ED25519).
pub const EC2_KEY_TYPES: &[&str] = &["ssh-ed25519", "ssh-rsa"];

/// OpenSSH public key types Prism recognises (EC2 accepts only [`EC2_KEY_TYPES`]).
const OPENSSH_KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss",
];

/// A checked OpenSSH public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// `TYPE BASE64` (the comment dropped): what is sent to EC2.
    pub line: String,
    /// The key pair name Prism imports it under: `prism-` + 16 hex digits of the SHA-256 of
    /// the key blob (independent of the comment).
    pub key_name: String,
}

/// Decodes standard base64 (with or without padding); `None` when it is not base64.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// Checks that `text` is one OpenSSH public key line (`TYPE BASE64 [COMMENT]`, as in
/// `~/.ssh/id_ed25519.pub`) of a type EC2 accepts; `source` names it in errors.
pub fn parse_public_key(text: &str, source: &str) -> Result<PublicKey, OpsError> {
    let not_key = |why: &str| {
        OpsError::invalid(
            format!("{source} is not an OpenSSH public key ({why})"),
            Some(
                "pass the .pub file of an ed25519 or RSA key with --key, e.g. ~/.ssh/id_ed25519.pub (create one with: ssh-keygen -t ed25519)"
                    .to_string(),
            ),
        )
    };
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let line = match lines.as_slice() {
        [one] => *one,
        [] => return Err(not_key("it is empty")),
        _ => return Err(not_key("it has more than one line")),
    };
    if line.contains("PRIVATE KEY") {
        return Err(not_key(
            "it is a private key; pass the .pub file next to it",
        ));
    }
    let mut parts = line.split_whitespace();
    let (Some(kind), Some(body)) = (parts.next(), parts.next()) else {
        return Err(not_key("expected 'TYPE BASE64 [COMMENT]'"));
    };
    if !OPENSSH_KEY_TYPES.contains(&kind) {
        return Err(not_key(&format!("unknown key type '{kind}'")));
    }
    let blob = base64_decode(body).ok_or_else(|| not_key("its key is not base64"))?;
    // The blob starts with the key type as an SSH string (RFC 4253 §6.6).
    let inner = blob
        .get(..4)
        .map(|n| u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize)
        .and_then(|n| blob.get(4..4 + n));
    if inner != Some(kind.as_bytes()) {
        return Err(not_key("its key does not match its type"));
    }
    if !EC2_KEY_TYPES.contains(&kind) {
        return Err(OpsError::invalid(
            format!("{source} is a {kind} key, which EC2 key pairs do not accept (RSA and ED25519 only)"),
            Some("pass an ed25519 or RSA public key with --key (create one with: ssh-keygen -t ed25519)".to_string()),
        ));
    }
    let digest = Sha256::digest(&blob);
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Ok(PublicKey {
        line: format!("{kind} {body}"),
        key_name: format!("prism-{hex}"),
    })
}

/// Checks that `s` is an IPv4 or IPv6 CIDR (`ADDRESS/PREFIX`, no host bits set).
pub fn validate_cidr(s: &str) -> Result<(), OpsError> {
    let bad = |why: String| {
        OpsError::invalid(
            format!("--allow-from '{s}' is not a CIDR ({why})"),
            Some("give your address as a CIDR, e.g. 203.0.113.7/32 or 2001:db8::1/128".to_string()),
        )
    };
    let (addr, prefix) = s
        .split_once('/')
        .ok_or_else(|| bad("expected ADDRESS/PREFIX".into()))?;
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| bad(format!("'{addr}' is not an IP address")))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len: u32 = prefix
        .parse()
        .ok()
        .filter(|p| *p <= max)
        .ok_or_else(|| bad(format!("the prefix must be 0 to {max}")))?;
    let bits: u128 = match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)) << 96,
        IpAddr::V6(a) => u128::from(a),
    };
    let host = bits.checked_shl(len).unwrap_or(0);
    if host != 0 {
        return Err(bad(format!(
            "address bits are set beyond the /{len} prefix"
        )));
    }
    Ok(())
}

/// `(family is v6, 128-bit address left-aligned, prefix)` of a CIDR; `None` when it is not one.
fn cidr_bits(s: &str) -> Option<(bool, u128, u32)> {
    let (addr, prefix) = s.split_once('/')?;
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len: u32 = prefix.parse().ok().filter(|p| *p <= max)?;
    Some(match ip {
        IpAddr::V4(a) => (false, u128::from(u32::from(a)) << 96, len),
        IpAddr::V6(a) => (true, u128::from(a), len),
    })
}

/// Whether every address of CIDR `inner` is in CIDR `outer` (same family); false when either
/// is not a CIDR.
pub fn cidr_covers(outer: &str, inner: &str) -> bool {
    let (Some((v6o, o, lo)), Some((v6i, i, li))) = (cidr_bits(outer), cidr_bits(inner)) else {
        return false;
    };
    if v6o != v6i || li < lo {
        return false;
    }
    // Addresses are left-aligned in 128 bits (v4 in the top 32), so a prefix of `lo` bits is
    // the top `lo` bits for either family.
    let mask = u128::MAX.checked_shl(128 - lo).unwrap_or(0);
    (o & mask) == (i & mask)
}

/// The SSH host keys (`TYPE BASE64`) cloud-init printed on the console between
/// `-----BEGIN SSH HOST KEY KEYS-----` and `-----END SSH HOST KEY KEYS-----` (lines may carry
/// an `ec2:` prefix); empty when the block is missing or holds no key.
pub fn host_keys_from_console(text: &str) -> Vec<String> {
    let mut keys = vec![];
    let mut inside = false;
    for line in text.lines() {
        let l = line.trim();
        let l = l.strip_prefix("ec2:").map_or(l, str::trim);
        if l.contains("-----BEGIN SSH HOST KEY KEYS-----") {
            inside = true;
            continue;
        }
        if l.contains("-----END SSH HOST KEY KEYS-----") {
            break;
        }
        if !inside {
            continue;
        }
        let mut f = l.split_whitespace();
        if let (Some(t), Some(b)) = (f.next(), f.next()) {
            if OPENSSH_KEY_TYPES.contains(&t) && base64_decode(b).is_some() {
                keys.push(format!("{t} {b}"));
            }
        }
    }
    keys
}

/// Whether `cidr` admits every address.
pub fn is_everywhere(cidr: &str) -> bool {
    matches!(cidr, "0.0.0.0/0" | "::/0")
}

/// Checks the shape of a subnet id (`subnet-` and 8 or 17 hex digits).
pub fn validate_subnet_id(s: &str) -> Result<(), OpsError> {
    let ok = s.strip_prefix("subnet-").is_some_and(|h| {
        (8..=17).contains(&h.len())
            && h.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    });
    if ok {
        Ok(())
    } else {
        Err(OpsError::invalid(
            format!("--subnet '{s}' is not a subnet id"),
            Some(
                "give one like subnet-0123456789abcdef0 (list them with: aws ec2 describe-subnets)"
                    .to_string(),
            ),
        ))
    }
}

/// The VPC a launch runs in: the subnet's when one is given, else the region's default VPC.
/// Refuses (creating nothing) an unknown subnet, or a region without a default VPC.
pub async fn resolve_vpc(
    cloud: &dyn Cloud,
    region: &str,
    subnet_id: Option<&str>,
) -> Result<String, OpsError> {
    match subnet_id {
        Some(id) => retry(|| cloud.describe_subnet(region, id))
            .await?
            .map(|s| s.vpc_id)
            .ok_or_else(|| {
                OpsError::not_found(
                    format!("subnet {id} does not exist in {region}"),
                    Some(format!("list the subnets of {region} with: aws ec2 describe-subnets --region {region}")),
                )
            }),
        None => retry(|| cloud.default_vpc(region)).await?.ok_or_else(|| {
            OpsError::invalid(
                format!("region {region} has no default VPC: pass --subnet ID"),
                Some(format!("choose a subnet with: aws ec2 describe-subnets --region {region}")),
            )
        }),
    }
}

/// What a launch should warn about, given whether it installs a key and what it opens.
pub fn warnings(has_key: bool, allow_from: Option<&str>) -> Vec<String> {
    let mut w = Vec::new();
    if !has_key {
        w.push(
            "no SSH key: the workstation is launched without a key pair; pass --key PATH (an ed25519 or RSA .pub file) to install one"
                .to_string(),
        );
    }
    match allow_from {
        None => w.push(
            "no --allow-from: this launch opens no SSH port, so SSH will not be reachable until you launch with --allow-from CIDR (your address, e.g. 203.0.113.7/32)"
                .to_string(),
        ),
        Some(c) if is_everywhere(c) => w.push(format!(
            "--allow-from {c} opens SSH (22) to the whole internet"
        )),
        Some(_) => {}
    }
    w
}

/// Runs a mutating call; on a transient error (the call may have acted with its answer lost)
/// asks `found` whether it acted before trying again, bounded.
async fn create_once<T, C, CF, F, FF>(create: C, found: F) -> Result<Option<T>, StepError>
where
    C: Fn() -> CF,
    CF: std::future::Future<Output = Result<T, CloudError>>,
    F: Fn() -> FF,
    FF: std::future::Future<Output = Result<bool, StepError>>,
{
    let mut attempts = 0;
    loop {
        attempts += 1;
        match create().await {
            Ok(v) => return Ok(Some(v)),
            Err(e) if e.is_transient() && attempts < CALL_ATTEMPTS => {
                if found().await? {
                    return Ok(None);
                }
                tokio::time::sleep(std::time::Duration::from_secs(1 << attempts)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Imports `key` as key pair [`PublicKey::key_name`] in `region` unless it is there already;
/// returns the name.
pub async fn ensure_key(
    cloud: &dyn Cloud,
    region: &str,
    key: &PublicKey,
) -> Result<String, StepError> {
    let name = key.key_name.as_str();
    if retry(|| cloud.describe_key_pair(region, name))
        .await?
        .is_some()
    {
        return Ok(name.to_string());
    }
    let t = Tags::from([
        ("Name".to_string(), name.to_string()),
        (tags::MANAGED.to_string(), "true".to_string()),
    ]);
    let exists = || async {
        Ok::<bool, StepError>(
            retry(|| cloud.describe_key_pair(region, name))
                .await?
                .is_some(),
        )
    };
    match create_once(
        || cloud.import_key_pair(region, name, &key.line, &t),
        exists,
    )
    .await
    {
        Ok(_) => Ok(name.to_string()),
        // Another launch imported it meanwhile: the name is derived from the key, so it is ours.
        Err(StepError::Cloud(e)) if e.has_code(codes::KEY_PAIR_DUPLICATE) => Ok(name.to_string()),
        Err(e) => Err(e),
    }
}

/// The Prism-managed group of `vpc_id`, if any.
async fn find_group(
    cloud: &dyn Cloud,
    region: &str,
    vpc_id: &str,
) -> Result<Option<prism_cloud::SecurityGroup>, StepError> {
    let q = GroupQuery {
        vpc_id: Some(vpc_id.to_string()),
        name: Some(GROUP_NAME.to_string()),
        tags: Tags::from([(tags::MANAGED.to_string(), "true".to_string())]),
    };
    Ok(retry(|| cloud.describe_security_groups(region, &q))
        .await?
        .into_iter()
        .next())
}

/// The Prism-managed security group of `vpc_id` in `region` (created when missing). With
/// `allow_from`, its inbound rules become exactly tcp/22 from that CIDR; without, they are
/// left as they are (a new group has none). Returns its id.
pub async fn ensure_group(
    cloud: &dyn Cloud,
    region: &str,
    vpc_id: &str,
    allow_from: Option<&str>,
) -> Result<String, StepError> {
    let group = match find_group(cloud, region, vpc_id).await? {
        Some(g) => g,
        None => {
            let req = CreateGroupRequest {
                name: GROUP_NAME.to_string(),
                description: "Prism workstations: SSH from the addresses given with --allow-from"
                    .to_string(),
                vpc_id: vpc_id.to_string(),
                tags: Tags::from([
                    ("Name".to_string(), GROUP_NAME.to_string()),
                    (tags::MANAGED.to_string(), "true".to_string()),
                ]),
            };
            let exists = || async {
                Ok::<bool, StepError>(find_group(cloud, region, vpc_id).await?.is_some())
            };
            match create_once(|| cloud.create_security_group(region, &req), exists).await {
                Ok(_) => {}
                Err(StepError::Cloud(e)) if e.has_code(codes::GROUP_DUPLICATE) => {}
                Err(e) => return Err(e),
            }
            // A new group may not be listed at once (eventual consistency): look, bounded.
            let found =
                crate::poll::settle(|| async { find_group(cloud, region, vpc_id).await }).await?;
            found.ok_or_else(|| {
                StepError::Terminal(format!(
                    "a security group named {GROUP_NAME} exists in {vpc_id} ({region}) but is not tagged {}=true; rename or tag it",
                    tags::MANAGED
                ))
            })?
        }
    };
    if let Some(cidr) = allow_from {
        set_ssh_rule(cloud, region, &group, cidr).await?;
    }
    Ok(group.id)
}

/// Makes `group`'s inbound rules exactly tcp/22 from `cidr`: revokes every other rule (all
/// Prism's: the group is Prism-managed), then authorizes the new one. Idempotent (a rule
/// already gone, or already there, is fine). Returns the CIDRs of the rules revoked.
pub async fn set_ssh_rule(
    cloud: &dyn Cloud,
    region: &str,
    group: &prism_cloud::SecurityGroup,
    cidr: &str,
) -> Result<Vec<String>, StepError> {
    let want = IngressRule::ssh_from(cidr);
    let mut revoked = vec![];
    for r in group.ingress.iter().filter(|r| **r != want) {
        // RevokeSecurityGroupIngress of a rule that is gone: InvalidPermission.NotFound.
        match retry(|| cloud.revoke_ingress(region, &group.id, r)).await {
            Ok(()) => revoked.push(r.cidr.clone()),
            Err(e) if e.has_code(codes::PERMISSION_NOT_FOUND) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if !group.ingress.contains(&want) {
        // AuthorizeSecurityGroupIngress of a rule already there: InvalidPermission.Duplicate.
        match retry(|| cloud.authorize_ingress(region, &group.id, &want)).await {
            Ok(()) => {}
            Err(e) if e.has_code(codes::PERMISSION_DUPLICATE) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(revoked)
}

/// A step-level failure of an access call made outside a saga, as a refusal.
fn as_ops(e: StepError) -> OpsError {
    match e {
        StepError::Cloud(e) => OpsError::Cloud(e),
        StepError::Store(e) => OpsError::Store(e),
        StepError::Terminal(m) => OpsError::invalid(m, None),
        other => OpsError::Internal(other.to_string()),
    }
}

/// Makes the SSH rule of workstation `name`'s Prism-managed security group (among its
/// `group_ids`) admit exactly `cidr` (`prism connect` after the caller's address changed).
/// Returns the group's id and the CIDRs revoked. Refused, changing nothing, when `cidr` is not
/// a CIDR or the instance is in no Prism-managed group.
pub async fn replace_ssh_rule(
    cloud: &dyn Cloud,
    region: &str,
    name: &str,
    group_ids: &[String],
    cidr: &str,
) -> Result<(String, Vec<String>), OpsError> {
    validate_cidr(cidr)?;
    let group = prism_group_of(cloud, region, group_ids)
        .await
        .map_err(as_ops)?
        .ok_or_else(|| {
            OpsError::invalid(
                format!("workstation '{name}' is not in Prism's security group ({GROUP_NAME})"),
                Some(
                    "its SSH access is not Prism's to change: edit its security group with the EC2 console or CLI"
                        .to_string(),
                ),
            )
        })?;
    let revoked = set_ssh_rule(cloud, region, &group, cidr)
        .await
        .map_err(as_ops)?;
    Ok((group.id, revoked))
}

/// The Prism-managed security group among `group_ids` (an instance's groups), if any.
pub async fn prism_group_of(
    cloud: &dyn Cloud,
    region: &str,
    group_ids: &[String],
) -> Result<Option<prism_cloud::SecurityGroup>, StepError> {
    if group_ids.is_empty() {
        return Ok(None);
    }
    let q = GroupQuery {
        name: Some(GROUP_NAME.to_string()),
        tags: Tags::from([(tags::MANAGED.to_string(), "true".to_string())]),
        ..Default::default()
    };
    Ok(retry(|| cloud.describe_security_groups(region, &q))
        .await?
        .into_iter()
        .find(|g| group_ids.contains(&g.id)))
}

/// The CIDRs `group` admits to SSH (a tcp rule whose port range holds 22, or an all-traffic
/// rule).
pub fn ssh_sources(group: &prism_cloud::SecurityGroup) -> Vec<String> {
    group
        .ingress
        .iter()
        .filter(|r| {
            r.protocol == "-1" || (r.protocol == "tcp" && r.from_port <= 22 && 22 <= r.to_port)
        })
        .map(|r| r.cidr.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvRDtO4b7GQ6tP0Ucxx1ZkEbcf3b4GRuV0C39+dWS7x me@host";

    #[test]
    fn an_ed25519_key_parses_and_its_name_ignores_the_comment() {
        let k = parse_public_key(ED, "k").unwrap();
        assert!(k.key_name.starts_with("prism-") && k.key_name.len() == 22);
        assert!(!k.line.contains("me@host"));
        let other = parse_public_key(&ED.replace("me@host", "else"), "k").unwrap();
        assert_eq!(k.key_name, other.key_name);
    }

    #[test]
    fn non_keys_are_refused() {
        for bad in [
            "",
            "hello",
            "ssh-ed25519 !!!",
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIGvRDtO4b7GQ6tP0Ucxx1ZkEbcf3b4GRuV0C39+dWS7x",
            "-----BEGIN OPENSSH PRIVATE KEY-----",
            "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY=",
        ] {
            assert!(parse_public_key(bad, "k").is_err(), "{bad}");
        }
    }

    #[test]
    fn host_keys_come_from_the_consoles_keys_block_only() {
        let console = "boot\nec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\nec2: 256 SHA256:abc root@ip (ED25519)\nec2: -----END SSH HOST KEY FINGERPRINTS-----\n-----BEGIN SSH HOST KEY KEYS-----\necdsa-sha2-nistp256 AAAAE2VjZHNh root@ip\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvRDtO4b7GQ6tP0Ucxx1ZkEbcf3b4GRuV0C39+dWS7x root@ip\nnot a key\n-----END SSH HOST KEY KEYS-----\nssh-rsa AAAAB3Nza after\n";
        assert_eq!(
            host_keys_from_console(console),
            vec![
                "ecdsa-sha2-nistp256 AAAAE2VjZHNh".to_string(),
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvRDtO4b7GQ6tP0Ucxx1ZkEbcf3b4GRuV0C39+dWS7x"
                    .to_string()
            ]
        );
        assert!(host_keys_from_console("no block here\nssh-ed25519 AAAA x\n").is_empty());
    }

    #[test]
    fn a_cidr_covers_its_own_addresses_only() {
        assert!(cidr_covers("203.0.113.7/32", "203.0.113.7/32"));
        assert!(cidr_covers("203.0.113.0/24", "203.0.113.7/32"));
        assert!(cidr_covers("0.0.0.0/0", "198.51.100.9/32"));
        assert!(!cidr_covers("203.0.113.7/32", "198.51.100.9/32"));
        assert!(!cidr_covers("203.0.113.7/32", "203.0.113.0/24"));
        assert!(!cidr_covers("203.0.113.0/24", "203.0.114.1/32"));
        assert!(cidr_covers("::/0", "2001:db8::1/128"));
        assert!(cidr_covers("2001:db8::/32", "2001:db8::1/128"));
        assert!(!cidr_covers("0.0.0.0/0", "2001:db8::1/128"));
        assert!(!cidr_covers("not-a-cidr", "203.0.113.7/32"));
    }

    #[test]
    fn cidrs_are_checked() {
        for ok in [
            "203.0.113.7/32",
            "10.0.0.0/8",
            "0.0.0.0/0",
            "2001:db8::/32",
            "::/0",
        ] {
            validate_cidr(ok).unwrap();
        }
        for bad in [
            "203.0.113.7",
            "10.0.0.1/8",
            "1.2.3.4/33",
            "x/3",
            "2001:db8::1/32",
            "1.2.3.4/-1",
        ] {
            assert!(validate_cidr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn subnet_ids_are_checked() {
        validate_subnet_id("subnet-0123abcd").unwrap();
        validate_subnet_id("subnet-0123456789abcdef0").unwrap();
        for bad in [
            "subnet-12",
            "sub-0123abcd",
            "subnet-0123ABCD",
            "subnet-0123456789abcdef01",
        ] {
            assert!(validate_subnet_id(bad).is_err(), "{bad}");
        }
    }
}
