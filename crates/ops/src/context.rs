//! What a step can reach: the cloud, the store, configuration, its operation's input and the
//! outputs of the steps before it.

use crate::backoff::Backoff;
use crate::error::StepError;
use crate::output::{self, StepOutput};
use prism_cloud::{Cloud, CloudFactory};
use prism_store::{OperationRow, Store};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Tunables of operations.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OpsConfig {
    /// Waiting for an instance to reach a state.
    pub instance_wait: Backoff,
    /// Waiting for a new image to be available (hours on real EC2 for big volumes).
    pub image_wait: Backoff,
    /// Waiting for a region copy to be available (multi-hour for big volumes).
    pub copy_wait: Backoff,
    /// Waiting for CreateImage's snapshots to exist.
    pub snapshot_wait: Backoff,
    /// Snapshot storage price, USD per GiB-month (for cost estimates).
    pub snapshot_usd_per_gb_month: f64,
}

impl Default for OpsConfig {
    fn default() -> Self {
        OpsConfig {
            // EC2 stops/starts in 30 s – 5 min; 15 min covers slow hosts. Polled every 1–3 s:
            // the workstation is down while we wait, so noticing early is worth the calls.
            instance_wait: Backoff {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(3),
                deadline: Duration::from_secs(15 * 60),
            },
            // Big volumes take hours to snapshot; 6 h is far beyond the SDK's 10 min default.
            // Intervals also stay under a tenth of the time waited (see `interval_after`).
            image_wait: Backoff {
                initial: Duration::from_secs(5),
                max: Duration::from_secs(300),
                deadline: Duration::from_secs(6 * 3600),
            },
            // Cross-region copies of TB volumes can take many hours.
            copy_wait: Backoff {
                initial: Duration::from_secs(10),
                max: Duration::from_secs(600),
                deadline: Duration::from_secs(12 * 3600),
            },
            // Snapshot ids appear on the image within seconds of CreateImage.
            snapshot_wait: Backoff {
                initial: Duration::from_millis(500),
                max: Duration::from_secs(5),
                deadline: Duration::from_secs(10 * 60),
            },
            // EBS snapshot standard tier list price (us-east-1).
            snapshot_usd_per_gb_month: 0.05,
        }
    }
}

impl OpsConfig {
    /// Fast schedules for emulators and tests (moto changes states instantly).
    pub fn fast() -> Self {
        let quick = |deadline: u64| Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(500),
            deadline: Duration::from_secs(deadline),
        };
        OpsConfig {
            instance_wait: quick(60),
            image_wait: quick(120),
            copy_wait: quick(120),
            snapshot_wait: quick(60),
            ..Default::default()
        }
    }
}

/// Test-only fault points: `PRISM_TEST_CRASH_AT=kind:step:event` makes the daemon SIGKILL
/// itself when it reaches that point (after journaling the event), to prove recovery.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    crash_at: Option<String>,
}

impl Hooks {
    /// Reads `PRISM_TEST_CRASH_AT`.
    pub fn from_env() -> Self {
        Hooks {
            crash_at: std::env::var("PRISM_TEST_CRASH_AT")
                .ok()
                .filter(|s| !s.is_empty()),
        }
    }

    /// Crashes the process if `kind:step:event` is the configured point.
    pub fn at(&self, kind: &str, step: &str, event: &str) {
        if let Some(target) = &self.crash_at {
            let here = format!("{kind}:{step}:{event}");
            if *target == here {
                eprintln!("PRISM_TEST_CRASH_AT reached: {here}; killing myself with SIGKILL");
                let pid = std::process::id().to_string();
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid])
                    .status();
                // If kill(1) is missing, still never go on past a crash point.
                std::process::abort();
            }
        }
    }
}

/// Everything operations share.
#[derive(Clone)]
pub struct Env {
    /// Cloud per profile.
    pub clouds: Arc<dyn CloudFactory>,
    /// Local store.
    pub store: Store,
    /// The user's template directory (saved templates are written here).
    pub template_dir: PathBuf,
    /// Tunables.
    pub config: OpsConfig,
    /// Test fault points.
    pub hooks: Hooks,
}

/// One step's view of its operation.
pub struct StepCx {
    /// Shared environment.
    pub env: Env,
    /// Operation id.
    pub op_id: String,
    /// Operation kind.
    pub kind: String,
    input: Value,
    outputs: BTreeMap<String, Value>,
    step: String,
}

impl StepCx {
    pub(crate) fn new(
        env: Env,
        row: &OperationRow,
        outputs: BTreeMap<String, Value>,
        step: &str,
    ) -> Self {
        StepCx {
            env,
            op_id: row.id.clone(),
            kind: row.kind.clone(),
            input: row.input.clone(),
            outputs,
            step: step.to_string(),
        }
    }

    /// The operation's input.
    pub fn input<T: DeserializeOwned>(&self) -> Result<T, StepError> {
        serde_json::from_value(self.input.clone())
            .map_err(|e| StepError::Internal(format!("operation input does not parse: {e}")))
    }

    /// The output of an earlier step, by type, when that step has succeeded. A journaled
    /// output that does not parse (a missing field, a wrong type) is an error naming the step
    /// and the field.
    pub fn out<T: StepOutput>(&self) -> Result<Option<T>, StepError> {
        self.outputs.get(T::STEP).map(output::parse).transpose()
    }

    /// The output of an earlier step that must have succeeded (an error names it if not).
    pub fn need<T: StepOutput>(&self) -> Result<T, StepError> {
        self.out()?.ok_or_else(|| {
            StepError::Internal(format!(
                "step {} needs the output of step {}, which has not succeeded",
                self.step,
                T::STEP
            ))
        })
    }

    /// The cloud for a profile.
    pub async fn cloud(&self, profile: Option<&str>) -> Result<Arc<dyn Cloud>, StepError> {
        Ok(self.env.clouds.cloud(profile).await?)
    }

    /// Records a progress line for followers (best effort).
    pub async fn progress(&self, line: &str) {
        let _ = self
            .env
            .store
            .set_operation_progress(&self.op_id, line)
            .await;
    }

    /// Whether a cancel was requested.
    pub async fn cancel_requested(&self) -> bool {
        self.env
            .store
            .cancel_requested(&self.op_id)
            .await
            .unwrap_or(false)
    }

    /// Journals a sub-record of this step (one region's or target's outcome) durably, so
    /// `operation show` shows it as it ends. Replay never reads it as the step's own result.
    /// Also a crash point: `kind:step:record`.
    pub async fn record<T: serde::Serialize>(&self, key: &str, value: &T) -> Result<(), StepError> {
        let payload = serde_json::to_value(value).map_err(|e| {
            StepError::Internal(format!("sub-record {key} of step {}: {e}", self.step))
        })?;
        self.env
            .store
            .append_record(&self.op_id, &self.step, key, payload)
            .await?;
        self.env.hooks.at(&self.kind, &self.step, "record");
        Ok(())
    }

    /// Marks "the AWS call acted but its result is not journaled yet" (a crash point).
    pub fn acted(&self) {
        self.env.hooks.at(&self.kind, &self.step, "acted");
    }

    /// Marks a further mutating call of a step that makes several kinds of them (tagging,
    /// each snapshot deletion, each region's share): the crash point
    /// `KIND:STEP:acted:LABEL`, declared in the module's `ACTED_AT` beside its step table.
    pub fn acted_at(&self, label: &str) {
        self.env
            .hooks
            .at(&self.kind, &self.step, &format!("acted:{label}"));
    }
}
