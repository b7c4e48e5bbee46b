//! CLI errors and their exit codes (documented in the README).

use prism_api::ApiError;

/// Exit codes (0 is success; 2 is a usage error, which clap reports itself).
pub mod code {
    /// The request was refused: invalid input, not found, conflict, declined prompt.
    pub const REFUSED: u8 = 1;
    /// AWS refused or failed.
    pub const AWS: u8 = 3;
    /// The daemon could not be reached or failed internally.
    pub const DAEMON: u8 = 4;
    /// The operation ran and failed (it was compensated).
    pub const OPERATION_FAILED: u8 = 5;
    /// Detached from an operation with Ctrl-C (it goes on in the daemon).
    pub const DETACHED: u8 = 130;
}

/// What went wrong, for the user.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The daemon answered with an error.
    #[error("{}", .0.message)]
    Api(ApiError),
    /// The daemon could not be reached or started.
    #[error("{message}")]
    Daemon {
        /// What happened.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
    /// Refused locally (bad input, declined prompt).
    #[error("{message}")]
    Refused {
        /// What happened.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
    /// An operation failed.
    #[error("operation {id} {status}: {error}")]
    OperationFailed {
        /// Operation id.
        id: String,
        /// Final status.
        status: String,
        /// Its error.
        error: String,
    },
    /// Ctrl-C while following.
    #[error("detached from operation {0}; it goes on in the daemon")]
    Detached(String),
}

impl CliError {
    /// A local refusal.
    pub fn refused(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        CliError::Refused {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Api(e) => match e.kind.as_str() {
                "aws" => code::AWS,
                "internal" | "unauthorized" => code::DAEMON,
                _ => code::REFUSED,
            },
            CliError::Daemon { .. } => code::DAEMON,
            CliError::Refused { .. } => code::REFUSED,
            CliError::OperationFailed { .. } => code::OPERATION_FAILED,
            CliError::Detached(_) => code::DETACHED,
        }
    }

    /// The hint line, if any.
    pub fn hint(&self) -> Option<String> {
        match self {
            CliError::Api(e) => e.hint.clone(),
            CliError::Daemon { hint, .. } | CliError::Refused { hint, .. } => hint.clone(),
            CliError::OperationFailed { id, .. } => {
                Some(format!("see every step with: prism operation show {id}"))
            }
            CliError::Detached(id) => {
                Some(format!("follow it again with: prism operation follow {id}"))
            }
        }
    }
}

/// Result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;
