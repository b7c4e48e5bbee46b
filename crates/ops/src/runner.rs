//! Runs operations in the background: submits them (refusing conflicts), executes each in its
//! own task, and resumes every unfinished one when the daemon starts.

use crate::context::Env;
use crate::error::OpsError;
use crate::saga::{execute, Saga};
use crate::{copy, launch, lifecycle, save, share, template_delete};
use prism_store::{NewOperation, OperationRow};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

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

/// The saga for an operation kind (every kind ever persisted must stay here).
pub fn saga_for(kind: &str) -> Option<Saga> {
    Some(match kind {
        launch::KIND => launch::saga(),
        save::KIND => save::saga(),
        copy::KIND => copy::saga(),
        share::KIND_SHARE => share::saga(false),
        share::KIND_UNSHARE => share::saga(true),
        template_delete::KIND => template_delete::saga(),
        "stop.v1" => lifecycle::saga(lifecycle::Action::Stop),
        "start.v1" => lifecycle::saga(lifecycle::Action::Start),
        "delete.v1" => lifecycle::saga(lifecycle::Action::Delete),
        _ => return None,
    })
}

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
