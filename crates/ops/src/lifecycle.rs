//! Stop, start and delete of a workstation, as small sagas so they survive a daemon restart.

use crate::backoff::retry;
use crate::context::{Env, StepCx};
use crate::error::{OpsError, StepError};
use crate::launch::wait_instance_state;
use crate::locks;
use crate::output::StepOutput;
use crate::saga::{step, Saga, TypedStep};
use async_trait::async_trait;
use prism_cloud::{tags, Cloud, InstanceFilter, InstanceState, Tags};
use prism_store::NewOperation;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Operation kind of a stop.
pub const KIND_STOP: &str = "stop.v1";
/// Operation kind of a start.
pub const KIND_START: &str = "start.v1";
/// Operation kind of a delete.
pub const KIND_DELETE: &str = "delete.v1";

/// Steps of [`saga`] (stop, start, delete) that make a mutating AWS call and mark it with
/// `cx.acted()` (a `KIND:STEP:acted` crash point), and steps that journal sub-records
/// (`cx.record`). Read by `registry::acting_steps`; `registry::tests` checks them.
pub const ACTING_STEPS: &[&str] = &["request"];
/// See [`ACTING_STEPS`].
pub const RECORDING_STEPS: &[&str] = &[];

/// Labelled crash points `KIND:STEP:acted:LABEL` (`cx.acted_at("LABEL")`) of steps that make
/// more than one kind of mutating call. Read by `registry::acted_points`; checked likewise.
pub const ACTED_AT: &[(&str, &str)] = &[];

/// The saga for `action`: its steps in order (names are persisted: never rename one).
pub fn saga(action: Action) -> Saga {
    Saga {
        kind: action.kind(),
        steps: vec![
            step("request", "sending the request to EC2", Request),
            step("wait", "waiting for EC2", Wait),
        ],
        finish: |cx| {
            let i: LifecycleInput = cx.input()?;
            let w: WaitOut = cx.need()?;
            Ok(
                json!({ "name": i.name, "instance_id": i.instance_id, "region": i.region, "state": w.state }),
            )
        },
    }
}

/// Output of `request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestOut {
    /// When EC2 accepted the request.
    pub requested_at: String,
}

impl StepOutput for RequestOut {
    const STEP: &'static str = "request";
}

/// Output of `wait`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitOut {
    /// The state reached.
    pub state: String,
    /// The public address, if any.
    pub public_ip: Option<String>,
}

impl StepOutput for WaitOut {
    const STEP: &'static str = "wait";
}

/// What to do to a workstation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Stop it.
    Stop,
    /// Start it.
    Start,
    /// Terminate it and forget it.
    Delete,
}

impl Action {
    /// Operation kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Stop => KIND_STOP,
            Action::Start => KIND_START,
            Action::Delete => KIND_DELETE,
        }
    }
}

/// Input of the lifecycle sagas.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LifecycleInput {
    /// Workstation name.
    pub name: String,
    /// Instance id.
    pub instance_id: String,
    /// Region.
    pub region: String,
    /// Profile.
    pub profile: Option<String>,
    /// What to do.
    pub action: Action,
}

/// A managed workstation found by name: from the cache, checked against EC2.
pub struct Found {
    /// The instance as EC2 sees it now.
    pub instance: prism_cloud::Instance,
    /// Its region.
    pub region: String,
}

/// Finds workstation `name` (cache first, then EC2 by tag in `region`); refuses unknown names
/// and instances Prism does not manage.
pub async fn find_workstation(
    env: &Env,
    cloud: &dyn Cloud,
    name: &str,
    region: &str,
) -> Result<Found, OpsError> {
    let cached = env.store.workstation(name).await?;
    let (region, filter) = match &cached {
        Some(w) => (
            w.region.clone(),
            InstanceFilter {
                tags: Tags::from([(tags::NAME.to_string(), name.to_string())]),
                tag_keys: vec![tags::MANAGED.to_string()],
                ..Default::default()
            },
        ),
        None => (
            region.to_string(),
            InstanceFilter {
                tags: Tags::from([(tags::NAME.to_string(), name.to_string())]),
                tag_keys: vec![tags::MANAGED.to_string()],
                ..Default::default()
            },
        ),
    };
    let found = retry(|| cloud.describe_instances(&region, &filter)).await?;
    match found.into_iter().next() {
        Some(instance) => Ok(Found { instance, region }),
        None => {
            if cached.is_some() {
                env.store.delete_workstation(name).await?;
            }
            let known: Vec<String> = env
                .store
                .workstations()
                .await?
                .into_iter()
                .map(|w| w.name)
                .collect();
            let close = prism_templates::suggestions(name, known.iter().map(String::as_str));
            let list = "list workstations with: prism list (add --region for another region)";
            Err(OpsError::not_found(
                format!("no workstation named '{name}' in {region}"),
                Some(match close.as_slice() {
                    [] => list.to_string(),
                    names => format!(
                        "did you mean {}? ({list})",
                        names
                            .iter()
                            .map(|n| format!("'{n}'"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }),
            ))
        }
    }
}

/// Checks a stop/start/delete request and turns it into an operation.
pub async fn prepare(
    env: &Env,
    name: &str,
    region: &str,
    profile: Option<String>,
    action: Action,
) -> Result<NewOperation, OpsError> {
    locks::ensure_free(
        env,
        &locks::workstation(name),
        &format!("workstation '{name}'"),
    )
    .await?;
    let cloud = env.clouds.cloud(profile.as_deref()).await?;
    crate::regions::check(cloud.as_ref(), region).await?;
    let found = find_workstation(env, cloud.as_ref(), name, region).await?;
    let st = found.instance.state;
    let refuse = |why: &str| {
        Err(OpsError::invalid(
            format!("workstation '{name}' is {st}: {why}"),
            Some("check its state with: prism list".to_string()),
        ))
    };
    match action {
        Action::Stop if matches!(st, InstanceState::ShuttingDown | InstanceState::Terminated) => {
            return refuse("it cannot be stopped")
        }
        Action::Start
            if matches!(
                st,
                InstanceState::ShuttingDown | InstanceState::Terminated | InstanceState::Stopping
            ) =>
        {
            return refuse("it cannot be started now")
        }
        _ => {}
    }
    let input = LifecycleInput {
        name: name.to_string(),
        instance_id: found.instance.id.clone(),
        region: found.region,
        profile,
        action,
    };
    Ok(NewOperation {
        id: uuid::Uuid::new_v4().to_string(),
        kind: action.kind().into(),
        target: name.to_string(),
        lock_keys: vec![locks::workstation(name)],
        input: serde_json::to_value(&input).map_err(|e| OpsError::Internal(e.to_string()))?,
    })
}

struct Request;

#[async_trait]
impl TypedStep for Request {
    type Out = RequestOut;
    async fn run(&self, cx: &StepCx) -> Result<RequestOut, StepError> {
        let i: LifecycleInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let r = match i.action {
            Action::Stop => retry(|| cloud.stop_instance(&i.region, &i.instance_id)).await,
            Action::Start => {
                crate::backoff::start_instance(cloud.as_ref(), &i.region, &i.instance_id).await
            }
            Action::Delete => retry(|| cloud.terminate_instance(&i.region, &i.instance_id)).await,
        };
        r?;
        cx.acted();
        Ok(RequestOut {
            requested_at: crate::clock::now_rfc3339(),
        })
    }
}

struct Wait;

#[async_trait]
impl TypedStep for Wait {
    type Out = WaitOut;
    async fn run(&self, cx: &StepCx) -> Result<WaitOut, StepError> {
        let i: LifecycleInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let want = match i.action {
            Action::Stop => InstanceState::Stopped,
            Action::Start => InstanceState::Running,
            Action::Delete => InstanceState::Terminated,
        };
        let inst = wait_instance_state(cx, cloud.as_ref(), &i.region, &i.instance_id, want).await?;
        match i.action {
            Action::Delete => cx.env.store.delete_workstation(&i.name).await?,
            _ => {
                cx.env
                    .store
                    .set_workstation_state(&i.name, want.as_str())
                    .await?;
            }
        }
        Ok(WaitOut {
            state: want.as_str().to_string(),
            public_ip: inst.public_ip,
        })
    }
}
