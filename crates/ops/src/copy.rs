//! The copy operation (`prism template copy`): adds a region to a saved version, or retries
//! one whose copy failed during the save. The copy itself is [`crate::copy_image`].

use crate::context::{Env, StepCx};
use crate::copy_image::{copy_to_region, CopySpec};
use crate::error::{OpsError, StepError};
use crate::images;
use crate::locks;
use crate::max_wait;
use crate::output::StepOutput;
use crate::saga::{step, Saga, TypedStep};
use crate::save::template_file::{register_amis, unregister_amis, RegisterOut, RegisterTarget};
use async_trait::async_trait;
use prism_api::RegionOutcome;
use prism_cloud::tags;
use prism_store::NewOperation;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Operation kind.
pub const KIND: &str = "copy.v1";

/// Steps of [`saga`] that make a mutating AWS call and mark it with `cx.acted()` (a
/// `copy.v1:STEP:acted` crash point), and steps that journal sub-records (`cx.record`).
/// Read by `registry::acting_steps`; `registry::tests` checks them against the code.
pub const ACTING_STEPS: &[&str] = &["copy"];
/// See [`ACTING_STEPS`].
pub const RECORDING_STEPS: &[&str] = &[];

/// Labelled crash points `KIND:STEP:acted:LABEL` (`cx.acted_at("LABEL")`) of steps that make
/// more than one kind of mutating call. Read by `registry::acted_points`; checked likewise.
pub const ACTED_AT: &[(&str, &str)] = &[("copy", "tag")];

/// The copy saga: its steps in order (names are persisted: never rename one).
pub fn saga() -> Saga {
    Saga {
        kind: KIND,
        steps: vec![
            step("copy", "copying the image", CopyStep),
            step("register", "adding the region to the template", Register),
        ],
        finish: |cx| {
            let i: CopyInput = cx.input()?;
            let out: CopyOut = cx.need()?;
            let mut r = json!({ "template": i.template, "version": i.version, "region": out.0 });
            if let Some(p) = &i.time_based_copy {
                r["time_based_copy"] = json!(p);
            }
            Ok(r)
        },
    }
}

/// Output of `copy`: the region's outcome (journaled as the outcome itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CopyOut(pub RegionOutcome);

impl StepOutput for CopyOut {
    const STEP: &'static str = "copy";
}

/// Input of `prism template copy`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CopyInput {
    /// Template name.
    pub template: String,
    /// Version.
    pub version: String,
    /// Destination.
    pub dest_region: String,
    /// Profile.
    pub profile: Option<String>,
    /// What to copy.
    pub spec: CopySpec,
    /// Architecture of the image.
    pub arch: String,
    /// `--copy-within`: the time-based copy's deadline and estimated price (shown when the
    /// copy is submitted and in its result). Absent in journals written before it existed.
    #[serde(default)]
    pub time_based_copy: Option<prism_api::TimeBasedCopyPlan>,
    /// Size of the image's volumes, GiB (for the plan). Absent in older journals.
    #[serde(default)]
    pub size_gb: i64,
}

/// Checks a copy request against the catalogue and EC2.
pub async fn prepare(
    env: &Env,
    catalogue: &prism_templates::Catalogue,
    req: &prism_api::CopyRequest,
) -> Result<NewOperation, OpsError> {
    max_wait::check(req.max_wait_seconds)?;
    crate::copy_within::check(req.copy_within_minutes)?;
    let (t, version) = crate::saved::saved_version(catalogue, &req.template, "copy")?;
    let cloud = env.clouds.cloud(req.aws.profile.as_deref()).await?;
    let kms_keys: std::collections::BTreeMap<String, String> = req
        .kms_key
        .iter()
        .map(|k| (req.to_region.clone(), k.clone()))
        .collect();
    crate::kms::check_keys(&kms_keys, std::slice::from_ref(&req.to_region))?;
    crate::regions::check(cloud.as_ref(), &req.to_region).await?;
    if t.ami_config.amis.contains_key(&req.to_region) {
        return Err(OpsError::invalid(
            format!(
                "{}@{version} already has an image in {}",
                t.id(),
                req.to_region
            ),
            None,
        ));
    }
    let (source_region, arch, source_image) = t
        .ami_config
        .amis
        .iter()
        .flat_map(|(r, m)| {
            m.iter()
                .map(move |(a, id)| (r.clone(), a.clone(), id.clone()))
        })
        .next()
        .ok_or_else(|| OpsError::invalid(format!("template '{}' lists no image", t.id()), None))?;
    let img = images::get(cloud.as_ref(), &source_region, &source_image)
        .await
        .map_err(|e| OpsError::Internal(e.to_string()))?
        .ok_or_else(|| {
            OpsError::not_found(
                format!(
                    "image {source_image} of {}@{version} no longer exists in {source_region}",
                    t.id()
                ),
                None,
            )
        })?;
    let mut tags_ = img.tags.clone();
    tags_.retain(|k, _| k.starts_with("prism:") && k != tags::OPERATION);
    let input = CopyInput {
        template: t.id().to_string(),
        version: version.clone(),
        dest_region: req.to_region.clone(),
        profile: req.aws.profile.clone(),
        spec: CopySpec {
            source_region,
            source_image,
            image_name: img.name.clone(),
            description: copy_description(t, &version, img.description.as_deref()),
            tags: tags_,
            max_wait_seconds: req.max_wait_seconds,
            kms_keys,
            copy_within_minutes: req.copy_within_minutes,
        },
        arch,
        size_gb: img.size_gb,
        time_based_copy: req.copy_within_minutes.map(|m| {
            crate::copy_within::plan(m, img.size_gb, std::slice::from_ref(&req.to_region))
        }),
    };
    Ok(NewOperation {
        id: uuid::Uuid::new_v4().to_string(),
        kind: KIND.into(),
        target: format!("{}@{version}", t.id()),
        lock_keys: vec![locks::template(t.id())],
        input: serde_json::to_value(&input).map_err(|e| OpsError::Internal(e.to_string()))?,
    })
}

/// The plan of a prepared copy (what `template copy --dry-run` shows), read from its input.
pub fn plan_of(op: &NewOperation) -> Result<prism_api::CopyPlan, OpsError> {
    let i: CopyInput =
        serde_json::from_value(op.input.clone()).map_err(|e| OpsError::Internal(e.to_string()))?;
    Ok(prism_api::CopyPlan {
        template: i.template,
        version: i.version,
        source_region: i.spec.source_region,
        source_image: i.spec.source_image,
        to_region: i.dest_region,
        size_gb: i.size_gb,
        time_based_copy: i.time_based_copy,
    })
}

/// The copy's description: the `prism:v1` label of the saved version (from its template
/// file, which keeps the whole description and the lineage), so a copy of an image saved
/// before that format is labelled as new ones are; the source image's own description when
/// the version is not a saved version number.
fn copy_description(t: &prism_templates::Template, version: &str, source: Option<&str>) -> String {
    match version.parse::<u32>() {
        Ok(v) => {
            crate::image_label::encode_description(&crate::image_label::ImageLabel {
                template: t.id().to_string(),
                version: v,
                description: t.description.clone(),
                original_template: t.original_template.clone(),
                original_version: t.original_template_version.clone(),
                format: crate::image_label::LabelFormat::V1,
            })
            .0
        }
        Err(_) => tags::clamp_image_description(source.unwrap_or_default()).0,
    }
}

struct CopyStep;

#[async_trait]
impl TypedStep for CopyStep {
    type Out = CopyOut;
    async fn run(&self, cx: &StepCx) -> Result<CopyOut, StepError> {
        let i: CopyInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let out = copy_to_region(cx, cloud.as_ref(), &i.spec, &i.dest_region).await;
        if let Some(e) = &out.error {
            return Err(StepError::Terminal(format!(
                "copy to {} failed: {e}",
                i.dest_region
            )));
        }
        Ok(CopyOut(out))
    }
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        let i: CopyInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        if let Some(img) =
            images::find_by_name(cloud.as_ref(), &i.dest_region, &i.spec.image_name).await?
        {
            images::delete_with_snapshots(cloud.as_ref(), &i.dest_region, &img.id, &[], false)
                .await?;
        }
        Ok(())
    }
}

struct Register;

#[async_trait]
impl TypedStep for Register {
    type Out = RegisterOut;
    async fn run(&self, cx: &StepCx) -> Result<RegisterOut, StepError> {
        let i: CopyInput = cx.input()?;
        let CopyOut(out) = cx.need()?;
        let image_id = out.image_id.ok_or_else(|| {
            StepError::Internal(format!(
                "step copy succeeded without an image id in {}",
                i.dest_region
            ))
        })?;
        let path = register_amis(
            &cx.env,
            &RegisterTarget {
                template: i.template.clone(),
                version: i.version.clone(),
            },
            &[(i.dest_region.clone(), i.arch.clone(), image_id)],
        )
        .await?;
        Ok(RegisterOut { path })
    }

    /// Takes the copy's region back out of the file and cache row (the copy's own undo then
    /// deletes the image, which the template must no longer name).
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        let i: CopyInput = cx.input()?;
        let Some(CopyOut(out)) = cx.out()? else {
            return Ok(());
        };
        let Some(image_id) = out.image_id else {
            return Ok(());
        };
        unregister_amis(
            &cx.env,
            &RegisterTarget {
                template: i.template.clone(),
                version: i.version.clone(),
            },
            &[(i.dest_region.clone(), i.arch.clone(), image_id)],
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::copy_description;
    use crate::image_label::{decode, LabelFormat};

    #[test]
    fn a_copy_is_labelled_from_the_template_file_even_when_its_source_is_older() {
        let t = prism_templates::Template {
            name: "team-env".into(),
            version: Some("3".into()),
            description: Some("d".repeat(400)),
            original_template: Some("python-ml".into()),
            original_template_version: Some("2".into()),
            ..Default::default()
        };
        let d = copy_description(&t, "3", Some("Prism template team-env v3: ddd"));
        assert!(d.chars().count() <= prism_cloud::tags::MAX_IMAGE_DESCRIPTION);
        let l = decode("prism-team-env-v3-0123abcd", Some(&d)).unwrap();
        assert_eq!(l.format, LabelFormat::V1);
        assert_eq!(l.original_template.as_deref(), Some("python-ml"));
        assert_eq!(l.original_version.as_deref(), Some("2"));
        // Not a saved version number: the source's description, cut to EC2's limit.
        let d = copy_description(&t, "x1", Some(&"é".repeat(300)));
        assert_eq!(d.chars().count(), prism_cloud::tags::MAX_IMAGE_DESCRIPTION);
    }
}
