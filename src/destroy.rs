//! `destroy`: an environment's stacks deleted in reverse dependency order.
//! What `DeletionPolicy: Retain` keeps (buckets, the key, its alias) stays in
//! the account and is listed by name before and after; a deployed stateful
//! resource without that policy stops the destroy before anything is deleted.

use serde::Serialize;
use serde_json::Value;

use crate::apply::follow::{Operation, follow};
use crate::apply::progress::Progress;
use crate::cloud::cfn::{WaitError, status};
use crate::cloud::{AwsError, Clients};
use crate::config::Env;
use crate::output::{self, Printer, Report};
use crate::plan::run_id;
use crate::render::RenderedStack;
use crate::stacks::{self, Layer};
use crate::template::Canonical;
use crate::template::catalogue::is_stateful;

#[derive(Debug, thiserror::Error)]
pub enum DestroyError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Wait(#[from] WaitError),
    #[error("cannot destroy now:{}", .0.iter().map(|p| format!("\n  - {p}")).collect::<String>())]
    NotReady(Vec<String>),
    #[error(
        "refusing to destroy: these buckets or keys would be deleted with their stack, for their deployed \
         template has no `DeletionPolicy: Retain`; nothing was deleted:{}\nApply the current configuration \
         first (its templates retain every bucket and key), then destroy.",
        .0.iter().map(|p| format!("\n  - {p}")).collect::<String>()
    )]
    Unretained(Vec<String>),
    #[error(
        "refusing to destroy {env}: it is protected ({why}); nothing was deleted. Run destroy on a terminal and \
         type the environment's name to confirm, or in CI pass --yes together with --allow-destroy-protected, \
         which turns termination protection off for the delete"
    )]
    Protected { env: String, why: String },
    #[error(
        "--allow-destroy-protected: environment {0} is not protected (termination protection is off in its \
         configuration and on every deployed stack); remove the flag"
    )]
    UnusedAllowance(String),
    #[error(
        "destroy needs --yes when standard input is not a terminal (as in CI); nothing was deleted. Review the \
         plan above, then run again with --yes"
    )]
    NeedsYes,
    #[error("destroy cancelled; nothing was deleted")]
    Declined,
    #[error("{}", failed_text(.0))]
    Failed(Box<Failure>),
}

/// A stack whose delete did not complete, and where that leaves the rest.
#[derive(Debug)]
pub struct Failure {
    pub stack: String,
    pub status: String,
    pub reason: Option<String>,
    pub deleted: Vec<String>,
    /// Stacks not attempted (they come earlier in dependency order).
    pub remaining: Vec<String>,
    /// Termination protection was turned off for this stack's delete.
    pub protection_off: bool,
}

impl DestroyError {
    /// Refusals by a guard exit with 3.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            DestroyError::Protected { .. } | DestroyError::Unretained(_)
        )
    }
}

fn failed_text(failure: &Failure) -> String {
    let Failure {
        stack,
        status,
        reason,
        deleted,
        remaining,
        protection_off,
    } = failure;
    let mut text = format!(
        "destroy failed: {stack} ended in {status}{}",
        reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    );
    if !deleted.is_empty() {
        text.push_str(&format!("\n  deleted: {}", deleted.join(", ")));
    }
    if !remaining.is_empty() {
        text.push_str(&format!("\n  not attempted: {}", remaining.join(", ")));
    }
    if *protection_off {
        text.push_str(&format!(
            "\n  termination protection of {stack} was turned off for the delete and is still off; \
             `mlinfra apply` turns it on again"
        ));
    }
    text
}

/// A resource of a deployed stack, as `ListStackResources` names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource {
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackToDelete {
    pub stack: String,
    pub layer: Layer,
    pub stack_id: String,
    pub status: String,
    pub termination_protection: bool,
    /// Deleted with the stack.
    pub deleted: Vec<Resource>,
}

/// What `destroy` deletes and keeps, read before anything is deleted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DestroyPlan {
    pub env: String,
    pub account_id: String,
    pub region: String,
    /// In the order they are deleted: dependents first.
    pub stacks: Vec<StackToDelete>,
    /// Stacks of the environment that are not deployed.
    pub absent: Vec<String>,
    /// Retained by `DeletionPolicy: Retain`: they stay, with their data.
    pub kept: Vec<Resource>,
    /// Termination protection is on in the configuration or on a deployed stack.
    pub protected: bool,
    /// Set once every stack is deleted.
    pub done: bool,
}

impl DestroyPlan {
    pub fn protected_stacks(&self) -> Vec<&str> {
        self.stacks
            .iter()
            .filter(|s| s.termination_protection)
            .map(|s| s.stack.as_str())
            .collect()
    }
}

/// The stacks of an environment in the order they are deleted: each after
/// every stack that imports from it.
pub fn deletion_order(rendered: &[RenderedStack]) -> Vec<(String, Layer)> {
    let specs: Vec<_> = rendered.iter().map(|r| r.spec.clone()).collect();
    stacks::waves(&specs)
        .into_iter()
        .rev()
        .flatten()
        .map(|spec| (spec.name, spec.layer))
        .collect()
}

/// `DeletionPolicy` values under which CloudFormation leaves the resource.
fn retained(resource: Option<&Value>) -> bool {
    matches!(
        resource
            .and_then(|r| r.get("DeletionPolicy"))
            .and_then(Value::as_str),
        Some("Retain" | "RetainExceptOnCreate")
    )
}

/// Reads what each deployed stack holds and whether its deployed template
/// retains it. Only reads: nothing changes.
pub async fn plan(
    clients: &Clients,
    env: &Env,
    rendered: &[RenderedStack],
) -> Result<DestroyPlan, DestroyError> {
    let cfn = &clients.cfn;
    let mut plan = DestroyPlan {
        env: env.name.clone(),
        account_id: env.account_id.clone(),
        region: env.region.clone(),
        stacks: Vec::new(),
        absent: Vec::new(),
        kept: Vec::new(),
        protected: env.termination_protection,
        done: false,
    };
    let (mut busy, mut unretained) = (Vec::new(), Vec::new());
    for (name, layer) in deletion_order(rendered) {
        let Some(info) = cfn.describe_stack(&name).await? else {
            plan.absent.push(name);
            continue;
        };
        if status::in_progress(&info.status) {
            busy.push(format!(
                "{name} is {}: wait for the operation to finish (`mlinfra apply --env {}` follows it)",
                info.status, env.name
            ));
            continue;
        }
        // A stack whose create was never executed holds nothing and has no template yet.
        let template = if info.status == "REVIEW_IN_PROGRESS" {
            Value::Null
        } else {
            cfn.template_body(&info.stack_id)
                .await?
                .and_then(|body| Canonical::parse(&body).ok())
                .map(|c| c.value)
                .unwrap_or(Value::Null)
        };
        let mut deleted = Vec::new();
        for (logical_id, found) in cfn.resources(&info.stack_id).await? {
            let resource = Resource {
                stack: name.clone(),
                logical_id: logical_id.clone(),
                resource_type: found.resource_type.clone(),
                physical_id: found.physical_id.clone(),
            };
            if retained(template["Resources"].get(&logical_id)) {
                plan.kept.push(resource);
            } else {
                if is_stateful(&found.resource_type) {
                    unretained.push(format!(
                        "{name}: {logical_id} ({}{})",
                        found.resource_type,
                        found
                            .physical_id
                            .as_deref()
                            .map(|id| format!(" {id}"))
                            .unwrap_or_default()
                    ));
                }
                deleted.push(resource);
            }
        }
        plan.protected |= info.termination_protection;
        plan.stacks.push(StackToDelete {
            stack: name,
            layer,
            stack_id: info.stack_id,
            status: info.status,
            termination_protection: info.termination_protection,
            deleted,
        });
    }
    if !busy.is_empty() {
        return Err(DestroyError::NotReady(busy));
    }
    if !unretained.is_empty() {
        return Err(DestroyError::Unretained(unretained));
    }
    Ok(plan)
}

/// Deletes the plan's stacks one after another, each followed to its end;
/// the first that fails stops the rest (they are the ones it depends on).
/// Termination protection is turned off right before a protected stack's
/// delete: the caller has the consent for that.
pub async fn execute(
    clients: &Clients,
    plan: &DestroyPlan,
    progress: &Progress,
) -> Result<(), DestroyError> {
    let cfn = &clients.cfn;
    let mut deleted = Vec::new();
    for (index, stack) in plan.stacks.iter().enumerate() {
        let name = stack.stack.as_str();
        if stack.termination_protection {
            cfn.set_termination_protection(&stack.stack_id, false)
                .await?;
            progress.line(&format!(
                "{name}: termination protection turned off to delete it"
            ));
        }
        let operation = Operation {
            token: Some(format!("mlinfra-destroy-{}", run_id())),
            after: cfn.newest_event_id(&stack.stack_id).await?,
        };
        progress.started(name, "deleting");
        cfn.delete_stack(
            &stack.stack_id,
            operation.token.as_deref().unwrap_or_default(),
        )
        .await?;
        // Followed by id: a deleted stack is not found by name.
        let outcome = follow(cfn, name, &stack.stack_id, &operation, progress).await?;
        if outcome.status != "DELETE_COMPLETE" {
            progress.finished(name, &format!("failed: {}", outcome.status));
            let reason = outcome
                .first_failure(name)
                .and_then(|e| e.reason.clone())
                .or(outcome.status_reason.clone());
            return Err(DestroyError::Failed(Box::new(Failure {
                stack: name.to_string(),
                status: outcome.status,
                reason,
                deleted,
                remaining: plan.stacks[index + 1..]
                    .iter()
                    .map(|s| s.stack.clone())
                    .collect(),
                protection_off: stack.termination_protection,
            })));
        }
        progress.finished(name, "DELETE_COMPLETE");
        deleted.push(name.to_string());
    }
    Ok(())
}

fn resource_line(resource: &Resource) -> String {
    format!(
        "  - {} ({}) {}, from {}",
        resource.logical_id,
        resource.resource_type,
        resource
            .physical_id
            .as_deref()
            .unwrap_or("(no physical id)"),
        resource.stack
    )
}

impl Report for DestroyPlan {
    fn kind(&self) -> &'static str {
        "destroy plan"
    }

    fn human(&self, _: &Printer) -> String {
        let mut text = String::new();
        if self.done {
            text.push_str(&format!(
                "Destroyed {}: {} stack(s) deleted.\n",
                self.env,
                self.stacks.len()
            ));
        } else if self.stacks.is_empty() {
            text.push_str(&format!(
                "Nothing to destroy: no stack of {} is deployed (account {}, {}).\n",
                self.env, self.account_id, self.region
            ));
        } else {
            text.push_str(&format!(
                "Destroy {} (account {}, {}): {} stack(s), deleted in this order:\n",
                self.env,
                self.account_id,
                self.region,
                self.stacks.len()
            ));
            for stack in &self.stacks {
                let names: Vec<&str> = stack
                    .deleted
                    .iter()
                    .map(|r| r.logical_id.as_str())
                    .collect();
                text.push_str(&format!(
                    "  - {} ({}): deletes {}{}\n",
                    stack.stack,
                    stack.status,
                    if names.is_empty() {
                        "no resources".to_string()
                    } else {
                        names.join(", ")
                    },
                    if stack.termination_protection {
                        "; termination protection is on and is turned off for the delete"
                    } else {
                        ""
                    }
                ));
            }
        }
        if !self.absent.is_empty() && !self.done {
            text.push_str(&format!("Not deployed: {}\n", self.absent.join(", ")));
        }
        if !self.kept.is_empty() {
            text.push_str(if self.done {
                "Kept in the account, with their data (DeletionPolicy Retain):\n"
            } else {
                "Kept (DeletionPolicy Retain: they stay in the account, with their data):\n"
            });
            for resource in &self.kept {
                text.push_str(&resource_line(resource));
                text.push('\n');
            }
        }
        if self.done {
            // Buckets are found by name; the key and its alias must be named.
            let named: Vec<String> = self
                .kept
                .iter()
                .filter(|r| r.resource_type.starts_with("AWS::KMS::"))
                .filter_map(|r| {
                    Some(format!(
                        " --resource {}={}",
                        r.logical_id,
                        r.physical_id.as_deref()?
                    ))
                })
                .collect();
            if !self.kept.is_empty() {
                text.push_str(&format!(
                    "To adopt them into a new data stack: mlinfra import --env {}{}\n",
                    self.env,
                    named.concat()
                ));
            }
        }
        text
    }

    fn json(&self) -> String {
        output::versioned_json(1, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::example;

    #[test]
    fn stacks_are_deleted_after_every_stack_that_imports_from_them() {
        let (_, rendered) = example("dev");
        let order: Vec<Layer> = deletion_order(&rendered)
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        let position = |layer| order.iter().position(|l| *l == layer).unwrap();
        assert_eq!(order.len(), 4);
        for layer in Layer::ALL {
            for dependency in layer.depends_on() {
                assert!(
                    position(layer) < position(*dependency),
                    "{layer} before {dependency}: {order:?}"
                );
            }
        }
    }

    /// What destroy keeps is what the templates retain: every bucket and key
    /// of every example environment carries `DeletionPolicy: Retain`.
    #[test]
    fn every_rendered_bucket_and_key_is_retained() {
        for name in ["dev", "staging", "prod"] {
            let (_, rendered) = example(name);
            let mut stateful = 0;
            for stack in &rendered {
                let resources = stack.template.value["Resources"].as_object().unwrap();
                for (id, resource) in resources {
                    if is_stateful(resource["Type"].as_str().unwrap_or_default()) {
                        stateful += 1;
                        assert!(retained(Some(resource)), "{name}: {id} is not retained");
                    }
                }
            }
            assert!(stateful >= 5, "{name}: {stateful}");
        }
        assert!(!retained(Some(
            &serde_json::json!({"DeletionPolicy": "Delete"})
        )));
        assert!(!retained(None));
    }
}
