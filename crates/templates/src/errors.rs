//! Typed errors of this crate: template parsing/writing, name rules, catalogue look-ups.

use std::path::PathBuf;

use crate::text::printable;

/// Why a template name (or a `T@version` reference) is not acceptable.
///
/// A template name becomes a file name and part of an AMI name, so it is kept to a
/// small, portable alphabet. Every message says what is wrong and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("template name is empty; use 3-100 characters from A-Z a-z 0-9 . _ -")]
    Empty,
    /// Fewer than 3 characters.
    #[error("template name {name:?} is too short ({len} characters); use 3-100 characters")]
    TooShort {
        /// The offending name.
        name: String,
        /// Its length in characters.
        len: usize,
    },
    /// More than 100 characters.
    #[error("template name is too long ({len} characters); use at most 100 characters")]
    TooLong {
        /// Its length in characters.
        len: usize,
    },
    /// The first character is not a letter or digit.
    #[error("template name {name:?} must start with a letter or a digit, not {ch:?}")]
    BadFirstChar {
        /// The offending name.
        name: String,
        /// Its first character.
        ch: char,
    },
    /// A character outside `[A-Za-z0-9._-]`.
    #[error(
        "template name {name:?} contains {ch:?} ({what}), which is not allowed; \
         use only letters A-Z a-z, digits 0-9, '.', '_' and '-'"
    )]
    InvalidChar {
        /// The offending name.
        name: String,
        /// The first disallowed character.
        ch: char,
        /// Human description of that character (e.g. "a path separator").
        what: &'static str,
    },
    /// The name contains `..`.
    #[error("template name {name:?} contains \"..\", which is not allowed (it could escape a directory)")]
    DotDot {
        /// The offending name.
        name: String,
    },
    /// `T@` with nothing after the `@`.
    #[error(
        "template reference {reference:?} has an empty version after '@'; write T or T@VERSION"
    )]
    EmptyVersion {
        /// The whole reference.
        reference: String,
    },
    /// The version part is not `[A-Za-z0-9.]+` (at most 64 characters).
    #[error(
        "template reference {reference:?} has an invalid version {version:?}; \
         a version uses only letters, digits and '.', at most 64 characters"
    )]
    InvalidVersion {
        /// The whole reference.
        reference: String,
        /// The version part.
        version: String,
    },
}

/// Failure to parse, serialize or write a template.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The input is larger than [`crate::MAX_TEMPLATE_BYTES`]; refused before parsing.
    #[error("{origin}: template is too large ({size} bytes); the limit is {limit} bytes")]
    TooLarge {
        /// File path or "built-in NAME".
        origin: String,
        /// Size of the input in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The document is empty (or only comments).
    #[error("{origin}: template is empty; expected a YAML mapping with at least a 'name'")]
    Empty {
        /// File path or "built-in NAME".
        origin: String,
    },
    /// The top level is a list or a scalar instead of a mapping.
    #[error("{origin}: the top level of a template must be a mapping (key: value), found {found}")]
    NotAMapping {
        /// File path or "built-in NAME".
        origin: String,
        /// What was found ("a list", "a string", ...).
        found: &'static str,
    },
    /// Invalid YAML or a value of the wrong type, as reported by the YAML parser.
    #[error("{}{}: {}{}", .origin, location_suffix(*.line, *.column), .message, field_suffix(.field.as_deref()))]
    Yaml {
        /// File path or "built-in NAME".
        origin: String,
        /// 1-based line, when known.
        line: Option<u64>,
        /// 1-based column, when known.
        column: Option<u64>,
        /// Dotted field path near the error, when it can be determined.
        field: Option<String>,
        /// The parser's message.
        message: String,
    },
    /// A required field is absent.
    #[error("{origin}: missing required field '{field}'")]
    MissingField {
        /// File path or "built-in NAME".
        origin: String,
        /// Dotted field path.
        field: String,
    },
    /// The template's identifier (slug, else name) breaks the naming rules.
    #[error("{origin}: field '{field}': {source}")]
    InvalidName {
        /// File path or "built-in NAME".
        origin: String,
        /// "name" or "slug".
        field: &'static str,
        /// The rule that was broken.
        source: NameError,
    },
    /// A field has a well-formed but unacceptable value (port out of range, wrong shape, ...).
    #[error("{origin}: field '{field}': {message}")]
    InvalidField {
        /// File path or "built-in NAME".
        origin: String,
        /// Dotted field path.
        field: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// The template could not be serialized to YAML.
    #[error("cannot serialize template '{template}' to YAML: {message}")]
    Serialize {
        /// Template id.
        template: String,
        /// What went wrong.
        message: String,
    },
    /// A file name given to the writer is unsafe (separators, `..`, hidden, empty).
    #[error("refusing to write template file {file_name:?}: {reason}")]
    UnsafeFileName {
        /// The rejected file name.
        file_name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// An I/O operation on a template file or directory failed.
    #[error("{action} {}: {source}", .path.display())]
    Io {
        /// What was being done ("create directory", "write", "rename to", ...).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Failure to find a template in the [`crate::Catalogue`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// No template has this name.
    #[error("template '{}' not found{}", printable(.name), suggestion_suffix(.suggestions))]
    NotFound {
        /// The name that was looked up.
        name: String,
        /// Close names, best first (may be empty).
        suggestions: Vec<String>,
    },
    /// Every version of the template is deprecated, so `T` names none.
    #[error(
        "every version of template '{}' is deprecated (latest: {}@{}{})",
        printable(.name),
        printable(.name),
        printable(.latest),
        .replacement.as_deref().map(|r| format!(", replaced by {}", printable(r))).unwrap_or_default()
    )]
    AllDeprecated {
        /// Template id.
        name: String,
        /// Its highest version.
        latest: String,
        /// The replacement the latest version names, if any.
        replacement: Option<String>,
    },
    /// The template exists but not at this version.
    #[error(
        "template '{}' has no version '{}'; available: {}",
        printable(.name),
        printable(.version),
        join_or_none(.available)
    )]
    VersionNotFound {
        /// Template id.
        name: String,
        /// The requested version.
        version: String,
        /// Versions that exist, ascending.
        available: Vec<String>,
    },
    /// The reference is malformed (`T@`, bad characters, ...).
    #[error("invalid template reference: {0}")]
    InvalidReference(#[from] NameError),
}

fn location_suffix(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

fn field_suffix(field: Option<&str>) -> String {
    field
        .map(|f| format!(" (in field '{f}')"))
        .unwrap_or_default()
}

fn suggestion_suffix(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", suggestions.join(", "))
    }
}

fn join_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items
            .iter()
            .map(|i| printable(i))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
