//! The registry of operation kinds: which saga runs (or resumes) an operation of each kind.
//! Every kind ever persisted must stay here, or its journaled operations cannot resume.

use crate::saga::Saga;
use crate::{copy, launch, lifecycle, save, share, template_delete};

/// The saga for an operation kind.
pub fn saga_for(kind: &str) -> Option<Saga> {
    Some(match kind {
        launch::KIND => launch::saga(),
        save::KIND => save::saga(),
        copy::KIND => copy::saga(),
        share::KIND_SHARE => share::saga(false),
        share::KIND_UNSHARE => share::saga(true),
        template_delete::KIND => template_delete::saga(),
        lifecycle::KIND_STOP => lifecycle::saga(lifecycle::Action::Stop),
        lifecycle::KIND_START => lifecycle::saga(lifecycle::Action::Start),
        lifecycle::KIND_DELETE => lifecycle::saga(lifecycle::Action::Delete),
        _ => return None,
    })
}

/// Every registered kind (for the generic tests and the docs).
pub const KINDS: &[&str] = &[
    launch::KIND,
    save::KIND,
    copy::KIND,
    share::KIND_SHARE,
    share::KIND_UNSHARE,
    template_delete::KIND,
    lifecycle::KIND_STOP,
    lifecycle::KIND_START,
    lifecycle::KIND_DELETE,
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_kind_has_its_saga_with_unique_step_names() {
        for kind in KINDS {
            let saga = saga_for(kind).unwrap_or_else(|| panic!("no saga for {kind}"));
            assert_eq!(saga.kind, *kind);
            let names: BTreeSet<&str> = saga.steps.iter().map(|s| s.name()).collect();
            assert_eq!(
                names.len(),
                saga.steps.len(),
                "duplicate step names in {kind}"
            );
        }
        assert!(saga_for("no-such.v1").is_none());
    }
}
