//! The command line's argument types (clap). Domain enums (`Format`,
//! `Layer`, `Severity`, `RequireApproval`, `ColorChoice`) derive `ValueEnum`
//! themselves, so no mirror types stand between the flags and the program.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::apply::RequireApproval;
use crate::check::Severity;
use crate::output::{ColorChoice, Format};
use crate::stacks::Layer;

#[derive(Debug, Parser)]
#[command(
    name = "mlinfra",
    version,
    about = "Typed, reviewable CloudFormation for machine-learning platforms on AWS",
    long_about = "mlinfra renders CloudFormation stacks (data lake, IAM, training pipelines, \
SageMaker endpoints) from typed per-environment configs in environments/*.toml.",
    after_help = "Examples:\n  mlinfra list\n  mlinfra validate --env prod\n  mlinfra render --env prod --stack serving\n  mlinfra render --all --out build/\n  mlinfra --example render --env dev --out build/\n  mlinfra plan --env prod --out plan.json\n  mlinfra apply --env prod --plan plan.json"
)]
pub struct Cli {
    /// Project directory holding environments/ (and optionally templates/).
    #[arg(
        long,
        global = true,
        env = "MLINFRA_PROJECT",
        default_value = ".",
        conflicts_with = "example"
    )]
    pub project: PathBuf,
    /// Use the built-in dog-breed example project instead of a directory.
    #[arg(long, global = true)]
    pub example: bool,
    /// Only results and errors: no progress notes on stderr.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also say where things come from (project, templates, AWS endpoint).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// AWS named profile for credentials (shared config and credentials files);
    /// the environment's deploy role, if any, is assumed from it.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Colour: auto (on a terminal, unless NO_COLOR or CI is set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Trace what happens on stderr, the AWS SDK's requests and retries
    /// included (`MLINFRA_LOG=FILTER` chooses targets and levels).
    #[arg(long, global = true)]
    pub debug: bool,
    #[command(subcommand)]
    pub command: Command,
}

// Each subcommand's arguments are built only when it runs (or when help or
// completion asks for every one): building all of them took about 0.4 ms
// of every start.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// List the deployable environments and the stacks each renders to.
    #[command(after_help = "Examples:\n  mlinfra list\n  mlinfra list --format json")]
    List(ListArgs),
    /// Load and validate environments; exit 0, or 1 with every error located.
    #[command(after_help = "Examples:\n  mlinfra validate --env prod\n  mlinfra validate --all")]
    Validate(ValidateArgs),
    /// Render CloudFormation templates: to stdout, or as files under --out.
    #[command(
        after_help = "Examples:\n  mlinfra render --env prod                 # JSON object: stack name → template\n  mlinfra render --env prod --stack iam     # one template, pipe it to jq\n  mlinfra render --all --out build/         # build/<env>/<stack>.json"
    )]
    Render(RenderArgs),
    /// Estimate what an environment costs: endpoints per month, training per run.
    #[command(after_help = "Examples:\n  mlinfra cost --env prod\n  mlinfra cost --all")]
    Cost(CostArgs),
    /// Print the JSON Schema of environment files, for editor completion and validation.
    #[command(
        after_help = "Examples:\n  mlinfra schema > mlinfra.schema.json\n  # then in an environment file (taplo / Even Better TOML):\n  #:schema ./mlinfra.schema.json"
    )]
    Schema,
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  mlinfra completions bash > /etc/bash_completion.d/mlinfra\n  mlinfra completions zsh > \"${fpath[1]}/_mlinfra\"\n  mlinfra completions fish > ~/.config/fish/completions/mlinfra.fish"
    )]
    Completions(CompletionsArgs),
    /// Create a new project: environments/base.toml, dev.toml and prod.toml.
    #[command(after_help = "Examples:\n  mlinfra init churn-model\n  mlinfra init . --name churn")]
    Init(InitArgs),
    /// Check rendered templates offline: least privilege, data protection,
    /// serving and training sanity, CloudFormation limits. Exit 0 clean, 2 when
    /// an unaccepted finding is at or above --fail-on, 1 on error.
    #[command(
        after_help = "Examples:\n  mlinfra check --all\n  mlinfra check --env prod --fail-on medium\n  mlinfra check --all --format json\n  mlinfra check --all --templates out --format sarif > check.sarif\n\nAccept a finding in the environment's config, with a reason:\n  [accepted_findings]\n  \"NET002@TrainPipeline\" = \"the job installs packages from the internet at start-up\""
    )]
    Check(CheckArgs),
    /// Show what a deploy would change, through CloudFormation change sets.
    /// Exit 0: nothing to change, 2: changes, 3: blocked by a guard, 1: error.
    #[command(
        after_help = "Examples:\n  mlinfra plan --env prod\n  mlinfra plan --env prod --out plan.json --format markdown > plan.md\n  mlinfra plan --env prod --allow-data-loss RawBucket"
    )]
    Plan(PlanArgs),
    /// Deploy: execute change sets in dependency order, streaming stack events.
    #[command(
        after_help = "Examples:\n  mlinfra apply --env dev                 # plan, show, ask\n  mlinfra apply --env prod --plan plan.json\n  mlinfra apply --env dev --yes           # CI without a reviewed plan"
    )]
    Apply(ApplyArgs),
    /// The rendered templates against the deployed ones: resource, property path, before → after.
    /// Exit 0: no differences, 2: differences (or stacks not deployed), 1: error.
    #[command(
        after_help = "Examples:\n  mlinfra diff --env prod\n  mlinfra diff --env prod --format markdown >> pr-comment.md"
    )]
    Diff(DiffArgs),
    /// Report what changed in the account outside the pipeline: CloudFormation
    /// drift detection plus deep checks of roles, endpoints, autoscaling and buckets.
    #[command(
        after_help = "Exit codes: 0 in sync, 2 drift found, 1 error (or checks that could not be made), \
3 blocked by a guard (credentials of another account).\n\nExamples:\n  mlinfra drift --env prod\n  mlinfra drift --env prod --format markdown > drift.md\n  mlinfra drift --env dev --endpoint-url http://127.0.0.1:5000"
    )]
    Drift(DriftArgs),
    /// Start a training job's SageMaker pipeline; with --wait, follow it and
    /// report spot savings and the model artifact. Exit 0 started or
    /// succeeded, 1 failed, stopped or error.
    #[command(
        after_help = "Examples:\n  mlinfra train --env dev dogbreed\n  mlinfra train --env prod dogbreed --wait\n  mlinfra train --env prod dogbreed --wait --format json\n\nCtrl-C while waiting stops only the waiting: the pipeline execution carries on in SageMaker."
    )]
    Train(TrainArgs),
    /// Show each stack's status and outputs, and each endpoint's status and
    /// instance count against its autoscaling bounds. Exit 0, or 1 on error.
    #[command(
        after_help = "Examples:\n  mlinfra status --env prod\n  mlinfra status --env prod --format json"
    )]
    Status(StatusArgs),
    /// Print the IAM policy an environment needs: the deploy role's (plan,
    /// apply, drift, train, status) or CloudFormation's execution role's.
    #[command(
        after_help = "Examples:\n  mlinfra policy --env prod > deploy-policy.json\n  mlinfra policy --env prod --role cloudformation"
    )]
    Policy(PolicyArgs),
    /// Render, or deploy with --deploy, the bootstrap stack of an environment's
    /// account: the deploy role trusted by the delivery account and
    /// CloudFormation's execution role, generated from what mlinfra renders.
    #[command(
        after_help = "Examples:\n  mlinfra bootstrap --env prod > bootstrap.json\n  mlinfra bootstrap --env prod --deploy     # with credentials of prod's account"
    )]
    Bootstrap(BootstrapArgs),
    /// Render the delivery stack `{project}-delivery`: a CodePipeline that plans,
    /// approves (protected environments) and applies each environment in order.
    #[command(
        after_help = "Examples:\n  mlinfra pipeline --connection-arn arn:aws:codeconnections:us-east-1:111111111111:connection/abc \\\n      --repository acme/ml-platform --environments dev,staging,prod > delivery.json"
    )]
    Pipeline(PipelineArgs),
    /// Delete an environment's stacks in reverse dependency order. Buckets and
    /// keys are kept (DeletionPolicy Retain) and listed by name. Exit 0 done,
    /// 3 refused by a guard (a protected environment without consent), 1 error.
    #[command(
        after_help = "Examples:\n  mlinfra destroy --env dev                  # plan, show, ask\n  mlinfra destroy --env dev --yes            # CI, unprotected environments\n  mlinfra destroy --env prod --yes --allow-destroy-protected\n\nA protected environment (termination protection on, as in prod) asks for its name on a terminal."
    )]
    Destroy(DestroyArgs),
    /// Adopt existing buckets and keys into the environment's data stack
    /// through a CloudFormation IMPORT change set, after showing which
    /// logical id takes which resource. Exit 0 done or nothing to import, 1 error.
    #[command(
        after_help = "Examples:\n  mlinfra import --env dev                   # the buckets of dev's derived names that exist\n  mlinfra import --env dev --yes --resource DataKey=1234abcd-12ab-34cd-56ef-1234567890ab \\\n      --resource DataKeyAlias=alias/dogbreed-dev-data\n\nThen `mlinfra apply --env dev` adds the rest of the stack."
    )]
    Import(ImportArgs),
    /// Refresh the price tables cost estimates use, from the AWS Price List API.
    #[command(
        after_help = "Examples:\n  mlinfra prices update                       # the regions of the deployable environments\n  mlinfra prices update --region eu-west-1\n\nTables are written to prices/<region>.json in the project and win over the\ntables shipped in mlinfra; an environment's [prices] win over both."
    )]
    Prices(PricesArgs),
    /// Show each variant's weight and capacity (desired and current, beside
    /// the configured ones), or shift weights with --set (capacity with
    /// --capacity) through UpdateEndpointWeightsAndCapacities, then wait for
    /// the endpoint to be InService. Exit 0, or 1 on error (nothing changed).
    #[command(
        after_help = "Examples:\n  mlinfra traffic --env prod ranker\n  mlinfra traffic --env prod ranker --format json\n  mlinfra traffic --env prod ranker --set candidate=20 --set current=80\n  mlinfra traffic --env prod ranker --capacity current=3 --yes      # CI\n\nThe configuration stays the source of truth: drift reports weights and counts set here\nunless the endpoint says traffic = \"external\"."
    )]
    Traffic(TrafficArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub env: EnvName,
    /// Import this resource of the data stack: LOGICAL_ID=PHYSICAL_ID (a key
    /// by its key id; buckets are found by their derived names). Repeatable.
    #[arg(long, value_name = "LOGICAL_ID=PHYSICAL_ID")]
    pub resource: Vec<String>,
    /// Import without asking (required when standard input is not a terminal).
    #[arg(long)]
    pub yes: bool,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct TrafficArgs {
    #[command(flatten)]
    pub env: EnvName,
    /// The endpoint (an `[endpoints.<name>]` table of the environment).
    pub endpoint: String,
    /// New weight of a production variant (repeatable); the others keep theirs.
    #[arg(long = "set", value_name = "VARIANT=WEIGHT")]
    pub weights: Vec<crate::ops::traffic::WeightSetting>,
    /// New instance count of one production variant.
    #[arg(long, value_name = "VARIANT=INSTANCES")]
    pub capacity: Vec<crate::ops::traffic::CapacitySetting>,
    /// Change without asking (required when standard input is not a terminal).
    #[arg(long)]
    pub yes: bool,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub env: EnvName,
    /// Delete without asking (required when standard input is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// With --yes, also delete a protected environment: termination
    /// protection is turned off on its stacks for the delete.
    #[arg(long, requires = "yes")]
    pub allow_destroy_protected: bool,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct PricesArgs {
    #[command(subcommand)]
    pub command: PricesCommand,
}

#[derive(Debug, Subcommand)]
pub enum PricesCommand {
    /// Read SageMaker's on-demand hosting and training prices of each region
    /// and write `prices/<region>.json`, dated.
    Update(PricesUpdateArgs),
}

#[derive(Debug, Args)]
pub struct PricesUpdateArgs {
    /// A region to price (repeatable) [default: the regions of the deployable environments].
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// Environments in promotion order [default: unprotected first, then protected].
    #[arg(long, value_delimiter = ',', value_name = "ENV,...")]
    pub environments: Option<Vec<String>>,
    /// CodeConnections connection to the repository.
    #[arg(long, value_name = "ARN")]
    pub connection_arn: String,
    /// The repository, `owner/name`.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repository: String,
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// The pipeline's region [default: AWS_REGION, else the first environment's].
    #[arg(long)]
    pub region: Option<String>,
    /// SHA-256 of the Linux mlinfra binary the builds run [default: this binary's].
    #[arg(long, value_name = "HEX", conflicts_with = "deploy")]
    pub binary_sha256: Option<String>,
    /// Create or update the stack in the delivery account through a change
    /// set, then upload this binary (the Linux x86_64 build) for the builds.
    #[arg(long)]
    pub deploy: bool,
    /// Deploy without asking (required when standard input is not a terminal).
    #[arg(long, requires = "deploy")]
    pub yes: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyRole {
    /// What a build or a person needs for plan, apply, drift, train and status.
    Deploy,
    /// What CloudFormation needs for the environment's resources.
    Cloudformation,
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(flatten)]
    pub env: EnvName,
    #[arg(long, value_enum, default_value_t = PolicyRole::Deploy)]
    pub role: PolicyRole,
}

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    #[command(flatten)]
    pub env: EnvName,
    /// Create or update the stack `{project}-{env}-bootstrap` instead of printing it.
    #[arg(long)]
    pub deploy: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Write `{out}/{env}/{stack}.json` instead of printing.
    #[arg(long, conflicts_with = "check")]
    pub out: Option<PathBuf>,
    /// Compare with templates committed under DIR (as `--out DIR` writes
    /// them): exit 0 when up to date, 2 when any is stale or missing.
    #[arg(long, value_name = "DIR")]
    pub check: Option<PathBuf>,
    /// Only this stack.
    #[arg(long, value_enum)]
    pub stack: Option<Layer>,
}

#[derive(Debug, Args)]
pub struct CostArgs {
    #[command(flatten)]
    pub selection: Selection,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory of the new project (created if missing).
    pub dir: PathBuf,
    /// Project name used in every resource name (default: the directory's name).
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Fail (exit 2) on unaccepted findings of this severity or worse.
    #[arg(long, value_enum, default_value_t = Severity::High)]
    pub fail_on: Severity,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Check an already rendered tree (DIR/<env>/<stack>.json, as `render --all --out DIR`
    /// writes) instead of rendering; the selected environments' configurations still apply.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub env: EnvName,
    /// The training job (a `[training.<job>]` table of the environment).
    pub job: String,
    /// Follow the execution until it ends and report the training job.
    #[arg(long)]
    pub wait: bool,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub env: EnvName,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub env: EnvName,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// How long to wait for CloudFormation drift detection of each stack.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub detection_timeout: Duration,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Environment name (a file in environments/ without .toml).
    #[arg(long, short, required_unless_present_any = ["all", "discard"])]
    pub env: Option<String>,
    /// Every deployable environment, as one report (one pull-request comment).
    #[arg(long, conflicts_with_all = ["env", "out", "allow_data_loss"])]
    pub all: bool,
    /// Only this stack of the environment; the stacks it imports from must be deployed.
    #[arg(long, value_enum, conflicts_with = "all")]
    pub stack: Option<Layer>,
    /// Delete the change sets a kept plan (`plan --out`) holds, and the code
    /// packages kept beside it; the plan file stays as a record.
    #[arg(long, value_name = "PLAN_JSON", conflicts_with_all = ["all", "out", "allow_data_loss", "stack"])]
    pub discard: Option<PathBuf>,
    /// Keep the change sets and write the plan here, for `apply --plan`.
    /// Without it the change sets are deleted after planning.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// human: for terminals; json: the plan document; markdown: for pull-request comments.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Accept the replacement or removal of this bucket or key (repeatable).
    #[arg(long, value_name = "LOGICAL_ID")]
    pub allow_data_loss: Vec<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub env: EnvName,
    /// Only this stack of the environment.
    #[arg(long, value_enum)]
    pub stack: Option<Layer>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub env: EnvName,
    /// Execute exactly the change sets of this plan (from `plan --out`); refused when stale.
    #[arg(long, value_name = "PLAN_JSON")]
    pub plan: Option<PathBuf>,
    /// Only this stack of the environment; the stacks it imports from must be
    /// deployed. A plan made with --stack applies that stack alone.
    #[arg(long, value_enum)]
    pub stack: Option<Layer>,
    /// Apply without asking (required when standard input is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Accept the replacement or removal of this bucket or key (repeatable).
    #[arg(long, value_name = "LOGICAL_ID")]
    pub allow_data_loss: Vec<String>,
    /// Delete and recreate stacks whose first create rolled back (ROLLBACK_COMPLETE).
    #[arg(long)]
    pub recreate_rolled_back: bool,
    /// Stop for approval when IAM permissions are added or widened
    /// [default: broadening where termination protection is on, as in prod; else never].
    #[arg(long, value_enum)]
    pub require_approval: Option<RequireApproval>,
    /// Approve added or widened IAM permissions up front (CI, after review).
    #[arg(long)]
    pub approve_broadening: bool,
    /// Turn the data stack's protection off where the configuration says
    /// `termination_protection = false` (refused without it).
    #[arg(long)]
    pub remove_protection: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `--env NAME`: the one environment a command works on. It reads as the
/// name itself (`&args.env` is a `&str`, and it prints as the name).
#[derive(Debug, Clone, Args)]
pub struct EnvName {
    /// Environment name (a file in environments/ without .toml).
    #[arg(id = "env", long = "env", short = 'e', value_name = "ENV")]
    name: String,
}

impl std::ops::Deref for EnvName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Display for EnvName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

#[derive(Debug, Args)]
pub struct AwsArgs {
    /// Send every AWS call here (an emulator); `AWS_ENDPOINT_URL` does the same.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// human: one line per environment; json: environments and errors, for programs.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Selection {
    /// Environment name (a file in environments/ without .toml).
    #[arg(long, short)]
    pub env: Option<String>,
    /// Every deployable environment.
    #[arg(long)]
    pub all: bool,
}
