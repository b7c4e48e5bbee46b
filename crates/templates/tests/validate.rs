//! `validate_file`: errors, warnings and unused fields for template files on disk.

use std::fs;
use std::path::PathBuf;

use prism_templates::{validate_file, Catalogue, Report};

fn check(yaml: &str) -> Report {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path: PathBuf = tmp.path().join("t.yaml");
    fs::write(&path, yaml).expect("write");
    validate_file(&path, &Catalogue::load(None))
}

#[test]
fn builtin_files_validate_cleanly() {
    let cat = Catalogue::load(None);
    let tmp = tempfile::tempdir().expect("tempdir");
    for (file, yaml) in prism_templates::builtin_sources() {
        let path = tmp.path().join(file);
        fs::write(&path, yaml).expect("write");
        let r = validate_file(&path, &cat);
        assert!(r.errors.is_empty(), "{file}: {:?}", r.errors);
        assert!(r.warnings.is_empty(), "{file}: {:?}", r.warnings);
        // Packages, users and services are provisioned at launch now, so they are used.
        assert!(
            !r.unused_fields
                .iter()
                .any(|f| f == "packages" || f == "users" || f == "services"),
            "{file}: {:?}",
            r.unused_fields
        );
    }
}

#[test]
fn good_saved_template_is_ok() {
    let r = check(
        "name: my-ml\nversion: \"2\"\nsource: saved-from-instance\nbase: ubuntu-22.04\ninherits: [python-ml]\nami_config:\n  amis:\n    us-east-1: {x86_64: ami-0123456789abcdef0, arm64: ami-0fedcba9876543210}\n",
    );
    assert_eq!(r.template_id, "my-ml");
    assert!(r.is_ok(), "{:?}", r.errors);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn problems_are_reported() {
    let r = check(
        "name: bad-one\nbase: ami-based\ninherits: [no-such-parent]\nami_config:\n  amis:\n    us-east-1: {sparc: ami-0123456789abcdef0, x86_64: ami-XYZ}\ninstance_defaults:\n  root_volume_gb: 0\nicon: x\nmaintainer: me\n",
    );
    let all = r.errors.join("\n");
    assert!(all.contains("no-such-parent"), "{all}");
    assert!(all.contains("sparc"), "{all}");
    assert!(all.contains("ami-XYZ"), "{all}");
    assert!(all.contains("root_volume_gb"), "{all}");
    assert_eq!(r.errors.len(), 4, "{all}");
    assert!(r.warnings.iter().any(|w| w.contains("maintainer")));
    assert_eq!(r.unused_fields, vec!["icon", "maintainer"]);
}

#[test]
fn base_rules() {
    assert!(check("name: abc\nbase: ubuntu-24.04\n").is_ok());
    assert!(check("name: abc\nbase: al2023\n").is_ok());
    let r = check("name: abc\nbase: ami-based\n");
    assert!(
        r.errors.iter().any(|e| e.contains("ami-based")),
        "{:?}",
        r.errors
    );
    let r = check("name: abc\nbase: rocky-9\n");
    assert!(
        r.errors.iter().any(|e| e.contains("unknown base")),
        "{:?}",
        r.errors
    );
    let r = check("name: abc\nbase: rocky-9\nami_config:\n  ami_mappings: {us-east-1: ami-0123456789abcdef0}\n");
    assert!(r.is_ok(), "{:?}", r.errors);
    assert!(r.warnings.iter().any(|w| w.contains("rocky-9")));
    let r = check("name: abc\n");
    assert!(!r.is_ok());
    // A base inherited from a parent counts.
    assert!(check("name: abc\ninherits: [python-ml]\n").is_ok());
    let r = check("name: abc\nbase: ubuntu-22.04\ninherits: [abc]\n");
    assert!(
        r.errors.iter().any(|e| e.contains("itself")),
        "{:?}",
        r.errors
    );
    let r = check("name: abc\nbase: ubuntu-22.04\nsource: saved-from-instance\n");
    assert!(
        r.errors.iter().any(|e| e.contains("saved template")),
        "{:?}",
        r.errors
    );
}

#[test]
fn unparsable_and_missing_files() {
    let r = check("name: [oops\n");
    assert_eq!(r.template_id, "t");
    assert_eq!(r.errors.len(), 1);
    assert!(r.errors[0].contains("t.yaml"), "{:?}", r.errors);
    let r = check("name: ok-name\nports: [99999]\n");
    assert!(r.errors[0].contains("99999"), "{:?}", r.errors);
    let r = validate_file(
        std::path::Path::new("/nonexistent/x.yaml"),
        &Catalogue::default(),
    );
    assert!(!r.is_ok());
}
