//! Save: capture a workstation as a new version of a template — the reason Prism exists.
//!
//! Steps (stop mode): stop → wait stopped → create image → wait for its snapshots → start the
//! workstation again (downtime ends here, before any wait for `available`) → wait running →
//! wait available → tag image and snapshots → copy to regions in parallel → write the
//! template file → share. A failure before the image is available unwinds: the image and its
//! snapshots are deleted and the workstation is left as it was. A failed region copy or share
//! is reported and kept out of the template; the saved version stands.
//!
//! [`prepare()`] checks the request; [`capture`], [`publish`] and [`template_file`] hold the
//! steps, listed in order in [`steps`].

pub mod capture;
pub mod prepare;
pub mod publish;
pub mod template_file;

use crate::clock;
use crate::context::StepCx;
use crate::error::StepError;
use crate::saga::{step, Saga, Step};
use capture::{
    CreateImage, CreateImageOut, StartInstance, StopInstance, TagImage, WaitAvailable, WaitRunning,
    WaitRunningOut, WaitSnapshots, WaitStopped,
};
use prism_api::{RegionOutcome, SaveResult};
use publish::{CopyRegions, CopyRegionsOut, ShareImages, ShareImagesOut};
use serde_json::Value;
use std::sync::Arc;
use template_file::{Register, RegisterOut};

use prepare::monthly_cost;
pub use prepare::{prepare, SaveInput};
pub use template_file::{register_amis, saved_template, unregister_amis, RegisterTarget};

/// Operation kind.
pub const KIND: &str = "save.v1";

/// The save saga's steps, in order: name (persisted in the journal: never rename one), the
/// label users see, the step. Stop and start happen only in stop mode on a running workstation.
#[rustfmt::skip]
pub fn steps() -> Vec<Arc<dyn Step>> {
    vec![
        //   name              label                                                  step (in capture, publish, template_file)
        step("stop_instance",  "stopping the workstation",                            StopInstance),
        step("wait_stopped",   "waiting for the workstation to stop",                 WaitStopped),
        step("create_image",   "creating the image",                                  CreateImage),
        step("wait_snapshots", "waiting for the image's snapshots to be initiated",   WaitSnapshots),
        step("start_instance", "starting the workstation again",                      StartInstance),
        step("wait_running",   "waiting for the workstation to run",                  WaitRunning),
        step("wait_available", "waiting for the image to be available",               WaitAvailable),
        step("tag_image",      "tagging the image and its snapshots",                 TagImage),
        step("copy_regions",   "copying to other regions",                            CopyRegions),
        step("register",       "writing the template",                                Register),
        step("share",          "sharing",                                             ShareImages),
    ]
}

/// Steps of [`steps`] that make a mutating AWS call and mark it with `cx.acted()` (a
/// `save.v1:STEP:acted` crash point), and steps that journal sub-records (`cx.record`).
/// Read by `registry::acting_steps`; `registry::tests` checks them against the code.
pub const ACTING_STEPS: &[&str] = &[
    "stop_instance",
    "create_image",
    "start_instance",
    "copy_regions",
];
/// See [`ACTING_STEPS`].
pub const RECORDING_STEPS: &[&str] = &["copy_regions"];

/// Labelled crash points `KIND:STEP:acted:LABEL` (`cx.acted_at("LABEL")`) of steps that make
/// more than one kind of mutating call. Read by `registry::acted_points`; checked likewise.
pub const ACTED_AT: &[(&str, &str)] = &[
    ("wait_snapshots", "tag"),
    ("tag_image", "tag"),
    ("copy_regions", "tag"),
];

/// The save saga.
pub fn saga() -> Saga {
    Saga {
        kind: KIND,
        steps: steps(),
        finish: finish_save,
    }
}

/// The seeds' ordering of the same steps — restart only after the image is available and
/// every copy is done. Never submitted; the schedule simulator runs it as the baseline.
pub fn seed_ordering_saga() -> Saga {
    const ORDER: [&str; 11] = [
        "stop_instance",
        "wait_stopped",
        "create_image",
        "wait_snapshots",
        "wait_available",
        "tag_image",
        "copy_regions",
        "start_instance",
        "wait_running",
        "register",
        "share",
    ];
    let all = steps();
    Saga {
        kind: "save-seed-ordering",
        steps: ORDER
            .iter()
            .map(|n| {
                all.iter()
                    .find(|s| s.name() == *n)
                    .cloned()
                    .unwrap_or_else(|| panic!("save has no step {n}"))
            })
            .collect(),
        finish: finish_save,
    }
}

/// The operation's result, from the step outputs.
fn finish_save(cx: &StepCx) -> Result<Value, StepError> {
    let i: SaveInput = cx.input()?;
    let image_id = cx.need::<CreateImageOut>()?.image_id;
    let copies = cx.need::<CopyRegionsOut>()?.regions;
    let mut warnings: Vec<String> = copies
        .iter()
        .filter_map(|c| {
            c.error.as_ref().map(|e| {
                format!(
                    "copy to {} failed: {e} (retry: prism template copy {}@{} --to-region {})",
                    c.region, i.template, i.version, c.region
                )
            })
        })
        .collect();
    if let Some(s) = cx.out::<ShareImagesOut>()? {
        warnings.extend(s.warnings);
    }
    let ok_regions = 1 + copies.iter().filter(|c| c.error.is_none()).count();
    let mut regions = vec![RegionOutcome {
        region: i.region.clone(),
        image_id: Some(image_id),
        status: "available".into(),
        error: None,
    }];
    regions.extend(copies);
    let path = cx.need::<RegisterOut>()?.path;
    let downtime = cx.need::<WaitRunningOut>()?.downtime_seconds;
    let result = SaveResult {
        template: i.template.clone(),
        version: i.version,
        path,
        source_region: i.region.clone(),
        regions,
        downtime_seconds: downtime,
        total_seconds: clock::seconds_between(&i.saved_at, &clock::now_rfc3339()),
        estimated_monthly_cost_usd: monthly_cost(&cx.env, i.volume_gb, ok_regions),
        warnings,
        launch_command: format!("prism launch {} NEW-NAME", i.template),
    };
    serde_json::to_value(result).map_err(|e| StepError::Internal(e.to_string()))
}
