//! Property-based fuzzing of API request decoding (`docs/FUZZING.md`).
//!
//! - Arbitrary bytes, damaged JSON text, arbitrary JSON values (depth ≤ 4, keys biased towards
//!   the real field names), objects of real fields with arbitrary values, and valid requests
//!   with 1–3 fields replaced or removed decode into every request body of `prism_api`
//!   without panicking; decoding a `Value` and decoding its text agree; whatever decodes
//!   re-encodes and decodes to the same JSON.
//! - Every `SaveRequest` / `LaunchRequest` built from arbitrary strings round-trips
//!   (serialize → deserialize, compared as `serde_json::Value`).
//! - `prism_templates::parse_template` never panics on arbitrary text, YAML-shaped lines, and
//!   template documents (real keys, plausible or arbitrary values, one line maybe damaged).
//! - A valid template with a control or invisible formatting character put into any one of its
//!   texts (a value or a free-form key) is refused with `InvalidField` naming that field and
//!   the character's code, and the message carries no raw control character; except line
//!   breaks and tabs where text spans lines and formatting characters in free text for people,
//!   which parse.
//!
//! 2000 cases per property (`PROPTEST_CASES` overrides); `PROPTEST_RNG_SEED` replays a run.
//! Failures are not persisted to a file: proptest prints the shrunk input.

use prism_api::{
    AwsTarget, CaptureMode, CopyRequest, LaunchRequest, RefreshRequest, SaveRequest,
    ValidateRequest, WorkstationAction,
};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Number, Value};

const DEFAULT_CASES: u32 = 2000;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Field names of the request bodies (and of `AwsTarget`), so generated objects often have
/// the right keys with wrong-typed or odd values.
const FIELDS: &[&str] = &[
    "workstation",
    "template",
    "description",
    "copy_to_regions",
    "project",
    "public",
    "mode",
    "tags",
    "aws",
    "dry_run",
    "name",
    "size",
    "arch",
    "to_region",
    "path",
    "profile",
    "region",
];

/// Strings with unicode, control characters, quotes, escapes and lone-surrogate-looking text.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}\\u{2028}\\u{2029}\\u{feff}\\u{fffd}\"\\\\/a-zA-Z0-9@._=-]{0,24}",
        1 => "[\\u{10000}-\\u{10ffff}]{0,8}",
        1 => Just(String::new()),
        1 => prop::sample::select(vec![
            "stop", "reboot", "live", "STOP", "x86_64", "arm64", "GPU-L", "python-ml", "python-ml@1",
            "us-east-1", "../../etc/passwd", "/dev/zero", "a=b", "\\ud800", "null", "true",
        ])
        .prop_map(str::to_string),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(FIELDS).prop_map(str::to_string),
        1 => text(),
    ]
}

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        any::<f64>().prop_filter_map("finite", Number::from_f64),
        prop::sample::select(vec![0.0, -0.0, 1e308, -1e308, 5e-324, 0.5])
            .prop_filter_map("finite", Number::from_f64),
    ]
}

/// Arbitrary JSON values, nesting depth ≤ 4.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// Objects whose keys are all real field names, with arbitrary values.
fn request_object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(
        prop::sample::select(FIELDS).prop_map(str::to_string),
        json(),
        0..8,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// JSON-shaped text: a valid request-like document, then truncated, spliced or byte-flipped.
fn json_ish_bytes() -> impl Strategy<Value = Vec<u8>> {
    (json(), any::<prop::sample::Index>(), any::<u8>(), 0u8..4).prop_map(|(v, at, byte, how)| {
        let mut bytes = serde_json::to_vec(&v).expect("a Value always serializes");
        if bytes.is_empty() {
            return bytes;
        }
        let i = at.index(bytes.len());
        match how {
            0 => bytes.truncate(i),
            1 => bytes[i] = byte,
            2 => bytes.insert(i, byte),
            _ => {}
        }
        bytes
    })
}

/// Decoding must not panic; what decodes must re-encode and decode to the same JSON.
fn check_decode<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(decoded) = serde_json::from_slice::<T>(bytes) {
        let once = serde_json::to_value(&decoded).expect("a decoded request serializes");
        let again: T = serde_json::from_value(once.clone())
            .map_err(|e| TestCaseError::fail(format!("re-decoding {once} failed: {e}")))?;
        prop_assert_eq!(serde_json::to_value(&again).unwrap(), once);
    }
    Ok(())
}

fn check_decode_value<T: DeserializeOwned + Serialize>(v: &Value) -> Result<(), TestCaseError> {
    // Both paths: from an in-memory Value and from its text (what axum's Json extractor does).
    let from_value = serde_json::from_value::<T>(v.clone()).is_ok();
    let text = serde_json::to_vec(v).expect("a Value always serializes");
    let from_text = serde_json::from_slice::<T>(&text).is_ok();
    prop_assert_eq!(
        from_value,
        from_text,
        "Value and text decoding disagree on {}",
        v
    );
    check_decode::<T>(&text)
}

fn decode_all(bytes: &[u8]) -> Result<(), TestCaseError> {
    check_decode::<SaveRequest>(bytes)?;
    check_decode::<LaunchRequest>(bytes)?;
    check_decode::<CopyRequest>(bytes)?;
    check_decode::<ValidateRequest>(bytes)?;
    check_decode::<WorkstationAction>(bytes)?;
    check_decode::<RefreshRequest>(bytes)?;
    Ok(())
}

fn decode_all_value(v: &Value) -> Result<(), TestCaseError> {
    check_decode_value::<SaveRequest>(v)?;
    check_decode_value::<LaunchRequest>(v)?;
    check_decode_value::<CopyRequest>(v)?;
    check_decode_value::<ValidateRequest>(v)?;
    check_decode_value::<WorkstationAction>(v)?;
    check_decode_value::<RefreshRequest>(v)?;
    Ok(())
}

fn aws_target() -> impl Strategy<Value = AwsTarget> {
    (prop::option::of(text()), prop::option::of(text()))
        .prop_map(|(profile, region)| AwsTarget { profile, region })
}

fn save_request() -> impl Strategy<Value = SaveRequest> {
    (
        (text(), text(), prop::option::of(text())),
        prop::collection::vec(text(), 0..4),
        prop::option::of(text()),
        any::<bool>(),
        prop::sample::select(vec![
            CaptureMode::Stop,
            CaptureMode::Reboot,
            CaptureMode::Live,
        ]),
        prop::collection::btree_map(text(), text(), 0..4),
        aws_target(),
        (
            prop::option::of(any::<u64>()),
            any::<bool>(),
            prop::collection::btree_map(text(), text(), 0..3),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (workstation, template, description),
                copy_to_regions,
                project,
                public,
                mode,
                tags,
                aws,
                (max_wait_seconds, dry_run, kms_keys, no_inherit),
            )| SaveRequest {
                workstation,
                template,
                description,
                copy_to_regions,
                project,
                public,
                mode,
                tags,
                aws,
                max_wait_seconds,
                dry_run,
                kms_keys,
                no_inherit,
                over_budget: no_inherit,
                copy_within_minutes: max_wait_seconds.map(|s| (s % 3000) as u32),
            },
        )
}

fn launch_request() -> impl Strategy<Value = LaunchRequest> {
    (
        text(),
        text(),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
        aws_target(),
    )
        .prop_map(|(template, name, size, arch, project, aws)| LaunchRequest {
            template,
            name,
            size,
            arch,
            project,
            aws,
            ssh_public_key: None,
            allow_from: None,
            subnet_id: None,
            over_budget: false,
        })
}

fn copy_request() -> impl Strategy<Value = CopyRequest> {
    (
        text(),
        text(),
        prop::option::of(any::<u64>()),
        prop::option::of(text()),
        aws_target(),
    )
        .prop_map(
            |(template, to_region, max_wait_seconds, kms_key, aws)| CopyRequest {
                template,
                to_region,
                max_wait_seconds,
                kms_key,
                aws,
                copy_within_minutes: max_wait_seconds.map(|s| (s % 3000) as u32),
                dry_run: false,
            },
        )
}

/// A valid request of any of the six kinds, as JSON.
fn valid_request_value() -> impl Strategy<Value = Value> {
    fn v<T: Serialize>(t: T) -> Value {
        serde_json::to_value(t).expect("request serializes")
    }
    prop_oneof![
        save_request().prop_map(v),
        launch_request().prop_map(v),
        copy_request().prop_map(v),
        text().prop_map(|path| v(ValidateRequest { path })),
        aws_target().prop_map(|aws| v(WorkstationAction { aws })),
        aws_target().prop_map(|aws| v(RefreshRequest { aws })),
    ]
}

/// One change to a request object: a field set to an arbitrary value, removed, or a field of
/// `aws` set to an arbitrary value.
#[derive(Debug, Clone)]
enum Mutation {
    Set(String, Value),
    Remove(String),
    SetAws(String, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let field = || prop::sample::select(FIELDS).prop_map(str::to_string);
    prop_oneof![
        3 => (field(), json()).prop_map(|(k, v)| Mutation::Set(k, v)),
        1 => field().prop_map(Mutation::Remove),
        1 => (
            prop::sample::select(vec!["profile", "region", "extra"]).prop_map(str::to_string),
            json()
        )
            .prop_map(|(k, v)| Mutation::SetAws(k, v)),
    ]
}

/// A valid request with one to three mutations: most decode errors are then one field deep,
/// and a few mutations keep the request valid.
fn mutated_request() -> impl Strategy<Value = Value> {
    (
        valid_request_value(),
        prop::collection::vec(mutation(), 1..4),
    )
        .prop_map(|(mut v, ms)| {
            let obj = v.as_object_mut().expect("requests are objects");
            for m in ms {
                match m {
                    Mutation::Set(k, x) => {
                        obj.insert(k, x);
                    }
                    Mutation::Remove(k) => {
                        obj.remove(&k);
                    }
                    Mutation::SetAws(k, x) => {
                        let aws = obj
                            .entry("aws")
                            .or_insert_with(|| Value::Object(Map::new()));
                        if let Some(aws) = aws.as_object_mut() {
                            aws.insert(k, x);
                        }
                    }
                }
            }
            v
        })
}

fn round_trip<T: DeserializeOwned + Serialize>(req: &T) -> Result<(), TestCaseError> {
    let expected = serde_json::to_value(req).expect("request serializes");
    let text = serde_json::to_string(req).expect("request serializes");
    let back: T = serde_json::from_str(&text)
        .map_err(|e| TestCaseError::fail(format!("{text} did not decode: {e}")))?;
    prop_assert_eq!(serde_json::to_value(&back).unwrap(), expected.clone());
    // Pretty-printed text (what a person or another client may send) decodes the same.
    let pretty = serde_json::to_string_pretty(req).unwrap();
    let back: T = serde_json::from_str(&pretty)
        .map_err(|e| TestCaseError::fail(format!("{pretty} did not decode: {e}")))?;
    prop_assert_eq!(serde_json::to_value(&back).unwrap(), expected);
    Ok(())
}

/// Text shaped like a template: `key: value` lines over the real field names, with indentation,
/// flow collections, anchors, aliases, tags and odd scalars.
fn yaml_ish() -> impl Strategy<Value = String> {
    let keys = prop::sample::select(vec![
        "name",
        "slug",
        "description",
        "base",
        "inherits",
        "packages",
        "users",
        "services",
        "ami_config",
        "amis",
        "ami_mappings",
        "ami_search",
        "instance_types",
        "ssh_user",
        "user_data_script",
        "instance_defaults",
        "estimated_cost_per_hour",
        "ports",
        "tags",
        "version",
        "us-east-1",
        "x86_64",
        "<<",
        "? ",
    ]);
    let values = prop_oneof![
        text(),
        prop::sample::select(vec![
            "",
            "~",
            "null",
            "yes",
            "no",
            "0x1F",
            "1e999",
            "-.inf",
            ".nan",
            "65536",
            "0",
            "-1",
            "[",
            "]",
            "{",
            "}",
            "[1, [2, [3]]]",
            "{a: {b: {c: d}}}",
            "&a x",
            "*a",
            "*undefined",
            "!!binary aGk=",
            "!!int x",
            "!custom 1",
            "|",
            ">-",
            "'unterminated",
            "\"\\u0000\"",
            "- a",
            "ubuntu-24.04",
            "ami-based",
            "ami-0123456789abcdef0",
            "python-ml",
        ])
        .prop_map(str::to_string),
    ];
    let line = (0usize..6, keys, values, any::<bool>()).prop_map(|(indent, k, v, dash)| {
        format!(
            "{}{}{}: {}",
            " ".repeat(indent),
            if dash { "- " } else { "" },
            k,
            v
        )
    });
    (
        prop::collection::vec(line, 0..16),
        prop::sample::select(vec!["", "---\n", "%YAML 1.2\n---\n", "\u{feff}"]),
    )
        .prop_map(|(lines, prefix)| format!("{prefix}{}\n", lines.join("\n")))
}

/// A template document: the real top-level keys with plausible or arbitrary values, written
/// as block YAML with flow (JSON) values, then one line of it damaged or not.
fn template_document() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        4 => "[a-z0-9][a-z0-9-]{2,20}",
        1 => text(),
    ];
    let base = prop_oneof![
        3 => prop::sample::select(vec!["ubuntu-22.04", "ubuntu-24.04", "amazonlinux-2023", "ami-based"])
            .prop_map(|s| Value::String(s.to_string())),
        1 => json(),
    ];
    let optional_keys = prop::collection::btree_map(
        prop::sample::select(vec![
            "slug",
            "description",
            "inherits",
            "packages",
            "users",
            "services",
            "ami_config",
            "instance_defaults",
            "estimated_cost_per_hour",
            "ports",
            "tags",
            "version",
            "maintainer",
        ])
        .prop_map(str::to_string),
        json(),
        0..6,
    );
    let damage = prop_oneof![
        3 => Just(None),
        1 => (any::<prop::sample::Index>(), yaml_ish()).prop_map(Some),
    ];
    (name, base, optional_keys, damage).prop_map(|(name, base, rest, damage)| {
        let mut lines = vec![
            format!("name: {}", Value::String(name)),
            format!("base: {base}"),
        ];
        lines.extend(rest.iter().map(|(k, v)| format!("{k}: {v}")));
        if let Some((at, junk)) = damage {
            let i = at.index(lines.len());
            lines[i] = junk;
        }
        lines.join("\n") + "\n"
    })
}

/// Text without control or invisible formatting characters (what a valid template holds).
fn clean_text(max: usize) -> impl Strategy<Value = String> {
    prop::string::string_regex(&format!("\\PC{{0,{max}}}"))
        .expect("regex")
        .prop_filter("no hazardous characters", |s| {
            !s.chars().any(prism_templates::is_hazardous)
        })
}

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{2,12}"
}

fn instance_type() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{1,4}\\.[a-z0-9]{2,8}"
}

fn arch_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["x86_64", "arm64"]).prop_map(str::to_string)
}

fn string_map(
    k: impl Strategy<Value = String>,
    v: impl Strategy<Value = String>,
) -> impl Strategy<Value = Value> {
    prop::collection::btree_map(k, v, 0..3)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k, Value::String(v))).collect()))
}

fn strings(v: impl Strategy<Value = String>) -> impl Strategy<Value = Value> {
    prop::collection::vec(v, 0..3)
        .prop_map(|v| Value::Array(v.into_iter().map(Value::String).collect()))
}

/// A valid template (as a JSON value) with text in every field of the model.
fn valid_template() -> impl Strategy<Value = Value> {
    let identity = (
        word(),
        proptest::option::of("[A-Za-z][A-Za-z0-9 '$()#;]{0,20}"),
        clean_text(30),
        "[0-9]{1,3}(\\.[0-9]{1,3}){0,2}",
        strings(word()),
        prop::collection::vec(strings(clean_text(12)), 4),
    );
    let people = (
        prop::collection::vec((word(), strings(word()), clean_text(10)), 0..3),
        prop::collection::vec((word(), 1u16..=65535, clean_text(10)), 0..3),
    );
    let ami = (
        prop::collection::btree_map(
            clean_text(12),
            string_map(arch_name(), "ami-[0-9a-f]{8,17}"),
            0..3,
        ),
        string_map(clean_text(12), "ami-[0-9a-f]{8,17}"),
        (
            word(),
            clean_text(16),
            strings(arch_name()),
            string_map(clean_text(8), clean_text(8)),
        ),
        string_map(arch_name(), instance_type()),
        word(),
        clean_text(40),
    );
    let rest = (
        instance_type(),
        string_map(clean_text(8), clean_text(12)),
        prop::collection::vec(clean_text(12), 13),
    );
    (identity, people, ami, rest).prop_map(|(identity, people, ami, rest)| {
        let (id, display, description, version, inherits, packages) = identity;
        let (users, services) = people;
        let (amis, mappings, (owner, pattern, arches, required), types, ssh_user, script) = ami;
        let (itype, tags, texts) = rest;
        let mut t = serde_json::json!({
            "name": id,
            "description": description,
            "version": version,
            "base": "ubuntu-22.04",
            "inherits": inherits,
            "packages": {
                "system": packages[0], "conda": packages[1], "pip": packages[2], "spack": packages[3],
            },
            "users": users.into_iter().map(|(n, g, x)| serde_json::json!({"name": n, "groups": g, "shell": x})).collect::<Vec<_>>(),
            "services": services.into_iter().map(|(n, p, x)| serde_json::json!({"name": n, "port": p, "note": x})).collect::<Vec<_>>(),
            "ami_config": {
                "amis": Value::Object(amis.into_iter().collect()),
                "ami_mappings": mappings,
                "ami_search": {"owner": owner, "name_pattern": pattern, "architecture": arches, "required_tags": required},
                "instance_types": types,
                "ssh_user": ssh_user,
                "user_data_script": format!("#!/bin/sh\n{script}\n"),
            },
            "instance_defaults": {"type": itype, "estimated_cost_per_hour": {"x86_64": 0.5}},
            "tags": tags,
            "package_manager": texts[0], "minimum_size": texts[1], "category": texts[2],
            "icon": texts[3], "complexity": texts[4],
            "parameters": {"size": {"default": texts[5]}},
            "idle_detection": {"action": texts[6]},
            "source": texts[7], "saved_from": texts[8], "saved_from_instance": texts[9],
            "original_template": texts[10], "original_template_version": texts[11],
            "saved_by": texts[12], "saved_date": "2025-01-01T00:00:00Z",
            "capture_mode": "stop", "project": "lab",
        });
        if let Some(display) = display.filter(|d| !d.trim().is_empty()) {
            t["slug"] = t["name"].clone();
            t["name"] = Value::String(display);
        }
        t
    })
}

/// Mappings whose keys are the model's field names rather than free text.
const STRUCT_PATHS: &[&str] = &[
    "",
    "packages",
    "ami_config",
    "ami_config.ami_search",
    "instance_defaults",
];

/// Where text may span lines (line breaks and tabs allowed in values there).
fn allows_lines(field: &str) -> bool {
    field == "description"
        || field == "ami_config.user_data_script"
        || field.starts_with("parameters")
        || field.starts_with("idle_detection")
}

/// Free text for people, where invisible formatting characters (emoji joiners, bidi marks)
/// are kept; everywhere else they are refused.
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

/// Whether the text at `field` (a value, or a mapping key) may hold `c`.
fn may_hold(field: &str, is_key: bool, c: char) -> bool {
    if c.is_control() {
        !is_key && allows_lines(field) && matches!(c, '\n' | '\t')
    } else {
        free_text(field) && !matches!(c, '\u{2028}' | '\u{2029}')
    }
}

/// Every text of `v`: `(field path as the parser names it, JSON path, is a mapping key)`.
fn template_texts(
    v: &Value,
    field: &str,
    at: &mut Vec<String>,
    out: &mut Vec<(String, Vec<String>, bool)>,
) {
    match v {
        Value::String(_) => out.push((field.to_string(), at.clone(), false)),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                at.push(i.to_string());
                template_texts(x, &format!("{field}[{i}]"), at, out);
                at.pop();
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                let f = if field.is_empty() {
                    k.clone()
                } else {
                    format!("{field}.{k}")
                };
                at.push(k.clone());
                if !STRUCT_PATHS.contains(&field) {
                    out.push((f.clone(), at.clone(), true));
                }
                template_texts(x, &f, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn json_node<'a>(v: &'a mut Value, at: &[String]) -> &'a mut Value {
    at.iter().fold(v, |v, k| match v {
        Value::Array(a) => &mut a[k.parse::<usize>().expect("index")],
        Value::Object(o) => o.get_mut(k).expect("key"),
        _ => unreachable!("a path into containers"),
    })
}

/// A character a template field must refuse: C0 (line breaks and tabs included), DEL, C1 or
/// an invisible formatting character.
fn hazardous_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => (0u32..0x20).prop_map(|c| char::from_u32(c).expect("C0")),
        1 => Just('\u{7f}'),
        3 => (0x80u32..0xa0).prop_map(|c| char::from_u32(c).expect("C1")),
        2 => prop::sample::select(vec![
            '\u{61c}', '\u{200b}', '\u{200e}', '\u{200f}', '\u{2028}', '\u{2029}', '\u{202a}',
            '\u{202e}', '\u{2060}', '\u{2066}', '\u{2069}', '\u{feff}',
        ]),
    ]
}

/// Template text for the parser: JSON (which is YAML) with every hazardous character written
/// as a `\uXXXX` escape, so it reaches the field checks rather than the YAML reader's.
fn as_yaml(v: &Value) -> String {
    let mut out = String::new();
    for c in serde_json::to_string(v).expect("serializes").chars() {
        if prism_templates::is_hazardous(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Puts `c` into one text of `t` (picked by `which`, at `at`). Returns the field the parser
/// names for it (a key's path written with the new key) and whether that text may hold `c`.
fn inject(
    t: &mut Value,
    which: prop::sample::Index,
    at: prop::sample::Index,
    c: char,
) -> (String, bool) {
    let mut found = vec![];
    template_texts(t, "", &mut vec![], &mut found);
    let (field, path, is_key) = found.swap_remove(which.index(found.len()));
    let allowed = may_hold(&field, is_key, c);
    let insert = |s: &str| {
        let mut chars: Vec<char> = s.chars().collect();
        chars.insert(at.index(chars.len() + 1), c);
        chars.into_iter().collect::<String>()
    };
    if is_key {
        let (parent, key) = path.split_at(path.len() - 1);
        let obj = json_node(t, parent).as_object_mut().expect("object");
        let new_key = insert(&key[0]);
        let value = obj.remove(&key[0]).expect("key");
        let named = format!(
            "{}{}",
            field
                .strip_suffix(key[0].as_str())
                .expect("path ends in the key"),
            prism_templates::printable(&new_key)
        );
        // A key equal to a sibling after the insertion cannot happen: `c` is new in it.
        obj.insert(new_key, value);
        (named, allowed)
    } else {
        let node = json_node(t, &path);
        *node = Value::String(insert(node.as_str().expect("string")));
        (field, allowed)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: (config().cases / 20).max(10), ..config() })]

    /// The generator of [`valid_template`] makes templates the parser accepts (a twentieth
    /// of the cases: each parse takes a few milliseconds in debug builds).
    #[test]
    fn generated_templates_are_valid(t in valid_template()) {
        let text = as_yaml(&t);
        let parsed = prism_templates::parse_template(&text, "fuzz.yaml");
        prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed.err(), text);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_hazardous_character_in_any_template_field_is_refused(
        t in valid_template(),
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        c in hazardous_char(),
    ) {
        // `t` itself parses (checked by `generated_templates_are_valid`): the injected
        // character is the only problem, so the parser must name exactly that field.
        let mut bad = t;
        let (field, allowed) = inject(&mut bad, which, at, c);
        if allowed {
            // A line break or tab where text spans lines, or a formatting character in free
            // text: accepted.
            let ok = prism_templates::parse_template(&as_yaml(&bad), "fuzz.yaml");
            prop_assert!(ok.is_ok(), "U+{:04X} in {}: {:?}", c as u32, field, ok.err());
            return Ok(());
        }
        let text = as_yaml(&bad);
        match prism_templates::parse_template(&text, "fuzz.yaml") {
            Ok(_) => prop_assert!(false, "accepted U+{:04X} in {field}:\n{text}", c as u32),
            Err(e) => {
                let shown = e.to_string();
                prop_assert!(
                    !shown.chars().any(prism_templates::is_hazardous),
                    "raw character in the message: {shown:?}"
                );
                match e {
                    prism_templates::TemplateError::InvalidField { field: f, message, .. } => {
                        prop_assert_eq!(&f, &field, "{}", shown);
                        let code = format!("U+{:04X}", c as u32);
                        prop_assert!(message.contains(&code), "{}", shown);
                    }
                    other => prop_assert!(false, "{field}: not InvalidField: {other:?}"),
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        decode_all(&bytes)?;
    }

    #[test]
    fn json_ish_bytes_never_panic(bytes in json_ish_bytes()) {
        decode_all(&bytes)?;
    }

    #[test]
    fn arbitrary_json_values_never_panic(v in json()) {
        decode_all_value(&v)?;
    }

    #[test]
    fn request_shaped_objects_never_panic(v in request_object()) {
        decode_all_value(&v)?;
    }

    #[test]
    fn mutated_valid_requests_never_panic(v in mutated_request()) {
        decode_all_value(&v)?;
    }

    #[test]
    fn save_request_round_trips(req in save_request()) {
        round_trip(&req)?;
    }

    #[test]
    fn launch_request_round_trips(req in launch_request()) {
        round_trip(&req)?;
    }

    #[test]
    fn parse_template_never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = prism_templates::parse_template(&text, "fuzz.yaml");
    }

    #[test]
    fn parse_template_never_panics_on_template_documents(text in template_document()) {
        let _ = prism_templates::parse_template(&text, "fuzz.yaml");
    }

    #[test]
    fn parse_template_never_panics_on_yaml_shaped_text(text in yaml_ish()) {
        let _ = prism_templates::parse_template(&text, "fuzz.yaml");
    }
}
