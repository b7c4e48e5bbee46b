//! Launch: run an instance from a template, tagged with the `prism:*` schema, and wait until
//! it runs.

use crate::access;
use crate::backoff::retry;
use crate::context::{Env, StepCx};
use crate::error::{OpsError, StepError};
use crate::naming::validate_workstation_name;
use crate::output::StepOutput;
use crate::poll::{poll_until, Poll};
use crate::saga::{step, Saga, TypedStep};
use crate::{regions, sizes};
use async_trait::async_trait;
use prism_api::LaunchRequest;
use prism_cloud::{tags, Cloud, ImageQuery, InstanceFilter, InstanceState, RunSpec, Tags};
use prism_store::{NewOperation, WorkstationRow};
use prism_templates::{Catalogue, Template};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Operation kind.
pub const KIND: &str = "launch.v1";

/// Steps of [`saga`] that make a mutating AWS call and mark it with `cx.acted()` (a
/// `launch.v1:STEP:acted` crash point), and steps that journal sub-records (`cx.record`).
/// Read by `registry::acting_steps`; `registry::tests` checks them against the code.
pub const ACTING_STEPS: &[&str] = &["prepare_access", "run_instance"];
/// See [`ACTING_STEPS`].
pub const RECORDING_STEPS: &[&str] = &[];

/// Labelled crash points `KIND:STEP:acted:LABEL` (`cx.acted_at("LABEL")`) of steps that make
/// more than one kind of mutating call. Read by `registry::acted_points`; checked likewise.
pub const ACTED_AT: &[(&str, &str)] = &[("prepare_access", "key")];

/// The launch saga: its steps in order (names are persisted: never rename one).
pub fn saga() -> Saga {
    Saga {
        kind: KIND,
        steps: vec![
            step(
                "prepare_access",
                "preparing the SSH key and security group",
                PrepareAccess,
            ),
            step("run_instance", "starting the instance", RunInstance),
            step(
                "wait_running",
                "waiting for the instance to run",
                WaitRunning,
            ),
        ],
        finish: |cx| {
            let i: LaunchInput = cx.input()?;
            let w: WaitRunningOut = cx.need()?;
            let a: Option<PrepareAccessOut> = cx.out()?;
            let a = a.unwrap_or_default();
            Ok(json!({
                "name": i.name, "instance_id": w.instance_id, "region": i.region,
                "public_ip": w.public_ip, "template": i.template, "instance_type": i.instance_type,
                "key_name": a.key_name, "security_group_id": a.security_group_id,
                "subnet_id": i.subnet_id, "warnings": i.warnings,
            }))
        },
    }
}

/// Output of `prepare_access`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrepareAccessOut {
    /// Key pair the instance gets, if any.
    pub key_name: Option<String>,
    /// Prism-managed security group the instance joins, if any (none for operations
    /// journaled before access existed).
    pub security_group_id: Option<String>,
}

impl StepOutput for PrepareAccessOut {
    const STEP: &'static str = "prepare_access";
}

/// Output of `run_instance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInstanceOut {
    /// The instance this operation runs.
    pub instance_id: String,
}

impl StepOutput for RunInstanceOut {
    const STEP: &'static str = "run_instance";
}

/// Output of `wait_running`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitRunningOut {
    /// The instance.
    pub instance_id: String,
    /// Its public address, if any.
    pub public_ip: Option<String>,
    /// Always `running`.
    pub state: String,
}

impl StepOutput for WaitRunningOut {
    const STEP: &'static str = "wait_running";
}

/// Everything the launch saga needs, resolved before it starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LaunchInput {
    /// Workstation name.
    pub name: String,
    /// Template id.
    pub template: String,
    /// Template version.
    pub template_version: Option<String>,
    /// Region.
    pub region: String,
    /// AWS profile.
    pub profile: Option<String>,
    /// Project.
    pub project: Option<String>,
    /// Size name.
    pub size: Option<String>,
    /// Instance type.
    pub instance_type: String,
    /// Architecture.
    pub arch: String,
    /// AMI.
    pub image_id: String,
    /// Root volume size.
    pub root_volume_gb: Option<i32>,
    /// User data.
    pub user_data: Option<String>,
    /// OpenSSH public key line (`TYPE BASE64`) to import and install.
    #[serde(default)]
    pub ssh_public_key: Option<String>,
    /// Key pair name for it (`prism-…`).
    #[serde(default)]
    pub key_name: Option<String>,
    /// CIDR admitted to SSH.
    #[serde(default)]
    pub allow_from: Option<String>,
    /// Subnet to run in (`None`: the default VPC's).
    #[serde(default)]
    pub subnet_id: Option<String>,
    /// VPC it runs in (`None` for operations journaled before access existed).
    #[serde(default)]
    pub vpc_id: Option<String>,
    /// What the user should know (no key, no SSH rule, SSH open to everyone).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The image has the NVIDIA driver and CUDA (the template's GPU image, or a GPU-ready
    /// saved version): the instance is tagged so a save of it is GPU-ready too.
    #[serde(default)]
    pub gpu_ready: bool,
}

/// The root volume size to ask for: the template's, but never less than the image's root
/// snapshot (EC2 refuses a smaller volume with `InvalidBlockDeviceMapping`); templates saved
/// before sizes were recorded, or from a grown disk, read it from the image.
async fn root_volume_gb(
    cloud: &dyn Cloud,
    region: &str,
    image_id: &str,
    t: &Template,
) -> Result<Option<i32>, OpsError> {
    let image_gb = crate::images::lookup(cloud, region, image_id)
        .await
        .map_err(OpsError::from)?
        .and_then(|img| img.root_volume_gb())
        .and_then(|gb| i32::try_from(gb).ok());
    Ok(match (t.instance_defaults.root_volume_gb, image_gb) {
        (Some(want), Some(min)) => Some(want.max(min)),
        (want, None) => want,
        (None, Some(_)) => None,
    })
}

/// Picks the AMI of `t` for `region`/`arch`: exact map, per-region mapping, search, then base.
pub async fn resolve_image(
    cloud: &dyn Cloud,
    t: &Template,
    region: &str,
    arch: &str,
) -> Result<String, OpsError> {
    let ac = &t.ami_config;
    if let Some(id) = ac.amis.get(region).and_then(|m| m.get(arch)) {
        return Ok(id.clone());
    }
    if let Some(id) = ac.ami_mappings.get(region) {
        return Ok(id.clone());
    }
    let search = if let Some(s) = &ac.ami_search {
        search_query(s, arch)
    } else {
        t.base
            .as_deref()
            .and_then(|b| prism_templates::base_image(b, arch))
            .map(|b| ImageQuery {
                owners: b.owners,
                name: Some(b.name_pattern),
                architecture: Some(arch.to_string()),
                ..Default::default()
            })
    };
    let Some(q) = search else {
        let have: Vec<String> = ac.amis.keys().cloned().collect();
        let arches: std::collections::BTreeSet<&str> = ac
            .amis
            .values()
            .flat_map(|m| m.keys().map(String::as_str))
            .collect();
        // A copy keeps the image's architecture: the hint for a missing architecture is
        // another architecture, never `template copy`.
        if !arches.is_empty() && !arches.contains(arch) {
            let list = arches.iter().copied().collect::<Vec<_>>().join(", ");
            return Err(OpsError::invalid(
                format!(
                    "template '{}' has no {arch} image: its images are for {list}",
                    t.id()
                ),
                Some(format!(
                    "launch it with --arch {} (a copy cannot change the architecture; for {arch}, save a version from an {arch} workstation)",
                    arches.iter().next().copied().unwrap_or_default()
                )),
            ));
        }
        return Err(OpsError::invalid(
            format!(
                "template '{}' has no image for region {region} ({arch}){}",
                t.id(),
                if have.is_empty() {
                    match &t.base {
                        Some(b) => format!("; its base '{b}' is not a known distribution"),
                        None => String::new(),
                    }
                } else {
                    format!("; it has images in: {}", have.join(", "))
                }
            ),
            Some(if t.is_saved() {
                format!(
                    "copy it there first: prism template copy {} --to-region {region}",
                    t.id()
                )
            } else {
                format!(
                    "use a known base ({}) or an ami_config for {region}",
                    prism_templates::known_bases().join(", ")
                )
            }),
        ));
    };
    newest_image(cloud, &q, t, region, arch).await
}

/// The newest available image `q` finds, or a not-found error naming the search.
async fn newest_image(
    cloud: &dyn Cloud,
    q: &ImageQuery,
    t: &Template,
    region: &str,
    arch: &str,
) -> Result<String, OpsError> {
    let mut images = retry(|| cloud.describe_images(region, q)).await?;
    images.retain(|i| i.state == prism_cloud::ImageState::Available);
    images.sort_by(|a, b| a.creation_date.cmp(&b.creation_date));
    images.last().map(|i| i.id.clone()).ok_or_else(|| {
        OpsError::not_found(
            format!(
                "no {arch} image matching '{}' (owner {}) in {region} for template '{}'",
                q.name.clone().unwrap_or_default(),
                q.owners.join(","),
                t.id()
            ),
            Some("try another region or architecture".to_string()),
        )
    })
}

/// Picks the GPU image of `t` (`ami_config.gpu_image`) for `region`/`arch`: exact map, then
/// search. `None` when the template names no GPU image at all.
pub async fn resolve_gpu_image(
    cloud: &dyn Cloud,
    t: &Template,
    region: &str,
    arch: &str,
) -> Result<Option<String>, OpsError> {
    let Some(g) = &t.ami_config.gpu_image else {
        return Ok(None);
    };
    if let Some(id) = g.amis.get(region).and_then(|m| m.get(arch)) {
        return Ok(Some(id.clone()));
    }
    let Some(q) = g.ami_search.as_ref().and_then(|s| search_query(s, arch)) else {
        return Err(OpsError::invalid(
            format!(
                "template '{}' has no GPU image for region {region} ({arch})",
                t.id()
            ),
            Some(format!(
                "add ami_config.gpu_image.amis.{region}.{arch} or ami_config.gpu_image.ami_search to the template, or use a size without a GPU (XS, S, M, L, XL)"
            )),
        ));
    };
    newest_image(cloud, &q, t, region, arch).await.map(Some)
}

/// The `DescribeImages` query of an `ami_search` for `arch`; `None` when the search is for
/// other architectures only.
fn search_query(s: &prism_templates::AmiSearch, arch: &str) -> Option<ImageQuery> {
    (s.architecture.is_empty() || s.architecture.iter().any(|a| a == arch)).then(|| ImageQuery {
        owners: vec![s.owner.clone()],
        name: Some(s.name_pattern.clone()),
        architecture: Some(arch.to_string()),
        tags: s.required_tags.clone().into_iter().collect(),
        ..Default::default()
    })
}

/// The refusal of a `GPU-*` size for a template without a GPU image, naming the templates
/// that have one (GPU image or GPU-ready saved version).
fn no_gpu_image(catalogue: &Catalogue, t: &Template, size: &str) -> OpsError {
    let with: Vec<String> = catalogue
        .latest_current()
        .into_iter()
        .map(|e| &e.template)
        .filter(|x| x.gpu_ready || x.ami_config.gpu_image.is_some())
        .map(|x| x.id().to_string())
        .collect();
    let size = size.to_ascii_uppercase();
    let hint = if with.is_empty() {
        "use a size without a GPU (XS, S, M, L, XL), or give the template an ami_config.gpu_image (an image with the NVIDIA driver and CUDA)".to_string()
    } else {
        format!(
            "launch a template that has one ({}) with --size {size}, use a size without a GPU (XS, S, M, L, XL), or give the template an ami_config.gpu_image",
            with.join(", ")
        )
    };
    OpsError::invalid(
        format!(
            "size {size} needs an image with the NVIDIA driver and CUDA, and template '{}' has none{}",
            t.id(),
            if t.is_saved() {
                " (it was saved from a workstation without a GPU image)"
            } else {
                ""
            }
        ),
        Some(hint),
    )
}

/// Checks a launch request and turns it into an operation; nothing changes on refusal.
pub async fn prepare(
    env: &Env,
    catalogue: &Catalogue,
    req: &LaunchRequest,
    region: &str,
) -> Result<NewOperation, OpsError> {
    validate_workstation_name(&req.name)?;
    if let Some(p) = &req.project {
        crate::projects::require(env, p).await?;
    }
    let key = match &req.ssh_public_key {
        Some(text) => Some(access::parse_public_key(text, "the SSH public key")?),
        None => None,
    };
    if let Some(c) = &req.allow_from {
        access::validate_cidr(c)?;
    }
    if let Some(id) = &req.subnet_id {
        access::validate_subnet_id(id)?;
    }
    let arch = req.arch.clone().unwrap_or_else(|| "x86_64".into());
    if arch != "x86_64" && arch != "arm64" {
        return Err(OpsError::invalid(
            format!("unknown architecture '{arch}'"),
            Some("use x86_64 or arm64".to_string()),
        ));
    }
    let entry = catalogue.get(&req.template).map_err(|e| {
        OpsError::not_found(
            e.to_string(),
            Some("list templates with: prism templates".to_string()),
        )
    })?;
    let t = &entry.template;
    let instance_type = match &req.size {
        Some(size) => sizes::instance_type(size, &arch).ok_or_else(|| {
            OpsError::invalid(
                format!("unknown size '{size}'"),
                Some(format!("use one of: {}", sizes::names())),
            )
        })?,
        None => t
            .ami_config
            .instance_types
            .get(&arch)
            .or(t.instance_defaults.r#type.as_ref())
            .map(String::as_str)
            .unwrap_or("t3.medium"),
    }
    .to_string();
    if let Some(g) = &t.ami_config.gpu_image {
        let errors = prism_templates::validate::gpu_image_errors(g);
        if !errors.is_empty() {
            return Err(OpsError::invalid(
                format!("template '{}': {}", t.id(), errors.join("; ")),
                Some("fix the template (check it with: prism template validate FILE)".to_string()),
            ));
        }
    }
    // A GPU size needs the NVIDIA driver: refused here, before anything is made, when the
    // template has no GPU image and is not a GPU-ready saved version.
    let gpu = req.size.as_deref().is_some_and(sizes::is_gpu);
    if let Some(size) = req.size.as_deref().filter(|_| gpu) {
        if !t.gpu_ready && t.ami_config.gpu_image.is_none() {
            return Err(no_gpu_image(catalogue, t, size));
        }
    }
    let cloud = env.clouds.cloud(req.aws.profile.as_deref()).await?;
    regions::check(cloud.as_ref(), region).await?;
    if let Some(w) = env.store.workstation(&req.name).await? {
        if w.state != "terminated" {
            return Err(OpsError::invalid(
                format!(
                    "a workstation named '{}' already exists ({} in {}, {})",
                    req.name, w.instance_id, w.region, w.state
                ),
                Some("choose another name, or delete it first: prism delete NAME".to_string()),
            ));
        }
    }
    let filter = InstanceFilter {
        tags: Tags::from([(tags::NAME.to_string(), req.name.clone())]),
        tag_keys: vec![tags::MANAGED.to_string()],
        ..Default::default()
    };
    if let Some(i) = retry(|| cloud.describe_instances(region, &filter))
        .await?
        .first()
    {
        return Err(OpsError::invalid(
            format!(
                "a workstation named '{}' already exists ({} in {region}, {})",
                req.name, i.id, i.state
            ),
            Some("choose another name, or delete it first: prism delete NAME".to_string()),
        ));
    }
    let gpu_image = if gpu && !t.gpu_ready {
        resolve_gpu_image(cloud.as_ref(), t, region, &arch).await?
    } else {
        None
    };
    let gpu_ready = t.gpu_ready || gpu_image.is_some();
    let image_id = match gpu_image {
        Some(id) => id,
        None => resolve_image(cloud.as_ref(), t, region, &arch).await?,
    };
    if !prism_templates::validate::looks_like_ami_id(&image_id) {
        return Err(OpsError::invalid(
            format!("template '{}' names '{image_id}' as its image for {region}, which is not an AMI id", t.id()),
            Some("fix the template (check it with: prism template validate FILE)".to_string()),
        ));
    }
    if !prism_templates::looks_like_instance_type(&instance_type) {
        return Err(OpsError::invalid(
            format!("'{instance_type}' is not an instance type"),
            Some("fix the template's instance_defaults.type (like t3.large)".to_string()),
        ));
    }
    if let Some(p) = &req.project {
        // The warning under the limit is the CLI's to print (a launch has no plan to carry it).
        crate::projects::budget_check(
            env,
            catalogue,
            p,
            req.aws.profile.as_deref(),
            region,
            req.over_budget,
        )
        .await?;
    }
    let root_volume_gb = root_volume_gb(cloud.as_ref(), region, &image_id, t).await?;
    let vpc_id = access::resolve_vpc(cloud.as_ref(), region, req.subnet_id.as_deref()).await?;
    let input = LaunchInput {
        name: req.name.clone(),
        template: t.id().to_string(),
        template_version: t.version.clone(),
        region: region.to_string(),
        profile: req.aws.profile.clone(),
        project: req.project.clone(),
        size: req.size.as_ref().map(|s| s.to_ascii_uppercase()),
        instance_type,
        arch,
        image_id,
        root_volume_gb,
        // What the template lists, installed at first boot (its own script runs last).
        user_data: prism_templates::provision::user_data(t).map_err(|e| {
            OpsError::invalid(
                e.to_string(),
                Some("fix the template (check it with: prism template validate FILE)".to_string()),
            )
        })?,
        warnings: access::warnings(key.is_some(), req.allow_from.as_deref())
            .into_iter()
            .chain(crate::deprecate::launch_warning(t))
            .collect(),
        ssh_public_key: key.as_ref().map(|k| k.line.clone()),
        key_name: key.map(|k| k.key_name),
        allow_from: req.allow_from.clone(),
        subnet_id: req.subnet_id.clone(),
        vpc_id: Some(vpc_id),
        gpu_ready,
    };
    Ok(NewOperation {
        id: uuid::Uuid::new_v4().to_string(),
        kind: KIND.into(),
        target: req.name.clone(),
        lock_keys: vec![format!("workstation:{}", req.name)],
        input: serde_json::to_value(&input).map_err(|e| OpsError::Internal(e.to_string()))?,
    })
}

fn instance_tags(i: &LaunchInput, op_id: &str) -> Tags {
    let mut t = Tags::new();
    t.insert("Name".into(), i.name.clone());
    t.insert(tags::MANAGED.into(), "true".into());
    t.insert(tags::SCHEMA.into(), tags::SCHEMA_VERSION.into());
    t.insert(tags::NAME.into(), i.name.clone());
    t.insert(tags::TEMPLATE.into(), i.template.clone());
    if let Some(v) = &i.template_version {
        t.insert(tags::TEMPLATE_VERSION.into(), v.clone());
    }
    if let Some(p) = &i.project {
        t.insert(tags::PROJECT.into(), p.clone());
    }
    if let Some(s) = &i.size {
        t.insert(tags::SIZE.into(), s.clone());
    }
    if i.gpu_ready {
        t.insert(tags::GPU_READY.into(), "true".into());
    }
    t.insert(tags::OPERATION.into(), op_id.into());
    t
}

/// Instances this operation created (found by its tag, so a lost response is not a leak).
async fn created_by(
    cloud: &dyn Cloud,
    region: &str,
    op_id: &str,
) -> Result<Vec<String>, StepError> {
    let f = InstanceFilter {
        tags: Tags::from([(tags::OPERATION.to_string(), op_id.to_string())]),
        ..Default::default()
    };
    Ok(retry(|| cloud.describe_instances(region, &f))
        .await?
        .into_iter()
        .map(|i| i.id)
        .collect())
}

struct PrepareAccess;

#[async_trait]
impl TypedStep for PrepareAccess {
    type Out = PrepareAccessOut;
    async fn run(&self, cx: &StepCx) -> Result<PrepareAccessOut, StepError> {
        let i: LaunchInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let key_name = match (&i.ssh_public_key, &i.key_name) {
            (Some(line), Some(name)) => {
                let key = access::PublicKey {
                    line: line.clone(),
                    key_name: name.clone(),
                };
                Some(access::ensure_key(cloud.as_ref(), &i.region, &key).await?)
            }
            _ => None,
        };
        cx.acted_at("key");
        let security_group_id = match &i.vpc_id {
            Some(vpc) => Some(
                access::ensure_group(cloud.as_ref(), &i.region, vpc, i.allow_from.as_deref())
                    .await?,
            ),
            None => None,
        };
        cx.acted();
        Ok(PrepareAccessOut {
            key_name,
            security_group_id,
        })
    }
    // No undo: the key pair and the group are shared by the region's workstations, reusable,
    // and cost nothing.
}

struct RunInstance;

#[async_trait]
impl TypedStep for RunInstance {
    type Out = RunInstanceOut;
    async fn run(&self, cx: &StepCx) -> Result<RunInstanceOut, StepError> {
        let i: LaunchInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        // Find before create: a retried or resumed step must not make a second instance.
        if let Some(id) = created_by(cloud.as_ref(), &i.region, &cx.op_id)
            .await?
            .first()
        {
            return Ok(RunInstanceOut {
                instance_id: id.clone(),
            });
        }
        let access: PrepareAccessOut = cx.out()?.unwrap_or_default();
        let spec = RunSpec {
            image_id: i.image_id.clone(),
            instance_type: i.instance_type.clone(),
            root_volume_gb: i.root_volume_gb,
            user_data: i.user_data.clone(),
            tags: instance_tags(&i, &cx.op_id),
            client_token: cx.op_id.clone(),
            key_name: access.key_name,
            security_group_ids: access.security_group_id.into_iter().collect(),
            subnet_id: i.subnet_id.clone(),
        };
        let mut attempts = 0;
        let inst = loop {
            attempts += 1;
            match cloud.run_instance(&i.region, &spec).await {
                Ok(inst) => break inst,
                Err(e) if e.is_transient() && attempts < crate::backoff::CALL_ATTEMPTS => {
                    // The call may have acted before its answer was lost: look again.
                    if let Some(id) = created_by(cloud.as_ref(), &i.region, &cx.op_id)
                        .await?
                        .first()
                    {
                        return Ok(RunInstanceOut {
                            instance_id: id.clone(),
                        });
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(1 << attempts)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        cx.acted();
        cx.env
            .store
            .upsert_workstation(row(
                &i,
                &inst.id,
                inst.state.as_str(),
                inst.public_ip.clone(),
                inst.launch_time.clone(),
            ))
            .await?;
        Ok(RunInstanceOut {
            instance_id: inst.id,
        })
    }
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        let i: LaunchInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let mut ids = created_by(cloud.as_ref(), &i.region, &cx.op_id).await?;
        if let Some(out) = cx.out::<RunInstanceOut>()? {
            if !ids.contains(&out.instance_id) {
                ids.push(out.instance_id);
            }
        }
        if ids.is_empty() {
            // RunInstances may have acted with its answer lost, and EC2 may not list a new
            // instance for a while (eventual consistency): look again, bounded, before
            // concluding that nothing was launched.
            ids = crate::poll::settle(|| async {
                let found = created_by(cloud.as_ref(), &i.region, &cx.op_id).await?;
                Ok((!found.is_empty()).then_some(found))
            })
            .await?
            .unwrap_or_default();
        }
        for id in &ids {
            // "NotFound" right after RunInstances may mean "not visible yet": retried, bounded.
            match crate::backoff::retry_fresh(|| cloud.terminate_instance(&i.region, id)).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        // A NotFound answer to TerminateInstances does not prove the instance is gone:
        // confirm by describing the operation's tagged instances (bounded).
        let left = crate::poll::settle(|| async {
            let f = InstanceFilter {
                tags: Tags::from([(tags::OPERATION.to_string(), cx.op_id.clone())]),
                ..Default::default()
            };
            let live: Vec<String> = retry(|| cloud.describe_instances(&i.region, &f))
                .await?
                .into_iter()
                .filter(|x| {
                    !matches!(
                        x.state,
                        InstanceState::ShuttingDown | InstanceState::Terminated
                    )
                })
                .map(|x| x.id)
                .collect();
            for id in &live {
                let _ = retry(|| cloud.terminate_instance(&i.region, id)).await;
            }
            Ok(live.is_empty().then_some(()))
        })
        .await?;
        if left.is_none() {
            return Err(StepError::Timeout {
                what: format!(
                    "the instances of operation {} in {} to terminate",
                    cx.op_id, i.region
                ),
                after: crate::poll::CONSISTENCY_WAIT.deadline,
            });
        }
        cx.env.store.delete_workstation(&i.name).await?;
        Ok(())
    }
}

fn row(
    i: &LaunchInput,
    instance_id: &str,
    state: &str,
    public_ip: Option<String>,
    launched_at: Option<String>,
) -> WorkstationRow {
    WorkstationRow {
        name: i.name.clone(),
        instance_id: instance_id.to_string(),
        region: i.region.clone(),
        state: state.to_string(),
        template: Some(i.template.clone()),
        template_version: i.template_version.clone(),
        project: i.project.clone(),
        size: i.size.clone(),
        instance_type: i.instance_type.clone(),
        architecture: i.arch.clone(),
        public_ip,
        launched_at,
        profile: i.profile.clone(),
    }
}

struct WaitRunning;

#[async_trait]
impl TypedStep for WaitRunning {
    type Out = WaitRunningOut;
    async fn run(&self, cx: &StepCx) -> Result<WaitRunningOut, StepError> {
        let i: LaunchInput = cx.input()?;
        let id = cx.need::<RunInstanceOut>()?.instance_id;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let inst =
            wait_instance_state(cx, cloud.as_ref(), &i.region, &id, InstanceState::Running).await?;
        cx.env
            .store
            .upsert_workstation(row(
                &i,
                &id,
                "running",
                inst.public_ip.clone(),
                inst.launch_time.clone(),
            ))
            .await?;
        Ok(WaitRunningOut {
            instance_id: id,
            public_ip: inst.public_ip,
            state: "running".into(),
        })
    }
}

/// Polls an instance until it reaches `want`; a state it cannot come back from is an error.
pub async fn wait_instance_state(
    cx: &StepCx,
    cloud: &dyn Cloud,
    region: &str,
    id: &str,
    want: InstanceState,
) -> Result<prism_cloud::Instance, StepError> {
    let what = format!("{id} to be {want}");
    let filter = InstanceFilter {
        ids: vec![id.to_string()],
        include_terminated: true,
        ..Default::default()
    };
    poll_until(cx, &what, &cx.env.config.instance_wait, || async {
        let list = match cloud.describe_instances(region, &filter).await {
            Ok(l) => l,
            // Eventual consistency right after RunInstances.
            Err(e) if e.is_not_found() => return Ok(Poll::Pending(Some("not visible yet".into()))),
            Err(e) => return Err(e.into()),
        };
        let Some(inst) = list.into_iter().next() else {
            return Ok(Poll::Pending(Some("not visible yet".into())));
        };
        if inst.state == want {
            return Ok(Poll::Ready(inst));
        }
        let dead = matches!(
            inst.state,
            InstanceState::Terminated | InstanceState::ShuttingDown
        ) && want != InstanceState::Terminated;
        if dead {
            return Err(StepError::Terminal(format!(
                "instance {id} in {region} is {} (expected {want})",
                inst.state
            )));
        }
        Ok(Poll::Pending(Some(inst.state.to_string())))
    })
    .await
}
