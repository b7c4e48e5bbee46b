//! Atomic writing of template files (temp file + fsync + rename + directory fsync).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::errors::TemplateError;

/// The file name of a saved template version: `"{name}@{version}.yaml"`.
pub fn saved_file_name(name: &str, version: &str) -> String {
    format!("{name}@{version}.yaml")
}

/// Writes `contents` to `dir/file_name` atomically: readers see the old file or the
/// new one, never a partial one, even after a crash.
///
/// Creates `dir` (mode 0700 on Unix) if missing, writes a hidden temporary file in
/// `dir`, fsyncs it, renames it over the target and fsyncs `dir`. Refuses a
/// `file_name` that is empty, hidden, `..`-bearing or contains a path separator.
pub fn write_atomically(
    dir: &Path,
    file_name: &str,
    contents: &str,
) -> Result<PathBuf, TemplateError> {
    write_atomic(dir, file_name, contents, true)
}

/// Like [`write_atomically`] (readers never see a partial file) but without the fsyncs, for
/// caches that can be rebuilt (discovered templates): thousands of files in a fraction of the
/// time. Call [`sync_directory`] once after a batch.
pub fn write_atomically_unsynced(
    dir: &Path,
    file_name: &str,
    contents: &str,
) -> Result<PathBuf, TemplateError> {
    write_atomic(dir, file_name, contents, false)
}

/// Fsyncs a directory (after a batch of [`write_atomically_unsynced`]).
pub fn sync_directory(dir: &Path) -> Result<(), TemplateError> {
    sync_dir(dir)
}

fn write_atomic(
    dir: &Path,
    file_name: &str,
    contents: &str,
    durable: bool,
) -> Result<PathBuf, TemplateError> {
    check_file_name(file_name)?;
    create_dir(dir)?;
    let target = dir.join(file_name);
    let (tmp_path, mut file) = create_temp(dir, file_name)?;
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| TemplateError::Io {
            action,
            path,
            source,
        }
    };
    let written = file
        .write_all(contents.as_bytes())
        .map_err(io("write", &tmp_path))
        .and_then(|()| {
            if durable {
                file.sync_all().map_err(io("fsync", &tmp_path))
            } else {
                Ok(())
            }
        });
    drop(file);
    let renamed =
        written.and_then(|()| fs::rename(&tmp_path, &target).map_err(io("rename to", &target)));
    if let Err(e) = renamed {
        let _ = fs::remove_file(&tmp_path);
        return Err(e);
    }
    if durable {
        sync_dir(dir)?;
    }
    Ok(target)
}

fn check_file_name(file_name: &str) -> Result<(), TemplateError> {
    let reason = if file_name.is_empty() {
        Some("the file name is empty")
    } else if file_name.contains(['/', '\\']) {
        Some("the file name contains a path separator")
    } else if file_name.contains("..") {
        Some("the file name contains \"..\"")
    } else if file_name.starts_with('.') {
        Some("the file name is hidden (starts with '.')")
    } else if file_name.chars().any(|c| c.is_control() || c == ':') {
        Some("the file name contains a control character or ':'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(TemplateError::UnsafeFileName {
            file_name: file_name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

fn create_dir(dir: &Path) -> Result<(), TemplateError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| TemplateError::Io {
        action: "create directory",
        path: dir.to_path_buf(),
        source,
    })
}

/// Creates a new, hidden temporary file next to the target (never reusing a name).
fn create_temp(dir: &Path, file_name: &str) -> Result<(PathBuf, fs::File), TemplateError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut last_err = None;
    for _ in 0..16 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = dir.join(format!(
            ".{file_name}.tmp-{}-{n}-{nanos}",
            std::process::id()
        ));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(source) => {
                return Err(TemplateError::Io {
                    action: "create temporary file",
                    path,
                    source,
                })
            }
        }
    }
    Err(TemplateError::Io {
        action: "create temporary file in",
        path: dir.to_path_buf(),
        source: last_err.unwrap_or_else(|| std::io::Error::other("no free temporary name")),
    })
}

/// Makes the rename durable (Unix); a no-op elsewhere.
fn sync_dir(dir: &Path) -> Result<(), TemplateError> {
    #[cfg(unix)]
    {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| TemplateError::Io {
                action: "fsync directory",
                path: dir.to_path_buf(),
                source,
            })?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_leaves_no_temp_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("templates").join("saved");
        let name = saved_file_name("my-ml", "2");
        assert_eq!(name, "my-ml@2.yaml");
        let path = write_atomically(&dir, &name, "name: my-ml\n").expect("write");
        assert_eq!(path, dir.join("my-ml@2.yaml"));
        assert_eq!(fs::read_to_string(&path).expect("read"), "name: my-ml\n");
        // Overwrite in place.
        write_atomically(&dir, &name, "name: my-ml\nversion: \"2\"\n").expect("rewrite");
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            "name: my-ml\nversion: \"2\"\n"
        );
        let names: Vec<String> = fs::read_dir(&dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["my-ml@2.yaml".to_string()]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&dir).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }

    #[test]
    fn refuses_unsafe_names() {
        let tmp = tempfile::tempdir().expect("tempdir");
        for bad in [
            "../x.yaml",
            "a/b.yaml",
            "a\\b.yaml",
            "..",
            "",
            ".hidden.yaml",
            "x..yaml",
        ] {
            let r = write_atomically(tmp.path(), bad, "name: x\n");
            assert!(
                matches!(r, Err(TemplateError::UnsafeFileName { .. })),
                "{bad:?} -> {r:?}"
            );
        }
        assert!(!tmp.path().parent().expect("parent").join("x.yaml").exists());
        assert_eq!(fs::read_dir(tmp.path()).expect("dir").count(), 0);
    }
}
