//! The one shared backoff schedule (bounded exponential, with an overall deadline; polled by
//! `poll::poll_until`) and bounded retries of calls that failed transiently.

use prism_cloud::CloudError;
use std::future::Future;
use std::time::Duration;

/// Poll schedule: `initial`, doubling up to `max`, until `deadline` has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Backoff {
    /// First interval.
    pub initial: Duration,
    /// Largest interval.
    pub max: Duration,
    /// Give up after this long in total.
    pub deadline: Duration,
}

impl Backoff {
    /// Interval before poll number `n` (0-based): exponential from `initial`, capped by `max`.
    pub fn interval(&self, n: u32) -> Duration {
        let d = self.initial.saturating_mul(1u32 << n.min(20));
        d.min(self.max)
    }

    /// Interval before poll `n` after `elapsed` of waiting: [`Backoff::interval`], but never
    /// more than a tenth of the time waited so far (nor less than `initial`), so the end of a
    /// wait is noticed within about 10% of its length, with a logarithmic number of polls.
    pub fn interval_after(&self, n: u32, elapsed: Duration) -> Duration {
        self.interval(n).min((elapsed / 10).max(self.initial))
    }
}

/// How many times a transiently failing call is tried in all (the SDK already retries each
/// attempt 3 times; this covers longer outages).
pub const CALL_ATTEMPTS: u32 = 5;

/// The one retry loop of Prism's own code: runs `call` up to `attempts` times while the
/// error is `retryable`, pausing 1, 2, 4, 8 … s (at most 30 s) between tries, and returns the
/// last answer. Every retry in `crates/ops` goes through here (AWS calls via [`retry`], the
/// saga's undos, CreateImage's look-before-retry); the SDK's own retries sit below it.
pub async fn retry_if<T, E, F, Fut>(
    attempts: u32,
    retryable: impl Fn(&E) -> bool,
    mut call: F,
) -> Result<T, E>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call().await {
            Err(e) if retryable(&e) && attempt < attempts => {
                tracing::debug!(error = %e, attempt, "failed; retrying");
                let pause =
                    Duration::from_secs(1 << (attempt - 1).min(5)).min(Duration::from_secs(30));
                tokio::time::sleep(pause).await;
            }
            other => return other,
        }
    }
}

/// Runs an idempotent call, retrying transient failures up to [`CALL_ATTEMPTS`] times with
/// 1, 2, 4, 8 s pauses.
pub async fn retry<T, F, Fut>(call: F) -> Result<T, CloudError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CloudError>>,
{
    retry_if(CALL_ATTEMPTS, CloudError::is_transient, call).await
}

/// Tries for a call naming a resource created moments ago (pauses 1+2+4+8+16 s ≈ 31 s).
pub const FRESH_ATTEMPTS: u32 = 6;

/// Runs an idempotent call that names a resource this operation created moments ago,
/// retrying transient failures and NotFound up to [`FRESH_ATTEMPTS`] times. EC2's API is
/// eventually consistent: "If you run a command that names a resource you just created, it
/// may answer `InvalidInstanceID.NotFound` / `InvalidAMIID.NotFound` for a while" ("Eventual
/// consistency in the Amazon EC2 API",
/// <https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>).
pub async fn retry_fresh<T, F, Fut>(call: F) -> Result<T, CloudError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CloudError>>,
{
    retry_if(
        FRESH_ATTEMPTS,
        |e: &CloudError| e.is_transient() || e.is_not_found(),
        call,
    )
    .await
}

/// Runs a call, retrying transient failures and EC2's answers `codes` (each a documented
/// "not now" — the caller cites which) up to `attempts` times.
pub async fn retry_codes<T, F, Fut>(attempts: u32, codes: &[&str], call: F) -> Result<T, CloudError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CloudError>>,
{
    retry_if(
        attempts,
        |e: &CloudError| e.is_transient() || codes.iter().any(|c| e.has_code(c)),
        call,
    )
    .await
}

/// Tries of StartInstances while EC2 answers `InsufficientInstanceCapacity` (pauses up to
/// 30 s each: ~10 minutes in all).
pub const CAPACITY_ATTEMPTS: u32 = 24;

/// Starts a stopped instance, waiting out (bounded) EC2's `InsufficientInstanceCapacity`:
/// "There is not enough capacity to fulfill your request … you can wait a few minutes and
/// retry" (EC2 User Guide, "Troubleshoot instance launch issues: Insufficient instance
/// capacity"). Transient failures are retried as usual.
pub async fn start_instance(
    cloud: &dyn prism_cloud::Cloud,
    region: &str,
    instance_id: &str,
) -> Result<(), CloudError> {
    retry_codes(
        CAPACITY_ATTEMPTS,
        &[prism_cloud::error::codes::INSUFFICIENT_CAPACITY],
        || cloud.start_instance(region, instance_id),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_double_and_cap() {
        let b = Backoff {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(30),
            deadline: Duration::from_secs(3600),
        };
        let v: Vec<u64> = (0..6).map(|n| b.interval(n).as_secs()).collect();
        assert_eq!(v, vec![2, 4, 8, 16, 30, 30]);
        // Early in a wait, a tenth of the elapsed time bounds the interval.
        assert_eq!(b.interval_after(5, Duration::from_secs(50)).as_secs(), 5);
        assert_eq!(b.interval_after(5, Duration::from_secs(10)).as_secs(), 2);
        assert_eq!(b.interval_after(5, Duration::from_secs(1000)).as_secs(), 30);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_gives_up_after_the_bound() {
        use prism_cloud::CloudErrorKind;
        let mut n = 0;
        let r: Result<(), _> = retry(|| {
            n += 1;
            async { Err(CloudError::new(CloudErrorKind::Transient, "X", "r", "boom")) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(n, CALL_ATTEMPTS);
    }
}
