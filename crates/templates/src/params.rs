//! Parameter placeholders: Prism's template files write `{{.name}}` in `users`, `services`
//! and `packages` entries and give the value as a default under `parameters`.
//!
//! `parameters` is a mapping of parameter name to either a mapping with a `default`
//! (`user_name: {type: string, default: researcher}`) or a plain scalar default
//! (`user_name: researcher`); a list of `{name, default}` entries is read the same way.
//! A placeholder whose parameter has a default is replaced by it when the file is parsed;
//! one without a default stays as written and is reported ([`Unresolved`]) so that
//! `template validate` can name it, while a launch refuses it (provisioning never runs a
//! placeholder as a user or package name).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::Template;

/// A placeholder left in the template because its parameter has no default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// The field holding it, as a path (`users[0].name`).
    pub field: String,
    /// The parameter's name (`user_name`).
    pub parameter: String,
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: placeholder {{{{.{}}}}} is unresolved: parameter '{}' has no default (give it one under parameters)",
            self.field, self.parameter, self.parameter
        )
    }
}

/// The parameters' defaults, as text (numbers and booleans as YAML writes them).
pub fn defaults(t: &Template) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match &t.parameters {
        Some(Value::Object(map)) => {
            for (name, spec) in map {
                let value = match spec {
                    Value::Object(o) => o.get("default").and_then(scalar),
                    other => scalar(other),
                };
                if let Some(v) = value {
                    out.insert(name.clone(), v);
                }
            }
        }
        Some(Value::Array(list)) => {
            for spec in list {
                let name = spec.get("name").and_then(Value::as_str);
                let value = spec.get("default").and_then(scalar);
                if let (Some(n), Some(v)) = (name, value) {
                    out.insert(n.to_string(), v);
                }
            }
        }
        _ => {}
    }
    out
}

/// The parameter names of the placeholders in `s`, in order (`{{.name}}` or `{{ .name }}`).
pub fn placeholders(s: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        if let Some(name) = placeholder_name(&after[..end]) {
            found.push(name.to_string());
        }
        rest = &after[end + 2..];
    }
    found
}

/// `.name` (with optional spaces around) → `name`, for a name of letters, digits and `_`.
fn placeholder_name(inner: &str) -> Option<&str> {
    let name = inner.trim().strip_prefix('.')?;
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some(name)
}

/// Replaces every placeholder in `s` whose parameter is in `values`; returns the names of
/// those that are not.
fn substitute(s: &mut String, values: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = String::with_capacity(s.len());
    let mut missing = Vec::new();
    let mut rest = s.as_str();
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let whole = &rest[start..start + 2 + end + 2];
        match placeholder_name(&after[..end]) {
            Some(name) => match values.get(name) {
                Some(v) => out.push_str(v),
                None => {
                    missing.push(name.to_string());
                    out.push_str(whole);
                }
            },
            None => out.push_str(whole),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    if out != *s {
        *s = out;
    }
    missing
}

fn substitute_json(
    field: String,
    v: &mut Value,
    values: &BTreeMap<String, String>,
    unresolved: &mut Vec<Unresolved>,
) {
    match v {
        Value::String(s) => {
            for parameter in substitute(s, values) {
                unresolved.push(Unresolved {
                    field: field.clone(),
                    parameter,
                });
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                substitute_json(format!("{field}[{i}]"), x, values, unresolved);
            }
        }
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                substitute_json(format!("{field}.{k}"), x, values, unresolved);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Substitutes the parameters' defaults into the placeholders of `users`, `services` and
/// `packages`; returns the placeholders left because their parameter has no default.
pub fn resolve(t: &mut Template) -> Vec<Unresolved> {
    let values = defaults(t);
    let mut unresolved = Vec::new();
    for (i, u) in t.users.iter_mut().enumerate() {
        substitute_json(format!("users[{i}]"), u, &values, &mut unresolved);
    }
    for (i, s) in t.services.iter_mut().enumerate() {
        substitute_json(format!("services[{i}]"), s, &values, &mut unresolved);
    }
    let p = &mut t.packages;
    for (kind, list) in [
        ("system", &mut p.system),
        ("conda", &mut p.conda),
        ("pip", &mut p.pip),
        ("spack", &mut p.spack),
    ] {
        for (i, s) in list.iter_mut().enumerate() {
            for parameter in substitute(s, &values) {
                unresolved.push(Unresolved {
                    field: format!("packages.{kind}[{i}]"),
                    parameter,
                });
            }
        }
    }
    unresolved
}

/// Replaces every placeholder left in `t` (those without a default) by `value`, so that the
/// rest of each entry can be checked.
pub fn stand_in(t: &mut Template, value: &str) {
    let mut values = defaults(t);
    for u in resolve(&mut t.clone()) {
        values.insert(u.parameter, value.to_string());
    }
    let mut with = Template {
        parameters: Some(Value::Object(
            values
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )),
        ..t.clone()
    };
    resolve(&mut with);
    with.parameters = t.parameters.take();
    *t = with;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_syntax() {
        assert_eq!(placeholders("{{.a}}-{{ .b_2 }}"), vec!["a", "b_2"]);
        assert!(placeholders("{{a}} {{.}} {{.1x}} {{.a").is_empty());
    }

    #[test]
    fn substitutes_known_and_keeps_unknown() {
        let values = BTreeMap::from([("a".to_string(), "x".to_string())]);
        let mut s = "p-{{.a}}-{{.b}}-{{ .a }}".to_string();
        assert_eq!(substitute(&mut s, &values), vec!["b"]);
        assert_eq!(s, "p-x-{{.b}}-x");
    }
}
