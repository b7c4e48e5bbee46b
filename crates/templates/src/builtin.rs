//! Built-in templates, embedded from `crates/templates/builtin/*.yaml`.

/// The built-in template files: `(file name, YAML text)`.
pub fn builtin_sources() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "base-ubuntu-22.04.yaml",
            include_str!("../builtin/base-ubuntu-22.04.yaml"),
        ),
        (
            "ubuntu-24.04.yaml",
            include_str!("../builtin/ubuntu-24.04.yaml"),
        ),
        (
            "amazon-linux-2023.yaml",
            include_str!("../builtin/amazon-linux-2023.yaml"),
        ),
        ("python-ml.yaml", include_str!("../builtin/python-ml.yaml")),
        (
            "r-research.yaml",
            include_str!("../builtin/r-research.yaml"),
        ),
    ]
}
