//! Command-line interface: parses arguments and runs one step of the flow.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::apply::{self, ApplyOptions, progress::Progress};
use crate::check::{self, Severity};
use crate::cloud;
use crate::config::{self, Env};
use crate::drift::{self, Verdict};
use crate::error::{Error, Exit, Result};
use crate::ops::{self, OpsError};
use crate::output::{self, Verbosity};
use crate::plan::{self, PlanError, PlanOptions};
use crate::project::Project;
use crate::render::{self, Engine, RenderedStack};
use crate::report::{self, ReportFormat};
use crate::stacks::{self, Layer};

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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the deployable environments and the stacks each renders to.
    #[command(after_help = "Examples:\n  mlinfra list\n  mlinfra list --format json")]
    List {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Load and validate environments; exit 0, or 1 with every error located.
    #[command(after_help = "Examples:\n  mlinfra validate --env prod\n  mlinfra validate --all")]
    Validate(Selection),
    /// Render CloudFormation templates: to stdout, or as files under --out.
    #[command(
        after_help = "Examples:\n  mlinfra render --env prod                 # JSON object: stack name → template\n  mlinfra render --env prod --stack iam     # one template, pipe it to jq\n  mlinfra render --all --out build/         # build/<env>/<stack>.json"
    )]
    Render {
        #[command(flatten)]
        selection: Selection,
        /// Write `{out}/{env}/{stack}.json` instead of printing.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only this stack.
        #[arg(long, value_enum)]
        stack: Option<LayerArg>,
    },
    /// Estimate what an environment costs: endpoints per month, training per run.
    #[command(after_help = "Examples:\n  mlinfra cost --env prod\n  mlinfra cost --all")]
    Cost(Selection),
    /// Print the JSON Schema of environment files, for editor completion and validation.
    #[command(
        after_help = "Examples:\n  mlinfra schema > mlinfra.schema.json\n  # then in an environment file (taplo / Even Better TOML):\n  #:schema ./mlinfra.schema.json"
    )]
    Schema,
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  mlinfra completions bash > /etc/bash_completion.d/mlinfra\n  mlinfra completions zsh > \"${fpath[1]}/_mlinfra\"\n  mlinfra completions fish > ~/.config/fish/completions/mlinfra.fish"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Create a new project: environments/base.toml, dev.toml and prod.toml.
    #[command(after_help = "Examples:\n  mlinfra init churn-model\n  mlinfra init . --name churn")]
    Init {
        /// Directory of the new project (created if missing).
        dir: PathBuf,
        /// Project name used in every resource name (default: the directory's name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Check rendered templates offline: least privilege, data protection,
    /// serving and training sanity, CloudFormation limits. Exit 0 clean, 2 when
    /// an unaccepted finding is at or above --fail-on, 1 on error.
    #[command(
        after_help = "Examples:\n  mlinfra check --all\n  mlinfra check --env prod --fail-on medium\n  mlinfra check --all --format json\n  mlinfra check --all --templates out --format sarif > check.sarif\n\nAccept a finding in the environment's config, with a reason:\n  [accepted_findings]\n  \"NET002@TrainPipeline\" = \"the job installs packages from the internet at start-up\""
    )]
    Check {
        #[command(flatten)]
        selection: Selection,
        /// Fail (exit 2) on unaccepted findings of this severity or worse.
        #[arg(long, value_enum, default_value_t = Severity::High)]
        fail_on: Severity,
        #[arg(long, value_enum, default_value_t = check::ReportFormat::Human)]
        format: check::ReportFormat,
        /// Check an already rendered tree (DIR/<env>/<stack>.json, as `render --all --out DIR`
        /// writes) instead of rendering; the selected environments' configurations still apply.
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
    },
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
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Environment name (a file in environments/ without .toml).
    #[arg(long, short)]
    pub env: String,
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
    /// Environment name (a file in environments/ without .toml).
    #[arg(long, short)]
    pub env: String,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Environment name (a file in environments/ without .toml).
    #[arg(long, short)]
    pub env: String,
    #[arg(long, value_enum, default_value_t = ReportArg::Human)]
    pub format: ReportArg,
    /// How long to wait for CloudFormation drift detection of each stack.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub detection_timeout: Duration,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Environment name (a file in environments/ without .toml).
    #[arg(long, short)]
    pub env: String,
    /// Keep the change sets and write the plan here, for `apply --plan`.
    /// Without it the change sets are deleted after planning.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// human: for terminals; json: the plan document; markdown: for pull-request comments.
    #[arg(long, value_enum, default_value_t = ReportArg::Human)]
    pub format: ReportArg,
    /// Accept the replacement or removal of this bucket or key (repeatable).
    #[arg(long, value_name = "LOGICAL_ID")]
    pub allow_data_loss: Vec<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Environment name (a file in environments/ without .toml).
    #[arg(long, short)]
    pub env: String,
    #[arg(long, value_enum, default_value_t = ReportArg::Human)]
    pub format: ReportArg,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Environment name (a file in environments/ without .toml).
    #[arg(long, short)]
    pub env: String,
    /// Execute exactly the change sets of this plan (from `plan --out`); refused when stale.
    #[arg(long, value_name = "PLAN_JSON")]
    pub plan: Option<PathBuf>,
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
    pub require_approval: Option<apply::RequireApproval>,
    /// Approve added or widened IAM permissions up front (CI, after review).
    #[arg(long)]
    pub approve_broadening: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct AwsArgs {
    /// Send every AWS call here (an emulator); `AWS_ENDPOINT_URL` does the same.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportArg {
    Human,
    Json,
    Markdown,
}

impl From<ReportArg> for ReportFormat {
    fn from(arg: ReportArg) -> Self {
        match arg {
            ReportArg::Human => ReportFormat::Human,
            ReportArg::Json => ReportFormat::Json,
            ReportArg::Markdown => ReportFormat::Markdown,
        }
    }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayerArg {
    Data,
    Iam,
    Training,
    Serving,
}

impl From<LayerArg> for Layer {
    fn from(arg: LayerArg) -> Self {
        match arg {
            LayerArg::Data => Layer::Data,
            LayerArg::Iam => Layer::Iam,
            LayerArg::Training => Layer::Training,
            LayerArg::Serving => Layer::Serving,
        }
    }
}

pub fn run() -> Result<Exit> {
    // clap exits 2 on a usage error, which is the "changes/findings" code here.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return Ok(if e.use_stderr() {
                Exit::Error
            } else {
                Exit::Clean
            });
        }
    };
    output::set(match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    });
    let project = if cli.example {
        Project::Example
    } else {
        Project::Dir(cli.project.clone())
    };
    output::detail(&format!("project: {}", project.label()));
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::List { format } => list(&project, format, &mut out),
        Command::Validate(selection) => validate(&project, &selection, &mut out),
        Command::Render {
            selection,
            out: dir,
            stack,
        } => render_command(
            &project,
            &selection,
            dir.as_deref(),
            stack.map(Layer::from),
            &mut out,
        ),
        Command::Cost(selection) => {
            let engine = Engine::new(&project)?;
            for env in selected_envs(&project, &selection)? {
                let stacks = render::render_env(&engine, &env)?;
                let estimate = crate::cost::estimate_rendered(&env, &stacks);
                let text = crate::cost::render_human(&estimate, None);
                write_out(&mut out, &format!("{}\n{text}", env.name))?;
            }
            Ok(Exit::Clean)
        }
        Command::Schema => {
            let schema = schemars::schema_for!(crate::config::raw::RawConfig);
            let text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
            write_out(&mut out, &format!("{text}\n"))?;
            Ok(Exit::Clean)
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "mlinfra", &mut out);
            Ok(Exit::Clean)
        }
        Command::Init { dir, name } => init(&dir, name, &mut out),
        Command::Check {
            selection,
            fail_on,
            format,
            templates,
        } => {
            let report = match templates {
                Some(dir) => check::check_tree(&project, &dir, selection.env.as_deref(), fail_on)?,
                None => {
                    let envs = selected_envs(&project, &selection)?;
                    check::check_envs(&project, &envs, fail_on)?
                }
            };
            write_out(&mut out, &report.render(format))?;
            Ok(report.exit())
        }
        Command::Plan(args) => plan_command(&project, &args, &mut out),
        Command::Apply(args) => apply_command(&project, &args),
        Command::Drift(args) => drift_command(&project, &args, &mut out),
        Command::Diff(args) => diff_command(&project, &args, &mut out),
        Command::Train(args) => train_command(&project, &args, &mut out),
        Command::Status(args) => status_command(&project, &args, &mut out),
    }
}

/// Loads, validates and renders one environment: all of it before any AWS call.
fn prepare(project: &Project, env: &str) -> Result<(Env, Vec<RenderedStack>)> {
    let selection = Selection {
        env: Some(env.to_string()),
        all: false,
    };
    let env = selected_envs(project, &selection)?.remove(0);
    let rendered = render::render_env(&Engine::new(project)?, &env)?;
    Ok((env, rendered))
}

/// Only `plan` and `apply` talk to AWS, so only they start an async runtime.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))
}

fn log_stderr(line: &str) {
    output::notice(line);
}

fn plan_command(project: &Project, args: &PlanArgs, out: &mut impl Write) -> Result<Exit> {
    let (env, rendered) = prepare(project, &args.env)?;
    runtime()?.block_on(async {
        let clients = cloud::guard::connect(&env, args.aws.endpoint_url.as_deref()).await?;
        let options = PlanOptions { allow_data_loss: args.allow_data_loss.clone() };
        let plan = plan::plan(&clients, &env, &rendered, &options, &log_stderr).await?;
        write_out(out, &report::render(&plan, args.format.into()))?;
        match &args.out {
            Some(path) => write_file(path, &plan::document::to_json(&plan))?,
            None => {
                if plan.change_sets().next().is_some() {
                    plan::discard_all(&clients, &plan).await.map_err(PlanError::from)?;
                    output::notice("change sets deleted (keep them for `apply --plan` with `plan --out plan.json`)");
                }
            }
        }
        Ok(plan.exit())
    })
}

fn diff_command(project: &Project, args: &DiffArgs, out: &mut impl Write) -> Result<Exit> {
    let (env, rendered) = prepare(project, &args.env)?;
    runtime()?.block_on(async {
        let clients = cloud::guard::connect(&env, args.aws.endpoint_url.as_deref()).await?;
        let diffs = crate::diff::diff_stacks(&clients.cfn, &rendered)
            .await
            .map_err(PlanError::from)?;
        let text = match args.format {
            ReportArg::Human => crate::diff::render_human(&diffs),
            ReportArg::Markdown => crate::diff::render_markdown(&diffs),
            ReportArg::Json => {
                let mut json = serde_json::to_string_pretty(&diffs).expect("diffs serialise");
                json.push('\n');
                json
            }
        };
        write_out(out, &text)?;
        Ok(if diffs.iter().any(|d| d.has_differences()) {
            Exit::Changes
        } else {
            Exit::Clean
        })
    })
}

fn apply_command(project: &Project, args: &ApplyArgs) -> Result<Exit> {
    let options = ApplyOptions {
        plan_file: args.plan.clone(),
        yes: args.yes,
        allow_data_loss: args.allow_data_loss.clone(),
        recreate_rolled_back: args.recreate_rolled_back,
        require_approval: apply::RequireApproval::Never,
        approve_broadening: args.approve_broadening,
    };
    apply::check_confirmable(&options)?;
    let (env, rendered) = prepare(project, &args.env)?;
    let options = ApplyOptions {
        require_approval: args
            .require_approval
            .unwrap_or_else(|| apply::RequireApproval::default_for(&env)),
        ..options
    };
    runtime()?.block_on(async {
        let clients = cloud::guard::connect(&env, args.aws.endpoint_url.as_deref()).await?;
        let progress = Progress::detect();
        apply::run(&clients, &env, &rendered, &options, &progress, &log_stderr).await?;
        Ok(Exit::Clean)
    })
}

fn write_out(out: &mut impl Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .map_err(|source| Error::Write {
            path: PathBuf::from("<stdout>"),
            source,
        })
}

/// The environments a command works on, all validated before anything else happens.
pub fn selected_envs(project: &Project, selection: &Selection) -> Result<Vec<Env>> {
    let names = match (&selection.env, selection.all) {
        (Some(name), _) => vec![name.clone()],
        (None, true) => config::deployable_environments(project)?,
        (None, false) => return Err(Error::Usage("choose --env NAME or --all".into())),
    };
    let mut envs = Vec::new();
    let mut errors = Vec::new();
    for name in names {
        match config::load_env(project, &name) {
            Ok(env) => envs.push(env),
            Err(e) => errors.extend(e.0),
        }
    }
    if errors.is_empty() {
        Ok(envs)
    } else {
        Err(config::ConfigErrors(errors).into())
    }
}

fn list(project: &Project, format: Format, out: &mut impl Write) -> Result<Exit> {
    let all = Selection {
        env: None,
        all: true,
    };
    let envs = selected_envs(project, &all)?;
    let text = match format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = envs
                .iter()
                .map(|env| {
                    serde_json::json!({
                        "env": env.name,
                        "account_id": env.account_id,
                        "region": env.region,
                        "stacks": stacks::stacks(env),
                    })
                })
                .collect();
            format!(
                "{}\n",
                serde_json::to_string_pretty(&rows).expect("JSON values serialise")
            )
        }
        Format::Human => {
            let mut text = format!(
                "{:<12} {:<13} {:<15} STACKS (in deploy order)\n",
                "ENVIRONMENT", "ACCOUNT", "REGION"
            );
            for env in &envs {
                let names: Vec<String> = stacks::stacks(env).into_iter().map(|s| s.name).collect();
                text.push_str(&format!(
                    "{:<12} {:<13} {:<15} {}\n",
                    env.name,
                    env.account_id,
                    env.region,
                    names.join(", ")
                ));
            }
            text
        }
    };
    write_out(out, &text)?;
    Ok(Exit::Clean)
}

/// One line per environment: what it will create, for a quick sanity read.
pub fn summary(env: &Env) -> String {
    let endpoints: Vec<String> = env
        .endpoints
        .iter()
        .map(|e| match &e.autoscaling {
            Some(a) => format!(
                "{} ({}, autoscaling {}–{})",
                e.name, e.instance_type, a.min, a.max
            ),
            None => format!(
                "{} ({} × {})",
                e.name, e.initial_instance_count, e.instance_type
            ),
        })
        .collect();
    let jobs: Vec<String> = env
        .training
        .iter()
        .map(|j| {
            format!(
                "{} ({}{})",
                j.name,
                j.instance_type,
                if j.spot.is_some() { ", spot" } else { "" }
            )
        })
        .collect();
    format!(
        "{}: valid — account {} in {}; {} zones; training: {}; endpoints: {}; termination protection {}",
        env.name,
        env.account_id,
        env.region,
        env.data_lake.zones.len(),
        if jobs.is_empty() {
            "none".into()
        } else {
            jobs.join(", ")
        },
        if endpoints.is_empty() {
            "none".into()
        } else {
            endpoints.join(", ")
        },
        if env.termination_protection {
            "on"
        } else {
            "off"
        },
    )
}

fn validate(project: &Project, selection: &Selection, out: &mut impl Write) -> Result<Exit> {
    let envs = selected_envs(project, selection)?;
    // Rendering is part of validity: a template override could be broken.
    let engine = Engine::new(project)?;
    for env in &envs {
        render::render_env(&engine, env)?;
        write_out(out, &format!("{}\n", summary(env)))?;
    }
    Ok(Exit::Clean)
}

fn render_command(
    project: &Project,
    selection: &Selection,
    dir: Option<&Path>,
    only: Option<Layer>,
    out: &mut impl Write,
) -> Result<Exit> {
    let envs = selected_envs(project, selection)?;
    let engine = Engine::new(project)?;
    // Everything renders before anything is written: a broken environment
    // leaves no half-written output. Only the text is kept, not the JSON tree.
    let mut rendered: Vec<(String, String, String)> = Vec::new();
    let mut trees = serde_json::Map::new();
    for env in &envs {
        for stack in render::render_env(&engine, env)? {
            if only.is_some_and(|layer| stack.spec.layer != layer) {
                continue;
            }
            if dir.is_none() {
                trees.insert(stack.spec.name.clone(), stack.template.value);
            }
            rendered.push((env.name.clone(), stack.spec.name, stack.template.text));
        }
    }
    match dir {
        Some(dir) => {
            for (env, stack, text) in &rendered {
                write_file(&render::engine::output_path(dir, env, stack), text)?;
            }
            output::notice(&format!(
                "wrote {} templates under {}",
                rendered.len(),
                dir.display()
            ));
        }
        None if rendered.len() == 1 => write_out(out, &rendered[0].2)?,
        None => {
            let mut text = serde_json::to_string_pretty(&trees).expect("JSON values serialise");
            text.push('\n');
            write_out(out, &text)?;
        }
    }
    Ok(Exit::Clean)
}

fn init(dir: &Path, name: Option<String>, out: &mut impl Write) -> Result<Exit> {
    let name = match name {
        Some(name) => name,
        None => std::fs::canonicalize(dir)
            .unwrap_or_else(|_| dir.to_path_buf())
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
            .ok_or_else(|| {
                Error::Usage("cannot derive a project name from the directory; pass --name".into())
            })?,
    };
    let written = crate::scaffold::init(dir, &name)?;
    let mut text = String::new();
    for path in written {
        text.push_str(&format!("created {}\n", path.display()));
    }
    text.push_str(&format!(
        "next: set the account ids, then `mlinfra --project {} validate --all`\n",
        dir.display()
    ));
    write_out(out, &text)?;
    Ok(Exit::Clean)
}

pub fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| Error::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn drift_command(project: &Project, args: &DriftArgs, out: &mut impl Write) -> Result<Exit> {
    let (env, rendered) = prepare(project, &args.env)?;
    let poll = drift::detection_poll(args.detection_timeout);
    let report = runtime()?.block_on(async {
        let clients = drift::connect(&env, args.aws.endpoint_url.as_deref()).await?;
        Ok::<_, Error>(drift::run(&clients, &env, &rendered, &poll).await)
    })?;
    write_out(out, &report::drift::render(&report, args.format.into()))?;
    Ok(match report.verdict() {
        Verdict::InSync => Exit::Clean,
        Verdict::Drifted => Exit::Changes,
        Verdict::Incomplete => {
            eprintln!("error: some drift checks could not be made; the report lists them");
            Exit::Error
        }
    })
}

fn train_command(project: &Project, args: &TrainArgs, out: &mut impl Write) -> Result<Exit> {
    let (env, _) = prepare(project, &args.env)?;
    let Some(job) = env.training.iter().find(|j| j.name == args.job) else {
        let known: Vec<&str> = env.training.iter().map(|j| j.name.as_str()).collect();
        return Err(Error::Usage(format!(
            "environment `{}` has no training job `{}` (it has: {})",
            env.name,
            args.job,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    };
    runtime()?.block_on(async {
        let clients = drift::connect(&env, args.aws.endpoint_url.as_deref()).await?;
        let stack_name = stacks::stack_name(&env, Layer::Training);
        let stack = match drift::stack::load(&clients.cfn, &stack_name)
            .await
            .map_err(OpsError::from)?
        {
            drift::stack::StackState::Deployed(stack) => stack,
            drift::stack::StackState::Missing => {
                return Err(OpsError::StackMissing { stack: stack_name, env: env.name.clone() }.into());
            }
        };
        let pipeline = ops::train::pipeline_name(&stack, job)?;
        let token = ops::train::request_token(&job.name);
        let arn = ops::train::start(&clients.sagemaker, &pipeline, &job.name, &token).await?;
        if !args.wait {
            match args.format {
                Format::Human => write_out(out, &format!("{arn}\n"))?,
                Format::Json => write_out(
                    out,
                    &format!("{}\n", serde_json::json!({ "job": job.name, "pipeline": pipeline, "execution_arn": arn })),
                )?,
            }
            eprintln!("started pipeline {pipeline}; follow it with `--wait` or in SageMaker Studio");
            return Ok(Exit::Clean);
        }
        eprintln!("started {arn}\nwaiting (Ctrl-C stops only the waiting; the execution carries on in SageMaker)");
        let poll = ops::train::run_poll(job);
        let report =
            ops::train::wait_interruptible(&clients.sagemaker, &job.name, &arn, &poll, &log_stderr).await?;
        let text = match args.format {
            Format::Human => report.render_human(),
            Format::Json => report.render_json(),
        };
        write_out(out, &text)?;
        Ok(if report.succeeded() { Exit::Clean } else { Exit::Error })
    })
}

fn status_command(project: &Project, args: &StatusArgs, out: &mut impl Write) -> Result<Exit> {
    let (env, _) = prepare(project, &args.env)?;
    let report = runtime()?.block_on(async {
        let clients = drift::connect(&env, args.aws.endpoint_url.as_deref()).await?;
        Ok::<_, Error>(ops::status::collect(&clients, &env).await?)
    })?;
    let text = match args.format {
        Format::Human => report.render_human(),
        Format::Json => report.render_json(),
    };
    write_out(out, &text)?;
    Ok(Exit::Clean)
}
