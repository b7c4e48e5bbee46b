//! The template data model (Prism's YAML template format) and its YAML serialization.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::errors::TemplateError;
use crate::serde_util::{null_as_default, version_string};

/// The `source` value that marks a template written by a save operation.
pub const SAVED_FROM_INSTANCE: &str = "saved-from-instance";

/// Ports opened when a template declares none.
pub const DEFAULT_PORTS: &[u16] = &[22];

/// A workstation template, as written in a Prism template file.
///
/// Every field except `name` is optional so that existing Prism files load unchanged;
/// empty fields are omitted when serialized so that a written file stays minimal.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Template {
    /// Display name; also the identifier when `slug` is absent.
    pub name: String,
    /// Identifier (file/AMI-safe) when present; `name` is then only a display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// One-line description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Version; YAML numbers (`1`, `1.0`) are kept as their text.
    #[serde(
        default,
        deserialize_with = "version_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub version: Option<String>,
    /// Distribution (`ubuntu-22.04`, `amazonlinux-2023`, ...) or `ami-based`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Parent templates (by id), merged in order before this one.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub inherits: Vec<String>,
    /// Package manager (`apt`, `dnf`, `conda`, `ami`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_manager: Option<String>,
    /// Packages to install, per package manager.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Packages::is_empty"
    )]
    pub packages: Packages,
    /// User accounts (kept opaque).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub users: Vec<serde_json::Value>,
    /// Services (kept opaque).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub services: Vec<serde_json::Value>,
    /// Where the AMI comes from and how to log in.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "AmiConfig::is_empty"
    )]
    pub ami_config: AmiConfig,
    /// Instance type, ports, disk size and cost estimate.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "InstanceDefaults::is_empty"
    )]
    pub instance_defaults: InstanceDefaults,
    /// Legacy top-level ports (older files); see [`Template::effective_ports`].
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ports: Vec<u16>,
    /// Legacy size hint (`S`, `M`, `L`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_size: Option<String>,
    /// Free-form tags.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub tags: BTreeMap<String, String>,
    /// Presentation: category shown in listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Presentation: icon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Presentation: complexity level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complexity: Option<String>,
    /// Launch parameters (kept opaque).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<serde_json::Value>,
    /// Idle detection settings (kept opaque).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_detection: Option<serde_json::Value>,
    /// Lineage: `saved-from-instance` for a saved template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Lineage: workstation name it was saved from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_from: Option<String>,
    /// Lineage: EC2 instance id it was saved from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_from_instance: Option<String>,
    /// Lineage: template the workstation was launched from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_template: Option<String>,
    /// Lineage: version of that template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_template_version: Option<String>,
    /// Lineage: who saved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_by: Option<String>,
    /// Lineage: when it was saved (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_date: Option<String>,
    /// Lineage: capture mode used (`stop`, `reboot`, `live`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_mode: Option<String>,
    /// Lineage: measured downtime of the capture, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downtime_seconds: Option<f64>,
    /// Lineage: project the workstation belonged to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Deprecation of a saved version (`prism template deprecate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecation: Option<Deprecation>,
    /// A saved version whose image has the NVIDIA driver and CUDA (the workstation it was saved
    /// from ran a GPU image): `GPU-*` sizes may launch it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gpu_ready: bool,
}

/// When a saved version is (or becomes) deprecated, and which version replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Deprecation {
    /// From when (RFC 3339, UTC, `YYYY-MM-DDTHH:MM:SSZ`); EC2's deprecation time of its images.
    pub at: String,
    /// The version to use instead (`T@M`), when the owner named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
}

impl Deprecation {
    /// Whether it is in effect at `now` (a time that does not parse counts as in effect).
    pub fn in_effect_at(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        chrono::DateTime::parse_from_rfc3339(&self.at).map_or(true, |at| at <= now)
    }
}

/// Packages to install, per package manager.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Packages {
    /// Distribution packages (apt/dnf).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub system: Vec<String>,
    /// Conda packages.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub conda: Vec<String>,
    /// Pip packages.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub pip: Vec<String>,
    /// Spack packages.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub spack: Vec<String>,
}

/// Where a template's AMI comes from, and how to log in to it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AmiConfig {
    /// Exact AMIs: region → architecture (`x86_64`/`arm64`) → AMI id.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub amis: BTreeMap<String, BTreeMap<String, String>>,
    /// Older single-architecture form: region → AMI id.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub ami_mappings: BTreeMap<String, String>,
    /// Search for the newest matching image with `DescribeImages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami_search: Option<AmiSearch>,
    /// Instance type per architecture.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub instance_types: BTreeMap<String, String>,
    /// Login user of the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_user: Option<String>,
    /// User data run at first boot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data_script: Option<String>,
    /// The image `GPU-*` sizes launch (one with the NVIDIA driver and CUDA); without it a
    /// `GPU-*` size is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_image: Option<GpuImage>,
}

/// Where a template's GPU image comes from: exact AMIs per region and architecture, else a
/// search (the same shapes as `ami_config.amis` and `ami_config.ami_search`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GpuImage {
    /// Exact AMIs: region → architecture (`x86_64`/`arm64`) → AMI id.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub amis: BTreeMap<String, BTreeMap<String, String>>,
    /// Search for the newest matching image with `DescribeImages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami_search: Option<AmiSearch>,
}

/// An AMI search: newest image owned by `owner` whose name matches `name_pattern`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AmiSearch {
    /// Image owner (account id or alias such as `amazon`).
    pub owner: String,
    /// `DescribeImages` name filter (wildcards allowed).
    pub name_pattern: String,
    /// Architectures to search for.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub architecture: Vec<String>,
    /// Tags the image must carry.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub required_tags: BTreeMap<String, String>,
}

/// Launch defaults: instance type, ports, root volume, cost estimate.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InstanceDefaults {
    /// Instance type (YAML key `type`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// Ports to open.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ports: Vec<u16>,
    /// Root volume size in GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_volume_gb: Option<i32>,
    /// Estimated USD per hour, per architecture.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub estimated_cost_per_hour: BTreeMap<String, f64>,
}

impl Packages {
    /// True when no package list has an entry.
    pub fn is_empty(&self) -> bool {
        self.system.is_empty()
            && self.conda.is_empty()
            && self.pip.is_empty()
            && self.spack.is_empty()
    }
}

impl AmiConfig {
    /// True when nothing is configured.
    pub fn is_empty(&self) -> bool {
        self.amis.is_empty()
            && self.ami_mappings.is_empty()
            && self.ami_search.is_none()
            && self.instance_types.is_empty()
            && self.ssh_user.is_none()
            && self.user_data_script.is_none()
            && self.gpu_image.is_none()
    }

    /// True when this config itself says which AMI to use (amis, mappings or a search).
    pub fn has_image_source(&self) -> bool {
        !self.amis.is_empty() || !self.ami_mappings.is_empty() || self.ami_search.is_some()
    }
}

impl InstanceDefaults {
    /// True when nothing is configured.
    pub fn is_empty(&self) -> bool {
        self.r#type.is_none()
            && self.ports.is_empty()
            && self.root_volume_gb.is_none()
            && self.estimated_cost_per_hour.is_empty()
    }
}

impl Template {
    /// The identifier: `slug` when present, else `name`.
    pub fn id(&self) -> &str {
        self.slug.as_deref().unwrap_or(&self.name)
    }

    /// The human-readable name.
    pub fn display_name(&self) -> &str {
        &self.name
    }

    /// Ports to open: `instance_defaults.ports`, else legacy top-level `ports`, else `[22]`.
    pub fn effective_ports(&self) -> Vec<u16> {
        if !self.instance_defaults.ports.is_empty() {
            self.instance_defaults.ports.clone()
        } else if !self.ports.is_empty() {
            self.ports.clone()
        } else {
            DEFAULT_PORTS.to_vec()
        }
    }

    /// Whether this version is deprecated now (a deprecation scheduled later is not yet).
    pub fn is_deprecated(&self) -> bool {
        self.deprecation
            .as_ref()
            .is_some_and(|d| d.in_effect_at(chrono::Utc::now()))
    }

    /// True for a template written by a save operation (`source: saved-from-instance`).
    pub fn is_saved(&self) -> bool {
        self.source.as_deref() == Some(SAVED_FROM_INSTANCE)
    }

    /// Serializes to YAML, omitting empty fields; the output parses back to an equal template.
    pub fn to_yaml(&self) -> Result<String, TemplateError> {
        let fail = |message: String| TemplateError::Serialize {
            template: self.id().to_string(),
            message,
        };
        if let Some((arch, v)) = self
            .instance_defaults
            .estimated_cost_per_hour
            .iter()
            .find(|(_, v)| !v.is_finite())
        {
            return Err(fail(format!(
                "instance_defaults.estimated_cost_per_hour.{arch} is not a finite number ({v})"
            )));
        }
        if let Some(v) = self.downtime_seconds.filter(|v| !v.is_finite()) {
            return Err(fail(format!(
                "downtime_seconds is not a finite number ({v})"
            )));
        }
        serde_saphyr::to_string(self).map_err(|e| fail(e.to_string()))
    }
}

/// Top-level keys this crate understands (plus legacy keys it maps elsewhere).
pub(crate) const TOP_LEVEL_FIELDS: &[&str] = &[
    "name",
    "slug",
    "description",
    "version",
    "base",
    "inherits",
    "package_manager",
    "packages",
    "users",
    "services",
    "ami_config",
    "instance_defaults",
    "ports",
    "minimum_size",
    "tags",
    "category",
    "icon",
    "complexity",
    "parameters",
    "idle_detection",
    "source",
    "saved_from",
    "saved_from_instance",
    "original_template",
    "original_template_version",
    "saved_by",
    "saved_date",
    "capture_mode",
    "downtime_seconds",
    "project",
    "deprecation",
    "gpu_ready",
    // legacy: mapped into instance_defaults.estimated_cost_per_hour
    "estimated_cost_per_hour",
];

/// Known keys of the nested sections whose unknown keys are reported.
pub(crate) const NESTED_FIELDS: &[(&str, &[&str])] = &[
    ("packages", &["system", "conda", "pip", "spack"]),
    (
        "ami_config",
        &[
            "amis",
            "ami_mappings",
            "ami_search",
            "instance_types",
            "ssh_user",
            "user_data_script",
            "gpu_image",
        ],
    ),
    (
        "instance_defaults",
        &["type", "ports", "root_volume_gb", "estimated_cost_per_hour"],
    ),
];

/// Known keys of `ami_config.ami_search`.
pub(crate) const AMI_SEARCH_FIELDS: &[&str] =
    &["owner", "name_pattern", "architecture", "required_tags"];

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Template {
        Template {
            name: "n".into(),
            slug: Some("s".into()),
            description: Some("d".into()),
            version: Some("1".into()),
            base: Some("b".into()),
            inherits: vec!["p".into()],
            package_manager: Some("apt".into()),
            packages: Packages {
                system: vec!["a".into()],
                conda: vec!["b".into()],
                pip: vec!["c".into()],
                spack: vec!["d".into()],
            },
            users: vec![serde_json::json!({"name": "u"})],
            services: vec![serde_json::json!({"name": "s"})],
            ami_config: AmiConfig {
                amis: BTreeMap::from([(
                    "r".into(),
                    BTreeMap::from([("x86_64".into(), "ami-1".into())]),
                )]),
                ami_mappings: BTreeMap::from([("r".into(), "ami-2".into())]),
                ami_search: Some(AmiSearch {
                    owner: "o".into(),
                    name_pattern: "p".into(),
                    architecture: vec!["arm64".into()],
                    required_tags: BTreeMap::from([("k".into(), "v".into())]),
                }),
                instance_types: BTreeMap::from([("arm64".into(), "t4g.large".into())]),
                ssh_user: Some("ubuntu".into()),
                user_data_script: Some("#!/bin/sh\n".into()),
                gpu_image: Some(GpuImage {
                    amis: BTreeMap::from([(
                        "r".into(),
                        BTreeMap::from([("x86_64".into(), "ami-3".into())]),
                    )]),
                    ami_search: None,
                }),
            },
            instance_defaults: InstanceDefaults {
                r#type: Some("t3.large".into()),
                ports: vec![22],
                root_volume_gb: Some(50),
                estimated_cost_per_hour: BTreeMap::from([("x86_64".into(), 0.1)]),
            },
            ports: vec![8888],
            minimum_size: Some("M".into()),
            tags: BTreeMap::from([("k".into(), "v".into())]),
            category: Some("c".into()),
            icon: Some("i".into()),
            complexity: Some("simple".into()),
            parameters: Some(serde_json::json!({"a": 1})),
            idle_detection: Some(serde_json::json!({"enabled": true})),
            source: Some(SAVED_FROM_INSTANCE.into()),
            saved_from: Some("ws".into()),
            saved_from_instance: Some("i-0123".into()),
            original_template: Some("python-ml".into()),
            original_template_version: Some("1.0.0".into()),
            saved_by: Some("me".into()),
            saved_date: Some("2025-01-01T00:00:00Z".into()),
            capture_mode: Some("stop".into()),
            downtime_seconds: Some(12.5),
            project: Some("proj".into()),
            deprecation: Some(Deprecation {
                at: "2030-01-01T00:00:00Z".into(),
                replacement: Some("x@2".into()),
            }),
            gpu_ready: true,
        }
    }

    /// The known-field lists must match what the struct actually reads and writes.
    #[test]
    fn known_fields_match_struct() {
        let v = serde_json::to_value(full()).expect("serialize");
        let obj = v.as_object().expect("object");
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.push("estimated_cost_per_hour");
        keys.sort_unstable();
        let mut known = TOP_LEVEL_FIELDS.to_vec();
        known.sort_unstable();
        assert_eq!(keys, known);
        for (section, fields) in NESTED_FIELDS {
            let mut got: Vec<&str> = obj[*section]
                .as_object()
                .expect("section")
                .keys()
                .map(String::as_str)
                .collect();
            got.sort_unstable();
            let mut want = fields.to_vec();
            want.sort_unstable();
            assert_eq!(got, want, "{section}");
        }
        let mut got: Vec<&str> = obj["ami_config"]["ami_search"]
            .as_object()
            .expect("ami_search")
            .keys()
            .map(String::as_str)
            .collect();
        got.sort_unstable();
        let mut want = AMI_SEARCH_FIELDS.to_vec();
        want.sort_unstable();
        assert_eq!(got, want);
    }

    #[test]
    fn id_ports_saved() {
        let mut t = Template {
            name: "Python ML".into(),
            ..Default::default()
        };
        assert_eq!(t.id(), "Python ML");
        assert_eq!(t.effective_ports(), vec![22]);
        assert!(!t.is_saved());
        t.slug = Some("python-ml".into());
        t.ports = vec![22, 8888];
        assert_eq!(t.id(), "python-ml");
        assert_eq!(t.display_name(), "Python ML");
        assert_eq!(t.effective_ports(), vec![22, 8888]);
        t.instance_defaults.ports = vec![22, 8787];
        assert_eq!(t.effective_ports(), vec![22, 8787]);
        t.source = Some(SAVED_FROM_INSTANCE.into());
        assert!(t.is_saved());
    }

    #[test]
    fn to_yaml_omits_empty_and_rejects_non_finite() {
        let t = Template {
            name: "abc".into(),
            ..Default::default()
        };
        assert_eq!(t.to_yaml().expect("yaml").trim(), "name: abc");
        let mut bad = t.clone();
        bad.downtime_seconds = Some(f64::NAN);
        assert!(matches!(
            bad.to_yaml(),
            Err(TemplateError::Serialize { .. })
        ));
    }
}
