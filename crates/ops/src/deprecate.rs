//! Deprecating a saved version (`prism template deprecate T@N [--replacement T@M] [--at TIME]`)
//! and cancelling that (`prism template undeprecate T@N`).
//!
//! A deprecation sets EC2's deprecation time on the version's image in every region
//! (`EnableImageDeprecation`), tags each image `prism:deprecated` (and `prism:replacement`)
//! so that recipients read it from EC2, and records it in the version's template file, which
//! the catalogue reads: `T` never resolves to a deprecated version, and a launch of `T@N`
//! warns and names the replacement. A deprecation is all-or-nothing like a share: when a
//! region fails, the images already changed get their previous deprecation back and the file
//! is left as it was. A cancellation has no undo (as an unshare): running it again finishes it.
//!
//! EC2 semantics relied on (EC2 API reference, EnableImageDeprecation): `DeprecateAt` cannot be
//! in the past and is at most 10 years ahead (2 years after creation for a public image);
//! seconds are rounded to the minute. A deprecated AMI can still be launched by id and stays
//! shared (user guide, "Deprecate an Amazon EC2 AMI").

use crate::backoff::retry;
use crate::context::{Env, StepCx};
use crate::error::{OpsError, StepError};
use crate::locks;
use crate::output::StepOutput;
use crate::saga::{step, Saga, TypedStep};
use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use prism_api::{DeprecatePlan, DeprecateRequest, RegionImage, RegionOutcome};
use prism_cloud::{tags, CloudErrorKind, ImageState, Tags};
use prism_store::NewOperation;
use prism_templates::{Catalogue, Deprecation};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::marker::PhantomData;

/// Operation kind of a deprecation.
pub const KIND_DEPRECATE: &str = "deprecate.v1";
/// Operation kind of a cancelled deprecation.
pub const KIND_UNDEPRECATE: &str = "undeprecate.v1";
/// Steps of [`saga`] (both kinds) that make a mutating AWS call and mark it with `cx.acted()`
/// (a `KIND:STEP:acted` crash point), and steps that journal sub-records (`cx.record`). Read by
/// `registry::acting_steps`; `registry::tests` checks them.
pub const ACTING_STEPS: &[&str] = &["deprecate_images", "undeprecate_images"];
/// See [`ACTING_STEPS`].
pub const RECORDING_STEPS: &[&str] = &["deprecate_images", "undeprecate_images"];
/// Labelled crash points `KIND:STEP:acted:LABEL` (`cx.acted_at("LABEL")`): between the
/// deprecation call and the tags of one region.
pub const ACTED_AT: &[(&str, &str)] = &[
    ("deprecate_images", "deprecation"),
    ("undeprecate_images", "deprecation"),
];

/// Days ahead EC2 accepts for a private image's `DeprecateAt` (10 years).
const MAX_DAYS_PRIVATE: i64 = 3652;
/// Days after its creation EC2 accepts for a public image's `DeprecateAt` (2 years).
const MAX_DAYS_PUBLIC: i64 = 730;
/// How far in the future the time sent to EC2 is at least: EC2 refuses a time in the past,
/// and "now" is in the past by the time the request arrives (or the operation resumes).
const EC2_LEAD_SECONDS: i64 = 60;

/// The saga (`remove`: the cancellation's): images first, then the file (names are
/// persisted: never rename one).
pub fn saga(remove: bool) -> Saga {
    Saga {
        kind: if remove {
            KIND_UNDEPRECATE
        } else {
            KIND_DEPRECATE
        },
        steps: if remove {
            vec![
                step(
                    "undeprecate_images",
                    "cancelling the deprecation of every region's image",
                    Images::<UndeprecateImagesOut>::new(),
                ),
                step(
                    "clear_file",
                    "removing the deprecation from the template file",
                    File::<ClearFileOut>::new(),
                ),
            ]
        } else {
            vec![
                step(
                    "deprecate_images",
                    "deprecating every region's image",
                    Images::<DeprecateImagesOut>::new(),
                ),
                step(
                    "record_file",
                    "recording the deprecation in the template file",
                    File::<RecordFileOut>::new(),
                ),
            ]
        },
        finish: |cx| {
            let i: DeprecateInput = cx.input()?;
            let regions = if i.remove {
                cx.need::<UndeprecateImagesOut>()?.regions
            } else {
                cx.need::<DeprecateImagesOut>()?.regions
            };
            Ok(json!({
                "template": i.template,
                "version": i.version,
                "remove": i.remove,
                "at": i.at,
                "replacement": i.replacement,
                "regions": regions,
            }))
        },
    }
}

/// Output of `deprecate_images`: every region's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeprecateImagesOut {
    /// One outcome per image.
    pub regions: Vec<RegionOutcome>,
}

impl StepOutput for DeprecateImagesOut {
    const STEP: &'static str = "deprecate_images";
}

/// Output of `undeprecate_images`: every region's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UndeprecateImagesOut {
    /// One outcome per image.
    pub regions: Vec<RegionOutcome>,
}

impl StepOutput for UndeprecateImagesOut {
    const STEP: &'static str = "undeprecate_images";
}

/// Output of `record_file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordFileOut {
    /// The file written (`None`: the version has no file here).
    pub file: Option<String>,
}

impl StepOutput for RecordFileOut {
    const STEP: &'static str = "record_file";
}

/// Output of `clear_file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClearFileOut {
    /// The file written (`None`: the version has no file here).
    pub file: Option<String>,
}

impl StepOutput for ClearFileOut {
    const STEP: &'static str = "clear_file";
}

/// What a deprecation needs; journaled as its input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeprecateInput {
    /// Template name.
    pub template: String,
    /// Version.
    pub version: String,
    /// Profile.
    pub profile: Option<String>,
    /// The version's images.
    pub images: Vec<RegionImage>,
    /// From when (RFC 3339, UTC); for a cancellation, the deprecation being cancelled.
    pub at: Option<String>,
    /// The replacement (`T@M`).
    pub replacement: Option<String>,
    /// Cancel instead.
    pub remove: bool,
    /// Each image's EC2 deprecation time before the operation (by image id): an undone
    /// deprecation puts it back when it is still in the future, else clears it.
    pub before: BTreeMap<String, Option<String>>,
}

fn invalid(message: String, hint: &str) -> OpsError {
    OpsError::invalid(message, Some(hint.to_string()))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `--at`: RFC 3339 (any offset) or a date (midnight UTC).
pub fn parse_at(s: &str) -> Result<DateTime<Utc>, OpsError> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    Err(invalid(
        format!("--at {s:?} is not a time"),
        "give an RFC 3339 time (2027-01-31T12:00:00Z) or a date (2027-01-31, midnight UTC)",
    ))
}

/// The version's image in each region, from its template file.
fn version_images(t: &prism_templates::Template) -> Vec<RegionImage> {
    t.ami_config
        .amis
        .iter()
        .flat_map(|(region, by_arch)| {
            by_arch.values().map(move |id| RegionImage {
                region: region.clone(),
                image_id: id.clone(),
            })
        })
        .collect()
}

/// The warning for launching `t` when it is deprecated (now), naming its replacement.
pub fn launch_warning(t: &prism_templates::Template) -> Option<String> {
    let d = t
        .deprecation
        .as_ref()
        .filter(|d| d.in_effect_at(Utc::now()))?;
    let reference = format!("{}@{}", t.id(), t.version.as_deref().unwrap_or("1"));
    Some(match &d.replacement {
        Some(r) => format!(
            "{reference} is deprecated (since {}); its owner names {r} instead: prism launch {r} NAME",
            d.at
        ),
        None => format!(
            "{reference} is deprecated (since {}); its owner names no replacement: see prism template versions {}",
            d.at,
            t.id()
        ),
    })
}

/// Checks a deprecation or its cancellation; returns its plan and the operation to submit.
/// Nothing changes.
pub async fn prepare(
    env: &Env,
    catalogue: &Catalogue,
    req: &DeprecateRequest,
) -> Result<(DeprecatePlan, NewOperation), OpsError> {
    let verb = if req.remove {
        "undeprecate"
    } else {
        "deprecate"
    };
    if !req.template.contains('@') {
        return Err(invalid(
            format!("which version of '{}'?", req.template),
            &format!(
                "name it: prism template {verb} {}@N (list them with: prism template versions {})",
                req.template, req.template
            ),
        ));
    }
    let (t, version) = crate::saved::saved_version(catalogue, &req.template, verb)?;
    let id = t.id().to_string();
    let now = Utc::now();
    let mut warnings = vec![];
    let (at, replacement) = if req.remove {
        if req.replacement.is_some() || req.at.is_some() {
            return Err(invalid(
                "undeprecate takes no --replacement or --at".into(),
                &format!("prism template undeprecate {id}@{version}"),
            ));
        }
        let Some(d) = &t.deprecation else {
            return Err(invalid(
                format!("{id}@{version} is not deprecated"),
                &format!("see its versions with: prism template versions {id}"),
            ));
        };
        (Some(d.at.clone()), d.replacement.clone())
    } else {
        if let Some(d) = &t.deprecation {
            return Err(invalid(
                format!(
                    "{id}@{version} is already deprecated (from {}{})",
                    d.at,
                    d.replacement
                        .as_deref()
                        .map(|r| format!(", replaced by {r}"))
                        .unwrap_or_default()
                ),
                &format!(
                    "to change it, cancel it first: prism template undeprecate {id}@{version}"
                ),
            ));
        }
        let at = match &req.at {
            None => now,
            Some(s) => {
                let at = parse_at(s)?;
                // EC2 refuses a DeprecateAt in the past; a minute's slack for a clock read
                // twice (the time sent to EC2 is moved forward by EC2_LEAD_SECONDS anyway).
                if at < now - Duration::seconds(EC2_LEAD_SECONDS) {
                    return Err(invalid(
                        format!("--at {s} is in the past; EC2 only accepts a future time"),
                        "omit --at to deprecate it now, or give a later time",
                    ));
                }
                if at > now + Duration::days(MAX_DAYS_PRIVATE) {
                    return Err(invalid(
                        format!("--at {s} is more than 10 years ahead, later than EC2 allows"),
                        "give a time within 10 years",
                    ));
                }
                at
            }
        };
        let replacement = match &req.replacement {
            None => None,
            Some(r) => Some(check_replacement(catalogue, &id, &version, r)?),
        };
        (Some(rfc3339(at)), replacement)
    };
    locks::ensure_free(env, &locks::template(&id), &format!("template '{id}'")).await?;
    let images = version_images(t);
    if images.is_empty() {
        return Err(invalid(
            format!("{id}@{version} lists no image"),
            "check the template file with: prism template validate FILE",
        ));
    }
    let cloud = env.clouds.cloud(req.aws.profile.as_deref()).await?;
    let mut before = BTreeMap::new();
    let mut own_account = None;
    for img in &images {
        let found = crate::images::lookup(cloud.as_ref(), &img.region, &img.image_id).await?;
        let Some(found) = found.filter(|i| i.state != ImageState::Deregistered) else {
            return Err(OpsError::not_found(
                format!(
                    "image {} of {id}@{version} no longer exists in {}",
                    img.image_id, img.region
                ),
                Some("refresh the catalogue with: prism templates --refresh".to_string()),
            ));
        };
        if own_account.is_none() {
            own_account = Some(retry(|| cloud.caller_identity(&img.region)).await?.account);
        }
        if found.owner_id.is_some() && found.owner_id != own_account {
            return Err(invalid(
                format!(
                    "image {} of {id}@{version} in {} belongs to account {}; only its owner can {verb} it",
                    img.image_id,
                    img.region,
                    found.owner_id.as_deref().unwrap_or("?")
                ),
                "ask the template's owner",
            ));
        }
        if !req.remove && found.public {
            // EnableImageDeprecation: a public AMI's DeprecateAt is at most 2 years after
            // its creation.
            let created = found
                .creation_date
                .as_deref()
                .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
                .map(|d| d.with_timezone(&Utc));
            if let (Some(created), Some(at)) = (created, at.as_deref().map(parse_at)) {
                let limit = created + Duration::days(MAX_DAYS_PUBLIC);
                if at? > limit {
                    return Err(invalid(
                        format!(
                            "image {} in {} is public, and EC2 deprecates a public image at most 2 years after its creation ({})",
                            img.image_id,
                            img.region,
                            rfc3339(limit)
                        ),
                        &format!("give --at {} or earlier", rfc3339(limit)),
                    ));
                }
            }
        }
        before.insert(img.image_id.clone(), found.deprecation_time.clone());
    }
    // What `T` names once this is done.
    let latest_after = catalogue
        .versions(&id)
        .into_iter()
        .rev()
        .find(|e| {
            let v = e.template.version.clone().unwrap_or_default();
            if v == version {
                req.remove
                    || at
                        .as_deref()
                        .and_then(|a| DateTime::parse_from_rfc3339(a).ok())
                        .is_some_and(|a| a > now)
            } else {
                !e.template.is_deprecated()
            }
        })
        .and_then(|e| e.template.version.clone())
        .map(|v| format!("{id}@{v}"));
    if !req.remove && latest_after.is_none() {
        warnings.push(format!(
            "every version of {id} is then deprecated: `{id}` alone names none, only {id}@N does"
        ));
    }
    if !req.remove && replacement.is_none() {
        warnings.push(format!(
            "no --replacement: people launching {id}@{version} are not told what to use instead"
        ));
    }
    let plan = DeprecatePlan {
        template: id.clone(),
        version: version.clone(),
        images: images.clone(),
        at: at.clone(),
        replacement: replacement.clone(),
        remove: req.remove,
        latest_after,
        warnings,
    };
    let input = DeprecateInput {
        template: id.clone(),
        version: version.clone(),
        profile: req.aws.profile.clone(),
        images,
        at,
        replacement,
        remove: req.remove,
        before,
    };
    let op = NewOperation {
        id: uuid::Uuid::new_v4().to_string(),
        kind: if req.remove {
            KIND_UNDEPRECATE
        } else {
            KIND_DEPRECATE
        }
        .into(),
        target: format!("{id}@{version}"),
        lock_keys: vec![locks::template(&id)],
        input: serde_json::to_value(&input).map_err(|e| OpsError::Internal(e.to_string()))?,
    };
    Ok((plan, op))
}

/// The replacement `r` of `id@version`, pinned (`T@M`): it must exist, be another version,
/// and not be deprecated itself (nor scheduled to be).
fn check_replacement(
    catalogue: &Catalogue,
    id: &str,
    version: &str,
    r: &str,
) -> Result<String, OpsError> {
    let entry = catalogue.get(r).map_err(|e| {
        OpsError::not_found(
            format!("replacement {r}: {e}"),
            Some(format!(
                "name an existing version: prism template versions {}",
                r.split('@').next().unwrap_or(r)
            )),
        )
    })?;
    let t = &entry.template;
    let pinned = format!("{}@{}", t.id(), t.version.as_deref().unwrap_or("1"));
    if pinned == format!("{id}@{version}") {
        return Err(invalid(
            format!("{pinned} cannot replace itself"),
            "name a newer version as --replacement",
        ));
    }
    if let Some(d) = &t.deprecation {
        return Err(invalid(
            format!(
                "replacement {pinned} is itself deprecated (from {}{})",
                d.at,
                d.replacement
                    .as_deref()
                    .map(|r| format!("; it names {r}"))
                    .unwrap_or_default()
            ),
            "name a version that is not deprecated",
        ));
    }
    Ok(pinned)
}

/// What the images step does, by its output type.
trait ImagesOut: StepOutput + Sync {
    /// Cancel instead of deprecate.
    const REMOVE: bool;
    fn new(regions: Vec<RegionOutcome>) -> Self;
}

impl ImagesOut for DeprecateImagesOut {
    const REMOVE: bool = false;
    fn new(regions: Vec<RegionOutcome>) -> Self {
        DeprecateImagesOut { regions }
    }
}

impl ImagesOut for UndeprecateImagesOut {
    const REMOVE: bool = true;
    fn new(regions: Vec<RegionOutcome>) -> Self {
        UndeprecateImagesOut { regions }
    }
}

/// The tag keys a deprecation sets.
fn tag_keys() -> Vec<String> {
    vec![tags::DEPRECATED.to_string(), tags::REPLACEMENT.to_string()]
}

/// The time sent to EC2: the requested one, or a minute from now when that is sooner (EC2
/// refuses a time in the past).
fn ec2_time(at: Option<&str>) -> DateTime<Utc> {
    let soonest = Utc::now() + Duration::seconds(EC2_LEAD_SECONDS);
    at.and_then(|a| DateTime::parse_from_rfc3339(a).ok())
        .map(|a| a.with_timezone(&Utc))
        .map_or(soonest, |a| a.max(soonest))
}

/// The images step: every region, each journaled as it ends.
struct Images<O>(PhantomData<fn() -> O>);

impl<O> Images<O> {
    fn new() -> Self {
        Images(PhantomData)
    }
}

/// One image: deprecate (time, then tags) or cancel (time, then tags).
async fn apply_one(
    cx: &StepCx,
    cloud: &dyn prism_cloud::Cloud,
    i: &DeprecateInput,
    img: &RegionImage,
    remove: bool,
) -> Result<(), prism_cloud::CloudError> {
    let ids = [img.image_id.clone()];
    if remove {
        retry(|| cloud.disable_image_deprecation(&img.region, &img.image_id)).await?;
        cx.acted_at("deprecation");
        let keys = tag_keys();
        retry(|| cloud.delete_tags(&img.region, &ids, &keys)).await?;
    } else {
        let at = ec2_time(i.at.as_deref());
        retry(|| cloud.enable_image_deprecation(&img.region, &img.image_id, at)).await?;
        cx.acted_at("deprecation");
        let mut t = Tags::new();
        t.insert(
            tags::DEPRECATED.to_string(),
            i.at.clone().unwrap_or_else(|| rfc3339(at)),
        );
        if let Some(r) = &i.replacement {
            t.insert(tags::REPLACEMENT.to_string(), r.clone());
        }
        retry(|| cloud.create_tags(&img.region, &ids, &t)).await?;
    }
    Ok(())
}

#[async_trait]
impl<O: ImagesOut> TypedStep for Images<O> {
    type Out = O;
    async fn run(&self, cx: &StepCx) -> Result<O, StepError> {
        let i: DeprecateInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let outcomes = futures_util::future::join_all(i.images.iter().map(|img| {
            let (cloud, i) = (cloud.clone(), &i);
            async move {
                let res = apply_one(cx, cloud.as_ref(), i, img, O::REMOVE).await;
                let out = RegionOutcome {
                    region: img.region.clone(),
                    image_id: Some(img.image_id.clone()),
                    status: match (&res, O::REMOVE) {
                        (Err(_), _) => "failed",
                        (Ok(()), true) => "undeprecated",
                        (Ok(()), false) => "deprecated",
                    }
                    .into(),
                    error: res.err().map(|e| e.to_string()),
                };
                // Best effort: the step's output holds every outcome anyway.
                let _ = cx.record(&img.region, &out).await;
                out
            }
        }))
        .await;
        cx.acted();
        let failed: Vec<String> = outcomes
            .iter()
            .filter_map(|o| Some(format!("{}: {}", o.region, o.error.as_deref()?)))
            .collect();
        if !failed.is_empty() {
            let undone = if O::REMOVE {
                "the regions that succeeded stay undeprecated; run it again to retry"
            } else {
                "the regions already changed get their previous state back"
            };
            return Err(StepError::Terminal(format!(
                "{} failed in {} of {} regions ({undone}): {}",
                O::STEP,
                failed.len(),
                outcomes.len(),
                failed.join("; ")
            )));
        }
        Ok(O::new(outcomes))
    }

    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        if O::REMOVE {
            return Ok(());
        }
        let i: DeprecateInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let now = Utc::now() + Duration::seconds(EC2_LEAD_SECONDS);
        for img in &i.images {
            let previous = i
                .before
                .get(&img.image_id)
                .cloned()
                .flatten()
                .and_then(|b| DateTime::parse_from_rfc3339(&b).ok())
                .map(|b| b.with_timezone(&Utc))
                .filter(|b| *b > now);
            let res = match previous {
                Some(b) => {
                    retry(|| cloud.enable_image_deprecation(&img.region, &img.image_id, b)).await
                }
                None => retry(|| cloud.disable_image_deprecation(&img.region, &img.image_id)).await,
            };
            match res {
                Ok(()) => {}
                Err(e) if e.kind == CloudErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            }
            let ids = [img.image_id.clone()];
            let keys = tag_keys();
            match retry(|| cloud.delete_tags(&img.region, &ids, &keys)).await {
                Ok(()) => {}
                Err(e) if e.kind == CloudErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// What the file step does, by its output type.
trait FileOut: StepOutput + Sync {
    /// Clear the deprecation instead of recording it.
    const REMOVE: bool;
    fn new(file: Option<String>) -> Self;
}

impl FileOut for RecordFileOut {
    const REMOVE: bool = false;
    fn new(file: Option<String>) -> Self {
        RecordFileOut { file }
    }
}

impl FileOut for ClearFileOut {
    const REMOVE: bool = true;
    fn new(file: Option<String>) -> Self {
        ClearFileOut { file }
    }
}

/// The file step: sets (or clears) `deprecation` in the version's template file.
struct File<O>(PhantomData<fn() -> O>);

impl<O> File<O> {
    fn new() -> Self {
        File(PhantomData)
    }
}

/// Rewrites the version's file (atomically) with `deprecation`; `None` when it has no file.
async fn write_deprecation(
    env: &Env,
    i: &DeprecateInput,
    deprecation: Option<Deprecation>,
) -> Result<Option<String>, StepError> {
    let file = prism_templates::saved_file_name(&i.template, &i.version);
    let path = env.template_dir.join(&file);
    let text = match tokio::fs::read_to_string(&path).await {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(StepError::Internal(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    let mut t = prism_templates::parse_template(&text, &path.display().to_string())
        .map_err(|e| StepError::Internal(e.to_string()))?
        .template;
    t.deprecation = deprecation;
    let yaml = t
        .to_yaml()
        .map_err(|e| StepError::Internal(e.to_string()))?;
    let dir = env.template_dir.clone();
    let written =
        tokio::task::spawn_blocking(move || prism_templates::write_atomically(&dir, &file, &yaml))
            .await
            .map_err(|e| StepError::Internal(e.to_string()))?
            .map_err(|e| StepError::Internal(e.to_string()))?;
    Ok(Some(written.display().to_string()))
}

#[async_trait]
impl<O: FileOut> TypedStep for File<O> {
    type Out = O;
    async fn run(&self, cx: &StepCx) -> Result<O, StepError> {
        let i: DeprecateInput = cx.input()?;
        let d = (!O::REMOVE).then(|| Deprecation {
            at: i.at.clone().unwrap_or_default(),
            replacement: i.replacement.clone(),
        });
        Ok(O::new(write_deprecation(&cx.env, &i, d).await?))
    }

    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        if O::REMOVE {
            return Ok(());
        }
        let i: DeprecateInput = cx.input()?;
        write_deprecation(&cx.env, &i, None).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_takes_rfc3339_or_a_date() {
        assert_eq!(
            rfc3339(parse_at("2030-01-31").unwrap()),
            "2030-01-31T00:00:00Z"
        );
        assert_eq!(
            rfc3339(parse_at("2030-01-31T12:00:00+02:00").unwrap()),
            "2030-01-31T10:00:00Z"
        );
        let e = parse_at("next tuesday").unwrap_err().to_string();
        assert!(e.contains("not a time"), "{e}");
    }

    #[test]
    fn the_time_sent_to_ec2_is_never_in_the_past() {
        let soon = Utc::now() + Duration::seconds(EC2_LEAD_SECONDS - 1);
        assert!(ec2_time(Some("2001-01-01T00:00:00Z")) > soon);
        assert!(ec2_time(None) > soon);
        assert_eq!(
            rfc3339(ec2_time(Some("2099-01-01T00:00:00Z"))),
            "2099-01-01T00:00:00Z"
        );
    }
}
