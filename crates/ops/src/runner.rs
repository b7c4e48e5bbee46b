//! Runs operations in the background: submits them (refusing conflicts), executes each in its
//! own task, and resumes every unfinished one when the daemon starts.

use crate::context::Env;
use crate::error::OpsError;
pub use crate::registry::saga_for;
use crate::saga::execute;
use prism_store::{NewOperation, OperationRow};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Executes operations.
pub struct Runner {
    env: Env,
    running: Mutex<HashSet<String>>,
}

impl Runner {
    /// A runner over `env`.
    pub fn new(env: Env) -> Arc<Self> {
        Arc::new(Runner {
            env,
            running: Mutex::new(HashSet::new()),
        })
    }

    /// The environment.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// Records `op` (refused if another active operation holds one of its locks) and starts it.
    pub async fn submit(self: &Arc<Self>, op: NewOperation) -> Result<OperationRow, OpsError> {
        let id = op.id.clone();
        let target = op.target.clone();
        if let Err(holder) = self.env.store.insert_operation(op).await? {
            return Err(OpsError::Conflict {
                message: format!("'{target}' is busy with operation {holder}"),
                operation_id: holder,
            });
        }
        self.spawn(&id);
        self.env
            .store
            .operation(&id)
            .await?
            .ok_or_else(|| OpsError::Internal(format!("operation {id} vanished")))
    }

    /// Number of operations executing in this process.
    pub fn active(&self) -> usize {
        self.running.lock().map(|r| r.len()).unwrap_or(0)
    }

    /// Starts executing operation `id` unless it already runs here.
    pub fn spawn(self: &Arc<Self>, id: &str) {
        {
            let Ok(mut r) = self.running.lock() else {
                return;
            };
            if !r.insert(id.to_string()) {
                return;
            }
        }
        let me = self.clone();
        let id = id.to_string();
        tokio::spawn(async move {
            let res = match me.env.store.operation(&id).await {
                Ok(Some(row)) => match saga_for(&row.kind) {
                    Some(saga) => execute(&me.env, &saga, &id).await.map(|_| ()),
                    None => {
                        let _ = me
                            .env
                            .store
                            .set_operation_status(
                                &id,
                                "failed",
                                None,
                                Some(format!("unknown operation kind {}", row.kind)),
                            )
                            .await;
                        Ok(())
                    }
                },
                Ok(None) => Ok(()),
                Err(e) => Err(e.into()),
            };
            if let Err(e) = res {
                tracing::error!(op = %id, error = %e, "operation stopped on an internal error; it resumes at the next daemon start");
            }
            if let Ok(mut r) = me.running.lock() {
                r.remove(&id);
            }
        });
    }

    /// Resumes every running or compensating operation (called at daemon start).
    pub async fn resume_all(self: &Arc<Self>) -> Result<usize, OpsError> {
        let ops = self.env.store.active_operations().await?;
        for op in &ops {
            tracing::info!(op = %op.id, kind = %op.kind, status = %op.status, "resuming operation");
            self.spawn(&op.id);
        }
        Ok(ops.len())
    }
}
