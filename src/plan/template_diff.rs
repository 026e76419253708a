//! What the deployed and the rendered template say about a change, read
//! locally: which properties changed, whether a changed property is
//! create-only (so the resource is replaced), IAM statements added or
//! removed, and endpoint variants whose instance type changes under
//! autoscaling. CloudFormation's change set stays the authority on *what*
//! changes; this adds the *why* it often leaves out.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Create-only properties of the resource types the templates use, from the
/// CloudFormation resource provider schemas (`createOnlyProperties`, as
/// shipped with cfn-lint 1.58). Changing one replaces the resource.
const CREATE_ONLY: &[(&str, &[&str])] = &[
    (
        "AWS::S3::Bucket",
        &["BucketName", "BucketNamePrefix", "BucketNamespace"],
    ),
    ("AWS::S3::BucketPolicy", &["Bucket"]),
    ("AWS::KMS::Key", &[]),
    ("AWS::KMS::Alias", &["AliasName"]),
    ("AWS::IAM::Role", &["Path", "RoleName"]),
    ("AWS::IAM::Policy", &[]),
    (
        "AWS::IAM::ManagedPolicy",
        &["ManagedPolicyName", "Description", "Path"],
    ),
    (
        "AWS::SageMaker::Model",
        &[
            "ExecutionRoleArn",
            "EnableNetworkIsolation",
            "InferenceExecutionConfig",
            "PrimaryContainer",
            "ModelName",
            "VpcConfig",
            "Containers",
        ],
    ),
    (
        "AWS::SageMaker::EndpointConfig",
        &[
            "KmsKeyId",
            "AsyncInferenceConfig",
            "ExecutionRoleArn",
            "ShadowProductionVariants",
            "EnableNetworkIsolation",
            "ProductionVariants",
            "DataCaptureConfig",
            "ExplainerConfig",
            "MetricsConfig",
            "EndpointConfigName",
            "VpcConfig",
        ],
    ),
    ("AWS::SageMaker::Endpoint", &["EndpointName"]),
    ("AWS::SageMaker::Pipeline", &["PipelineName"]),
    (
        "AWS::ApplicationAutoScaling::ScalableTarget",
        &["ResourceId", "ScalableDimension", "ServiceNamespace"],
    ),
    (
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        &[
            "PolicyName",
            "ServiceNamespace",
            "ResourceId",
            "ScalableDimension",
            "ScalingTargetId",
        ],
    ),
];

/// Create-only properties of a type; `None` for a type this table does not know.
pub fn create_only(resource_type: &str) -> Option<&'static [&'static str]> {
    CREATE_ONLY
        .iter()
        .find(|(t, _)| *t == resource_type)
        .map(|(_, props)| *props)
}

/// Resources whose replacement or removal loses data (or the key to it).
pub fn is_stateful(resource_type: &str) -> bool {
    matches!(resource_type, "AWS::S3::Bucket" | "AWS::KMS::Key")
}

fn resource<'a>(template: &'a Value, logical_id: &str) -> Option<&'a Value> {
    template.get("Resources")?.get(logical_id)
}

fn properties(resource: Option<&Value>) -> BTreeMap<String, Value> {
    resource
        .and_then(|r| r.get("Properties"))
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// Top-level properties whose value differs between the two templates.
pub fn changed_properties(old: &Value, new: &Value, logical_id: &str) -> Vec<String> {
    let before = properties(resource(old, logical_id));
    let after = properties(resource(new, logical_id));
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    names
        .into_iter()
        .filter(|name| before.get(*name) != after.get(*name))
        .cloned()
        .collect()
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
    let after = properties(resource(new, logical_id));
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

/// Logical ids a value refers to through `Ref` or `Fn::GetAtt`.
pub fn references(value: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    collect_references(value, &mut found);
    found
}

fn collect_references(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("Ref") {
                found.insert(target.clone());
            }
            match map.get("Fn::GetAtt") {
                Some(Value::Array(parts)) => {
                    if let Some(Value::String(target)) = parts.first() {
                        found.insert(target.clone());
                    }
                }
                Some(Value::String(dotted)) => {
                    found.insert(dotted.split('.').next().unwrap_or_default().to_string());
                }
                _ => {}
            }
            map.values().for_each(|v| collect_references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, found)),
        _ => {}
    }
}

/// One IAM policy statement, flattened for reading.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Statement {
    /// Where it sits: `trust policy`, an inline policy's name, or `managed policies`.
    pub policy: String,
    pub sid: Option<String>,
    pub effect: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub principals: Vec<String>,
    pub conditions: Vec<String>,
}

fn strings(value: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = match value {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(text).collect(),
        Some(other) => vec![text(other)],
    };
    out.sort();
    out
}

/// A string as itself; an intrinsic function as compact JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn statements_of(policy: &str, document: Option<&Value>) -> Vec<Statement> {
    let list = match document.and_then(|d| d.get("Statement")) {
        Some(Value::Array(items)) => items.clone(),
        Some(single) => vec![single.clone()],
        None => Vec::new(),
    };
    list.iter()
        .map(|s| Statement {
            policy: policy.to_string(),
            sid: s.get("Sid").and_then(Value::as_str).map(str::to_string),
            effect: s.get("Effect").map(text).unwrap_or_default(),
            actions: strings(s.get("Action").or(s.get("NotAction"))),
            resources: strings(s.get("Resource").or(s.get("NotResource"))),
            principals: match s.get("Principal") {
                Some(Value::Object(map)) => map
                    .iter()
                    .flat_map(|(k, v)| {
                        strings(Some(v))
                            .into_iter()
                            .map(move |p| format!("{k}:{p}"))
                    })
                    .collect(),
                Some(other) => vec![text(other)],
                None => Vec::new(),
            },
            conditions: match s.get("Condition") {
                Some(Value::Object(map)) => map
                    .iter()
                    .map(|(op, body)| format!("{op} {body}"))
                    .collect(),
                _ => Vec::new(),
            },
        })
        .collect()
}

/// Every statement an IAM resource grants: trust policy, inline policies,
/// managed policy attachments (as statements of their own).
pub fn iam_statements(resource: Option<&Value>) -> Vec<Statement> {
    let Some(resource) = resource else {
        return Vec::new();
    };
    let props = properties(Some(resource));
    let mut out = statements_of("trust policy", props.get("AssumeRolePolicyDocument"));
    if let Some(document) = props.get("PolicyDocument") {
        let name = props
            .get("PolicyName")
            .or(props.get("ManagedPolicyName"))
            .map(text)
            .unwrap_or_else(|| "policy".into());
        out.extend(statements_of(&name, Some(document)));
    }
    if let Some(Value::Array(policies)) = props.get("Policies") {
        for policy in policies {
            let name = policy
                .get("PolicyName")
                .map(text)
                .unwrap_or_else(|| "inline policy".into());
            out.extend(statements_of(&name, policy.get("PolicyDocument")));
        }
    }
    for arn in strings(props.get("ManagedPolicyArns")) {
        out.push(Statement {
            policy: "managed policies".into(),
            sid: None,
            effect: "Attach".into(),
            actions: Vec::new(),
            resources: vec![arn],
            principals: Vec::new(),
            conditions: Vec::new(),
        });
    }
    out
}

/// Statements in `new` and not in `old` (granted or widened) and the reverse.
pub fn iam_statement_diff(
    old: &Value,
    new: &Value,
    logical_id: &str,
) -> (Vec<Statement>, Vec<Statement>) {
    let before = iam_statements(resource(old, logical_id));
    let after = iam_statements(resource(new, logical_id));
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
    let Some(Value::Object(resources)) = template.get("Resources") else {
        return BTreeSet::new();
    };
    resources
        .values()
        .filter(|r| {
            r.get("Type").and_then(Value::as_str)
                == Some("AWS::ApplicationAutoScaling::ScalableTarget")
        })
        .filter_map(|r| {
            r.get("Properties")?
                .get("ResourceId")?
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

/// The fixed endpoint name of the endpoint serving `config_id`, if any.
fn endpoint_serving(template: &Value, config_id: &str) -> Option<String> {
    let Value::Object(resources) = template.get("Resources")? else {
        return None;
    };
    resources
        .values()
        .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::SageMaker::Endpoint"))
        .find(|r| {
            r.get("Properties")
                .and_then(|p| p.get("EndpointConfigName"))
                .is_some_and(|v| references(v).contains(config_id))
        })
        .and_then(|r| {
            r.get("Properties")?
                .get("EndpointName")?
                .as_str()
                .map(str::to_string)
        })
}

fn variant_types(template: &Value, config_id: &str) -> BTreeMap<String, String> {
    let variants = resource(template, config_id)
        .and_then(|r| r.get("Properties"))
        .and_then(|p| p.get("ProductionVariants"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    variants
        .iter()
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
            let target = format!("endpoint/{endpoint_name}/variant/{variant}");
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
