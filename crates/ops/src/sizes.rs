//! Workstation sizes and the instance type each maps to per architecture.

/// `(size, x86_64 type, arm64 type)`. GPU sizes map to GPU instance types.
pub const SIZES: &[(&str, &str, &str)] = &[
    ("XS", "t3.small", "t4g.small"),
    ("S", "t3.medium", "t4g.medium"),
    ("M", "t3.large", "t4g.large"),
    ("L", "t3.xlarge", "t4g.xlarge"),
    ("XL", "t3.2xlarge", "t4g.2xlarge"),
    ("GPU-S", "g4dn.xlarge", "g5g.xlarge"),
    ("GPU-M", "g4dn.2xlarge", "g5g.2xlarge"),
    ("GPU-L", "g5.2xlarge", "g5g.4xlarge"),
    ("GPU-XL", "p3.2xlarge", "g5g.8xlarge"),
];

/// The instance type for a size (case-insensitive) and architecture.
pub fn instance_type(size: &str, arch: &str) -> Option<&'static str> {
    SIZES
        .iter()
        .find(|(s, _, _)| s.eq_ignore_ascii_case(size))
        .map(|(_, x, a)| if arch == "arm64" { *a } else { *x })
}

/// Whether `size` is a GPU size (`GPU-S` … `GPU-XL`, any case): it needs an image with the
/// NVIDIA driver and CUDA.
pub fn is_gpu(size: &str) -> bool {
    size.get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("GPU-"))
}

/// The size names, for error messages.
pub fn names() -> String {
    SIZES.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn gpu_sizes_are_gpu() {
        for (s, _, _) in super::SIZES {
            assert_eq!(super::is_gpu(s), s.starts_with("GPU-"), "{s}");
        }
        assert!(super::is_gpu("gpu-l"));
        assert!(!super::is_gpu("GP"));
    }

    #[test]
    fn sizes_map_per_arch_and_gpu_is_gpu() {
        assert_eq!(super::instance_type("m", "x86_64"), Some("t3.large"));
        assert_eq!(super::instance_type("M", "arm64"), Some("t4g.large"));
        assert!(super::instance_type("GPU-L", "x86_64")
            .unwrap()
            .starts_with('g'));
        assert_eq!(super::instance_type("XXL", "x86_64"), None);
    }
}
