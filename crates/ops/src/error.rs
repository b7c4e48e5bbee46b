//! Errors of operations: a step's failure, and a refused request (checked before anything changes).

use prism_cloud::CloudError;
use prism_store::StoreError;
use std::time::Duration;

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// An AWS call failed (after retries).
    #[error("{0}")]
    Cloud(#[from] CloudError),
    /// The local store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A wait ran past its deadline.
    #[error("timed out after {}s waiting for {what}", after.as_secs())]
    Timeout {
        /// What was awaited.
        what: String,
        /// The deadline.
        after: Duration,
    },
    /// A resource reached a state it cannot leave (e.g. image `failed`).
    #[error("{0}")]
    Terminal(String),
    /// The operation was cancelled.
    #[error("cancelled by request")]
    Cancelled,
    /// A bug or an impossible state.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why a request was refused before any operation started (nothing changed).
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The input is wrong; `hint` says what to do instead.
    #[error("{message}")]
    Invalid {
        /// What is wrong.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
    /// The named thing does not exist.
    #[error("{message}")]
    NotFound {
        /// What is missing.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
    /// Another operation holds the target.
    #[error("{message}")]
    Conflict {
        /// What is busy.
        message: String,
        /// The running operation.
        operation_id: String,
    },
    /// The named thing exists already (e.g. a project of that name).
    #[error("{message}")]
    Exists {
        /// What exists.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
    /// AWS refused or failed.
    #[error("{0}")]
    Cloud(#[from] CloudError),
    /// The local store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl OpsError {
    /// An invalid-input refusal.
    pub fn invalid(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        OpsError::Invalid {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// A not-found refusal.
    pub fn not_found(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        OpsError::NotFound {
            message: message.into(),
            hint: hint.into(),
        }
    }
}
