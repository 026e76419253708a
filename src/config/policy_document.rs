//! The typed policy documents mlinfra generates (`policies` builds them from
//! an environment): what an environment holds once they are built, and what
//! the IAM template inserts.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

/// IAM's limit on the aggregate size of a role's inline policies, in
/// characters not counting whitespace.
pub const ROLE_INLINE_POLICY_LIMIT: usize = 10_240;

/// One inline policy of a role.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    pub policy_name: String,
    pub policy_document: Document,
}

/// A policy document as mlinfra writes one: typed, so that building and
/// sizing the documents of every environment costs no map of strings.
/// Serialised, it is IAM's JSON.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Document {
    pub version: &'static str,
    pub statement: Vec<Grant>,
}

/// One `Allow` statement of a generated document.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Grant {
    pub sid: Cow<'static, str>,
    pub effect: &'static str,
    pub action: Vec<&'static str>,
    pub resource: Resource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<Value>,
}

/// What a grant applies to.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Resource {
    One(String),
    Many(Vec<String>),
    /// An ARN exported by another stack: the data key's.
    Imported(Import),
}

/// `{"Fn::ImportValue": export}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Import {
    #[serde(rename = "Fn::ImportValue")]
    pub export: String,
}

impl Grant {
    pub(super) fn allow(
        sid: impl Into<Cow<'static, str>>,
        action: &[&'static str],
        resource: Resource,
    ) -> Self {
        Self {
            sid: sid.into(),
            effect: "Allow",
            action: action.to_vec(),
            resource,
            condition: None,
        }
    }

    /// Narrowed by `condition` (operator → key → values).
    pub(super) fn when(mut self, condition: Value) -> Self {
        self.condition = Some(condition);
        self
    }
}
