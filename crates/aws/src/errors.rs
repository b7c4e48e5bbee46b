//! Turns AWS SDK errors into [`CloudError`]s naming the action, region, resource, code and message.

use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use prism_cloud::{CloudError, CloudErrorKind};

/// Converts an SDK error of `action` (the EC2/STS API name) in `region` into a [`CloudError`].
///
/// Service errors keep AWS's code and message and are classified by
/// [`CloudError::kind_for_code`]; errors without a code (connection, timeout, unreadable
/// response) are [`CloudErrorKind::Transient`] and carry the whole source chain, except a
/// failure to resolve credentials, which is [`CloudErrorKind::Auth`].
pub(crate) fn sdk_error<E>(
    action: &str,
    region: &str,
    resource: Option<&str>,
    err: SdkError<E, HttpResponse>,
) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (kind, code, message) = classify(&err);
    let mut out = CloudError::new(kind, action, region, message);
    if let Some(code) = code {
        out = out.with_code(code);
    }
    if let Some(r) = resource {
        out = out.with_resource(r);
    }
    out
}

/// Kind, code and message of an SDK error.
fn classify<E>(err: &SdkError<E, HttpResponse>) -> (CloudErrorKind, Option<String>, String)
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let chain = || source_chain(err);
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            match err.code() {
                Some(code) => {
                    let message = match err.message() {
                        Some(m) if !m.trim().is_empty() => m.to_string(),
                        _ => format!("(no message; HTTP {status})"),
                    };
                    (
                        CloudError::kind_for_code(code),
                        Some(code.to_string()),
                        message,
                    )
                }
                None => {
                    // No AWS error code: an emulator crash page, a proxy, a load balancer.
                    let kind = match status {
                        401 | 403 => CloudErrorKind::Auth,
                        500..=599 | 429 => CloudErrorKind::Transient,
                        _ => CloudErrorKind::Other,
                    };
                    (
                        kind,
                        None,
                        format!("HTTP {status} without an AWS error code: {}", chain()),
                    )
                }
            }
        }
        SdkError::DispatchFailure(failure) => {
            let text = chain();
            let io_or_timeout = failure.is_io() || failure.is_timeout();
            if !io_or_timeout && mentions_credentials(&text) {
                let (code, message) = credentials_problem(&text);
                (CloudErrorKind::Auth, Some(code.to_string()), message)
            } else {
                (CloudErrorKind::Transient, None, text)
            }
        }
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            (CloudErrorKind::Transient, None, chain())
        }
        SdkError::ConstructionFailure(_) => (CloudErrorKind::Other, None, chain()),
        _ => (CloudErrorKind::Transient, None, chain()),
    }
}

/// The error and each of its sources, joined with `: ` (like the SDK's
/// `DisplayErrorContext`, without its trailing `Debug` dump, which is noise in a CLI message).
fn source_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let text = e.to_string();
        // Some layers repeat their source's text; say each thing once.
        if !text.is_empty() && !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = e.source();
    }
    out
}

/// Whether a dispatch failure is really a credentials (identity resolution) failure.
fn mentions_credentials(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("credential") || t.contains("resolve identity") || t.contains("identity resolver")
}

use prism_cloud::error::{NO_CREDENTIALS, SSO_SESSION_EXPIRED};

/// One line for a credentials failure, instead of the SDK's multi-line account of every
/// provider it tried (printed in full, it reads like a crash), and a code the hint can use.
fn credentials_problem(text: &str) -> (&'static str, String) {
    let t = text.to_ascii_lowercase();
    if t.contains("sso") && (t.contains("expired") || t.contains("token")) {
        return (
            SSO_SESSION_EXPIRED,
            "the SSO session of this profile is missing or expired".to_string(),
        );
    }
    if t.contains("no credentials") || t.contains("not enabled") || t.contains("not set") {
        return (
            NO_CREDENTIALS,
            "no AWS credentials found (looked in the environment, the AWS config and credentials files, web identity, container and instance metadata)".to_string(),
        );
    }
    // Keep the first line only: the rest is the SDK's per-provider detail.
    (
        NO_CREDENTIALS,
        format!(
            "AWS credentials could not be loaded: {}",
            text.lines().next().unwrap_or_default()
        ),
    )
}

/// A [`CloudError`] for an answer that lacks something AWS always sends.
pub(crate) fn missing(action: &str, region: &str, what: &str) -> CloudError {
    CloudError::new(
        CloudErrorKind::Other,
        action,
        region,
        format!("the response has no {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_credentials_chain_is_one_line_with_a_code() {
        let sdk = "dispatch failure: other: the credential provider was not enabled: no credentials found in chain. Attempted:\n  Environment: the credential provider was not enabled: environment variable not set\n  Profile: the credential provider was not enabled";
        let (code, msg) = credentials_problem(sdk);
        assert_eq!(code, NO_CREDENTIALS);
        assert!(!msg.contains('\n') && msg.contains("no AWS credentials found"));
        let (code, msg) = credentials_problem(
            "failed to resolve identity: the SSO token for profile lab has expired",
        );
        assert_eq!(code, SSO_SESSION_EXPIRED);
        assert!(msg.contains("SSO session"));
    }
    use aws_sdk_ec2::config::http::HttpResponse;
    use aws_sdk_ec2::error::ErrorMetadata;
    use aws_sdk_ec2::operation::stop_instances::StopInstancesError;
    use aws_smithy_types::body::SdkBody;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(status.try_into().unwrap(), SdkBody::empty())
    }

    #[test]
    fn service_error_keeps_code_message_and_kind() {
        let meta = ErrorMetadata::builder()
            .code("InvalidInstanceID.NotFound")
            .message("The instance ID 'i-1' does not exist")
            .build();
        let err = SdkError::service_error(StopInstancesError::generic(meta), response(400));
        let e = sdk_error("StopInstances", "eu-west-1", Some("i-1"), err);
        assert_eq!(e.kind, CloudErrorKind::NotFound);
        assert_eq!(e.code.as_deref(), Some("InvalidInstanceID.NotFound"));
        assert_eq!(
            e.to_string(),
            "StopInstances in eu-west-1 for i-1 failed: InvalidInstanceID.NotFound: \
             The instance ID 'i-1' does not exist"
        );
    }

    #[test]
    fn throttling_is_transient_and_empty_message_is_explained() {
        let meta = ErrorMetadata::builder()
            .code("RequestLimitExceeded")
            .build();
        let err = SdkError::service_error(StopInstancesError::generic(meta), response(503));
        let e = sdk_error("StopInstances", "us-east-1", None, err);
        assert!(e.is_transient());
        assert!(e.message.contains("HTTP 503"), "{}", e.message);
    }

    #[test]
    fn codeless_server_error_is_transient_and_not_bare() {
        let meta = ErrorMetadata::builder().build();
        let err = SdkError::service_error(StopInstancesError::generic(meta), response(500));
        let e = sdk_error("CreateImage", "us-east-1", None, err);
        assert_eq!(e.kind, CloudErrorKind::Transient);
        assert!(e.code.is_none());
        assert!(e.message.contains("HTTP 500"), "{}", e.message);
    }

    #[test]
    fn timeout_is_transient_with_its_cause() {
        let err: SdkError<StopInstancesError, HttpResponse> =
            SdkError::timeout_error("operation attempt timed out after 30s");
        let e = sdk_error("StopInstances", "us-east-1", None, err);
        assert_eq!(e.kind, CloudErrorKind::Transient);
        assert!(e.message.contains("timed out after 30s"), "{}", e.message);
    }
}
