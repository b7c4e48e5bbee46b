//! Parsing single template documents: tolerance for Prism files, and every rejection.

use prism_templates::{parse_template, NameError, TemplateError, MAX_TEMPLATE_BYTES};

const LEGACY: &str = r##"
# An older Prism template, written by hand.
name: "Python ML Workstation"
slug: "python-ml-workstation"
description: "Python machine learning workstation with Jupyter"
base: "ubuntu-22.04"
minimum_size: "M"
connection_type: "web"
ports:
  - 8888  # Jupyter Lab
complexity: "simple"
category: "Machine Learning"
domain: "ml"
icon: "🐍"
color: "#3776ab"
popular: true
package_manager: "conda"
packages:
  conda: [python=3.11, numpy, pandas]
  pip:
services:
  - name: "jupyter"
    port: 8888
    enable: true
users:
  - name: "researcher"
    groups: ["sudo"]
research_user:
  auto_create: true
  default_environment:
    R_LIBS_USER: "/efs/research/shared/R/library"
  user_integration:
    strategy: "dual_user"
validation:
  tests:
    - name: jupyter-responds
      command: "curl -s localhost:8888"
documentation:
  quick_start: |
    Open the Jupyter URL printed by `prism connect`.
estimated_cost_per_hour:
  x86_64: 0.0832
  arm64: 0.0672
idle_detection:
  enabled: true
  idle_threshold_minutes: 10
version: 1.0
maintainer: "CloudWorkstation Team"
last_updated: "2024-08-08T17:00:00Z"
tags:
  type: "research"
  language: "python"
"##;

#[test]
fn legacy_file_with_extra_keys_loads_with_warnings() {
    let parsed = parse_template(LEGACY, "legacy.yml").expect("legacy loads");
    let t = &parsed.template;
    assert_eq!(t.id(), "python-ml-workstation");
    assert_eq!(t.display_name(), "Python ML Workstation");
    assert_eq!(t.ports, vec![8888]);
    assert_eq!(t.effective_ports(), vec![8888]);
    assert_eq!(t.minimum_size.as_deref(), Some("M"));
    assert_eq!(t.version.as_deref(), Some("1.0"), "1.0 keeps its text");
    assert_eq!(t.instance_defaults.estimated_cost_per_hour["arm64"], 0.0672);
    assert!(t.packages.pip.is_empty(), "null list is empty");
    assert_eq!(t.packages.conda.len(), 3);
    for key in [
        "connection_type",
        "domain",
        "color",
        "popular",
        "research_user",
        "validation",
        "documentation",
        "maintainer",
        "last_updated",
    ] {
        let w = format!("unknown field '{key}' (ignored)");
        assert!(
            parsed.warnings.contains(&w),
            "missing warning {w:?} in {:?}",
            parsed.warnings
        );
        assert!(parsed.unknown_fields.contains(&key.to_string()));
    }
    assert_eq!(parsed.warnings.len(), 9, "{:?}", parsed.warnings);
}

#[test]
fn nested_unknown_keys_are_warned_with_their_path() {
    let yaml = "name: ami-thing\nbase: ami-based\nami_config:\n  strategy: ami_preferred\n  ami_search:\n    owner: '123456789012'\n    name_pattern: 'x-*'\n    version_tag: v2\ninstance_defaults:\n  instance_type_preference: [r5.xlarge]\n";
    let parsed = parse_template(yaml, "t.yaml").expect("loads");
    assert_eq!(
        parsed.warnings,
        vec![
            "unknown field 'ami_config.strategy' (ignored)",
            "unknown field 'instance_defaults.instance_type_preference' (ignored)",
            "unknown field 'ami_config.ami_search.version_tag' (ignored)",
        ]
    );
    let search = parsed.template.ami_config.ami_search.expect("search");
    assert_eq!(search.owner, "123456789012");
}

#[test]
fn versions_given_as_numbers_are_kept_as_text() {
    for (yaml, want) in [
        ("name: abc\nversion: 1\n", "1"),
        ("name: abc\nversion: 1.0\n", "1.0"),
        ("name: abc\nversion: 1.10\n", "1.10"),
        ("name: abc\nversion: \"1.0.0\"\n", "1.0.0"),
        ("name: abc\nversion: 2.1.0\n", "2.1.0"),
    ] {
        let t = parse_template(yaml, "v.yaml").expect(yaml).template;
        assert_eq!(t.version.as_deref(), Some(want), "{yaml}");
    }
}

#[test]
fn top_level_cost_does_not_override_instance_defaults() {
    let yaml = "name: abc\nestimated_cost_per_hour: {x86_64: 1.0}\ninstance_defaults:\n  estimated_cost_per_hour: {x86_64: 2.0}\n";
    let p = parse_template(yaml, "c.yaml").expect("loads");
    assert_eq!(
        p.template.instance_defaults.estimated_cost_per_hour["x86_64"],
        2.0
    );
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
}

fn err(yaml: &str) -> TemplateError {
    parse_template(yaml, "bad.yaml").expect_err(yaml)
}

#[test]
fn rejections_name_the_origin_and_the_problem() {
    assert!(matches!(err(""), TemplateError::Empty { .. }));
    assert!(matches!(
        err("# only a comment\n"),
        TemplateError::Empty { .. }
    ));
    assert!(matches!(err("~\n"), TemplateError::Empty { .. }));
    assert!(matches!(
        err("- a\n- b\n"),
        TemplateError::NotAMapping {
            found: "a list",
            ..
        }
    ));
    assert!(matches!(
        err("just text\n"),
        TemplateError::NotAMapping { .. }
    ));
    assert!(matches!(
        err("description: no name\n"),
        TemplateError::MissingField { ref field, .. } if field == "name"
    ));
    assert!(matches!(err("name:\n"), TemplateError::MissingField { .. }));
    assert!(matches!(
        err("name: a/b/c\n"),
        TemplateError::InvalidName {
            field: "name",
            source: NameError::InvalidChar { ch: '/', .. },
            ..
        }
    ));
    assert!(matches!(
        err("name: Nice Name\nslug: ../etc\n"),
        TemplateError::InvalidName { field: "slug", .. }
    ));
    assert!(matches!(
        err("name: \"\"\nslug: good-slug\n"),
        TemplateError::InvalidField { ref field, .. } if field == "name"
    ));
    assert!(matches!(
        err("name: abc\nports: [22, 70000]\n"),
        TemplateError::InvalidField { ref field, ref message, .. }
            if field == "ports" && message.contains("70000")
    ));
    assert!(matches!(
        err("name: abc\ninstance_defaults:\n  ports: [0]\n"),
        TemplateError::InvalidField { ref field, .. } if field == "instance_defaults.ports"
    ));
    assert!(matches!(
        err("name: abc\nports: [-5]\n"),
        TemplateError::InvalidField { .. }
    ));
    assert!(matches!(
        err("name: abc\nports: 22\n"),
        TemplateError::InvalidField { .. }
    ));
    assert!(matches!(
        err("name: abc\nami_config:\n  amis: [ami-12345678]\n"),
        TemplateError::InvalidField { ref field, .. } if field == "ami_config.amis"
    ));
    assert!(matches!(
        err("name: abc\nami_config:\n  amis:\n    us-east-1: ami-12345678\n"),
        TemplateError::InvalidField { ref field, .. } if field == "ami_config.amis.us-east-1"
    ));
    assert!(matches!(
        err("name: abc\ninstance_defaults:\n  estimated_cost_per_hour: {x86_64: -1}\n"),
        TemplateError::InvalidField { .. }
    ));
    assert!(matches!(
        err("name: abc\nestimated_cost_per_hour: cheap\n"),
        TemplateError::InvalidField { ref field, .. } if field == "estimated_cost_per_hour"
    ));
    let dup = err("name: abc\nname: def\n");
    assert!(
        matches!(dup, TemplateError::Yaml { line: Some(2), .. }),
        "{dup:?}"
    );
    let msg = err("name: ab\n").to_string();
    assert!(msg.starts_with("bad.yaml"), "{msg}");
}

#[test]
fn yaml_errors_carry_line_column_and_field() {
    let e = err("name: abc\ninstance_defaults:\n  type: t3.large\n  root_volume_gb: [1]\n");
    match &e {
        TemplateError::Yaml {
            origin,
            line,
            column,
            field,
            ..
        } => {
            assert_eq!(origin, "bad.yaml");
            assert_eq!(*line, Some(4));
            assert!(column.is_some());
            assert_eq!(field.as_deref(), Some("instance_defaults.root_volume_gb"));
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = e.to_string();
    assert!(msg.starts_with("bad.yaml:4:"), "{msg}");
    assert!(msg.contains("instance_defaults.root_volume_gb"), "{msg}");

    let syntax = err("name: 'unterminated\nbase: x\n");
    assert!(
        matches!(syntax, TemplateError::Yaml { line: Some(_), .. }),
        "{syntax:?}"
    );
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let mut big = String::from("name: big-template\ndescription: |\n");
    while big.len() < 2 * 1024 * 1024 {
        big.push_str("  0123456789012345678901234567890123456789012345678901234567890123456789\n");
    }
    let e = parse_template(&big, "huge.yaml").expect_err("2 MiB refused");
    match &e {
        TemplateError::TooLarge {
            origin,
            size,
            limit,
        } => {
            assert_eq!(origin, "huge.yaml");
            assert!(*size >= 2 * 1024 * 1024);
            assert_eq!(*limit, MAX_TEMPLATE_BYTES as u64);
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("too large") && msg.contains("huge.yaml"),
        "{msg}"
    );
}

#[test]
fn alias_bombs_are_refused() {
    let mut text = String::from(
        "name: laughs\nparameters:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..12 {
        let items = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("  a{i}: &a{i} [{items}]\n"));
    }
    assert!(parse_template(&text, "bomb.yaml").is_err());
}

#[test]
fn deep_nesting_is_refused_without_crashing() {
    let text = format!(
        "name: deep\nparameters: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(parse_template(&text, "deep.yaml").is_err());
}

/// Issue 13: Prism's own files give a display name and no slug; the identifier is derived from
/// the name as Prism does, and a name that yields no valid identifier is still refused.
#[test]
fn a_missing_slug_is_derived_from_the_display_name() {
    let p = prism_templates::parse_template(
        "name: Deep Learning GPU\ndescription: d\nbase: ubuntu-24.04\n",
        "dl.yaml",
    )
    .unwrap();
    assert_eq!(p.template.id(), "deep-learning-gpu");
    assert_eq!(p.template.display_name(), "Deep Learning GPU");
    assert!(
        p.warnings.iter().any(|w| w.contains("derived")),
        "{:?}",
        p.warnings
    );
    assert_eq!(
        prism_templates::parse::derive_slug("R (Statistics) — 4.x"),
        Some("r-statistics-4-x".to_string())
    );
    assert!(prism_templates::parse_template("name: \"!!\"\n", "x.yaml").is_err());
    assert_eq!(prism_templates::parse::derive_slug("  "), None);
}
