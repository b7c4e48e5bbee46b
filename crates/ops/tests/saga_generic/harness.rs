//! The machinery of the generic saga proofs: a fake cloud behind a gate where the daemon can
//! "die", step wrappers (run twice, fail after, die after, die after a sub-record), and a
//! [`Snapshot`] of everything an operation can change (the fake cloud, the template
//! directory, the store), normalized so two runs on two rigs compare equal when they end the
//! same way.

use crate::common::Rig;
use async_trait::async_trait;
use prism_api::OperationStatus;
use prism_cloud::fake::{FakeCloud, FakeTimings};
use prism_cloud::{
    CallerIdentity, Cloud, CloudResult, CopyImageRequest, CreateImageRequest, Image, ImageQuery,
    Instance, InstanceFilter, InstanceState, RunSpec, Share, SingleCloud, Snapshot as EbsSnapshot,
    SnapshotQuery, Tags,
};
use prism_ops::runner::Runner;
use prism_ops::saga::{execute, Saga, Step};
use prism_ops::{Env, Hooks, OpsConfig, StepCx, StepError};
use prism_store::Store;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Where the daemon dies. Armed with (operation, n), it stops the world as soon as the
/// operation's journal holds n sub-records: every cloud call after that never returns, and a
/// [`Watched`] step that ends never reports it.
pub struct Gate {
    store: Store,
    armed: Mutex<Option<(String, usize)>>,
    died: watch::Sender<bool>,
}

impl Gate {
    /// How many sub-records (`record` events) operation `op` has journaled.
    pub async fn records(&self, op: &str) -> usize {
        self.store
            .events(op)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.event == "record")
            .count()
    }

    /// Dies once `op` has journaled `n` sub-records.
    pub fn arm(&self, op: &str, n: usize) {
        *self.armed.lock().unwrap() = Some((op.to_string(), n));
        self.died.send_replace(false);
    }

    /// The daemon starts again: nothing dies any more.
    pub fn disarm(&self) {
        *self.armed.lock().unwrap() = None;
        self.died.send_replace(false);
    }

    async fn reached(&self) -> bool {
        let armed = self.armed.lock().unwrap().clone();
        match armed {
            Some((op, n)) => self.records(&op).await >= n,
            None => false,
        }
    }

    /// The daemon dies here: says so, and never returns.
    pub async fn die<T>(&self) -> T {
        self.died.send_replace(true);
        std::future::pending::<T>().await
    }

    /// Dies if the armed point has been reached.
    async fn check(&self) {
        if self.reached().await {
            self.die::<()>().await
        }
    }

    /// Resolves once the daemon has died.
    pub async fn died(&self) {
        let mut rx = self.died.subscribe();
        let _ = rx.wait_for(|d| *d).await;
    }
}

/// The fake cloud behind the gate: a call made after the daemon died never happens.
struct Gated {
    inner: FakeCloud,
    gate: Arc<Gate>,
}

#[async_trait]
impl Cloud for Gated {
    async fn describe_regions(&self, region: &str) -> CloudResult<Vec<String>> {
        self.gate.check().await;
        self.inner.describe_regions(region).await
    }
    async fn caller_identity(&self, region: &str) -> CloudResult<CallerIdentity> {
        self.gate.check().await;
        self.inner.caller_identity(region).await
    }
    async fn describe_instances(
        &self,
        region: &str,
        filter: &InstanceFilter,
    ) -> CloudResult<Vec<Instance>> {
        self.gate.check().await;
        self.inner.describe_instances(region, filter).await
    }
    async fn run_instance(&self, region: &str, spec: &RunSpec) -> CloudResult<Instance> {
        self.gate.check().await;
        self.inner.run_instance(region, spec).await
    }
    async fn start_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        self.gate.check().await;
        self.inner.start_instance(region, instance_id).await
    }
    async fn stop_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        self.gate.check().await;
        self.inner.stop_instance(region, instance_id).await
    }
    async fn terminate_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        self.gate.check().await;
        self.inner.terminate_instance(region, instance_id).await
    }
    async fn create_image(&self, region: &str, req: &CreateImageRequest) -> CloudResult<String> {
        self.gate.check().await;
        self.inner.create_image(region, req).await
    }
    async fn describe_images(&self, region: &str, query: &ImageQuery) -> CloudResult<Vec<Image>> {
        self.gate.check().await;
        self.inner.describe_images(region, query).await
    }
    async fn deregister_image(
        &self,
        region: &str,
        image_id: &str,
        delete_snapshots: bool,
    ) -> CloudResult<()> {
        self.gate.check().await;
        self.inner
            .deregister_image(region, image_id, delete_snapshots)
            .await
    }
    async fn describe_snapshots(
        &self,
        region: &str,
        query: &SnapshotQuery,
    ) -> CloudResult<Vec<EbsSnapshot>> {
        self.gate.check().await;
        self.inner.describe_snapshots(region, query).await
    }
    async fn delete_snapshot(&self, region: &str, snapshot_id: &str) -> CloudResult<()> {
        self.gate.check().await;
        self.inner.delete_snapshot(region, snapshot_id).await
    }
    async fn create_tags(
        &self,
        region: &str,
        resource_ids: &[String],
        tags: &Tags,
    ) -> CloudResult<()> {
        self.gate.check().await;
        self.inner.create_tags(region, resource_ids, tags).await
    }
    async fn copy_image(&self, dest_region: &str, req: &CopyImageRequest) -> CloudResult<String> {
        self.gate.check().await;
        self.inner.copy_image(dest_region, req).await
    }
    async fn share_image(&self, region: &str, image_id: &str, share: &Share) -> CloudResult<()> {
        self.gate.check().await;
        self.inner.share_image(region, image_id, share).await
    }
    async fn unshare_image(&self, region: &str, image_id: &str, share: &Share) -> CloudResult<()> {
        self.gate.check().await;
        self.inner.unshare_image(region, image_id, share).await
    }
    async fn launch_permissions(&self, region: &str, image_id: &str) -> CloudResult<Share> {
        self.gate.check().await;
        self.inner.launch_permissions(region, image_id).await
    }
    async fn modify_snapshot_copy_permission(
        &self,
        region: &str,
        snapshot_id: &str,
        share: &Share,
        remove: bool,
    ) -> CloudResult<()> {
        self.gate.check().await;
        self.inner
            .modify_snapshot_copy_permission(region, snapshot_id, share, remove)
            .await
    }
    async fn snapshot_copy_permissions(
        &self,
        region: &str,
        snapshot_id: &str,
    ) -> CloudResult<Share> {
        self.gate.check().await;
        self.inner
            .snapshot_copy_permissions(region, snapshot_id)
            .await
    }
    async fn public_sharing_blocked(&self, region: &str) -> CloudResult<bool> {
        self.gate.check().await;
        self.inner.public_sharing_blocked(region).await
    }
    async fn describe_key_pair(
        &self,
        region: &str,
        name: &str,
    ) -> CloudResult<Option<prism_cloud::KeyPair>> {
        self.gate.check().await;
        self.inner.describe_key_pair(region, name).await
    }
    async fn import_key_pair(
        &self,
        region: &str,
        name: &str,
        public_key: &str,
        tags: &Tags,
    ) -> CloudResult<prism_cloud::KeyPair> {
        self.gate.check().await;
        self.inner
            .import_key_pair(region, name, public_key, tags)
            .await
    }
    async fn describe_security_groups(
        &self,
        region: &str,
        query: &prism_cloud::GroupQuery,
    ) -> CloudResult<Vec<prism_cloud::SecurityGroup>> {
        self.gate.check().await;
        self.inner.describe_security_groups(region, query).await
    }
    async fn create_security_group(
        &self,
        region: &str,
        req: &prism_cloud::CreateGroupRequest,
    ) -> CloudResult<String> {
        self.gate.check().await;
        self.inner.create_security_group(region, req).await
    }
    async fn authorize_ingress(
        &self,
        region: &str,
        group_id: &str,
        rule: &prism_cloud::IngressRule,
    ) -> CloudResult<()> {
        self.gate.check().await;
        self.inner.authorize_ingress(region, group_id, rule).await
    }
    async fn revoke_ingress(
        &self,
        region: &str,
        group_id: &str,
        rule: &prism_cloud::IngressRule,
    ) -> CloudResult<()> {
        self.gate.check().await;
        self.inner.revoke_ingress(region, group_id, rule).await
    }
    async fn default_vpc(&self, region: &str) -> CloudResult<Option<String>> {
        self.gate.check().await;
        self.inner.default_vpc(region).await
    }
    async fn describe_subnet(
        &self,
        region: &str,
        subnet_id: &str,
    ) -> CloudResult<Option<prism_cloud::Subnet>> {
        self.gate.check().await;
        self.inner.describe_subnet(region, subnet_id).await
    }
    async fn enable_image_deprecation(
        &self,
        region: &str,
        image_id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> CloudResult<()> {
        self.gate.check().await;
        self.inner
            .enable_image_deprecation(region, image_id, at)
            .await
    }
    async fn disable_image_deprecation(&self, region: &str, image_id: &str) -> CloudResult<()> {
        self.gate.check().await;
        self.inner.disable_image_deprecation(region, image_id).await
    }
    async fn delete_tags(
        &self,
        region: &str,
        resource_ids: &[String],
        keys: &[String],
    ) -> CloudResult<()> {
        self.gate.check().await;
        self.inner.delete_tags(region, resource_ids, keys).await
    }
    async fn describe_volumes(
        &self,
        region: &str,
        query: &prism_cloud::VolumeQuery,
    ) -> CloudResult<Vec<prism_cloud::Volume>> {
        self.gate.check().await;
        self.inner.describe_volumes(region, query).await
    }
    async fn create_replace_root_volume_task(
        &self,
        region: &str,
        req: &prism_cloud::ReplaceRootRequest,
    ) -> CloudResult<prism_cloud::ReplaceRootTask> {
        self.gate.check().await;
        self.inner
            .create_replace_root_volume_task(region, req)
            .await
    }
    async fn describe_replace_root_volume_tasks(
        &self,
        region: &str,
        query: &prism_cloud::ReplaceRootQuery,
    ) -> CloudResult<Vec<prism_cloud::ReplaceRootTask>> {
        self.gate.check().await;
        self.inner
            .describe_replace_root_volume_tasks(region, query)
            .await
    }
    async fn images_in_recycle_bin(
        &self,
        region: &str,
        image_ids: &[String],
    ) -> CloudResult<Vec<prism_cloud::RecycledImage>> {
        self.gate.check().await;
        self.inner.images_in_recycle_bin(region, image_ids).await
    }
    async fn snapshots_in_recycle_bin(
        &self,
        region: &str,
        snapshot_ids: &[String],
    ) -> CloudResult<Vec<prism_cloud::RecycledSnapshot>> {
        self.gate.check().await;
        self.inner
            .snapshots_in_recycle_bin(region, snapshot_ids)
            .await
    }
    async fn restore_snapshot_from_recycle_bin(
        &self,
        region: &str,
        snapshot_id: &str,
    ) -> CloudResult<()> {
        self.gate.check().await;
        self.inner
            .restore_snapshot_from_recycle_bin(region, snapshot_id)
            .await
    }
    async fn restore_image_from_recycle_bin(
        &self,
        region: &str,
        image_id: &str,
    ) -> CloudResult<()> {
        self.gate.check().await;
        self.inner
            .restore_image_from_recycle_bin(region, image_id)
            .await
    }
    async fn enable_deregistration_protection(
        &self,
        region: &str,
        image_id: &str,
        with_cooldown: bool,
    ) -> CloudResult<()> {
        self.gate.check().await;
        self.inner
            .enable_deregistration_protection(region, image_id, with_cooldown)
            .await
    }
    async fn disable_deregistration_protection(
        &self,
        region: &str,
        image_id: &str,
    ) -> CloudResult<()> {
        self.gate.check().await;
        self.inner
            .disable_deregistration_protection(region, image_id)
            .await
    }
}

/// A rig whose cloud is the fake behind a [`Gate`].
pub fn gated_rig() -> (Rig, Arc<Gate>) {
    let fake = FakeCloud::new(FakeTimings::default());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_memory().unwrap();
    let (died, _) = watch::channel(false);
    let gate = Arc::new(Gate {
        store: store.clone(),
        armed: Mutex::new(None),
        died,
    });
    let env = Env {
        clouds: Arc::new(SingleCloud(Arc::new(Gated {
            inner: fake.clone(),
            gate: gate.clone(),
        }))),
        store,
        template_dir: dir.path().join("templates"),
        config: OpsConfig::default(),
        hooks: Hooks::default(),
    };
    let runner = Runner::new(env.clone());
    (
        Rig {
            fake,
            env,
            runner,
            dir,
        },
        gate,
    )
}

/// Runs `saga` on `op` until it ends (`Some(status)`) or the daemon dies (`None`); a dead
/// daemon's run is dropped, as a killed process's would be.
pub async fn drive(rig: &Rig, gate: &Gate, saga: &Saga, op: &str) -> Option<OperationStatus> {
    tokio::select! {
        biased;
        _ = gate.died() => None,
        r = execute(&rig.env, saga, op) => Some(r.unwrap()),
    }
}

/// `saga` with each step replaced by `f(index, step)`.
pub fn wrap(saga: Saga, f: impl Fn(usize, Arc<dyn Step>) -> Arc<dyn Step>) -> Saga {
    Saga {
        kind: saga.kind,
        steps: saga
            .steps
            .into_iter()
            .enumerate()
            .map(|(i, s)| f(i, s))
            .collect(),
        finish: saga.finish,
    }
}

/// Runs the inner step twice (and its undo twice).
pub struct Twice(pub Arc<dyn Step>);

#[async_trait]
impl Step for Twice {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn label(&self) -> &'static str {
        self.0.label()
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        self.0.run(cx).await?;
        self.0.run(cx).await
    }
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        self.0.undo(cx).await?;
        self.0.undo(cx).await
    }
}

/// Runs the inner step, then fails as if its answer had been lost (its undo runs twice).
pub struct FailAfter(pub Arc<dyn Step>);

#[async_trait]
impl Step for FailAfter {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn label(&self) -> &'static str {
        self.0.label()
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        self.0.run(cx).await?;
        Err(StepError::Internal(
            "injected failure: the answer was lost".into(),
        ))
    }
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        self.0.undo(cx).await?;
        self.0.undo(cx).await
    }
}

/// Runs the inner step to its end, then the daemon dies before journaling how it ended.
pub struct DiesAfter(pub Arc<dyn Step>, pub Arc<Gate>);

#[async_trait]
impl Step for DiesAfter {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn label(&self) -> &'static str {
        self.0.label()
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        let _ = self.0.run(cx).await;
        self.1.die().await
    }
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        self.0.undo(cx).await
    }
}

/// The inner step under the gate: once the armed sub-record is journaled, the step's end is
/// never reported (its cloud calls after that point never return either).
pub struct Watched(pub Arc<dyn Step>, pub Arc<Gate>);

#[async_trait]
impl Step for Watched {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn label(&self) -> &'static str {
        self.0.label()
    }
    async fn run(&self, cx: &StepCx) -> Result<Value, StepError> {
        let r = self.0.run(cx).await;
        self.1.check().await;
        r
    }
    async fn undo(&self, cx: &StepCx) -> Result<(), StepError> {
        self.0.undo(cx).await
    }
}

/// Keys whose values are times or durations (they differ between two runs that end the same).
fn is_time_key(k: &str) -> bool {
    k.ends_with("_at")
        || k.ends_with("-at")
        || matches!(
            k,
            "creation_date"
                | "launch_time"
                | "saved_date"
                | "downtime_seconds"
                | "total_seconds"
                // A deprecation's time: `at` in the template file, the image's tag and EC2's.
                | "at"
                | "prism:deprecated"
                | "deprecation_time"
                // When Recycle Bin lets a deleted image go (from the wall clock).
                | "until"
        )
}

/// Replaces run-specific strings (operation ids, the temporary directory) with stable labels.
struct Norm(Vec<(String, String)>);

impl Norm {
    async fn of(rig: &Rig) -> Norm {
        let ids: Vec<String> = rig
            .env
            .store
            .call(|c| {
                let mut s = c.prepare("SELECT id FROM operations ORDER BY rowid")?;
                let rows = s.query_map([], |r| r.get(0))?.collect();
                rows
            })
            .await
            .unwrap();
        let mut subs = vec![
            (
                rig.env.template_dir.display().to_string(),
                "<templates>".to_string(),
            ),
            (rig.dir.path().display().to_string(), "<dir>".to_string()),
        ];
        for (n, id) in ids.iter().enumerate() {
            subs.push((id.clone(), format!("<op{}>", n + 1)));
        }
        for (n, id) in ids.iter().enumerate() {
            subs.push((id[..8].to_string(), format!("<op{}>", n + 1)));
        }
        Norm(subs)
    }

    fn label(&self, op: &str) -> String {
        self.str(op)
    }

    fn str(&self, s: &str) -> String {
        let mut s = s.to_string();
        for (from, to) in &self.0 {
            if s.contains(from.as_str()) {
                s = s.replace(from.as_str(), to);
            }
        }
        s
    }

    fn value(&self, v: Value) -> Value {
        match v {
            // EC2's copy snapshots say when the copy task began: a time like the others.
            Value::String(s) => Value::String(match s.split_once(". Task created on ") {
                Some((head, _)) => self.str(&format!("{head}. Task created on <time>.")),
                None => self.str(&s),
            }),
            Value::Array(a) => Value::Array(a.into_iter().map(|v| self.value(v)).collect()),
            Value::Object(o) => Value::Object(
                o.into_iter()
                    .map(|(k, v)| {
                        let v = if is_time_key(&k) {
                            Value::String("<time>".into())
                        } else {
                            self.value(v)
                        };
                        (self.str(&k), v)
                    })
                    .collect(),
            ),
            v => v,
        }
    }

    /// A template file's text with its time lines masked.
    fn file(&self, text: &str) -> String {
        text.lines()
            .map(|l| match l.split_once(':') {
                Some((k, _)) if is_time_key(k.trim()) => format!("{k}: <time>"),
                _ => self.str(l),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `ami-…`/`snap-…` ids in `s` that are not in `live`, replaced by `ami-<gone>`/`snap-<gone>`.
fn gone_ids(s: &str, live: &HashSet<String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    'scan: while !rest.is_empty() {
        for prefix in ["ami-", "snap-"] {
            if let Some(tail) = rest.strip_prefix(prefix) {
                let hex = tail.bytes().take_while(u8::is_ascii_hexdigit).count();
                if hex == 17 {
                    let id = &rest[..prefix.len() + hex];
                    if live.contains(id) {
                        out.push_str(id);
                    } else {
                        out.push_str(prefix);
                        out.push_str("<gone>");
                    }
                    rest = &rest[id.len()..];
                    continue 'scan;
                }
            }
        }
        let c = rest.chars().next().unwrap();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn gone(v: Value, live: &HashSet<String>) -> Value {
    match v {
        Value::String(s) => Value::String(gone_ids(&s, live)),
        Value::Array(a) => Value::Array(a.into_iter().map(|v| gone(v, live)).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, gone(v, live))).collect()),
        v => v,
    }
}

/// JSON pointers to where `a` and `b` differ (`""`: the whole value).
fn differing(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let (p, q) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                differing(p, q, format!("{at}/{k}"), out);
            }
        }
        (x, y) if x != y => out.push(at),
        _ => {}
    }
}

/// One difference between two snapshots: an entry of a section, and where inside it.
#[derive(Debug)]
pub struct Difference {
    /// Section (`images`, `workstations`, ...).
    pub section: &'static str,
    /// JSON pointers inside the entry (`""`: the whole entry is missing or extra).
    pub paths: Vec<String>,
    /// Shown to a person.
    pub text: String,
}

/// Everything an operation can change, normalized: the fake cloud's instances (terminated
/// ones are gone), images with their launch permissions, snapshots; the template directory;
/// the store's workstations, template versions and operations.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot(BTreeMap<&'static str, BTreeMap<String, Value>>);

fn read_dir_into(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            read_dir_into(&p, root, out);
        } else {
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            out.insert(rel, std::fs::read_to_string(&p).unwrap_or_default());
        }
    }
}

impl Snapshot {
    /// Lets the world settle (an hour of virtual time), then takes the snapshot.
    pub async fn take(rig: &Rig) -> Snapshot {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        let n = Norm::of(rig).await;
        let mut s: BTreeMap<&'static str, BTreeMap<String, Value>> = BTreeMap::new();
        let sec = |v: Vec<(String, Value)>| v.into_iter().collect::<BTreeMap<_, _>>();
        s.insert(
            "instances",
            sec(rig
                .fake
                .instances()
                .into_iter()
                .filter(|i| i.state != InstanceState::Terminated)
                .map(|i| (i.id.clone(), n.value(serde_json::to_value(i).unwrap())))
                .collect()),
        );
        let mut images = vec![];
        for i in rig.fake.images() {
            // Only the owner may read an image's launch permissions (base images are Amazon's).
            let perms = if i.owner_id.as_deref() == Some(prism_cloud::fake::DEFAULT_ACCOUNT) {
                rig.fake.launch_permissions(&i.region, &i.id).await.unwrap()
            } else {
                Default::default()
            };
            let mut v = serde_json::to_value(&i).unwrap();
            v["launch_permissions"] = serde_json::to_value(perms).unwrap();
            images.push((i.id.clone(), n.value(v)));
        }
        s.insert("images", sec(images));
        s.insert(
            "snapshots",
            sec(rig
                .fake
                .snapshots()
                .into_iter()
                .map(|(r, snap)| {
                    let mut v = serde_json::to_value(&snap).unwrap();
                    v["region"] = json!(r);
                    (snap.id.clone(), n.value(v))
                })
                .collect()),
        );
        let mut files = BTreeMap::new();
        read_dir_into(&rig.env.template_dir, &rig.env.template_dir, &mut files);
        s.insert(
            "files",
            files
                .into_iter()
                .map(|(k, v)| (k, Value::String(n.file(&v))))
                .collect(),
        );
        let store = &rig.env.store;
        s.insert(
            "workstations",
            sec(store
                .workstations()
                .await
                .unwrap()
                .into_iter()
                .map(|w| {
                    let v = json!({
                        "instance_id": w.instance_id, "region": w.region, "state": w.state,
                        "template": w.template, "template_version": w.template_version,
                        "project": w.project, "size": w.size, "instance_type": w.instance_type,
                        "architecture": w.architecture, "public_ip": w.public_ip,
                        "launched_at": w.launched_at, "profile": w.profile,
                    });
                    (w.name, n.value(v))
                })
                .collect()),
        );
        let rows: Vec<(String, Value)> = store
            .call(|c| {
                let mut q = c.prepare(
                    "SELECT name, version, description, source_region, amis, saved_from, path, op_id
                     FROM template_versions",
                )?;
                let rows = q
                    .query_map([], |r| {
                        let amis: String = r.get(4)?;
                        Ok((
                            format!("{}@{}", r.get::<_, String>(0)?, r.get::<_, i64>(1)?),
                            json!({
                                "description": r.get::<_, Option<String>>(2)?,
                                "source_region": r.get::<_, String>(3)?,
                                "amis": serde_json::from_str::<Value>(&amis).unwrap_or(Value::Null),
                                "saved_from": r.get::<_, Option<String>>(5)?,
                                "path": r.get::<_, Option<String>>(6)?,
                                "op_id": r.get::<_, Option<String>>(7)?,
                            }),
                        ))
                    })?
                    .collect();
                rows
            })
            .await
            .unwrap();
        let versions: Vec<(String, Value)> =
            rows.into_iter().map(|(k, v)| (k, n.value(v))).collect();
        s.insert("template_versions", sec(versions));
        let ops = store.operations(10_000).await.unwrap();
        s.insert(
            "operations",
            sec(ops
                .into_iter()
                .map(|o| {
                    let v = json!({
                        "kind": o.kind, "status": o.status, "target": o.target,
                        "result": o.result, "error": o.error,
                    });
                    (n.label(&o.id), n.value(v))
                })
                .collect()),
        );
        // A reference to an image or snapshot that no longer exists names nothing: two runs
        // that each made and removed a failed copy end the same way.
        let live: HashSet<String> = ["images", "snapshots"]
            .iter()
            .flat_map(|k| s[k].keys().cloned())
            .collect();
        for m in s.values_mut() {
            for v in m.values_mut() {
                *v = gone(std::mem::take(v), &live);
            }
        }
        Snapshot(s)
    }

    /// Without section `section` (or, with `key`, without that one entry of it).
    pub fn without(mut self, section: &str, key: Option<&str>) -> Snapshot {
        match key {
            Some(k) => {
                if let Some(m) = self.0.get_mut(section) {
                    m.remove(k);
                }
            }
            None => {
                self.0.retain(|s, _| *s != section);
            }
        }
        self
    }

    /// What differs from `other`, one entry per differing entry (empty when equal).
    pub fn diff(&self, other: &Snapshot) -> Vec<Difference> {
        let mut out = vec![];
        let empty = BTreeMap::new();
        let sections: BTreeSet<&&str> = self.0.keys().chain(other.0.keys()).collect();
        for s in sections {
            let a = self.0.get(*s).unwrap_or(&empty);
            let b = other.0.get(*s).unwrap_or(&empty);
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) if x == y => {}
                    (x, y) => {
                        let mut paths = vec![];
                        match (x, y) {
                            (Some(x), Some(y)) => differing(x, y, String::new(), &mut paths),
                            _ => paths.push(String::new()),
                        }
                        out.push(Difference {
                            section: s,
                            text: format!(
                                "{s} {k} (at {paths:?}):\n      expected {}\n      got      {}",
                                x.map(|v| v.to_string()).unwrap_or_else(|| "(none)".into()),
                                y.map(|v| v.to_string()).unwrap_or_else(|| "(none)".into()),
                            ),
                            paths,
                        })
                    }
                }
            }
        }
        out
    }
}
