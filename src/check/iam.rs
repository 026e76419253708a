//! Least privilege: identity policies, trust policies, managed policies and
//! resource policies (bucket and key policies).

use serde_json::Value;

use super::StackCheck;
use super::policy::{self, Principal, Statement};
use super::rule::RuleId;
use super::template::{self, Resource, one_or_many};

/// An action without resource-level permissions: `Resource: "*"` is the only
/// possible grant, narrowed by `condition_key` where the action has one.
#[derive(Debug, Clone, Copy)]
pub struct Unscopeable {
    pub action: &'static str,
    pub condition_key: Option<&'static str>,
}

/// The actions that may be granted on `Resource: "*"`.
pub const WITHOUT_RESOURCE_LEVEL: &[Unscopeable] = &[
    Unscopeable {
        action: "ecr:GetAuthorizationToken",
        condition_key: None,
    },
    Unscopeable {
        action: "cloudwatch:PutMetricData",
        condition_key: Some("cloudwatch:namespace"),
    },
];

/// AWS managed policies too broad for any role this tool makes.
const BROAD_MANAGED: &[&str] = &["AdministratorAccess", "PowerUserAccess"];

pub fn check(c: &mut StackCheck) {
    for resource in template::resources(c.template()) {
        match resource.kind {
            "AWS::IAM::Role" => {
                if let Some(trust) = resource.prop("AssumeRolePolicyDocument") {
                    trust_policy(c, &resource, trust);
                }
                inline_policies(c, &resource);
                managed_policies(c, &resource);
            }
            "AWS::IAM::User" | "AWS::IAM::Group" => {
                inline_policies(c, &resource);
                managed_policies(c, &resource);
            }
            "AWS::IAM::Policy"
            | "AWS::IAM::ManagedPolicy"
            | "AWS::IAM::RolePolicy"
            | "AWS::IAM::UserPolicy"
            | "AWS::IAM::GroupPolicy" => {
                if let Some(document) = resource.prop("PolicyDocument") {
                    identity_policy(c, &resource, "policy", document);
                }
            }
            "AWS::S3::BucketPolicy" => {
                if let Some(document) = resource.prop("PolicyDocument") {
                    resource_policy(c, &resource, document, false);
                }
            }
            "AWS::KMS::Key" => {
                if let Some(document) = resource.prop("KeyPolicy") {
                    resource_policy(c, &resource, document, true);
                }
            }
            _ => {}
        }
    }
}

fn inline_policies(c: &mut StackCheck, resource: &Resource) {
    for policy in one_or_many(resource.prop("Policies")) {
        let name = policy
            .get("PolicyName")
            .and_then(Value::as_str)
            .unwrap_or("(unnamed)");
        if let Some(document) = policy.get("PolicyDocument") {
            identity_policy(c, resource, &format!("policy {name:?}"), document);
        }
    }
}

fn managed_policies(c: &mut StackCheck, resource: &Resource) {
    for arn in one_or_many(resource.prop("ManagedPolicyArns"))
        .into_iter()
        .filter_map(template::text)
    {
        // AWS managed policies live under the `aws` account: arn:aws:iam::aws:policy/...
        let Some((_, name)) = arn.split_once(":iam::aws:policy/") else {
            continue;
        };
        let name = name.rsplit('/').next().unwrap_or(name);
        if name.ends_with("FullAccess") || BROAD_MANAGED.contains(&name) {
            c.report(
                RuleId::Iam004,
                Some(resource.logical_id),
                format!("attaches the AWS managed policy {name}, which grants far more than the role uses"),
            );
        }
    }
}

/// Wildcard actions: checked in identity policies and in resource policies alike.
fn wildcard_actions(c: &mut StackCheck, resource: &Resource, place: &str, s: &Statement) {
    if s.not_action {
        c.report(
            RuleId::Iam001,
            Some(resource.logical_id),
            format!(
                "{place}, {}: Allow with NotAction grants every action not listed",
                s.label()
            ),
        );
        return;
    }
    if s.actions.iter().any(|a| policy::is_any_action(a)) {
        c.report(
            RuleId::Iam001,
            Some(resource.logical_id),
            format!("{place}, {}: allows Action \"*\"", s.label()),
        );
    }
    let services: Vec<&str> = s
        .actions
        .iter()
        .filter_map(|a| policy::service_wildcard(a))
        .collect();
    if !services.is_empty() {
        let list: Vec<String> = services.iter().map(|s| format!("{s}:*")).collect();
        c.report(
            RuleId::Iam002,
            Some(resource.logical_id),
            format!(
                "{place}, {}: allows every action of a service ({})",
                s.label(),
                list.join(", ")
            ),
        );
    }
}

fn identity_policy(c: &mut StackCheck, resource: &Resource, place: &str, document: &Value) {
    for s in policy::statements(document).iter().filter(|s| s.allow) {
        wildcard_actions(c, resource, place, s);
        if s.on_every_resource() {
            every_resource(c, resource, place, s);
        }
        if s.covers("iam:PassRole") {
            pass_role(c, resource, place, s);
        }
    }
}

/// `Resource: "*"` is allowed only for actions that cannot be scoped.
fn every_resource(c: &mut StackCheck, resource: &Resource, place: &str, s: &Statement) {
    let scopeable: Vec<&str> = if s.not_action {
        vec!["(every action not listed)"]
    } else {
        s.actions
            .iter()
            .map(String::as_str)
            .filter(|action| {
                !WITHOUT_RESOURCE_LEVEL.iter().any(|u| {
                    action.eq_ignore_ascii_case(u.action)
                        && u.condition_key.is_none_or(|k| s.has_condition_key(k))
                })
            })
            .collect()
    };
    if scopeable.is_empty() {
        return;
    }
    let what = if s.not_resource {
        "NotResource"
    } else {
        "Resource \"*\""
    };
    c.report(
        RuleId::Iam003,
        Some(resource.logical_id),
        format!(
            "{place}, {}: {what} with {} (these support resource-level permissions, or lack their narrowing condition)",
            s.label(),
            scopeable.join(", ")
        ),
    );
}

fn pass_role(c: &mut StackCheck, resource: &Resource, place: &str, s: &Statement) {
    let mut problems = Vec::new();
    let unnamed: Vec<String> = s
        .resources
        .iter()
        .filter_map(|r| template::text(r).map(str::to_string))
        .filter(|arn| arn.contains('*') || arn.contains('?') || !arn.contains(":role/"))
        .collect();
    if s.not_resource || s.resources.is_empty() {
        problems.push("names no role".to_string());
    } else if !unnamed.is_empty() {
        problems.push(format!("covers roles by pattern ({})", unnamed.join(", ")));
    }
    if !s.has_condition_key("iam:PassedToService") {
        problems.push("has no iam:PassedToService condition".to_string());
    }
    if !problems.is_empty() {
        c.report(
            RuleId::Iam005,
            Some(resource.logical_id),
            format!(
                "{place}, {}: iam:PassRole {}",
                s.label(),
                problems.join(" and ")
            ),
        );
    }
}

fn trust_policy(c: &mut StackCheck, resource: &Resource, document: &Value) {
    for s in policy::statements(document).iter().filter(|s| s.allow) {
        let id = Some(resource.logical_id);
        match &s.principal {
            None => c.report(
                RuleId::Iam007,
                id,
                format!("trust {} names no principal", s.label()),
            ),
            Some(Principal::Anyone) => c.report(
                RuleId::Iam006,
                id,
                format!("trust {} lets any principal assume the role", s.label()),
            ),
            Some(Principal::Named(entries)) => {
                let wildcard = entries
                    .iter()
                    .any(|(_, v)| template::text(v).is_some_and(|t| t.contains('*')));
                if wildcard {
                    c.report(
                        RuleId::Iam006,
                        id,
                        format!("trust {} names a principal by wildcard", s.label()),
                    );
                }
                let others: Vec<&str> = entries
                    .iter()
                    .map(|(kind, _)| kind.as_str())
                    .filter(|kind| *kind != "Service")
                    .collect();
                if !others.is_empty() {
                    c.report(
                        RuleId::Iam007,
                        id,
                        format!(
                            "trust {} names {} principals, not a service",
                            s.label(),
                            others.join(", ")
                        ),
                    );
                } else if !s.has_condition_key("aws:SourceAccount")
                    && !s.has_condition_key("aws:SourceArn")
                {
                    c.report(
                        RuleId::Iam009,
                        id,
                        format!(
                            "trust {} lets the service assume the role on behalf of any account",
                            s.label()
                        ),
                    );
                }
            }
        }
    }
}

/// Bucket and key policies. A key policy's grant of `kms:*` to its own
/// account's root is the standard statement that hands control of the key to
/// IAM policies (which are checked above), so it is not a wildcard finding.
fn resource_policy(c: &mut StackCheck, resource: &Resource, document: &Value, key_policy: bool) {
    let place = if key_policy {
        "key policy"
    } else {
        "bucket policy"
    };
    for s in policy::statements(document).iter().filter(|s| s.allow) {
        let delegates_to_account = key_policy && only_own_account_root(s, &c.env.account_id);
        if !delegates_to_account {
            wildcard_actions(c, resource, place, s);
        }
        if s.principal == Some(Principal::Anyone) && s.condition.is_none() {
            c.report(
                RuleId::Iam008,
                Some(resource.logical_id),
                format!(
                    "{place}, {}: allows {} to anyone, with no condition",
                    s.label(),
                    s.actions.join(", ")
                ),
            );
        }
    }
}

/// The statement's principals are all this account's root (`arn:aws:iam::ACCOUNT:root`,
/// the bare account id, or the same written with pseudo parameters).
fn only_own_account_root(s: &Statement, account_id: &str) -> bool {
    let Some(Principal::Named(entries)) = &s.principal else {
        return false;
    };
    let own_root = format!("arn:aws:iam::{account_id}:root");
    let is_own_root = |text: &str| {
        text == own_root
            || text == account_id
            || text == "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
    };
    !entries.is_empty()
        && entries
            .iter()
            .all(|(kind, v)| kind == "AWS" && template::text(v).is_some_and(is_own_root))
}
