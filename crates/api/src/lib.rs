//! The daemon's HTTP API: request and response bodies shared by `prismd` and `prism`.
//!
//! Everything here is plain serde data with OpenAPI schemas; field names are the stable JSON
//! contract that `--output json` prints, so add fields, never rename them.

pub mod hello;

pub use hello::{Hello, CHALLENGE_HEADER};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// API version prefix of every route.
pub const API_PREFIX: &str = "/v1";

/// Header carrying the daemon token.
pub const TOKEN_HEADER: &str = "x-prism-token";

/// Where a request's AWS calls go: the profile and region travel with each request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AwsTarget {
    /// AWS profile name (`None`: the default credential chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// AWS region (`None`: the profile's or environment's region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// `GET /v1/health`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Daemon version.
    pub version: String,
    /// Daemon process id.
    pub pid: u32,
    /// When the daemon started (RFC 3339).
    pub started_at: String,
    /// Fingerprint of the AWS environment the daemon was started with (see [`aws_env_fingerprint`]).
    pub aws_env_fingerprint: String,
    /// The endpoint override the daemon uses, if any (never credentials).
    pub aws_endpoint: Option<String>,
    /// Operations not yet finished.
    pub active_operations: usize,
}

/// Machine-readable class of an [`ApiError`]; on the wire a kebab-case string.
///
/// The daemon sends every variant but [`ApiErrorKind::Unknown`]; a client decodes any kind it
/// does not know (one a newer daemon added) as `Unknown` instead of failing on the error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ApiErrorKind {
    /// `invalid-input`: the request is wrong (bad field, bad body, wrong method).
    InvalidInput,
    /// `not-found`: the thing named (or the route) does not exist.
    NotFound,
    /// `conflict`: another operation holds the target, or the thing exists already.
    Conflict,
    /// `aws`: AWS refused or failed.
    Aws,
    /// `unauthorized`: no or wrong token, or a foreign `Host`/`Origin`.
    Unauthorized,
    /// `internal`: the daemon failed; the message carries the cause chain.
    Internal,
    /// `unknown`: never sent; a kind this build does not know (decoding only).
    #[serde(other)]
    Unknown,
}

impl ApiErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ApiErrorKind; 7] = [
        ApiErrorKind::InvalidInput,
        ApiErrorKind::NotFound,
        ApiErrorKind::Conflict,
        ApiErrorKind::Aws,
        ApiErrorKind::Unauthorized,
        ApiErrorKind::Internal,
        ApiErrorKind::Unknown,
    ];

    /// The wire string, e.g. `not-found`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiErrorKind::InvalidInput => "invalid-input",
            ApiErrorKind::NotFound => "not-found",
            ApiErrorKind::Conflict => "conflict",
            ApiErrorKind::Aws => "aws",
            ApiErrorKind::Unauthorized => "unauthorized",
            ApiErrorKind::Internal => "internal",
            ApiErrorKind::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ApiErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error body of every non-2xx answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    /// Machine-readable class (see [`ApiErrorKind`]).
    pub kind: ApiErrorKind,
    /// What went wrong, naming the thing concerned.
    pub message: String,
    /// What to do about it, when there is something to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Related operation id (e.g. the save already running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
}

/// A template as listed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TemplateSummary {
    /// Identifier used on the command line.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: Option<String>,
    /// Latest version.
    pub version: Option<String>,
    /// All versions known.
    pub versions: Vec<String>,
    /// `builtin`, `user` or `saved`.
    pub origin: String,
    /// File it was loaded from (user and saved templates).
    pub path: Option<String>,
    /// Base distribution or `ami-based`.
    pub base: Option<String>,
    /// Regions with a saved AMI (saved templates).
    pub regions: Vec<String>,
    /// Project, for saved templates.
    pub project: Option<String>,
    /// From when this version is (or will be) deprecated (RFC 3339), when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<String>,
    /// The version that replaces it (`T@M`), when its owner named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
}

/// `GET /v1/templates`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TemplateList {
    /// The templates, one per name (latest version).
    pub templates: Vec<TemplateSummary>,
    /// Files that failed to load, with why (they are skipped).
    pub issues: Vec<TemplateIssue>,
}

/// `POST /v1/templates/refresh`: discover saved templates from EC2 (own and shared images).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// Credentials profile; `region` adds a region to look in.
    #[serde(default)]
    pub aws: AwsTarget,
}

/// What a refresh found.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefreshReport {
    /// Regions looked in.
    pub regions: Vec<String>,
    /// Prism images seen.
    pub images: usize,
    /// Template versions written to the discovered directory (new or updated).
    pub versions_written: usize,
    /// Discovered files removed because their images are gone.
    pub versions_removed: usize,
    /// Regions that failed, with why.
    pub errors: Vec<String>,
}

/// A template file that could not be loaded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TemplateIssue {
    /// File or built-in name.
    pub origin: String,
    /// Why.
    pub message: String,
}

/// `GET /v1/templates/{name}`: one template, inheritance resolved.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TemplateDetail {
    /// Summary.
    pub summary: TemplateSummary,
    /// The resolved template as YAML.
    pub yaml: String,
    /// The resolved template as JSON.
    #[schema(value_type = Object)]
    pub template: serde_json::Value,
    /// Warnings from loading it (unknown fields, overrides).
    pub warnings: Vec<String>,
}

/// `POST /v1/templates/validate`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ValidateRequest {
    /// Absolute path of the file to validate (read by the daemon, which runs as the same user).
    pub path: String,
}

/// `POST /v1/templates/imports`: add a template file (e.g. one a colleague exported) to the
/// template directory, after validating it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ImportRequest {
    /// Absolute path of the file (read by the daemon, which runs as the same user).
    pub path: String,
    /// Replace a user template of the same name (saved versions are never replaced).
    #[serde(default)]
    pub force: bool,
}

/// Result of an import.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    /// Template reference now in the catalogue (`T` or `T@N`).
    pub template: String,
    /// Where it was written.
    pub path: String,
    /// Whether it replaced a file.
    pub replaced: bool,
    /// Validation warnings.
    pub warnings: Vec<String>,
}

/// Result of validating a template file.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ValidateReport {
    /// The file.
    pub path: String,
    /// Template identifier, when it parsed.
    pub template: Option<String>,
    /// Whether it is valid (no errors).
    pub valid: bool,
    /// Errors.
    pub errors: Vec<String>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// Prism fields accepted but not used yet.
    pub unused_fields: Vec<String>,
}

/// A workstation as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Workstation {
    /// Name (unique per user).
    pub name: String,
    /// EC2 instance id.
    pub instance_id: String,
    /// Region.
    pub region: String,
    /// EC2 state (`pending`, `running`, `stopped`, …).
    pub state: String,
    /// Template it was launched from.
    pub template: Option<String>,
    /// That template's version.
    pub template_version: Option<String>,
    /// Project.
    pub project: Option<String>,
    /// Size name.
    pub size: Option<String>,
    /// Instance type.
    pub instance_type: String,
    /// Architecture.
    pub architecture: String,
    /// Public IP.
    pub public_ip: Option<String>,
    /// Launch time.
    pub launched_at: Option<String>,
    /// Set only when this listing could not read the row's region from EC2: when the row was
    /// last read (RFC 3339). The row may be stale; it is not presented as current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_at: Option<String>,
    /// The operation running on it now (a save, a stop, …), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<RunningOperation>,
}

/// `GET /v1/workstations/{name}/connection`: what `prism connect` and `prism ssh-config` need,
/// read from EC2 at the time of the request (a stop/start changes the public address).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Connection {
    /// Workstation name.
    pub name: String,
    /// EC2 instance id.
    pub instance_id: String,
    /// Region.
    pub region: String,
    /// EC2 state now (`running`, `stopped`, …).
    pub state: String,
    /// Public IPv4 address now, when it has one.
    pub public_ip: Option<String>,
    /// The user to log in as: the template's `ami_config.ssh_user` (`ubuntu` when the template
    /// names none or is no longer known).
    pub ssh_user: String,
    /// The EC2 key pair the instance was launched with (`prism-<fingerprint>`), if any.
    pub key_name: Option<String>,
    /// The template's service ports (`instance_defaults.ports` without 22), reached through
    /// the SSH tunnel.
    pub service_ports: Vec<u16>,
    /// Template reference it was launched from (`T@N`), when known.
    pub template: Option<String>,
    /// The Prism-managed security group the instance is in (`None`: it is in none).
    #[serde(default)]
    pub security_group_id: Option<String>,
    /// The CIDRs that group admits to SSH (22) now.
    #[serde(default)]
    pub ssh_allowed_from: Vec<String>,
    /// The instance's SSH host keys (`TYPE BASE64`) from its console output
    /// (`GetConsoleOutput`); empty when EC2 shows none.
    #[serde(default)]
    pub host_keys: Vec<String>,
}

/// `POST /v1/workstations/{name}/access`: make the SSH rule of the workstation's
/// Prism-managed security group admit `allow_from` (replacing the rule there was).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccessRequest {
    /// CIDR to admit to SSH (22), e.g. the caller's new address `198.51.100.9/32`.
    pub allow_from: String,
    /// Where.
    #[serde(default)]
    pub aws: AwsTarget,
}

/// Answer of `POST /v1/workstations/{name}/access`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccessChange {
    /// Workstation name.
    pub name: String,
    /// Region.
    pub region: String,
    /// The security group changed (shared by Prism's workstations in its VPC).
    pub security_group_id: String,
    /// The CIDR SSH is allowed from now.
    pub allow_from: String,
    /// The CIDRs whose rules were revoked.
    pub revoked: Vec<String>,
}

/// An operation running on a workstation, as `prism list` shows it (`saving → my-env@3, 2m`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunningOperation {
    /// Operation id.
    pub id: String,
    /// Kind, e.g. `save.v1`.
    pub kind: String,
    /// What it does, for people: `saving → my-env@3`, `stopping`, `launching`.
    pub doing: String,
    /// When it started (RFC 3339).
    pub started_at: String,
}

/// `GET /v1/workstations`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkstationList {
    /// Workstations.
    pub workstations: Vec<Workstation>,
    /// Regions that were refreshed from EC2.
    pub refreshed_regions: Vec<String>,
    /// Regions that could not be refreshed, with why (their cached rows are shown).
    pub errors: Vec<String>,
}

/// `POST /v1/workstations`: launch.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LaunchRequest {
    /// Template reference (`T` or `T@N`).
    pub template: String,
    /// New workstation name.
    pub name: String,
    /// Size (`XS`…`XL`, `GPU-S`…`GPU-XL`); default from the template.
    pub size: Option<String>,
    /// Architecture (`x86_64`, `arm64`); default x86_64.
    pub arch: Option<String>,
    /// Project.
    pub project: Option<String>,
    /// Where.
    #[serde(default)]
    pub aws: AwsTarget,
    /// OpenSSH public key (one line, `TYPE BASE64 [COMMENT]`) to install; `None`: no key.
    #[serde(default)]
    pub ssh_public_key: Option<String>,
    /// CIDR allowed to reach SSH (22); `None`: no inbound rule is added.
    #[serde(default)]
    pub allow_from: Option<String>,
    /// Subnet to launch in (`subnet-…`); `None`: the region's default VPC.
    #[serde(default)]
    pub subnet_id: Option<String>,
    /// Launch even though the project's budget is used up.
    #[serde(default)]
    pub over_budget: bool,
}

/// `POST /v1/workstations/{name}/{action}` and `DELETE /v1/workstations/{name}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct WorkstationAction {
    /// Where.
    #[serde(default)]
    pub aws: AwsTarget,
}

/// Capture mode of a save.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CaptureMode {
    /// Stop, image, start again as soon as snapshots are initiated (consistent).
    #[default]
    Stop,
    /// `CreateImage` with reboot (EC2 reboots in place).
    Reboot,
    /// No reboot: zero downtime, crash-consistent.
    Live,
}

impl CaptureMode {
    /// The mode's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Reboot => "reboot",
            Self::Live => "live",
        }
    }
}

/// `POST /v1/saves`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SaveRequest {
    /// Workstation to save.
    pub workstation: String,
    /// Template name to save as.
    pub template: String,
    /// Description.
    pub description: Option<String>,
    /// Extra regions to copy the image to.
    #[serde(default)]
    pub copy_to_regions: Vec<String>,
    /// Project.
    pub project: Option<String>,
    /// Make the image public.
    #[serde(default)]
    pub public: bool,
    /// Capture mode.
    #[serde(default)]
    pub mode: CaptureMode,
    /// Extra tags `K=V`.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Where.
    #[serde(default)]
    pub aws: AwsTarget,
    /// Longest wait, in seconds, for the image and for each region copy to become available
    /// (60 to 604,800); default 6 h for the image and 12 h per copy.
    #[serde(default)]
    pub max_wait_seconds: Option<u64>,
    /// KMS key per copy region (`--kms-key REGION=KEY`): the copy there is encrypted with it
    /// (a customer-managed key can be shared with other accounts; the AWS-managed one cannot).
    #[serde(default)]
    pub kms_keys: BTreeMap<String, String>,
    /// Do not inherit the previous version's copy regions and sharing (`--no-inherit`).
    #[serde(default)]
    pub no_inherit: bool,
    /// Only check and describe the plan; create nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Save even though the project's budget is used up.
    #[serde(default)]
    pub over_budget: bool,
    /// Make each region copy a time-based copy completed within this many minutes
    /// (`--copy-within`; 15 to 2,880 in steps of 15; charged per GiB).
    #[serde(default)]
    pub copy_within_minutes: Option<u32>,
}

/// Shortest `copy_within_minutes` (EBS time-based copies: 15 minutes); also its increment.
pub const COPY_WITHIN_STEP_MINUTES: u32 = 15;
/// Longest `copy_within_minutes` (EBS time-based copies: 48 hours).
pub const COPY_WITHIN_MAX_MINUTES: u32 = 48 * 60;

/// Checks a `--copy-within` duration in minutes: EC2's time-based copy takes 15 minutes to 48
/// hours in 15-minute increments (EBS "Time-based copies",
/// <https://docs.aws.amazon.com/ebs/latest/userguide/time-based-copies.html>). The error names
/// the allowed values.
pub fn check_copy_within_minutes(minutes: u32) -> Result<(), String> {
    if (COPY_WITHIN_STEP_MINUTES..=COPY_WITHIN_MAX_MINUTES).contains(&minutes)
        && minutes.is_multiple_of(COPY_WITHIN_STEP_MINUTES)
    {
        Ok(())
    } else {
        Err(format!(
            "a time-based copy takes 15m to 48h in steps of 15 minutes (15m, 30m, 45m, 1h, 1h15m, … 48h); {minutes} minutes is not one of them"
        ))
    }
}

/// The price and deadline of time-based region copies, shown in a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimeBasedCopyPlan {
    /// Completion duration asked of EC2, in minutes.
    pub within_minutes: u32,
    /// GiB copied per region (the image's volume sizes: an upper bound of its snapshot data).
    pub gib_per_region: i64,
    /// Estimated USD per GiB copied.
    pub usd_per_gib: f64,
    /// Estimated USD per destination region.
    pub per_region: Vec<RegionPrice>,
    /// Estimated USD for all regions.
    pub total_usd: f64,
    /// Where the price comes from and when: the figures are an estimate.
    pub price_source: String,
    /// Set when the duration asks more throughput than EC2 gives one snapshot's time-based
    /// copy (500 MiB/s): the copy may take longer than asked.
    #[serde(default)]
    pub throughput_warning: Option<String>,
}

/// One destination region's estimated time-based copy price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RegionPrice {
    /// Destination region.
    pub region: String,
    /// Estimated USD.
    pub usd: f64,
}

/// Shortest `max_wait_seconds` accepted: less would fail nearly every real save.
pub const MAX_WAIT_MIN_SECONDS: u64 = 60;
/// Longest `max_wait_seconds` accepted (7 days): beyond that something is wrong with the image.
pub const MAX_WAIT_MAX_SECONDS: u64 = 7 * 24 * 3600;

/// What a save will do, answered to a dry run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SavePlan {
    /// Workstation.
    pub workstation: String,
    /// Its instance id.
    pub instance_id: String,
    /// Its region.
    pub region: String,
    /// Its current state.
    pub state: String,
    /// Template name.
    pub template: String,
    /// Version the save will create.
    pub version: u32,
    /// Capture mode.
    pub mode: CaptureMode,
    /// Whether the workstation will be stopped.
    pub will_stop: bool,
    /// Estimated downtime in seconds (stop + start), when it will stop.
    pub estimated_downtime_seconds: Option<u64>,
    /// Regions the image goes to (source first).
    pub regions: Vec<String>,
    /// Total EBS size in GiB.
    pub volume_gb: i64,
    /// Estimated monthly snapshot storage cost in USD (all regions).
    pub estimated_monthly_cost_usd: f64,
    /// How long the save waits for the image to become available before it gives up.
    #[serde(default)]
    pub image_wait_seconds: u64,
    /// How long it waits for each region copy (0 without copies).
    #[serde(default)]
    pub copy_wait_seconds: u64,
    /// Time-based copies (`--copy-within`): deadline and estimated price per region.
    #[serde(default)]
    pub time_based_copy: Option<TimeBasedCopyPlan>,
    /// Warnings (e.g. live mode is crash-consistent).
    pub warnings: Vec<String>,
}

/// `POST /v1/templates/{name}/copies`: copy a saved version to another region.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CopyRequest {
    /// Template reference (`T` or `T@N`).
    pub template: String,
    /// Destination region.
    pub to_region: String,
    /// Longest wait, in seconds, for the copy to become available (60 to 604,800; default 12 h).
    #[serde(default)]
    pub max_wait_seconds: Option<u64>,
    /// KMS key to encrypt the copy with (`--kms-key REGION=KEY`, REGION being the
    /// destination).
    #[serde(default)]
    pub kms_key: Option<String>,
    /// Credentials profile.
    #[serde(default)]
    pub aws: AwsTarget,
    /// Make it a time-based copy completed within this many minutes (`--copy-within`; 15 to
    /// 2,880 in steps of 15; charged per GiB).
    #[serde(default)]
    pub copy_within_minutes: Option<u32>,
    /// Only check and plan; submit nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What `template copy` will do: shown before a time-based copy (which EC2 charges per GiB) is
/// confirmed, and by `--dry-run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CopyPlan {
    /// Template name.
    pub template: String,
    /// Version copied.
    pub version: String,
    /// Region the image is copied from.
    pub source_region: String,
    /// Image copied.
    pub source_image: String,
    /// Destination region.
    pub to_region: String,
    /// Size of the image's volumes, GiB.
    pub size_gb: i64,
    /// `--copy-within`: the time-based copy's deadline and estimated price.
    #[serde(default)]
    pub time_based_copy: Option<TimeBasedCopyPlan>,
}

/// Status of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OperationStatus {
    /// Steps are running forward.
    Running,
    /// A step failed (or a cancel came); undos are running.
    Compensating,
    /// Done.
    Succeeded,
    /// Failed, and everything it did was undone (or kept and reported).
    Failed,
    /// An undo itself failed: needs a person (the error says what is left).
    CompensationFailed,
}

impl OperationStatus {
    /// The status's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Compensating => "compensating",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::CompensationFailed => "compensation-failed",
        }
    }

    /// Parses a status name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => Self::Running,
            "compensating" => Self::Compensating,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "compensation-failed" => Self::CompensationFailed,
            _ => return None,
        })
    }

    /// Whether the operation has ended.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::CompensationFailed
        )
    }
}

/// One journal event of an operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OperationEvent {
    /// Sequence number within the operation.
    pub seq: i64,
    /// Step name.
    pub step: String,
    /// `started`, `succeeded`, `failed`, `undo-started`, `undo-finished`, `undo-failed`, or
    /// `record` (a sub-record of the step: one region's or target's outcome, keyed by `sub`).
    pub event: String,
    /// The key of a `record` event (a region, a target); absent for step events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The step's label for people ("stopping the workstation"), from the saga's step table;
    /// absent when the daemon does not know the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Step output or error, as JSON.
    #[schema(value_type = Option<Object>)]
    pub payload: Option<serde_json::Value>,
    /// When (RFC 3339).
    pub at: String,
}

/// An operation and its journal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Operation {
    /// Id.
    pub id: String,
    /// Kind, e.g. `save.v1`.
    pub kind: String,
    /// Status.
    pub status: OperationStatus,
    /// What it acts on (workstation or template).
    pub target: String,
    /// Latest progress line (e.g. `waiting for ami-… to be available: 40%`).
    pub progress: Option<String>,
    /// Input.
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
    /// Result, when succeeded (kind-specific; see [`SaveResult`]).
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// Error, when failed.
    pub error: Option<String>,
    /// Whether a cancel was requested.
    pub cancel_requested: bool,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
    /// Journal (only in `GET /v1/operations/{id}`).
    #[serde(default)]
    pub events: Vec<OperationEvent>,
}

/// `GET /v1/operations`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OperationList {
    /// Newest first.
    pub operations: Vec<Operation>,
}

/// `POST /v1/templates/shares`: let other accounts, organizations, OUs or everyone launch a
/// saved version (its image in every region), or with `remove`, take that back.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ShareRequest {
    /// Template reference (`T` is the latest version, `T@N` pins one).
    pub template: String,
    /// 12-digit AWS account ids.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Organization ARNs (`arn:aws:organizations::ACCOUNT:organization/o-…`).
    #[serde(default)]
    pub organizations: Vec<String>,
    /// Organizational unit ARNs (`arn:aws:organizations::ACCOUNT:ou/o-…/ou-…`).
    #[serde(default)]
    pub organizational_units: Vec<String>,
    /// Everyone (a public image).
    #[serde(default)]
    pub public: bool,
    /// Take the permissions back instead of granting them.
    #[serde(default)]
    pub remove: bool,
    /// Also let the accounts (or everyone) create volumes from the image's snapshots, so
    /// they can copy the image into their own regions. An unshare always takes that back.
    #[serde(default)]
    pub allow_copy: bool,
    /// Only check and describe the plan; change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Credentials profile.
    #[serde(default)]
    pub aws: AwsTarget,
}

/// What a share (or unshare) will do, answered to every share request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SharePlan {
    /// Template name.
    pub template: String,
    /// Version.
    pub version: String,
    /// The version's image in each region.
    pub images: Vec<RegionImage>,
    /// Accounts granted (or revoked).
    pub accounts: Vec<String>,
    /// Organizations granted (or revoked).
    pub organizations: Vec<String>,
    /// OUs granted (or revoked).
    pub organizational_units: Vec<String>,
    /// Everyone.
    pub public: bool,
    /// Whether permissions are taken back.
    pub remove: bool,
    /// Whether the snapshots' create-volume permission is granted too (recipients can copy
    /// the image); an unshare takes it back wherever it is there.
    #[serde(default)]
    pub allow_copy: bool,
    /// Things worth knowing first (e.g. the public-access block could not be checked).
    pub warnings: Vec<String>,
}

/// `POST /v1/templates/deprecations`: deprecate a saved version (EC2 deprecation time on every
/// region's image, `prism:deprecated`/`prism:replacement` tags, the template file), or with
/// `remove` cancel its deprecation.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct DeprecateRequest {
    /// `T@N`: the version (always named: `T` never resolves to a deprecated version).
    pub template: String,
    /// The version to use instead (`T@M`, or `T` for its latest current version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
    /// From when (RFC 3339, or `YYYY-MM-DD` for midnight UTC); `None`: now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Cancel the deprecation instead.
    #[serde(default)]
    pub remove: bool,
    /// Only check and describe the plan; change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Credentials profile.
    #[serde(default)]
    pub aws: AwsTarget,
}

/// What a deprecation (or its cancellation) changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeprecatePlan {
    /// Template name.
    pub template: String,
    /// Version.
    pub version: String,
    /// The version's image in each region.
    pub images: Vec<RegionImage>,
    /// From when it is deprecated (RFC 3339, UTC); the current deprecation for a cancellation.
    pub at: Option<String>,
    /// The replacement (`T@M`).
    pub replacement: Option<String>,
    /// Whether the deprecation is cancelled.
    pub remove: bool,
    /// What `T` resolves to afterwards (`None`: no current version is left).
    pub latest_after: Option<String>,
    /// Things worth knowing first.
    pub warnings: Vec<String>,
}

/// `POST /v1/templates/protections`: protect a saved version's images from deregistration in
/// every region (or with `remove`, lift that).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ProtectRequest {
    /// `T` (latest current version) or `T@N`.
    pub template: String,
    /// EC2's `WithCooldown`: protection outlives its disabling by 24 hours.
    #[serde(default)]
    pub with_cooldown: bool,
    /// Lift the protection instead.
    #[serde(default)]
    pub remove: bool,
    /// Only check and describe the plan; change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Credentials profile.
    #[serde(default)]
    pub aws: AwsTarget,
}

/// What a protect (or unprotect) changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProtectPlan {
    /// Template name.
    pub template: String,
    /// Version.
    pub version: String,
    /// The version's image in each region.
    pub images: Vec<RegionImage>,
    /// With EC2's 24-hour cooldown.
    pub with_cooldown: bool,
    /// Whether protection is lifted.
    pub remove: bool,
}

/// `POST /v1/templates/deletions`: delete saved versions for good — deregister their images
/// and delete their snapshots in every region, and remove their template files.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct TemplateDeleteRequest {
    /// `T@N` (one version), or `T` with `all_versions`.
    pub template: String,
    /// Every version of `T`.
    #[serde(default)]
    pub all_versions: bool,
    /// Only check and describe the plan; change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Credentials profile.
    #[serde(default)]
    pub aws: AwsTarget,
}

/// What a template deletion will remove.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TemplateDeletePlan {
    /// Template name.
    pub template: String,
    /// Versions deleted.
    pub versions: Vec<String>,
    /// Images deregistered (those that still exist).
    pub images: Vec<RegionImage>,
    /// Number of EBS snapshots deleted.
    pub snapshots: usize,
    /// Template files removed.
    pub files: Vec<String>,
    /// Snapshot storage no longer paid for, USD per month (upper bound).
    pub monthly_savings_usd: f64,
    /// Things worth knowing first.
    pub warnings: Vec<String>,
}

/// `POST /v1/templates/restores`: bring a deleted saved version back from EC2's Recycle Bin —
/// its snapshots, then its images in every region, then its template file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct TemplateRestoreRequest {
    /// `T@N`: the deleted version.
    pub template: String,
    /// Only check and describe the plan; change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Credentials profile.
    #[serde(default)]
    pub aws: AwsTarget,
}

/// One region's image of a version being restored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RestoreImagePlan {
    /// Region.
    pub region: String,
    /// AMI id (EC2 restores it under its old id).
    pub image_id: String,
    /// Already back (restored outside Prism or by an earlier run): nothing to do.
    pub already_restored: bool,
    /// When Recycle Bin would let it go for good (RFC 3339), when EC2 says.
    pub until: Option<String>,
    /// Its snapshots restored first (EC2 restores an AMI only once they are).
    pub snapshots: Vec<String>,
}

/// What a template restore brings back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TemplateRestorePlan {
    /// Template name.
    pub template: String,
    /// Version.
    pub version: String,
    /// Its images, by region.
    pub images: Vec<RestoreImagePlan>,
    /// The template file written back.
    pub file: String,
    /// Things worth knowing first.
    pub warnings: Vec<String>,
}

/// `POST /v1/projects`: create a project.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ProjectCreateRequest {
    /// Name (the `prism:project` tag value of its templates and workstations).
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Monthly budget in USD.
    pub budget_usd_per_month: Option<f64>,
    /// Member accounts (12-digit ids): `project share-template` shares with them.
    #[serde(default)]
    pub accounts: Vec<String>,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Project {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Monthly budget in USD.
    pub budget_usd_per_month: Option<f64>,
    /// Member accounts.
    pub accounts: Vec<String>,
    /// Created (RFC 3339).
    pub created_at: String,
}

/// `GET /v1/projects`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProjectList {
    /// Projects, by name.
    pub projects: Vec<Project>,
}

/// `GET /v1/projects/{name}`: the project, its saved templates and its workstations (by tag).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProjectDetail {
    /// The project.
    pub project: Project,
    /// Saved templates tagged with it (latest version each).
    pub templates: Vec<TemplateSummary>,
    /// Workstations tagged with it.
    pub workstations: Vec<Workstation>,
}

/// `GET /v1/projects/{name}/cost`: what the project's saved images cost to keep.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProjectCost {
    /// Project.
    pub project: String,
    /// Regions looked in.
    pub regions: Vec<String>,
    /// Images tagged with the project (owned by this account).
    pub images: Vec<ProjectImage>,
    /// Their total EBS size, GiB.
    pub size_gb: i64,
    /// Snapshot storage, USD per month (upper bound: the first snapshot of a volume is full-size).
    pub storage_usd_per_month: f64,
    /// Monthly budget, when set.
    pub budget_usd_per_month: Option<f64>,
    /// Storage plus this month's compute as a percentage of the budget.
    pub budget_used_percent: Option<f64>,
    /// Regions that could not be read, with why.
    pub errors: Vec<String>,
    /// How the storage figures were got: sizes measured from EC2, cost an estimate.
    #[serde(default)]
    pub storage_basis: String,
    /// Each workstation's running time in the project this month (UTC), from Prism's records.
    #[serde(default)]
    pub compute: Vec<ProjectCompute>,
    /// Estimated compute this month, USD (types with a known price only).
    #[serde(default)]
    pub compute_usd_this_month: f64,
    /// Instance types with no price in the table: their hours are not counted in USD.
    #[serde(default)]
    pub compute_unknown_types: Vec<String>,
    /// The dated price table the compute estimate uses.
    #[serde(default)]
    pub price_list: String,
    /// Storage per month plus compute this month, USD (an estimate).
    #[serde(default)]
    pub total_usd: f64,
}

/// One workstation's compute in a project's cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProjectCompute {
    /// Workstation.
    pub workstation: String,
    /// Instance type.
    pub instance_type: String,
    /// Hours running this month (Prism's records of launch, start, stop and delete).
    pub hours: f64,
    /// On-demand price per hour from the price table; `None`: unknown.
    pub usd_per_hour: Option<f64>,
    /// Estimated USD; `None` when the price is unknown.
    pub usd: Option<f64>,
    /// Whether it is running now.
    pub running: bool,
}

/// One image counted in a project's cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProjectImage {
    /// Template.
    pub template: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// Region.
    pub region: String,
    /// AMI id.
    pub image_id: String,
    /// GiB.
    pub size_gb: i64,
    /// USD per month.
    pub usd_per_month: f64,
}

/// `POST /v1/projects/{name}/shares`: share one of the project's templates with its accounts.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ProjectShareRequest {
    /// Template (`T` or `T@N`); it must carry the project's tag.
    pub template: String,
    /// Only check and describe the plan.
    #[serde(default)]
    pub dry_run: bool,
    /// Credentials profile.
    #[serde(default)]
    pub aws: AwsTarget,
}

/// `POST /v1/templates/prunes`: delete old versions of a saved template, keeping the newest
/// `keep`, the latest, and every version in use or launched lately.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct TemplatePruneRequest {
    /// Template name.
    pub template: String,
    /// How many of the newest versions to keep (at least 1).
    pub keep: u32,
    /// Only delete versions saved longer ago than this many seconds.
    #[serde(default)]
    pub older_than_seconds: Option<u64>,
    /// Keep versions launched within this many seconds (default 30 days).
    #[serde(default)]
    pub unused_for_seconds: Option<u64>,
    /// Only check and describe the plan; change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Credentials profile.
    #[serde(default)]
    pub aws: AwsTarget,
}

/// What a prune does with each version, and the deletion it submits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TemplatePrunePlan {
    /// Template name.
    pub template: String,
    /// Each version: whether it goes and why.
    pub decisions: Vec<PruneDecision>,
    /// The deletion of the versions that go (absent when none goes).
    pub deletion: Option<TemplateDeletePlan>,
    /// Snapshot storage no longer paid for, USD per month (upper bound).
    pub monthly_savings_usd: f64,
}

/// One version's fate in a prune.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PruneDecision {
    /// Version.
    pub version: String,
    /// Deleted by the prune.
    pub delete: bool,
    /// Why it goes or stays.
    pub reason: String,
    /// When it was saved.
    pub saved_at: Option<String>,
    /// When it was last launched (Prism's launch records).
    pub last_launched_at: Option<String>,
}

/// `GET /v1/templates/{name}/versions`: every version of a template, with its lineage,
/// regions, sharing, storage and usage (from Prism's records and EC2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TemplateVersions {
    /// Template name.
    pub template: String,
    /// Its versions, oldest first.
    pub versions: Vec<VersionInfo>,
    /// Snapshot price the storage estimates use, USD per GiB-month.
    pub snapshot_usd_per_gb_month: f64,
}

/// One version of a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VersionInfo {
    /// Version.
    pub version: String,
    /// Whether it is a saved version (has images).
    pub saved: bool,
    /// When it was saved (RFC 3339).
    pub saved_at: Option<String>,
    /// Who saved it (caller ARN).
    pub saved_by: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Workstation it was saved from.
    pub saved_from: Option<String>,
    /// Template that workstation was launched from.
    pub original_template: Option<String>,
    /// Version of that template.
    pub original_template_version: Option<String>,
    /// Regions with an image.
    pub regions: Vec<String>,
    /// Measured downtime of the save, seconds.
    pub downtime_seconds: Option<f64>,
    /// Size of its EBS volumes in GiB, read from EC2 (one region's image).
    pub size_gb: Option<i64>,
    /// Estimated monthly snapshot storage over every region, USD (an upper bound:
    /// snapshots are incremental).
    pub monthly_storage_usd: Option<f64>,
    /// Everyone may launch it.
    pub public: bool,
    /// Accounts, organizations and OUs that may launch it (read from EC2).
    pub shared_with: Vec<String>,
    /// Succeeded launches from it (Prism's launch records).
    pub launches: u32,
    /// When it was last launched (RFC 3339).
    pub last_launched_at: Option<String>,
    /// Workstations launched from it that still exist (running or stopped).
    pub running_now: Vec<String>,
    /// What could not be read (a region's EC2 answer), per problem.
    pub errors: Vec<String>,
}

/// `POST /v1/projects/{name}/update`: change a project's members, budget or description.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ProjectUpdateRequest {
    /// Member accounts to add (12-digit ids).
    #[serde(default)]
    pub add_accounts: Vec<String>,
    /// Member accounts to remove.
    #[serde(default)]
    pub remove_accounts: Vec<String>,
    /// New monthly budget in USD.
    pub budget_usd_per_month: Option<f64>,
    /// New description (empty: none).
    pub description: Option<String>,
}

/// The answer of a project update: the project as it is now and what changed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProjectUpdate {
    /// The project after the update.
    pub project: Project,
    /// One line per change, e.g. "added member 111122223333" (empty: nothing changed).
    pub changes: Vec<String>,
}

/// `POST /v1/projects/{name}/delete`: delete a project's record.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ProjectDeleteRequest {
    /// Delete even though workstations or templates still carry the project's tag.
    #[serde(default)]
    pub force: bool,
    /// Only check and say what would happen.
    #[serde(default)]
    pub dry_run: bool,
}

/// The answer of a project delete.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProjectDeletion {
    /// Project.
    pub project: String,
    /// What still carries its tag ("workstation W", "template T@N"); kept as they are.
    pub in_use: Vec<String>,
    /// Whether the record was deleted (false for a dry run).
    pub deleted: bool,
}

/// `GET /v1/templates/{name}/sharing`: who may launch a saved version, read from EC2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TemplateSharing {
    /// Template name.
    pub template: String,
    /// Version.
    pub version: String,
    /// Each region's image and its launch permissions.
    pub regions: Vec<RegionSharing>,
}

/// The launch permissions of one region's image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RegionSharing {
    /// Region.
    pub region: String,
    /// AMI id.
    pub image_id: String,
    /// Everyone may launch it.
    pub public: bool,
    /// Accounts that may launch it.
    pub accounts: Vec<String>,
    /// Organizations that may launch it.
    pub organizations: Vec<String>,
    /// OUs that may launch it.
    pub organizational_units: Vec<String>,
    /// Why this region could not be read.
    pub error: Option<String>,
}

/// One region's image of a saved version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RegionImage {
    /// Region.
    pub region: String,
    /// AMI id.
    pub image_id: String,
}

/// Per-region outcome of a save or copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RegionOutcome {
    /// Region.
    pub region: String,
    /// AMI id there, when created.
    pub image_id: Option<String>,
    /// `available`, `failed`, …
    pub status: String,
    /// Why it failed.
    pub error: Option<String>,
}

/// Result of a save.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SaveResult {
    /// Template name.
    pub template: String,
    /// Version created.
    pub version: u32,
    /// Template file written.
    pub path: String,
    /// Source region.
    pub source_region: String,
    /// Per region (source first).
    pub regions: Vec<RegionOutcome>,
    /// Measured downtime of the workstation, seconds (0 when it was not stopped).
    pub downtime_seconds: f64,
    /// Total time of the operation, seconds.
    pub total_seconds: f64,
    /// Estimated monthly snapshot storage cost in USD.
    pub estimated_monthly_cost_usd: f64,
    /// Warnings (failed regions, sharing).
    pub warnings: Vec<String>,
    /// Command to launch from it.
    pub launch_command: String,
}

/// Answer to a submitted operation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Submitted {
    /// The operation.
    pub operation: Operation,
}

/// The environment variables that decide where, as whom and how patiently the daemon calls
/// AWS. Profile and region are per request and are not part of it.
pub const AWS_ENV_KEYS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_EC2",
    "AWS_ENDPOINT_URL_STS",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CA_BUNDLE",
    "PRISM_AWS_ATTEMPT_TIMEOUT",
];

/// A stable, non-reversible fingerprint of the AWS environment (FNV-1a over the values of
/// [`AWS_ENV_KEYS`]), so the CLI can tell whether the daemon runs with the same one without
/// the daemon ever reporting a secret.
pub fn aws_env_fingerprint(get: impl Fn(&str) -> Option<String>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for key in AWS_ENV_KEYS {
        let v = get(key).unwrap_or_default();
        for b in key.bytes().chain([0u8]).chain(v.bytes()).chain([0xffu8]) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Today's wire strings: the JSON contract, which must not change.
    fn wire(kind: ApiErrorKind) -> &'static str {
        match kind {
            ApiErrorKind::InvalidInput => "invalid-input",
            ApiErrorKind::NotFound => "not-found",
            ApiErrorKind::Conflict => "conflict",
            ApiErrorKind::Aws => "aws",
            ApiErrorKind::Unauthorized => "unauthorized",
            ApiErrorKind::Internal => "internal",
            ApiErrorKind::Unknown => "unknown",
        }
    }

    #[test]
    fn error_kinds_keep_their_wire_strings_and_round_trip() {
        for kind in ApiErrorKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", wire(kind)));
            assert_eq!(kind.as_str(), wire(kind));
            assert_eq!(kind.to_string(), wire(kind));
            let back: ApiErrorKind = serde_json::from_str(&json).unwrap();
            assert_eq!(back, kind);
        }
    }

    #[test]
    fn an_error_body_keeps_its_shape() {
        let e = ApiError {
            kind: ApiErrorKind::NotFound,
            message: "no workstation 'x'".into(),
            hint: None,
            operation_id: None,
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"kind": "not-found", "message": "no workstation 'x'"})
        );
        let back: ApiError = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
        assert_eq!(back.kind, ApiErrorKind::NotFound);
    }

    #[test]
    fn a_kind_from_a_newer_daemon_decodes_as_unknown() {
        let e: ApiError =
            serde_json::from_str(r#"{"kind":"rate-limited","message":"slow down","hint":"wait"}"#)
                .unwrap();
        assert_eq!(e.kind, ApiErrorKind::Unknown);
        assert_eq!(e.message, "slow down");
        assert_eq!(e.hint.as_deref(), Some("wait"));
    }

    #[test]
    fn the_error_kind_schema_lists_the_wire_strings() {
        let schema =
            serde_json::to_value(<ApiErrorKind as utoipa::PartialSchema>::schema()).unwrap();
        let values: Vec<&str> = schema["enum"]
            .as_array()
            .expect("a string enum")
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let expected: Vec<&str> = ApiErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(values, expected);
    }

    #[test]
    fn fingerprint_changes_with_endpoint_and_is_stable() {
        let a = aws_env_fingerprint(|k| (k == "AWS_ENDPOINT_URL").then(|| "http://a".into()));
        let a2 = aws_env_fingerprint(|k| (k == "AWS_ENDPOINT_URL").then(|| "http://a".into()));
        let b = aws_env_fingerprint(|k| (k == "AWS_ENDPOINT_URL").then(|| "http://b".into()));
        assert_eq!(a, a2);
        assert_ne!(a, b);
        assert!(!a.contains("http"));
    }

    #[test]
    fn status_round_trips() {
        for s in [
            OperationStatus::Running,
            OperationStatus::Compensating,
            OperationStatus::Succeeded,
            OperationStatus::Failed,
            OperationStatus::CompensationFailed,
        ] {
            assert_eq!(OperationStatus::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
    }
}

/// `POST /v1/restores`: replace a workstation's root volume with one restored from a saved
/// version's image (EC2's replace-root-volume task), in place.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct RestoreRequest {
    /// Workstation name.
    pub workstation: String,
    /// `T@N` (or `T`: its latest current version).
    pub template: String,
    /// Only check and describe the plan; change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Credentials profile and region.
    #[serde(default)]
    pub aws: AwsTarget,
}

/// What a restore changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RestorePlan {
    /// Workstation name.
    pub workstation: String,
    /// Its instance (kept).
    pub instance_id: String,
    /// Its region.
    pub region: String,
    /// Its architecture.
    pub architecture: String,
    /// The template version it runs from now (`T@N`), when Prism knows it.
    pub current: Option<String>,
    /// Template name restored from.
    pub template: String,
    /// Version restored from.
    pub version: String,
    /// The version's image in the workstation's region.
    pub image_id: String,
    /// Its current root volume, kept (detached and tagged) after the restore.
    pub old_root_volume_id: String,
    /// Its private address (kept).
    pub private_ip: Option<String>,
    /// Its public address (kept: the instance stays on its host).
    pub public_ip: Option<String>,
    /// What happens, in order, for people.
    pub effects: Vec<String>,
    /// Things worth knowing first.
    pub warnings: Vec<String>,
}
