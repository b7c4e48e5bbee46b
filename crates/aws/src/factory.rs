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
/// Time allowed for one attempt of one API call.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
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
            clouds: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// A factory for an emulator at `endpoint` (e.g. moto on `http://127.0.0.1:PORT`): static
    /// credentials `testing`/`testing`, no profile files, no environment; every profile gets
    /// the same cloud. Does not touch process-global state, so tests can run in parallel.
    pub async fn with_endpoint(endpoint: &str) -> Self {
        let factory = AwsCloudFactory {
            source: Source::Endpoint(endpoint.to_string()),
            clouds: tokio::sync::Mutex::new(HashMap::new()),
        };
        // Load eagerly so that a broken configuration shows up here, not in the first call.
        let cloud = Arc::new(factory.load(None).await);
        factory.clouds.lock().await.insert(None, cloud);
        factory
    }

    /// Builds the cloud of `profile`.
    async fn load(&self, profile: Option<&str>) -> AwsCloud {
        let loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
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
