//! What is deployed outside an environment's layers, for the commands that
//! deploy it: one stack (the bootstrap stack, the delivery stack) through
//! the path plan and apply use — a change set, computed and shown,
//! confirmed, executed and followed by its events — and a fleet's bootstrap
//! StackSet. These return the program's own `Error`, so nothing that
//! `error.rs` names depends on this module.

use std::collections::BTreeMap;

use crate::apply::follow::{self, Operation};
use crate::apply::progress::Progress;
use crate::cloud::cfn::{ChangeSetRequest, RawChange, StackOutput, TemplateSource};
use crate::cloud::{Cfn, Clients};
use crate::config::Env;
use crate::config::fleet::Fleet;
use crate::error::{Error, Result};
use crate::fleet::{self, FleetApplied, FleetTemplate};
use crate::output::{Format, Printer, Report, json_text};
use crate::plan::{PlanError, run_id};

/// What to deploy.
#[derive(Debug, Clone)]
pub struct Standalone {
    pub stack: String,
    pub template: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
}

/// The changes of a change set, as CloudFormation computed them.
#[derive(Debug, Clone)]
pub struct StackChanges {
    pub stack: String,
    pub create: bool,
    pub changes: Vec<RawChange>,
}

impl Report for StackChanges {
    fn kind(&self) -> &'static str {
        "stack plan"
    }

    fn human(&self, _printer: &Printer) -> String {
        let mut text = format!(
            "{}: {} ({} changes)\n",
            self.stack,
            if self.create {
                "to create"
            } else {
                "to update"
            },
            self.changes.len()
        );
        for c in &self.changes {
            let mark = match c.action.as_str() {
                "Add" => "+",
                "Remove" => "-",
                _ => "~",
            };
            text.push_str(&format!(
                "  {mark} {} {}{}\n",
                c.logical_id,
                c.resource_type,
                match c.replacement.as_deref() {
                    Some("True") => " (replaced)",
                    Some("Conditional") => " (may be replaced)",
                    _ => "",
                }
            ));
        }
        text
    }

    fn json(&self) -> String {
        json_text(&serde_json::json!({
            "stack": self.stack,
            "create": self.create,
            "changes": self.changes.iter().map(|c| serde_json::json!({
                "action": c.action, "logical_id": c.logical_id,
                "resource_type": c.resource_type, "replacement": c.replacement,
            })).collect::<Vec<_>>(),
        }))
    }
}

/// Deploys `stack`: `Ok(None)` when nothing changes, else its outputs.
/// `confirmed` sees the computed changes; declining deletes the change set.
pub async fn deploy(
    cfn: &Cfn,
    stack: &Standalone,
    printer: &Printer,
    confirmed: impl FnOnce(&StackChanges) -> bool,
) -> Result<Option<Vec<StackOutput>>> {
    let name = &stack.stack;
    let existing = cfn.describe_stack(name).await?;
    let create = existing
        .as_ref()
        .is_none_or(|s| s.status == "REVIEW_IN_PROGRESS");
    let change_set = format!("mlinfra-{}", run_id());
    let request = ChangeSetRequest {
        stack: name.clone(),
        name: change_set.clone(),
        create,
        template: TemplateSource::Body(stack.template.clone()),
        tags: stack.tags.clone(),
        description: stack.description.clone(),
        role_arn: None,
    };
    printer.notice(&format!("{name}: creating change set {change_set}"));
    let created = cfn.create_change_set(&request).await?;
    let info = cfn
        .wait_change_set(&created.id)
        .await
        .map_err(PlanError::from)?;
    if info.is_empty_change() {
        cfn.delete_change_set(&created.id).await?;
        printer.notice(&format!("{name}: up to date"));
        return Ok(None);
    }
    if info.status != "CREATE_COMPLETE" {
        return Err(Error::Plan(PlanError::ChangeSetFailed {
            stack: name.clone(),
            reason: info.status_reason.unwrap_or(info.status),
        }));
    }
    let changes = StackChanges {
        stack: name.clone(),
        create,
        changes: info.changes,
    };
    printer.print(&changes, Format::Human)?;
    if !confirmed(&changes) {
        cfn.delete_change_set(&created.id).await?;
        return Err(Error::Usage(format!(
            "{name} not changed: not confirmed (answer yes, or pass --yes); change set deleted"
        )));
    }
    let progress = Progress::for_printer(printer);
    let operation = Operation {
        token: Some(format!("mlinfra-{}", run_id())),
        after: cfn.newest_event_id(name).await?,
    };
    progress.started(name, if create { "creating" } else { "updating" });
    cfn.execute_change_set(&created.id, operation.token.as_deref().unwrap_or_default())
        .await?;
    let outcome = follow::follow(cfn, name, name, &operation, &progress)
        .await
        .map_err(PlanError::from)?;
    progress.finished(name, &outcome.status);
    if !outcome.succeeded() {
        return Err(Error::Usage(format!(
            "{name} ended in {}: {}",
            outcome.status,
            outcome.status_reason.unwrap_or_default()
        )));
    }
    Ok(Some(
        cfn.describe_stack(name)
            .await?
            .map(|s| s.outputs)
            .unwrap_or_default(),
    ))
}

/// Plans, shows, and (where confirmed) applies the bootstrap StackSet alone:
/// `bootstrap --deploy` of an environment with a fleet.
pub async fn fleet_bootstrap(
    clients: &Clients,
    env: &Env,
    fleet: &Fleet,
    templates: &[FleetTemplate],
    printer: &Printer,
) -> Result<Option<FleetApplied>> {
    let bootstrap: Vec<FleetTemplate> = templates
        .iter()
        .filter(|t| t.layer.is_none())
        .cloned()
        .collect();
    let mut plan = fleet::plan(&clients.stacksets, env, fleet, &bootstrap, &[]).await?;
    plan.stack_sets.retain(|s| s.layer.is_none());
    printer.print(&plan, Format::Human)?;
    if !plan.has_changes() {
        return Ok(None);
    }
    let applied = fleet::apply(clients, env, fleet, &plan, &bootstrap, printer).await?;
    printer.print(&applied, Format::Human)?;
    applied.check()?;
    Ok(Some(applied))
}
