//! serde-saphyr setup: hardened parser options and conversion of its errors.

use serde::de::DeserializeOwned;
use serde_saphyr::{DefaultMessageFormatter, MessageFormatter};

use crate::errors::TemplateError;
use crate::text::printable;
use crate::MAX_TEMPLATE_BYTES;

/// Parser options with tight budgets: a template is small, so anything large or
/// alias-heavy (billion-laughs style) is refused early.
fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_reader_input_bytes = Some(MAX_TEMPLATE_BYTES);
    budget.max_events = 200_000;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_recorded_anchor_events = 20_000;
    budget.max_recorded_anchor_bytes = MAX_TEMPLATE_BYTES;
    budget.max_depth = 32;
    budget.max_documents = 1;
    budget.max_nodes = 100_000;
    budget.max_total_scalar_bytes = 2 * MAX_TEMPLATE_BYTES;
    budget.max_merge_keys = 100;
    let mut alias_limits = serde_saphyr::options::AliasLimits::default();
    alias_limits.max_total_replayed_events = 20_000;
    alias_limits.max_replay_stack_depth = 16;
    alias_limits.max_alias_expansions_per_anchor = 100;
    serde_saphyr::options! {
        budget: Some(budget),
        alias_limits: alias_limits,
        with_snippet: false,
    }
}

/// Deserializes `text` as `T` with the hardened options; errors name `origin`,
/// the line/column and (best effort) the field.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, TemplateError> {
    serde_saphyr::from_str_with_options(text, options()).map_err(|e| convert(&e, text, origin))
}

fn convert(err: &serde_saphyr::Error, text: &str, origin: &str) -> TemplateError {
    let raw = DefaultMessageFormatter.format_message(err);
    let message = printable(&polish(&raw));
    let location = err.location().filter(|l| l.line() > 0);
    let mut field = location.and_then(|l| {
        usize::try_from(l.line())
            .ok()
            .and_then(|n| key_path_at(text, n))
    });
    if raw.starts_with("missing field") {
        // The location is the last key read in the mapping that lacks the field.
        field = field.and_then(|f| f.rsplit_once('.').map(|(parent, _)| parent.to_string()));
    }
    TemplateError::Yaml {
        origin: origin.to_string(),
        line: location.map(|l| l.line()),
        column: location.map(|l| l.column()).filter(|c| *c > 0),
        field: field.map(|f| printable(&f)),
        message,
    }
}

/// Rewords developer-oriented parser messages for template authors.
fn polish(message: &str) -> String {
    let message = message.replace(", set DuplicateKeyPolicy in Options if acceptable", "");
    if message.starts_with("budget breached: Documents") {
        return "a template file holds a single YAML document; found a second one ('---')"
            .to_string();
    }
    if let Some(detail) = message.strip_prefix("budget breached: ") {
        return format!("template is too complex for the parser's safety limits ({detail})");
    }
    match message.as_str() {
        "invalid u16" | "invalid u32" | "invalid u64" | "invalid i32" | "invalid i64" => {
            format!("{message}: expected a whole number")
        }
        "invalid f64" | "invalid f32" => format!("{message}: expected a number"),
        _ => message,
    }
}

/// Best-effort dotted key path (`instance_defaults.ports`) governing 1-based `line`
/// of a block-style YAML document, found by walking up to less-indented keys.
pub(crate) fn key_path_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let last = line.checked_sub(1)?;
    let mut threshold = usize::MAX;
    let mut path: Vec<String> = Vec::new();
    for (i, raw) in lines.get(..=last)?.iter().enumerate().rev() {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut indent = raw.len() - trimmed.len();
        let mut rest = trimmed;
        while let Some(after) = rest.strip_prefix("- ") {
            let t = after.trim_start();
            indent += rest.len() - t.len();
            rest = t;
        }
        if i != last && indent >= threshold {
            continue;
        }
        threshold = indent;
        if let Some(key) = leading_key(rest) {
            path.push(key);
        }
        if indent == 0 {
            break;
        }
    }
    if path.is_empty() {
        return None;
    }
    path.reverse();
    Some(path.join("."))
}

/// The key of a `key: value` line, if it starts with a simple (optionally quoted) key.
fn leading_key(s: &str) -> Option<String> {
    let (quoted, body) = match s.chars().next()? {
        q @ ('"' | '\'') => (Some(q), &s[1..]),
        _ => (None, s),
    };
    let end = match quoted {
        Some(q) => body.find(q)?,
        None => body.find(':')?,
    };
    let key = &body[..end];
    let after = match quoted {
        Some(_) => body[end + 1..].trim_start(),
        None => &body[end..],
    };
    let after_colon = after.strip_prefix(':')?;
    let ok_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
    let ok_sep = after_colon.is_empty() || after_colon.starts_with([' ', '\t']);
    (ok_key && ok_sep).then(|| key.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths() {
        let text = "name: x\ninstance_defaults:\n  type: t3.large\n  ports:\n    - 22\n    - 70000\nami_config:\n  amis:\n    us-east-1: [a]\n";
        assert_eq!(key_path_at(text, 1).as_deref(), Some("name"));
        assert_eq!(
            key_path_at(text, 3).as_deref(),
            Some("instance_defaults.type")
        );
        assert_eq!(
            key_path_at(text, 6).as_deref(),
            Some("instance_defaults.ports")
        );
        assert_eq!(
            key_path_at(text, 9).as_deref(),
            Some("ami_config.amis.us-east-1")
        );
        assert_eq!(key_path_at(text, 100), None);
        assert_eq!(key_path_at(text, 0), None);
        assert_eq!(key_path_at("- a\n", 1), None);
    }

    #[test]
    fn errors_carry_location_and_field() {
        let text = "name: abc\ninstance_defaults:\n  root_volume_gb: lots\n";
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            name: String,
            instance_defaults: crate::InstanceDefaults,
        }
        let err = from_str::<T>(text, "f.yaml").expect_err("must fail");
        match &err {
            TemplateError::Yaml {
                origin,
                line,
                field,
                ..
            } => {
                assert_eq!(origin, "f.yaml");
                assert_eq!(*line, Some(3));
                assert_eq!(field.as_deref(), Some("instance_defaults.root_volume_gb"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.starts_with("f.yaml:3:"), "{msg}");
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from(
            "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            let items = [prev.as_str(); 9].join(",");
            text.push_str(&format!("a{i}: &a{i} [{items}]\n"));
        }
        text.push_str("name: bomb\n");
        let r = from_str::<serde_json::Value>(&text, "bomb.yaml");
        assert!(r.is_err(), "alias bomb accepted");
    }
}
