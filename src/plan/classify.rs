//! Turns a change set's raw changes into classified ones and finds what they
//! mean: data-loss risks, IAM grants, changes CloudFormation will refuse.
//! Pure functions over the change set and the two templates.

use std::collections::BTreeSet;

use serde_json::Value;

use super::change::{
    Basis, ChangeAction, DataLossRisk, IamChange, Replacement, ResourceChange, Risk, Warning,
};
use super::template_diff::{self, LocalReplacement};
use crate::cloud::cfn::RawChange;
use crate::config::Env;
use crate::template::catalogue::is_stateful;
use crate::template::diff::{changed_properties, property_changes};
use crate::template::ids::variant_resource_id;
use crate::template::value::one_or_many;
use crate::template::{Resource, Template};

fn action(raw: &str) -> ChangeAction {
    match raw {
        "Add" => ChangeAction::Add,
        "Modify" => ChangeAction::Modify,
        "Remove" => ChangeAction::Remove,
        "Import" => ChangeAction::Import,
        "Dynamic" => ChangeAction::Dynamic,
        _ => ChangeAction::Other,
    }
}

fn replacement(raw: Option<&str>) -> Option<Replacement> {
    match raw? {
        "True" => Some(Replacement::True),
        "Conditional" => Some(Replacement::Conditional),
        "False" => Some(Replacement::False),
        _ => None,
    }
}

/// Classifies a change set's changes. `old` is the deployed template
/// (`Value::Null` for a new stack), `new` the rendered one. Where
/// CloudFormation does not say whether a modification replaces the resource,
/// the templates decide (create-only properties, references to replaced resources).
pub fn classify(raw: &[RawChange], old: &Value, new: &Value) -> Vec<ResourceChange> {
    let mut changes: Vec<ResourceChange> = raw
        .iter()
        .map(|r| {
            let mut properties: Vec<String> = r
                .details
                .iter()
                .filter(|d| d.attribute.as_deref() == Some("Properties"))
                .filter_map(|d| d.name.clone())
                .collect();
            properties.sort();
            properties.dedup();
            let action = action(&r.action);
            if properties.is_empty() && action == ChangeAction::Modify {
                properties = changed_properties(old, new, &r.logical_id);
            }
            let replacement = replacement(r.replacement.as_deref());
            ResourceChange {
                logical_id: r.logical_id.clone(),
                resource_type: r.resource_type.clone(),
                action,
                replacement,
                replacement_basis: replacement.map(|_| Basis::CloudFormation),
                properties,
                replaced_by: Vec::new(),
                physical_id: r.physical_id.clone(),
                follows: Vec::new(),
                values: if action == ChangeAction::Modify {
                    property_changes(old, new, &r.logical_id)
                } else {
                    Vec::new()
                },
            }
        })
        .collect();

    // Replacements propagate through references, so iterate to a fixed point.
    loop {
        let replaced: BTreeSet<String> = changes
            .iter()
            .filter(|c| c.replaces())
            .map(|c| c.logical_id.clone())
            .collect();
        let mut progressed = cascade(&mut changes, old, new, &replaced);
        for change in changes
            .iter_mut()
            .filter(|c| c.action == ChangeAction::Modify)
        {
            let (verdict, because) = template_diff::local_replacement(
                old,
                new,
                &change.logical_id,
                &change.resource_type,
                &replaced,
            );
            if change.replaced_by.is_empty()
                && !because.is_empty()
                && verdict == LocalReplacement::True
            {
                change.replaced_by = because.clone();
            }
            if change.replacement_basis == Some(Basis::CloudFormation) {
                continue;
            }
            let local = match verdict {
                LocalReplacement::True => Some(Replacement::True),
                LocalReplacement::Conditional => Some(Replacement::Conditional),
                LocalReplacement::False => Some(Replacement::False),
                LocalReplacement::Unknown => None,
            };
            if local != change.replacement {
                change.replacement = local;
                change.replacement_basis = local.map(|_| Basis::TemplateDiff);
                change.replaced_by = because;
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    changes.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    changes
}

/// Resources a change set may not list (an emulator lists none; CloudFormation
/// itself lists some only as "may replace") whose template text is unchanged
/// but whose properties refer to a replaced resource: they change with it.
/// A create-only property that refers to it replaces them too (an image
/// change replaces the Model, so the EndpointConfig naming it, and updates
/// the Endpoint). Returns whether any was added.
fn cascade(
    changes: &mut Vec<ResourceChange>,
    old: &Value,
    new: &Value,
    replaced: &BTreeSet<String>,
) -> bool {
    if replaced.is_empty() {
        return false;
    }
    let before = Template::new(old);
    let listed: BTreeSet<String> = changes.iter().map(|c| c.logical_id.clone()).collect();
    let mut added = false;
    for resource in Template::new(new).resources() {
        let id = resource.logical_id;
        if listed.contains(id) || before.resource(id).is_none() {
            continue;
        }
        let referring = template_diff::referring_properties(new, id, replaced);
        if referring.is_empty() {
            continue;
        }
        let mut follows: Vec<String> = referring.iter().flat_map(|(_, ids)| ids.clone()).collect();
        follows.sort();
        follows.dedup();
        let (verdict, because) =
            template_diff::local_replacement(old, new, id, resource.kind, replaced);
        let replacement = match verdict {
            LocalReplacement::True => Some(Replacement::True),
            LocalReplacement::Conditional => Some(Replacement::Conditional),
            LocalReplacement::False => Some(Replacement::False),
            LocalReplacement::Unknown => None,
        };
        changes.push(ResourceChange {
            logical_id: id.to_string(),
            resource_type: resource.kind.to_string(),
            action: ChangeAction::Modify,
            replacement,
            replacement_basis: replacement.map(|_| Basis::TemplateDiff),
            properties: referring.into_iter().map(|(name, _)| name).collect(),
            replaced_by: because,
            physical_id: None,
            follows,
            // Its own text does not change: nothing to show before → after.
            values: Vec::new(),
        });
        added = true;
    }
    added
}

/// The changes between two templates judged from the templates alone, as
/// `plan` judges a change set that says nothing of replacement: `diff` shows
/// what is replaced, and what changes with it, this way.
pub fn from_templates(old: &Value, new: &Value) -> Vec<ResourceChange> {
    let (before, after) = (Template::new(old), Template::new(new));
    let mut raw: Vec<RawChange> = after
        .resources()
        .filter_map(|r| {
            let action = match before.resource(r.logical_id) {
                None => "Add",
                Some(_) if !changed_properties(old, new, r.logical_id).is_empty() => "Modify",
                Some(_) => return None,
            };
            Some(RawChange {
                action: action.to_string(),
                logical_id: r.logical_id.to_string(),
                resource_type: r.kind.to_string(),
                ..Default::default()
            })
        })
        .collect();
    raw.extend(
        before
            .resources()
            .filter(|r| after.resource(r.logical_id).is_none())
            .map(|r| RawChange {
                action: "Remove".to_string(),
                logical_id: r.logical_id.to_string(),
                resource_type: r.kind.to_string(),
                ..Default::default()
            }),
    );
    classify(&raw, old, new)
}

/// The changes of a stack created from scratch: every resource is added.
pub fn creation(template: &Value) -> Vec<ResourceChange> {
    Template::new(template)
        .resources()
        .map(|r: Resource| ResourceChange {
            logical_id: r.logical_id.to_string(),
            resource_type: r.kind.to_string(),
            action: ChangeAction::Add,
            replacement: None,
            replacement_basis: None,
            properties: Vec::new(),
            replaced_by: Vec::new(),
            physical_id: None,
            follows: Vec::new(),
            values: Vec::new(),
        })
        .collect()
}

/// A replaced or removed bucket or key: the data (or the key to it) leaves the
/// stack. `allowed` lists the logical ids the user accepted this for.
pub fn data_loss(stack: &str, changes: &[ResourceChange], allowed: &[String]) -> Vec<DataLossRisk> {
    changes
        .iter()
        .filter(|c| is_stateful(&c.resource_type))
        .filter_map(|c| {
            let risk = match (c.action, c.replacement) {
                (ChangeAction::Remove, _) => Risk::Remove,
                (_, Some(Replacement::True)) => Risk::Replace,
                (_, Some(Replacement::Conditional)) => Risk::ConditionalReplace,
                _ => return None,
            };
            Some(DataLossRisk {
                stack: stack.to_string(),
                logical_id: c.logical_id.clone(),
                resource_type: c.resource_type.clone(),
                risk,
                allowed: allowed.iter().any(|a| a == &c.logical_id),
            })
        })
        .collect()
}

/// IAM resources that change, with the statements they grant or revoke.
pub fn iam(stack: &str, changes: &[ResourceChange], old: &Value, new: &Value) -> Vec<IamChange> {
    changes
        .iter()
        .filter(|c| c.resource_type.starts_with("AWS::IAM::"))
        .filter_map(|c| {
            let (added, removed) = template_diff::iam_statement_diff(old, new, &c.logical_id);
            let shown = !added.is_empty()
                || !removed.is_empty()
                || matches!(c.action, ChangeAction::Add | ChangeAction::Remove);
            shown.then(|| IamChange {
                stack: stack.to_string(),
                logical_id: c.logical_id.clone(),
                resource_type: c.resource_type.clone(),
                action: c.action,
                added,
                removed,
            })
        })
        .collect()
}

/// Changes CloudFormation is known to refuse, with what to do instead.
pub fn warnings(stack: &str, changes: &[ResourceChange], old: &Value, new: &Value) -> Vec<Warning> {
    changes
        .iter()
        .filter(|c| c.resource_type == "AWS::SageMaker::EndpointConfig" && c.action == ChangeAction::Modify)
        .flat_map(|c| template_diff::autoscaled_type_changes(old, new, &c.logical_id))
        .map(|t| Warning {
            stack: stack.to_string(),
            logical_id: t.endpoint_config.clone(),
            message: format!(
                "instance type of variant {} of endpoint {} changes from {} to {} while Application Auto Scaling \
                 manages the variant: CloudFormation's endpoint update fails and rolls back unless the scalable \
                 target is deregistered first",
                t.variant, t.endpoint_name, t.from, t.to
            ),
            advice: format!(
                "deploy in two steps: remove `autoscaling` from this endpoint and apply (this deregisters the \
                 target), then change the instance type, restore `autoscaling` and apply again; or deregister by \
                 hand first: aws application-autoscaling deregister-scalable-target --service-namespace sagemaker \
                 --scalable-dimension sagemaker:variant:DesiredInstanceCount --resource-id {}",
                variant_resource_id(&t.endpoint_name, &t.variant)
            ),
        })
        .collect()
}

/// A CPU autoscaling target is rendered per vCPU (SageMaker sums
/// `CPUUtilization` over vCPUs): an instance type with another vCPU count
/// changes the rendered `TargetValue` though the configured percent stays.
pub fn cpu_target_notes(env: &Env, stack: &str, old: &Value) -> Vec<Warning> {
    env.endpoints
        .iter()
        .flat_map(|endpoint| {
            let deployed = Template::new(old)
                .resource(&endpoint.ids.config)
                .map(|r| {
                    let mut all = one_or_many(r.prop("ProductionVariants"));
                    all.extend(one_or_many(r.prop("ShadowProductionVariants")));
                    all.into_iter().cloned().collect::<Vec<Value>>()
                })
                .unwrap_or_default();
            endpoint
                .all_variants()
                .filter_map(|variant| {
                    let was = deployed
                        .iter()
                        .find(|v| v.get("VariantName").and_then(Value::as_str) == Some(&variant.name))?
                        .get("InstanceType")?
                        .as_str()?;
                    let change = variant.cpu_target_change(was)?;
                    Some(Warning {
                        stack: stack.to_string(),
                        logical_id: variant.ids.scaling_policy.clone(),
                        message: change.to_string(),
                        advice: "the configured percent per instance stays; check it still suits the new \
                                 instance type"
                            .to_string(),
                    })
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::cfn::RawDetail;
    use serde_json::json;

    fn bucket(name: &str) -> Value {
        json!({"Resources": {
            "RawBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": name}},
            "RawBucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": {"Ref": "RawBucket"}}}
        }})
    }

    fn modify(id: &str, ty: &str, replacement: Option<&str>) -> RawChange {
        RawChange {
            action: "Modify".into(),
            logical_id: id.into(),
            resource_type: ty.into(),
            replacement: replacement.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn cloudformation_replacement_is_authoritative() {
        let mut raw = modify("RawBucket", "AWS::S3::Bucket", Some("True"));
        raw.details.push(RawDetail {
            attribute: Some("Properties".into()),
            name: Some("BucketName".into()),
            requires_recreation: Some("Always".into()),
            ..Default::default()
        });
        let changes = classify(&[raw], &bucket("a"), &bucket("b"));
        assert_eq!(changes[0].replacement, Some(Replacement::True));
        assert_eq!(changes[0].replacement_basis, Some(Basis::CloudFormation));
        assert_eq!(changes[0].properties, ["BucketName"]);
        assert_eq!(changes[0].replaced_by, ["BucketName"]);
    }

    #[test]
    fn without_an_answer_the_templates_decide_and_propagate() {
        // An emulator lists both as plain modifications.
        let raw = [
            modify("RawBucket", "AWS::S3::Bucket", None),
            modify("RawBucketPolicy", "AWS::S3::BucketPolicy", None),
        ];
        let changes = classify(&raw, &bucket("a"), &bucket("b"));
        assert_eq!(changes[0].replacement, Some(Replacement::True));
        assert_eq!(changes[0].replacement_basis, Some(Basis::TemplateDiff));
        assert_eq!(
            changes[1].replacement,
            Some(Replacement::Conditional),
            "its Bucket refers to the new bucket"
        );
        let risks = data_loss("s", &changes, &[]);
        assert_eq!(risks.len(), 1);
        assert_eq!((risks[0].risk, risks[0].allowed), (Risk::Replace, false));
        assert!(data_loss("s", &changes, &["RawBucket".into()])[0].allowed);
    }

    fn serving(image: &str) -> Value {
        json!({"Resources": {
            "Model": {"Type": "AWS::SageMaker::Model",
                "Properties": {"PrimaryContainer": {"Image": image}, "ExecutionRoleArn": "arn"}},
            "Config": {"Type": "AWS::SageMaker::EndpointConfig",
                "Properties": {"ProductionVariants": [{"ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                    "VariantName": "a"}]}},
            "Endpoint": {"Type": "AWS::SageMaker::Endpoint",
                "Properties": {"EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}}},
            "Captures": {"Type": "AWS::S3::Bucket",
                "Properties": {"BucketName": {"Fn::Sub": "captures-${Model.ModelName}"}}},
            "Alone": {"Type": "AWS::SNS::Topic", "Properties": {}}
        }})
    }

    #[test]
    fn a_replacement_cascades_to_what_refers_to_it_with_its_data_loss() {
        // CloudFormation (or the emulator) lists only the Model.
        let raw = [modify("Model", "AWS::SageMaker::Model", Some("True"))];
        let (old, new) = (serving("img:1"), serving("img:2"));
        let changes = classify(&raw, &old, &new);
        let shown: Vec<(&str, Option<Replacement>, &[String])> = changes
            .iter()
            .map(|c| (c.logical_id.as_str(), c.replacement, c.follows.as_slice()))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "Captures",
                    Some(Replacement::Conditional),
                    &["Model".to_string()][..]
                ),
                (
                    "Config",
                    Some(Replacement::Conditional),
                    &["Model".to_string()][..]
                ),
                (
                    "Endpoint",
                    Some(Replacement::False),
                    &["Config".to_string()][..]
                ),
                ("Model", Some(Replacement::True), &[][..]),
            ]
        );
        assert_eq!(changes[1].replaced_by, ["ProductionVariants"]);
        let risks = data_loss("s", &changes, &[]);
        assert_eq!(risks.len(), 1);
        assert_eq!(
            (risks[0].logical_id.as_str(), risks[0].risk),
            ("Captures", Risk::ConditionalReplace)
        );
        // diff judges the same from the templates alone.
        let judged = from_templates(&old, &new);
        assert_eq!(
            judged
                .iter()
                .map(|c| (c.logical_id.as_str(), c.replaces()))
                .collect::<Vec<_>>(),
            [
                ("Captures", true),
                ("Config", true),
                ("Endpoint", false),
                ("Model", true)
            ]
        );
        assert!(from_templates(&old, &old).is_empty());
    }

    #[test]
    fn removing_a_key_is_a_risk_and_adding_one_is_not() {
        let removed = ResourceChange {
            logical_id: "DataKey".into(),
            resource_type: "AWS::KMS::Key".into(),
            action: ChangeAction::Remove,
            replacement: None,
            replacement_basis: None,
            properties: vec![],
            replaced_by: vec![],
            physical_id: None,
            follows: Vec::new(),
            values: Vec::new(),
        };
        let added = ResourceChange {
            action: ChangeAction::Add,
            ..removed.clone()
        };
        assert_eq!(data_loss("s", &[removed], &[])[0].risk, Risk::Remove);
        assert!(data_loss("s", &[added], &[]).is_empty());
    }
}
