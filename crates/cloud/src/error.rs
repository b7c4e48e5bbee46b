//! The one error type of cloud calls: what was being done, where, and what AWS answered.

use std::fmt;

/// Broad class of a cloud failure, which decides retrying and exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CloudErrorKind {
    /// The resource does not exist (possibly not *yet*, on an eventually consistent API).
    NotFound,
    /// The request was refused as invalid (bad parameter, bad state).
    InvalidRequest,
    /// Credentials missing, expired or not allowed.
    Auth,
    /// Throttling, 5xx, timeouts, dropped connections: worth retrying later.
    Transient,
    /// Anything else.
    Other,
}

/// Code Prism gives a call that could not be signed because no credentials were found (the
/// SDK has no AWS error code for it).
pub const NO_CREDENTIALS: &str = "NoCredentials";
/// Code Prism gives a call whose SSO session (token) is missing or expired.
pub const SSO_SESSION_EXPIRED: &str = "SsoSessionExpired";

/// What to do about an [`CloudErrorKind::Auth`] failure, for the hint under the error.
pub fn auth_hint(e: &CloudError, profile: Option<&str>) -> String {
    let p = profile.unwrap_or("PROFILE");
    match e.code.as_deref() {
        Some(NO_CREDENTIALS) => format!(
            "configure credentials: `aws configure`, or `aws sso login --profile {p}` for an SSO profile, then pass --profile or set AWS_PROFILE"
        ),
        Some(SSO_SESSION_EXPIRED) => format!("sign in again: aws sso login --profile {p}"),
        Some(c) if c.contains("Expired") => {
            "your AWS session has expired: renew it (aws sso login, or new temporary credentials)"
                .to_string()
        }
        Some(c) if c.contains("AccessDenied") || c.contains("Unauthorized") => format!(
            "your AWS identity may not call ec2:{}; ask your account administrator to allow it",
            e.action
        ),
        _ => "check your AWS credentials (--profile, AWS_PROFILE) and permissions".to_string(),
    }
}

/// A failed cloud call, with the action, region, resource and AWS code and message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
pub struct CloudError {
    /// Class of failure.
    pub kind: CloudErrorKind,
    /// What Prism was doing, e.g. `StopInstances`.
    pub action: String,
    /// The region called.
    pub region: String,
    /// The resource concerned, when there is one.
    pub resource: Option<String>,
    /// The AWS error code, e.g. `InvalidInstanceID.NotFound`.
    pub code: Option<String>,
    /// The AWS (or transport) message.
    pub message: String,
}

impl CloudError {
    /// A new error of `kind` for `action` in `region`.
    pub fn new(
        kind: CloudErrorKind,
        action: impl Into<String>,
        region: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        CloudError {
            kind,
            action: action.into(),
            region: region.into(),
            resource: None,
            code: None,
            message: message.into(),
        }
    }

    /// Sets the AWS error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the resource concerned.
    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// Whether a later retry may succeed.
    pub fn is_transient(&self) -> bool {
        self.kind == CloudErrorKind::Transient
    }

    /// Whether the resource was not found.
    pub fn is_not_found(&self) -> bool {
        self.kind == CloudErrorKind::NotFound
    }

    /// Classifies an AWS error code into a kind.
    pub fn kind_for_code(code: &str) -> CloudErrorKind {
        if code.ends_with(".NotFound") || code.ends_with("NotFoundException") {
            return CloudErrorKind::NotFound;
        }
        match code {
            "RequestLimitExceeded"
            | "Throttling"
            | "ThrottlingException"
            | "InternalError"
            | "InternalFailure"
            | "ServiceUnavailable"
            | "Unavailable"
            | "RequestTimeout"
            | "RequestTimeoutException" => CloudErrorKind::Transient,
            "AuthFailure"
            | "UnauthorizedOperation"
            | "InvalidClientTokenId"
            | "ExpiredToken"
            | "SignatureDoesNotMatch"
            | "OptInRequired" => CloudErrorKind::Auth,
            _ if code.starts_with("Invalid") || code.starts_with("Incorrect") => {
                CloudErrorKind::InvalidRequest
            }
            _ => CloudErrorKind::Other,
        }
    }
}

impl fmt::Display for CloudError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {}", self.action, self.region)?;
        if let Some(r) = &self.resource {
            write!(f, " for {r}")?;
        }
        write!(f, " failed: ")?;
        match &self.code {
            Some(c) => write!(f, "{c}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_action_region_resource_code() {
        let e = CloudError::new(
            CloudErrorKind::NotFound,
            "StopInstances",
            "us-east-1",
            "gone",
        )
        .with_code("InvalidInstanceID.NotFound")
        .with_resource("i-123");
        assert_eq!(
            e.to_string(),
            "StopInstances in us-east-1 for i-123 failed: InvalidInstanceID.NotFound: gone"
        );
    }

    #[test]
    fn codes_are_classified() {
        assert_eq!(
            CloudError::kind_for_code("InvalidAMIID.NotFound"),
            CloudErrorKind::NotFound
        );
        assert_eq!(
            CloudError::kind_for_code("RequestLimitExceeded"),
            CloudErrorKind::Transient
        );
        assert_eq!(
            CloudError::kind_for_code("InvalidParameterValue"),
            CloudErrorKind::InvalidRequest
        );
        assert_eq!(
            CloudError::kind_for_code("AuthFailure"),
            CloudErrorKind::Auth
        );
        assert_eq!(CloudError::kind_for_code("Whatever"), CloudErrorKind::Other);
    }
}
