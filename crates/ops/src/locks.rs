//! Lock keys: an active operation holds keys like `workstation:NAME` or `template:NAME`, and
//! another operation on the same thing is refused at once, naming the holder.

use crate::context::Env;
use crate::error::OpsError;

/// The lock key of workstation `name`.
pub fn workstation(name: &str) -> String {
    format!("workstation:{name}")
}

/// The lock key of template `name` (all its versions).
pub fn template(name: &str) -> String {
    format!("template:{name}")
}

/// Refuses at once when an active operation holds `key` (e.g. `workstation:NAME`), naming it.
pub async fn ensure_free(env: &Env, key: &str, what: &str) -> Result<(), OpsError> {
    match env.store.lock_holder(key).await? {
        Some(holder) => Err(OpsError::Conflict {
            message: format!("{what} is busy with operation {holder}"),
            operation_id: holder,
        }),
        None => Ok(()),
    }
}
