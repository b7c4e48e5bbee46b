//! The daemon's shared state, handed to every handler.

use prism_ops::runner::Runner;
use prism_ops::Env;
use std::sync::Arc;
use tokio::sync::Notify;

/// A loaded catalogue with the template-directory fingerprint it was loaded at.
pub type CachedCatalogue = (u64, Arc<prism_templates::Catalogue>);

/// Shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    /// Operation runner (and through it, the environment).
    pub runner: Arc<Runner>,
    /// Start time, RFC 3339.
    pub started_at: String,
    /// Fingerprint of the AWS environment at start.
    pub aws_env_fingerprint: String,
    /// Region used when a request names none.
    pub default_region: Option<String>,
    /// Signalled to shut down.
    pub shutdown: Arc<Notify>,
    /// The loaded catalogue and the fingerprint of the template directory it was loaded from.
    pub catalogue: Arc<tokio::sync::Mutex<Option<CachedCatalogue>>>,
}

impl AppState {
    /// The operations environment.
    pub fn env(&self) -> &Env {
        self.runner.env()
    }
}
