//! A template source that could not be loaded, as the scan and the catalogue report it.

/// A template source that could not be loaded; it was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadIssue {
    /// File path or `built-in NAME`.
    pub origin: String,
    /// What went wrong (without the origin; `Display` prints `origin: message`).
    pub message: String,
}

impl std::fmt::Display for LoadIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}
