//! Issue 13, item 9: `{{.name}}` parameter placeholders in Prism's template files
//! (`tests/files/*.yml`, written in Prism's format).

use std::path::PathBuf;

use prism_templates::provision::{user_data, ProvisionError};
use prism_templates::{parse_template, validate_file, Catalogue};

fn file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/files")
        .join(name)
}

fn parse(name: &str) -> prism_templates::Parsed {
    let text = std::fs::read_to_string(file(name)).expect("read test file");
    parse_template(&text, name).expect("the file loads")
}

#[test]
fn placeholders_with_defaults_are_substituted() {
    let p = parse("research-user-defaults.yml");
    let t = &p.template;
    assert_eq!(t.id(), "research-workstation");
    assert_eq!(t.users[0]["name"], "researcher");
    assert_eq!(
        t.users[0]["groups"],
        serde_json::json!(["sudo", "research"])
    );
    assert_eq!(t.packages.system, vec!["build-essential", "vim"]);
    assert_eq!(t.packages.pip, vec!["pandas==2.2.2"]);
    assert!(
        !p.warnings.iter().any(|w| w.contains("unresolved")),
        "{:?}",
        p.warnings
    );
    // The first-boot script creates the substituted user, never the placeholder.
    let script = user_data(t).expect("script").expect("has work");
    assert!(
        script.contains("useradd -m -s /bin/bash 'researcher'"),
        "{script}"
    );
    assert!(!script.contains("{{"), "{script}");

    let report = validate_file(&file("research-user-defaults.yml"), &Catalogue::load(None));
    assert!(report.is_ok(), "{:?}", report.errors);
    assert!(
        !report.warnings.iter().any(|w| w.contains("placeholder")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn a_placeholder_without_default_loads_and_is_reported_unresolved() {
    let p = parse("research-user-no-default.yml");
    let t = &p.template;
    assert_eq!(t.id(), "shared-lab-machine");
    // Kept as written; the one with a default is substituted.
    assert_eq!(t.users[0]["name"], "{{.user_name}}");
    assert_eq!(t.users[0]["groups"], serde_json::json!(["lab"]));

    let report = validate_file(
        &file("research-user-no-default.yml"),
        &Catalogue::load(None),
    );
    assert!(report.is_ok(), "not refused: {:?}", report.errors);
    let w = report
        .warnings
        .iter()
        .find(|w| w.contains("unresolved"))
        .unwrap_or_else(|| panic!("no unresolved warning: {:?}", report.warnings));
    assert!(w.contains("users[0].name"), "names the field: {w}");
    assert!(w.contains("'user_name'"), "names the parameter: {w}");
    assert_eq!(
        report
            .warnings
            .iter()
            .filter(|w| w.contains("unresolved"))
            .count(),
        1,
        "{:?}",
        report.warnings
    );

    // A launch has no value for it: refused, naming the field and the parameter.
    match user_data(t) {
        Err(e @ ProvisionError::Unresolved { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("users[0].name") && msg.contains("user_name"),
                "{msg}"
            );
        }
        other => panic!("expected Unresolved, got {other:?}"),
    }
}

#[test]
fn validate_still_checks_the_rest_of_an_entry_with_a_placeholder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("bad.yml");
    std::fs::write(
        &path,
        "name: bad-groups\nbase: ubuntu-22.04\nusers:\n  - name: \"{{.who}}\"\n    groups: [\"root;id\"]\nparameters:\n  who: {type: string}\n",
    )
    .expect("write");
    let report = validate_file(&path, &Catalogue::load(None));
    assert!(
        report.errors.iter().any(|e| e.contains("root;id")),
        "{:?}",
        report.errors
    );
}

#[test]
fn a_parents_default_serves_a_childs_placeholder_at_launch() {
    // Parameters given as a list of {name, default}, and as a plain scalar default.
    let listed = parse_template(
        "name: tpl\nbase: ubuntu-22.04\nusers: [{name: \"{{.u}}\"}]\nparameters: [{name: u, default: alice}]\n",
        "t.yaml",
    )
    .expect("parse");
    assert_eq!(listed.template.users[0]["name"], "alice");
    let scalar = parse_template(
        "name: tpl\nbase: ubuntu-22.04\nusers: [{name: \"{{.u}}\"}]\nparameters: {u: bob}\n",
        "t.yaml",
    )
    .expect("parse");
    assert_eq!(scalar.template.users[0]["name"], "bob");
    let mut child = parse_template(
        "name: tpl\nbase: ubuntu-22.04\nusers: [{name: \"{{.u}}\"}]\n",
        "t.yaml",
    )
    .expect("parse")
    .template;
    child.parameters = Some(serde_json::json!({"u": {"default": "carol"}}));
    let script = user_data(&child).expect("script").expect("work");
    assert!(script.contains("'carol'"), "{script}");
}
