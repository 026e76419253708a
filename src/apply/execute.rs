//! Executing a plan: stacks in dependency order, the independent ones of a
//! wave in parallel, each followed to its end; a failed wave stops the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Mutex;

use futures_util::future::join_all;

use super::follow::{Operation, Outcome, follow};
use super::progress::Progress;
use super::protect;
use crate::cloud::cfn::{EventInfo, WaitError};
use crate::cloud::{AwsError, Clients};
use crate::config::Env;
use crate::output::Printer;
use crate::plan::{self, ChangeSetRef, Plan, Setting, StackAction, StackPlan, run_id};
use crate::render::RenderedStack;
use crate::stacks;

pub struct Context<'a> {
    pub clients: &'a Clients,
    pub env: &'a Env,
    pub rendered: &'a [RenderedStack],
    pub progress: &'a Progress,
    pub printer: &'a Printer,
    /// Stacks with an operation running now: what an interruption leaves behind.
    pub in_flight: &'a InFlightSet,
    /// Stacks whose policy is loosened for an update and not yet put back.
    pub loosened: &'a Mutex<BTreeSet<String>>,
}

/// A stack that did not reach its goal.
#[derive(Debug, Clone, PartialEq)]
pub struct StackFailure {
    pub stack: String,
    /// The stack's final status, when it got that far.
    pub status: Option<String>,
    pub first_failure: Option<EventInfo>,
    pub detail: String,
}

impl fmt::Display for StackFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.stack)?;
        if let Some(event) = &self.first_failure {
            write!(
                f,
                ": first failure: {} ({}) {}: {}",
                event.logical_id,
                event.resource_type,
                event.status,
                event.reason.as_deref().unwrap_or("no reason given")
            )?;
        }
        if let Some(status) = &self.status {
            write!(f, "; final status {status}")?;
        }
        if !self.detail.is_empty() {
            write!(f, "; {}", self.detail)?;
        }
        Ok(())
    }
}

/// What a final status means for the next attempt.
fn explain(stack: &str, status: &str) -> String {
    match status {
        "ROLLBACK_COMPLETE" => crate::plan::state::rolled_back_explanation(stack),
        "UPDATE_ROLLBACK_COMPLETE" => "the update was rolled back; the stack is as before and can be planned again once the cause is fixed".into(),
        "UPDATE_ROLLBACK_FAILED" => format!(
            "the update failed and so did its rollback: fix the resource's cause, then run `aws cloudformation \
             continue-update-rollback --stack-name {stack}` (with `--resources-to-skip ID` for one that cannot \
             roll back) before planning again"
        ),
        "ROLLBACK_FAILED" => format!(
            "the create failed and its rollback too: delete the stack (`aws cloudformation delete-stack \
             --stack-name {stack}`) before creating it again"
        ),
        _ => String::new(),
    }
}

fn failure(
    stack: &str,
    status: Option<String>,
    first_failure: Option<EventInfo>,
    detail: String,
) -> StackFailure {
    StackFailure {
        stack: stack.to_string(),
        status,
        first_failure,
        detail,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Executed {
    pub stack: String,
    pub status: String,
}

#[derive(Debug)]
pub struct Failed {
    pub failures: Vec<StackFailure>,
    /// Stacks not started because a stack they depend on failed.
    pub skipped: Vec<String>,
    pub executed: Vec<Executed>,
}

fn has_work(stack: &StackPlan) -> bool {
    stack.action != StackAction::NoChange || !stack.settings.is_empty()
}

pub async fn execute(ctx: &Context<'_>, plan: &Plan) -> Result<Vec<Executed>, Failed> {
    let specs: Vec<_> = ctx.rendered.iter().map(|r| r.spec.clone()).collect();
    let by_name = plan::by_name(plan);
    let mut executed = Vec::new();
    let waves = stacks::waves(&specs);
    for (index, wave) in waves.iter().enumerate() {
        let work: Vec<(&StackPlan, &RenderedStack)> = wave
            .iter()
            .filter_map(|spec| {
                let stack = by_name
                    .get(spec.name.as_str())
                    .copied()
                    .filter(|s| has_work(s))?;
                let rendered = ctx.rendered.iter().find(|r| r.spec.name == spec.name)?;
                Some((stack, rendered))
            })
            .collect();
        let results = join_all(
            work.iter()
                .map(|(stack, rendered)| run_stack(ctx, plan, stack, rendered)),
        )
        .await;
        let mut failures = Vec::new();
        for result in results {
            match result {
                Ok(done) => executed.push(done),
                Err(failed) => failures.push(failed),
            }
        }
        if !failures.is_empty() {
            let skipped = waves[index + 1..]
                .iter()
                .flatten()
                .filter(|spec| by_name.get(spec.name.as_str()).is_some_and(|s| has_work(s)))
                .map(|spec| spec.name.clone())
                .collect();
            return Err(Failed {
                failures,
                skipped,
                executed,
            });
        }
    }
    Ok(executed)
}

/// Stacks with an operation running in CloudFormation, and what it does
/// ("updating", "creating", "deleting"): what an interruption leaves behind.
pub type InFlightSet = Mutex<BTreeMap<String, &'static str>>;

/// Marks a stack as running until the operation was followed to its end.
/// Dropped on an interruption too: the interruption reads the set before.
pub struct InFlight<'a> {
    set: &'a InFlightSet,
    stack: String,
}

impl<'a> InFlight<'a> {
    pub fn mark(set: &'a InFlightSet, stack: &str, doing: &'static str) -> Self {
        set.lock()
            .expect("in-flight lock")
            .insert(stack.to_string(), doing);
        Self {
            set,
            stack: stack.to_string(),
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.set.lock() {
            set.remove(&self.stack);
        }
    }
}

/// An operation started but not followed to its end (a polling failure):
/// CloudFormation carries on with it whatever happens here.
fn lost_track(ctx: &Context<'_>, stack: &str, stack_id: &str, error: &WaitError) -> StackFailure {
    ctx.progress.finished(stack, "started; following it failed");
    failure(
        stack,
        None,
        None,
        format!(
            "the operation was started and CloudFormation carries on with it, but following it failed: \
             {error}. Run `mlinfra apply --env {}` again to attach to it and follow it to the end (or watch \
             `aws cloudformation describe-stack-events --stack-name {stack_id}`)",
            ctx.env.name
        ),
    )
}

/// CloudFormation's refusal to start a change set because the stack is
/// busy with, or was changed by, another operation: a concurrent apply.
fn concurrent(error: &AwsError) -> bool {
    error.has_code(&[
        "InvalidChangeSetStatus",
        "ChangeSetNotFound",
        "OperationInProgressException",
    ]) || (error.has_code(&["ValidationError"]) && error.message.contains("_IN_PROGRESS"))
}

/// Starts a change set and follows it to its end, by stack id: another
/// stack of the same name (deleted and created again) is never followed.
async fn run_change_set(
    ctx: &Context<'_>,
    name: &str,
    change_set: &ChangeSetRef,
) -> Result<Outcome, StackFailure> {
    let cfn = &ctx.clients.cfn;
    let stack_id = if change_set.stack_id.is_empty() {
        name
    } else {
        change_set.stack_id.as_str()
    };
    let operation = Operation {
        token: Some(format!("mlinfra-apply-{}", run_id())),
        after: cfn
            .newest_event_id(stack_id)
            .await
            .map_err(|e| failure(name, None, None, format!("{e}; nothing was started")))?,
    };
    let doing = if change_set.create {
        "creating"
    } else {
        "updating"
    };
    ctx.progress.started(name, doing);
    let _flight = InFlight::mark(ctx.in_flight, name, doing);
    if let Err(e) = cfn
        .execute_change_set(
            &change_set.id,
            operation.token.as_deref().unwrap_or_default(),
        )
        .await
    {
        ctx.progress.finished(name, "could not start");
        let detail = if concurrent(&e) {
            format!(
                "{e}. Another operation changed or is changing this stack since the plan (another apply, or \
                 someone by hand): CloudFormation runs one operation per stack, so nothing was started. Run \
                 `mlinfra apply --env {}` again: it waits for a running operation and plans afresh",
                ctx.env.name
            )
        } else {
            format!("{e}; nothing was started")
        };
        return Err(failure(name, None, None, detail));
    }
    follow(cfn, name, stack_id, &operation, ctx.progress)
        .await
        .map_err(|e| lost_track(ctx, name, stack_id, &e))
}

/// Puts the stack policy back after an update it was loosened for, whatever
/// became of the update. A failure is said, not hidden: the next plan shows
/// the loosened policy and apply repairs it.
async fn restore_policy(ctx: &Context<'_>, name: &str) -> Result<(), String> {
    match ctx
        .clients
        .cfn
        .set_stack_policy(name, &protect::policy())
        .await
    {
        Ok(()) => {
            if let Ok(mut loosened) = ctx.loosened.lock() {
                loosened.remove(name);
            }
            Ok(())
        }
        Err(e) => Err(format!(
            "the stack policy, loosened for this update, could not be put back ({e}); `mlinfra plan --env {env}` \
             shows it and `mlinfra apply --env {env}` puts it back",
            env = ctx.env.name
        )),
    }
}

/// Puts back every policy still loosened (after an interruption).
/// Returns what could not be put back.
pub async fn restore_loosened(ctx: &Context<'_>) -> Vec<String> {
    let stacks: Vec<String> = ctx
        .loosened
        .lock()
        .map(|s| s.iter().cloned().collect())
        .unwrap_or_default();
    let mut failed = Vec::new();
    for stack in stacks {
        match restore_policy(ctx, &stack).await {
            Ok(()) => ctx
                .progress
                .line(&format!("{stack}: stack policy put back")),
            Err(e) => failed.push(format!("{stack}: {e}")),
        }
    }
    failed
}

async fn run_stack(
    ctx: &Context<'_>,
    plan: &Plan,
    stack: &StackPlan,
    rendered: &RenderedStack,
) -> Result<Executed, StackFailure> {
    let name = stack.stack.as_str();
    let cfn = &ctx.clients.cfn;
    let aws = |e: &dyn std::error::Error| failure(name, None, None, e.to_string());
    let mut status = "unchanged".to_string();

    if stack.action == StackAction::Recreate {
        let id = stack
            .deployed
            .as_ref()
            .map(|d| d.stack_id.clone())
            .unwrap_or_else(|| name.to_string());
        ctx.progress.started(name, "deleting the rolled-back stack");
        let operation = Operation {
            token: Some(format!("mlinfra-delete-{}", run_id())),
            after: cfn.newest_event_id(&id).await.map_err(|e| aws(&e))?,
        };
        let _flight = InFlight::mark(ctx.in_flight, name, "deleting");
        cfn.delete_stack(&id, operation.token.as_deref().unwrap_or_default())
            .await
            .map_err(|e| aws(&e))?;
        let outcome = follow(cfn, name, &id, &operation, ctx.progress)
            .await
            .map_err(|e| lost_track(ctx, name, &id, &e))?;
        if outcome.status != "DELETE_COMPLETE" {
            ctx.progress
                .finished(name, &format!("delete ended in {}", outcome.status));
            return Err(failure(
                name,
                Some(outcome.status.clone()),
                outcome.first_failure(name).cloned(),
                String::new(),
            ));
        }
    }

    let change_set: Option<ChangeSetRef> = match (&stack.change_set, stack.action) {
        (_, StackAction::NoChange) => None,
        (Some(existing), _) => Some(existing.clone()),
        // Its dependencies exist now, so CloudFormation can resolve its imports.
        (None, _) => {
            plan::create_change_set(ctx.clients, ctx.env, rendered, true, &[], ctx.printer)
                .await
                .map_err(|e| aws(&e))?
                .map(|(made, _)| made)
        }
    };

    let required = protect::required(ctx.env, stack.layer);
    if let Some(change_set) = &change_set {
        let lifted: Vec<String> = plan
            .data_loss
            .iter()
            .filter(|r| r.stack == name && r.allowed)
            .map(|r| r.logical_id.clone())
            .collect();
        let swap_policy = required && !change_set.create && !lifted.is_empty();
        if swap_policy {
            // Recorded before the call: should the answer be lost, the
            // policy is put back all the same.
            ctx.loosened
                .lock()
                .expect("loosened lock")
                .insert(name.to_string());
            if let Err(e) = cfn
                .set_stack_policy(name, &protect::policy_allowing(&lifted))
                .await
            {
                let restored = restore_policy(ctx, name).await.err();
                let mut failed = aws(&e);
                if let Some(restored) = restored {
                    failed.detail = restored;
                }
                return Err(failed);
            }
        }
        let outcome = run_change_set(ctx, name, change_set).await;
        let restored = if swap_policy {
            restore_policy(ctx, name).await
        } else {
            Ok(())
        };
        let outcome = match (outcome, restored) {
            (Ok(outcome), Ok(())) => outcome,
            (Err(mut failed), restored) => {
                if let Err(restored) = restored {
                    failed.detail = format!("{}; {restored}", failed.detail);
                }
                return Err(failed);
            }
            (Ok(outcome), Err(restored)) => {
                return Err(failure(
                    name,
                    Some(outcome.status.clone()),
                    outcome.first_failure(name).cloned(),
                    restored,
                ));
            }
        };
        if !outcome.succeeded() {
            ctx.progress
                .finished(name, &format!("failed: {}", outcome.status));
            return Err(failure(
                name,
                Some(outcome.status.clone()),
                outcome.first_failure(name).cloned(),
                explain(name, &outcome.status),
            ));
        }
        ctx.progress.finished(name, &outcome.status);
        status = outcome.status;
    }

    if required || !stack.settings.is_empty() {
        settle_protection(ctx, stack, required)
            .await
            .map_err(|e| aws(&e))?;
    }
    Ok(Executed {
        stack: name.to_string(),
        status,
    })
}

/// Brings the stack's protection to what the environment requires, from
/// what the stack carries now (not from the plan: the plan says what was
/// reviewed, the stack what is). Protection is removed only where the
/// reviewed plan says so (apply has checked `--remove-protection`).
async fn settle_protection(
    ctx: &Context<'_>,
    stack: &StackPlan,
    required: bool,
) -> Result<(), AwsError> {
    let cfn = &ctx.clients.cfn;
    let name = stack.stack.as_str();
    let Some(info) = cfn.describe_stack(name).await? else {
        return Ok(());
    };
    let policy = cfn.stack_policy(&info.stack_id).await?;
    let deployed = protect::Deployed::of(&info, policy.as_deref());
    for setting in protect::settings(required, Some(&deployed)) {
        match setting {
            Setting::Protection => {
                // Policy first: protection without it would still allow replacing a bucket.
                cfn.set_stack_policy(name, &protect::policy()).await?;
                cfn.set_termination_protection(name, true).await?;
                ctx.progress.line(&format!(
                    "{name}: stack policy set (no replacing or deleting buckets and keys); termination protection enabled"
                ));
            }
            Setting::RestorePolicy => {
                cfn.set_stack_policy(name, &protect::policy()).await?;
                ctx.progress.line(&format!(
                    "{name}: stack policy put back (no replacing or deleting buckets and keys)"
                ));
            }
            Setting::RemoveProtection if stack.settings.contains(&Setting::RemoveProtection) => {
                cfn.set_termination_protection(name, false).await?;
                cfn.set_stack_policy(name, &protect::policy_allowing_all())
                    .await?;
                ctx.progress.line(&format!(
                    "{name}: termination protection disabled; stack policy now allows every update"
                ));
            }
            Setting::RemoveProtection => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_set_made_obsolete_by_another_apply_reads_as_concurrency() {
        let error = |code: &str, message: &str| AwsError {
            operation: "ExecuteChangeSet",
            code: Some(code.to_string()),
            message: message.to_string(),
        };
        assert!(concurrent(&error(
            "InvalidChangeSetStatus",
            "ChangeSet [a] cannot be executed in its current status of [OBSOLETE]"
        )));
        assert!(concurrent(&error(
            "ValidationError",
            "Stack:s is in UPDATE_IN_PROGRESS state and can not be updated."
        )));
        assert!(!concurrent(&error("AccessDenied", "no")));
    }
}
