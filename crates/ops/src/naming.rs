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

/// Checks a region name's shape (`xx-name-N`) before asking EC2 whether it exists.
pub fn region_shape_ok(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
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
    fn workstation_names() {
        for ok in ["a", "my-research", "ws_1"] {
            assert!(validate_workstation_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "a b", "a/b", "ü", &"x".repeat(64)] {
            assert!(validate_workstation_name(bad).is_err(), "{bad}");
        }
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
