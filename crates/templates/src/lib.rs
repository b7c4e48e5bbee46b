//! prism-templates: the Prism template format (parse, validate, serialize), the
//! built-in templates and the versioned, inheritance-resolving template catalogue.

pub mod base;
pub mod builtin;
pub mod catalogue;
pub mod errors;
pub mod fingerprint;
mod inherit;
mod load_issue;
pub mod model;
pub mod names;
pub mod params;
pub mod parse;
pub mod provision;
pub mod scan;
mod serde_util;
mod shape;
mod suggest;
pub use suggest::suggestions;
mod text;
pub mod validate;
pub mod version;
pub mod write;
mod yaml;

pub use base::{base_image, known_bases, normalize_arch, BaseImage};
pub use builtin::builtin_sources;
pub use catalogue::{Catalogue, Entry, LoadIssue, Origin};
pub use errors::{CatalogueError, NameError, TemplateError};
pub use fingerprint::dir_fingerprint;
pub use model::Deprecation;
pub use model::{
    AmiConfig, AmiSearch, GpuImage, InstanceDefaults, Packages, Template, SAVED_FROM_INSTANCE,
};
pub use names::{parse_template_ref, validate_template_name};
pub use parse::{looks_like_instance_type, parse_template, Parsed, MAX_TEMPLATE_BYTES};
pub use text::{is_hazardous, printable};
pub use validate::{validate_file, Report};
pub use version::{compare_versions, next_version};
pub use write::{saved_file_name, sync_directory, write_atomically, write_atomically_unsynced};
