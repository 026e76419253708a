//! The fleet's reports: what a plan would change per target and region,
//! each operation's per-instance results, and per-instance drift.

use std::collections::BTreeMap;

use serde_json::json;

use super::{Slot, SlotChange};
use crate::cloud::stackset::{Instance, OperationOutcome};
use crate::exit::Exit;
use crate::output::{Printer, Report, json_text};

/// Bumped when the JSON of a fleet report (plan, apply, drift) changes shape.
pub const FORMAT_VERSION: u32 = 1;
#[derive(Debug, Clone)]
pub struct FleetPlan {
    pub stack_set: String,
    pub permission_model: &'static str,
    pub exists: bool,
    pub template_differs: bool,
    pub template_hash: String,
    pub slots: BTreeMap<Slot, SlotChange>,
    /// As deployed.
    pub instances: Vec<Instance>,
}

impl FleetPlan {
    pub fn with(&self, change: SlotChange) -> impl Iterator<Item = &Slot> {
        self.slots
            .iter()
            .filter(move |(_, c)| **c == change)
            .map(|(s, _)| s)
    }

    pub fn has_changes(&self) -> bool {
        !self.exists
            || self.template_differs
            || self.slots.values().any(|c| *c != SlotChange::Unchanged)
    }

    fn count(&self, change: SlotChange) -> usize {
        self.with(change).count()
    }

    fn summary(&self) -> String {
        let stack_set = match (self.exists, self.template_differs) {
            (false, _) => "to create",
            (true, true) => "template changes",
            (true, false) => "template unchanged",
        };
        format!(
            "StackSet {} ({}, {stack_set}): {} to add, {} to update, {} to remove, {} unchanged",
            self.stack_set,
            self.permission_model,
            self.count(SlotChange::Add),
            self.count(SlotChange::Update),
            self.count(SlotChange::Remove),
            self.count(SlotChange::Unchanged)
        )
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

impl Report for FleetPlan {
    fn kind(&self) -> &'static str {
        "fleet plan"
    }

    fn exit(&self) -> Exit {
        if self.has_changes() {
            Exit::Changes
        } else {
            Exit::Clean
        }
    }

    fn human(&self, _printer: &Printer) -> String {
        let mut text = format!("{}\n", self.summary());
        for (slot, change) in &self.slots {
            text.push_str(&format!(
                "  {:<9} {} {}\n",
                change_word(*change),
                slot.target,
                slot.region
            ));
        }
        text
    }

    fn json(&self) -> String {
        json_text(&json!({
            "format_version": FORMAT_VERSION,
            "stack_set": self.stack_set,
            "permission_model": self.permission_model,
            "exists": self.exists,
            "template_differs": self.template_differs,
            "template_sha256": self.template_hash,
            "targets": self.slots.iter().map(|(s, c)| json!({
                "target": s.target, "region": s.region, "change": c,
            })).collect::<Vec<_>>(),
        }))
    }

    fn markdown(&self) -> Option<String> {
        let mut text = format!(
            "**{}**\n\n| target | region | change |\n|---|---|---|\n",
            crate::report::text::escape(&self.summary())
        );
        for (slot, change) in &self.slots {
            text.push_str(&format!(
                "| {} | {} | {} |\n",
                crate::report::text::code(&slot.target),
                crate::report::text::code(&slot.region),
                change_word(*change)
            ));
        }
        Some(text)
    }
}

/// Every operation of an apply, with its per-instance results.
#[derive(Debug, Clone)]
pub struct FleetApplied {
    pub stack_set: String,
    /// What the operation did (`update`, `add`, `remove`) and how it ended.
    pub operations: Vec<(String, OperationOutcome)>,
}

impl Report for FleetApplied {
    fn kind(&self) -> &'static str {
        "fleet apply"
    }

    fn human(&self, _printer: &Printer) -> String {
        let mut text = String::new();
        for (what, outcome) in &self.operations {
            text.push_str(&format!(
                "{} {what} (operation {}): {}{}\n",
                self.stack_set,
                outcome.operation_id,
                outcome.status,
                outcome
                    .reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ));
            for r in &outcome.results {
                text.push_str(&format!(
                    "  {} {} {}{}\n",
                    r.account,
                    r.region,
                    r.status,
                    r.reason
                        .as_ref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ));
            }
        }
        text
    }

    fn json(&self) -> String {
        json_text(&json!({
            "format_version": FORMAT_VERSION,
            "stack_set": self.stack_set,
            "operations": self.operations.iter().map(|(what, o)| json!({
                "action": what,
                "operation_id": o.operation_id,
                "status": o.status,
                "reason": o.reason,
                "instances": o.results.iter().map(|r| json!({
                    "account": r.account, "region": r.region,
                    "status": r.status, "reason": r.reason,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }))
    }
}

/// StackSet drift per instance.
#[derive(Debug, Clone)]
pub struct FleetDrift {
    pub stack_set: String,
    pub deployed: bool,
    pub operation: Option<OperationOutcome>,
    pub instances: Vec<Instance>,
}

impl FleetDrift {
    fn drifted(&self) -> impl Iterator<Item = &Instance> {
        self.instances
            .iter()
            .filter(|i| i.drift.as_deref() != Some("IN_SYNC"))
    }
}

impl Report for FleetDrift {
    fn kind(&self) -> &'static str {
        "fleet drift report"
    }

    /// Drift, an instance not checked, or no StackSet at all: not in sync.
    fn exit(&self) -> Exit {
        let failed = self.operation.as_ref().is_some_and(|o| !o.succeeded());
        if !self.deployed || failed || self.drifted().next().is_some() {
            Exit::Changes
        } else {
            Exit::Clean
        }
    }

    fn human(&self, _printer: &Printer) -> String {
        if !self.deployed {
            return format!(
                "StackSet {}: not deployed (run `mlinfra apply` or `mlinfra bootstrap --deploy`)\n",
                self.stack_set
            );
        }
        let mut text = format!(
            "StackSet {}: {} of {} instances drifted or unchecked{}\n",
            self.stack_set,
            self.drifted().count(),
            self.instances.len(),
            self.operation
                .as_ref()
                .filter(|o| !o.succeeded())
                .map(|o| format!(" (drift detection {})", o.status))
                .unwrap_or_default()
        );
        for i in &self.instances {
            text.push_str(&format!(
                "  {} {} {}{}\n",
                i.account,
                i.region,
                i.drift.as_deref().unwrap_or("NOT_CHECKED"),
                i.reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ));
        }
        text
    }

    fn json(&self) -> String {
        json_text(&json!({
            "format_version": FORMAT_VERSION,
            "stack_set": self.stack_set,
            "deployed": self.deployed,
            "detection": self.operation.as_ref().map(|o| &o.status),
            "instances": self.instances.iter().map(|i| json!({
                "account": i.account, "region": i.region, "status": i.status,
                "drift": i.drift, "reason": i.reason,
            })).collect::<Vec<_>>(),
        }))
    }
}
