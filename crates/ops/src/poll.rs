//! Polling a probe on a [`Backoff`] schedule until it is ready, reporting progress and
//! honouring cancels through the step's context.

use crate::backoff::Backoff;
use crate::context::StepCx;
use crate::error::StepError;
use std::future::Future;
use tokio::time::Instant;

/// One probe's answer.
pub enum Poll<T> {
    /// Done.
    Ready(T),
    /// Not yet; optional progress line.
    Pending(Option<String>),
}

/// Polls `probe` on `b`'s schedule until it is ready, it fails permanently, the deadline
/// passes, or a cancel is requested. Transient cloud errors count as "not yet".
pub async fn poll_until<T, F, Fut>(
    cx: &StepCx,
    what: &str,
    b: &Backoff,
    mut probe: F,
) -> Result<T, StepError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, StepError>>,
{
    let start = Instant::now();
    let mut n = 0;
    loop {
        match probe().await {
            Ok(Poll::Ready(v)) => return Ok(v),
            Ok(Poll::Pending(p)) => {
                let line = match p {
                    Some(p) => format!("waiting for {what}: {p}"),
                    None => format!("waiting for {what}"),
                };
                cx.progress(&line).await;
            }
            Err(StepError::Cloud(e)) if e.is_transient() => {
                tracing::debug!(error = %e, "transient error while polling; will retry");
            }
            Err(e) => return Err(e),
        }
        if cx.cancel_requested().await {
            return Err(StepError::Cancelled);
        }
        let elapsed = start.elapsed();
        if elapsed >= b.deadline {
            return Err(StepError::Timeout {
                what: what.to_string(),
                after: b.deadline,
            });
        }
        let wait = b.interval_after(n, elapsed).min(b.deadline - elapsed);
        n += 1;
        tokio::time::sleep(wait).await;
    }
}

/// Bound on waiting for EC2 to show what it just made (eventual consistency: seconds, rarely
/// a minute — "Eventual consistency in the Amazon EC2 API").
pub const CONSISTENCY_WAIT: crate::backoff::Backoff = crate::backoff::Backoff {
    initial: std::time::Duration::from_secs(1),
    max: std::time::Duration::from_secs(8),
    deadline: std::time::Duration::from_secs(60),
};

/// Polls `look` until it answers `Some`, at most [`CONSISTENCY_WAIT`]; `None` after that.
/// Not cancellable (undos use it and must finish) and silent (no progress lines).
pub async fn settle<T, F, Fut>(mut look: F) -> Result<Option<T>, StepError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, StepError>>,
{
    let start = tokio::time::Instant::now();
    let mut n = 0;
    loop {
        if let Some(v) = look().await? {
            return Ok(Some(v));
        }
        if start.elapsed() >= CONSISTENCY_WAIT.deadline {
            return Ok(None);
        }
        tokio::time::sleep(CONSISTENCY_WAIT.interval(n)).await;
        n += 1;
    }
}
