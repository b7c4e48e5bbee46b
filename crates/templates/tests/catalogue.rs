//! Catalogue loading: versions, look-ups, duplicates, inheritance failures, bad files.

use std::fs;
use std::path::PathBuf;

use prism_templates::{Catalogue, CatalogueError, Origin};

fn user(name: &str, yaml: &str) -> (String, String, Origin) {
    (
        name.to_string(),
        yaml.to_string(),
        Origin::User(PathBuf::from(name)),
    )
}

fn saved(name: &str, version: &str) -> (String, String, Origin) {
    let yaml = format!(
        "name: {name}\nversion: \"{version}\"\nsource: saved-from-instance\noriginal_template: python-ml\nami_config:\n  amis:\n    us-east-1:\n      x86_64: ami-0000000{version}abcdef00\n"
    );
    let file = format!("{name}@{version}.yaml");
    (file.clone(), yaml, Origin::User(PathBuf::from(file)))
}

#[test]
fn lookup_latest_and_pinned_versions() {
    let cat = Catalogue::from_sources(vec![
        saved("my-ml", "2"),
        saved("my-ml", "10"),
        saved("my-ml", "1"),
        user("other.yaml", "name: other-template\n"),
    ]);
    assert!(cat.issues().is_empty(), "{:?}", cat.issues());
    let latest = cat.get("my-ml").expect("latest");
    assert_eq!(
        latest.template.version.as_deref(),
        Some("10"),
        "numeric, not string, order"
    );
    assert!(matches!(latest.origin, Origin::Saved(_)));
    assert_eq!(
        cat.get("my-ml@2")
            .expect("pinned")
            .template
            .version
            .as_deref(),
        Some("2")
    );
    assert_eq!(
        cat.get("my-ml@1")
            .expect("pinned")
            .template
            .version
            .as_deref(),
        Some("1")
    );
    let versions: Vec<&str> = cat
        .versions("my-ml")
        .iter()
        .filter_map(|e| e.template.version.as_deref())
        .collect();
    assert_eq!(versions, vec!["1", "2", "10"]);
    assert_eq!(cat.next_version("my-ml"), "11");
    assert_eq!(cat.next_version("brand-new"), "1");

    let ids: Vec<&str> = cat.latest().iter().map(|e| e.template.id()).collect();
    assert_eq!(ids, vec!["my-ml", "other-template"]);
    assert_eq!(
        cat.get("other-template").expect("other").origin,
        Origin::User("other.yaml".into())
    );

    match cat.get("my-ml@7") {
        Err(CatalogueError::VersionNotFound {
            name,
            version,
            available,
        }) => {
            assert_eq!(name, "my-ml");
            assert_eq!(version, "7");
            assert_eq!(available, vec!["1", "2", "10"]);
        }
        other => panic!("unexpected {other:?}"),
    }
    match cat.get("my-ml2") {
        Err(CatalogueError::NotFound { name, suggestions }) => {
            assert_eq!(name, "my-ml2");
            assert_eq!(suggestions, vec!["my-ml"]);
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = cat.get("othr-template").expect_err("unknown").to_string();
    assert!(msg.contains("did you mean other-template"), "{msg}");
    assert!(matches!(
        cat.get("my-ml@"),
        Err(CatalogueError::InvalidReference(_))
    ));
    assert!(cat.versions("nope").is_empty());
}

#[test]
fn unknown_builtin_name_gets_suggestions() {
    let cat = Catalogue::load(None);
    match cat.get("pyton-ml") {
        Err(CatalogueError::NotFound { suggestions, .. }) => {
            assert_eq!(suggestions.first().map(String::as_str), Some("python-ml"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn cycles_and_missing_parents_are_issues_and_the_rest_loads() {
    let cat = Catalogue::from_sources(vec![
        user("a.yaml", "name: aaa\ninherits: [bbb]\n"),
        user("b.yaml", "name: bbb\ninherits: [aaa]\n"),
        user("self.yaml", "name: selfish\ninherits: [selfish]\n"),
        user("orphan.yaml", "name: orphan\ninherits: [no-such-parent]\n"),
        user("child.yaml", "name: child-of-cycle\ninherits: [aaa]\n"),
        user("base.yaml", "name: good-base\ntags: {os: ubuntu}\n"),
        user("good.yaml", "name: good-child\ninherits: [good-base]\n"),
    ]);
    let issue = |origin: &str| {
        cat.issues()
            .iter()
            .find(|i| i.origin == origin)
            .unwrap_or_else(|| panic!("no issue for {origin}: {:?}", cat.issues()))
            .message
            .clone()
    };
    assert_eq!(issue("a.yaml"), "inheritance cycle: aaa -> bbb -> aaa");
    assert_eq!(issue("b.yaml"), "inheritance cycle: bbb -> aaa -> bbb");
    assert_eq!(issue("self.yaml"), "inheritance cycle: selfish -> selfish");
    let orphan = issue("orphan.yaml");
    assert!(orphan.contains("no-such-parent"), "{orphan}");
    let child = issue("child.yaml");
    assert!(child.contains("aaa") && child.contains("cycle"), "{child}");
    assert_eq!(cat.issues().len(), 5);

    let good = cat.get("good-child").expect("good child loads");
    assert_eq!(good.template.tags["os"], "ubuntu");
    assert!(cat.get("aaa").is_err());
    assert_eq!(cat.latest().len(), 2);
}

#[test]
fn parents_may_be_named_by_display_name_or_pinned_version() {
    let cat = Catalogue::from_sources(vec![
        user("rocky.yaml", "name: Rocky Linux 9 Base\nslug: rocky-base\npackages: {system: [dnf-utils]}\n"),
        user("stack.yaml", "name: Rocky Conda\nslug: rocky-conda\ninherits: [\"Rocky Linux 9 Base\"]\npackages: {conda: [numpy]}\n"),
        user("p1.yaml", "name: parent-ver\nversion: \"1\"\ntags: {v: one}\n"),
        user("p2.yaml", "name: parent-ver\nversion: \"2\"\ntags: {v: two}\n"),
        user("pin.yaml", "name: pinned-child\ninherits: [parent-ver@1]\n"),
        user("latest.yaml", "name: latest-child\ninherits: [parent-ver]\n"),
    ]);
    assert!(cat.issues().is_empty(), "{:?}", cat.issues());
    let t = &cat.get("rocky-conda").expect("stack").template;
    assert_eq!(t.packages.system, vec!["dnf-utils"]);
    assert_eq!(t.packages.conda, vec!["numpy"]);
    assert_eq!(
        cat.get("Rocky Conda")
            .expect("by display name")
            .template
            .id(),
        "rocky-conda"
    );
    assert_eq!(
        cat.get("pinned-child").expect("pin").template.tags["v"],
        "one"
    );
    assert_eq!(
        cat.get("latest-child").expect("latest").template.tags["v"],
        "two"
    );
}

#[test]
fn builtin_names_are_reserved_and_a_second_user_duplicate_is_an_issue() {
    let builtin = (
        "built-in x".to_string(),
        "name: dup-name\nversion: \"1\"\ndescription: builtin\n".to_string(),
        Origin::Builtin,
    );
    let cat = Catalogue::from_sources(vec![
        builtin,
        user(
            "first.yaml",
            "name: dup-name\nversion: \"1\"\ndescription: first\n",
        ),
        user(
            "other.yaml",
            "name: other\nversion: \"1\"\ndescription: one\n",
        ),
        user(
            "other2.yaml",
            "name: other\nversion: \"1\"\ndescription: two\n",
        ),
        user(
            "other3.yaml",
            "name: other\nversion: \"2\"\ndescription: v2\n",
        ),
    ]);
    // A user file cannot replace a built-in: it is reported and the built-in stays.
    let v1 = cat.get("dup-name@1").expect("v1");
    assert_eq!(v1.template.description.as_deref(), Some("builtin"));
    assert_eq!(v1.origin, Origin::Builtin);
    let reserved = cat
        .issues()
        .iter()
        .find(|i| i.origin == "first.yaml")
        .expect("reported");
    assert!(reserved.message.contains("built-in"), "{reserved:?}");
    // Two user files with the same name and version: the second is an issue.
    let dup = cat
        .issues()
        .iter()
        .find(|i| i.origin == "other2.yaml")
        .expect("duplicate reported");
    assert!(dup.message.contains("duplicate") && dup.message.contains("other.yaml"));
    assert_eq!(
        cat.get("other@1").unwrap().template.description.as_deref(),
        Some("one")
    );
    assert_eq!(cat.issues().len(), 2, "{:?}", cat.issues());
    assert_eq!(cat.versions("other").len(), 2);
}

#[test]
fn user_directory_bad_files_are_issues_good_ones_load() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    fs::write(
        dir.join("good.yaml"),
        "name: good-one\nbase: ubuntu-22.04\n",
    )
    .expect("write");
    fs::write(dir.join("broken.yaml"), "name: [unclosed\n  base: :\n").expect("write");
    fs::write(dir.join("notes.txt"), "not a template").expect("write");
    fs::write(dir.join(".hidden.yaml"), "name: hidden-one\n").expect("write");
    fs::create_dir_all(dir.join("team/ml")).expect("mkdir");
    fs::write(dir.join("team/ml/deep.yml"), "name: deep-one\n").expect("write");
    fs::create_dir_all(dir.join("a/b/c")).expect("mkdir");
    fs::write(dir.join("a/b/c/too-deep.yaml"), "name: too-deep\n").expect("write");
    let big = format!(
        "name: big-one\ndescription: \"{}\"\n",
        "x".repeat(1024 * 1024 + 10)
    );
    fs::write(dir.join("big.yaml"), big).expect("write");
    fs::write(
        dir.join("python-ml.yaml"),
        "name: python-ml\nversion: \"1.0.0\"\nbase: ubuntu-24.04\n",
    )
    .expect("write");

    let cat = Catalogue::load(Some(dir));
    assert!(cat.get("good-one").is_ok());
    assert!(cat.get("deep-one").is_ok());
    assert!(cat.get("hidden-one").is_err());
    assert!(cat.get("too-deep").is_err());
    assert!(cat.get("big-one").is_err());
    assert!(cat.get("r-research").is_ok(), "built-ins still load");
    let ml = cat.get("python-ml").expect("the built-in");
    assert_eq!(ml.template.base.as_deref(), Some("ubuntu-22.04"));
    assert!(
        matches!(ml.origin, Origin::Builtin),
        "built-in names are reserved"
    );
    assert!(cat
        .issues()
        .iter()
        .any(|i| i.origin.ends_with("python-ml.yaml") && i.message.contains("built-in")));

    let broken = cat
        .issues()
        .iter()
        .find(|i| i.origin.ends_with("broken.yaml"))
        .unwrap_or_else(|| panic!("broken.yaml not reported: {:?}", cat.issues()));
    assert!(broken.to_string().contains("broken.yaml"));
    let big = cat
        .issues()
        .iter()
        .find(|i| i.origin.ends_with("big.yaml"))
        .expect("big.yaml reported");
    assert!(big.message.contains("limit"), "{}", big.message);
    // big.yaml, broken.yaml and the python-ml.yaml that tried to replace a built-in.
    assert_eq!(cat.issues().len(), 3, "{:?}", cat.issues());
}

#[test]
fn missing_user_directory_is_not_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cat = Catalogue::load(Some(&tmp.path().join("does-not-exist")));
    assert!(cat.issues().is_empty());
    assert!(cat.get("python-ml").is_ok());
}

#[cfg(unix)]
#[test]
fn symlinks_leaving_the_directory_are_skipped() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().expect("outside");
    fs::write(outside.path().join("secret.yaml"), "name: outside-one\n").expect("write");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("templates");
    fs::create_dir(&dir).expect("mkdir");
    fs::write(dir.join("real.yaml"), "name: inside-one\n").expect("write");
    symlink(outside.path().join("secret.yaml"), dir.join("link.yaml")).expect("symlink");
    symlink(outside.path(), dir.join("linkdir")).expect("symlink");
    symlink(dir.join("real.yaml"), dir.join("alias.yaml")).expect("symlink");

    let cat = Catalogue::load(Some(&dir));
    assert!(cat.get("inside-one").is_ok());
    assert!(cat.get("outside-one").is_err());
    let outside_issues = cat
        .issues()
        .iter()
        .filter(|i| i.message.contains("outside"))
        .count();
    assert_eq!(outside_issues, 2, "{:?}", cat.issues());
    assert!(
        !cat.issues().iter().any(|i| i.message.contains("duplicate")),
        "an in-directory symlink to a file is read once: {:?}",
        cat.issues()
    );
}
