//! The default-chain factory honours `AWS_ENDPOINT_URL` (how the CLI and daemon reach moto).
//!
//! Environment variables are process-global, so this binary holds exactly one test.

use prism_aws::AwsCloudFactory;
use prism_cloud::CloudFactory;
use prism_testkit::{Moto, AWS_ENV_REMOVE};

#[tokio::test]
async fn default_chain_reaches_the_emulator_through_env() {
    let moto = Moto::start();
    for k in AWS_ENV_REMOVE {
        std::env::remove_var(k);
    }
    for (k, v) in moto.aws_env() {
        std::env::set_var(k, v);
    }
    let factory = AwsCloudFactory::new();
    let cloud = factory.cloud(None).await.expect("default profile");
    let me = cloud.caller_identity("us-east-1").await.expect("identity");
    assert_eq!(me.account, "123456789012");
    let regions = cloud.describe_regions("eu-west-1").await.expect("regions");
    assert!(regions.iter().any(|r| r == "eu-west-1"));
    // The same profile gives the same cloud.
    let again = factory.cloud(None).await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&cloud, &again));
    // Environment credentials win over any profile (standard chain order).
    let other = factory.cloud(Some("no-such-profile")).await.unwrap();
    assert!(!std::sync::Arc::ptr_eq(&cloud, &other));
    assert_eq!(
        other.caller_identity("us-east-1").await.unwrap().account,
        "123456789012"
    );

    // Without environment credentials, a profile the (empty) config files lack cannot sign:
    // that is an authentication problem, not a transient one.
    std::env::remove_var("AWS_ACCESS_KEY_ID");
    std::env::remove_var("AWS_SECRET_ACCESS_KEY");
    let factory = AwsCloudFactory::new();
    let missing = factory.cloud(Some("no-such-profile")).await.unwrap();
    let err = missing
        .caller_identity("us-east-1")
        .await
        .expect_err("no credentials");
    eprintln!("missing profile: {err}");
    assert_eq!(err.kind, prism_cloud::CloudErrorKind::Auth, "{err}");
    assert_eq!(err.action, "GetCallerIdentity");
}
