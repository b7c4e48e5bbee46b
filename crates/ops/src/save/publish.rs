//! Publishing the saved image: copies to other regions in parallel (a failed region is
//! reported and kept out of the template), and the public share (`--public`).

use super::capture::CreateImageOut;
use super::prepare::SaveInput;
use crate::backoff::retry;
use crate::context::StepCx;
use crate::copy_image::{copy_to_region, CopySpec};
use crate::error::StepError;
use crate::images;
use crate::output::StepOutput;
use crate::saga::TypedStep;
use async_trait::async_trait;
use prism_api::RegionOutcome;
use prism_cloud::Share;
use serde::{Deserialize, Serialize};

/// Copies the image to every requested region at once; each region is journaled as a
/// sub-record as it ends.
pub struct CopyRegions;

/// Output of `copy_regions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyRegionsOut {
    /// One outcome per copy region (failed ones carry their error).
    pub regions: Vec<RegionOutcome>,
}

impl StepOutput for CopyRegionsOut {
    const STEP: &'static str = "copy_regions";
}

/// The images this save made available: the source region's, then every good copy's.
pub(super) fn good_images(
    i: &SaveInput,
    image_id: String,
    copies: &[RegionOutcome],
) -> Vec<(String, String)> {
    let mut amis = vec![(i.region.clone(), image_id)];
    amis.extend(
        copies
            .iter()
            .filter(|c| c.error.is_none())
            .filter_map(|c| Some((c.region.clone(), c.image_id.clone()?))),
    );
    amis
}

#[async_trait]
impl TypedStep for CopyRegions {
    type Out = CopyRegionsOut;
    async fn run(&self, cx: &StepCx) -> Result<CopyRegionsOut, StepError> {
        let i: SaveInput = cx.input()?;
        if i.copy_to_regions.is_empty() {
            return Ok(CopyRegionsOut { regions: vec![] });
        }
        let image_id = cx.need::<CreateImageOut>()?.image_id;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let spec = CopySpec {
            source_region: i.region.clone(),
            source_image: image_id,
            image_name: i.image_name.clone(),
            description: i.image_description().0,
            tags: i.image_tags(&cx.op_id),
            max_wait_seconds: i.max_wait_seconds,
            kms_keys: i.kms_keys.clone(),
            copy_within_minutes: i.copy_within_minutes,
        };
        // All regions at once; each is journaled as it ends so `operation show` shows it.
        let outcomes = futures_util::future::join_all(i.copy_to_regions.iter().map(|r| {
            let (cloud, spec) = (cloud.clone(), spec.clone());
            async move {
                let out = copy_to_region(cx, cloud.as_ref(), &spec, r).await;
                // Best effort: the step's output holds every outcome anyway.
                let _ = cx.record(r, &out).await;
                out
            }
        }))
        .await;
        Ok(CopyRegionsOut { regions: outcomes })
    }
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        let i: SaveInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        for r in &i.copy_to_regions {
            if let Some(img) = images::find_by_name(cloud.as_ref(), r, &i.image_name).await? {
                images::delete_with_snapshots(cloud.as_ref(), r, &img.id, &[], false).await?;
            }
        }
        Ok(())
    }
}

/// Makes every image of the saved version public (`--public`); a region that fails is a
/// warning, not a failure of the save.
pub struct ShareImages;

/// Output of `share` (of a save; not the share operation's step of the same name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareImagesOut {
    /// A line per image that could not be made public.
    pub warnings: Vec<String>,
}

impl StepOutput for ShareImagesOut {
    const STEP: &'static str = "share";
}

#[async_trait]
impl TypedStep for ShareImages {
    type Out = ShareImagesOut;
    async fn run(&self, cx: &StepCx) -> Result<ShareImagesOut, StepError> {
        let i: SaveInput = cx.input()?;
        let inherited = i.inherited_share.clone();
        let to_others = !inherited.accounts.is_empty()
            || !inherited.organizations.is_empty()
            || !inherited.organizational_units.is_empty();
        if !i.public && !to_others {
            return Ok(ShareImagesOut { warnings: vec![] });
        }
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let image_id = cx.need::<CreateImageOut>()?.image_id;
        let copies = cx.need::<CopyRegionsOut>()?.regions;
        let targets = good_images(&i, image_id, &copies);
        let mut warnings = vec![];
        for (r, id) in targets {
            // The previous version's audience (accounts, organizations, OUs), then public.
            if to_others {
                if let Err(e) = retry(|| cloud.share_image(&r, &id, &inherited)).await {
                    warnings.push(format!(
                        "could not share {id} in {r} as the previous version was: {e}"
                    ));
                }
            }
            if i.public {
                let share = Share {
                    public: true,
                    ..Default::default()
                };
                if let Err(e) = retry(|| cloud.share_image(&r, &id, &share)).await {
                    warnings.push(format!("could not make {id} in {r} public: {e}"));
                }
            }
        }
        Ok(ShareImagesOut { warnings })
    }
}
