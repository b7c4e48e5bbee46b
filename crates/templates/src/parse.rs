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
