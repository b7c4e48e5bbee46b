//! Following an operation live: one line per finished step with its time, a spinner with the
//! latest progress while waiting, and Ctrl-C to detach (the operation goes on).

use crate::client::Client;
use crate::error::{CliError, CliResult};
use crate::output::fancy;
use indicatif::{ProgressBar, ProgressStyle};
use prism_api::{Operation, OperationStatus};
use std::time::Duration;

/// Fastest and slowest poll of a followed operation.
const POLL_MIN: Duration = Duration::from_millis(20);
const POLL_MAX: Duration = Duration::from_millis(300);

/// How long to wait before asking again about an operation followed for `elapsed`: a tenth
/// of it, within [`POLL_MIN`, `POLL_MAX`], so the end of a short operation (a save on an
/// emulator takes ~75 ms) is seen within ~20 ms while hours-long ones cost ~3 requests a second.
fn poll_interval(elapsed: Duration) -> Duration {
    (elapsed / 10).clamp(POLL_MIN, POLL_MAX)
}

/// Follows `id` until it ends; returns the final operation. Failed → `CliError::OperationFailed`.
pub async fn follow(client: &Client, id: &str, quiet: bool) -> CliResult<Operation> {
    let bar = if fancy() && !quiet {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let mut seen = 0usize;
    let mut last_progress = String::new();
    let plain = !fancy() && !quiet;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let following_since = tokio::time::Instant::now();
    loop {
        let op: Operation = client.get(&format!("/v1/operations/{id}")).await?;
        let mut started_at: std::collections::HashMap<String, String> = Default::default();
        for e in &op.events {
            if e.event == "started" || e.event == "undo-started" {
                started_at.insert(format!("{}:{}", e.step, e.event), e.at.clone());
            }
        }
        for e in op.events.iter().skip(seen) {
            if quiet {
                continue;
            }
            let secs = |start_key: &str| {
                started_at
                    .get(start_key)
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                    .zip(chrono::DateTime::parse_from_rfc3339(&e.at).ok())
                    .map(|(a, b)| format!(" ({:.1}s)", (b - a).num_milliseconds() as f64 / 1000.0))
                    .unwrap_or_default()
            };
            // What people read: the step's label from the saga's table, else its name.
            let what = e.label.as_deref().unwrap_or(&e.step);
            let line = match e.event.as_str() {
                "succeeded" => Some(format!("✓ {what}{}", secs(&format!("{}:started", e.step)))),
                "failed" => Some(format!(
                    "✗ {what}: {}",
                    e.payload
                        .as_ref()
                        .and_then(|p| p.as_str())
                        .unwrap_or("failed")
                )),
                "undo-finished" => Some(format!(
                    "↩ undone: {what}{}",
                    secs(&format!("{}:undo-started", e.step))
                )),
                "undo-failed" => Some(format!("✗ undoing failed: {what}")),
                _ => None,
            };
            if let Some(l) = line {
                bar.suspend(|| eprintln!("{}", crate::output::terminal_text(&l)));
            }
        }
        seen = op.events.len();
        if let Some(p) = &op.progress {
            if *p != last_progress {
                bar.set_message(crate::output::terminal_text(p));
                if plain {
                    eprintln!("… {}", crate::output::terminal_text(p));
                }
                last_progress = p.clone();
            }
        }
        if op.status.is_finished() {
            bar.finish_and_clear();
            return match op.status {
                OperationStatus::Succeeded => Ok(op),
                _ => Err(CliError::OperationFailed {
                    id: op.id.clone(),
                    status: op.status.as_str().into(),
                    error: op
                        .error
                        .clone()
                        .unwrap_or_else(|| "no reason recorded".into()),
                }),
            };
        }
        tokio::select! {
            _ = &mut ctrl_c => {
                bar.finish_and_clear();
                return Err(CliError::Detached(op.id));
            }
            // Operations take milliseconds (emulator) to hours: see `poll_interval`.
            _ = tokio::time::sleep(poll_interval(following_since.elapsed())) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_fast_at_first_and_at_most_every_300_ms() {
        assert_eq!(poll_interval(Duration::ZERO), POLL_MIN);
        assert_eq!(
            poll_interval(Duration::from_millis(500)),
            Duration::from_millis(50)
        );
        assert_eq!(poll_interval(Duration::from_secs(3600)), POLL_MAX);
    }
}
