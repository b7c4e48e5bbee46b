//! The command line, defined once: parsing, help, completions and the man page all come from here.

use crate::output::Format;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Prism: research workstations on AWS EC2 from templates — and save a customized workstation
/// as a versioned, shareable template.
#[derive(Debug, Parser)]
#[command(
    name = "prism",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Output format of commands that print data.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// AWS profile (default: AWS_PROFILE, else the default credential chain).
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's region).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Print tables untruncated, however wide (tables otherwise fit the terminal, or
    /// `COLUMNS` when set).
    #[arg(long, global = true)]
    pub wide: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Launch a workstation from a template (`T` = latest version, `T@N` = version N).
    Launch(LaunchArgs),
    /// List workstations (refreshed from EC2).
    List(ListArgs),
    /// Stop a workstation.
    Stop(NameArgs),
    /// Start a stopped workstation.
    Start(NameArgs),
    /// Delete (terminate) a workstation.
    Delete(DeleteArgs),
    /// Open SSH on a workstation: the system's OpenSSH with the template's user, the key
    /// Prism installed, the current address and Prism's known-hosts file.
    Connect(ConnectArgs),
    /// Print a `Host` block per running workstation for ~/.ssh/config (`ssh NAME`, VS Code
    /// Remote-SSH); `--write` puts them in ~/.ssh/config between marked lines.
    SshConfig(SshConfigArgs),
    /// The config file (`$XDG_CONFIG_HOME/prism/config.toml`, else
    /// `~/.config/prism/config.toml`): defaults for key, allow_from, subnet per region, region
    /// and profile.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Save a workstation as a new version of a template.
    Save(SaveArgs),
    /// Restore a workstation in place from a saved version: EC2 replaces its root volume
    /// with one restored from the version's image (same instance, data volumes and
    /// addresses; it restarts); the old root volume is kept, tagged, until you delete it.
    Restore(RestoreArgs),
    /// List templates.
    Templates(TemplatesArgs),
    /// Template commands.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Projects: a budget and member accounts around the templates and workstations tagged
    /// with the project (`save … --project P`, `launch … --project P`).
    #[command(subcommand)]
    Project(ProjectCommand),
    /// List operations (saves, launches, …), newest first.
    Operations(OperationsArgs),
    /// Operation commands.
    #[command(subcommand)]
    Operation(OperationCommand),
    /// Daemon commands.
    #[command(subcommand)]
    Daemon(DaemonCommand),
    /// Print shell completions.
    Completions {
        /// Shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// `launch`.
#[derive(Debug, Args)]
pub struct LaunchArgs {
    /// Template (`T` or `T@N`).
    pub template: String,
    /// Name of the new workstation.
    pub name: String,
    /// Size: XS, S, M, L, XL, GPU-S, GPU-M, GPU-L, GPU-XL (default: the template's type).
    #[arg(long)]
    pub size: Option<String>,
    /// Architecture: x86_64 or arm64.
    #[arg(long)]
    pub arch: Option<String>,
    /// Project.
    #[arg(long)]
    pub project: Option<String>,
    /// SSH public key to install (an ed25519 or RSA `.pub` file; default: the first of
    /// ~/.ssh/id_ed25519.pub, ~/.ssh/id_rsa.pub; none: Prism's own ed25519 key, created once).
    #[arg(long, value_name = "PATH")]
    pub key: Option<std::path::PathBuf>,
    /// Address range allowed to reach SSH (22), e.g. 203.0.113.7/32 (default: `allow_from` in
    /// the config file, else your public address, asked of https://checkip.amazonaws.com).
    #[arg(long, value_name = "CIDR", value_parser = parse_cidr)]
    pub allow_from: Option<String>,
    /// Subnet to launch in (default: the region's default VPC).
    #[arg(long = "subnet", value_name = "ID", value_parser = parse_subnet)]
    pub subnet: Option<String>,
    /// Launch even though the project's budget is used up (the refusal names the figures).
    #[arg(long)]
    pub over_budget: bool,
    /// Confirm opening SSH to everyone (`--allow-from 0.0.0.0/0` or `::/0`).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Return the operation id at once instead of following it.
    #[arg(long)]
    pub detach: bool,
}

fn parse_cidr(s: &str) -> Result<String, String> {
    prism_ops::access::validate_cidr(s)
        .map(|()| s.to_string())
        .map_err(|e| e.to_string())
}

fn parse_subnet(s: &str) -> Result<String, String> {
    prism_ops::access::validate_subnet_id(s)
        .map(|()| s.to_string())
        .map_err(|e| e.to_string())
}

/// `connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Workstation name.
    pub name: String,
    /// Forward the template's service ports (Jupyter 8888, RStudio 8787, …) to localhost and
    /// print the URLs to open.
    #[arg(long)]
    pub jupyter: bool,
    /// Also forward this port to localhost (`N`, or `LOCAL:REMOTE`); repeatable.
    #[arg(long = "port", value_name = "N|LOCAL:REMOTE", value_parser = parse_forward)]
    pub ports: Vec<(u16, u16)>,
    /// Print the ssh command instead of running it.
    #[arg(long)]
    pub print: bool,
    /// Private key to use (default: the one whose public key matches the workstation's key
    /// pair, among ~/.ssh/id_ed25519, ~/.ssh/id_rsa, Prism's own key and keys given to launch).
    #[arg(long, value_name = "PATH")]
    pub identity: Option<std::path::PathBuf>,
    /// Your address range, to check that the workstation's SSH rule admits it (default:
    /// `allow_from` in the config file, else your public address, asked of
    /// https://checkip.amazonaws.com).
    #[arg(long, value_name = "CIDR", value_parser = parse_cidr)]
    pub allow_from: Option<String>,
    /// Replace the SSH rule with your address without asking when it no longer admits you.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Arguments passed to ssh after the destination (options, or a command to run).
    #[arg(last = true, value_name = "SSH_ARGS")]
    pub ssh_args: Vec<String>,
}

/// `N` or `LOCAL:REMOTE` (ports 1–65535).
pub(crate) fn parse_forward(s: &str) -> Result<(u16, u16), String> {
    let port = |p: &str| {
        p.parse::<u16>().ok().filter(|n| *n > 0).ok_or_else(|| {
            format!(
                "'{p}' is not a port (1-65535); write N or LOCAL:REMOTE, e.g. 8888 or 9999:8888"
            )
        })
    };
    match s.split_once(':') {
        Some((l, r)) => Ok((port(l)?, port(r)?)),
        None => port(s).map(|n| (n, n)),
    }
}

/// `config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print each effective setting and where it came from (flag, env, file, default).
    Show,
}

/// `ssh-config`.
#[derive(Debug, Args)]
pub struct SshConfigArgs {
    /// Write the blocks into ~/.ssh/config between `# >>> prism >>>` and `# <<< prism <<<`
    /// (replacing an earlier Prism block; the rest of the file is kept as it is).
    #[arg(long)]
    pub write: bool,
}

/// `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Show the cache without asking EC2.
    #[arg(long)]
    pub no_refresh: bool,
}

/// A command naming one workstation.
#[derive(Debug, Args)]
pub struct NameArgs {
    /// Workstation name.
    pub name: String,
    /// Return the operation id at once.
    #[arg(long)]
    pub detach: bool,
}

/// `delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Workstation name.
    pub name: String,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Return the operation id at once.
    #[arg(long)]
    pub detach: bool,
}

/// Capture mode.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Mode {
    /// Stop, image, start again as soon as snapshots are initiated (consistent; default).
    Stop,
    /// EC2 reboots the instance in place while imaging (keeps the host).
    Reboot,
    /// No reboot: zero downtime, crash-consistent.
    Live,
}

/// `save`.
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Workstation to save.
    pub workstation: String,
    /// Template name to save as (an existing saved name gets a new version).
    pub template: String,
    /// Description of the template.
    #[arg(long)]
    pub description: Option<String>,
    /// Also copy the image to these regions (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub copy_to_regions: Vec<String>,
    /// Project.
    #[arg(long)]
    pub project: Option<String>,
    /// Make the template's images public.
    #[arg(long)]
    pub public: bool,
    /// Capture mode.
    #[arg(long, value_enum, default_value_t = Mode::Stop)]
    pub mode: Mode,
    /// Extra tag `K=V` (repeatable).
    #[arg(long = "tag", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Longest wait for the image, and for each copy, to become available (e.g. 90m, 8h, 2d;
    /// 1m to 7d). Default: 6h for the image, 12h per copy. Raise it for multi-TB volumes.
    #[arg(long, value_name = "DURATION", value_parser = parse_max_wait)]
    pub max_wait: Option<u64>,
    /// Encrypt the copy in REGION with this customer-managed KMS key (`REGION=KEY`,
    /// repeatable; KEY: key id, alias/NAME or ARN). Needed to share an encrypted image with
    /// other accounts: they cannot use your AWS-managed key.
    #[arg(long = "kms-key", value_name = "REGION=KEY", value_parser = parse_kms_key)]
    pub kms_keys: Vec<(String, String)>,
    /// Make each region copy an EC2 time-based copy, ready within this long (15m to 48h in
    /// steps of 15m, e.g. 30m, 2h). Charged per GiB copied: the plan shows the estimate.
    #[arg(long, value_name = "DURATION", value_parser = parse_copy_within)]
    pub copy_within: Option<u32>,
    /// Do not copy the new version to the previous version's regions nor share it as the
    /// previous version is shared (the default keeps a template's audience).
    #[arg(long)]
    pub no_inherit: bool,
    /// Save even though the project's budget is used up (the refusal names the figures).
    #[arg(long)]
    pub over_budget: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Return the operation id at once.
    #[arg(long)]
    pub detach: bool,
    /// Only check and show the plan.
    #[arg(long)]
    pub dry_run: bool,
}

/// `--max-wait`: a duration such as `90m`, `8h` or `2d`, in whole seconds within the range
/// the daemon accepts.
/// A prune duration (`30d`, `12h`, `2w`) in seconds.
fn parse_prune_duration(s: &str) -> Result<u64, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("{e}: give a duration such as 30d, 12h or 2w"))?;
    if d.as_secs() == 0 {
        return Err("must be longer than 0: give a duration such as 30d".into());
    }
    Ok(d.as_secs())
}

/// `--copy-within`: a duration such as `30m` or `2h`, in minutes, that EC2's time-based copy
/// accepts (15m to 48h in steps of 15 minutes).
fn parse_copy_within(s: &str) -> Result<u32, String> {
    const ALLOWED: &str = "use 15m to 48h in steps of 15 minutes (15m, 30m, 45m, 1h, 1h15m, … 48h)";
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("'{s}' is not a duration ({e}); {ALLOWED}"))?;
    let secs = d.as_secs();
    if !secs.is_multiple_of(60) || d.subsec_nanos() != 0 {
        return Err(format!("'{s}' is not a whole number of minutes; {ALLOWED}"));
    }
    let minutes = u32::try_from(secs / 60).map_err(|_| format!("'{s}' is too long; {ALLOWED}"))?;
    prism_api::check_copy_within_minutes(minutes)
        .map_err(|_| format!("'{s}' is not a time-based copy duration EC2 accepts; {ALLOWED}"))?;
    Ok(minutes)
}

fn parse_max_wait(s: &str) -> Result<u64, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("'{s}' is not a duration ({e}); write e.g. 90m, 8h or 2d"))?;
    let secs = d.as_secs();
    if !(prism_api::MAX_WAIT_MIN_SECONDS..=prism_api::MAX_WAIT_MAX_SECONDS).contains(&secs) {
        return Err(format!("'{s}' is out of range: use 1m to 7d"));
    }
    Ok(secs)
}

/// `--budget`: a positive, finite amount (JSON cannot carry NaN or infinity: serde_json would
/// send them as null, silently dropping the budget).
fn parse_budget(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(b) if b.is_finite() && b > 0.0 => Ok(b),
        _ => Err(format!(
            "'{s}' is not a positive amount of USD per month, e.g. 500"
        )),
    }
}

/// `--kms-key REGION=KEY`.
fn parse_kms_key(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((r, k)) if !r.trim().is_empty() && !k.trim().is_empty() => {
            Ok((r.trim().to_string(), k.trim().to_string()))
        }
        _ => Err(format!(
            "'{s}' is not REGION=KEY; write e.g. us-west-2=alias/lab-key"
        )),
    }
}

fn parse_tag(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("'{s}' is not K=V")),
    }
}

/// `templates`.
#[derive(Debug, Args)]
pub struct TemplatesArgs {
    /// First discover saved templates from EC2: your images and images shared with you.
    #[arg(long)]
    pub refresh: bool,
    /// Also deprecated versions (each template's highest version, marked when deprecated).
    #[arg(long)]
    pub all: bool,
}

/// `template …`.
#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Show a template (inheritance resolved).
    Info {
        /// Template (`T` or `T@N`).
        name: String,
        /// Also show who may launch it (saved templates; reads EC2).
        #[arg(long)]
        sharing: bool,
    },
    /// List the versions of a template.
    Versions {
        /// Template name.
        name: String,
    },
    /// Check a template file.
    Validate {
        /// The file.
        file: std::path::PathBuf,
        /// Also list accepted fields Prism does not use yet.
        #[arg(long)]
        verbose: bool,
    },
    /// Copy a saved version's image to another region (adds or retries a region).
    Copy {
        /// Template (`T` or `T@N`).
        name: String,
        /// Destination region.
        #[arg(long)]
        to_region: String,
        /// Longest wait for the copy to become available (e.g. 8h, 2d; 1m to 7d; default 12h).
        #[arg(long, value_name = "DURATION", value_parser = parse_max_wait)]
        max_wait: Option<u64>,
        /// Encrypt the copy with this customer-managed KMS key (`REGION=KEY`, REGION being
        /// --to-region; KEY: key id, alias/NAME or ARN).
        #[arg(long = "kms-key", value_name = "REGION=KEY", value_parser = parse_kms_key)]
        kms_key: Option<(String, String)>,
        /// Make it an EC2 time-based copy, ready within this long (15m to 48h in steps of
        /// 15m, e.g. 30m, 2h). Charged per GiB copied: the estimate is shown.
        #[arg(long, value_name = "DURATION", value_parser = parse_copy_within)]
        copy_within: Option<u32>,
        /// `--yes` (asked only for a time-based copy, which is charged), `--dry-run`,
        /// `--detach`.
        #[command(flatten)]
        flags: ChangeFlags,
    },
    /// Let other accounts, organizations, OUs or everyone launch a saved version (its image
    /// in every region); they find it with `prism templates --refresh`.
    Share(ShareArgs),
    /// Take back what `template share` granted.
    Unshare(ShareArgs),
    /// Write a template (inheritance resolved, so it stands alone) as YAML, to share it.
    Export {
        /// Template (`T` or `T@N`).
        name: String,
        /// Write to this file instead of standard output.
        #[arg(long, short = 'f', value_name = "FILE")]
        file: Option<std::path::PathBuf>,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Add a template file (e.g. a colleague's export) to your templates, after validating it.
    Import {
        /// The YAML file.
        file: std::path::PathBuf,
        /// Replace a user template of the same name (saved versions are never replaced).
        #[arg(long)]
        force: bool,
    },
    /// Delete old versions of a saved template as `template delete` does, keeping the latest,
    /// the newest N, and every version in use or launched lately.
    Prune {
        /// Template name.
        name: String,
        /// How many of the newest versions to keep (at least 1).
        #[arg(long, value_name = "N")]
        keep: u32,
        /// Only delete versions saved longer ago than this (e.g. 90d).
        #[arg(long, value_name = "DURATION", value_parser = parse_prune_duration)]
        older_than: Option<u64>,
        /// Keep versions launched within this (default 30d).
        #[arg(long, value_name = "DURATION", value_parser = parse_prune_duration)]
        unused_for: Option<u64>,
        /// Confirmation and following.
        #[command(flatten)]
        flags: ChangeFlags,
    },
    /// Deprecate a saved version: EC2 deprecation time on its image in every region, tags
    /// colleagues read; `T` then names the latest version that is not deprecated.
    Deprecate {
        /// `T@N`.
        name: String,
        /// The version to use instead (`T@M`).
        #[arg(long, value_name = "T@M")]
        replacement: Option<String>,
        /// From when (RFC 3339, or YYYY-MM-DD for midnight UTC; default: now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Confirmation and following.
        #[command(flatten)]
        flags: ChangeFlags,
    },
    /// Protect a saved version's images from deregistration in every region: `template
    /// delete` refuses it until `template unprotect`.
    Protect {
        /// `T` (latest) or `T@N`.
        name: String,
        /// EC2's cooldown: still protected for 24 hours after unprotect.
        #[arg(long)]
        with_cooldown: bool,
        /// Confirmation and following.
        #[command(flatten)]
        flags: ChangeFlags,
    },
    /// Lift a version's deregistration protection.
    Unprotect {
        /// `T` (latest) or `T@N`.
        name: String,
        /// Confirmation and following.
        #[command(flatten)]
        flags: ChangeFlags,
    },
    /// Cancel a version's deprecation.
    Undeprecate {
        /// `T@N`.
        name: String,
        /// Confirmation and following.
        #[command(flatten)]
        flags: ChangeFlags,
    },
    /// Bring a deleted saved version back from EC2's Recycle Bin: its snapshots and images in
    /// every region, Prism's tags, its template file (while a retention rule keeps them).
    Restore {
        /// `T@N`: the deleted version.
        name: String,
        /// Confirmation and following.
        #[command(flatten)]
        flags: ChangeFlags,
    },
    /// Delete saved versions for good: deregister their images, delete their snapshots in
    /// every region, remove their files. Workstations launched from them keep running.
    Delete {
        /// `T@N` (one version), or `T` with --all-versions.
        name: String,
        /// Every version of the template.
        #[arg(long)]
        all_versions: bool,
        /// Confirmation and following.
        #[command(flatten)]
        flags: ChangeFlags,
    },
}

/// `project …`.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project.
    Create {
        /// Name (templates and workstations join it with --project NAME).
        name: String,
        /// Description.
        #[arg(long)]
        description: Option<String>,
        /// Monthly budget in USD (project cost compares image storage with it).
        #[arg(long, value_name = "USD", value_parser = parse_budget)]
        budget: Option<f64>,
        /// Member account id (12 digits; repeatable or comma-separated): share-template shares
        /// with these.
        #[arg(long = "account", value_name = "ID", value_delimiter = ',')]
        accounts: Vec<String>,
    },
    /// List projects.
    List,
    /// Show a project, its saved templates and its workstations.
    Info {
        /// Project.
        name: String,
    },
    /// The project's saved templates.
    Templates {
        /// Project.
        name: String,
    },
    /// Share one of the project's templates with the project's member accounts.
    ShareTemplate {
        /// Project.
        name: String,
        /// Template (`T` or `T@N`), saved with --project NAME.
        template: String,
        /// Confirmation and following.
        #[command(flatten)]
        flags: ChangeFlags,
    },
    /// What the project's saved images cost to keep, against its budget.
    Cost {
        /// Project.
        name: String,
    },
    /// Add or remove member accounts, change the budget or the description.
    Update {
        /// Project.
        name: String,
        /// Add a member account (12 digits; repeatable or comma-separated).
        #[arg(long = "add-member", value_name = "ACCOUNT", value_delimiter = ',')]
        add_members: Vec<String>,
        /// Remove a member account (repeatable or comma-separated).
        #[arg(long = "remove-member", value_name = "ACCOUNT", value_delimiter = ',')]
        remove_members: Vec<String>,
        /// New monthly budget in USD.
        #[arg(long, value_name = "USD", value_parser = parse_budget)]
        budget: Option<f64>,
        /// New description ("" removes it).
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a project (refused while workstations or templates carry it, unless --force).
    Delete {
        /// Project.
        name: String,
        /// Delete the record even though workstations or templates still carry the project
        /// (they keep its tag).
        #[arg(long)]
        force: bool,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Only check and say what would happen.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `template share|unshare`.
#[derive(Debug, Args)]
pub struct ShareArgs {
    /// Saved template (`T` is the latest version, `T@N` pins one).
    pub name: String,
    /// AWS account id (12 digits; repeatable or comma-separated).
    #[arg(long = "account", value_name = "ID", value_delimiter = ',')]
    pub accounts: Vec<String>,
    /// Organization ARN (repeatable).
    #[arg(long = "org", value_name = "ARN")]
    pub organizations: Vec<String>,
    /// Organizational unit ARN (repeatable).
    #[arg(long = "ou", value_name = "ARN")]
    pub organizational_units: Vec<String>,
    /// Everyone on AWS.
    #[arg(long)]
    pub public: bool,
    /// Also let them copy the image into their own regions (grants its snapshots'
    /// create-volume permission, which lets them read the disk; accounts or --public only).
    /// `unshare` always takes it back.
    #[arg(long)]
    pub allow_copy: bool,
    /// Confirmation and following.
    #[command(flatten)]
    pub flags: ChangeFlags,
}

/// `restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Workstation name.
    pub workstation: String,
    /// Saved version to restore from (`T@N`, or `T` for its latest current version).
    pub template: String,
    /// Confirmation, dry run, detach.
    #[command(flatten)]
    pub flags: ChangeFlags,
}

/// The options of every change that shows its plan first.
#[derive(Debug, Args)]
pub struct ChangeFlags {
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Only check and show the plan.
    #[arg(long)]
    pub dry_run: bool,
    /// Return the operation id at once.
    #[arg(long)]
    pub detach: bool,
}

impl ChangeFlags {
    /// How the plan is confirmed.
    pub fn confirm(&self) -> crate::commands::Confirm {
        crate::commands::Confirm {
            yes: self.yes,
            dry_run: self.dry_run,
            also_ask: None,
        }
    }
}

/// `operations`.
#[derive(Debug, Args)]
pub struct OperationsArgs {
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

/// `operation …`.
#[derive(Debug, Subcommand)]
pub enum OperationCommand {
    /// Show an operation and its journal.
    Show {
        /// Operation id (or a unique prefix).
        id: String,
    },
    /// Follow an operation until it ends (Ctrl-C detaches).
    Follow {
        /// Operation id (or a unique prefix).
        id: String,
    },
    /// Cancel an operation: it compensates (the workstation ends as it started).
    Cancel {
        /// Operation id (or a unique prefix).
        id: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// `daemon …`.
#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Is the daemon running? Where are its state and log?
    Status,
    /// Stop the daemon (operations resume at its next start).
    Stop,
}
