//! A cheap fingerprint of a template directory (names, sizes and modification times of the
//! entries a scan would look at), so a long-lived process can keep a loaded catalogue until
//! a file is added, removed or changed.

use std::hash::{Hash, Hasher};
use std::path::Path;

use crate::scan::MAX_SCAN_DEPTH;

/// Fingerprint of `dir` (0 when it does not exist). Stats entries; reads no file contents.
/// Like the scan, it follows a symbolic link only when its target stays inside `dir`: a link
/// to `/proc` or any other changing place outside would otherwise change the fingerprint on
/// every call, and make every request reload the catalogue.
pub fn dir_fingerprint(dir: &Path) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    if let Ok(root) = std::fs::canonicalize(dir) {
        walk(&root, dir, 0, &mut h);
    }
    h.finish()
}

fn walk(root: &Path, dir: &Path, depth: usize, h: &mut impl Hasher) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        // The entry itself, not a link's target (DirEntry::metadata does not follow links).
        let Ok(meta) = e.metadata() else { continue };
        e.file_name().hash(h);
        meta.len().hash(h);
        if let Ok(m) = meta.modified() {
            m.hash(h);
        }
        // A link is followed (its target's times and size count) only inside the directory,
        // as the scan does; a link pointing outside counts by its own entry only.
        if meta.file_type().is_symlink()
            && !std::fs::canonicalize(e.path()).is_ok_and(|t| t.starts_with(root))
        {
            continue;
        }
        if let Ok(target) = std::fs::metadata(e.path()) {
            if let Ok(m) = target.modified() {
                m.hash(h);
            }
            target.len().hash(h);
            if target.is_dir() && depth + 1 < MAX_SCAN_DEPTH {
                walk(root, &e.path(), depth + 1, h);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn links_out_of_the_directory_are_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("x.yaml"), "name: abc\n").unwrap();
        std::os::unix::fs::symlink(outside.path(), d.path().join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("x.yaml"), d.path().join("x.yaml")).unwrap();
        let a = dir_fingerprint(d.path());
        // What happens outside does not change the fingerprint...
        std::fs::write(outside.path().join("x.yaml"), "name: abcdef\n").unwrap();
        std::fs::write(outside.path().join("y.yaml"), "name: ghi\n").unwrap();
        assert_eq!(a, dir_fingerprint(d.path()));
        // ...and a link to a place that changes all the time is stable.
        std::os::unix::fs::symlink("/proc", d.path().join("proc")).unwrap();
        let b = dir_fingerprint(d.path());
        assert_eq!(b, dir_fingerprint(d.path()));
        // A link inside the directory is still followed.
        std::fs::create_dir(d.path().join("real")).unwrap();
        std::os::unix::fs::symlink(d.path().join("real"), d.path().join("inside")).unwrap();
        let c = dir_fingerprint(d.path());
        std::fs::write(d.path().join("real").join("t.yaml"), "name: t\n").unwrap();
        assert_ne!(c, dir_fingerprint(d.path()));
    }

    #[test]
    fn changes_when_a_file_is_added_or_changed() {
        let d = tempfile::tempdir().unwrap();
        let a = dir_fingerprint(d.path());
        std::fs::write(d.path().join("t.yaml"), "name: abc\n").unwrap();
        let b = dir_fingerprint(d.path());
        assert_ne!(a, b);
        assert_eq!(b, dir_fingerprint(d.path()));
        std::fs::create_dir(d.path().join("discovered")).unwrap();
        let c = dir_fingerprint(d.path());
        std::fs::write(d.path().join("discovered").join("x@1.yaml"), "name: xyz\n").unwrap();
        assert_ne!(c, dir_fingerprint(d.path()));
        std::fs::write(d.path().join("t.yaml"), "name: abcd\n").unwrap();
        assert_ne!(b, dir_fingerprint(d.path()));
    }
}
