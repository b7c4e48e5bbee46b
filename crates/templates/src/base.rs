//! How a template's `base` distribution resolves to an AMI search (owner + name pattern).

/// Canonical amd64/x86_64 architecture name used in templates.
pub const ARCH_X86_64: &str = "x86_64";
/// Canonical ARM architecture name used in templates.
pub const ARCH_ARM64: &str = "arm64";
/// Architectures a template may name.
pub const KNOWN_ARCHES: &[&str] = &[ARCH_X86_64, ARCH_ARM64];
/// The `base` of a template whose AMI comes only from its `ami_config`.
pub const AMI_BASED: &str = "ami-based";

/// Canonical Ubuntu publisher account (Canonical).
const CANONICAL_OWNER: &str = "099720109477";

/// An AMI search for a distribution: newest image by one of `owners` matching `name_pattern`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    /// Image owners to pass to `DescribeImages`.
    pub owners: Vec<String>,
    /// Name filter with the architecture substituted.
    pub name_pattern: String,
}

/// Canonical base names this crate resolves (aliases are accepted by [`base_image`]).
pub fn known_bases() -> &'static [&'static str] {
    &["ubuntu-22.04", "ubuntu-24.04", "amazonlinux-2023"]
}

/// Resolves `base` for `arch` (`x86_64` or `arm64`; `amd64`/`aarch64` also accepted).
///
/// Returns `None` for an unknown base, an unknown architecture, and for `ami-based`
/// (which is not a distribution: the template's `ami_config` decides).
pub fn base_image(base: &str, arch: &str) -> Option<BaseImage> {
    let arch = normalize_arch(arch)?;
    let ubuntu_arch = if arch == ARCH_X86_64 {
        "amd64"
    } else {
        "arm64"
    };
    let (owner, name_pattern) = match base.trim().to_ascii_lowercase().as_str() {
        "ubuntu-22.04" | "ubuntu22.04" | "ubuntu-jammy" => (
            CANONICAL_OWNER,
            format!("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-{ubuntu_arch}-server-*"),
        ),
        "ubuntu-24.04" | "ubuntu24.04" | "ubuntu-noble" => (
            CANONICAL_OWNER,
            format!("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-{ubuntu_arch}-server-*"),
        ),
        "amazonlinux-2023" | "amazon-linux-2023" | "al2023" => {
            ("amazon", format!("al2023-ami-2023*-{arch}"))
        }
        _ => return None,
    };
    Some(BaseImage {
        owners: vec![owner.to_string()],
        name_pattern,
    })
}

/// Maps architecture spellings to the canonical `x86_64` / `arm64`.
pub fn normalize_arch(arch: &str) -> Option<&'static str> {
    match arch.trim().to_ascii_lowercase().as_str() {
        "x86_64" | "amd64" | "x86-64" => Some(ARCH_X86_64),
        "arm64" | "aarch64" => Some(ARCH_ARM64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases() {
        let u22 = base_image("ubuntu-22.04", "x86_64").expect("u22");
        assert_eq!(u22.owners, vec!["099720109477"]);
        assert_eq!(
            u22.name_pattern,
            "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
        );
        assert_eq!(
            base_image("ubuntu-22.04", "arm64")
                .expect("arm")
                .name_pattern,
            "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-arm64-server-*"
        );
        assert_eq!(
            base_image("ubuntu-24.04", "x86_64")
                .expect("u24")
                .name_pattern,
            "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"
        );
        for alias in ["amazonlinux-2023", "amazon-linux-2023", "al2023"] {
            let al = base_image(alias, "arm64").expect(alias);
            assert_eq!(al.owners, vec!["amazon"]);
            assert_eq!(al.name_pattern, "al2023-ami-2023*-arm64");
        }
        assert_eq!(
            base_image("al2023", "x86_64").expect("al").name_pattern,
            "al2023-ami-2023*-x86_64"
        );
        assert_eq!(base_image("ami-based", "x86_64"), None);
        assert_eq!(base_image("rocky-9", "x86_64"), None);
        assert_eq!(base_image("ubuntu-22.04", "sparc"), None);
        for b in known_bases() {
            assert!(base_image(b, "x86_64").is_some(), "{b}");
        }
    }
}
