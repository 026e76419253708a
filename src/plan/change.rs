//! What a plan says of one resource: its change, the IAM grants it adds or
//! revokes, the data it could lose, the warnings about it. Shared by the
//! environment's plan and a fleet's StackSet plan, so it depends on neither.

use serde::{Deserialize, Serialize};

use super::template_diff::Statement;
use crate::template::diff::PropertyChange;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    Add,
    Modify,
    Remove,
    Import,
    Dynamic,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Replacement {
    True,
    Conditional,
    False,
}

/// Who said the resource is (or is not) replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    CloudFormation,
    /// The templates: a create-only property changed (or refers to a replaced resource).
    TemplateDiff,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceChange {
    pub logical_id: String,
    pub resource_type: String,
    pub action: ChangeAction,
    pub replacement: Option<Replacement>,
    pub replacement_basis: Option<Basis>,
    /// Properties that change (from CloudFormation's details, else the templates).
    pub properties: Vec<String>,
    /// The create-only properties behind a replacement.
    pub replaced_by: Vec<String>,
    pub physical_id: Option<String>,
    /// Replaced resources this one changes with, though its own template
    /// text does not change: its properties refer to them (a cascade).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follows: Vec<String>,
    /// Each changed value of a modified resource, before → after, read from the two templates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<PropertyChange>,
}

impl ResourceChange {
    pub fn replaces(&self) -> bool {
        matches!(
            self.replacement,
            Some(Replacement::True | Replacement::Conditional)
        )
    }

    /// The mark a report puts before the resource: `+`, `-`, `-/+` (replaced) or `~`.
    pub fn symbol(&self) -> &'static str {
        match self.action {
            ChangeAction::Add | ChangeAction::Import => "+",
            ChangeAction::Remove => "-",
            _ if self.replaces() => "-/+",
            _ => "~",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamChange {
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    pub action: ChangeAction,
    /// Statements granted or widened.
    pub added: Vec<Statement>,
    /// Statements revoked or narrowed.
    pub removed: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    pub stack: String,
    pub logical_id: String,
    pub message: String,
    pub advice: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Replace,
    ConditionalReplace,
    Remove,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataLossRisk {
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    pub risk: Risk,
    /// Explicitly allowed with `--allow-data-loss LOGICAL_ID`.
    pub allowed: bool,
}
