//! `plan`: for each stack of an environment, find out what a deploy would
//! change, through CloudFormation change sets, without creating one where
//! nothing changed.
//!
//! Per stack: `DescribeStacks`, then `GetTemplate`; equal canonical template,
//! tags and parameters mean no change, and those two calls are all a no-op plan
//! costs. Otherwise a change set is created (`CREATE` or `UPDATE`), waited for,
//! read page by page, and classified. A new stack whose dependencies are new
//! too gets its change set at apply time, when their exports exist.

pub mod change;
pub mod classify;
pub mod code;
pub mod document;
pub mod model;
pub mod reviewed;
pub mod serving;
pub mod state;
pub mod submit;
pub mod template_diff;

use std::collections::BTreeMap;

use futures_util::future::{join_all, try_join_all};
use serde_json::Value;

pub use model::*;
use state::{Found, StackProblem};
pub use submit::{MAX_TEMPLATE_BODY, run_id, template_source_of};

use crate::apply::protect;
use crate::cloud::cfn::{ChangeSetRequest, TemplateSource, WaitError};
use crate::cloud::{AwsError, Clients};
use crate::config::Env;
use crate::cost::{self, CostDelta, PriceTable};
use crate::output::Printer;
use crate::render::RenderedStack;
use crate::stacks::Layer;
use crate::template::Canonical;

#[derive(Debug, Default, Clone)]
pub struct PlanOptions {
    /// Logical ids whose replacement or removal the user accepts.
    pub allow_data_loss: Vec<String>,
    /// The project whose own price tables (`prices/<region>.json`) price the
    /// plan; the shipped tables when `None`.
    pub project: Option<crate::project::Project>,
    /// Leave the fleet's StackSets out (`plan --stack`: one stack's plan).
    pub without_fleet: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Wait(#[from] WaitError),
    #[error(transparent)]
    Prices(#[from] crate::cost::table::PriceError),
    #[error(transparent)]
    Fleet(#[from] crate::fleet::FleetError),
    #[error("cannot plan:{}", .0.iter().map(|p| format!("\n  - {p}")).collect::<String>())]
    NotReady(Vec<StackProblem>),
    #[error("the change set for {stack} failed: {reason}")]
    ChangeSetFailed { stack: String, reason: String },
    #[error(
        "the template of {stack} is {size} bytes, over CloudFormation's inline limit of {MAX_TEMPLATE_BODY}; \
         set `artifacts_bucket` under [env] so it can be uploaded to S3"
    )]
    NoArtifactsBucket { stack: String, size: usize },
    #[error(
        "--allow-data-loss {} matches no bucket or key this plan replaces or removes; remove the flag \
         (an allowance is given for one reviewed change, never in advance)",
        .0.join(", --allow-data-loss ")
    )]
    UnusedAllowance(Vec<String>),
    #[error(
        "cannot plan {stack} alone: it imports from stacks that are not deployed:{}\nDeploy them first \
         (`mlinfra apply --env {env} --stack {first}`), or plan the whole environment without --stack",
        .missing.iter().map(|m| format!("\n  - {m}")).collect::<String>()
    )]
    DependenciesMissing {
        stack: String,
        env: String,
        missing: Vec<String>,
        first: Layer,
    },
}

/// SHA-256 of a template in canonical form, so the same template hashes the
/// same whatever order its text had (CloudFormation returns the body as submitted).
pub fn template_hash(value: &Value) -> String {
    Canonical::new(value.clone()).hash()
}

/// The template as CloudFormation takes it: inline, or uploaded to the
/// environment's artifacts bucket when it is too large to send inline.
pub async fn template_source(
    clients: &Clients,
    env: &Env,
    stack: &RenderedStack,
) -> Result<TemplateSource, PlanError> {
    template_source_of(clients, env, &stack.spec.name, &stack.template)
        .await?
        .ok_or_else(|| PlanError::NoArtifactsBucket {
            stack: stack.spec.name.clone(),
            size: stack.template.size(),
        })
}

/// Creates a change set for one stack and waits until CloudFormation has
/// computed it. `Ok(None)`: CloudFormation found nothing to change (the empty
/// change set is deleted).
/// What a change set says of itself. The data-loss allowances given to
/// `plan` are written here, where a plan file cannot change them: `apply
/// --plan` reads them back from CloudFormation, not from the file.
fn change_set_description(
    stack: &RenderedStack,
    env: &Env,
    hash: &str,
    allowed_data_loss: &[String],
) -> String {
    let mut text = format!(
        "mlinfra {} of {}, template sha256 {}",
        stack.spec.layer, env.name, hash
    );
    let here: Vec<&str> = allowed_data_loss
        .iter()
        .filter(|id| !id.is_empty())
        .map(String::as_str)
        .collect();
    if !here.is_empty() {
        text.push_str(ALLOWANCE_MARK);
        text.push_str(&here.join(","));
    }
    text
}

/// Where a change set's description lists the data-loss allowances.
pub const ALLOWANCE_MARK: &str = "; allow-data-loss: ";

/// The data-loss allowances a change set was created with.
pub fn allowances_of(description: Option<&str>) -> Vec<String> {
    description
        .and_then(|d| d.split_once(ALLOWANCE_MARK))
        .map(|(_, ids)| ids.split(',').map(str::to_string).collect())
        .unwrap_or_default()
}

pub async fn create_change_set(
    clients: &Clients,
    env: &Env,
    stack: &RenderedStack,
    create: bool,
    allowed_data_loss: &[String],
    printer: &Printer,
) -> Result<Option<(ChangeSetRef, Vec<crate::cloud::cfn::RawChange>)>, PlanError> {
    let hash = template_hash(&stack.template.value);
    let name = format!("mlinfra-{}-{}", &hash[..12], run_id());
    let request = ChangeSetRequest {
        stack: stack.spec.name.clone(),
        name: name.clone(),
        create,
        template: template_source(clients, env, stack).await?,
        tags: state::stack_tags(env, stack.spec.layer),
        description: change_set_description(stack, env, &hash, allowed_data_loss),
        role_arn: env.access.cloudformation_role_arn.clone(),
    };
    printer.notice(&format!("{}: creating change set {name}", stack.spec.name));
    let created = clients.cfn.create_change_set(&request).await?;
    let reference = ChangeSetRef {
        id: created.id.clone(),
        name,
        stack_id: created.stack_id,
        create,
    };
    let info = clients.cfn.wait_change_set(&created.id).await?;
    if info.is_empty_change() {
        printer.notice(&format!(
            "{}: CloudFormation reports no changes; deleting the empty change set",
            stack.spec.name
        ));
        clients.cfn.delete_change_set(&created.id).await?;
        return Ok(None);
    }
    if info.status != "CREATE_COMPLETE" {
        // Leave nothing behind: the change set cannot be executed anyway.
        let _ = discard(clients, &reference).await;
        return Err(PlanError::ChangeSetFailed {
            stack: stack.spec.name.clone(),
            reason: format!(
                "{}: {}",
                info.status,
                info.status_reason
                    .unwrap_or_else(|| "no reason given".into())
            ),
        });
    }
    Ok(Some((reference, info.changes)))
}

/// Deletes a change set no one will execute, and the empty stack a create
/// change set leaves in REVIEW_IN_PROGRESS.
pub async fn discard(clients: &Clients, change_set: &ChangeSetRef) -> Result<(), AwsError> {
    clients.cfn.delete_change_set(&change_set.id).await?;
    if change_set.create
        && let Some(info) = clients.cfn.describe_stack(&change_set.stack_id).await?
        && info.status == "REVIEW_IN_PROGRESS"
    {
        clients
            .cfn
            .delete_stack(
                &change_set.stack_id,
                &format!("mlinfra-discard-{}", run_id()),
            )
            .await?;
    }
    Ok(())
}

/// Discards every change set of a plan (a plan not kept with `--out`, an
/// apply that was declined).
pub async fn discard_all(clients: &Clients, plan: &Plan) -> Result<(), AwsError> {
    for change_set in plan.change_sets() {
        discard(clients, change_set).await?;
    }
    Ok(())
}

/// The stacks a planned stack imports from, where they are not planned with
/// it (`--stack`), must be deployed: CloudFormation resolves its
/// `Fn::ImportValue`s from their exports. No call when every stack is planned.
pub async fn check_dependencies(
    clients: &Clients,
    env: &Env,
    rendered: &[RenderedStack],
) -> Result<(), PlanError> {
    for stack in rendered {
        let mut missing = Vec::new();
        let mut first = None;
        for (layer, dependency) in stack.spec.layer.depends_on().iter().zip(&stack.spec.deps) {
            if rendered.iter().any(|r| &r.spec.name == dependency) {
                continue;
            }
            let info = clients.cfn.describe_stack(dependency).await?;
            let state = match info
                .as_ref()
                .map(|i| (i, state::assess(dependency, Some(i.clone()))))
            {
                Some((_, Ok(Found::Ready(_)))) => continue,
                None => "not deployed".to_string(),
                Some((i, Ok(Found::Missing(_)))) => {
                    format!("{}: its create was never executed", i.status)
                }
                Some((i, _)) => format!("{}: not usable", i.status),
            };
            first.get_or_insert(*layer);
            missing.push(format!("{dependency} ({state})"));
        }
        if let Some(first) = first {
            return Err(PlanError::DependenciesMissing {
                stack: stack.spec.name.clone(),
                env: env.name.clone(),
                missing,
                first,
            });
        }
    }
    Ok(())
}

/// What one stack needs, decided from its state and templates alone.
enum Need {
    Nothing,
    ChangeSet {
        create: bool,
    },
    /// Created at apply time, after these stacks.
    Deferred(Vec<String>),
    Recreate,
}

/// Plans every stack of `env`. The account guard must have passed.
pub async fn plan(
    clients: &Clients,
    env: &Env,
    rendered: &[RenderedStack],
    options: &PlanOptions,
    printer: &Printer,
) -> Result<Plan, PlanError> {
    check_dependencies(clients, env, rendered).await?;
    // Read-only and before any change set exists: a fleet that cannot be
    // planned leaves nothing behind.
    let fleet = match &env.fleet {
        Some(fleet) if !options.without_fleet => {
            let templates = crate::fleet::render(env, fleet, rendered)?;
            Some(
                crate::fleet::plan(
                    &clients.stacksets,
                    env,
                    fleet,
                    &templates,
                    &options.allow_data_loss,
                )
                .await?,
            )
        }
        _ => None,
    };
    let prices = match &options.project {
        Some(project) => PriceTable::load(project, env)?,
        None => PriceTable::for_env(env),
    };
    let infos = try_join_all(
        rendered
            .iter()
            .map(|s| clients.cfn.describe_stack(&s.spec.name)),
    )
    .await?;
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for (stack, info) in rendered.iter().zip(infos) {
        match state::assess(&stack.spec.name, info) {
            Ok(f) => found.push(f),
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        return Err(PlanError::NotReady(problems));
    }

    let deployed_templates: Vec<Option<Value>> =
        try_join_all(rendered.iter().zip(&found).map(|(stack, f)| async move {
            match f {
                Found::Ready(_) => {
                    let body = clients.cfn.template_body(&stack.spec.name).await?;
                    // A template deployed as YAML (not by mlinfra) never equals ours.
                    Ok::<_, AwsError>(Some(
                        body.and_then(|b| Canonical::parse(&b).ok())
                            .map(|c| c.value)
                            .unwrap_or(Value::Null),
                    ))
                }
                _ => Ok(None),
            }
        }))
        .await?;

    // Protection is read where it is required or present: a loosened policy
    // left by an interrupted apply is found by the next plan.
    let protections: Vec<Option<protect::Deployed>> =
        try_join_all(rendered.iter().zip(&found).map(|(stack, f)| async move {
            let Found::Ready(info) = f else {
                return Ok::<_, AwsError>(None);
            };
            let required = protect::required(env, stack.spec.layer);
            let policy = if protect::needs_policy(required, info) {
                clients.cfn.stack_policy(&info.stack_id).await?
            } else {
                None
            };
            Ok(Some(protect::Deployed::of(info, policy.as_deref())))
        }))
        .await?;

    // Every stack new: a renamed project leaves the old name's stacks behind.
    let orphans = if found.iter().all(|f| matches!(f, Found::Missing(_))) {
        state::orphaned_by_rename(env, &clients.cfn.all_stacks().await?)
    } else {
        Vec::new()
    };

    let deployed_for_cost = deployed_templates.clone();
    let created_by_plan: Vec<&str> = rendered
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_created_by_plan())
        .map(|(s, _)| s.spec.name.as_str())
        .collect();
    let needs: Vec<Need> = rendered
        .iter()
        .zip(&found)
        .zip(&deployed_templates)
        .map(|((stack, f), deployed)| match f {
            Found::RolledBack(_) => Need::Recreate,
            Found::Missing(_) => {
                let waits: Vec<String> = stack
                    .spec
                    .deps
                    .iter()
                    .filter(|d| created_by_plan.contains(&d.as_str()))
                    .cloned()
                    .collect();
                if waits.is_empty() {
                    Need::ChangeSet { create: true }
                } else {
                    Need::Deferred(waits)
                }
            }
            Found::Ready(info) => {
                let same_template = deployed.as_ref() == Some(&stack.template.value);
                let same_tags = info.tags == state::stack_tags(env, stack.spec.layer);
                if same_template && same_tags && info.parameters.is_empty() {
                    Need::Nothing
                } else {
                    Need::ChangeSet { create: false }
                }
            }
        })
        .collect();

    let change_sets = join_all(rendered.iter().zip(&needs).map(|(stack, need)| async move {
        match need {
            Need::ChangeSet { create } => create_change_set(
                clients,
                env,
                stack,
                *create,
                &options.allow_data_loss,
                printer,
            )
            .await
            .map(Some),
            _ => Ok(None),
        }
    }))
    .await;
    if let Some(position) = change_sets.iter().position(Result::is_err) {
        // One failed: the others are of no use without it.
        for made in change_sets.iter().flatten().flatten().flatten() {
            let _ = discard(clients, &made.0).await;
        }
        let mut change_sets = change_sets;
        return Err(change_sets
            .swap_remove(position)
            .expect_err("position of an error"));
    }

    let mut stacks = Vec::new();
    let (mut iam, mut warnings, mut data_loss) = (Vec::new(), orphans, Vec::new());
    let mut code = Vec::new();
    for ((((stack, f), protection), (need, deployed)), change_set) in rendered
        .iter()
        .zip(&found)
        .zip(&protections)
        .zip(needs.into_iter().zip(deployed_templates))
        .zip(
            change_sets
                .into_iter()
                .map(|r| r.expect("errors returned above")),
        )
    {
        let old = deployed.clone().unwrap_or(Value::Null);
        let new = &stack.template.value;
        let (action, change_set, waits_for, changes) = match (need, change_set) {
            (Need::Nothing, _) | (Need::ChangeSet { .. }, None | Some(None)) => {
                (StackAction::NoChange, None, vec![], vec![])
            }
            (Need::ChangeSet { create }, Some(Some((reference, raw)))) => {
                let action = if create {
                    StackAction::Create
                } else {
                    StackAction::Update
                };
                (
                    action,
                    Some(reference),
                    vec![],
                    classify::classify(&raw, &old, new),
                )
            }
            (Need::Deferred(waits), _) => {
                (StackAction::Create, None, waits, classify::creation(new))
            }
            (Need::Recreate, _) => (StackAction::Recreate, None, vec![], classify::creation(new)),
        };
        let name = &stack.spec.name;
        iam.extend(classify::iam(name, &changes, &old, new));
        warnings.extend(classify::warnings(name, &changes, &old, new));
        warnings.extend(classify::cpu_target_notes(env, name, &old));
        if stack.spec.layer == Layer::Training && !old.is_null() {
            code.extend(code::changes(env, name, &old));
        }
        if stack.spec.layer == Layer::Serving && !old.is_null() {
            warnings.extend(serving::notes(env, name, &old, new, &prices));
        }
        data_loss.extend(classify::data_loss(
            name,
            &changes,
            &options.allow_data_loss,
        ));
        let info = f.info().filter(|_| !matches!(f, Found::Missing(_)));
        let settings = protect::settings(
            protect::required(env, stack.spec.layer),
            protection.as_ref(),
        );
        for setting in &settings {
            if *setting != Setting::Protection {
                warnings.push(Warning {
                    stack: name.clone(),
                    logical_id: String::new(),
                    message: protect::describe(*setting, protection.as_ref()),
                    advice: match setting {
                        Setting::RemoveProtection => format!(
                            "if that is intended, apply with --remove-protection; otherwise set \
                             termination_protection = true again in environments/{}.toml",
                            env.name
                        ),
                        _ => "apply puts the environment's stack policy back".to_string(),
                    },
                });
            }
        }
        stacks.push(StackPlan {
            stack: name.clone(),
            layer: stack.spec.layer,
            action,
            change_set,
            waits_for,
            template_hash: template_hash(&stack.template.value),
            deployed: info.map(|i| Deployed {
                stack_id: i.stack_id.clone(),
                status: i.status.clone(),
                last_updated: i.last_changed.clone(),
                template_hash: deployed.filter(|v| !v.is_null()).map(|v| template_hash(&v)),
            }),
            changes,
            settings,
        });
    }
    let summary = Summary::of(&stacks);
    let cost = cost_delta(rendered, &deployed_for_cost, &prices);
    let plan = Plan {
        format_version: FORMAT_VERSION,
        env: env.name.clone(),
        account_id: env.account_id.clone(),
        region: env.region.clone(),
        stacks,
        iam,
        warnings,
        data_loss,
        summary,
        cost: Some(cost),
        code,
        fleet,
    };
    // An allowance that matches nothing is a leftover (a CI flag kept after
    // the change it was for): it must not pre-approve a future replacement.
    let unused = plan.unused_allowances(&options.allow_data_loss);
    if !unused.is_empty() {
        let _ = discard_all(clients, &plan).await;
        return Err(PlanError::UnusedAllowance(unused));
    }
    Ok(plan)
}

/// Prices the serving and training templates as deployed and as rendered.
fn cost_delta(
    rendered: &[RenderedStack],
    deployed: &[Option<Value>],
    prices: &PriceTable,
) -> CostDelta {
    let deployed_of = |layer: Layer| {
        rendered
            .iter()
            .position(|s| s.spec.layer == layer)
            .and_then(|i| deployed[i].as_ref())
            .filter(|v| !v.is_null())
    };
    let (serving, training) = (deployed_of(Layer::Serving), deployed_of(Layer::Training));
    let before = (serving.is_some() || training.is_some())
        .then(|| cost::estimate_templates(serving, training, prices));
    CostDelta {
        before,
        after: cost::estimate_rendered(rendered, prices),
    }
}

/// The stacks of a plan by name, for lookups.
pub fn by_name(plan: &Plan) -> BTreeMap<&str, &StackPlan> {
    plan.stacks.iter().map(|s| (s.stack.as_str(), s)).collect()
}
