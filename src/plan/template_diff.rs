//! What the deployed and the rendered template say about a change, read
//! locally: which properties changed, whether a changed property is
//! create-only (so the resource is replaced), IAM statements added or
//! removed, and endpoint variants whose instance type changes under
//! autoscaling. CloudFormation's change set stays the authority on *what*
//! changes; this adds the *why* it often leaves out.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::template::catalogue::create_only;
use crate::template::diff::changed_properties;
use crate::template::iam::PolicyDocument;
pub use crate::template::iam::Statement;
use crate::template::intrinsic::Scope;
use crate::template::refs::references;
use crate::template::value::{display, one_or_many};
use crate::template::{Resource, Template, ids};

fn properties(template: &Value, logical_id: &str) -> BTreeMap<String, Value> {
    Template::new(template)
        .resource(logical_id)
        .and_then(|r| r.props().as_object())
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// How the templates alone judge a modification: replaced when a create-only
/// property changed, or when one refers to a resource that is itself replaced
/// (its name or ARN then changes: CloudFormation calls that Conditional).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LocalReplacement {
    True,
    Conditional,
    False,
    Unknown,
}

/// The properties of `logical_id` (in `template`) that refer to any of
/// `targets`, and the targets each refers to.
pub fn referring_properties(
    template: &Value,
    logical_id: &str,
    targets: &BTreeSet<String>,
) -> Vec<(String, Vec<String>)> {
    properties(template, logical_id)
        .into_iter()
        .filter_map(|(name, value)| {
            let hit: Vec<String> = references(&value)
                .into_iter()
                .filter(|r| targets.contains(r))
                .collect();
            (!hit.is_empty()).then_some((name, hit))
        })
        .collect()
}

pub fn local_replacement(
    old: &Value,
    new: &Value,
    logical_id: &str,
    resource_type: &str,
    replaced: &BTreeSet<String>,
) -> (LocalReplacement, Vec<String>) {
    let Some(create_only) = create_only(resource_type) else {
        return (LocalReplacement::Unknown, Vec::new());
    };
    let changed = changed_properties(old, new, logical_id);
    let hits: Vec<String> = changed
        .iter()
        .filter(|p| create_only.contains(&p.as_str()))
        .cloned()
        .collect();
    if !hits.is_empty() {
        return (LocalReplacement::True, hits);
    }
    let after = properties(new, logical_id);
    let via: Vec<String> = create_only
        .iter()
        .filter(|p| {
            after
                .get(**p)
                .is_some_and(|v| references(v).iter().any(|r| replaced.contains(r)))
        })
        .map(|p| p.to_string())
        .collect();
    if via.is_empty() {
        (LocalReplacement::False, Vec::new())
    } else {
        (LocalReplacement::Conditional, via)
    }
}

/// Every statement an IAM resource grants: trust policy, inline policies,
/// managed policy attachments (as statements of their own), each normalised
/// so that one grant written two ways compares equal.
pub fn iam_statements(resource: Option<Resource>) -> Vec<Statement> {
    let Some(resource) = resource else {
        return Vec::new();
    };
    let scope = Scope::default();
    let props = resource.props();
    let mut out = Vec::new();
    let mut read = |document: Option<&Value>, policy: &str| {
        if let Some(document) = document {
            out.extend(
                PolicyDocument::parse(document, policy, &scope)
                    .statements
                    .iter()
                    .map(Statement::normalized),
            );
        }
    };
    read(props.get("AssumeRolePolicyDocument"), "trust policy");
    if let Some(document) = props.get("PolicyDocument") {
        let name = props
            .get("PolicyName")
            .or(props.get("ManagedPolicyName"))
            .map(display)
            .unwrap_or_else(|| "policy".into());
        read(Some(document), &name);
    }
    for policy in one_or_many(props.get("Policies")) {
        let name = policy
            .get("PolicyName")
            .map(display)
            .unwrap_or_else(|| "inline policy".into());
        read(policy.get("PolicyDocument"), &name);
    }
    let mut arns: Vec<Value> = one_or_many(props.get("ManagedPolicyArns"))
        .into_iter()
        .cloned()
        .collect();
    arns.sort_by_key(display);
    out.extend(arns.into_iter().map(Statement::attachment));
    out
}

/// Statements in `new` and not in `old` (granted or widened) and the reverse.
pub fn iam_statement_diff(
    old: &Value,
    new: &Value,
    logical_id: &str,
) -> (Vec<Statement>, Vec<Statement>) {
    let before = iam_statements(Template::new(old).resource(logical_id));
    let after = iam_statements(Template::new(new).resource(logical_id));
    let added = after
        .iter()
        .filter(|s| !before.contains(s))
        .cloned()
        .collect();
    let removed = before
        .iter()
        .filter(|s| !after.contains(s))
        .cloned()
        .collect();
    (added, removed)
}

/// An instance-type change of an endpoint variant that Application Auto
/// Scaling manages in the deployed stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoscaledTypeChange {
    pub endpoint_config: String,
    pub endpoint_name: String,
    pub variant: String,
    pub from: String,
    pub to: String,
}

/// The `ResourceId`s (`endpoint/NAME/variant/VARIANT`) of the scalable
/// targets a template registers.
fn scalable_targets(template: &Value) -> BTreeSet<String> {
    Template::new(template)
        .of_type("AWS::ApplicationAutoScaling::ScalableTarget")
        .filter_map(|r| r.prop("ResourceId")?.as_str().map(str::to_string))
        .collect()
}

/// The fixed endpoint name of the endpoint serving `config_id`, if any.
fn endpoint_serving(template: &Value, config_id: &str) -> Option<String> {
    Template::new(template)
        .of_type("AWS::SageMaker::Endpoint")
        .find(|r| {
            r.prop("EndpointConfigName")
                .is_some_and(|v| references(v).contains(config_id))
        })
        .and_then(|r| r.prop("EndpointName")?.as_str().map(str::to_string))
}

fn variant_types(template: &Value, config_id: &str) -> BTreeMap<String, String> {
    Template::new(template)
        .resource(config_id)
        .map(|r| one_or_many(r.prop("ProductionVariants")))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| {
            Some((
                v.get("VariantName")?.as_str()?.to_string(),
                v.get("InstanceType")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

/// Instance-type changes of variants whose scalable target is registered in
/// the deployed template: CloudFormation's update fails on those unless the
/// target is deregistered first.
pub fn autoscaled_type_changes(
    old: &Value,
    new: &Value,
    config_id: &str,
) -> Vec<AutoscaledTypeChange> {
    let Some(endpoint_name) = endpoint_serving(old, config_id) else {
        return Vec::new();
    };
    let registered = scalable_targets(old);
    let before = variant_types(old, config_id);
    let after = variant_types(new, config_id);
    before
        .iter()
        .filter_map(|(variant, from)| {
            let to = after.get(variant)?;
            let target = ids::variant_resource_id(&endpoint_name, variant);
            (to != from && registered.contains(&target)).then(|| AutoscaledTypeChange {
                endpoint_config: config_id.to_string(),
                endpoint_name: endpoint_name.clone(),
                variant: variant.clone(),
                from: from.clone(),
                to: to.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn serving(instance_type: &str, autoscaled: bool) -> Value {
        let mut resources = json!({
            "Config": {"Type": "AWS::SageMaker::EndpointConfig", "Properties": {
                "ProductionVariants": [{"VariantName": "AllTraffic", "InstanceType": instance_type,
                    "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]}}]}},
            "Endpoint": {"Type": "AWS::SageMaker::Endpoint", "Properties": {
                "EndpointName": "p-e-ep", "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}}},
            "Model": {"Type": "AWS::SageMaker::Model", "Properties": {"PrimaryContainer": {"Image": "i"}}}
        });
        if autoscaled {
            resources["Target"] = json!({"Type": "AWS::ApplicationAutoScaling::ScalableTarget",
                "Properties": {"ResourceId": "endpoint/p-e-ep/variant/AllTraffic"}});
        }
        json!({ "Resources": resources })
    }

    #[test]
    fn a_changed_create_only_property_means_replacement() {
        let old = serving("ml.m5.large", false);
        let new = serving("ml.m5.xlarge", false);
        let (verdict, props) = local_replacement(
            &old,
            &new,
            "Config",
            "AWS::SageMaker::EndpointConfig",
            &BTreeSet::new(),
        );
        assert_eq!(verdict, LocalReplacement::True);
        assert_eq!(props, ["ProductionVariants"]);
    }

    #[test]
    fn a_reference_to_a_replaced_resource_is_conditional() {
        let old = serving("ml.m5.large", false);
        let mut new = old.clone();
        new["Resources"]["Model"]["Properties"]["PrimaryContainer"]["Image"] = json!("j");
        let replaced = BTreeSet::from(["Model".to_string()]);
        let (verdict, props) = local_replacement(
            &old,
            &new,
            "Config",
            "AWS::SageMaker::EndpointConfig",
            &replaced,
        );
        assert_eq!(verdict, LocalReplacement::Conditional);
        assert_eq!(props, ["ProductionVariants"]);
        let (unknown, _) = local_replacement(&old, &new, "Config", "AWS::Made::Up", &replaced);
        assert_eq!(unknown, LocalReplacement::Unknown);
    }

    #[test]
    fn instance_type_change_is_flagged_only_when_autoscaled() {
        let changes = autoscaled_type_changes(
            &serving("ml.m5.large", true),
            &serving("ml.m5.xlarge", true),
            "Config",
        );
        assert_eq!(changes.len(), 1);
        assert_eq!(
            (changes[0].from.as_str(), changes[0].to.as_str()),
            ("ml.m5.large", "ml.m5.xlarge")
        );
        assert_eq!(changes[0].endpoint_name, "p-e-ep");
        assert!(
            autoscaled_type_changes(
                &serving("ml.m5.large", false),
                &serving("ml.m5.xlarge", true),
                "Config"
            )
            .is_empty()
        );
    }

    #[test]
    fn iam_diff_reports_added_and_removed_statements() {
        let role = |actions: Value| {
            json!({"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
                "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [{"Sid": "S", "Effect": "Allow", "Action": actions, "Resource": "arn:aws:s3:::b/*"}]}}]
            }}}})
        };
        let (added, removed) = iam_statement_diff(
            &role(json!(["s3:GetObject"])),
            &role(json!(["s3:GetObject", "s3:PutObject"])),
            "Role",
        );
        assert_eq!(added.len(), 1);
        assert_eq!(added[0].actions, ["s3:GetObject", "s3:PutObject"]);
        assert_eq!(added[0].policy, "p");
        assert_eq!(removed[0].actions, ["s3:GetObject"]);
        let (none_added, _) = iam_statement_diff(
            &role(json!("s3:GetObject")),
            &role(json!(["s3:GetObject"])),
            "Role",
        );
        assert!(
            none_added.is_empty(),
            "a single action and a one-element list are the same grant"
        );
    }
}
