//! How long a save or a copy may wait for an image to become available: chosen per operation
//! (`--max-wait`; a multi-TB volume can take longer than the defaults) and journaled with it,
//! so a resumed operation keeps the same bound.

use crate::backoff::Backoff;
use crate::error::OpsError;
use std::time::Duration;

pub use prism_api::{MAX_WAIT_MAX_SECONDS as MAX_SECONDS, MAX_WAIT_MIN_SECONDS as MIN_SECONDS};

/// Refuses a requested wait outside [`MIN_SECONDS`, `MAX_SECONDS`].
pub fn check(seconds: Option<u64>) -> Result<(), OpsError> {
    match seconds {
        Some(s) if !(MIN_SECONDS..=MAX_SECONDS).contains(&s) => Err(OpsError::invalid(
            format!("max_wait_seconds {s} is out of range"),
            Some(format!(
                "use {MIN_SECONDS} to {MAX_SECONDS} seconds (1 minute to 7 days), or leave it out for the defaults"
            )),
        )),
        _ => Ok(()),
    }
}

/// `base` with its deadline replaced by the requested wait, if any.
pub fn backoff(base: &Backoff, seconds: Option<u64>) -> Backoff {
    Backoff {
        deadline: seconds.map_or(base.deadline, Duration::from_secs),
        ..*base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_checked_and_the_deadline_replaced() {
        assert!(check(None).is_ok());
        assert!(check(Some(MIN_SECONDS)).is_ok());
        assert!(check(Some(MAX_SECONDS)).is_ok());
        for bad in [0, MIN_SECONDS - 1, MAX_SECONDS + 1] {
            let e = check(Some(bad)).unwrap_err().to_string();
            assert!(e.contains("max_wait_seconds"), "{e}");
        }
        let base = Backoff {
            initial: Duration::from_secs(5),
            max: Duration::from_secs(300),
            deadline: Duration::from_secs(6 * 3600),
        };
        assert_eq!(backoff(&base, None).deadline, base.deadline);
        let b = backoff(&base, Some(86_400));
        assert_eq!(b.deadline, Duration::from_secs(86_400));
        assert_eq!((b.initial, b.max), (base.initial, base.max));
    }
}
