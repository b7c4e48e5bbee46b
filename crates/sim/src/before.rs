//! The save as it was before issue 9 changed `wait_snapshots`: the step waited for the image
//! to show its snapshot ids (DescribeImages), which EC2 does only once the image is
//! `available`. Rebuilt here from Prism's own saga with that one step replaced, so every
//! other step (including today's CreateImage retries over `IncorrectInstanceState`) is the
//! current code: the difference measured is the wait alone. (The code before issue 9 also
//! did not retry CreateImage over `IncorrectInstanceState`; on the fake's 3 s refusal after a
//! stop its CreateImage would have failed the save outright, so the wait is the part worth
//! measuring.)

use prism_cloud::{tags, Tags};
use prism_ops::images;
use prism_ops::poll::{poll_until, Poll};
use prism_ops::saga::{step, Saga, TypedStep};
use prism_ops::save::capture::{CreateImageOut, WaitSnapshotsOut};
use prism_ops::save::SaveInput;
use prism_ops::{StepCx, StepError};

/// `wait_snapshots` before issue 9: polls DescribeImages on the snapshot wait's schedule
/// (`OpsConfig::snapshot_wait`, 10 min deadline) until the image lists snapshot ids, then tags
/// them as the operation's.
struct WaitImageSnapshotIds;

#[async_trait::async_trait]
impl TypedStep for WaitImageSnapshotIds {
    type Out = WaitSnapshotsOut;
    async fn run(&self, cx: &StepCx) -> Result<WaitSnapshotsOut, StepError> {
        let i: SaveInput = cx.input()?;
        let image_id = cx.need::<CreateImageOut>()?.image_id;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let snaps = poll_until(
            cx,
            &format!("snapshots of {image_id}"),
            &cx.env.config.snapshot_wait,
            || async {
                match images::get(cloud.as_ref(), &i.region, &image_id).await? {
                    Some(img) if !img.snapshot_ids.is_empty() => Ok(Poll::Ready(img.snapshot_ids)),
                    Some(img) if img.state.is_terminal_failure() => Err(StepError::Terminal(
                        format!("image {image_id} in {} is {}", i.region, img.state.as_str()),
                    )),
                    _ => Ok(Poll::Pending(Some("snapshots not initiated yet".into()))),
                }
            },
        )
        .await?;
        let t = Tags::from([
            (tags::OPERATION.to_string(), cx.op_id.clone()),
            (tags::MANAGED.to_string(), "true".to_string()),
        ]);
        prism_ops::backoff::retry(|| cloud.create_tags(&i.region, &snaps, &t)).await?;
        cx.acted_at("tag");
        Ok(WaitSnapshotsOut {
            snapshot_ids: snaps,
        })
    }
}

/// Prism's save saga with `wait_snapshots` as it was before issue 9.
pub(crate) fn saga() -> Saga {
    let mut saga = prism_ops::save::saga();
    saga.kind = "save-before-issue-9";
    let at = saga
        .steps
        .iter()
        .position(|s| s.name() == "wait_snapshots")
        .expect("the save has a wait_snapshots step");
    let label = saga.steps[at].label();
    saga.steps[at] = step("wait_snapshots", label, WaitImageSnapshotIds);
    saga
}
