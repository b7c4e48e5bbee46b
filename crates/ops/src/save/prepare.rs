//! Checking a save request and resolving everything the saga needs ([`SaveInput`]) and the
//! plan shown before it starts. Nothing changes here.

use super::KIND;
use crate::backoff::retry;
use crate::clock;
use crate::context::Env;
use crate::error::OpsError;
use crate::image_label::{self, ImageLabel, LabelFormat};
use crate::lifecycle::find_workstation;
use crate::locks;
use crate::max_wait;
use prism_api::{CaptureMode, SavePlan, SaveRequest};
use prism_cloud::{tags, InstanceState, Tags};
use prism_store::NewOperation;
use prism_templates::Catalogue;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Everything the save saga needs, resolved before it starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SaveInput {
    /// Workstation name.
    pub workstation: String,
    /// Its instance.
    pub instance_id: String,
    /// Its region.
    pub region: String,
    /// Profile.
    pub profile: Option<String>,
    /// Template name.
    pub template: String,
    /// Version being created.
    pub version: u32,
    /// Description.
    pub description: Option<String>,
    /// Copy regions.
    pub copy_to_regions: Vec<String>,
    /// Project.
    pub project: Option<String>,
    /// Make public.
    pub public: bool,
    /// Capture mode.
    pub mode: CaptureMode,
    /// Extra tags.
    pub extra_tags: BTreeMap<String, String>,
    /// State when the save was asked (`running` or `stopped`): the state it ends in.
    pub original_state: String,
    /// Template the workstation was launched from.
    pub original_template: Option<String>,
    /// Its version.
    pub original_template_version: Option<String>,
    /// Architecture.
    pub arch: String,
    /// Instance type.
    pub instance_type: String,
    /// EBS GiB.
    pub volume_gb: i64,
    /// AMI name (operation-unique, so a retried CreateImage finds the first one).
    pub image_name: String,
    /// Caller ARN.
    pub saved_by: String,
    /// When the save was asked.
    pub saved_at: String,
    /// The original template, resolved (its defaults carry over), when it still exists.
    pub base_template: Option<Value>,
    /// Requested bound on each wait for availability (image, copies); `None`: the defaults.
    #[serde(default)]
    pub max_wait_seconds: Option<u64>,
    /// KMS key per copy region (`--kms-key REGION=KEY`).
    #[serde(default)]
    pub kms_keys: std::collections::BTreeMap<String, String>,
    /// Launch permissions the previous version had (accounts, organizations, OUs), given to
    /// this version too (issue 13: a new version keeps its audience).
    #[serde(default)]
    pub inherited_share: prism_cloud::Share,
    /// `--copy-within`: region copies are time-based copies completed within this many
    /// minutes. Absent in journals written before it existed.
    #[serde(default)]
    pub copy_within_minutes: Option<u32>,
    /// The workstation runs an image with the NVIDIA driver and CUDA (its `prism:gpu-ready`
    /// tag): the saved version is GPU-ready.
    #[serde(default)]
    pub gpu_ready: bool,
}

impl SaveInput {
    /// Whether the save stops the workstation (stop mode, and it was running).
    pub fn stops(&self) -> bool {
        self.mode == CaptureMode::Stop && self.original_state == "running"
    }

    /// The full `prism:*` tag set of the saved image and its snapshots.
    pub fn image_tags(&self, op_id: &str) -> Tags {
        let mut t: Tags = self
            .extra_tags
            .iter()
            .map(|(k, v)| (k.clone(), tags::clamp_value(v)))
            .collect();
        let mut put = |k: &str, v: &str| {
            t.insert(k.to_string(), tags::clamp_value(v));
        };
        put("Name", &format!("{} v{}", self.template, self.version));
        put(tags::MANAGED, "true");
        put(tags::SCHEMA, tags::SCHEMA_VERSION);
        put(tags::OPERATION, op_id);
        put(tags::SAVED_TEMPLATE, &self.template);
        put(tags::SAVED_VERSION, &self.version.to_string());
        put(tags::SAVED_FROM, &self.workstation);
        put(tags::SAVED_FROM_INSTANCE, &self.instance_id);
        put(tags::SAVED_BY, &self.saved_by);
        put(tags::SAVED_AT, &self.saved_at);
        put(tags::CAPTURE_MODE, self.mode.as_str());
        if let Some(v) = &self.original_template {
            put(tags::ORIGINAL_TEMPLATE, v);
        }
        if let Some(v) = &self.original_template_version {
            put(tags::ORIGINAL_TEMPLATE_VERSION, v);
        }
        if let Some(v) = &self.project {
            put(tags::PROJECT, v);
        }
        if let Some(v) = &self.description {
            put(tags::DESCRIPTION, v);
        }
        if self.gpu_ready {
            put(tags::GPU_READY, "true");
        }
        t
    }
}

impl SaveInput {
    /// What the image's name and description tell accounts that cannot see its tags
    /// ([`crate::image_label`]).
    pub fn image_label(&self) -> ImageLabel {
        ImageLabel {
            template: self.template.clone(),
            version: self.version,
            description: self.description.clone(),
            original_template: self.original_template.clone(),
            original_version: self.original_template_version.clone(),
            format: LabelFormat::V1,
        }
    }

    /// The description CreateImage and CopyImage get: the `prism:v1` label with the user's
    /// description cut to what EC2 accepts (the template file keeps the whole description);
    /// true if it was cut.
    pub fn image_description(&self) -> (String, bool) {
        image_label::encode_description(&self.image_label())
    }
}

/// Checks a save request; returns the plan and the operation to submit. Nothing changes.
pub async fn prepare(
    env: &Env,
    catalogue: &Catalogue,
    req: &SaveRequest,
    region: &str,
) -> Result<(SavePlan, NewOperation), OpsError> {
    prism_templates::validate_template_name(&req.template).map_err(|e| {
        OpsError::invalid(
            format!("invalid template name {:?}: {e}", req.template),
            Some(
                "use 3-100 letters, digits, '.', '_' or '-', starting with a letter or digit"
                    .to_string(),
            ),
        )
    })?;
    if let Some(d) = &req.description {
        if d.chars().count() > 1000 || d.chars().any(|c| c.is_control() && c != '\n') {
            return Err(OpsError::invalid(
                "the description must be at most 1000 characters without control characters",
                None,
            ));
        }
    }
    crate::naming::validate_tags(&req.tags)?;
    max_wait::check(req.max_wait_seconds)?;
    crate::copy_within::check(req.copy_within_minutes)?;
    if let Some(p) = &req.project {
        crate::projects::require(env, p).await?;
    }
    if !crate::naming::region_shape_ok(region) {
        return Err(crate::regions::not_a_region(region));
    }
    if let Ok(existing) = catalogue.get(&req.template) {
        if !existing.raw.is_saved() {
            return Err(OpsError::invalid(
                format!(
                    "'{}' is the name of a {} template, not a saved one",
                    req.template,
                    if matches!(existing.origin, prism_templates::Origin::Builtin) {
                        "built-in"
                    } else {
                        "user-written"
                    }
                ),
                Some("choose another template name".to_string()),
            ));
        }
    }
    locks::ensure_free(
        env,
        &locks::workstation(&req.workstation),
        &format!("workstation '{}'", req.workstation),
    )
    .await?;
    locks::ensure_free(
        env,
        &locks::template(&req.template),
        &format!("template '{}'", req.template),
    )
    .await?;
    let cloud = env.clouds.cloud(req.aws.profile.as_deref()).await?;
    // A new version keeps its audience: without --copy-to-regions (and unless --no-inherit)
    // it goes to every region the previous version reached, and gets its sharing.
    let previous = if req.no_inherit {
        None
    } else {
        previous_version(catalogue, &req.template)
    };
    let mut wanted: Vec<String> = req.copy_to_regions.clone();
    let mut inherited_regions = false;
    if wanted.is_empty() {
        if let Some(p) = &previous {
            wanted = p.ami_config.amis.keys().cloned().collect();
            inherited_regions = !wanted.is_empty();
        }
    }
    let mut copy_regions: Vec<String> = Vec::new();
    for r in &wanted {
        let r = r.trim().to_string();
        if r.is_empty() || copy_regions.contains(&r) {
            continue;
        }
        copy_regions.push(r);
    }
    crate::kms::check_keys(&req.kms_keys, &copy_regions)?;
    // One DescribeRegions for all copy regions.
    crate::regions::check_all(cloud.as_ref(), &copy_regions).await?;
    let found = find_workstation(env, cloud.as_ref(), &req.workstation, region).await?;
    let inst = found.instance;
    copy_regions.retain(|r| *r != found.region);
    let (inherited_share, inherited_public) = match &previous {
        Some(p) => inherited_sharing(cloud.as_ref(), p).await?,
        None => (prism_cloud::Share::default(), false),
    };
    copy_regions.retain(|r| *r != found.region);
    let state = inst.state;
    if !matches!(state, InstanceState::Running | InstanceState::Stopped) {
        return Err(OpsError::invalid(
            format!(
                "workstation '{}' is {state}; only a running or stopped workstation can be saved",
                req.workstation
            ),
            Some("wait until it is running or stopped (prism list), then save again".to_string()),
        ));
    }
    let from_catalogue = catalogue
        .versions(&req.template)
        .iter()
        .filter_map(|e| e.raw.version.as_deref()?.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    let version = env
        .store
        .max_template_version(&req.template)
        .await?
        .max(from_catalogue)
        + 1;
    let identity = retry(|| cloud.caller_identity(&found.region)).await?;
    let original_template = inst.tags.get(tags::TEMPLATE).cloned();
    let base_template = original_template
        .as_deref()
        .and_then(|t| catalogue.get(t).ok())
        .and_then(|e| serde_json::to_value(&e.template).ok());
    let op_id = uuid::Uuid::new_v4().to_string();
    let volume_gb: i64 = inst
        .volume_sizes_gb
        .iter()
        .map(|v| *v as i64)
        .sum::<i64>()
        .max(1);
    let input = SaveInput {
        workstation: req.workstation.clone(),
        instance_id: inst.id.clone(),
        region: found.region.clone(),
        profile: req.aws.profile.clone(),
        template: req.template.clone(),
        version,
        description: req.description.clone(),
        copy_to_regions: copy_regions.clone(),
        project: req
            .project
            .clone()
            .or_else(|| inst.tags.get(tags::PROJECT).cloned()),
        public: req.public || inherited_public,
        mode: req.mode,
        extra_tags: req.tags.clone(),
        original_state: state.as_str().to_string(),
        original_template,
        original_template_version: inst.tags.get(tags::TEMPLATE_VERSION).cloned(),
        arch: inst.architecture.clone(),
        instance_type: inst.instance_type.clone(),
        volume_gb,
        image_name: image_label::image_name(&req.template, version, &op_id),
        saved_by: identity.arn,
        saved_at: clock::now_rfc3339(),
        base_template,
        max_wait_seconds: req.max_wait_seconds,
        kms_keys: req.kms_keys.clone(),
        inherited_share: inherited_share.clone(),
        copy_within_minutes: req.copy_within_minutes,
        gpu_ready: inst.tags.get(tags::GPU_READY).map(String::as_str) == Some("true"),
    };
    let mut warnings = vec![];
    if let Some(p) = &input.project {
        warnings.extend(
            crate::projects::budget_check(
                env,
                catalogue,
                p,
                req.aws.profile.as_deref(),
                region,
                req.over_budget,
            )
            .await?,
        );
    }
    if let Some(p) = &previous {
        let from = format!("{}@{}", p.name, p.version.as_deref().unwrap_or("?"));
        if inherited_regions && !copy_regions.is_empty() {
            warnings.push(format!(
                "copied to {} as {from} was (--copy-to-regions to choose, --no-inherit for none)",
                copy_regions.join(", ")
            ));
        }
        let mut who: Vec<String> = inherited_share.accounts.clone();
        who.extend(inherited_share.organizations.iter().cloned());
        who.extend(inherited_share.organizational_units.iter().cloned());
        if inherited_public {
            who.push("everyone (public)".into());
        }
        if !who.is_empty() {
            warnings.push(format!(
                "shared with {} as {from} is (--no-inherit to keep it private)",
                who.join(", ")
            ));
        }
    }
    // EC2's limits are checked here, before the workstation stops: an image description over
    // 255 characters or a tag value over 256 would be refused after the downtime began.
    if let Some(d) = req.description.as_deref() {
        let (_, cut) = input.image_description();
        if cut || d.chars().count() > tags::MAX_TAG_VALUE {
            warnings.push(format!(
                "the description is {} characters; EC2 keeps at most {} on an image and {} in a tag, so the image and its prism:description tag get its beginning — the template file keeps all of it",
                d.chars().count(),
                tags::MAX_IMAGE_DESCRIPTION,
                tags::MAX_TAG_VALUE
            ));
        }
    }
    if req.mode == CaptureMode::Live {
        warnings.push("live mode does not stop the workstation: the image is crash-consistent (like pulling the plug); files being written may be incomplete".to_string());
    }
    if req.mode == CaptureMode::Reboot && state == InstanceState::Running {
        warnings.push(
            "reboot mode: EC2 reboots the workstation in place while it takes the image"
                .to_string(),
        );
    }
    let mut regions = vec![found.region.clone()];
    regions.extend(copy_regions.iter().cloned());
    if req.public || inherited_public {
        for r in &regions {
            warnings.extend(crate::share::public_sharing_allowed(cloud.as_ref(), r).await?);
        }
    }
    let copy_wait_seconds = if copy_regions.is_empty() {
        0
    } else {
        max_wait::backoff(&env.config.copy_wait, req.max_wait_seconds)
            .deadline
            .as_secs()
    };
    let time_based_copy = match req.copy_within_minutes {
        Some(m) if !copy_regions.is_empty() => {
            warnings.extend(crate::copy_within::wait_warning(Some(m), copy_wait_seconds));
            Some(crate::copy_within::plan(m, volume_gb, &copy_regions))
        }
        Some(_) => {
            warnings.push(
                "--copy-within has no effect: the save copies to no other region".to_string(),
            );
            None
        }
        None => None,
    };
    let plan = SavePlan {
        workstation: req.workstation.clone(),
        instance_id: inst.id.clone(),
        region: found.region.clone(),
        state: state.as_str().into(),
        template: req.template.clone(),
        version,
        mode: req.mode,
        will_stop: input.stops(),
        // EC2 typically stops a workstation in ~1 min and starts it in ~1 min.
        estimated_downtime_seconds: input.stops().then_some(120),
        regions: regions.clone(),
        volume_gb,
        estimated_monthly_cost_usd: monthly_cost(env, volume_gb, regions.len()),
        image_wait_seconds: max_wait::backoff(&env.config.image_wait, req.max_wait_seconds)
            .deadline
            .as_secs(),
        copy_wait_seconds,
        time_based_copy,
        warnings,
    };
    let op = NewOperation {
        id: op_id,
        kind: KIND.into(),
        target: req.workstation.clone(),
        lock_keys: vec![
            locks::workstation(&req.workstation),
            locks::template(&req.template),
        ],
        input: serde_json::to_value(&input).map_err(|e| OpsError::Internal(e.to_string()))?,
    };
    Ok((plan, op))
}

/// Upper bound of the monthly snapshot storage of `volume_gb` in `regions` regions, USD.
pub(super) fn monthly_cost(env: &Env, volume_gb: i64, regions: usize) -> f64 {
    // Upper bound: EBS snapshots are incremental, but the first one of a volume is full-size.
    let c = volume_gb as f64 * regions as f64 * env.config.snapshot_usd_per_gb_month;
    (c * 100.0).round() / 100.0
}

/// The latest saved version of `template` in the catalogue, if any.
fn previous_version(catalogue: &Catalogue, template: &str) -> Option<prism_templates::Template> {
    catalogue
        .versions(template)
        .into_iter()
        .filter(|e| e.raw.is_saved())
        .max_by_key(|e| {
            e.raw
                .version
                .as_deref()
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        })
        .map(|e| e.raw.clone())
}

/// Who may launch the previous version (its first image that still exists): accounts,
/// organizations, OUs, and whether it is public.
async fn inherited_sharing(
    cloud: &dyn prism_cloud::Cloud,
    previous: &prism_templates::Template,
) -> Result<(prism_cloud::Share, bool), OpsError> {
    for (region, by_arch) in &previous.ami_config.amis {
        for id in by_arch.values() {
            let Some(img) = crate::images::lookup(cloud, region, id).await? else {
                continue;
            };
            let mut share = retry(|| cloud.launch_permissions(region, id)).await?;
            let public = share.public || img.public;
            share.public = false;
            return Ok((share, public));
        }
    }
    Ok((prism_cloud::Share::default(), false))
}
