//! Checks on the generic (untyped) YAML tree before typed deserialization: required
//! keys, port ranges, the shape of `ami_config.amis`, legacy keys and unknown keys.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::errors::TemplateError;
use crate::model::{AMI_SEARCH_FIELDS, NESTED_FIELDS, TOP_LEVEL_FIELDS};
use crate::text::printable;

/// What the generic pass learned that the typed pass cannot see.
#[derive(Debug, Default)]
pub(crate) struct Shape {
    /// Unknown keys, as dotted paths (`maintainer`, `ami_config.strategy`).
    pub unknown: Vec<String>,
    /// Legacy top-level `estimated_cost_per_hour`, if given.
    pub legacy_cost: Option<BTreeMap<String, f64>>,
}

/// Describes a YAML value's kind for messages ("a list", "a string", ...).
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Runs every generic check on the top-level mapping `top`.
pub(crate) fn check(top: &Map<String, Value>, origin: &str) -> Result<Shape, TemplateError> {
    let invalid = |field: &str, message: String| TemplateError::InvalidField {
        origin: origin.to_string(),
        field: field.to_string(),
        message,
    };
    match top.get("name") {
        None | Some(Value::Null) => {
            return Err(TemplateError::MissingField {
                origin: origin.to_string(),
                field: "name".to_string(),
            })
        }
        Some(Value::Array(_) | Value::Object(_)) => {
            return Err(invalid("name", "must be a string".to_string()))
        }
        Some(_) => {}
    }
    check_ports(top.get("ports")).map_err(|m| invalid("ports", m))?;
    let defaults = top.get("instance_defaults");
    if let Some(d) = defaults.and_then(Value::as_object) {
        check_ports(d.get("ports")).map_err(|m| invalid("instance_defaults.ports", m))?;
    }
    if let Some(amis) = top
        .get("ami_config")
        .and_then(Value::as_object)
        .and_then(|c| c.get("amis"))
    {
        check_amis(amis).map_err(|(f, m)| invalid(&f, m))?;
    }
    let legacy_cost = match top.get("estimated_cost_per_hour") {
        None | Some(Value::Null) => None,
        Some(v) => Some(cost_map(v).map_err(|m| invalid("estimated_cost_per_hour", m))?),
    };
    Ok(Shape {
        unknown: unknown_keys(top),
        legacy_cost,
    })
}

/// A port list must be a list of integers in 1..=65535 (null means empty).
fn check_ports(v: Option<&Value>) -> Result<(), String> {
    let items = match v {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(format!(
                "expected a list of port numbers, found {}",
                kind(other)
            ))
        }
    };
    for item in items {
        match item.as_i64() {
            Some(p) if (1..=65535).contains(&p) => {}
            Some(p) => return Err(format!("port {p} is out of range; ports are 1-65535")),
            None if item.is_number() => {
                return Err(format!("port {item} is not a whole number in 1-65535"))
            }
            None => {
                return Err(format!(
                    "expected a port number (1-65535), found {}",
                    kind(item)
                ))
            }
        }
    }
    Ok(())
}

/// `ami_config.amis` must be `{region: {arch: ami-id}}`.
fn check_amis(v: &Value) -> Result<(), (String, String)> {
    let regions = match v {
        Value::Null => return Ok(()),
        Value::Object(m) => m,
        other => {
            return Err((
                "ami_config.amis".to_string(),
                format!(
                    "must be a mapping of region -> {{architecture: ami-id}}, found {}",
                    kind(other)
                ),
            ))
        }
    };
    for (region, arches) in regions {
        let field = format!("ami_config.amis.{}", printable(region));
        match arches {
            Value::Null => {}
            Value::Object(m) => {
                if let Some((arch, ami)) = m.iter().find(|(_, a)| !a.is_string()) {
                    return Err((
                        format!("{field}.{}", printable(arch)),
                        format!("must be an AMI id string, found {}", kind(ami)),
                    ));
                }
            }
            other => {
                return Err((
                    field,
                    format!(
                        "must be a mapping of architecture -> ami-id (e.g. x86_64: ami-0123456789abcdef0), found {}",
                        kind(other)
                    ),
                ))
            }
        }
    }
    Ok(())
}

/// Parses a `{arch: usd}` map of finite, non-negative numbers.
pub(crate) fn cost_map(v: &Value) -> Result<BTreeMap<String, f64>, String> {
    let m = v.as_object().ok_or_else(|| {
        format!(
            "expected a mapping of architecture -> USD per hour, found {}",
            kind(v)
        )
    })?;
    let mut out = BTreeMap::new();
    for (arch, cost) in m {
        match cost.as_f64() {
            Some(c) if c.is_finite() && c >= 0.0 => {
                out.insert(arch.clone(), c);
            }
            _ => {
                return Err(format!(
                    "cost for '{}' must be a non-negative number, found {}",
                    printable(arch),
                    kind(cost)
                ))
            }
        }
    }
    Ok(out)
}

/// Keys not understood by this crate, at the top level and in known sections.
fn unknown_keys(top: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for key in top.keys() {
        if !TOP_LEVEL_FIELDS.contains(&key.as_str()) {
            out.push(printable(key));
        }
    }
    for (section, known) in NESTED_FIELDS {
        if let Some(m) = top.get(*section).and_then(Value::as_object) {
            nested_unknown(m, section, known, &mut out);
        }
    }
    if let Some(m) = top
        .get("ami_config")
        .and_then(|c| c.get("ami_search"))
        .and_then(Value::as_object)
    {
        nested_unknown(m, "ami_config.ami_search", AMI_SEARCH_FIELDS, &mut out);
    }
    out
}

fn nested_unknown(m: &Map<String, Value>, prefix: &str, known: &[&str], out: &mut Vec<String>) {
    for key in m.keys() {
        if !known.contains(&key.as_str()) {
            out.push(format!("{prefix}.{}", printable(key)));
        }
    }
}
