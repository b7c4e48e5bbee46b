//! Parsing one template file: size limit, YAML, shape checks, typed model, name rules.

use serde_json::Value;

use crate::errors::TemplateError;
use crate::model::Template;
use crate::names::validate_template_name;
use crate::text::printable;
use crate::{shape, yaml};

/// Largest accepted template file, in bytes (1 MiB).
pub const MAX_TEMPLATE_BYTES: usize = 1024 * 1024;

/// Longest accepted display name (when a `slug` is the identifier), in characters.
pub const MAX_DISPLAY_NAME_LEN: usize = 200;

/// A successfully parsed template and what was tolerated along the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The template as written (legacy top-level cost mapped into `instance_defaults`).
    pub template: Template,
    /// Human-readable warnings (`unknown field 'foo' (ignored)`, ...).
    pub warnings: Vec<String>,
    /// Unknown keys as dotted paths (`maintainer`, `ami_config.strategy`), for `validate --verbose`.
    pub unknown_fields: Vec<String>,
}

/// Parses a template from YAML `text`; `origin` (a file path or `built-in NAME`) names
/// the source in every error and warning.
///
/// Unknown fields are never an error: they are reported as warnings. Refused: input over
/// [`MAX_TEMPLATE_BYTES`], an empty document, a non-mapping top level, a missing `name`,
/// an identifier breaking [`validate_template_name`], ports outside 1–65535, a
/// malformed `ami_config.amis`, and anything the YAML parser rejects.
pub fn parse_template(text: &str, origin: &str) -> Result<Parsed, TemplateError> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(TemplateError::TooLarge {
            origin: origin.to_string(),
            size: text.len() as u64,
            limit: MAX_TEMPLATE_BYTES as u64,
        });
    }
    let generic: Option<Value> = yaml::from_str(text, origin)?;
    let top = match generic {
        None | Some(Value::Null) => {
            return Err(TemplateError::Empty {
                origin: origin.to_string(),
            })
        }
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(TemplateError::NotAMapping {
                origin: origin.to_string(),
                found: shape::kind(&other),
            })
        }
    };
    let shape = shape::check(&top, origin)?;
    let mut template: Template = yaml::from_str(text, origin)?;
    check_identity(&template, origin)?;
    check_costs(&template, origin)?;
    check_text(&template, origin)?;

    let mut warnings: Vec<String> = shape
        .unknown
        .iter()
        .map(|k| format!("unknown field '{k}' (ignored)"))
        .collect();
    if let Some(cost) = shape.legacy_cost {
        if template
            .instance_defaults
            .estimated_cost_per_hour
            .is_empty()
        {
            template.instance_defaults.estimated_cost_per_hour = cost;
        } else {
            warnings.push(
                "top-level 'estimated_cost_per_hour' ignored: instance_defaults.estimated_cost_per_hour is set"
                    .to_string(),
            );
        }
    }
    Ok(Parsed {
        template,
        warnings,
        unknown_fields: shape.unknown,
    })
}

/// The identifier (slug, else name) must be a valid template name; a display name
/// next to a slug must be non-empty, short and free of control characters.
fn check_identity(t: &Template, origin: &str) -> Result<(), TemplateError> {
    let invalid_name = |field: &'static str, source| TemplateError::InvalidName {
        origin: origin.to_string(),
        field,
        source,
    };
    match &t.slug {
        Some(slug) => {
            validate_template_name(slug).map_err(|e| invalid_name("slug", e))?;
            let display_problem = if t.name.trim().is_empty() {
                Some("must not be empty")
            } else if t.name.chars().count() > MAX_DISPLAY_NAME_LEN {
                Some("is longer than 200 characters")
            } else if t.name.chars().any(char::is_control) {
                Some("must not contain control characters")
            } else {
                None
            };
            if let Some(problem) = display_problem {
                return Err(TemplateError::InvalidField {
                    origin: origin.to_string(),
                    field: "name".to_string(),
                    message: problem.to_string(),
                });
            }
            Ok(())
        }
        None => validate_template_name(&t.name).map_err(|e| invalid_name("name", e)),
    }
}

/// Text that is printed or becomes a tag (description, project, instance type, tags) must
/// carry no control characters (a terminal escape in a description would run in the user's
/// terminal); an instance type must look like one (`family.size`).
fn check_text(t: &Template, origin: &str) -> Result<(), TemplateError> {
    let bad = |field: String, message: String| TemplateError::InvalidField {
        origin: origin.to_string(),
        field,
        message,
    };
    let control = |v: &str| {
        v.chars()
            .find(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    };
    let mut fields: Vec<(String, &str)> = vec![];
    if let Some(d) = &t.description {
        fields.push(("description".into(), d));
    }
    if let Some(p) = &t.project {
        fields.push(("project".into(), p));
    }
    for (k, v) in &t.tags {
        fields.push((format!("tags.{}", printable(k)), k));
        fields.push((format!("tags.{}", printable(k)), v));
    }
    for (f, v) in fields {
        if let Some(c) = control(v) {
            return Err(bad(
                f,
                format!(
                    "contains a control character (U+{:04X}); remove it",
                    c as u32
                ),
            ));
        }
    }
    let types = t
        .instance_defaults
        .r#type
        .iter()
        .map(|ty| ("instance_defaults.type".to_string(), ty))
        .chain(
            t.ami_config
                .instance_types
                .iter()
                .map(|(a, ty)| (format!("ami_config.instance_types.{}", printable(a)), ty)),
        );
    for (f, ty) in types {
        if !looks_like_instance_type(ty) {
            return Err(bad(
                f,
                format!(
                    "'{}' is not an instance type (like t3.large)",
                    printable(ty)
                ),
            ));
        }
    }
    Ok(())
}

/// Whether `s` has the shape of an EC2 instance type: `family.size`, lowercase letters,
/// digits and '-' only (e.g. `t3.large`, `g5.2xlarge`, `u-6tb1.metal`).
pub fn looks_like_instance_type(s: &str) -> bool {
    let ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    matches!(s.split_once('.'), Some((a, b)) if ok(a) && ok(b)) && s.len() <= 32
}

/// Costs and downtime must be finite and non-negative.
fn check_costs(t: &Template, origin: &str) -> Result<(), TemplateError> {
    let bad_cost = t
        .instance_defaults
        .estimated_cost_per_hour
        .iter()
        .find(|(_, c)| !c.is_finite() || **c < 0.0);
    if let Some((arch, cost)) = bad_cost {
        return Err(TemplateError::InvalidField {
            origin: origin.to_string(),
            field: format!(
                "instance_defaults.estimated_cost_per_hour.{}",
                printable(arch)
            ),
            message: format!("must be a non-negative number, found {cost}"),
        });
    }
    if let Some(d) = t.downtime_seconds.filter(|d| !d.is_finite() || *d < 0.0) {
        return Err(TemplateError::InvalidField {
            origin: origin.to_string(),
            field: "downtime_seconds".to_string(),
            message: format!("must be a non-negative number, found {d}"),
        });
    }
    Ok(())
}
