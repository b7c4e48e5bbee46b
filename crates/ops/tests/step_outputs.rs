//! Step outputs are a persisted schema: what the previous code journaled (its `json!` payloads,
//! copied here literally) must parse into today's typed outputs, so its operations resume; a
//! missing field is an error naming the step and the field, never a silent empty string; and
//! today's code journals the same field names.

mod common;

use common::Rig;
use prism_cloud::fake::FakeTimings;
use prism_ops::output::parse;
use prism_ops::save::capture::{
    CreateImageOut, StartInstanceOut, StopInstanceOut, TagImageOut, WaitAvailableOut,
    WaitRunningOut, WaitSnapshotsOut, WaitStoppedOut,
};
use prism_ops::save::publish::{CopyRegionsOut, ShareImagesOut};
use prism_ops::save::template_file::RegisterOut;
use prism_ops::StepOutput;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Parses `payload` as `T`, and checks that writing it back gives the same JSON (so a journal
/// written now reads like one written before).
fn round_trips<T: StepOutput + std::fmt::Debug>(payload: Value) -> T {
    let out: T = parse(&payload).unwrap_or_else(|e| panic!("{}: {e}", T::STEP));
    assert_eq!(
        prism_ops::output::to_payload(&out).unwrap(),
        payload,
        "{} writes what it read",
        T::STEP
    );
    out
}

#[test]
fn payloads_journaled_by_the_previous_code_parse() {
    let at = "2024-05-01T10:00:00.000Z";
    let outcome_ok =
        json!({ "region": "us-west-2", "image_id": "ami-2", "status": "available", "error": null });
    let outcome_failed =
        json!({ "region": "eu-west-1", "image_id": null, "status": "failed", "error": "denied" });

    // save.v1
    let s: StopInstanceOut = round_trips(json!({ "stopped": false }));
    assert!(!s.stopped && s.stop_requested_at.is_none());
    let s: StopInstanceOut = round_trips(json!({ "stopped": true, "stop_requested_at": at }));
    assert_eq!(s.stop_requested_at.as_deref(), Some(at));
    round_trips::<WaitStoppedOut>(json!({}));
    round_trips::<WaitStoppedOut>(json!({ "stopped_at": at }));
    let c: CreateImageOut = round_trips(json!({ "image_id": "ami-1" }));
    assert_eq!(c.image_id, "ami-1");
    round_trips::<WaitSnapshotsOut>(json!({ "snapshot_ids": ["snap-1", "snap-2"] }));
    round_trips::<StartInstanceOut>(json!({ "started": false }));
    round_trips::<StartInstanceOut>(json!({ "started": true }));
    let w: WaitRunningOut = round_trips(json!({ "downtime_seconds": 0.0 }));
    assert_eq!(w.downtime_seconds, 0.0);
    let w: WaitRunningOut = round_trips(json!({ "running_at": at, "downtime_seconds": 95.5 }));
    assert_eq!(w.downtime_seconds, 95.5);
    round_trips::<WaitAvailableOut>(json!({ "available_at": at, "size_gb": 40 }));
    round_trips::<TagImageOut>(json!({ "snapshot_ids": ["snap-1"] }));
    round_trips::<CopyRegionsOut>(json!({ "regions": [] }));
    let c: CopyRegionsOut =
        round_trips(json!({ "regions": [outcome_ok.clone(), outcome_failed.clone()] }));
    assert_eq!(c.regions[1].error.as_deref(), Some("denied"));
    round_trips::<RegisterOut>(json!({ "path": "/t/my-env@1.yaml" }));
    round_trips::<ShareImagesOut>(json!({ "warnings": [] }));
    round_trips::<ShareImagesOut>(json!({ "warnings": ["could not make ami-1 in r public: x"] }));

    // launch.v1
    round_trips::<prism_ops::launch::RunInstanceOut>(json!({ "instance_id": "i-1" }));
    round_trips::<prism_ops::launch::WaitRunningOut>(
        json!({ "instance_id": "i-1", "public_ip": null, "state": "running" }),
    );
    round_trips::<prism_ops::launch::WaitRunningOut>(
        json!({ "instance_id": "i-1", "public_ip": "203.0.113.7", "state": "running" }),
    );

    // restore.v1
    round_trips::<prism_ops::restore::CheckOut>(
        json!({ "old_root_volume_id": "vol-1", "root_device": "/dev/xvda" }),
    );
    round_trips::<prism_ops::restore::CreateTaskOut>(json!({ "task_id": "replacevol-1" }));
    round_trips::<prism_ops::restore::WaitTaskOut>(
        json!({ "task_id": "replacevol-1", "state": "succeeded", "new_root_volume_id": "vol-2" }),
    );
    round_trips::<prism_ops::restore::TagOldRootOut>(json!({ "volume_id": "vol-1" }));
    round_trips::<prism_ops::restore::RecordVersionOut>(json!({ "now": "lab-env@1" }));

    // copy.v1: the step journaled the region's outcome itself.
    let c: prism_ops::copy::CopyOut = round_trips(outcome_ok.clone());
    assert_eq!(c.0.image_id.as_deref(), Some("ami-2"));

    // share.v1 and unshare.v1
    round_trips::<prism_ops::share::ShareOut>(json!({ "regions": [outcome_ok.clone()] }));
    round_trips::<prism_ops::share::UnshareOut>(json!({ "regions": [outcome_failed.clone()] }));

    // deprecate.v1 and undeprecate.v1
    round_trips::<prism_ops::deprecate::DeprecateImagesOut>(
        json!({ "regions": [outcome_ok.clone()] }),
    );
    round_trips::<prism_ops::deprecate::UndeprecateImagesOut>(
        json!({ "regions": [outcome_failed] }),
    );
    round_trips::<prism_ops::deprecate::RecordFileOut>(json!({ "file": "/t/my-env@1.yaml" }));
    round_trips::<prism_ops::deprecate::ClearFileOut>(json!({ "file": null }));

    // protect.v1 and unprotect.v1
    round_trips::<prism_ops::protect::ProtectImagesOut>(json!({ "regions": [outcome_ok.clone()] }));
    round_trips::<prism_ops::protect::UnprotectImagesOut>(json!({ "regions": [] }));

    // template-delete.v1
    round_trips::<prism_ops::template_delete::DeregisterImagesOut>(
        json!({ "images_deregistered": 2, "snapshots_deleted": 3 }),
    );
    let d: prism_ops::template_delete::DeregisterImagesOut = round_trips(json!({
        "images_deregistered": 1,
        "snapshots_deleted": 1,
        "recycle_bin": {
            "kept": [{ "region": "us-east-1", "image_id": "ami-1", "until": at }],
            "errors": ["could not check the Recycle Bin in us-west-2: denied"],
        },
    }));
    assert_eq!(d.recycle_bin.unwrap().kept[0].image_id, "ami-1");
    round_trips::<prism_ops::template_delete::RemoveFilesOut>(
        json!({ "files_removed": ["/t/my-env@1.yaml"] }),
    );

    // template-restore.v1
    round_trips::<prism_ops::template_restore::RestoreSnapshotsOut>(json!({ "restored": 2 }));
    round_trips::<prism_ops::template_restore::RestoreImagesOut>(json!({ "restored": 1 }));
    round_trips::<prism_ops::template_restore::TagImagesOut>(json!({ "retagged": ["ami-2"] }));
    round_trips::<prism_ops::template_restore::WriteFileOut>(json!({ "path": "/t/my-env@1.yaml" }));

    // stop.v1, start.v1, delete.v1
    round_trips::<prism_ops::lifecycle::RequestOut>(json!({ "requested_at": at }));
    round_trips::<prism_ops::lifecycle::WaitOut>(json!({ "state": "stopped", "public_ip": null }));
}

#[test]
fn a_missing_field_is_an_error_naming_the_step_and_the_field() {
    for (err, step, field) in [
        (
            parse::<CreateImageOut>(&json!({})).unwrap_err(),
            "create_image",
            "image_id",
        ),
        (
            parse::<WaitRunningOut>(&json!({ "running_at": "t" })).unwrap_err(),
            "wait_running",
            "downtime_seconds",
        ),
        (
            parse::<CopyRegionsOut>(&json!({ "region": [] })).unwrap_err(),
            "copy_regions",
            "regions",
        ),
        (
            parse::<prism_ops::launch::RunInstanceOut>(&json!({ "id": "i-1" })).unwrap_err(),
            "run_instance",
            "instance_id",
        ),
    ] {
        let e = err.to_string();
        assert!(e.contains(step) && e.contains(field), "{e}");
    }
    // A wrong type is refused too, not read as empty.
    let e = parse::<CreateImageOut>(&json!({ "image_id": 7 }))
        .unwrap_err()
        .to_string();
    assert!(e.contains("create_image"), "{e}");
}

/// Today's save journals exactly the field names the previous code did.
#[tokio::test(start_paused = true)]
async fn a_save_journals_the_same_field_names_as_before() {
    let rig = Rig::new(FakeTimings::default());
    rig.workstation("ws", 40).await;
    let id = rig
        .submit_save(&Rig::save_request("ws", "my-env", &["us-west-2"]))
        .await
        .unwrap();
    let row = rig.finished(&id).await;
    assert_eq!(row.status, "succeeded", "{:?}", row.error);
    let keys: BTreeMap<String, Vec<String>> = rig
        .env
        .store
        .events(&id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "succeeded")
        .map(|e| {
            let p = e.payload.unwrap_or(Value::Null);
            let k = p.as_object().map(|o| o.keys().cloned().collect()).unwrap();
            (e.step, k)
        })
        .collect();
    let before: BTreeMap<String, Vec<String>> = [
        ("stop_instance", &["stop_requested_at", "stopped"][..]),
        ("wait_stopped", &["stopped_at"]),
        ("create_image", &["image_id"]),
        ("wait_snapshots", &["snapshot_ids"]),
        ("start_instance", &["started"]),
        ("wait_running", &["downtime_seconds", "running_at"]),
        // `root_volume_gb` is new and optional (`#[serde(default)]`): journals without it
        // still parse (`old_payloads_parse` style), and the saved template reads it.
        (
            "wait_available",
            &["available_at", "root_volume_gb", "size_gb"],
        ),
        ("tag_image", &["snapshot_ids"]),
        ("copy_regions", &["regions"]),
        ("register", &["path"]),
        ("share", &["warnings"]),
    ]
    .into_iter()
    .map(|(s, k)| (s.to_string(), k.iter().map(|k| k.to_string()).collect()))
    .collect();
    assert_eq!(keys, before);
}
