//! Stop/start/delete requests on the fake cloud.

mod common;

use common::{Rig, REGION};
use prism_cloud::fake::FakeTimings;
use prism_ops::lifecycle::{prepare, Action};
use prism_ops::OpsError;

/// A misspelled workstation name gets a "did you mean", as template names do.
#[tokio::test(start_paused = true)]
async fn a_misspelled_workstation_name_gets_a_suggestion() {
    let rig = Rig::new(FakeTimings::default());
    rig.workstation("my-research", 40).await;
    rig.workstation("teaching", 40).await;
    let err = prepare(&rig.env, "my-reserch", REGION, None, Action::Stop)
        .await
        .unwrap_err();
    let OpsError::NotFound { message, hint } = err else {
        panic!("not found expected: {err}");
    };
    assert!(message.contains("my-reserch"), "{message}");
    let hint = hint.unwrap_or_default();
    assert!(hint.contains("did you mean 'my-research'?"), "{hint}");
    assert!(!hint.contains("teaching"), "{hint}");
    // Nothing close: the plain hint.
    let err = prepare(&rig.env, "zzzzzzzz", REGION, None, Action::Stop)
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("did you mean"));
}
