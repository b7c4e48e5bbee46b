//! Parsing one template file: size limit, YAML, shape checks, typed model, name rules.

use serde_json::Value;

use crate::errors::TemplateError;
use crate::model::Template;
use crate::names::validate_template_name;
use crate::text::{is_hazardous, printable};
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
/// malformed `ami_config.amis`, a control character in any text field (line breaks and
/// tabs only in `description`, `ami_config.user_data_script`, `parameters` and
/// `idle_detection`), an invisible formatting character outside free text for people, and
/// anything the YAML parser rejects.
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
    // `{{.name}}` placeholders take their parameter's default; those without one stay and
    // are reported (a launch refuses them, `validate` names them).
    let unresolved = crate::params::resolve(&mut template);
    check_text(&template, origin)?;
    // Prism's own files give a display name ("Deep Learning GPU") and no slug: the identifier
    // is derived from the name as Prism does (`deep-learning-gpu`).
    let mut derived = None;
    // Only for display names (words separated by spaces), never for anything path-like.
    let display_name = template.name.contains(' ')
        && !template.name.contains(['/', '\\'])
        && !template.name.trim_start().starts_with('.');
    if template.slug.is_none() && display_name && validate_template_name(&template.name).is_err() {
        if let Some(slug) = derive_slug(&template.name) {
            derived = Some(format!(
                "no slug: the identifier '{slug}' is derived from the name \"{}\"",
                template.name
            ));
            template.slug = Some(slug);
        }
    }
    check_identity(&template, origin)?;
    check_costs(&template, origin)?;

    let mut warnings: Vec<String> = shape
        .unknown
        .iter()
        .map(|k| format!("unknown field '{k}' (ignored)"))
        .collect();
    warnings.extend(derived);
    warnings.extend(unresolved.iter().map(|u| u.to_string()));
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

/// The identifier Prism derives from a display name: lower case, every run of characters
/// other than ASCII letters and digits becomes one `-`, none at either end ("Deep Learning
/// GPU" → `deep-learning-gpu`). `None` when that is not a valid template name either.
pub fn derive_slug(name: &str) -> Option<String> {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    validate_template_name(&out).ok().map(|_| out)
}

/// The identifier (slug, else name) must be a valid template name; a display name
/// next to a slug must be non-empty and short ([`check_text`] has refused control and
/// invisible formatting characters in both).
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

/// What a text field may hold besides printable characters. No field may hold any other
/// control character (ESC, CSI, CR, NUL, BEL, DEL, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allow {
    /// Nothing else: identifiers, versions, references and everything that reaches a shell or
    /// EC2 as a value (packages, users, services, AMI fields, instance types, lineage).
    Line,
    /// One line of free text for people (`project`, `tags`, `category`, `icon`,
    /// `complexity`, `saved_by`): also invisible formatting characters, which emoji
    /// sequences (U+200D) and right-to-left text (U+200E/U+200F) need.
    Text,
    /// Free text over lines (`description`, the opaque `parameters` / `idle_detection`):
    /// like `Text`, plus line breaks and tabs.
    Prose,
    /// A script (`ami_config.user_data_script`): line breaks and tabs, but no invisible
    /// formatting character (it could make the script read differently than it runs).
    Script,
}

impl Allow {
    /// Whether `c` is refused here.
    fn refuses(self, c: char) -> bool {
        let lines = matches!(self, Allow::Prose | Allow::Script);
        let formatting = matches!(self, Allow::Text | Allow::Prose);
        if c.is_control() {
            !(lines && matches!(c, '\n' | '\t'))
        } else {
            // Line and paragraph separators break lines whatever else is allowed.
            let separator = matches!(c, '\u{2028}' | '\u{2029}');
            is_hazardous(c) && (separator || !formatting)
        }
    }

    /// The rule, for messages.
    fn rule(self) -> &'static str {
        match self {
            Allow::Line => "this field is one line of printable text",
            Allow::Text => "this field is one line of text without control characters",
            Allow::Prose => "only line breaks and tabs are allowed here, no other control character",
            Allow::Script => {
                "only line breaks and tabs are allowed here, no other control or invisible formatting character"
            }
        }
    }
}

/// Every string of a template, with its dotted field path and what it may hold.
#[derive(Default)]
struct Texts<'a> {
    /// `(field, is a mapping key, text, allowed)`.
    items: Vec<(String, bool, &'a str, Allow)>,
}

impl<'a> Texts<'a> {
    fn push(&mut self, field: impl Into<String>, v: &'a str, allow: Allow) {
        self.items.push((field.into(), false, v, allow));
    }

    fn one(&mut self, field: impl Into<String>, v: &'a str) {
        self.push(field, v, Allow::Line);
    }

    fn opt(&mut self, field: &str, v: &'a Option<String>, allow: Allow) {
        if let Some(v) = v {
            self.push(field, v, allow);
        }
    }

    fn list(&mut self, field: &str, vs: &'a [String]) {
        for (i, v) in vs.iter().enumerate() {
            self.one(format!("{field}[{i}]"), v);
        }
    }

    /// A mapping's keys (held to `allow`), and its values through `value`.
    fn map<V>(
        &mut self,
        field: &str,
        m: &'a std::collections::BTreeMap<String, V>,
        allow: Allow,
        mut value: impl FnMut(&mut Self, String, &'a V),
    ) {
        for (k, v) in m {
            let at = format!("{field}.{}", printable(k));
            self.items.push((at.clone(), true, k, allow));
            value(self, at, v);
        }
    }

    fn strings(
        &mut self,
        field: &str,
        m: &'a std::collections::BTreeMap<String, String>,
        allow: Allow,
    ) {
        self.map(field, m, allow, |s, at, v| s.push(at, v, allow));
    }

    /// Every string (keys included) of an opaque JSON value; keys are one line.
    fn json(&mut self, field: String, v: &'a Value, allow: Allow) {
        let key_allow = if allow == Allow::Prose {
            Allow::Text
        } else {
            allow
        };
        match v {
            Value::String(s) => self.push(field, s, allow),
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    self.json(format!("{field}[{i}]"), x, allow);
                }
            }
            Value::Object(o) => {
                for (k, x) in o {
                    let at = format!("{field}.{}", printable(k));
                    self.items.push((at.clone(), true, k, key_allow));
                    self.json(at, x, allow);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// Every string field of `t` (walk new fields here).
    fn of(t: &'a Template) -> Texts<'a> {
        use Allow::{Line, Prose, Script, Text};
        let mut f = Texts::default();
        f.one("name", &t.name);
        f.opt("slug", &t.slug, Line);
        f.opt("description", &t.description, Prose);
        f.opt("version", &t.version, Line);
        f.opt("base", &t.base, Line);
        f.list("inherits", &t.inherits);
        f.opt("package_manager", &t.package_manager, Line);
        f.list("packages.system", &t.packages.system);
        f.list("packages.conda", &t.packages.conda);
        f.list("packages.pip", &t.packages.pip);
        f.list("packages.spack", &t.packages.spack);
        for (i, u) in t.users.iter().enumerate() {
            f.json(format!("users[{i}]"), u, Line);
        }
        for (i, s) in t.services.iter().enumerate() {
            f.json(format!("services[{i}]"), s, Line);
        }
        let c = &t.ami_config;
        f.map("ami_config.amis", &c.amis, Line, |f, at, arches| {
            f.strings(&at, arches, Line)
        });
        f.strings("ami_config.ami_mappings", &c.ami_mappings, Line);
        if let Some(s) = &c.ami_search {
            f.one("ami_config.ami_search.owner", &s.owner);
            f.one("ami_config.ami_search.name_pattern", &s.name_pattern);
            f.list("ami_config.ami_search.architecture", &s.architecture);
            f.strings(
                "ami_config.ami_search.required_tags",
                &s.required_tags,
                Line,
            );
        }
        f.strings("ami_config.instance_types", &c.instance_types, Line);
        f.opt("ami_config.ssh_user", &c.ssh_user, Line);
        f.opt("ami_config.user_data_script", &c.user_data_script, Script);
        let d = &t.instance_defaults;
        f.opt("instance_defaults.type", &d.r#type, Line);
        f.map(
            "instance_defaults.estimated_cost_per_hour",
            &d.estimated_cost_per_hour,
            Line,
            |_, _, _| {},
        );
        f.opt("minimum_size", &t.minimum_size, Line);
        f.strings("tags", &t.tags, Text);
        f.opt("category", &t.category, Text);
        f.opt("icon", &t.icon, Text);
        f.opt("complexity", &t.complexity, Text);
        if let Some(p) = &t.parameters {
            f.json("parameters".into(), p, Prose);
        }
        if let Some(p) = &t.idle_detection {
            f.json("idle_detection".into(), p, Prose);
        }
        f.opt("source", &t.source, Line);
        f.opt("saved_from", &t.saved_from, Line);
        f.opt("saved_from_instance", &t.saved_from_instance, Line);
        f.opt("original_template", &t.original_template, Line);
        f.opt(
            "original_template_version",
            &t.original_template_version,
            Line,
        );
        f.opt("saved_by", &t.saved_by, Text);
        f.opt("saved_date", &t.saved_date, Line);
        f.opt("capture_mode", &t.capture_mode, Line);
        f.opt("project", &t.project, Text);
        f
    }
}

/// Why `c` is refused, for people.
fn char_problem(c: char, allow: Allow) -> String {
    let what = match c {
        '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => "a line break",
        '\0' => "a NUL character",
        '\t' => "a tab",
        '\u{1b}' | '\u{9b}' => "a terminal escape",
        c if c.is_control() => "a control character",
        _ => "an invisible formatting character, which can reorder or hide text",
    };
    format!(
        "contains {what} (U+{:04X}); {}: remove it (control characters could run commands in the first-boot script or drive a terminal)",
        c as u32,
        allow.rule()
    )
}

/// No text field may carry a control character: line breaks and tabs only in
/// `description`, `ami_config.user_data_script` and the opaque `parameters` /
/// `idle_detection`. Invisible formatting characters (bidi, zero-width) only in free text
/// for people (description, project, tags, presentation, `saved_by`, opaque values), never in
/// identifiers, versions or anything that reaches a shell or EC2 as a value. Text ends up in
/// the first-boot shell script, in EC2 tags and on terminals. An instance type must look
/// like one (`family.size`).
fn check_text(t: &Template, origin: &str) -> Result<(), TemplateError> {
    let bad = |field: String, message: String| TemplateError::InvalidField {
        origin: origin.to_string(),
        field,
        message,
    };
    for (field, is_key, v, allow) in Texts::of(t).items {
        if let Some(c) = v.chars().find(|&c| allow.refuses(c)) {
            let problem = char_problem(c, allow);
            let message = if is_key {
                format!("the key '{}' {problem}", printable(v))
            } else {
                problem
            };
            return Err(bad(field, message));
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
