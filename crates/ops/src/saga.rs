//! The saga executor: runs an operation's steps in order, journaling each step's start and
//! result durably, and on failure (or cancel) runs the undos of every started step in reverse.
//!
//! Model (after Oxide's steno): a step logged `started` with no result is run again on
//! recovery, so every action and every undo is idempotent. Unlike steno, the failed step's
//! own undo runs too: our undos clean up partial effects (they look resources up by the
//! operation's tag or unique name), which saves a no-op step before every risky one.

use crate::context::{Env, StepCx};
use crate::error::StepError;
use crate::output::{self, StepOutput};
use async_trait::async_trait;
use prism_api::OperationStatus;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Journal event names (a persisted schema: never rename).
pub mod event {
    /// Before the step's action runs.
    pub const STARTED: &str = "started";
    /// The step's action succeeded; payload is its output.
    pub const SUCCEEDED: &str = "succeeded";
    /// The step's action failed; payload is the error.
    pub const FAILED: &str = "failed";
    /// Before the step's undo runs.
    pub const UNDO_STARTED: &str = "undo-started";
    /// The undo finished.
    pub const UNDO_FINISHED: &str = "undo-finished";
    /// The undo failed; payload is the error.
    pub const UNDO_FAILED: &str = "undo-failed";
    /// A sub-record of a step (one region's or target's outcome), keyed by the event's `sub`.
    /// Informational for replay: it never makes a step started, succeeded or failed.
    pub const RECORD: &str = "record";
}

/// One step of a saga.
#[async_trait]
pub trait Step: Send + Sync {
    /// Stable name (persisted in the journal).
    fn name(&self) -> &'static str;
    /// Human label for progress lines.
    fn label(&self) -> &'static str {
        self.name()
    }
    /// The forward action; its output is journaled and visible to later steps.
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError>;
    /// Compensates the action (also after a partial or failed run). Default: nothing to undo.
    async fn undo(&self, _cx: &StepCx) -> Result<(), StepError> {
        Ok(())
    }
}

/// A step's action and undo with a typed output: the usual way to write a step. Its name and
/// label come from its row in the saga's step table (see [`step`]).
#[async_trait]
pub trait TypedStep: Send + Sync + 'static {
    /// What the action journals; later steps read it with [`StepCx::need`].
    type Out: StepOutput;
    /// The forward action (idempotent: it may run again after a crash).
    async fn run(&self, cx: &StepCx) -> Result<Self::Out, StepError>;
    /// Compensates the action (also after a partial or failed run). Default: nothing to undo.
    async fn undo(&self, _cx: &StepCx) -> Result<(), StepError> {
        Ok(())
    }
}

/// One row of a saga's step table: a typed step under its persisted name and its label.
struct Row<A> {
    name: &'static str,
    label: &'static str,
    action: A,
}

#[async_trait]
impl<A: TypedStep> Step for Row<A> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn label(&self) -> &'static str {
        self.label
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        output::to_payload(&self.action.run(cx).await?)
    }
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        self.action.undo(cx).await
    }
}

/// A row of a saga's step table: step `name` (persisted in the journal: never rename),
/// shown to users as `label`, running `action`. Panics when `name` is not the step its output
/// type names, so a saga whose table and output types disagree cannot be built.
pub fn step<A: TypedStep>(name: &'static str, label: &'static str, action: A) -> Arc<dyn Step> {
    assert_eq!(
        name,
        A::Out::STEP,
        "step {name}'s output type belongs to step {}",
        A::Out::STEP
    );
    Arc::new(Row {
        name,
        label,
        action,
    })
}

/// A named, versioned list of steps.
pub struct Saga {
    /// Kind, e.g. `save.v1` (persisted: bump the suffix when steps change incompatibly).
    pub kind: &'static str,
    /// Steps in order.
    pub steps: Vec<Arc<dyn Step>>,
    /// Builds the operation's result from the step outputs.
    pub finish: fn(&StepCx) -> Result<Value, StepError>,
}

#[derive(Debug, Default, Clone)]
struct StepState {
    started: bool,
    output: Option<Value>,
    failed: Option<String>,
    undo_finished: bool,
}

/// The state of each of `saga`'s steps from the journal. Only the step events of the saga's
/// own steps count: sub-records, and events of names that are not steps of this saga (a
/// journal from an older version), can never fail a step.
fn replay(
    saga: &Saga,
    events: &[prism_store::EventRow],
) -> Result<BTreeMap<String, StepState>, StepError> {
    if let Some(e) = events
        .iter()
        .find(|e| e.schema > prism_store::JOURNAL_SCHEMA)
    {
        return Err(StepError::Internal(format!(
            "the journal was written by a newer Prism (schema {} > {}): upgrade prism to resume it",
            e.schema,
            prism_store::JOURNAL_SCHEMA
        )));
    }
    let mut m: BTreeMap<String, StepState> = BTreeMap::new();
    for e in events {
        if e.sub.is_some()
            || e.event == event::RECORD
            || !saga.steps.iter().any(|s| s.name() == e.step)
        {
            continue;
        }
        let s = m.entry(e.step.clone()).or_default();
        match e.event.as_str() {
            event::STARTED => s.started = true,
            event::SUCCEEDED => s.output = Some(e.payload.clone().unwrap_or(Value::Null)),
            event::FAILED => {
                s.failed = Some(
                    e.payload
                        .as_ref()
                        .and_then(|p| p.as_str().map(String::from))
                        .unwrap_or_else(|| "failed".into()),
                )
            }
            event::UNDO_FINISHED => s.undo_finished = true,
            _ => {}
        }
    }
    Ok(m)
}

/// How many times an undo is retried before the operation is marked as needing a person.
const UNDO_ATTEMPTS: u32 = 5;

/// Runs (or resumes) operation `op_id` to its end; returns the final status.
pub async fn execute(env: &Env, saga: &Saga, op_id: &str) -> Result<OperationStatus, StepError> {
    let row = env
        .store
        .operation(op_id)
        .await?
        .ok_or_else(|| StepError::Internal(format!("operation {op_id} not found")))?;
    let mut status = OperationStatus::parse(&row.status).unwrap_or(OperationStatus::Failed);
    if status.is_finished() {
        return Ok(status);
    }
    let events = env.store.events(op_id).await?;
    let states = replay(saga, &events)?;
    let mut outputs: BTreeMap<String, Value> = states
        .iter()
        .filter_map(|(k, s)| s.output.clone().map(|o| (k.clone(), o)))
        .collect();
    let mut failure: Option<String> = states.values().find_map(|s| s.failed.clone());
    if failure.is_some() {
        status = OperationStatus::Compensating;
    }

    if status == OperationStatus::Running {
        for step in &saga.steps {
            if outputs.contains_key(step.name()) {
                continue;
            }
            let cx = StepCx::new(env.clone(), &row, outputs.clone(), step.name());
            if cx.cancel_requested().await {
                failure = Some("cancelled by request".into());
                env.store
                    .append_event(
                        op_id,
                        step.name(),
                        event::FAILED,
                        Some(Value::String("cancelled by request".into())),
                    )
                    .await?;
                break;
            }
            env.store
                .append_event(op_id, step.name(), event::STARTED, None)
                .await?;
            env.hooks.at(saga.kind, step.name(), event::STARTED);
            cx.progress(step.label()).await;
            match step.run(&cx).await {
                Ok(out) => {
                    env.store
                        .append_event(op_id, step.name(), event::SUCCEEDED, Some(out.clone()))
                        .await?;
                    env.hooks.at(saga.kind, step.name(), event::SUCCEEDED);
                    outputs.insert(step.name().to_string(), out);
                }
                Err(e) => {
                    let msg = e.to_string();
                    tracing::warn!(op = op_id, step = step.name(), error = %msg, "step failed; compensating");
                    env.store
                        .append_event(
                            op_id,
                            step.name(),
                            event::FAILED,
                            Some(Value::String(msg.clone())),
                        )
                        .await?;
                    failure = Some(msg);
                    break;
                }
            }
        }
        if failure.is_none() {
            let cx = StepCx::new(env.clone(), &row, outputs.clone(), "finish");
            let result = (saga.finish)(&cx)?;
            env.store
                .set_operation_status(
                    op_id,
                    OperationStatus::Succeeded.as_str(),
                    Some(result),
                    None,
                )
                .await?;
            return Ok(OperationStatus::Succeeded);
        }
        env.store
            .set_operation_status(
                op_id,
                OperationStatus::Compensating.as_str(),
                None,
                failure.clone(),
            )
            .await?;
    }

    // Unwind: every step that started (including the failed one), newest first.
    let events = env.store.events(op_id).await?;
    let states = replay(saga, &events)?;
    for step in saga.steps.iter().rev() {
        let Some(st) = states.get(step.name()) else {
            continue;
        };
        if !st.started || st.undo_finished {
            continue;
        }
        env.store
            .append_event(op_id, step.name(), event::UNDO_STARTED, None)
            .await?;
        env.hooks.at(saga.kind, step.name(), event::UNDO_STARTED);
        let cx = StepCx::new(env.clone(), &row, outputs.clone(), step.name());
        cx.progress(&format!("undoing: {}", step.label())).await;
        // Bounded: 1, 2, 4, 8 s between attempts, then give up and ask a person.
        let undone = crate::backoff::retry_if(
            UNDO_ATTEMPTS,
            |e: &StepError| {
                tracing::warn!(op = op_id, step = step.name(), error = %e, "undo failed");
                true
            },
            || step.undo(&cx),
        )
        .await;
        {
            match undone {
                Ok(()) => {}
                Err(e) => {
                    let msg = format!(
                        "{}; then undoing step '{}' failed: {e}",
                        failure.clone().unwrap_or_default(),
                        step.name()
                    );
                    env.store
                        .append_event(
                            op_id,
                            step.name(),
                            event::UNDO_FAILED,
                            Some(Value::String(e.to_string())),
                        )
                        .await?;
                    env.store
                        .set_operation_status(
                            op_id,
                            OperationStatus::CompensationFailed.as_str(),
                            None,
                            Some(msg),
                        )
                        .await?;
                    return Ok(OperationStatus::CompensationFailed);
                }
            }
        }
        env.store
            .append_event(op_id, step.name(), event::UNDO_FINISHED, None)
            .await?;
        env.hooks.at(saga.kind, step.name(), event::UNDO_FINISHED);
    }
    env.store
        .set_operation_status(op_id, OperationStatus::Failed.as_str(), None, failure)
        .await?;
    Ok(OperationStatus::Failed)
}
