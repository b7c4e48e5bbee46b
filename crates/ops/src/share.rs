//! Sharing a saved version: launch permission on its image in every region for accounts,
//! organizations, OUs or everyone (`prism template share`), and taking it back
//! (`prism template unshare`). Colleagues then discover it with `prism templates --refresh`.
//!
//! A share is all-or-nothing: when one region fails, the permissions this operation added in
//! the others are taken back (permissions that were there before are kept). An unshare has
//! no undo: what it removed stays removed, and running it again retries the rest.

use crate::backoff::retry;
use crate::context::{Env, StepCx};
use crate::error::{OpsError, StepError};
use crate::locks;
use crate::output::StepOutput;
use crate::saga::{step, Saga, TypedStep};
use async_trait::async_trait;
use prism_api::{RegionImage, RegionOutcome, SharePlan, ShareRequest};
use prism_cloud::{CloudErrorKind, KeyKind, Share};
use prism_store::NewOperation;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::marker::PhantomData;

/// Operation kind of a share.
pub const KIND_SHARE: &str = "share.v1";
/// Operation kind of an unshare.
pub const KIND_UNSHARE: &str = "unshare.v1";
/// Steps of [`saga`] (share and unshare) that make a mutating AWS call and mark it with
/// `cx.acted()` (a `KIND:STEP:acted` crash point), and steps that journal sub-records
/// (`cx.record`). Read by `registry::acting_steps`; `registry::tests` checks them.
pub const ACTING_STEPS: &[&str] = &["share", "unshare"];
/// See [`ACTING_STEPS`].
pub const RECORDING_STEPS: &[&str] = &["share", "unshare"];

/// Labelled crash points `KIND:STEP:acted:LABEL` (`cx.acted_at("LABEL")`) of steps that make
/// more than one kind of mutating call. Read by `registry::acted_points`; checked likewise.
pub const ACTED_AT: &[(&str, &str)] = &[
    ("share", "region"),
    ("share", "snapshot"),
    ("unshare", "region"),
    ("unshare", "snapshot"),
];

/// The share saga (`remove`: the unshare saga): one step each (names are persisted: never
/// rename one).
pub fn saga(remove: bool) -> Saga {
    Saga {
        kind: if remove { KIND_UNSHARE } else { KIND_SHARE },
        steps: if remove {
            vec![step(
                "unshare",
                "removing launch permissions",
                Apply::<UnshareOut>::new(),
            )]
        } else {
            vec![step(
                "share",
                "granting launch permissions",
                Apply::<ShareOut>::new(),
            )]
        },
        finish: |cx| {
            let i: ShareInput = cx.input()?;
            let regions = if i.remove {
                cx.need::<UnshareOut>()?.regions
            } else {
                cx.need::<ShareOut>()?.regions
            };
            Ok(json!({
                "template": i.template,
                "version": i.version,
                "remove": i.remove,
                "accounts": i.share.accounts,
                "organizations": i.share.organizations,
                "organizational_units": i.share.organizational_units,
                "public": i.share.public,
                "regions": regions,
            }))
        },
    }
}

/// Output of `share`: every region's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareOut {
    /// One outcome per image.
    pub regions: Vec<RegionOutcome>,
}

impl StepOutput for ShareOut {
    const STEP: &'static str = "share";
}

/// Output of `unshare`: every region's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnshareOut {
    /// One outcome per image.
    pub regions: Vec<RegionOutcome>,
}

impl StepOutput for UnshareOut {
    const STEP: &'static str = "unshare";
}

/// What the one step of a share or an unshare does, by its output type.
trait ApplyOut: StepOutput + Sync {
    /// Remove permissions instead of adding them.
    const REMOVE: bool;
    fn new(regions: Vec<RegionOutcome>) -> Self;
}

impl ApplyOut for ShareOut {
    const REMOVE: bool = false;
    fn new(regions: Vec<RegionOutcome>) -> Self {
        ShareOut { regions }
    }
}

impl ApplyOut for UnshareOut {
    const REMOVE: bool = true;
    fn new(regions: Vec<RegionOutcome>) -> Self {
        UnshareOut { regions }
    }
}

/// Most accounts, organizations and OUs one request may name (EC2 takes at most 500
/// permissions per image; a request is typed by a person).
pub const MAX_TARGETS: usize = 50;

/// What a share operation needs; journaled as its input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShareInput {
    /// Template name.
    pub template: String,
    /// Version.
    pub version: String,
    /// Profile.
    pub profile: Option<String>,
    /// The version's images.
    pub images: Vec<RegionImage>,
    /// Permissions to add or remove.
    pub share: Share,
    /// Remove instead of add.
    pub remove: bool,
    /// Each image's permissions before the operation (by image id): an undone share keeps them.
    pub before: BTreeMap<String, Share>,
    /// Grant the snapshots' create-volume permission too (`--allow-copy`).
    #[serde(default)]
    pub allow_copy: bool,
    /// Each image's snapshots (by image id): where copy permission is granted or taken back.
    #[serde(default)]
    pub snapshots: BTreeMap<String, Vec<String>>,
    /// Each snapshot's create-volume permissions before a share (by snapshot id): an undone
    /// share keeps them.
    #[serde(default)]
    pub snapshots_before: BTreeMap<String, Share>,
}

impl ShareInput {
    /// The part of the share EC2 can grant on a snapshot: accounts and everyone.
    fn snapshot_share(&self) -> Share {
        Share {
            public: self.share.public,
            accounts: self.share.accounts.clone(),
            ..Share::default()
        }
    }
}

fn invalid(message: String, hint: &str) -> OpsError {
    OpsError::invalid(message, Some(hint.to_string()))
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

fn id_chars(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// `arn:PARTITION:organizations::ACCOUNT:` followed by the rest, or `None`.
fn organizations_arn_rest(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    if !partition.starts_with("aws") {
        return None;
    }
    let rest = rest.strip_prefix("organizations::")?;
    let (account, rest) = rest.split_once(':')?;
    digits(account, 12).then_some(rest)
}

fn org_arn_ok(arn: &str) -> bool {
    organizations_arn_rest(arn)
        .and_then(|r| r.strip_prefix("organization/o-"))
        .is_some_and(|id| id_chars(id, 10, 32))
}

fn ou_arn_ok(arn: &str) -> bool {
    let Some(rest) = organizations_arn_rest(arn).and_then(|r| r.strip_prefix("ou/o-")) else {
        return false;
    };
    let Some((org, ou)) = rest.split_once("/ou-") else {
        return false;
    };
    let Some((root, id)) = ou.split_once('-') else {
        return false;
    };
    id_chars(org, 10, 32) && id_chars(root, 4, 32) && id_chars(id, 8, 32)
}

pub(crate) fn dedup(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for s in v.iter().map(|s| s.trim()) {
        if !s.is_empty() && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

/// Refuses anything in `accounts` that is not a 12-digit AWS account id.
pub fn check_accounts(accounts: &[String]) -> Result<(), OpsError> {
    match accounts.iter().find(|a| !digits(a, 12)) {
        Some(a) => Err(invalid(
            format!("{a:?} is not an AWS account id"),
            "an account id is 12 digits, e.g. 111122223333",
        )),
        None => Ok(()),
    }
}

/// Checks the shape of whom to share with (nothing is asked of AWS).
fn check_targets(req: &ShareRequest) -> Result<Share, OpsError> {
    let share = Share {
        public: req.public,
        accounts: dedup(&req.accounts),
        organizations: dedup(&req.organizations),
        organizational_units: dedup(&req.organizational_units),
    };
    check_accounts(&share.accounts)?;
    if let Some(o) = share.organizations.iter().find(|o| !org_arn_ok(o)) {
        return Err(invalid(
            format!("{o:?} is not an organization ARN"),
            "write it as arn:aws:organizations::ACCOUNT:organization/o-ID",
        ));
    }
    if let Some(o) = share.organizational_units.iter().find(|o| !ou_arn_ok(o)) {
        return Err(invalid(
            format!("{o:?} is not an organizational unit ARN"),
            "write it as arn:aws:organizations::ACCOUNT:ou/o-ID/ou-ROOT-ID",
        ));
    }
    let named = share.accounts.len() + share.organizations.len() + share.organizational_units.len();
    if named == 0 && !share.public {
        return Err(invalid(
            "nothing to share with".into(),
            "name at least one of --account, --org, --ou or --public",
        ));
    }
    if named > MAX_TARGETS {
        return Err(invalid(
            format!(
                "{named} accounts, organizations and OUs in one request; at most {MAX_TARGETS}"
            ),
            "share with an organization or OU instead, or split the request",
        ));
    }
    Ok(share)
}

/// Refuses a public share in `region` when the account blocks public images there; a warning
/// when that cannot be checked. Advisory (EC2 refuses a blocked public share anyway): one call
/// with the SDK's own retries only, so an endpoint without this API (moto) costs seconds.
pub async fn public_sharing_allowed(
    cloud: &dyn prism_cloud::Cloud,
    region: &str,
) -> Result<Option<String>, OpsError> {
    match cloud.public_sharing_blocked(region).await {
        Ok(true) => Err(invalid(
            format!("block public access for images is on in {region} for this account"),
            "turn it off (aws ec2 disable-image-block-public-access) or share with accounts instead",
        )),
        Ok(false) => Ok(None),
        Err(e) => Ok(Some(format!(
            "could not check block public access in {region} ({e}); EC2 refuses a public share if it is on"
        ))),
    }
}

/// Checks a share or unshare; returns its plan and the operation to submit. Nothing changes.
pub async fn prepare(
    env: &Env,
    catalogue: &prism_templates::Catalogue,
    req: &ShareRequest,
) -> Result<(SharePlan, NewOperation), OpsError> {
    let share = check_targets(req)?;
    if req.allow_copy && !req.remove && !share.public && share.accounts.is_empty() {
        return Err(invalid(
            "--allow-copy grants the snapshots' create-volume permission, which EC2 gives to \
             accounts or everyone only, never to organizations or OUs"
                .to_string(),
            "name the accounts that may copy it with --account ACCOUNT (or leave out --allow-copy)",
        ));
    }
    let (t, version) = crate::saved::saved_version(catalogue, &req.template, "share")?;
    locks::ensure_free(
        env,
        &locks::template(t.id()),
        &format!("template '{}'", t.id()),
    )
    .await?;
    let cloud = env.clouds.cloud(req.aws.profile.as_deref()).await?;
    let images: Vec<RegionImage> = t
        .ami_config
        .amis
        .iter()
        .flat_map(|(region, by_arch)| {
            by_arch.values().map(move |id| RegionImage {
                region: region.clone(),
                image_id: id.clone(),
            })
        })
        .collect();
    if images.is_empty() {
        return Err(invalid(
            format!("{}@{version} lists no image", t.id()),
            "check the template file with: prism template validate FILE",
        ));
    }
    let mut warnings = vec![];
    let mut before = BTreeMap::new();
    let (mut snapshots, mut snapshots_before) = (BTreeMap::new(), BTreeMap::new());
    let mut own_account = None;
    for img in &images {
        let found = crate::images::lookup(cloud.as_ref(), &img.region, &img.image_id).await?;
        let Some(found) = found.filter(|i| i.state != prism_cloud::ImageState::Deregistered) else {
            return Err(OpsError::not_found(
                format!(
                    "image {} of {}@{version} no longer exists in {}",
                    img.image_id,
                    t.id(),
                    img.region
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
                    "image {} of {}@{version} in {} belongs to account {}; only its owner can share it",
                    img.image_id,
                    t.id(),
                    img.region,
                    found.owner_id.as_deref().unwrap_or("?")
                ),
                "ask the template's owner to share it",
            ));
        }
        if share.public && !req.remove {
            if found.encrypted {
                return Err(invalid(
                    format!(
                        "image {} in {} has encrypted snapshots, and EC2 cannot make an encrypted image public",
                        img.image_id, img.region
                    ),
                    "share it with accounts, an organization or an OU instead",
                ));
            }
            warnings.extend(public_sharing_allowed(cloud.as_ref(), &img.region).await?);
        }
        let to_others = !share.accounts.is_empty()
            || !share.organizations.is_empty()
            || !share.organizational_units.is_empty();
        if to_others && !req.remove {
            // EC2 "Share an AMI with specific AWS accounts": an AMI encrypted with the
            // account's AWS-managed key (aws/ebs) cannot be used by other accounts (their
            // instances terminate at launch); one on a customer-managed key can, once the key's
            // policy lets them use it.
            match &found.key {
                KeyKind::AwsManaged(_) => {
                    return Err(invalid(
                        format!(
                            "image {} in {} is encrypted with your account's AWS-managed EBS key, \
                             which other accounts cannot use: they could not launch it",
                            img.image_id, img.region
                        ),
                        &format!(
                            "EC2 cannot change an image's key: copy it to another region encrypted \
                             with a customer-managed KMS key and share that copy (prism template \
                             copy {}@{version} --to-region REGION --kms-key REGION=KEY_ARN), or \
                             save again with --copy-to-regions REGION --kms-key REGION=KEY_ARN",
                            t.id()
                        ),
                    ));
                }
                KeyKind::CustomerManaged(key) => warnings.push(format!(
                    "image {} in {} is encrypted with KMS key {key}: its key policy must let the \
                     recipients use it (kms:Decrypt, kms:CreateGrant, kms:DescribeKey, \
                     kms:ReEncrypt*, kms:GenerateDataKey*), or they cannot launch it",
                    img.image_id, img.region
                )),
                KeyKind::Unknown(key) => warnings.push(format!(
                    "image {} in {} is encrypted{}: if that is your account's AWS-managed key \
                     (aws/ebs) the recipients cannot launch it; a customer-managed key must let \
                     them use it",
                    img.image_id,
                    img.region,
                    key.as_deref()
                        .map(|k| format!(" with KMS key {k}"))
                        .unwrap_or_default()
                )),
                KeyKind::None => {}
            }
        }
        before.insert(
            img.image_id.clone(),
            retry(|| cloud.launch_permissions(&img.region, &img.image_id)).await?,
        );
        // A share with --allow-copy grants copy permission on these snapshots; an unshare
        // takes it back from them wherever it is there.
        if (req.allow_copy || req.remove) && (share.public || !share.accounts.is_empty()) {
            for snap in &found.snapshot_ids {
                if !req.remove {
                    snapshots_before.insert(
                        snap.clone(),
                        retry(|| cloud.snapshot_copy_permissions(&img.region, snap)).await?,
                    );
                }
            }
            snapshots.insert(img.image_id.clone(), found.snapshot_ids.clone());
        }
    }
    if let Some(me) = &own_account {
        if !req.remove && share.accounts.contains(me) {
            return Err(invalid(
                format!("{me} is your own account; it can launch its images already"),
                "name the other accounts to share with",
            ));
        }
    }
    let plan = SharePlan {
        template: t.id().to_string(),
        version: version.clone(),
        images: images.clone(),
        accounts: share.accounts.clone(),
        organizations: share.organizations.clone(),
        organizational_units: share.organizational_units.clone(),
        public: share.public,
        remove: req.remove,
        allow_copy: req.allow_copy && !req.remove,
        warnings,
    };
    let input = ShareInput {
        template: t.id().to_string(),
        version: version.clone(),
        profile: req.aws.profile.clone(),
        images,
        share,
        remove: req.remove,
        before,
        allow_copy: req.allow_copy && !req.remove,
        snapshots,
        snapshots_before,
    };
    let op = NewOperation {
        id: uuid::Uuid::new_v4().to_string(),
        kind: if req.remove { KIND_UNSHARE } else { KIND_SHARE }.into(),
        target: format!("{}@{version}", t.id()),
        lock_keys: vec![locks::template(t.id())],
        input: serde_json::to_value(&input).map_err(|e| OpsError::Internal(e.to_string()))?,
    };
    Ok((plan, op))
}

/// Who may launch the saved version `reference` names, per region, read from EC2 (a region
/// that cannot be read says why; the others are still answered).
pub async fn sharing(
    env: &Env,
    catalogue: &prism_templates::Catalogue,
    reference: &str,
    profile: Option<&str>,
) -> Result<prism_api::TemplateSharing, OpsError> {
    let (t, version) = crate::saved::saved_version(catalogue, reference, "share")?;
    let cloud = env.clouds.cloud(profile).await?;
    let images: Vec<(String, String)> = t
        .ami_config
        .amis
        .iter()
        .flat_map(|(r, m)| m.values().map(move |id| (r.clone(), id.clone())))
        .collect();
    let regions = futures_util::future::join_all(images.into_iter().map(|(region, id)| {
        let cloud = cloud.clone();
        async move {
            let read = retry(|| cloud.launch_permissions(&region, &id)).await;
            let (share, error) = match read {
                Ok(s) => (s, None),
                Err(e) => (Share::default(), Some(e.to_string())),
            };
            prism_api::RegionSharing {
                region,
                image_id: id,
                public: share.public,
                accounts: share.accounts,
                organizations: share.organizations,
                organizational_units: share.organizational_units,
                error,
            }
        }
    }))
    .await;
    Ok(prism_api::TemplateSharing {
        template: t.id().to_string(),
        version,
        regions,
    })
}

/// What of `share` an image did not have in `before` (what a share added, so its undo
/// removes only that).
fn added(share: &Share, before: &Share) -> Share {
    let new = |want: &[String], had: &[String]| -> Vec<String> {
        want.iter().filter(|w| !had.contains(w)).cloned().collect()
    };
    Share {
        public: share.public && !before.public,
        accounts: new(&share.accounts, &before.accounts),
        organizations: new(&share.organizations, &before.organizations),
        organizational_units: new(&share.organizational_units, &before.organizational_units),
    }
}

/// The part of `share` that `now` has.
fn present(share: &Share, now: &Share) -> Share {
    let has = |want: &[String], there: &[String]| -> Vec<String> {
        want.iter().filter(|w| there.contains(w)).cloned().collect()
    };
    Share {
        public: share.public && now.public,
        accounts: has(&share.accounts, &now.accounts),
        organizations: has(&share.organizations, &now.organizations),
        organizational_units: has(&share.organizational_units, &now.organizational_units),
    }
}

/// The one step: grant (or revoke) in every region, each region journaled as it ends.
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
        let i: ShareInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        let input = &i;
        let outcomes = futures_util::future::join_all(i.images.iter().map(|img| {
            let (cloud, share) = (cloud.clone(), i.share.clone());
            async move {
                let mut res = if O::REMOVE {
                    retry(|| cloud.unshare_image(&img.region, &img.image_id, &share)).await
                } else {
                    retry(|| cloud.share_image(&img.region, &img.image_id, &share)).await
                };
                if res.is_ok() {
                    cx.acted_at("region");
                    res = copy_permission::<O>(cx, cloud.as_ref(), input, img).await;
                }
                let out = RegionOutcome {
                    region: img.region.clone(),
                    image_id: Some(img.image_id.clone()),
                    status: match (&res, O::REMOVE) {
                        (Err(_), _) => "failed",
                        (Ok(()), true) => "unshared",
                        (Ok(()), false) => "shared",
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
                "the regions that succeeded stay unshared; run it again to retry"
            } else {
                "the permissions added elsewhere are taken back"
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
        let i: ShareInput = cx.input()?;
        let cloud = cx.cloud(i.profile.as_deref()).await?;
        for img in &i.images {
            // What is there now that this share added: nothing in a region where it failed
            // (so nothing is called there), everything in one where only the answer was lost.
            let now = match retry(|| cloud.launch_permissions(&img.region, &img.image_id)).await {
                Ok(now) => now,
                // Gone: nothing is shared any more.
                Err(e) if e.kind == CloudErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            let before = i.before.get(&img.image_id).cloned().unwrap_or_default();
            let take_back = present(&added(&i.share, &before), &now);
            if take_back == Share::default() {
                continue;
            }
            match retry(|| cloud.unshare_image(&img.region, &img.image_id, &take_back)).await {
                Ok(()) => {}
                Err(e) if e.kind == CloudErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        if i.allow_copy {
            for img in &i.images {
                for snap in i.snapshots.get(&img.image_id).into_iter().flatten() {
                    let before = i.snapshots_before.get(snap).cloned().unwrap_or_default();
                    take_back_copy(
                        cloud.as_ref(),
                        &img.region,
                        snap,
                        &i.snapshot_share(),
                        &before,
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }
}

/// After a region's image permissions changed: a share with `--allow-copy` grants the
/// snapshots' create-volume permission; an unshare takes back what of it is there.
async fn copy_permission<O: ApplyOut>(
    cx: &StepCx,
    cloud: &dyn prism_cloud::Cloud,
    i: &ShareInput,
    img: &RegionImage,
) -> prism_cloud::CloudResult<()> {
    let want = i.snapshot_share();
    for snap in i.snapshots.get(&img.image_id).into_iter().flatten() {
        if O::REMOVE {
            take_back_copy(cloud, &img.region, snap, &want, &Share::default()).await?;
        } else if i.allow_copy {
            retry(|| cloud.modify_snapshot_copy_permission(&img.region, snap, &want, false))
                .await?;
        } else {
            continue;
        }
        cx.acted_at("snapshot");
    }
    Ok(())
}

/// Removes from `snapshot_id` the part of `share` that is there now and was not in `before`
/// (a missing snapshot has nothing left to take back).
async fn take_back_copy(
    cloud: &dyn prism_cloud::Cloud,
    region: &str,
    snapshot_id: &str,
    share: &Share,
    before: &Share,
) -> prism_cloud::CloudResult<()> {
    let now = match retry(|| cloud.snapshot_copy_permissions(region, snapshot_id)).await {
        Ok(now) => now,
        Err(e) if e.kind == CloudErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let take_back = present(&added(share, before), &now);
    if take_back == Share::default() {
        return Ok(());
    }
    match retry(|| cloud.modify_snapshot_copy_permission(region, snapshot_id, &take_back, true))
        .await
    {
        Err(e) if e.kind == CloudErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(accounts: &[&str], orgs: &[&str], ous: &[&str], public: bool) -> ShareRequest {
        ShareRequest {
            template: "t".into(),
            accounts: accounts.iter().map(|s| s.to_string()).collect(),
            organizations: orgs.iter().map(|s| s.to_string()).collect(),
            organizational_units: ous.iter().map(|s| s.to_string()).collect(),
            public,
            ..Default::default()
        }
    }

    #[test]
    fn targets_are_checked_and_deduplicated() {
        let ok = check_targets(&req(
            &["111122223333", " 111122223333 "],
            &["arn:aws:organizations::123456789012:organization/o-abcdefghij"],
            &["arn:aws:organizations::123456789012:ou/o-abcdefghij/ou-ab12-cdefghij"],
            false,
        ))
        .unwrap();
        assert_eq!(ok.accounts, vec!["111122223333"]);
        assert_eq!(ok.organizations.len(), 1);
        assert_eq!(ok.organizational_units.len(), 1);
        assert!(check_targets(&req(&[], &[], &[], true)).is_ok());
        for (bad, frag) in [
            (req(&[], &[], &[], false), "nothing to share with"),
            (req(&["12345"], &[], &[], false), "not an AWS account id"),
            (
                req(&["11112222333a"], &[], &[], false),
                "not an AWS account id",
            ),
            (
                req(&[], &["o-abcdefghij"], &[], false),
                "not an organization ARN",
            ),
            (
                req(
                    &[],
                    &["arn:aws:organizations::123:organization/o-abcdefghij"],
                    &[],
                    false,
                ),
                "not an organization ARN",
            ),
            (
                req(
                    &[],
                    &[],
                    &["arn:aws:organizations::123456789012:ou/o-abcdefghij"],
                    false,
                ),
                "not an organizational unit ARN",
            ),
        ] {
            let e = check_targets(&bad).unwrap_err().to_string();
            assert!(e.contains(frag), "{e}");
        }
        let many: Vec<String> = (0..51)
            .map(|n| format!("{:012}", 100_000_000_000u64 + n))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let e = check_targets(&req(&many, &[], &[], false))
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 50"), "{e}");
    }

    #[test]
    fn undo_takes_back_only_what_the_share_added() {
        let share = Share {
            public: true,
            accounts: vec!["111122223333".into(), "444455556666".into()],
            ..Default::default()
        };
        let before = Share {
            public: true,
            accounts: vec!["111122223333".into()],
            ..Default::default()
        };
        let a = added(&share, &before);
        assert!(!a.public);
        assert_eq!(a.accounts, vec!["444455556666"]);
    }
}
