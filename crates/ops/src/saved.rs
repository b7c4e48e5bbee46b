//! Finding the saved version a copy or share acts on: a catalogue entry that exists and is a
//! saved template (only those have images).

use crate::error::OpsError;
use prism_templates::{Catalogue, Template};

/// The saved version `reference` (`T` or `T@N`) names, and its version number; refuses an
/// unknown name or a built-in/user template, saying it has no images to `act` on.
pub fn saved_version<'a>(
    catalogue: &'a Catalogue,
    reference: &str,
    act: &str,
) -> Result<(&'a Template, String), OpsError> {
    let entry = catalogue.get(reference).map_err(|e| {
        OpsError::not_found(
            e.to_string(),
            Some("list templates with: prism templates".to_string()),
        )
    })?;
    let t = &entry.raw;
    if !t.is_saved() {
        return Err(OpsError::invalid(
            format!(
                "template '{}' is not a saved template; only saved templates have images to {act}",
                t.id()
            ),
            Some("save a workstation as a template first: prism save WORKSTATION TEMPLATE".into()),
        ));
    }
    Ok((t, t.version.clone().unwrap_or_else(|| "1".into())))
}
