//! Executing a plan: stacks in dependency order, the independent ones of a
//! wave in parallel, each followed to its end; a failed wave stops the rest.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Mutex;

use futures_util::future::join_all;

use super::follow::{Operation, follow};
use super::progress::Progress;
use super::protect;
use crate::cloud::Clients;
use crate::cloud::cfn::EventInfo;
use crate::config::Env;
use crate::output::Printer;
use crate::plan::{self, ChangeSetRef, Plan, StackAction, StackPlan, run_id};
use crate::render::RenderedStack;
use crate::stacks;

pub struct Context<'a> {
    pub clients: &'a Clients,
    pub env: &'a Env,
    pub rendered: &'a [RenderedStack],
    pub progress: &'a Progress,
    pub printer: &'a Printer,
    /// Stacks with an operation running now: what an interruption leaves behind.
    pub in_flight: &'a Mutex<BTreeSet<String>>,
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

struct InFlight<'a> {
    set: &'a Mutex<BTreeSet<String>>,
    stack: String,
}

impl<'a> InFlight<'a> {
    fn mark(set: &'a Mutex<BTreeSet<String>>, stack: &str) -> Self {
        set.lock()
            .expect("in-flight lock")
            .insert(stack.to_string());
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
        let _flight = InFlight::mark(ctx.in_flight, name);
        cfn.delete_stack(&id, operation.token.as_deref().unwrap_or_default())
            .await
            .map_err(|e| aws(&e))?;
        let outcome = follow(cfn, name, &id, &operation, ctx.progress)
            .await
            .map_err(|e| aws(&e))?;
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

    let protect = stack.layer.is_stateful() && ctx.env.termination_protection;
    if let Some(change_set) = change_set {
        let lifted: Vec<String> = plan
            .data_loss
            .iter()
            .filter(|r| r.stack == name && r.allowed)
            .map(|r| r.logical_id.clone())
            .collect();
        let swap_policy = protect && !change_set.create && !lifted.is_empty();
        if swap_policy {
            cfn.set_stack_policy(name, &protect::policy_allowing(&lifted))
                .await
                .map_err(|e| aws(&e))?;
        }
        let operation = Operation {
            token: Some(format!("mlinfra-apply-{}", run_id())),
            after: cfn.newest_event_id(name).await.map_err(|e| aws(&e))?,
        };
        ctx.progress.started(
            name,
            if change_set.create {
                "creating"
            } else {
                "updating"
            },
        );
        let outcome = {
            let _flight = InFlight::mark(ctx.in_flight, name);
            if let Err(e) = cfn
                .execute_change_set(
                    &change_set.id,
                    operation.token.as_deref().unwrap_or_default(),
                )
                .await
            {
                ctx.progress.finished(name, "could not start");
                return Err(aws(&e));
            }
            follow(cfn, name, name, &operation, ctx.progress)
                .await
                .map_err(|e| aws(&e))?
        };
        if swap_policy {
            cfn.set_stack_policy(name, &protect::policy())
                .await
                .map_err(|e| aws(&e))?;
        }
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

    if protect
        && (!stack.settings.is_empty()
            || stack.deployed.is_none()
            || stack.action == StackAction::Recreate)
    {
        // Policy first: protection without it would still allow replacing a bucket.
        cfn.set_stack_policy(name, &protect::policy())
            .await
            .map_err(|e| aws(&e))?;
        cfn.enable_termination_protection(name)
            .await
            .map_err(|e| aws(&e))?;
        ctx.progress.line(&format!(
            "{name}: stack policy set (no replacing or deleting buckets and keys); termination protection enabled"
        ));
    }
    Ok(Executed {
        stack: name.to_string(),
        status,
    })
}
