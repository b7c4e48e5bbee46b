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

/// EC2 error codes Prism reacts to, each where EC2's documentation names it
/// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html>).
pub mod codes {
    /// A new instance id is not visible yet (eventual consistency, "Eventual consistency in
    /// the Amazon EC2 API") or the instance is gone.
    pub const INSTANCE_NOT_FOUND: &str = "InvalidInstanceID.NotFound";
    /// A new image id is not visible yet (eventual consistency) or the image is gone.
    pub const AMI_NOT_FOUND: &str = "InvalidAMIID.NotFound";
    /// The image name is taken in this account and region (CreateImage, CopyImage).
    pub const AMI_NAME_DUPLICATE: &str = "InvalidAMIName.Duplicate";
    /// The instance is not in a state the call accepts (e.g. CreateImage right after a stop).
    pub const INCORRECT_INSTANCE_STATE: &str = "IncorrectInstanceState";
    /// The snapshot is still used by an image (DeleteSnapshot right after DeregisterImage).
    pub const SNAPSHOT_IN_USE: &str = "InvalidSnapshot.InUse";
    /// No capacity for the instance type in the zone now (StartInstances, RunInstances).
    pub const INSUFFICIENT_CAPACITY: &str = "InsufficientInstanceCapacity";
    /// A per-region limit is reached (e.g. concurrent CopyImage operations into a region).
    pub const RESOURCE_LIMIT_EXCEEDED: &str = "ResourceLimitExceeded";
    /// A block device mapping is refused (e.g. a volume smaller than its snapshot).
    pub const INVALID_BLOCK_DEVICE_MAPPING: &str = "InvalidBlockDeviceMapping";
    /// RunInstances without a subnet in a region (or account) that has no default VPC.
    pub const VPC_ID_NOT_SPECIFIED: &str = "VPCIdNotSpecified";
    /// The subnet does not exist.
    pub const SUBNET_NOT_FOUND: &str = "InvalidSubnetID.NotFound";
    /// The key pair does not exist.
    pub const KEY_PAIR_NOT_FOUND: &str = "InvalidKeyPair.NotFound";
    /// A key pair of that name exists already (ImportKeyPair).
    pub const KEY_PAIR_DUPLICATE: &str = "InvalidKeyPair.Duplicate";
    /// The security group does not exist.
    pub const GROUP_NOT_FOUND: &str = "InvalidGroup.NotFound";
    /// A security group of that name exists already in the VPC (CreateSecurityGroup).
    pub const GROUP_DUPLICATE: &str = "InvalidGroup.Duplicate";
    /// The rule exists already (AuthorizeSecurityGroupIngress).
    pub const PERMISSION_DUPLICATE: &str = "InvalidPermission.Duplicate";
    /// The rule does not exist (RevokeSecurityGroupIngress).
    pub const PERMISSION_NOT_FOUND: &str = "InvalidPermission.NotFound";
}

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

    /// Whether AWS answered with `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
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
