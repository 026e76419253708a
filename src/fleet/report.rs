//! The fleet's reports: what a plan would change per StackSet, target and
//! region, each operation's per-instance results, and per-instance drift.
//! A fleet's plan and drift are parts of the environment's plan and drift
//! reports (one document each); they print on their own only where
//! `bootstrap --deploy` shows the bootstrap StackSet.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::{PermissionModel, Slot, SlotChange};
use crate::cloud::stackset::{Instance, OperationOutcome};
use crate::exit::Exit;
use crate::output::{Printer, Report, versioned_json};
use crate::plan::change::{DataLossRisk, IamChange, ResourceChange};
use crate::report::text;
use crate::stacks::Layer;

/// Bumped when the JSON of a fleet report (plan, apply, drift) changes shape.
/// 2: a fleet holds several StackSets.
pub const FORMAT_VERSION: u32 = 2;

/// Every StackSet of an environment's fleet, in dependency order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetPlan {
    pub stack_sets: Vec<StackSetPlan>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackSetPlan {
    pub stack_set: String,
    /// The environment's stack it deploys; none for the bootstrap stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<Layer>,
    pub permission_model: PermissionModel,
    pub exists: bool,
    /// Its stack is no longer listed: every instance goes, then the StackSet.
    #[serde(default)]
    pub retired: bool,
    pub template_differs: bool,
    /// The template as planned; none for a retired StackSet.
    pub template_sha256: Option<String>,
    /// The template as deployed when planned.
    pub deployed_template_sha256: Option<String>,
    pub targets: Vec<TargetChange>,
    /// The instances as deployed when planned.
    pub deployed_instances: Vec<Instance>,
    /// It holds stateful resources: removed instances keep their stacks.
    pub retain_stacks: bool,
    /// Resource changes judged from the deployed and new templates.
    pub changes: Vec<ResourceChange>,
    pub iam: Vec<IamChange>,
    pub data_loss: Vec<DataLossRisk>,
}

/// What applying does to one target in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetChange {
    pub target: String,
    pub region: String,
    pub change: SlotChange,
}

impl TargetChange {
    pub fn list(slots: BTreeMap<Slot, SlotChange>) -> Vec<TargetChange> {
        slots
            .into_iter()
            .map(|(s, change)| TargetChange {
                target: s.target,
                region: s.region,
                change,
            })
            .collect()
    }
}

impl StackSetPlan {
    pub fn slots(&self) -> impl Iterator<Item = (Slot, SlotChange)> + '_ {
        self.targets.iter().map(|t| {
            (
                Slot {
                    target: t.target.clone(),
                    region: t.region.clone(),
                },
                t.change,
            )
        })
    }

    pub fn with(&self, change: SlotChange) -> impl Iterator<Item = Slot> + '_ {
        self.slots()
            .filter(move |(_, c)| *c == change)
            .map(|(s, _)| s)
    }

    pub fn has_changes(&self) -> bool {
        !self.exists
            || self.retired
            || self.template_differs
            || self
                .targets
                .iter()
                .any(|t| t.change != SlotChange::Unchanged)
    }

    fn count(&self, change: SlotChange) -> usize {
        self.with(change).count()
    }

    pub fn summary(&self) -> String {
        let state = match (self.retired, self.exists, self.template_differs) {
            (true, _, _) => "no longer listed: its instances and the StackSet go",
            (_, false, _) => "to create",
            (_, true, true) => "template changes",
            (_, true, false) => "template unchanged",
        };
        format!(
            "StackSet {} ({}, {state}): {} to add, {} to update, {} to remove, {} unchanged",
            self.stack_set,
            self.permission_model.as_str(),
            self.count(SlotChange::Add),
            self.count(SlotChange::Update),
            self.count(SlotChange::Remove),
            self.count(SlotChange::Unchanged)
        )
    }

    /// What a removal leaves behind, where it leaves anything.
    pub fn retention_note(&self) -> Option<String> {
        (self.retain_stacks && self.count(SlotChange::Remove) > 0).then(|| {
            format!(
                "removed instances of {} keep their stacks (RetainStacks): the buckets and keys and their \
                 data stay in those accounts and regions",
                self.stack_set
            )
        })
    }
}

fn change_word(change: SlotChange) -> &'static str {
    match change {
        SlotChange::Add => "add",
        SlotChange::Update => "update",
        SlotChange::Unchanged => "no change",
        SlotChange::Remove => "remove",
    }
}

impl FleetPlan {
    pub fn has_changes(&self) -> bool {
        self.stack_sets.iter().any(StackSetPlan::has_changes)
    }

    pub fn data_loss(&self) -> impl Iterator<Item = &DataLossRisk> {
        self.stack_sets.iter().flat_map(|s| &s.data_loss)
    }

    pub fn data_loss_mut(&mut self) -> impl Iterator<Item = &mut DataLossRisk> {
        self.stack_sets.iter_mut().flat_map(|s| &mut s.data_loss)
    }

    pub fn iam(&self) -> impl Iterator<Item = &IamChange> {
        self.stack_sets.iter().flat_map(|s| &s.iam)
    }

    pub fn is_blocked(&self) -> bool {
        self.data_loss().any(|r| !r.allowed)
    }

    /// The fleet part of the plan's human report.
    pub fn human_text(&self) -> String {
        let mut out = String::new();
        for set in &self.stack_sets {
            let _ = writeln!(out, "{}", set.summary());
            // Changes of a new StackSet are its whole template: the count says enough.
            if set.exists {
                for change in &set.changes {
                    let _ = writeln!(
                        out,
                        "{:>5} {}  {}  {}",
                        change.symbol(),
                        change.logical_id,
                        change.resource_type,
                        crate::report::change_detail(change)
                    );
                }
            }
            for t in &set.targets {
                let _ = writeln!(
                    out,
                    "  {:<9} {} {}",
                    change_word(t.change),
                    t.target,
                    t.region
                );
            }
            if let Some(note) = set.retention_note() {
                let _ = writeln!(out, "  note: {note}");
            }
        }
        out
    }

    /// The fleet part of the plan's Markdown report.
    pub fn markdown_text(&self) -> String {
        let mut out = String::new();
        for set in &self.stack_sets {
            let _ = write!(out, "**{}**\n\n", text::escape(&set.summary()));
            if set.exists && !set.changes.is_empty() {
                out.push_str("| | resource | type | change |\n|---|---|---|---|\n");
                for change in &set.changes {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} |",
                        change.symbol(),
                        text::code(&change.logical_id),
                        text::code(&change.resource_type),
                        text::escape(&crate::report::change_detail(change))
                    );
                }
                out.push('\n');
            }
            out.push_str("| target | region | change |\n|---|---|---|\n");
            for t in &set.targets {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    text::code(&t.target),
                    text::code(&t.region),
                    change_word(t.change)
                );
            }
            if let Some(note) = set.retention_note() {
                let _ = write!(out, "\n{}\n", text::escape(&note));
            }
            out.push('\n');
        }
        out
    }
}

/// `bootstrap --deploy` shows the bootstrap StackSet's plan on its own.
impl Report for FleetPlan {
    fn kind(&self) -> &'static str {
        "fleet plan"
    }

    fn exit(&self) -> Exit {
        if self.is_blocked() {
            Exit::Blocked
        } else if self.has_changes() {
            Exit::Changes
        } else {
            Exit::Clean
        }
    }

    fn human(&self, _printer: &Printer) -> String {
        self.human_text()
    }

    fn json(&self) -> String {
        versioned_json(FORMAT_VERSION, self)
    }

    fn markdown(&self) -> Option<String> {
        Some(self.markdown_text())
    }
}

/// One StackSet operation of an apply and how it ended.
#[derive(Debug, Clone, Serialize)]
pub struct AppliedOperation {
    pub stack_set: String,
    /// `update`, `add` or `remove`.
    pub action: String,
    #[serde(flatten)]
    pub outcome: OperationOutcome,
}

/// Every operation of an apply, with its per-instance results.
#[derive(Debug, Clone, Serialize)]
pub struct FleetApplied {
    pub operations: Vec<AppliedOperation>,
}

impl FleetApplied {
    /// An error naming the operations that did not succeed, if any.
    pub fn check(&self) -> Result<(), super::FleetError> {
        let failed: Vec<&AppliedOperation> = self
            .operations
            .iter()
            .filter(|o| !o.outcome.succeeded())
            .collect();
        match failed.first() {
            None => Ok(()),
            Some(first) => Err(super::FleetError::Failed {
                name: first.stack_set.clone(),
                failed: failed.len(),
                total: self.operations.len(),
            }),
        }
    }
}

impl Report for FleetApplied {
    fn kind(&self) -> &'static str {
        "fleet apply"
    }

    fn human(&self, _printer: &Printer) -> String {
        let mut text = String::new();
        for op in &self.operations {
            let outcome = &op.outcome;
            let _ = writeln!(
                text,
                "{} {} (operation {}): {}{}",
                op.stack_set,
                op.action,
                outcome.operation_id,
                outcome.status,
                outcome
                    .reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
            for r in &outcome.results {
                let _ = writeln!(
                    text,
                    "  {} {} {}{}",
                    r.account,
                    r.region,
                    r.status,
                    r.reason
                        .as_ref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                );
            }
        }
        text
    }

    fn json(&self) -> String {
        versioned_json(FORMAT_VERSION, self)
    }
}

/// StackSet drift per instance, for every StackSet of the fleet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetDrift {
    pub stack_sets: Vec<StackSetDrift>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackSetDrift {
    pub stack_set: String,
    pub deployed: bool,
    /// How drift detection ended.
    pub operation: Option<OperationOutcome>,
    pub instances: Vec<Instance>,
}

impl StackSetDrift {
    fn drifted(&self) -> impl Iterator<Item = &Instance> {
        self.instances
            .iter()
            .filter(|i| i.drift.as_deref() != Some("IN_SYNC"))
    }

    /// Drift, an instance not checked, or no StackSet at all: not in sync.
    fn in_sync(&self) -> bool {
        let failed = self.operation.as_ref().is_some_and(|o| !o.succeeded());
        self.deployed && !failed && self.drifted().next().is_none()
    }

    fn summary(&self) -> String {
        if !self.deployed {
            return format!(
                "StackSet {}: not deployed (run `mlinfra apply` or `mlinfra bootstrap --deploy`)",
                self.stack_set
            );
        }
        format!(
            "StackSet {}: {} of {} instances drifted or unchecked{}",
            self.stack_set,
            self.drifted().count(),
            self.instances.len(),
            self.operation
                .as_ref()
                .filter(|o| !o.succeeded())
                .map(|o| format!(" (drift detection {})", o.status))
                .unwrap_or_default()
        )
    }
}

impl FleetDrift {
    pub fn in_sync(&self) -> bool {
        self.stack_sets.iter().all(StackSetDrift::in_sync)
    }

    /// The fleet part of the drift report, for a terminal.
    pub fn human_text(&self) -> String {
        let mut text = String::new();
        for set in &self.stack_sets {
            let _ = writeln!(text, "{}", set.summary());
            for i in &set.instances {
                let _ = writeln!(
                    text,
                    "  {} {} {}{}",
                    i.account,
                    i.region,
                    i.drift.as_deref().unwrap_or("NOT_CHECKED"),
                    i.reason
                        .as_ref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                );
            }
        }
        text
    }

    /// The fleet part of the drift report, in Markdown.
    pub fn markdown_text(&self) -> String {
        let mut out = String::new();
        for set in &self.stack_sets {
            let _ = write!(out, "**{}**\n\n", text::escape(&set.summary()));
            if set.instances.is_empty() {
                continue;
            }
            out.push_str("| account | region | drift | reason |\n|---|---|---|---|\n");
            for i in &set.instances {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    text::code(&i.account),
                    text::code(&i.region),
                    i.drift.as_deref().unwrap_or("NOT_CHECKED"),
                    text::escape(i.reason.as_deref().unwrap_or(""))
                );
            }
            out.push('\n');
        }
        out
    }
}
