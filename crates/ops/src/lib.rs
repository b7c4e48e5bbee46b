//! Prism's operations as durable sagas: launch, stop, start, delete, save and region copy.
//!
//! Each operation module has a `prepare` function that checks a request against the cloud
//! and the catalogue and refuses it before anything changes, and a `saga` with idempotent,
//! journaled steps that the [`runner`] executes (and resumes after a crash). Each saga lists
//! its steps in one table at the top of its module (`step(name, label, action)` rows, see
//! [`saga::step`]); each step's output is a typed [`StepOutput`] that later steps read by
//! type. [`registry`] maps operation kinds to sagas; `docs/ARCHITECTURE.md` has the tour.

// Errors carry the AWS action, region, resource, code and message by value: clarity over a
// few bytes of stack on error paths that end an AWS call anyway.
#![allow(clippy::result_large_err)]

pub mod access;
pub mod backoff;
pub mod clock;
pub mod context;
pub mod copy;
pub mod copy_image;
pub mod copy_within;
pub mod deprecate;
pub mod discover;
pub mod error;
pub mod image_label;
pub mod images;
pub mod kms;
pub mod launch;
pub mod lifecycle;
pub mod locks;
pub mod max_wait;
pub mod naming;
pub mod output;
pub mod poll;
pub mod prices;
pub mod projects;
pub mod protect;
pub mod prune;
pub mod regions;
pub mod registry;
pub mod restore;
pub mod runner;
pub mod saga;
pub mod save;
pub mod saved;
pub mod share;
pub mod sizes;
pub mod template_delete;
pub mod template_restore;
pub mod usage;
pub mod versions;

pub use context::{Env, Hooks, OpsConfig, StepCx};
pub use error::{OpsError, StepError};
pub use output::StepOutput;
