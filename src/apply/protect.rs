//! The data stack's protection: a stack policy that denies replacing or
//! deleting buckets and keys, and termination protection. What a stack
//! carries is compared with what its environment requires, in both
//! directions, so a policy left loosened by an interrupted apply, or
//! protection the configuration turned off, shows up in plan and drift.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cloud::cfn::StackInfo;
use crate::config::Env;
use crate::stacks::Layer;
use crate::template::catalogue::STATEFUL_TYPES;

/// A protection setting a plan changes, as `apply` makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    /// Termination protection on, after the stack policy protecting buckets and keys.
    Protection,
    /// The stack policy put back as the environment requires it (one left
    /// loosened by an apply that did not finish, or changed by hand).
    RestorePolicy,
    /// Protection off, as the configuration now says: the deny policy
    /// replaced by one allowing every update, termination protection off.
    /// Needs `--remove-protection`.
    RemoveProtection,
}

/// Whether a stack of this layer must carry the policy and termination protection.
pub fn required(env: &Env, layer: Layer) -> bool {
    layer.is_stateful() && env.termination_protection
}

/// What a stack carries now, as far as protection goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployed {
    pub termination_protection: bool,
    /// The stack policy, parsed; `Value::Null` when it is not JSON.
    pub policy: Option<Value>,
}

impl Deployed {
    /// From `DescribeStacks` and `GetStackPolicy`.
    pub fn of(info: &StackInfo, policy: Option<&str>) -> Self {
        Self {
            termination_protection: info.termination_protection,
            policy: policy.map(|p| serde_json::from_str(p).unwrap_or(Value::Null)),
        }
    }

    /// Whether the policy is mlinfra's deny of replacing or deleting
    /// buckets and keys, whole or with exemptions.
    fn policy_is_ours(&self) -> bool {
        self.policy.as_ref().is_some_and(|policy| {
            policy["Statement"].as_array().is_some_and(|statements| {
                statements.iter().any(|s| {
                    s["Effect"] == "Deny"
                        && s["Condition"]["StringEquals"]["ResourceType"] == json!(STATEFUL_TYPES)
                })
            })
        })
    }
}

/// The protection settings `apply` must change on an existing stack
/// (`deployed`), or on a new one (`None`).
pub fn settings(required: bool, deployed: Option<&Deployed>) -> Vec<Setting> {
    match (required, deployed) {
        (true, None) => vec![Setting::Protection],
        (true, Some(now)) if !now.termination_protection => vec![Setting::Protection],
        (true, Some(now)) if now.policy.as_ref() != Some(&policy_value(&[])) => {
            vec![Setting::RestorePolicy]
        }
        (false, Some(now)) if now.termination_protection || now.policy_is_ours() => {
            vec![Setting::RemoveProtection]
        }
        _ => vec![],
    }
}

/// Whether the stack's policy must be read to know its settings: only where
/// protection is required or present (a stack never protected has none of
/// mlinfra's, and a plan of it stays at two calls).
pub fn needs_policy(required: bool, info: &StackInfo) -> bool {
    required || info.termination_protection
}

/// What a setting's difference looks like, for plan notes and drift.
pub fn describe(setting: Setting, deployed: Option<&Deployed>) -> String {
    match setting {
        Setting::Protection => "the stack is not protected".to_string(),
        Setting::RestorePolicy => match deployed.and_then(|d| d.policy.as_ref()) {
            None => "the stack has no stack policy".to_string(),
            Some(policy) => match exemptions(policy) {
                Some(ids) if !ids.is_empty() => format!(
                    "the stack policy still exempts {} from the denial (left by an apply that did not finish)",
                    ids.join(", ")
                ),
                _ => "the stack policy is not the one the environment requires".to_string(),
            },
        },
        Setting::RemoveProtection => {
            "termination protection or the deny policy is on though the configuration turns protection off"
                .to_string()
        }
    }
}

/// The logical ids a loosened policy exempts, when it is mlinfra's shape.
fn exemptions(policy: &Value) -> Option<Vec<String>> {
    let deny = policy["Statement"]
        .as_array()?
        .iter()
        .find(|s| s["Effect"] == "Deny")?;
    Some(
        deny["NotResource"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(|id| id.trim_start_matches("LogicalResourceId/").to_string())
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// Every update allowed: what replaces mlinfra's policy when protection is
/// turned off (CloudFormation cannot remove a stack policy, only replace it).
pub fn policy_allowing_all() -> String {
    json!({
        "Statement": [
            { "Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*" }
        ]
    })
    .to_string()
}

/// Every update allowed, except replacing or deleting a bucket or key.
pub fn policy() -> String {
    policy_value(&[]).to_string()
}

/// The same policy with the denial lifted for `allowed` logical ids, for the
/// duration of an update the user explicitly allowed (`--allow-data-loss`).
/// Stack policies cannot be overridden by `ExecuteChangeSet`, so the policy
/// itself is swapped and restored afterwards.
pub fn policy_allowing(allowed: &[String]) -> String {
    policy_value(allowed).to_string()
}

fn policy_value(allowed: &[String]) -> serde_json::Value {
    let mut deny = json!({
        "Effect": "Deny",
        "Action": ["Update:Replace", "Update:Delete"],
        "Principal": "*",
        "Condition": { "StringEquals": { "ResourceType": STATEFUL_TYPES } }
    });
    if allowed.is_empty() {
        deny["Resource"] = json!("*");
    } else {
        let exempt: Vec<String> = allowed
            .iter()
            .map(|id| format!("LogicalResourceId/{id}"))
            .collect();
        deny["NotResource"] = json!(exempt);
    }
    json!({
        "Statement": [
            { "Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*" },
            deny
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_denies_replace_and_delete_of_stateful_types_only() {
        let policy: serde_json::Value = serde_json::from_str(&policy()).unwrap();
        let deny = &policy["Statement"][1];
        assert_eq!(deny["Effect"], "Deny");
        assert_eq!(deny["Action"], json!(["Update:Replace", "Update:Delete"]));
        assert_eq!(
            deny["Condition"]["StringEquals"]["ResourceType"],
            json!(["AWS::S3::Bucket", "AWS::KMS::Key"])
        );
        assert_eq!(deny["Resource"], "*");
        let lifted: serde_json::Value =
            serde_json::from_str(&policy_allowing(&["RawBucket".into()])).unwrap();
        assert_eq!(
            lifted["Statement"][1]["NotResource"],
            json!(["LogicalResourceId/RawBucket"])
        );
        assert!(lifted["Statement"][1].get("Resource").is_none());
    }
}
