//! The catalogue: built-in, user and saved templates, versioned, with inheritance merged.
//!
//! Loading never fails: a bad file, a duplicate, a cycle or a missing parent becomes a
//! [`LoadIssue`] and the rest of the catalogue loads.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::builtin::builtin_sources;
use crate::errors::CatalogueError;
use crate::inherit::{Lookup, Resolver};
pub use crate::load_issue::LoadIssue;
use crate::model::Template;
use crate::names::parse_template_ref;
use crate::parse::parse_template;
use crate::scan::scan;
use crate::suggest::suggestions;
use crate::text::printable;
use crate::version::{compare_versions, next_version};

/// Where a template came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Embedded in the binary.
    Builtin,
    /// A file written by the user.
    User(PathBuf),
    /// A file written by a save operation (`source: saved-from-instance`).
    Saved(PathBuf),
}

/// One template version in the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The template with inheritance merged (its `inherits` is empty).
    pub template: Template,
    /// The template as written.
    pub raw: Template,
    /// Where it came from.
    pub origin: Origin,
    /// Non-fatal problems (unknown fields, overriding a built-in, ...).
    pub warnings: Vec<String>,
}

/// All known templates, indexed by id and version.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    entries: Vec<Entry>,
    /// id → entry indices, ascending by version.
    by_id: BTreeMap<String, Vec<usize>>,
    issues: Vec<LoadIssue>,
}

impl Catalogue {
    /// Built-in templates plus every template file under `user_dir` (see [`crate::scan`]
    /// rules: `*.yaml`/`*.yml`, depth ≤ 3, no symlinks leaving the directory, ≤ 1 MiB).
    pub fn load(user_dir: Option<&Path>) -> Catalogue {
        let mut sources: Vec<(String, String, Origin)> = builtin_sources()
            .into_iter()
            .map(|(file, yaml)| (builtin_origin(file), yaml.to_string(), Origin::Builtin))
            .collect();
        let mut issues = Vec::new();
        if let Some(dir) = user_dir {
            let found = scan(dir);
            issues = found.issues;
            sources.extend(found.files.into_iter().map(|(path, text)| {
                (
                    printable(&path.display().to_string()),
                    text,
                    Origin::User(path),
                )
            }));
        }
        Self::build(sources, issues)
    }

    /// A catalogue of exactly these sources (`(origin label, yaml, origin)`), for tests
    /// and callers that read files themselves. No built-ins are added.
    pub fn from_sources(sources: Vec<(String, String, Origin)>) -> Catalogue {
        Self::build(sources, Vec::new())
    }

    /// Looks up `T` (highest version that is not deprecated) or `T@VERSION` (exactly that
    /// version, deprecated or not).
    ///
    /// `T` is a template id; a display name (`Python ML Workstation`) also works when
    /// it designates a single template.
    pub fn get(&self, reference: &str) -> Result<&Entry, CatalogueError> {
        if let Some(indices) = self.ids_for(reference) {
            // `T` is the highest version that is not deprecated (`T@N` still names any).
            if let Some(idx) = indices
                .iter()
                .rev()
                .find(|i| !self.entries[**i].template.is_deprecated())
            {
                return Ok(&self.entries[*idx]);
            }
            if let Some(last) = indices.last().map(|i| &self.entries[*i].template) {
                return Err(CatalogueError::AllDeprecated {
                    name: last.id().to_string(),
                    latest: last.version.clone().unwrap_or_default(),
                    replacement: last
                        .deprecation
                        .as_ref()
                        .and_then(|d| d.replacement.clone()),
                });
            }
        }
        match parse_template_ref(reference) {
            Ok((name, Some(version))) => {
                let Some(indices) = self.ids_for(&name) else {
                    return Err(self.not_found(&name));
                };
                indices
                    .iter()
                    .map(|i| &self.entries[*i])
                    .find(|e| e.template.version.as_deref() == Some(version.as_str()))
                    .ok_or_else(|| CatalogueError::VersionNotFound {
                        name: name.clone(),
                        version,
                        available: indices
                            .iter()
                            .filter_map(|i| self.entries[*i].template.version.clone())
                            .collect(),
                    })
            }
            Ok((name, None)) => Err(self.not_found(&name)),
            Err(e) if reference.contains('@') => Err(CatalogueError::InvalidReference(e)),
            Err(_) => Err(self.not_found(reference)),
        }
    }

    /// Every version of template `name` (id or unique display name), ascending.
    pub fn versions(&self, name: &str) -> Vec<&Entry> {
        self.ids_for(name)
            .map(|v| v.iter().map(|i| &self.entries[*i]).collect())
            .unwrap_or_default()
    }

    /// The highest version of each template, sorted by id.
    pub fn latest(&self) -> Vec<&Entry> {
        self.by_id
            .values()
            .filter_map(|v| v.last())
            .map(|i| &self.entries[*i])
            .collect()
    }

    /// The highest version of each template that is not deprecated, sorted by id (a template
    /// whose versions are all deprecated is left out).
    pub fn latest_current(&self) -> Vec<&Entry> {
        self.by_id
            .values()
            .filter_map(|v| {
                v.iter()
                    .rev()
                    .find(|i| !self.entries[**i].template.is_deprecated())
            })
            .map(|i| &self.entries[*i])
            .collect()
    }

    /// Every loaded template version (all ids, all versions), in no particular order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Sources that failed to load and were skipped.
    pub fn issues(&self) -> &[LoadIssue] {
        &self.issues
    }

    /// The version a new save of `name` should get: `"1"` for a new name, else one more
    /// than the largest leading integer among its versions.
    pub fn next_version(&self, name: &str) -> String {
        next_version(
            self.versions(name)
                .into_iter()
                .filter_map(|e| e.template.version.as_deref()),
        )
    }

    /// Entry indices of the template whose id is `name`, or whose display name is
    /// `name` when exactly one template has it.
    fn ids_for(&self, name: &str) -> Option<&Vec<usize>> {
        if let Some(v) = self.by_id.get(name) {
            return Some(v);
        }
        let mut ids = self
            .by_id
            .iter()
            .filter(|(_, v)| v.iter().any(|i| self.entries[*i].template.name == name));
        match (ids.next(), ids.next()) {
            (Some((_, v)), None) => Some(v),
            _ => None,
        }
    }

    fn not_found(&self, name: &str) -> CatalogueError {
        CatalogueError::NotFound {
            name: name.to_string(),
            suggestions: suggestions(name, self.by_id.keys().map(String::as_str)),
        }
    }

    fn build(sources: Vec<(String, String, Origin)>, mut issues: Vec<LoadIssue>) -> Catalogue {
        let raws = parse_all(sources, &mut issues);
        let index = RawIndex::new(&raws);
        let mut resolver = Resolver::new(&index);
        let mut entries = Vec::with_capacity(raws.len());
        for (idx, raw) in raws.iter().enumerate() {
            match resolver.resolve(idx) {
                Ok(template) => entries.push(Entry {
                    template,
                    raw: raw.template.clone(),
                    origin: raw.origin.clone(),
                    warnings: raw.warnings.clone(),
                }),
                Err(failure) => {
                    let message = resolver.describe(&failure);
                    tracing::debug!(origin = %raw.label, %message, "template skipped");
                    issues.push(LoadIssue {
                        origin: raw.label.clone(),
                        message,
                    });
                }
            }
        }
        let by_id = index_by_id(&entries);
        Catalogue {
            entries,
            by_id,
            issues,
        }
    }
}

/// The origin label of a built-in file (`python-ml.yaml` → `built-in python-ml`).
fn builtin_origin(file: &str) -> String {
    let stem = file
        .strip_suffix(".yaml")
        .or_else(|| file.strip_suffix(".yml"))
        .unwrap_or(file);
    format!("built-in {stem}")
}

/// Drops the leading origin from a parse error message (the issue carries it):
/// `f.yaml: field 'x': ...` → `field 'x': ...`, `f.yaml:3:7: msg` → `line 3, column 7: msg`.
fn without_origin(message: &str, origin: &str) -> String {
    let Some(rest) = message.strip_prefix(origin) else {
        return message.to_string();
    };
    if let Some(text) = rest.strip_prefix(": ") {
        return text.to_string();
    }
    let mut parts = rest.splitn(4, ':');
    let (_, line, col, text) = (parts.next(), parts.next(), parts.next(), parts.next());
    match (line, col, text) {
        (Some(l), Some(c), Some(t)) if l.parse::<u64>().is_ok() && c.parse::<u64>().is_ok() => {
            format!("line {l}, column {c}:{t}")
        }
        (Some(l), Some(t), None) if l.parse::<u64>().is_ok() => format!("line {l}:{t}"),
        _ => message.to_string(),
    }
}

/// A parsed source before inheritance is resolved.
struct RawEntry {
    template: Template,
    origin: Origin,
    label: String,
    warnings: Vec<String>,
}

/// Parses every source and removes duplicate (id, version) pairs: a user file
/// overrides a built-in (with a warning); any other duplicate is an issue.
fn parse_all(sources: Vec<(String, String, Origin)>, issues: &mut Vec<LoadIssue>) -> Vec<RawEntry> {
    let mut out: Vec<RawEntry> = Vec::new();
    let mut seen: HashMap<(String, Option<String>), usize> = HashMap::new();
    let builtin_ids: std::collections::HashSet<String> = sources
        .iter()
        .filter(|(_, _, o)| *o == Origin::Builtin)
        .filter_map(|(l, t, _)| parse_template(t, l).ok())
        .map(|p| p.template.id().to_string())
        .collect();
    for (label, text, origin) in sources {
        let parsed = match parse_template(&text, &label) {
            Ok(p) => p,
            Err(e) => {
                issues.push(LoadIssue {
                    message: without_origin(&e.to_string(), &label),
                    origin: label,
                });
                continue;
            }
        };
        let origin = normalize_origin(origin, &parsed.template);
        if origin != Origin::Builtin && builtin_ids.contains(parsed.template.id()) {
            issues.push(LoadIssue {
                message: format!(
                    "'{}' is the name of a built-in template, which cannot be replaced; rename this one",
                    parsed.template.id()
                ),
                origin: label,
            });
            continue;
        }
        let new = RawEntry {
            template: parsed.template,
            origin,
            label,
            warnings: parsed.warnings,
        };
        let key = (new.template.id().to_string(), new.template.version.clone());
        let Some(&at) = seen.get(&key) else {
            seen.insert(key, out.len());
            out.push(new);
            continue;
        };
        let existing = &mut out[at];
        let what = describe_key(&key);
        match (&existing.origin, &new.origin) {
            (Origin::Builtin, o) if *o != Origin::Builtin => {
                let mut new = new;
                new.warnings
                    .push(format!("overrides built-in template {what}"));
                *existing = new;
            }
            (e, Origin::Builtin) if *e != Origin::Builtin => {
                existing
                    .warnings
                    .push(format!("overrides built-in template {what}"));
            }
            _ => issues.push(LoadIssue {
                origin: new.label,
                message: format!(
                    "duplicate: template {what} is already defined by {}; skipped",
                    existing.label
                ),
            }),
        }
    }
    out
}

fn describe_key((id, version): &(String, Option<String>)) -> String {
    match version {
        Some(v) => format!("'{id}' version '{}'", printable(v)),
        None => format!("'{id}' (no version)"),
    }
}

/// A saved template is `Saved` whatever its directory; a non-built-in otherwise `User`.
fn normalize_origin(origin: Origin, t: &Template) -> Origin {
    match origin {
        Origin::Builtin => Origin::Builtin,
        Origin::User(p) | Origin::Saved(p) if t.is_saved() => Origin::Saved(p),
        Origin::User(p) | Origin::Saved(p) => Origin::User(p),
    }
}

fn index_by_id<'a>(templates: impl IntoIterator<Item = &'a Entry>) -> BTreeMap<String, Vec<usize>> {
    let all: Vec<&Template> = templates.into_iter().map(|e| &e.template).collect();
    sorted_index(&all)
}

/// id → indices of `templates`, ascending by version.
fn sorted_index(templates: &[&Template]) -> BTreeMap<String, Vec<usize>> {
    let mut by_id: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, t) in templates.iter().enumerate() {
        by_id.entry(t.id().to_string()).or_default().push(i);
    }
    for indices in by_id.values_mut() {
        indices.sort_by(|a, b| {
            compare_versions(
                templates[*a].version.as_deref(),
                templates[*b].version.as_deref(),
            )
        });
    }
    by_id
}

/// Parent look-up over raw entries (before inheritance is merged).
struct RawIndex<'a> {
    raws: &'a [RawEntry],
    by_id: BTreeMap<String, Vec<usize>>,
}

impl<'a> RawIndex<'a> {
    fn new(raws: &'a [RawEntry]) -> Self {
        let all: Vec<&Template> = raws.iter().map(|r| &r.template).collect();
        RawIndex {
            raws,
            by_id: sorted_index(&all),
        }
    }

    fn latest_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).and_then(|v| v.last()).copied()
    }
}

impl Lookup for RawIndex<'_> {
    fn find(&self, reference: &str) -> Option<usize> {
        if let Some(i) = self.latest_of(reference) {
            return Some(i);
        }
        if let Ok((name, Some(version))) = parse_template_ref(reference) {
            return self.by_id.get(&name).and_then(|v| {
                v.iter()
                    .copied()
                    .find(|i| self.raws[*i].template.version.as_deref() == Some(version.as_str()))
            });
        }
        let mut ids = self
            .raws
            .iter()
            .filter(|r| r.template.name == reference)
            .map(|r| r.template.id());
        let first = ids.next()?;
        if ids.all(|id| id == first) {
            self.latest_of(first)
        } else {
            None
        }
    }

    fn raw(&self, idx: usize) -> &Template {
        &self.raws[idx].template
    }

    fn label(&self, idx: usize) -> String {
        let t = &self.raws[idx].template;
        match (&t.version, self.latest_of(t.id()) == Some(idx)) {
            (Some(v), false) => format!("{}@{v}", t.id()),
            _ => t.id().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_is_not_repeated_in_issue_messages() {
        assert_eq!(
            without_origin("f.yaml: field 'x': bad", "f.yaml"),
            "field 'x': bad"
        );
        assert_eq!(
            without_origin("f.yaml:3:7: unclosed quote", "f.yaml"),
            "line 3, column 7: unclosed quote"
        );
        assert_eq!(without_origin("other", "f.yaml"), "other");
        let cat = Catalogue::from_sources(vec![(
            "b.yaml".into(),
            "name: 'x\n".into(),
            Origin::User("b.yaml".into()),
        )]);
        let issue = &cat.issues()[0];
        assert!(issue.message.starts_with("line 1, column"), "{issue}");
        assert!(issue.to_string().starts_with("b.yaml: line 1"), "{issue}");
    }

    #[test]
    fn catalogue_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Catalogue>();
    }

    fn version(v: u32, deprecation: &str) -> (String, String, Origin) {
        (
            format!("tpl@{v}.yaml"),
            format!("name: tpl\nversion: {v}\nbase: ubuntu-22.04\n{deprecation}"),
            Origin::Builtin,
        )
    }

    #[test]
    fn latest_never_resolves_to_a_deprecated_version() {
        let now = "deprecation:\n  at: \"2001-01-01T00:00:00Z\"\n  replacement: tpl@1\n";
        let later = "deprecation:\n  at: \"2999-01-01T00:00:00Z\"\n";
        let cat = Catalogue::from_sources(vec![version(1, ""), version(2, now), version(3, later)]);
        assert!(cat.issues().is_empty(), "{:?}", cat.issues());
        // 3 is only scheduled for deprecation: still current.
        assert_eq!(
            cat.get("tpl").unwrap().template.version.as_deref(),
            Some("3")
        );
        let cat = Catalogue::from_sources(vec![version(1, ""), version(2, now)]);
        assert_eq!(
            cat.get("tpl").unwrap().template.version.as_deref(),
            Some("1")
        );
        assert_eq!(
            cat.get("tpl@2").unwrap().template.version.as_deref(),
            Some("2")
        );
        assert_eq!(
            cat.latest_current()[0].template.version.as_deref(),
            Some("1")
        );
        assert_eq!(cat.latest()[0].template.version.as_deref(), Some("2"));
        let cat = Catalogue::from_sources(vec![version(2, now)]);
        let e = cat.get("tpl").unwrap_err().to_string();
        assert!(
            e.contains(
                "every version of template 'tpl' is deprecated (latest: tpl@2, replaced by tpl@1)"
            ),
            "{e}"
        );
        assert!(cat.latest_current().is_empty());
    }
}
