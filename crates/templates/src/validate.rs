//! `template validate`: checks one file against the format rules and the catalogue.

use std::path::Path;

use crate::base::{base_image, known_bases, normalize_arch, AMI_BASED, KNOWN_ARCHES};
use crate::catalogue::Catalogue;
use crate::inherit::merge;
use crate::model::{GpuImage, Template};
use crate::names::validate_version;
use crate::parse::parse_template;
use crate::scan::read_limited;
use crate::text::printable;

/// The outcome of validating one template file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Template id (or the file stem when the file does not parse).
    pub template_id: String,
    /// Problems that make the template unusable.
    pub errors: Vec<String>,
    /// Problems that are tolerated.
    pub warnings: Vec<String>,
    /// Fields present in the file that Prism accepts but this tool does not use yet
    /// (including unknown fields), for `validate --verbose`.
    pub unused_fields: Vec<String>,
}

impl Report {
    /// True when there is no error.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Validates the template file at `path`: parsing and name rules, parents present in
/// `catalogue`, a resolvable base, AMI map shapes and ids, ports, costs.
pub fn validate_file(path: &Path, catalogue: &Catalogue) -> Report {
    let origin = printable(&path.display().to_string());
    let mut report = Report {
        template_id: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        ..Report::default()
    };
    let text = match read_limited(path) {
        Ok(t) => t,
        Err(e) => {
            report.errors.push(format!("{origin}: {e}"));
            return report;
        }
    };
    let parsed = match parse_template(&text, &origin) {
        Ok(p) => p,
        Err(e) => {
            report.errors.push(e.to_string());
            return report;
        }
    };
    let t = &parsed.template;
    report.template_id = t.id().to_string();
    report.warnings.extend(parsed.warnings.iter().cloned());
    report.unused_fields = unused_fields(t);
    report
        .unused_fields
        .extend(parsed.unknown_fields.iter().cloned());

    let is_builtin_name = catalogue.entries().iter().any(|e| {
        // The built-in's own file (identical content) is of course fine.
        e.origin == crate::catalogue::Origin::Builtin && e.template.id() == t.id() && e.raw != *t
    });
    if is_builtin_name {
        report.errors.push(format!(
            "'{}' is the name of a built-in template, which cannot be replaced; choose another name",
            t.id()
        ));
    }
    let mut parents = Vec::new();
    for parent in &t.inherits {
        if parent == t.id() {
            report.errors.push(format!("inherits itself ('{parent}')"));
            continue;
        }
        match catalogue.get(parent) {
            Ok(entry) => parents.push(entry.template.clone()),
            Err(e) => {
                // A parent that is missing because it is part of a cycle: say so.
                let cycle = catalogue.issues().iter().find(|i| {
                    i.message.contains("inheritance cycle")
                        && (i.message.contains(&format!("'{parent}'"))
                            || i.message.contains(parent.as_str()))
                });
                match cycle {
                    Some(i) => report
                        .errors
                        .push(format!("inherits '{parent}': {}", i.message)),
                    None => report.errors.push(format!("inherits: {e}")),
                }
            }
        }
    }
    let refs: Vec<&Template> = parents.iter().collect();
    let merged = merge(&refs, t);

    let mut v = Checks {
        errors: &mut report.errors,
        warnings: &mut report.warnings,
    };
    v.base(&merged);
    v.amis(t);
    v.defaults(&merged);
    v.version(t);
    if t.is_saved() && t.ami_config.amis.is_empty() {
        v.errors
            .push("a saved template needs ami_config.amis (region -> {arch: ami-id})".to_string());
    }
    // The first-boot script a launch would pass: unsafe package or user names fail here.
    // Placeholders without a default are warnings (from the parse) here, not errors: the
    // rest of each entry is still checked, with a stand-in value in their place.
    let mut checked = merged.clone();
    crate::params::stand_in(&mut checked, "placeholder");
    if let Err(e) = crate::provision::user_data(&checked) {
        v.errors.push(e.to_string());
    }
    report
}

/// Accepted Prism fields that are present but not used by this tool.
fn unused_fields(t: &Template) -> Vec<String> {
    let present = [
        ("packages.spack", !t.packages.spack.is_empty()),
        ("parameters", t.parameters.is_some()),
        ("idle_detection", t.idle_detection.is_some()),
        ("category", t.category.is_some()),
        ("icon", t.icon.is_some()),
        ("complexity", t.complexity.is_some()),
        ("minimum_size", t.minimum_size.is_some()),
    ];
    present
        .into_iter()
        .filter(|(_, p)| *p)
        .map(|(f, _)| f.to_string())
        .collect()
}

struct Checks<'a> {
    errors: &'a mut Vec<String>,
    warnings: &'a mut Vec<String>,
}

impl Checks<'_> {
    fn base(&mut self, t: &Template) {
        let has_source = t.ami_config.has_image_source();
        match t.base.as_deref() {
            Some(b) if base_image(b, "x86_64").is_some() => {}
            Some(AMI_BASED) if has_source => {}
            Some(AMI_BASED) => self.errors.push(
                "base 'ami-based' needs ami_config.amis, ami_config.ami_mappings or ami_config.ami_search"
                    .to_string(),
            ),
            Some(b) if has_source => self.warnings.push(format!(
                "base '{}' is not a known distribution; the AMI comes from ami_config",
                printable(b)
            )),
            Some(b) => self.errors.push(format!(
                "unknown base '{}'; known: {}, or 'ami-based' with an ami_config",
                printable(b),
                known_bases().join(", ")
            )),
            None if has_source => {}
            None => self.errors.push(format!(
                "no base and no ami_config: set base to one of {} or give ami_config.amis",
                known_bases().join(", ")
            )),
        }
    }

    fn amis(&mut self, t: &Template) {
        let c = &t.ami_config;
        for (region, arches) in &c.amis {
            self.region(region);
            let region = printable(region);
            if arches.is_empty() {
                self.errors.push(format!(
                    "ami_config.amis.{region}: no AMI for any architecture"
                ));
            }
            for (arch, ami) in arches {
                self.arch(&format!("ami_config.amis.{region}"), arch);
                let arch = printable(arch);
                self.ami_id(&format!("ami_config.amis.{region}.{arch}"), ami);
            }
        }
        for (region, ami) in &c.ami_mappings {
            self.region(region);
            let region = printable(region);
            self.ami_id(&format!("ami_config.ami_mappings.{region}"), ami);
        }
        if let Some(s) = &c.ami_search {
            if s.owner.trim().is_empty() {
                self.errors
                    .push("ami_config.ami_search.owner is empty".to_string());
            }
            if s.name_pattern.trim().is_empty() {
                self.errors
                    .push("ami_config.ami_search.name_pattern is empty".to_string());
            }
            for arch in &s.architecture {
                self.arch("ami_config.ami_search.architecture", arch);
            }
        }
        for arch in c.instance_types.keys() {
            self.arch("ami_config.instance_types", arch);
        }
        if let Some(g) = &c.gpu_image {
            for region in g.amis.keys() {
                self.region(region);
            }
            self.errors.extend(gpu_image_errors(g));
        }
    }

    fn defaults(&mut self, t: &Template) {
        for p in t.effective_ports() {
            if p == 0 {
                self.errors
                    .push("port 0 is out of range; ports are 1-65535".to_string());
            }
        }
        match t.instance_defaults.root_volume_gb {
            Some(gb) if !(1..=16384).contains(&gb) => self.errors.push(format!(
                "instance_defaults.root_volume_gb {gb} is out of range (1-16384 GiB)"
            )),
            _ => {}
        }
        for (arch, cost) in &t.instance_defaults.estimated_cost_per_hour {
            if normalize_arch(arch).is_none() {
                self.warnings.push(format!(
                    "instance_defaults.estimated_cost_per_hour: unknown architecture '{}' (use {})",
                    printable(arch),
                    KNOWN_ARCHES.join(" or ")
                ));
            }
            if !cost.is_finite() || *cost < 0.0 {
                self.errors.push(format!(
                    "instance_defaults.estimated_cost_per_hour.{} must be a non-negative number",
                    printable(arch)
                ));
            }
        }
    }

    fn version(&mut self, t: &Template) {
        if let Some(v) = &t.version {
            if validate_version(&format!("{}@{v}", t.id()), v).is_err() {
                self.warnings.push(format!(
                    "version '{}' cannot be used in a reference (T@VERSION uses letters, digits and '.')",
                    printable(v)
                ));
            }
        }
    }

    fn region(&mut self, region: &str) {
        if !looks_like_region(region) {
            self.warnings.push(format!(
                "'{}' does not look like an AWS region (e.g. us-east-1)",
                printable(region)
            ));
        }
    }

    fn arch(&mut self, field: &str, arch: &str) {
        if !KNOWN_ARCHES.contains(&arch) {
            self.errors.push(format!(
                "{field}: unknown architecture '{}'; use {}",
                printable(arch),
                KNOWN_ARCHES.join(" or ")
            ));
        }
    }

    fn ami_id(&mut self, field: &str, ami: &str) {
        if !looks_like_ami_id(ami) {
            self.errors.push(format!(
                "{field}: '{}' is not an AMI id (ami- followed by 8 to 17 hex digits)",
                printable(ami)
            ));
        }
    }
}

/// What is wrong with a template's `ami_config.gpu_image` (empty when nothing): neither amis
/// nor a search, an AMI id or architecture that is not one, an empty search field. `prism
/// template validate` reports these; a launch refuses a template that has any.
pub fn gpu_image_errors(g: &GpuImage) -> Vec<String> {
    let mut errors = Vec::new();
    let arch = |field: &str, a: &str, errors: &mut Vec<String>| {
        if !KNOWN_ARCHES.contains(&a) {
            errors.push(format!(
                "{field}: unknown architecture '{}'; use {}",
                printable(a),
                KNOWN_ARCHES.join(" or ")
            ));
        }
    };
    if g.amis.is_empty() && g.ami_search.is_none() {
        errors.push(
            "ami_config.gpu_image needs amis (region -> {arch: ami-id}) or ami_search".to_string(),
        );
    }
    for (region, arches) in &g.amis {
        let region = printable(region);
        for (a, ami) in arches {
            arch(
                &format!("ami_config.gpu_image.amis.{region}"),
                a,
                &mut errors,
            );
            if !looks_like_ami_id(ami) {
                errors.push(format!(
                    "ami_config.gpu_image.amis.{region}.{}: '{}' is not an AMI id (ami- followed by 8 to 17 hex digits)",
                    printable(a),
                    printable(ami)
                ));
            }
        }
    }
    if let Some(s) = &g.ami_search {
        if s.owner.trim().is_empty() {
            errors.push("ami_config.gpu_image.ami_search.owner is empty".to_string());
        }
        if s.name_pattern.trim().is_empty() {
            errors.push("ami_config.gpu_image.ami_search.name_pattern is empty".to_string());
        }
        for a in &s.architecture {
            arch(
                "ami_config.gpu_image.ami_search.architecture",
                a,
                &mut errors,
            );
        }
    }
    errors
}

/// `ami-` followed by 8 to 17 lowercase hex digits.
pub fn looks_like_ami_id(s: &str) -> bool {
    s.strip_prefix("ami-").is_some_and(|hex| {
        (8..=17).contains(&hex.len())
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// Shape of an AWS region name: `xx-name-N` or `xx-gov-name-N` (lowercase).
pub fn looks_like_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ami_ids() {
        assert!(looks_like_ami_id("ami-0123456789abcdef0"));
        assert!(looks_like_ami_id("ami-12345678"));
        assert!(!looks_like_ami_id("ami-1234567"));
        assert!(!looks_like_ami_id("ami-0123456789abcdef01"));
        assert!(!looks_like_ami_id("ami-0123456789ABCDEF0"));
        assert!(!looks_like_ami_id("ami-xyz12345"));
        assert!(!looks_like_ami_id("img-12345678"));
    }

    #[test]
    fn regions() {
        assert!(looks_like_region("us-east-1"));
        assert!(looks_like_region("us-gov-west-1"));
        assert!(looks_like_region("ap-southeast-2"));
        assert!(!looks_like_region("useast1"));
        assert!(!looks_like_region("US-EAST-1"));
    }
}
