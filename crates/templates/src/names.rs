//! Template name rules and `T` / `T@version` reference parsing.
//!
//! A template name becomes a file name (`T@2.yaml`) and part of an AMI name, so it is
//! limited to a portable alphabet; `@` is reserved as the version separator.

use crate::errors::NameError;

/// Shortest accepted template name, in characters.
pub const MIN_NAME_LEN: usize = 3;
/// Longest accepted template name, in characters.
pub const MAX_NAME_LEN: usize = 100;
/// Longest accepted version in a `T@version` reference.
pub const MAX_VERSION_LEN: usize = 64;

/// Checks that `name` is usable as a template identifier, file name and AMI name part.
///
/// Rules: 3–100 characters, first character alphanumeric, only `[A-Za-z0-9._-]`,
/// and no `..` anywhere.
pub fn validate_template_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    let len = name.chars().count();
    if len > MAX_NAME_LEN {
        return Err(NameError::TooLong { len });
    }
    if let Some((ch, what)) = name.chars().find_map(|c| disallowed(c).map(|w| (c, w))) {
        return Err(NameError::InvalidChar {
            name: name.to_string(),
            ch,
            what,
        });
    }
    if len < MIN_NAME_LEN {
        return Err(NameError::TooShort {
            name: name.to_string(),
            len,
        });
    }
    if let Some(ch) = name.chars().next().filter(|c| !c.is_ascii_alphanumeric()) {
        return Err(NameError::BadFirstChar {
            name: name.to_string(),
            ch,
        });
    }
    if name.contains("..") {
        return Err(NameError::DotDot {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// Splits a template reference into name and optional version: `T` or `T@2`.
///
/// The name must pass [`validate_template_name`]; the version must be non-empty
/// `[A-Za-z0-9.]+` of at most 64 characters.
pub fn parse_template_ref(s: &str) -> Result<(String, Option<String>), NameError> {
    match s.split_once('@') {
        None => {
            validate_template_name(s)?;
            Ok((s.to_string(), None))
        }
        Some((name, version)) => {
            validate_template_name(name)?;
            validate_version(s, version)?;
            Ok((name.to_string(), Some(version.to_string())))
        }
    }
}

/// Checks a version as written after `@` in a reference (`reference` is used in errors).
pub(crate) fn validate_version(reference: &str, version: &str) -> Result<(), NameError> {
    if version.is_empty() {
        return Err(NameError::EmptyVersion {
            reference: reference.to_string(),
        });
    }
    let ok = version.chars().count() <= MAX_VERSION_LEN
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.');
    if ok {
        Ok(())
    } else {
        Err(NameError::InvalidVersion {
            reference: reference.to_string(),
            version: version.to_string(),
        })
    }
}

/// Returns a description of `c` when it is not allowed in a template name.
fn disallowed(c: char) -> Option<&'static str> {
    match c {
        'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '_' | '-' => None,
        '/' | '\\' => Some("a path separator"),
        '@' => Some("the version separator, as in NAME@VERSION"),
        ' ' => Some("a space"),
        c if c.is_control() => Some("a control character"),
        c if c.is_whitespace() => Some("whitespace"),
        c if !c.is_ascii() => Some("a non-ASCII character"),
        _ => Some("punctuation"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_table() {
        let long_ok = "a".repeat(100);
        let long_bad = "a".repeat(101);
        let cases: Vec<(&str, bool)> = vec![
            ("python-ml", true),
            ("abc", true),
            ("R_research.v2", true),
            ("9lives", true),
            (long_ok.as_str(), true),
            ("", false),
            ("ab", false),
            (long_bad.as_str(), false),
            ("a/b", false),
            ("abc/def", false),
            ("abc\\def", false),
            ("..", false),
            ("a..b", false),
            ("abc..", false),
            ("a b", false),
            ("a@b", false),
            ("abc@2", false),
            ("-x", false),
            ("-xyz", false),
            (".abc", false),
            ("_abc", false),
            ("abc\u{7}", false),
            ("ab\ncd", false),
            ("abc\u{1b}[31m", false),
            ("café", false),
            ("naïve-template", false),
            ("日本語テンプレート", false),
            ("abc:def", false),
        ];
        for (name, ok) in cases {
            let got = validate_template_name(name);
            assert_eq!(got.is_ok(), ok, "{name:?} -> {got:?}");
            if let Err(e) = got {
                let msg = e.to_string();
                assert!(!msg.is_empty());
                // Messages never echo raw control characters.
                assert!(!msg.chars().any(|c| c.is_control()), "{msg:?}");
            }
        }
    }

    #[test]
    fn specific_errors() {
        assert_eq!(validate_template_name(""), Err(NameError::Empty));
        assert!(matches!(
            validate_template_name("ab"),
            Err(NameError::TooShort { len: 2, .. })
        ));
        assert!(matches!(
            validate_template_name(&"x".repeat(101)),
            Err(NameError::TooLong { len: 101 })
        ));
        assert!(matches!(
            validate_template_name("a/b"),
            Err(NameError::InvalidChar { ch: '/', .. })
        ));
        assert!(matches!(
            validate_template_name("a..b"),
            Err(NameError::DotDot { .. })
        ));
        assert!(matches!(
            validate_template_name("-ab"),
            Err(NameError::BadFirstChar { ch: '-', .. })
        ));
        let msg = validate_template_name("a b").unwrap_err().to_string();
        assert!(msg.contains("A-Z a-z"), "{msg}");
    }

    #[test]
    fn references() {
        assert_eq!(
            parse_template_ref("python-ml"),
            Ok(("python-ml".to_string(), None))
        );
        assert_eq!(
            parse_template_ref("python-ml@2"),
            Ok(("python-ml".to_string(), Some("2".to_string())))
        );
        assert_eq!(
            parse_template_ref("python-ml@1.0.0"),
            Ok(("python-ml".to_string(), Some("1.0.0".to_string())))
        );
        assert!(matches!(
            parse_template_ref("python-ml@"),
            Err(NameError::EmptyVersion { .. })
        ));
        assert!(matches!(
            parse_template_ref("python-ml@1@2"),
            Err(NameError::InvalidVersion { .. })
        ));
        assert!(matches!(
            parse_template_ref("python-ml@1-rc"),
            Err(NameError::InvalidVersion { .. })
        ));
        assert!(parse_template_ref("a/b@1").is_err());
        assert!(parse_template_ref("@1").is_err());
    }
}
