//! A cheap fingerprint of a template directory (names, sizes and modification times of the
//! entries a scan would look at), so a long-lived process can keep a loaded catalogue until
//! a file is added, removed or changed.

use std::hash::{Hash, Hasher};
use std::path::Path;

use crate::scan::MAX_SCAN_DEPTH;

/// Fingerprint of `dir` (0 when it does not exist). Stats entries; reads no file contents.
pub fn dir_fingerprint(dir: &Path) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    walk(dir, 0, &mut h);
    h.finish()
}

fn walk(dir: &Path, depth: usize, h: &mut impl Hasher) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Ok(meta) = e.metadata() else { continue };
        e.file_name().hash(h);
        meta.len().hash(h);
        if let Ok(m) = meta.modified() {
            m.hash(h);
        }
        // Follow a symlink's target times too: std::fs::metadata follows links.
        if let Ok(target) = std::fs::metadata(e.path()) {
            if let Ok(m) = target.modified() {
                m.hash(h);
            }
            target.len().hash(h);
            if target.is_dir() && depth + 1 < MAX_SCAN_DEPTH {
                walk(&e.path(), depth + 1, h);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
