//! [`AwsCloudFactory`]: loads the SDK configuration of each AWS profile once and hands out its cloud.

use crate::client::AwsCloud;
use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_sdk_ec2::config::Credentials;
use prism_cloud::{Cloud, CloudFactory, CloudResult};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Time allowed to open a TCP/TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for one attempt of one API call, unless [`ATTEMPT_TIMEOUT_ENV`] says otherwise.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Environment variable overriding [`ATTEMPT_TIMEOUT`], in whole seconds: for slow links and
/// for emulators whose large listings take longer than real EC2 (moto's `DescribeImages` is
/// quadratic in the number of images).
pub const ATTEMPT_TIMEOUT_ENV: &str = "PRISM_AWS_ATTEMPT_TIMEOUT";
/// Largest accepted [`ATTEMPT_TIMEOUT_ENV`]: beyond an hour a stuck call is better reported.
pub const MAX_ATTEMPT_TIMEOUT_SECS: u64 = 3600;

/// The attempt timeout `value` (the content of [`ATTEMPT_TIMEOUT_ENV`], if set) asks for:
/// [`ATTEMPT_TIMEOUT`] when unset or empty, an error naming the variable when it is not a
/// whole number of seconds from 1 to [`MAX_ATTEMPT_TIMEOUT_SECS`].
pub fn attempt_timeout_from(value: Option<&str>) -> Result<Duration, String> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(ATTEMPT_TIMEOUT);
    };
    match v.parse::<u64>() {
        Ok(secs @ 1..=MAX_ATTEMPT_TIMEOUT_SECS) => Ok(Duration::from_secs(secs)),
        _ => Err(format!(
            "{ATTEMPT_TIMEOUT_ENV}={v:?} is not a number of seconds from 1 to {MAX_ATTEMPT_TIMEOUT_SECS} \
             (unset it for the default of {} s)",
            ATTEMPT_TIMEOUT.as_secs()
        )),
    }
}
/// Attempts per API call, first included (the SDK's standard retry mode).
pub const MAX_ATTEMPTS: u32 = 3;
/// Region used for the emulator's default configuration (every call names its own region).
const EMULATOR_REGION: &str = "us-east-1";

/// Where configurations come from.
enum Source {
    /// The standard chain (environment, profile files, SSO, IMDS…), per profile.
    DefaultChain,
    /// A fixed endpoint with static `testing` credentials and no profile files (emulators).
    Endpoint(String),
}

/// Hands out one [`AwsCloud`] per AWS profile, loaded on first use and cached.
///
/// With [`AwsCloudFactory::new`] the standard credential and region chain applies, including
/// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_EC2` / `AWS_ENDPOINT_URL_STS` for an emulator.
pub struct AwsCloudFactory {
    source: Source,
    attempt_timeout: Duration,
    clouds: tokio::sync::Mutex<HashMap<Option<String>, Arc<AwsCloud>>>,
}

impl Default for AwsCloudFactory {
    fn default() -> Self {
        Self::new()
    }
}

impl AwsCloudFactory {
    /// A factory using the standard AWS configuration chain (nothing is loaded until the
    /// first [`CloudFactory::cloud`] call).
    pub fn new() -> Self {
        AwsCloudFactory {
            source: Source::DefaultChain,
            attempt_timeout: ATTEMPT_TIMEOUT,
            clouds: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// A factory for an emulator at `endpoint` (e.g. moto on `http://127.0.0.1:PORT`): static
    /// credentials `testing`/`testing`, no profile files, no environment; every profile gets
    /// the same cloud. Does not touch process-global state, so tests can run in parallel.
    pub async fn with_endpoint(endpoint: &str) -> Self {
        Self::with_endpoint_and_timeout(endpoint, ATTEMPT_TIMEOUT).await
    }

    /// [`AwsCloudFactory::with_endpoint`] with another time allowed per call attempt.
    pub async fn with_endpoint_and_timeout(endpoint: &str, attempt_timeout: Duration) -> Self {
        let factory = AwsCloudFactory {
            source: Source::Endpoint(endpoint.to_string()),
            attempt_timeout,
            clouds: tokio::sync::Mutex::new(HashMap::new()),
        };
        // Load eagerly so that a broken configuration shows up here, not in the first call.
        let cloud = Arc::new(factory.load(None).await);
        factory.clouds.lock().await.insert(None, cloud);
        factory
    }

    /// The same factory allowing `timeout` per call attempt instead of [`ATTEMPT_TIMEOUT`]
    /// (clouds already handed out keep theirs).
    pub fn with_attempt_timeout(self, timeout: Duration) -> Self {
        AwsCloudFactory {
            source: self.source,
            attempt_timeout: timeout,
            clouds: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Builds the cloud of `profile`.
    async fn load(&self, profile: Option<&str>) -> AwsCloud {
        let loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(self.attempt_timeout)
                    .build(),
            );
        match &self.source {
            Source::DefaultChain => {
                let loader = match profile {
                    Some(p) => loader.profile_name(p),
                    None => loader,
                };
                AwsCloud::from_sdk_config(loader.load().await)
            }
            Source::Endpoint(endpoint) => {
                let no_files = EnvConfigFiles::builder()
                    .with_contents(EnvConfigFileKind::Config, "")
                    .build();
                let sdk = loader
                    .empty_test_environment()
                    .profile_files(no_files)
                    .region(Region::new(EMULATOR_REGION))
                    .credentials_provider(Credentials::new(
                        "testing",
                        "testing",
                        None,
                        None,
                        "prism-emulator",
                    ))
                    .endpoint_url(endpoint)
                    .load()
                    .await;
                AwsCloud::with_endpoint_override(sdk, endpoint.clone())
            }
        }
    }
}

#[async_trait]
impl CloudFactory for AwsCloudFactory {
    async fn cloud(&self, profile: Option<&str>) -> CloudResult<Arc<dyn Cloud>> {
        let key = match self.source {
            Source::DefaultChain => profile.map(str::to_string),
            Source::Endpoint(_) => None,
        };
        // A tokio mutex: held across the (rare) load so one profile is loaded once.
        let mut clouds = self.clouds.lock().await;
        if let Some(c) = clouds.get(&key) {
            return Ok(c.clone());
        }
        let cloud = Arc::new(self.load(key.as_deref()).await);
        clouds.insert(key, cloud.clone());
        Ok(cloud)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_timeout_defaults_and_accepts_whole_seconds() {
        assert_eq!(attempt_timeout_from(None), Ok(ATTEMPT_TIMEOUT));
        assert_eq!(attempt_timeout_from(Some(" ")), Ok(ATTEMPT_TIMEOUT));
        assert_eq!(
            attempt_timeout_from(Some("300")),
            Ok(Duration::from_secs(300))
        );
        assert_eq!(
            attempt_timeout_from(Some("3600")),
            Ok(Duration::from_secs(3600))
        );
    }

    #[test]
    fn attempt_timeout_refuses_what_is_not_seconds_in_range() {
        for bad in [
            "0",
            "-5",
            "1.5",
            "30s",
            "3601",
            "abc",
            "99999999999999999999",
        ] {
            let err = attempt_timeout_from(Some(bad)).expect_err(bad);
            assert!(err.contains(ATTEMPT_TIMEOUT_ENV), "{err}");
            assert!(err.contains("from 1 to 3600"), "{err}");
        }
    }
}
