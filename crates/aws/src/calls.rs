//! Per-call settings shared by the API modules (images, instances, snapshots), kept here so
//! those modules depend on no module that depends on them.

/// Bound on pages read from one paginated call (a runaway guard, far above real use).
pub(crate) const MAX_PAGES: usize = 100;

/// Per-call override that turns the SDK's retries off, for calls that are not idempotent.
pub(crate) fn no_retry() -> aws_sdk_ec2::config::Builder {
    aws_sdk_ec2::config::Builder::default()
        .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled())
}
