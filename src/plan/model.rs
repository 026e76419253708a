//! The plan: what `plan` found and `apply` executes. It is also the content of
//! `plan.json`, so every field is plain data.

use serde::{Deserialize, Serialize};

pub use super::change::*;
pub use crate::apply::protect::Setting;
use crate::exit::Exit;
use crate::stacks::Layer;
pub use crate::template::diff::PropertyChange;

/// Bumped when `plan.json` changes shape; `apply --plan` refuses other versions.
/// 2: the file carries the reviewed settings and templates.
/// 3: the fleet's StackSets are part of the plan, their templates of the file.
pub const FORMAT_VERSION: u32 = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub env: String,
    pub account_id: String,
    pub region: String,
    /// In dependency order.
    pub stacks: Vec<StackPlan>,
    pub iam: Vec<IamChange>,
    pub warnings: Vec<Warning>,
    pub data_loss: Vec<DataLossRisk>,
    pub summary: Summary,
    /// Cost of the deployed templates against the rendered ones.
    #[serde(default)]
    pub cost: Option<crate::cost::CostDelta>,
    /// Training jobs whose code package changes.
    #[serde(default)]
    pub code: Vec<super::code::CodeChange>,
    /// The StackSets of the environment's `[env.targets]`, per target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<crate::fleet::FleetPlan>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StackAction {
    NoChange,
    Create,
    Update,
    /// A first create that rolled back (ROLLBACK_COMPLETE): delete, then create.
    Recreate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackPlan {
    pub stack: String,
    #[serde(deserialize_with = "layer_from_name")]
    pub layer: Layer,
    pub action: StackAction,
    /// The change set to execute. `None` with a create when a dependency does
    /// not exist yet: CloudFormation cannot resolve its imports before then,
    /// so `apply` creates this one after `waits_for` are deployed.
    pub change_set: Option<ChangeSetRef>,
    pub waits_for: Vec<String>,
    /// SHA-256 of the rendered template in canonical form.
    pub template_hash: String,
    /// The stack as found; `None` when it does not exist.
    pub deployed: Option<Deployed>,
    pub changes: Vec<ResourceChange>,
    /// Stack settings `apply` changes besides the template.
    pub settings: Vec<Setting>,
}

fn layer_from_name<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Layer, D::Error> {
    let name = String::deserialize(deserializer)?;
    Layer::ALL
        .into_iter()
        .find(|layer| layer.as_str() == name)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown stack layer `{name}`")))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeSetRef {
    pub id: String,
    pub name: String,
    pub stack_id: String,
    pub create: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployed {
    pub stack_id: String,
    pub status: String,
    /// The stack's last-updated time (its creation time if never updated).
    pub last_updated: Option<String>,
    /// SHA-256 of the deployed template in canonical form, when it is JSON.
    pub template_hash: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub replace: usize,
    pub remove: usize,
    pub unchanged_stacks: usize,
}

impl Summary {
    pub fn of(stacks: &[StackPlan]) -> Self {
        let mut summary = Summary::default();
        for stack in stacks {
            if stack.action == StackAction::NoChange && stack.settings.is_empty() {
                summary.unchanged_stacks += 1;
            }
            for change in &stack.changes {
                match change.action {
                    ChangeAction::Add | ChangeAction::Import => summary.add += 1,
                    ChangeAction::Remove => summary.remove += 1,
                    ChangeAction::Modify | ChangeAction::Dynamic | ChangeAction::Other => {
                        summary.change += 1;
                        if change.replaces() {
                            summary.replace += 1;
                        }
                    }
                }
            }
        }
        summary
    }

    /// `Plan: 3 to add, 1 to change (1 replacement), 0 to remove.`
    pub fn line(&self) -> String {
        let replacements = match self.replace {
            0 => String::new(),
            1 => " (1 replacement)".to_string(),
            n => format!(" ({n} replacements)"),
        };
        format!(
            "Plan: {} to add, {} to change{replacements}, {} to remove.",
            self.add, self.change, self.remove
        )
    }
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        self.stacks
            .iter()
            .any(|s| s.action != StackAction::NoChange || !s.settings.is_empty())
    }

    /// Whether the fleet's StackSets change.
    pub fn fleet_changes(&self) -> bool {
        self.fleet.as_ref().is_some_and(|f| f.has_changes())
    }

    /// Every data-loss risk: the stacks' and the fleet's StackSets'.
    pub fn all_data_loss(&self) -> impl Iterator<Item = &DataLossRisk> {
        self.data_loss
            .iter()
            .chain(self.fleet.iter().flat_map(|f| f.data_loss()))
    }

    /// Every IAM change: the stacks' and the fleet's StackSets'.
    pub fn all_iam(&self) -> impl Iterator<Item = &IamChange> {
        self.iam
            .iter()
            .chain(self.fleet.iter().flat_map(|f| f.iam()))
    }

    /// Marks the risks `allowed` accepts (this run's `--allow-data-loss`).
    pub fn allow(&mut self, allowed: &[String]) {
        let fleet = self.fleet.iter_mut().flat_map(|f| f.data_loss_mut());
        for risk in self.data_loss.iter_mut().chain(fleet) {
            risk.allowed |= allowed.contains(&risk.logical_id);
        }
    }

    pub fn is_blocked(&self) -> bool {
        self.all_data_loss().any(|r| !r.allowed)
    }

    /// The `--allow-data-loss` ids that match no data-loss risk of this plan.
    pub fn unused_allowances(&self, allowed: &[String]) -> Vec<String> {
        allowed
            .iter()
            .filter(|id| !self.all_data_loss().any(|risk| &risk.logical_id == *id))
            .cloned()
            .collect()
    }

    /// 0 nothing to change, 2 changes (of a stack or of the fleet), 3
    /// blocked by the data-loss guard.
    pub fn exit(&self) -> Exit {
        if self.is_blocked() {
            Exit::Blocked
        } else if self.has_changes() || self.fleet_changes() {
            Exit::Changes
        } else {
            Exit::Clean
        }
    }

    pub fn change_sets(&self) -> impl Iterator<Item = &ChangeSetRef> {
        self.stacks.iter().filter_map(|s| s.change_set.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_reads_like_terraform() {
        let summary = Summary {
            add: 3,
            change: 1,
            replace: 1,
            remove: 0,
            unchanged_stacks: 0,
        };
        assert_eq!(
            summary.line(),
            "Plan: 3 to add, 1 to change (1 replacement), 0 to remove."
        );
        let plain = Summary {
            add: 0,
            change: 2,
            replace: 0,
            remove: 1,
            unchanged_stacks: 2,
        };
        assert_eq!(plain.line(), "Plan: 0 to add, 2 to change, 1 to remove.");
    }
}
