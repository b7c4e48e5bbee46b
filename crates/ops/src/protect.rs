//! Deregistration protection of a saved version (`prism template protect T[@N]
//! [--with-cooldown]`, `prism template unprotect T[@N]`): EC2's
//! `EnableImageDeregistrationProtection` / `DisableImageDeregistrationProtection` on its image
//! in every region. A protected version cannot be deleted: `template delete` (and prune, via
//! [`refuse_if_protected`]) refuses it before anything changes, naming `template unprotect`;
//! EC2 would refuse the `DeregisterImage` anyway.
//!
//! All-or-nothing like a share: when a region fails, the images this operation protected get
//! their protection lifted again. An unprotect has no undo; running it again finishes it.
//! EC2 semantics relied on (API reference, EnableImageDeregistrationProtection): a protected
//! AMI "can't be deregistered"; `WithCooldown` keeps it protected for 24 hours after
//! protection is disabled.

use crate::backoff::retry;
use crate::context::{Env, StepCx};
use crate::error::{OpsError, StepError};
use crate::locks;
use crate::output::StepOutput;
use crate::saga::{step, Saga, TypedStep};
use async_trait::async_trait;
use prism_api::{ProtectPlan, ProtectRequest, RegionImage, RegionOutcome};
use prism_cloud::{CloudErrorKind, Image, ImageState};
use prism_store::NewOperation;
use prism_templates::Catalogue;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::marker::PhantomData;

/// Operation kind of a protect.
pub const KIND_PROTECT: &str = "protect.v1";
/// Operation kind of an unprotect.
pub const KIND_UNPROTECT: &str = "unprotect.v1";
/// Steps of [`saga`] (both kinds) that make a mutating AWS call and mark it with `cx.acted()`,
/// and steps that journal sub-records (`cx.record`). Read by `registry`; checked there.
pub const ACTING_STEPS: &[&str] = &["protect_images", "unprotect_images"];
/// See [`ACTING_STEPS`].
pub const RECORDING_STEPS: &[&str] = &["protect_images", "unprotect_images"];
/// Labelled crash points: after one region's call.
pub const ACTED_AT: &[(&str, &str)] =
    &[("protect_images", "region"), ("unprotect_images", "region")];

/// The saga (`remove`: the unprotect's): one step (names are persisted: never rename one).
pub fn saga(remove: bool) -> Saga {
    Saga {
        kind: if remove { KIND_UNPROTECT } else { KIND_PROTECT },
        steps: if remove {
            vec![step(
                "unprotect_images",
                "lifting the deregistration protection of every region's image",
                Apply::<UnprotectImagesOut>::new(),
            )]
        } else {
            vec![step(
                "protect_images",
                "protecting every region's image from deregistration",
                Apply::<ProtectImagesOut>::new(),
            )]
        },
        finish: |cx| {
            let i: ProtectInput = cx.input()?;
            let regions = if i.remove {
                cx.need::<UnprotectImagesOut>()?.regions
            } else {
                cx.need::<ProtectImagesOut>()?.regions
            };
            Ok(json!({
                "template": i.template,
                "version": i.version,
                "remove": i.remove,
                "with_cooldown": i.with_cooldown,
                "regions": regions,
            }))
        },
    }
}

/// Output of `protect_images`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtectImagesOut {
    /// One outcome per image.
    pub regions: Vec<RegionOutcome>,
}

impl StepOutput for ProtectImagesOut {
    const STEP: &'static str = "protect_images";
}

/// Output of `unprotect_images`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnprotectImagesOut {
    /// One outcome per image.
    pub regions: Vec<RegionOutcome>,
}

impl StepOutput for UnprotectImagesOut {
    const STEP: &'static str = "unprotect_images";
}

/// What a protect or unprotect needs; journaled as its input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProtectInput {
    /// Template name.
    pub template: String,
    /// Version.
    pub version: String,
    /// Profile.
    pub profile: Option<String>,
    /// The version's images.
    pub images: Vec<RegionImage>,
    /// `WithCooldown`.
    pub with_cooldown: bool,
    /// Unprotect instead.
    pub remove: bool,
    /// Whether each image (by id) was protected before: an undone protect lifts only what
    /// it added.
    pub before: BTreeMap<String, bool>,
}

/// Refuses to delete `name@version` when `img` is protected from deregistration (for
/// `template delete` and prune): nothing has changed yet, and the message names the way out.
pub fn refuse_if_protected(img: &Image, name: &str, version: &str) -> Result<(), OpsError> {
    if !img.deregistration_protected() {
        return Ok(());
    }
    let state = img
        .deregistration_protection
        .as_deref()
        .unwrap_or("enabled");
    let cooldown = state.starts_with("disabled-until") || state == "enabled-with-cooldown";
    Err(OpsError::invalid(
        format!(
            "{name}@{version} is protected from deletion: its image {} in {} has deregistration protection ({state})",
            img.id, img.region
        ),
        Some(if cooldown {
            format!(
                "lift it with: prism template unprotect {name}@{version}; it was protected with a cooldown, so EC2 keeps it protected for 24 hours after that"
            )
        } else {
            format!("lift it first with: prism template unprotect {name}@{version}")
        }),
    ))
}

/// Checks a protect or unprotect; returns its plan and the operation. Nothing changes.
pub async fn prepare(
    env: &Env,
    catalogue: &Catalogue,
    req: &ProtectRequest,
) -> Result<(ProtectPlan, NewOperation), OpsError> {
    let verb = if req.remove { "unprotect" } else { "protect" };
    if req.remove && req.with_cooldown {
        return Err(OpsError::invalid(
            "--with-cooldown is for protect, not unprotect",
            Some(format!("prism template unprotect {}", req.template)),
        ));
    }
    let (t, version) = crate::saved::saved_version(catalogue, &req.template, verb)?;
    let id = t.id().to_string();
    locks::ensure_free(env, &locks::template(&id), &format!("template '{id}'")).await?;
    let images: Vec<RegionImage> = t
        .ami_config
        .amis
        .iter()
        .flat_map(|(region, by_arch)| {
            by_arch.values().map(move |i| RegionImage {
                region: region.clone(),
                image_id: i.clone(),
            })
        })
        .collect();
    if images.is_empty() {
        return Err(OpsError::invalid(
            format!("{id}@{version} lists no image"),
            Some("check the template file with: prism template validate FILE".into()),
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
            return Err(OpsError::invalid(
                format!(
                    "image {} of {id}@{version} in {} belongs to account {}; only its owner can {verb} it",
                    img.image_id,
                    img.region,
                    found.owner_id.as_deref().unwrap_or("?")
                ),
                Some("ask the template's owner".into()),
            ));
        }
        let on = found
            .deregistration_protection
            .as_deref()
            .is_some_and(|p| p.starts_with("enabled"));
        before.insert(img.image_id.clone(), on);
    }
    if !req.remove && before.values().all(|on| *on) {
        return Err(OpsError::invalid(
            format!("{id}@{version} is already protected in every region"),
            Some(format!(
                "to lift it: prism template unprotect {id}@{version}"
            )),
        ));
    }
    if req.remove && !before.values().any(|on| *on) {
        return Err(OpsError::invalid(
            format!("{id}@{version} is not protected"),
            Some(format!(
                "to protect it: prism template protect {id}@{version}"
            )),
        ));
    }
    let plan = ProtectPlan {
        template: id.clone(),
        version: version.clone(),
        images: images.clone(),
        with_cooldown: req.with_cooldown,
        remove: req.remove,
    };
    let input = ProtectInput {
        template: id.clone(),
        version: version.clone(),
        profile: req.aws.profile.clone(),
        images,
        with_cooldown: req.with_cooldown,
        remove: req.remove,
        before,
    };
    let op = NewOperation {
        id: uuid::Uuid::new_v4().to_string(),
        kind: if req.remove {
            KIND_UNPROTECT
        } else {
            KIND_PROTECT
        }
        .into(),
        target: format!("{id}@{version}"),
        lock_keys: vec![locks::template(&id)],
        input: serde_json::to_value(&input).map_err(|e| OpsError::Internal(e.to_string()))?,
    };
    Ok((plan, op))
}

/// What the one step does, by its output type.
trait ApplyOut: StepOutput + Sync {
    const REMOVE: bool;
    fn new(regions: Vec<RegionOutcome>) -> Self;
}

impl ApplyOut for ProtectImagesOut {
    const REMOVE: bool = false;
    fn new(regions: Vec<RegionOutcome>) -> Self {
        ProtectImagesOut { regions }
    }
}

impl ApplyOut for UnprotectImagesOut {
    const REMOVE: bool = true;
    fn new(regions: Vec<RegionOutcome>) -> Self {
        UnprotectImagesOut { regions }
    }
}

/// The one step: every region, each journaled as it ends.
struct Apply<O>(PhantomData<fn() -> O>);

impl<O> Apply<O> {
    fn new() -> Self {
        Apply(PhantomData)
    }
}

#[async_trait]
impl<O: ApplyOut> TypedStep for Apply<O> {
    type Out = O;
    async fn run(&self, cx: &StepCx) -> Result<O, StepError> {
        let i: ProtectInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let outcomes = futures_util::future::join_all(i.images.iter().map(|img| {
            let (cloud, cooldown) = (cloud.clone(), i.with_cooldown);
            async move {
                let res = if O::REMOVE {
                    retry(|| cloud.disable_deregistration_protection(&img.region, &img.image_id))
                        .await
                } else {
                    retry(|| {
                        cloud.enable_deregistration_protection(&img.region, &img.image_id, cooldown)
                    })
                    .await
                };
                if res.is_ok() {
                    cx.acted_at("region");
                }
                let out = RegionOutcome {
                    region: img.region.clone(),
                    image_id: Some(img.image_id.clone()),
                    status: match (&res, O::REMOVE) {
                        (Err(_), _) => "failed",
                        (Ok(()), true) => "unprotected",
                        (Ok(()), false) => "protected",
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
                "the regions that succeeded stay unprotected; run it again to retry"
            } else {
                "the protection added elsewhere is lifted again"
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
        let i: ProtectInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        for img in &i.images {
            if i.before.get(&img.image_id).copied().unwrap_or(false) {
                continue; // protected before this operation: stays so
            }
            match retry(|| cloud.disable_deregistration_protection(&img.region, &img.image_id))
                .await
            {
                Ok(()) => {}
                Err(e) if e.kind == CloudErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
