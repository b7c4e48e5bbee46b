//! Wall-clock time that follows tokio's clock, so virtual-time tests see consistent timestamps.

use std::sync::OnceLock;

static ORIGIN: OnceLock<(chrono::DateTime<chrono::Utc>, tokio::time::Instant)> = OnceLock::new();

/// Now, as wall-clock time advanced by tokio's clock (identical to real time outside tests).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let (wall, inst) = ORIGIN.get_or_init(|| (chrono::Utc::now(), tokio::time::Instant::now()));
    let elapsed = tokio::time::Instant::now().saturating_duration_since(*inst);
    *wall + chrono::Duration::from_std(elapsed).unwrap_or_default()
}

/// Now as RFC 3339 with milliseconds.
pub fn now_rfc3339() -> String {
    now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Seconds between two RFC 3339 times (0 when either does not parse).
pub fn seconds_between(from: &str, to: &str) -> f64 {
    match (
        chrono::DateTime::parse_from_rfc3339(from),
        chrono::DateTime::parse_from_rfc3339(to),
    ) {
        (Ok(a), Ok(b)) => (b - a).num_milliseconds() as f64 / 1000.0,
        _ => 0.0,
    }
}
