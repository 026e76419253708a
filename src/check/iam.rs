//! Least privilege: identity policies, trust policies, managed policies and
//! resource policies (bucket and key policies). Documents are read through the
//! template model, so a grant built with `Fn::Join`, written as an `Fn::Sub`
//! string or chosen by `Fn::If` is judged like a literal one, and a value only
//! known at deploy time is reported rather than passed over.

use serde_json::Value;

use super::StackCheck;
use super::rule::RuleId;
use crate::template::Resource;
use crate::template::iam::{
    self, PRIVILEGE_ESCALATION, PolicyDocument, Principal, Statement, aws_managed_policy_name,
    is_broad_policy_name,
};
use crate::template::intrinsic::Static;
use crate::template::value::display;

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
    // What SageMaker reads of a VPC before it attaches a job or model to it.
    Unscopeable {
        action: "ec2:DescribeDhcpOptions",
        condition_key: None,
    },
    Unscopeable {
        action: "ec2:DescribeNetworkInterfaces",
        condition_key: None,
    },
    Unscopeable {
        action: "ec2:DescribeSecurityGroups",
        condition_key: None,
    },
    Unscopeable {
        action: "ec2:DescribeSubnets",
        condition_key: None,
    },
    Unscopeable {
        action: "ec2:DescribeVpcs",
        condition_key: None,
    },
];

pub fn check(c: &mut StackCheck) {
    for resource in c.template().resources() {
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

/// Reads a document and reports (IAM012) what of it cannot be judged before deployment.
fn read(c: &mut StackCheck, resource: &Resource, place: &str, document: &Value) -> PolicyDocument {
    let parsed = PolicyDocument::parse(document, place, &c.scope());
    let unresolved: Vec<String> = parsed
        .unresolved
        .iter()
        .cloned()
        .chain(parsed.statements.iter().enumerate().flat_map(|(i, s)| {
            s.unresolved
                .iter()
                .map(move |u| format!("{place}, {}: {u}", s.label(i)))
        }))
        .collect();
    for problem in unresolved {
        c.report(RuleId::Iam012, Some(resource.logical_id), problem);
    }
    parsed
}

fn inline_policies(c: &mut StackCheck, resource: &Resource) {
    for policy in c.scope().items(resource.prop("Policies")) {
        let name = policy
            .get("PolicyName")
            .and_then(Value::as_str)
            .unwrap_or("(unnamed)");
        match policy.get("PolicyDocument") {
            Some(document) => identity_policy(c, resource, &format!("policy {name:?}"), document),
            None if !policy.is_object() || policy.get("PolicyName").is_none() => c.report(
                RuleId::Iam012,
                Some(resource.logical_id),
                format!(
                    "inline policy {} cannot be read before deployment",
                    display(&policy)
                ),
            ),
            None => {}
        }
    }
}

fn managed_policies(c: &mut StackCheck, resource: &Resource) {
    let scope = c.scope();
    for arn in scope.items(resource.prop("ManagedPolicyArns")) {
        let text = match scope.text(&arn) {
            Static::Text(text) => text,
            // A policy of this stack: its document is checked where it is declared.
            Static::Named(reference) if reference.logical_id().is_some() => continue,
            other => {
                let why = match other {
                    Static::Unknown(why) => why,
                    _ => "is imported from another stack".to_string(),
                };
                c.report(
                    RuleId::Iam012,
                    Some(resource.logical_id),
                    format!(
                        "managed policy {}: {why}, so which policy is attached cannot be checked",
                        display(&arn)
                    ),
                );
                continue;
            }
        };
        // AWS managed policies live under the `aws` account: arn:aws:iam::aws:policy/...
        if let Some(name) = aws_managed_policy_name(&text)
            && is_broad_policy_name(name)
        {
            c.report(
                RuleId::Iam004,
                Some(resource.logical_id),
                format!("attaches the AWS managed policy {name}, which grants far more than the role uses"),
            );
        }
    }
}

/// Wildcard actions: checked in identity policies and in resource policies alike.
fn wildcard_actions(c: &mut StackCheck, resource: &Resource, place: &str, i: usize, s: &Statement) {
    let label = s.label(i);
    if s.not_action {
        c.report(
            RuleId::Iam001,
            Some(resource.logical_id),
            format!("{place}, {label}: Allow with NotAction grants every action not listed"),
        );
        return;
    }
    if s.actions.iter().any(|a| iam::is_any_action(a)) {
        c.report(
            RuleId::Iam001,
            Some(resource.logical_id),
            format!("{place}, {label}: allows Action \"*\""),
        );
    }
    let services: Vec<String> = s
        .actions
        .iter()
        .filter_map(|a| iam::service_wildcard(a))
        .map(|s| format!("{s}:*"))
        .collect();
    if !services.is_empty() {
        c.report(
            RuleId::Iam002,
            Some(resource.logical_id),
            format!(
                "{place}, {label}: allows every action of a service ({})",
                services.join(", ")
            ),
        );
    }
    let partial: Vec<&str> = s
        .actions
        .iter()
        .map(String::as_str)
        .filter(|a| iam::is_partial_wildcard(a))
        .collect();
    if !partial.is_empty() {
        c.report(
            RuleId::Iam010,
            Some(resource.logical_id),
            format!(
                "{place}, {label}: allows actions by pattern ({}), including any the service adds later",
                partial.join(", ")
            ),
        );
    }
}

fn identity_policy(c: &mut StackCheck, resource: &Resource, place: &str, document: &Value) {
    let document = read(c, resource, place, document);
    for (i, s) in document.statements.iter().enumerate() {
        if !s.allows() {
            continue;
        }
        wildcard_actions(c, resource, place, i, s);
        if s.on_every_resource() {
            every_resource(c, resource, place, i, s);
        }
        if s.covers("iam:PassRole") {
            pass_role(c, resource, place, i, s);
        }
        escalation(c, resource, place, i, s);
    }
}

/// Actions that let the role rewrite its own permissions (IAM011). `Action: "*"`
/// is reported by IAM001 already, which says more.
fn escalation(c: &mut StackCheck, resource: &Resource, place: &str, i: usize, s: &Statement) {
    if s.not_action || s.actions.iter().any(|a| iam::is_any_action(a)) {
        return;
    }
    let covered: Vec<&str> = PRIVILEGE_ESCALATION
        .iter()
        .copied()
        .filter(|action| s.covers(action))
        .collect();
    if !covered.is_empty() {
        c.report(
            RuleId::Iam011,
            Some(resource.logical_id),
            format!(
                "{place}, {}: allows {}, with which the role can raise its own privileges",
                s.label(i),
                covered.join(", ")
            ),
        );
    }
}

/// `Resource: "*"` (or an ARN that means every resource) is allowed only for
/// actions that cannot be scoped.
fn every_resource(c: &mut StackCheck, resource: &Resource, place: &str, i: usize, s: &Statement) {
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
    if scopeable.is_empty() || narrowed_kind_wildcards(s) {
        return;
    }
    let what = if s.not_resource {
        "NotResource".to_string()
    } else {
        let wildcards: Vec<&str> = s
            .resource_texts()
            .filter(|r| iam::is_wildcard_resource(r))
            .collect();
        if wildcards == ["*"] {
            "Resource \"*\"".to_string()
        } else {
            format!(
                "Resource {} (every resource of its kind)",
                wildcards.join(", ")
            )
        }
    };
    c.report(
        RuleId::Iam003,
        Some(resource.logical_id),
        format!(
            "{place}, {}: {what} with {} (these support resource-level permissions, or lack their narrowing condition)",
            s.label(i),
            scopeable.join(", ")
        ),
    );
}

/// Condition keys that pick out resources by a property of their own: with
/// one of them, a wildcard over a resource type (`training-job/*`) is not
/// every resource of that type. Prefixes end in `/`.
const NARROWING_CONDITION_KEYS: &[&str] = &[
    "aws:resourcetag/",
    "aws:requesttag/",
    "ec2:subnet",
    "ec2:vpc",
];

/// A statement whose wildcards each cover one resource type (never `"*"` or
/// `NotResource`) and are narrowed: by a tag or network condition, or, for
/// `ec2:CreateNetworkInterface`, because the interface does not exist yet and
/// the statement names the subnets it may be created in.
fn narrowed_kind_wildcards(s: &Statement) -> bool {
    if s.not_resource || s.not_action {
        return false;
    }
    let wildcards: Vec<&str> = s
        .resource_texts()
        .filter(|r| iam::is_wildcard_resource(r))
        .collect();
    if wildcards.iter().any(|r| !r.starts_with("arn:")) {
        return false;
    }
    let conditioned = s.condition.as_ref().is_some_and(|c| {
        c.keys().any(|key| {
            NARROWING_CONDITION_KEYS.iter().any(|narrowing| {
                if narrowing.ends_with('/') {
                    key.starts_with(narrowing)
                } else {
                    key == *narrowing
                }
            })
        })
    });
    let interface_in_named_subnets = s
        .actions
        .iter()
        .all(|a| a.eq_ignore_ascii_case("ec2:CreateNetworkInterface"))
        && wildcards
            .iter()
            .all(|r| r.ends_with(":network-interface/*"))
        && s.resource_texts().any(|r| r.contains(":subnet/subnet-"));
    conditioned || interface_in_named_subnets
}

fn pass_role(c: &mut StackCheck, resource: &Resource, place: &str, i: usize, s: &Statement) {
    let mut problems = Vec::new();
    let unnamed: Vec<&str> = s
        .resource_texts()
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
                s.label(i),
                problems.join(" and ")
            ),
        );
    }
}

fn trust_policy(c: &mut StackCheck, resource: &Resource, document: &Value) {
    let document = read(c, resource, "trust policy", document);
    for (i, s) in document.statements.iter().enumerate() {
        if !s.allows() {
            continue;
        }
        let id = Some(resource.logical_id);
        let label = s.label(i);
        match &s.principal {
            None => c.report(
                RuleId::Iam007,
                id,
                format!("trust {label} names no principal"),
            ),
            Some(Principal::Anyone) => c.report(
                RuleId::Iam006,
                id,
                format!("trust {label} lets any principal assume the role"),
            ),
            Some(Principal::Named(entries)) => {
                let wildcard = entries
                    .iter()
                    .any(|(_, v)| v.as_str().is_some_and(|t| t.contains('*')));
                if wildcard {
                    c.report(
                        RuleId::Iam006,
                        id,
                        format!("trust {label} names a principal by wildcard"),
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
                            "trust {label} names {} principals, not a service",
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
                            "trust {label} lets the service assume the role on behalf of any account"
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
    let document = read(c, resource, place, document);
    for (i, s) in document.statements.iter().enumerate() {
        if !s.allows() {
            continue;
        }
        let delegates_to_account = key_policy && only_own_account_root(s, &c.env.account_id);
        if !delegates_to_account {
            wildcard_actions(c, resource, place, i, s);
        }
        if s.is_anyone() && s.condition.is_none() {
            c.report(
                RuleId::Iam008,
                Some(resource.logical_id),
                format!(
                    "{place}, {}: allows {} to anyone, with no condition",
                    s.label(i),
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
            .all(|(kind, v)| kind == "AWS" && v.as_str().is_some_and(is_own_root))
}
