//! The saved version's template file: written by the save (`register`), and extended with a
//! region by the copy operation ([`register_amis`]). The file is what `prism launch` reads.

use super::capture::{CreateImageOut, WaitAvailableOut, WaitRunningOut};
use super::prepare::SaveInput;
use super::publish::{good_images, CopyRegionsOut};
use crate::context::{Env, StepCx};
use crate::error::StepError;
use crate::output::StepOutput;
use crate::saga::TypedStep;
use async_trait::async_trait;
use prism_store::TemplateVersionRow;
use prism_templates::Template;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which saved version to (re)write.
pub struct RegisterTarget {
    /// Template name.
    pub template: String,
    /// Version.
    pub version: String,
}

/// Adds `(region, arch, ami)` entries to a saved version's file and cache row; returns the path.
pub async fn register_amis(
    env: &Env,
    target: &RegisterTarget,
    amis: &[(String, String, String)],
) -> Result<String, StepError> {
    edit_amis(env, target, |t| {
        for (r, a, id) in amis {
            t.ami_config
                .amis
                .entry(r.clone())
                .or_default()
                .insert(a.clone(), id.clone());
        }
    })
    .await
    .map(|p| p.unwrap_or_default())
}

/// Takes `(region, arch, ami)` entries out of a saved version's file and cache row, where they
/// still name that very image (the undo of a copy's registration); a missing file is fine.
pub async fn unregister_amis(
    env: &Env,
    target: &RegisterTarget,
    amis: &[(String, String, String)],
) -> Result<(), StepError> {
    let path = env.template_dir.join(prism_templates::saved_file_name(
        &target.template,
        &target.version,
    ));
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Ok(());
    }
    edit_amis(env, target, |t| {
        for (r, a, id) in amis {
            if let Some(by_arch) = t.ami_config.amis.get_mut(r) {
                if by_arch.get(a) == Some(id) {
                    by_arch.remove(a);
                }
                if by_arch.is_empty() {
                    t.ami_config.amis.remove(r);
                }
            }
        }
    })
    .await
    .map(|_| ())
}

/// Rewrites a saved version's file (atomically) and its cache row after `change`.
async fn edit_amis(
    env: &Env,
    target: &RegisterTarget,
    change: impl FnOnce(&mut Template),
) -> Result<Option<String>, StepError> {
    let file = prism_templates::saved_file_name(&target.template, &target.version);
    let path = env.template_dir.join(&file);
    let text = tokio::fs::read_to_string(&path)
        .await
        .map_err(|e| StepError::Internal(format!("cannot read {}: {e}", path.display())))?;
    let mut t = prism_templates::parse_template(&text, &path.display().to_string())
        .map_err(|e| StepError::Internal(e.to_string()))?
        .template;
    change(&mut t);
    let yaml = t
        .to_yaml()
        .map_err(|e| StepError::Internal(e.to_string()))?;
    let dir = env.template_dir.clone();
    let written =
        tokio::task::spawn_blocking(move || prism_templates::write_atomically(&dir, &file, &yaml))
            .await
            .map_err(|e| StepError::Internal(e.to_string()))?
            .map_err(|e| StepError::Internal(e.to_string()))?;
    if let Ok(v) = target.version.parse::<u32>() {
        if let Some(mut row) = env
            .store
            .template_versions(&target.template)
            .await?
            .into_iter()
            .find(|r| r.version == v)
        {
            row.amis = serde_json::to_value(&t.ami_config.amis).unwrap_or(Value::Null);
            env.store.upsert_template_version(row).await?;
        }
    }
    Ok(Some(written.display().to_string()))
}

/// The template a save writes: the original template's defaults, the new images, lineage.
pub fn saved_template(i: &SaveInput, amis: &[(String, String)]) -> Template {
    let mut t: Template = i
        .base_template
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    t.slug = None;
    t.name = i.template.clone();
    t.description = i.description.clone();
    t.base = Some("ami-based".into());
    t.package_manager = Some("ami".into());
    t.inherits.clear();
    t.version = Some(i.version.to_string());
    t.source = Some("saved-from-instance".into());
    // A new version starts current, even when saved from a deprecated one.
    t.deprecation = None;
    t.saved_from = Some(i.workstation.clone());
    t.saved_from_instance = Some(i.instance_id.clone());
    t.original_template = i.original_template.clone();
    t.original_template_version = i.original_template_version.clone();
    t.saved_by = Some(i.saved_by.clone());
    t.saved_date = Some(i.saved_at.clone());
    t.capture_mode = Some(i.mode.as_str().into());
    t.project = i.project.clone();
    t.ami_config.amis.clear();
    t.ami_config.ami_mappings.clear();
    t.ami_config.ami_search = None;
    t.ami_config.user_data_script = None;
    // The saved image is what the workstation ran: GPU-ready when that was a GPU image, and
    // the template's GPU image is no longer what a launch of this version should start.
    t.ami_config.gpu_image = None;
    t.gpu_ready = i.gpu_ready;
    for (r, id) in amis {
        t.ami_config
            .amis
            .entry(r.clone())
            .or_default()
            .insert(i.arch.clone(), id.clone());
    }
    t
}

/// Writes the saved version's template file and caches the version (the undo removes the file).
pub struct Register;

/// Output of `register` (of a save, and of a copy operation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterOut {
    /// The template file written.
    pub path: String,
}

impl StepOutput for RegisterOut {
    const STEP: &'static str = "register";
}

#[async_trait]
impl TypedStep for Register {
    type Out = RegisterOut;
    async fn run(&self, cx: &StepCx) -> Result<RegisterOut, StepError> {
        let i: SaveInput = cx.input()?;
        let image_id = cx.need::<CreateImageOut>()?.image_id;
        let copies = cx.need::<CopyRegionsOut>()?.regions;
        let mut t = saved_template(&i, &good_images(&i, image_id, &copies));
        let downtime = cx.need::<WaitRunningOut>()?.downtime_seconds;
        t.downtime_seconds = Some(downtime);
        // The captured root volume, not the base template's: a researcher who grew the disk
        // saved a bigger snapshot, and EC2 refuses a launch asking for less
        // (InvalidBlockDeviceMapping: "Volume of size … is smaller than snapshot").
        if let Some(gb) = cx.need::<WaitAvailableOut>()?.root_volume_gb {
            t.instance_defaults.root_volume_gb = i32::try_from(gb).ok();
        }
        let yaml = t
            .to_yaml()
            .map_err(|e| StepError::Internal(e.to_string()))?;
        let file = prism_templates::saved_file_name(&i.template, &i.version.to_string());
        let dir = cx.env.template_dir.clone();
        let path = tokio::task::spawn_blocking(move || {
            prism_templates::write_atomically(&dir, &file, &yaml)
        })
        .await
        .map_err(|e| StepError::Internal(e.to_string()))?
        .map_err(|e| StepError::Internal(e.to_string()))?;
        cx.env
            .store
            .upsert_template_version(TemplateVersionRow {
                name: i.template.clone(),
                version: i.version,
                description: i.description.clone(),
                source_region: i.region.clone(),
                amis: serde_json::to_value(&t.ami_config.amis).unwrap_or(Value::Null),
                saved_from: Some(i.workstation.clone()),
                downtime_seconds: Some(downtime),
                path: Some(path.display().to_string()),
                op_id: Some(cx.op_id.clone()),
            })
            .await?;
        Ok(RegisterOut {
            path: path.display().to_string(),
        })
    }
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        let i: SaveInput = cx.input()?;
        let path = cx.env.template_dir.join(prism_templates::saved_file_name(
            &i.template,
            &i.version.to_string(),
        ));
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StepError::Internal(format!(
                "cannot remove {}: {e}",
                path.display()
            ))),
        }
    }
}
