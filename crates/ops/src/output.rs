//! Typed step outputs: each step's journaled result is a serde type that names its step, and
//! later steps read it back by type ([`crate::StepCx::need`]), never by a string key.
//!
//! Output types are a persisted schema like step names: a resumed operation parses outputs an
//! older Prism journaled. Add fields only as `Option` (or with `#[serde(default)]`), never
//! rename one; a missing required field is an error naming the step and the field.

use crate::error::StepError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// The journaled output of one step.
pub trait StepOutput: Serialize + DeserializeOwned + Send + 'static {
    /// The name of the step that produces it (as in the saga's step table).
    const STEP: &'static str;
}

/// Parses `T` strictly from a journaled payload; the error names the step and what is wrong
/// (serde names the missing or mistyped field).
pub fn parse<T: StepOutput>(payload: &Value) -> Result<T, StepError> {
    T::deserialize(payload).map_err(|e| {
        StepError::Internal(format!(
            "the journaled output of step {} does not parse: {e}",
            T::STEP
        ))
    })
}

/// The journal payload of `out`.
pub fn to_payload<T: StepOutput>(out: &T) -> Result<Value, StepError> {
    serde_json::to_value(out).map_err(|e| {
        StepError::Internal(format!(
            "the output of step {} does not serialize: {e}",
            T::STEP
        ))
    })
}
