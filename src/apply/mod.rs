//! `apply`: execute a plan's change sets in dependency order.
//!
//! Without `--plan` it plans first, shows the plan, and asks (on a terminal)
//! or requires `--yes`. With `--plan plan.json` it executes exactly those
//! change sets, after checking that neither the configuration nor any stack
//! changed since the plan was made.

pub mod execute;
pub mod follow;
pub mod progress;
pub mod protect;
pub mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, IsTerminal};

use serde_json::Value;
use std::path::PathBuf;
use std::sync::Mutex;

use futures_util::future::try_join_all;

use execute::{Context, Executed, StackFailure};
use follow::Operation;
use progress::Progress;

use crate::cloud::cfn::{ChangeSetInfo, WaitError, status};
use crate::cloud::{AwsError, Clients};
use crate::config::Env;
use crate::output::Printer;
use crate::plan::document::DocumentError;
use crate::plan::{self, Plan, PlanError, PlanOptions, Setting, StackAction, state};
use crate::render::RenderedStack;
use crate::report;
use crate::template::Canonical;

#[derive(Debug, Default, Clone)]
pub struct ApplyOptions {
    pub plan_file: Option<PathBuf>,
    pub yes: bool,
    pub allow_data_loss: Vec<String>,
    /// Consent to delete and recreate stacks whose first create rolled back.
    pub recreate_rolled_back: bool,
    /// Whether IAM statements added or widened need their own approval.
    pub require_approval: RequireApproval,
    /// That approval, given up front (CI has no terminal to ask on).
    pub approve_broadening: bool,
    /// Consent to turn the data stack's protection off, as the configuration says.
    pub remove_protection: bool,
    /// Training code packages to put in place once the stacks are.
    pub code: Vec<crate::code::Upload>,
    /// The project whose own price tables price the plan shown; the shipped
    /// tables when `None`.
    pub project: Option<crate::project::Project>,
    /// Leave the fleet's StackSets out (`apply --stack`: one stack).
    pub without_fleet: bool,
}

/// When apply stops for a separate approval, over and above `--yes`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RequireApproval {
    /// Never: `--yes` (or a reviewed plan) is enough.
    #[default]
    Never,
    /// When the plan adds or widens IAM statements.
    Broadening,
}

impl RequireApproval {
    /// Production-shaped environments (termination protection on) ask by default.
    pub fn default_for(env: &Env) -> Self {
        if env.termination_protection {
            RequireApproval::Broadening
        } else {
            RequireApproval::Never
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Wait(#[from] WaitError),
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error(
        "apply needs --yes when standard input is not a terminal (as in CI): review the plan first \
         (`mlinfra plan --out plan.json`) and apply exactly it with `mlinfra apply --plan plan.json`, or pass --yes"
    )]
    NeedsYes,
    #[error("apply cancelled; nothing was changed")]
    Declined,
    #[error("{0}")]
    Blocked(String),
    #[error("the plan is stale, nothing was applied; plan again:{}", .0.iter().map(|r| format!("\n  - {r}")).collect::<String>())]
    Stale(Vec<String>),
    #[error("{0}")]
    WrongPlan(String),
    #[error("refusing to apply: the project checkout here is not what was reviewed; nothing was executed:{}\nApply from a directory without the checkout (the plan file carries what was reviewed), or plan again from this checkout.", .0.iter().map(|d| format!("\n  - {d}")).collect::<String>())]
    CheckoutDiffers(Vec<String>),
    #[error("refusing to apply: the plan file is not what CloudFormation holds, so it is not what was reviewed; nothing was executed:{}\nPlan again and review the new plan.", .0.iter().map(|d| format!("\n  - {d}")).collect::<String>())]
    NotReviewed(Vec<String>),
    #[error("apply failed:{}{}",
        .failures.iter().map(|f| format!("\n  - {f}")).collect::<String>(),
        if .skipped.is_empty() { String::new() } else { format!("\n  not started: {}", .skipped.join(", ")) })]
    Failed {
        failures: Vec<StackFailure>,
        skipped: Vec<String>,
    },
    #[error("{}", interrupted_text(.env, .in_flight, .unrestored))]
    Interrupted {
        env: String,
        /// Stacks CloudFormation was changing, and how ("updating", …).
        in_flight: Vec<(String, String)>,
        /// Stack policies loosened for an update that could not be put back.
        unrestored: Vec<String>,
    },
    #[error(
        "refusing to remove protection without consent: {} (the configuration turns termination protection \
         off); pass --remove-protection to disable termination protection and lift the stack policy",
        .0.join(", ")
    )]
    RemovesProtection(Vec<String>),
    #[error(transparent)]
    Fleet(#[from] crate::fleet::FleetError),
    #[error(transparent)]
    Print(#[from] crate::output::PrintError),
}

fn interrupted_text(env: &str, in_flight: &[(String, String)], unrestored: &[String]) -> String {
    let mut text = if in_flight.is_empty() {
        "interrupted. No stack operation had started; nothing was executed.".to_string()
    } else {
        let running: Vec<String> = in_flight
            .iter()
            .map(|(stack, doing)| format!("{stack} ({doing})"))
            .collect();
        format!(
            "interrupted while CloudFormation was changing {}. CloudFormation carries on with {} on its own: \
             it completes or rolls back whatever mlinfra does; no further stack was started. Run \
             `mlinfra apply --env {env}` again to attach to {} and follow {} to the end.",
            running.join(", "),
            if in_flight.len() == 1 {
                "that operation"
            } else {
                "those operations"
            },
            if in_flight.len() == 1 { "it" } else { "them" },
            if in_flight.len() == 1 { "it" } else { "them" },
        )
    };
    for problem in unrestored {
        text.push_str(&format!("\n  - {problem}"));
    }
    text
}

impl ApplyError {
    /// Refusals by a safety guard exit with 3; everything else is an error.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ApplyError::Blocked(_)
                | ApplyError::Stale(_)
                | ApplyError::NotReviewed(_)
                | ApplyError::RemovesProtection(_)
                | ApplyError::CheckoutDiffers(_)
        ) || matches!(self, ApplyError::Document(e) if e.is_refusal())
    }
}

/// Refuses before any AWS call when nobody can confirm.
pub fn check_confirmable(reviewed_plan: bool, yes: bool) -> Result<(), ApplyError> {
    if !reviewed_plan && !yes && !std::io::stdin().is_terminal() {
        return Err(ApplyError::NeedsYes);
    }
    Ok(())
}

/// `apply`, interruptible: on Ctrl-C it says what CloudFormation carries on with.
pub async fn run(
    clients: &Clients,
    env: &Env,
    rendered: &[RenderedStack],
    options: &ApplyOptions,
    progress: &Progress,
    printer: &Printer,
) -> Result<Vec<Executed>, ApplyError> {
    let in_flight = Mutex::new(BTreeMap::new());
    let loosened = Mutex::new(BTreeSet::new());
    let ctx = Context {
        clients,
        env,
        rendered,
        progress,
        printer,
        in_flight: &in_flight,
        loosened: &loosened,
    };
    // The running stacks are read as the signal arrives: once `select!`
    // drops the apply, its in-flight marks are gone.
    let interrupted = async {
        let _ = tokio::signal::ctrl_c().await;
        in_flight
            .lock()
            .map(|s| {
                s.iter()
                    .map(|(stack, doing)| (stack.clone(), doing.to_string()))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let result = tokio::select! {
        result = apply(&ctx, options) => result,
        running = interrupted => Err(ApplyError::Interrupted {
            env: env.name.clone(),
            in_flight: running,
            unrestored: Vec::new(),
        }),
    };
    // Every exit path puts a loosened stack policy back; an ordinary one
    // has done so already, an interruption has not.
    let unrestored = execute::restore_loosened(&ctx).await;
    match result {
        Err(ApplyError::Interrupted { env, in_flight, .. }) => Err(ApplyError::Interrupted {
            env,
            in_flight,
            unrestored,
        }),
        other => other,
    }
}

pub async fn apply(ctx: &Context<'_>, options: &ApplyOptions) -> Result<Vec<Executed>, ApplyError> {
    let (mut plan, fleet_templates) = match &options.plan_file {
        Some(path) => {
            let file = plan::document::read_file(path)?;
            let plan = file.plan;
            plan::check_dependencies(ctx.clients, ctx.env, ctx.rendered).await?;
            let read = check_fresh(ctx, &plan).await?;
            let mut differences = verify::differences(ctx, &plan, read).await?;
            // The reviewed fleet plan holds only for the StackSets it was made from.
            if let Some(fleet) = &plan.fleet {
                differences.extend(crate::fleet::differences(&ctx.clients.stacksets, fleet).await?);
            }
            if !differences.is_empty() {
                return Err(ApplyError::NotReviewed(differences));
            }
            let unused = plan.unused_allowances(&options.allow_data_loss);
            if !unused.is_empty() {
                return Err(PlanError::UnusedAllowance(unused).into());
            }
            ctx.progress.line(&report::human(&plan));
            (plan, file.reviewed.fleet_templates())
        }
        None => {
            attach(ctx).await?;
            let plan_options = PlanOptions {
                allow_data_loss: options.allow_data_loss.clone(),
                project: options.project.clone(),
                without_fleet: options.without_fleet,
            };
            let plan = plan::plan(
                ctx.clients,
                ctx.env,
                ctx.rendered,
                &plan_options,
                ctx.printer,
            )
            .await?;
            ctx.progress.line(&report::human(&plan));
            let templates = match (&ctx.env.fleet, &plan.fleet) {
                (Some(fleet), Some(_)) => crate::fleet::render(ctx.env, fleet, ctx.rendered)?,
                _ => Vec::new(),
            };
            (plan, templates)
        }
    };
    // Allowances of the plan file stand; this run's flags may add to them.
    plan.allow(&options.allow_data_loss);
    let fresh = options.plan_file.is_none();
    let planned = &plan;
    // A refused or declined fresh plan leaves no change sets behind.
    let refuse = move |error: ApplyError| async move {
        if fresh {
            let _ = plan::discard_all(ctx.clients, planned).await;
        }
        Err(error)
    };
    if plan.is_blocked() {
        let ids: Vec<&str> = plan
            .all_data_loss()
            .filter(|r| !r.allowed)
            .map(|r| r.logical_id.as_str())
            .collect();
        return refuse(ApplyError::Blocked(format!(
            "refusing to apply: the plan replaces or removes {} (data-loss risk); if that is intended, pass {}",
            ids.join(", "),
            ids.iter().map(|id| format!("--allow-data-loss {id}")).collect::<Vec<_>>().join(" ")
        )))
        .await;
    }
    let rolled_back: Vec<&str> = plan
        .stacks
        .iter()
        .filter(|s| s.action == StackAction::Recreate)
        .map(|s| s.stack.as_str())
        .collect();
    if !rolled_back.is_empty() && !options.recreate_rolled_back {
        let explanations: Vec<String> = rolled_back
            .iter()
            .map(|s| state::rolled_back_explanation(s))
            .collect();
        return refuse(ApplyError::Blocked(format!(
            "refusing to delete and recreate without consent:\n  - {}\nPass --recreate-rolled-back to do so.",
            explanations.join("\n  - ")
        )))
        .await;
    }
    let unprotected: Vec<&str> = plan
        .stacks
        .iter()
        .filter(|s| s.settings.contains(&Setting::RemoveProtection))
        .map(|s| s.stack.as_str())
        .collect();
    if !unprotected.is_empty() && !options.remove_protection {
        let stacks = unprotected.iter().map(|s| s.to_string()).collect();
        return refuse(ApplyError::RemovesProtection(stacks)).await;
    }
    if !plan.has_changes() && !plan.fleet_changes() {
        upload_code(ctx, &options.code).await?;
        return Ok(Vec::new());
    }
    if let Some(broadening) = broadening_summary(&plan, options.require_approval)
        && !options.approve_broadening
    {
        ctx.progress.line(&broadening);
        if !std::io::stdin().is_terminal() {
            return refuse(ApplyError::Blocked(format!(
                "refusing to apply: the plan adds or widens IAM permissions and approval of \
                 broadening is required; review them, then pass --approve-broadening\n{broadening}"
            )))
            .await;
        }
        if !ask(
            ctx.printer,
            "Approve these IAM permission changes? Only 'yes' is accepted: ",
        ) {
            return refuse(ApplyError::Declined).await;
        }
    }
    if fresh && !options.yes && !confirm(ctx.printer, ctx.env) {
        return refuse(ApplyError::Declined).await;
    }
    let done = if plan.has_changes() {
        match execute::execute(ctx, &plan).await {
            Ok(done) => done,
            Err(failed) => {
                return Err(ApplyError::Failed {
                    failures: failed.failures,
                    skipped: failed.skipped,
                });
            }
        }
    } else {
        Vec::new()
    };
    upload_code(ctx, &options.code).await?;
    ctx.progress
        .line(&format!("Apply complete: {} stack(s) changed.", done.len()));
    if let (Some(fleet), Some(planned)) = (&ctx.env.fleet, &plan.fleet)
        && planned.has_changes()
    {
        // After the environment's stacks, as reviewed: the StackSets of the
        // plan, with the templates it was made from.
        let applied = crate::fleet::apply(
            ctx.clients,
            ctx.env,
            fleet,
            planned,
            &fleet_templates,
            ctx.printer,
        )
        .await?;
        ctx.printer.print(&applied, crate::output::Format::Human)?;
        applied.check()?;
    }
    Ok(done)
}

/// Puts each code package in the models zone, encrypted with the data key,
/// once per hash. After the stacks: the bucket and key must exist, and a
/// pipeline reads its package only when it runs.
async fn upload_code(ctx: &Context<'_>, uploads: &[crate::code::Upload]) -> Result<(), ApplyError> {
    let names = ctx.env.names();
    let key = format!(
        "arn:aws:kms:{}:{}:{}",
        ctx.env.region,
        ctx.env.account_id,
        names.key_alias()
    );
    for upload in uploads {
        let put = crate::cloud::s3::put_once(
            &ctx.clients.s3,
            &upload.bucket,
            &upload.key,
            &upload.bytes,
            &key,
        )
        .await?;
        let verb = if put { "uploaded" } else { "already in place:" };
        ctx.progress.line(&format!(
            "code of {} {verb} s3://{}/{}",
            upload.job, upload.bucket, upload.key
        ));
    }
    Ok(())
}

/// The roles whose permissions the plan adds or widens, when that needs approval.
pub(crate) fn broadening_summary(plan: &Plan, policy: RequireApproval) -> Option<String> {
    if policy == RequireApproval::Never {
        return None;
    }
    let widened: Vec<String> = plan
        .all_iam()
        .filter(|change| !change.added.is_empty())
        .map(|change| {
            format!(
                "  {}/{}: {} statement(s) added or widened",
                change.stack,
                change.logical_id,
                change.added.len()
            )
        })
        .collect();
    (!widened.is_empty()).then(|| format!("IAM broadening:\n{}", widened.join("\n")))
}

pub fn ask(printer: &Printer, question: &str) -> bool {
    printer.prompt(question);
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes"
}

/// Asks on the terminal; only `yes` goes ahead.
fn confirm(printer: &Printer, env: &Env) -> bool {
    ask(
        printer,
        &format!(
            "Apply these changes to {} (account {})? Only 'yes' is accepted: ",
            env.name, env.account_id
        ),
    )
}

/// Waits for operations already running on the environment's stacks (an
/// interrupted apply, a colleague's deploy), showing their events.
async fn attach(ctx: &Context<'_>) -> Result<(), ApplyError> {
    let cfn = &ctx.clients.cfn;
    let infos = try_join_all(
        ctx.rendered
            .iter()
            .map(|s| cfn.describe_stack(&s.spec.name)),
    )
    .await?;
    for info in infos
        .into_iter()
        .flatten()
        .filter(|i| status::in_progress(&i.status))
    {
        ctx.progress.started(
            &info.name,
            &format!("{} in progress: waiting for it to finish", info.status),
        );
        let operation = Operation {
            token: None,
            after: cfn.newest_event_id(&info.stack_id).await?,
        };
        let _flight =
            execute::InFlight::mark(ctx.in_flight, &info.name, "finishing an earlier operation");
        let outcome =
            follow::follow(cfn, &info.name, &info.stack_id, &operation, ctx.progress).await?;
        ctx.progress.finished(
            &info.name,
            &format!("the running operation ended in {}", outcome.status),
        );
    }
    Ok(())
}

/// A saved plan applies only to the state it was made from.
/// What the freshness check read from CloudFormation, handed on to
/// [`verify::differences`] so that no call is made twice.
#[derive(Default)]
pub struct Read {
    /// The change sets the plan names, by stack.
    pub change_sets: BTreeMap<String, ChangeSetInfo>,
    /// Deployed templates read along the way, by stack.
    pub deployed: BTreeMap<String, Value>,
}

async fn check_fresh(ctx: &Context<'_>, plan: &Plan) -> Result<Read, ApplyError> {
    let mut read = Read::default();
    let env = ctx.env;
    if plan.env != env.name || plan.account_id != env.account_id || plan.region != env.region {
        return Err(ApplyError::WrongPlan(format!(
            "the plan is for {} (account {}, {}), not {} (account {}, {})",
            plan.env, plan.account_id, plan.region, env.name, env.account_id, env.region
        )));
    }
    let cfn = &ctx.clients.cfn;
    let mut stale = Vec::new();
    for rendered in ctx.rendered {
        let name = &rendered.spec.name;
        let Some(planned) = plan.stacks.iter().find(|s| &s.stack == name) else {
            stale.push(format!("{name} is not in the plan"));
            continue;
        };
        let rendered_hash = plan::template_hash(&rendered.template.value);
        if planned.template_hash != rendered_hash {
            stale.push(format!(
                "{name}: the configuration changed since the plan (template sha256 {} then, {} now)",
                short(&planned.template_hash),
                short(&rendered_hash)
            ));
            continue;
        }
        let info = cfn.describe_stack(name).await?;
        match (&planned.deployed, &info, &planned.change_set) {
            (None, None, None) => {}
            (None, None, Some(cs)) => stale.push(format!(
                "{name}: the stack of change set {} is gone",
                cs.name
            )),
            // Created by the plan's CREATE change set and still waiting for it.
            (None, Some(now), Some(cs))
                if cs.create
                    && now.status == "REVIEW_IN_PROGRESS"
                    && now.stack_id == cs.stack_id => {}
            (None, Some(now), _)
                if now.status == "REVIEW_IN_PROGRESS" && planned.change_set.is_none() => {}
            (None, Some(now), _) => stale.push(format!(
                "{name} was created since the plan (now {})",
                now.status
            )),
            (Some(_), None, _) => stale.push(format!("{name} was deleted since the plan")),
            (Some(then), Some(now), _) => {
                if then.stack_id != now.stack_id {
                    stale.push(format!(
                        "{name} was deleted and created again since the plan"
                    ));
                } else if then.last_updated != now.last_changed {
                    stale.push(format!(
                        "{name} was updated since the plan (last updated {} then, {} now)",
                        then.last_updated.as_deref().unwrap_or("never"),
                        now.last_changed.as_deref().unwrap_or("never"),
                    ));
                } else if then.status != now.status {
                    stale.push(format!(
                        "{name} changed since the plan (status {} then, {} now)",
                        then.status, now.status
                    ));
                } else if planned.action != StackAction::Recreate {
                    // Times can be equal after a change (an emulator keeps none):
                    // the deployed template itself must be the one planned against.
                    let body = cfn.template_body(name).await?;
                    let deployed = body.and_then(|b| Canonical::parse(&b).ok());
                    let hash = deployed.as_ref().map(|c| plan::template_hash(&c.value));
                    if let Some(deployed) = deployed {
                        read.deployed.insert(name.clone(), deployed.value);
                    }
                    if hash != then.template_hash {
                        stale.push(format!(
                            "{name}: its deployed template changed since the plan"
                        ));
                    }
                }
            }
        }
        if let Some(cs) = &planned.change_set {
            match cfn.describe_change_set(&cs.id).await {
                Ok(found) if found.execution_status.as_deref() == Some("AVAILABLE") => {
                    read.change_sets.insert(name.clone(), found);
                }
                Ok(found) => stale.push(format!(
                    "{name}: change set {} can no longer be executed ({})",
                    cs.name,
                    found.execution_status.unwrap_or(found.status)
                )),
                Err(e) => stale.push(format!("{name}: change set {} is gone ({e})", cs.name)),
            }
        }
    }
    if stale.is_empty() {
        Ok(read)
    } else {
        Err(ApplyError::Stale(stale))
    }
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interruption_names_the_running_stacks_and_how_to_attach() {
        let running = ApplyError::Interrupted {
            env: "prod".into(),
            in_flight: vec![("p-prod-serving".into(), "updating".into())],
            unrestored: vec![],
        };
        let text = running.to_string();
        assert!(
            text.contains("while CloudFormation was changing p-prod-serving (updating)"),
            "{text}"
        );
        assert!(text.contains("carries on with that operation"), "{text}");
        assert!(
            text.contains("Run `mlinfra apply --env prod` again to attach to it"),
            "{text}"
        );
        let idle = ApplyError::Interrupted {
            env: "prod".into(),
            in_flight: vec![],
            unrestored: vec!["p-prod-data: could not".into()],
        };
        let text = idle.to_string();
        assert!(text.contains("nothing was executed"), "{text}");
        assert!(text.ends_with("\n  - p-prod-data: could not"), "{text}");
        assert!(!running.is_refusal());
        assert!(ApplyError::Stale(vec![]).is_refusal());
        assert!(ApplyError::RemovesProtection(vec![]).is_refusal());
    }
}
