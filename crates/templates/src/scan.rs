//! Finding and reading template files under a user directory, safely.
//!
//! Only `*.yaml` / `*.yml` files at most [`MAX_SCAN_DEPTH`] levels below the directory
//! are read; hidden entries (`.name`, e.g. temporary files) are skipped; symbolic links
//! are followed only when they stay inside the directory; files over the size limit
//! are reported, not read.

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::load_issue::LoadIssue;
use crate::text::printable;
use crate::MAX_TEMPLATE_BYTES;

/// Deepest level searched: files in `dir/a/b/` (depth 3) are read, `dir/a/b/c/` is not.
pub const MAX_SCAN_DEPTH: usize = 3;

/// Template files found (path, contents) and the problems met on the way.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub files: Vec<(PathBuf, String)>,
    pub issues: Vec<LoadIssue>,
}

/// Reads every template file under `root`; a missing `root` yields nothing.
pub(crate) fn scan(root: &Path) -> Scan {
    let mut scan = Scan::default();
    let canon_root = match fs::canonicalize(root) {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return scan,
        Err(e) => {
            scan.issue(root, format!("cannot open template directory: {e}"));
            return scan;
        }
    };
    if !canon_root.is_dir() {
        scan.issue(root, "template directory is not a directory".to_string());
        return scan;
    }
    let mut walker = Walker {
        root: canon_root.clone(),
        visited_dirs: HashSet::from([canon_root]),
        seen_files: HashSet::new(),
        scan,
    };
    walker.walk_dir(root, 1);
    walker.scan
}

impl Scan {
    fn issue(&mut self, path: &Path, message: String) {
        tracing::debug!(path = %path.display(), %message, "template file skipped");
        self.issues.push(LoadIssue {
            origin: printable(&path.display().to_string()),
            message,
        });
    }
}

struct Walker {
    root: PathBuf,
    visited_dirs: HashSet<PathBuf>,
    seen_files: HashSet<PathBuf>,
    scan: Scan,
}

impl Walker {
    /// Visits the entries of `dir`, which sit at `depth` below the root.
    fn walk_dir(&mut self, dir: &Path, depth: usize) {
        let mut entries: Vec<PathBuf> = match fs::read_dir(dir) {
            Ok(rd) => rd.filter_map(Result::ok).map(|e| e.path()).collect(),
            Err(e) => {
                self.scan.issue(dir, format!("cannot read directory: {e}"));
                return;
            }
        };
        entries.sort();
        for path in entries {
            let hidden = path
                .file_name()
                .map(|n| n.to_string_lossy().starts_with('.'))
                .unwrap_or(true);
            if !hidden {
                self.visit(&path, depth);
            }
        }
    }

    fn visit(&mut self, path: &Path, depth: usize) {
        let Ok(meta) = fs::symlink_metadata(path) else {
            return;
        };
        let canon = if meta.file_type().is_symlink() {
            match fs::canonicalize(path) {
                Ok(t) if t.starts_with(&self.root) => t,
                Ok(_) => {
                    let is_dir = fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false);
                    if is_template_name(path) || is_dir {
                        self.scan.issue(
                            path,
                            "symbolic link points outside the template directory; skipped"
                                .to_string(),
                        );
                    }
                    return;
                }
                Err(e) => {
                    if is_template_name(path) {
                        self.scan.issue(path, format!("broken symbolic link: {e}"));
                    }
                    return;
                }
            }
        } else {
            match fs::canonicalize(path) {
                Ok(p) => p,
                Err(_) => return,
            }
        };
        if canon.is_dir() {
            if depth < MAX_SCAN_DEPTH && self.visited_dirs.insert(canon) {
                self.walk_dir(path, depth + 1);
            }
        } else if canon.is_file() && is_template_name(path) && self.seen_files.insert(canon) {
            match read_limited(path) {
                Ok(text) => self.scan.files.push((path.to_path_buf(), text)),
                Err(message) => self.scan.issue(path, message),
            }
        }
    }
}

/// True for `*.yaml` / `*.yml` (any case).
fn is_template_name(path: &Path) -> bool {
    path.extension()
        .map(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
        .unwrap_or(false)
}

/// Reads a UTF-8 file of at most [`MAX_TEMPLATE_BYTES`] bytes.
pub(crate) fn read_limited(path: &Path) -> Result<String, String> {
    let too_large = |size: u64| {
        format!("file is {size} bytes, larger than the {MAX_TEMPLATE_BYTES}-byte (1 MiB) limit for templates; skipped")
    };
    let file = fs::File::open(path).map_err(|e| format!("cannot read file: {e}"))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > MAX_TEMPLATE_BYTES as u64 {
        return Err(too_large(len));
    }
    let mut bytes = Vec::new();
    file.take(MAX_TEMPLATE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read file: {e}"))?;
    if bytes.len() > MAX_TEMPLATE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    let text = String::from_utf8(bytes).map_err(|e| format!("file is not valid UTF-8: {e}"))?;
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text))
}
