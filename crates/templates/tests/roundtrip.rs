//! to_yaml → parse_template round trips, including a saved template and random content.

use std::collections::BTreeMap;

use prism_templates::{
    is_hazardous, parse_template, AmiConfig, AmiSearch, Catalogue, InstanceDefaults, Origin,
    Packages, Template,
};
use proptest::prelude::*;

fn saved_template() -> Template {
    Template {
        name: "my-ml-env".into(),
        description: Some(
            "Saved from workstation 'ml-box' — with café ☕ and \"quotes\": yes".into(),
        ),
        version: Some("3".into()),
        base: Some("ubuntu-22.04".into()),
        package_manager: Some("conda".into()),
        packages: Packages {
            conda: vec!["numpy".into(), "python=3.11".into()],
            ..Default::default()
        },
        users: vec![serde_json::json!({"name": "researcher", "groups": ["sudo"]})],
        ami_config: AmiConfig {
            amis: BTreeMap::from([
                (
                    "us-east-1".into(),
                    BTreeMap::from([
                        ("x86_64".into(), "ami-0123456789abcdef0".into()),
                        ("arm64".into(), "ami-0fedcba9876543210".into()),
                    ]),
                ),
                (
                    "eu-west-1".into(),
                    BTreeMap::from([
                        ("x86_64".into(), "ami-00000000000000001".into()),
                        ("arm64".into(), "ami-00000000000000002".into()),
                    ]),
                ),
            ]),
            instance_types: BTreeMap::from([
                ("x86_64".into(), "t3.large".into()),
                ("arm64".into(), "t4g.large".into()),
            ]),
            ssh_user: Some("ubuntu".into()),
            user_data_script: Some(
                "#!/bin/bash\nset -euo pipefail\necho ready: yes # not a comment\n".into(),
            ),
            ..Default::default()
        },
        instance_defaults: InstanceDefaults {
            r#type: Some("t3.large".into()),
            ports: vec![22, 8888],
            root_volume_gb: Some(50),
            estimated_cost_per_hour: BTreeMap::from([
                ("x86_64".into(), 0.0832),
                ("arm64".into(), 0.0672),
            ]),
        },
        tags: BTreeMap::from([
            ("prism:saved".into(), "true".into()),
            ("version".into(), "1.0".into()),
        ]),
        category: Some("Machine Learning".into()),
        source: Some("saved-from-instance".into()),
        saved_from: Some("ml-box".into()),
        saved_from_instance: Some("i-0123456789abcdef0".into()),
        original_template: Some("python-ml".into()),
        original_template_version: Some("1.0.0".into()),
        saved_by: Some("alice@example.org".into()),
        saved_date: Some("2025-03-01T12:34:56Z".into()),
        capture_mode: Some("stop".into()),
        downtime_seconds: Some(93.25),
        project: Some("null".into()),
        ..Default::default()
    }
}

#[test]
fn saved_template_round_trips_and_loads_as_saved() {
    let t = saved_template();
    let yaml = t.to_yaml().expect("yaml");
    let parsed = parse_template(&yaml, "my-ml-env@3.yaml").expect("parses");
    assert_eq!(parsed.template, t, "yaml was:\n{yaml}");
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert!(!yaml.contains("slug"), "empty fields are omitted:\n{yaml}");
    assert!(
        !yaml.contains("services"),
        "empty fields are omitted:\n{yaml}"
    );

    let cat = Catalogue::from_sources(vec![(
        "my-ml-env@3.yaml".into(),
        yaml,
        Origin::User("my-ml-env@3.yaml".into()),
    )]);
    let e = cat.get("my-ml-env@3").expect("in catalogue");
    assert!(matches!(e.origin, Origin::Saved(_)));
    assert!(e.template.is_saved());
    assert_eq!(e.template.ami_config.amis.len(), 2);
}

#[test]
fn merged_builtins_round_trip() {
    let cat = Catalogue::load(None);
    for e in cat.latest() {
        for t in [&e.template, &e.raw] {
            let yaml = t.to_yaml().expect("yaml");
            let back = parse_template(&yaml, "rt.yaml").expect("parses").template;
            assert_eq!(&back, t, "{}:\n{yaml}", t.id());
        }
    }
}

#[test]
fn ami_search_round_trips() {
    let t = Template {
        name: "AMI Thing".into(),
        slug: Some("ami-thing".into()),
        base: Some("ami-based".into()),
        package_manager: Some("ami".into()),
        ami_config: AmiConfig {
            ami_mappings: BTreeMap::from([("us-west-2".into(), "ami-0123456789abcdef0".into())]),
            ami_search: Some(AmiSearch {
                owner: "123456789012".into(),
                name_pattern: "prism-*".into(),
                architecture: vec!["arm64".into(), "x86_64".into()],
                required_tags: BTreeMap::from([("Environment".into(), "research".into())]),
            }),
            ..Default::default()
        },
        ports: vec![22, 443],
        minimum_size: Some("M".into()),
        parameters: Some(
            serde_json::json!({"gpu": {"type": "boolean", "default": false}, "n": 1.5}),
        ),
        idle_detection: Some(serde_json::json!({"enabled": true, "minutes": 10})),
        ..Default::default()
    };
    let yaml = t.to_yaml().expect("yaml");
    assert_eq!(
        parse_template(&yaml, "a.yaml").expect("parses").template,
        t,
        "{yaml}"
    );
}

/// One line of text: no control or invisible formatting character (the parser refuses them).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        "[ -~]{0,30}",
        Just(String::new()),
        Just("null".to_string()),
        Just("~".to_string()),
        Just("yes".to_string()),
        Just("1.0".to_string()),
        Just("0x1F".to_string()),
        Just("- item".to_string()),
        Just("key: value # c".to_string()),
        Just("  leading and trailing  ".to_string()),
    ]
    .prop_filter("no hazardous characters", |s| !s.chars().any(is_hazardous))
}

/// Text that may span lines (`description`, `user_data_script`): line breaks and tabs too.
fn lines() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        Just("line one\nline two\n".to_string()),
        Just("tab\there\n".to_string()),
        "\\PC{0,20}\n\t?\\PC{0,20}",
    ]
    .prop_filter("no hazardous characters but line breaks and tabs", |s| {
        !s.chars().any(|c| is_hazardous(c) && c != '\n' && c != '\t')
    })
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9_-]{2,30}(\\.[A-Za-z0-9]{1,5})?"
}

fn region() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z]{2}-(gov-)?[a-z]{4,9}-[1-9]", "\\PC{1,12}",]
        .prop_filter("no hazardous characters", |s| !s.chars().any(is_hazardous))
}

fn ami() -> impl Strategy<Value = String> {
    "ami-[0-9a-f]{8,17}"
}

fn arch() -> impl Strategy<Value = String> {
    prop_oneof![Just("x86_64".to_string()), Just("arm64".to_string())]
}

/// Random saved templates: identity and unicode text in many fields.
fn template() -> impl Strategy<Value = Template> {
    let identity = (
        name(),
        proptest::option::of(name()),
        proptest::option::of(lines()),
        proptest::option::of("[0-9]{1,3}(\\.[0-9]{1,3}){0,2}"),
        proptest::option::of(text()),
        "\\PC{1,30}".prop_filter("no hazardous characters", |s| !s.chars().any(is_hazardous)),
    );
    let content = (
        proptest::collection::btree_map(
            region(),
            proptest::collection::btree_map(arch(), ami(), 1..3),
            0..4,
        ),
        proptest::collection::btree_map(text(), text(), 0..4),
        proptest::collection::vec(text(), 0..4),
        proptest::collection::vec(1u16..=65535, 0..4),
        proptest::collection::btree_map(arch(), 0.0f64..100.0, 0..3),
        proptest::option::of(0.0f64..100_000.0),
        proptest::option::of(lines()),
    );
    (identity, content).prop_map(
        |(
            (name, slug, description, version, saved_by, display),
            (amis, tags, conda, ports, cost, downtime, script),
        )| {
            // With a slug, the name is a free-form display name.
            let name = if slug.is_some() && !display.trim().is_empty() {
                display
            } else {
                name
            };
            Template {
                name,
                slug,
                description,
                version,
                packages: Packages {
                    conda,
                    ..Default::default()
                },
                ami_config: AmiConfig {
                    amis,
                    user_data_script: script,
                    ..Default::default()
                },
                instance_defaults: InstanceDefaults {
                    ports,
                    estimated_cost_per_hour: cost,
                    ..Default::default()
                },
                tags,
                source: Some("saved-from-instance".into()),
                saved_by,
                downtime_seconds: downtime,
                ..Default::default()
            }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_templates_round_trip(t in template()) {
        let yaml = t.to_yaml().expect("serializes");
        let back = parse_template(&yaml, "prop.yaml");
        prop_assert!(back.is_ok(), "parse failed: {:?}\n{}", back.err(), yaml);
        let back = back.expect("checked");
        prop_assert_eq!(&back.template, &t, "yaml was:\n{}", yaml);
        prop_assert!(back.warnings.is_empty());
    }
}
