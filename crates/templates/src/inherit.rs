//! Template inheritance: the merge rule and catalogue-wide resolution with cycle detection.
//!
//! Merge rule: parents in order, then the child. Scalars: the last layer that sets one
//! wins. Maps: merged, later keys win. Lists: concatenated, de-duplicated in order.
//! `inherits`, `name`, `slug`, `description`, `version` and lineage come from the child only.

use std::collections::{BTreeMap, HashMap};

use crate::model::Template;
use crate::text::printable;

/// Merges `parents` (already resolved, in order) and then `child`.
///
/// The result's `inherits` is empty (it is fully merged); ports end up in
/// `instance_defaults.ports` (legacy top-level `ports` of each layer are folded in).
pub(crate) fn merge(parents: &[&Template], child: &Template) -> Template {
    let mut acc = Template::default();
    for p in parents {
        overlay(&mut acc, p);
    }
    overlay(&mut acc, child);
    acc.name = child.name.clone();
    acc.slug = child.slug.clone();
    acc.description = child.description.clone();
    acc.version = child.version.clone();
    acc.inherits = Vec::new();
    acc.source = child.source.clone();
    acc.saved_from = child.saved_from.clone();
    acc.saved_from_instance = child.saved_from_instance.clone();
    acc.original_template = child.original_template.clone();
    acc.original_template_version = child.original_template_version.clone();
    acc.saved_by = child.saved_by.clone();
    acc.saved_date = child.saved_date.clone();
    acc.capture_mode = child.capture_mode.clone();
    acc.downtime_seconds = child.downtime_seconds;
    acc.project = child.project.clone();
    acc.deprecation = child.deprecation.clone();
    acc.gpu_ready = child.gpu_ready;
    acc
}

fn set<T: Clone>(acc: &mut Option<T>, layer: &Option<T>) {
    if layer.is_some() {
        acc.clone_from(layer);
    }
}

fn extend_unique<T: Clone + PartialEq>(acc: &mut Vec<T>, layer: &[T]) {
    for item in layer {
        if !acc.contains(item) {
            acc.push(item.clone());
        }
    }
}

fn extend_map<V: Clone>(acc: &mut BTreeMap<String, V>, layer: &BTreeMap<String, V>) {
    acc.extend(layer.iter().map(|(k, v)| (k.clone(), v.clone())));
}

/// Applies one layer on top of `acc` (identity/lineage fields are fixed up by `merge`).
fn overlay(acc: &mut Template, layer: &Template) {
    set(&mut acc.base, &layer.base);
    set(&mut acc.package_manager, &layer.package_manager);
    extend_unique(&mut acc.packages.system, &layer.packages.system);
    extend_unique(&mut acc.packages.conda, &layer.packages.conda);
    extend_unique(&mut acc.packages.pip, &layer.packages.pip);
    extend_unique(&mut acc.packages.spack, &layer.packages.spack);
    extend_unique(&mut acc.users, &layer.users);
    extend_unique(&mut acc.services, &layer.services);

    let (ac, lc) = (&mut acc.ami_config, &layer.ami_config);
    for (region, arches) in &lc.amis {
        extend_map(ac.amis.entry(region.clone()).or_default(), arches);
    }
    extend_map(&mut ac.ami_mappings, &lc.ami_mappings);
    set(&mut ac.ami_search, &lc.ami_search);
    extend_map(&mut ac.instance_types, &lc.instance_types);
    set(&mut ac.ssh_user, &lc.ssh_user);
    set(&mut ac.user_data_script, &lc.user_data_script);
    set(&mut ac.gpu_image, &lc.gpu_image);

    let (ad, ld) = (&mut acc.instance_defaults, &layer.instance_defaults);
    set(&mut ad.r#type, &ld.r#type);
    let layer_ports = if ld.ports.is_empty() {
        &layer.ports
    } else {
        &ld.ports
    };
    extend_unique(&mut ad.ports, layer_ports);
    set(&mut ad.root_volume_gb, &ld.root_volume_gb);
    extend_map(&mut ad.estimated_cost_per_hour, &ld.estimated_cost_per_hour);

    set(&mut acc.minimum_size, &layer.minimum_size);
    extend_map(&mut acc.tags, &layer.tags);
    set(&mut acc.category, &layer.category);
    set(&mut acc.icon, &layer.icon);
    set(&mut acc.complexity, &layer.complexity);
    set(&mut acc.parameters, &layer.parameters);
    set(&mut acc.idle_detection, &layer.idle_detection);
}

/// Why a template's inheritance could not be resolved.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// Entry indices forming a cycle, first == last.
    Cycle(Vec<usize>),
    /// A parent reference that matches no template.
    Missing(String),
    /// A parent exists but could not itself be resolved.
    ParentFailed(String, String),
}

/// Looks up a parent reference, returning an entry index.
pub(crate) trait Lookup {
    /// Index of the entry a reference designates (latest version unless pinned).
    fn find(&self, reference: &str) -> Option<usize>;
    /// The raw template at `idx`.
    fn raw(&self, idx: usize) -> &Template;
    /// A short label for messages (`id`, or `id@version` when not the latest).
    fn label(&self, idx: usize) -> String;
}

/// Resolves every entry's inheritance once, memoizing results.
pub(crate) struct Resolver<'a, L: Lookup> {
    lookup: &'a L,
    memo: HashMap<usize, Result<Template, Failure>>,
    stack: Vec<usize>,
}

impl<'a, L: Lookup> Resolver<'a, L> {
    /// A resolver over `lookup`.
    pub(crate) fn new(lookup: &'a L) -> Self {
        Resolver {
            lookup,
            memo: HashMap::new(),
            stack: Vec::new(),
        }
    }

    /// The merged template of entry `idx`, or why it cannot be built.
    pub(crate) fn resolve(&mut self, idx: usize) -> Result<Template, Failure> {
        if let Some(done) = self.memo.get(&idx) {
            return done.clone();
        }
        if let Some(pos) = self.stack.iter().position(|i| *i == idx) {
            let mut path = self.stack[pos..].to_vec();
            path.push(idx);
            return Err(Failure::Cycle(path));
        }
        self.stack.push(idx);
        let result = self.resolve_parents(idx);
        self.stack.pop();
        self.memo.insert(idx, result.clone());
        result
    }

    fn resolve_parents(&mut self, idx: usize) -> Result<Template, Failure> {
        let child = self.lookup.raw(idx);
        let mut parents = Vec::with_capacity(child.inherits.len());
        for reference in &child.inherits {
            let Some(pidx) = self.lookup.find(reference) else {
                return Err(Failure::Missing(reference.clone()));
            };
            match self.resolve(pidx) {
                Ok(t) => parents.push(t),
                Err(Failure::Cycle(path)) if path.contains(&idx) => {
                    return Err(Failure::Cycle(rotate(&path, idx)))
                }
                Err(other) => {
                    return Err(Failure::ParentFailed(
                        reference.clone(),
                        self.describe(&other),
                    ))
                }
            }
        }
        let refs: Vec<&Template> = parents.iter().collect();
        Ok(merge(&refs, child))
    }

    /// A human-readable message for a failure.
    pub(crate) fn describe(&self, failure: &Failure) -> String {
        match failure {
            Failure::Cycle(path) => {
                let labels: Vec<String> = path.iter().map(|i| self.lookup.label(*i)).collect();
                format!("inheritance cycle: {}", labels.join(" -> "))
            }
            Failure::Missing(parent) => {
                format!(
                    "inherits '{}', which is not in the catalogue",
                    printable(parent)
                )
            }
            Failure::ParentFailed(parent, why) => {
                format!("cannot inherit from '{}': {why}", printable(parent))
            }
        }
    }
}

/// Rotates a cycle path (first == last) so that it starts and ends at `start`.
fn rotate(path: &[usize], start: usize) -> Vec<usize> {
    let cycle = &path[..path.len().saturating_sub(1)];
    let pos = cycle.iter().position(|i| *i == start).unwrap_or(0);
    let mut out: Vec<usize> = cycle[pos..].iter().chain(&cycle[..pos]).copied().collect();
    out.push(start);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AmiConfig, InstanceDefaults, Packages};

    #[test]
    fn merge_rules() {
        let parent = Template {
            name: "parent".into(),
            description: Some("parent desc".into()),
            version: Some("3".into()),
            base: Some("ubuntu-22.04".into()),
            package_manager: Some("apt".into()),
            packages: Packages {
                system: vec!["git".into(), "curl".into()],
                ..Default::default()
            },
            tags: BTreeMap::from([
                ("os".into(), "ubuntu".into()),
                ("k".into(), "parent".into()),
            ]),
            ports: vec![22],
            ami_config: AmiConfig {
                ssh_user: Some("ubuntu".into()),
                ..Default::default()
            },
            instance_defaults: InstanceDefaults {
                r#type: Some("t3.medium".into()),
                root_volume_gb: Some(30),
                estimated_cost_per_hour: BTreeMap::from([("x86_64".into(), 0.04)]),
                ..Default::default()
            },
            source: Some("saved-from-instance".into()),
            ..Default::default()
        };
        let child = Template {
            name: "child".into(),
            inherits: vec!["parent".into()],
            package_manager: Some("conda".into()),
            packages: Packages {
                system: vec!["curl".into(), "vim".into()],
                ..Default::default()
            },
            tags: BTreeMap::from([("k".into(), "child".into())]),
            instance_defaults: InstanceDefaults {
                ports: vec![8888, 22],
                estimated_cost_per_hour: BTreeMap::from([("arm64".into(), 0.03)]),
                ..Default::default()
            },
            ..Default::default()
        };
        let m = merge(&[&parent], &child);
        assert_eq!(m.name, "child");
        assert_eq!(m.description, None);
        assert_eq!(m.version, None);
        assert_eq!(m.source, None);
        assert!(m.inherits.is_empty());
        assert_eq!(m.base.as_deref(), Some("ubuntu-22.04"));
        assert_eq!(m.package_manager.as_deref(), Some("conda"));
        assert_eq!(m.packages.system, vec!["git", "curl", "vim"]);
        assert_eq!(m.tags["os"], "ubuntu");
        assert_eq!(m.tags["k"], "child");
        assert_eq!(m.instance_defaults.ports, vec![22, 8888]);
        assert!(m.ports.is_empty());
        assert_eq!(m.instance_defaults.r#type.as_deref(), Some("t3.medium"));
        assert_eq!(m.instance_defaults.estimated_cost_per_hour.len(), 2);
        assert_eq!(m.ami_config.ssh_user.as_deref(), Some("ubuntu"));
    }
}
