//! CLI errors and their exit codes (documented in the README).

use prism_api::{ApiError, ApiErrorKind};

/// Exit codes (0 is success; 2 is a usage error, which clap reports itself).
pub mod code {
    /// The request was refused: invalid input, not found, conflict (busy), declined prompt.
    pub const REFUSED: u8 = 1;
    /// AWS refused or failed.
    pub const AWS: u8 = 3;
    /// The daemon could not be reached, failed internally, refused the token, or sent an
    /// error kind this CLI does not know.
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
            CliError::Api(e) => api_exit_code(e.kind),
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

/// The exit code for a daemon error of `kind`.
///
/// [`ApiErrorKind::Unknown`] (a kind added by a newer daemon) exits 4, like `internal`: the
/// daemon and CLI disagree on the API, which `prism daemon stop` (or upgrading prism) fixes, and
/// a script must not take an answer it cannot classify for an ordinary refusal.
pub fn api_exit_code(kind: ApiErrorKind) -> u8 {
    match kind {
        ApiErrorKind::InvalidInput | ApiErrorKind::NotFound | ApiErrorKind::Conflict => {
            code::REFUSED
        }
        ApiErrorKind::Aws => code::AWS,
        ApiErrorKind::Internal | ApiErrorKind::Unauthorized | ApiErrorKind::Unknown => code::DAEMON,
    }
}

/// Result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn api(kind: ApiErrorKind) -> CliError {
        CliError::Api(ApiError {
            kind,
            message: "m".into(),
            hint: None,
            operation_id: None,
        })
    }

    #[test]
    fn each_api_error_kind_has_its_documented_exit_code() {
        for kind in ApiErrorKind::ALL {
            let expected = match kind {
                ApiErrorKind::InvalidInput | ApiErrorKind::NotFound | ApiErrorKind::Conflict => 1,
                ApiErrorKind::Aws => 3,
                ApiErrorKind::Unauthorized | ApiErrorKind::Internal | ApiErrorKind::Unknown => 4,
            };
            assert_eq!(api(kind).exit_code(), expected, "{kind}");
        }
    }

    #[test]
    fn an_error_kind_from_a_newer_daemon_exits_4() {
        let e: ApiError =
            serde_json::from_str(r#"{"kind":"quota-exceeded","message":"too many"}"#).unwrap();
        let e = CliError::Api(e);
        assert_eq!(e.exit_code(), code::DAEMON);
        assert_eq!(e.to_string(), "too many");
    }

    #[test]
    fn local_errors_keep_their_exit_codes() {
        assert_eq!(CliError::refused("no", None).exit_code(), 1);
        let d = CliError::Daemon {
            message: "down".into(),
            hint: None,
        };
        assert_eq!(d.exit_code(), 4);
        let f = CliError::OperationFailed {
            id: "op".into(),
            status: "failed".into(),
            error: "x".into(),
        };
        assert_eq!(f.exit_code(), 5);
        assert_eq!(CliError::Detached("op".into()).exit_code(), 130);
    }
}
