//! Rules for names the user gives: workstation names and region names.

use crate::error::OpsError;

/// Checks a workstation name: 1–63 characters of `[A-Za-z0-9-_]`, starting with a letter or
/// digit (it becomes a tag value and appears in commands).
pub fn validate_workstation_name(name: &str) -> Result<(), OpsError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if name.is_empty() || name.len() > 63 || !ok_chars || !first_ok {
        return Err(OpsError::invalid(
            format!("invalid workstation name {name:?}"),
            Some("use 1-63 letters, digits, '-' or '_', starting with a letter or digit".into()),
        ));
    }
    Ok(())
}

/// Most extra tags a save accepts: EC2 allows 50 per resource and Prism's schema uses up to 17.
pub const MAX_EXTRA_TAGS: usize = 30;

fn has_control(s: &str) -> Option<char> {
    s.chars().find(|c| c.is_control())
}

/// Checks a project name: 1–128 characters, no control characters (it becomes a tag value and
/// is printed in tables).
pub fn validate_project(project: &str) -> Result<(), OpsError> {
    let bad = project.trim().is_empty()
        || project.chars().count() > 128
        || has_control(project).is_some();
    if bad {
        return Err(OpsError::invalid(
            format!("invalid project name {project:?}"),
            Some("use 1-128 characters without control characters".into()),
        ));
    }
    Ok(())
}

/// Checks user tags: at most [`MAX_EXTRA_TAGS`], keys of 1–128 characters not starting with
/// `aws:` or `prism:`, values up to 256 characters, no control characters in either.
pub fn validate_tags(tags: &std::collections::BTreeMap<String, String>) -> Result<(), OpsError> {
    let hint = "keys of 1-128 characters not starting with aws: or prism:, values up to 256 characters, no control characters";
    if tags.len() > MAX_EXTRA_TAGS {
        return Err(OpsError::invalid(
            format!("too many tags ({}); at most {MAX_EXTRA_TAGS} extra tags fit next to Prism's own (EC2 allows 50 per resource)", tags.len()),
            Some("drop some --tag options".into()),
        ));
    }
    for (k, v) in tags {
        let bad = k.is_empty()
            || k.chars().count() > 128
            || k.starts_with("aws:")
            || k.starts_with("prism:")
            || v.chars().count() > 256
            || has_control(k).is_some()
            || has_control(v).is_some();
        if bad {
            return Err(OpsError::invalid(
                format!("invalid tag '{}'", k.escape_debug()),
                Some(hint.into()),
            ));
        }
    }
    Ok(())
}

/// Checks a region name's shape (`xx-name-N`) before asking EC2 whether it exists.
pub fn region_shape_ok(region: &str) -> bool {
    prism_templates::validate::looks_like_region(region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workstation_names() {
        for ok in ["a", "my-research", "ws_1"] {
            assert!(validate_workstation_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "a b", "a/b", "ü", &"x".repeat(64)] {
            assert!(validate_workstation_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn projects_and_tags() {
        assert!(validate_project("brain-imaging").is_ok());
        assert!(validate_project(&"p".repeat(129)).is_err());
        assert!(validate_project("p\u{1}").is_err());
        assert!(validate_project(" ").is_err());
        let mut t = std::collections::BTreeMap::new();
        t.insert("team".to_string(), "genomics".to_string());
        assert!(validate_tags(&t).is_ok());
        t.insert("k".to_string(), "v\u{1b}".to_string());
        assert!(validate_tags(&t).is_err());
        let many: std::collections::BTreeMap<String, String> = (0..31)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        assert!(validate_tags(&many)
            .unwrap_err()
            .to_string()
            .contains("too many tags"));
    }

    #[test]
    fn region_shapes() {
        assert!(region_shape_ok("us-east-1"));
        assert!(region_shape_ok("us-gov-west-1"));
        assert!(!region_shape_ok("mars-1"));
        assert!(!region_shape_ok("US-EAST-1"));
        assert!(!region_shape_ok("us-east-x"));
    }
}
