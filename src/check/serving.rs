//! Serving safety: captured data stays away from the endpoints' callers
//! (SRV004), and the endpoints of a termination-protected environment are
//! watched by alarms (SRV005) and, when they run on several instances,
//! updated with guardrails (SRV006).

use serde_json::Value;

use super::StackCheck;
use super::rule::RuleId;
use crate::config::env::S3Location;
use crate::stacks::Layer;
use crate::template::Resource;
use crate::template::iam::{Effect, PolicyDocument, Principal, Statement, action_matches};
use crate::template::ids::variant_resource_id;
use crate::template::value::one_or_many;

/// AWS managed policies that read every bucket.
const READ_ALL_BUCKETS: &[&str] = &[
    "AdministratorAccess",
    "AmazonS3FullAccess",
    "AmazonS3ReadOnlyAccess",
    "PowerUserAccess",
    "ReadOnlyAccess",
];

pub fn check(c: &mut StackCheck) {
    match c.stack.spec.layer {
        Layer::Iam | Layer::Data => capture_readers(c),
        Layer::Serving if c.env.termination_protection => protected_endpoints(c),
        _ => {}
    }
}

/// A key under each capture prefix: what a reader of captured data reads.
fn captured_objects(c: &StackCheck) -> Vec<(String, String)> {
    c.env
        .endpoints
        .iter()
        .filter_map(|e| {
            let d: &S3Location = &e.data_capture.as_ref()?.destination;
            Some((
                e.name.clone(),
                format!(
                    "arn:aws:s3:::{}/{}{}/AllTraffic/capture.jsonl",
                    d.bucket, d.key, e.endpoint_name
                ),
            ))
        })
        .collect()
}

/// An Allow statement granting `s3:GetObject` on `object`.
fn reads(statement: &Statement, object: &str) -> bool {
    statement.effect == Effect::Allow
        && !statement.not_action
        && !statement.not_resource
        && statement
            .actions
            .iter()
            .any(|a| action_matches(a, "s3:GetObject"))
        && statement
            .resources
            .iter()
            .filter_map(Value::as_str)
            .any(|r| action_matches(r, object))
}

fn capture_readers(c: &mut StackCheck) {
    let captured = captured_objects(c);
    if captured.is_empty() {
        return;
    }
    let invokers: Vec<(String, String)> = c
        .env
        .invokers
        .iter()
        .map(|i| (i.logical_id.clone(), c.env.names().role_arn(&i.role_name)))
        .collect();
    let resources: Vec<Resource> = c.template().resources().collect();
    for resource in &resources {
        match resource.kind {
            "AWS::IAM::Role" => {
                let Some((_, role_arn)) = invokers.iter().find(|(id, _)| id == resource.logical_id)
                else {
                    continue;
                };
                let role_arn = role_arn.clone();
                invoker_role(c, resource, &role_arn, &captured);
            }
            "AWS::S3::BucketPolicy" => bucket_policy(c, resource, &invokers, &captured),
            _ => {}
        }
    }
}

fn invoker_role(
    c: &mut StackCheck,
    role: &Resource,
    role_arn: &str,
    captured: &[(String, String)],
) {
    let scope = c.scope();
    let mut findings = Vec::new();
    for policy in scope.items(role.prop("Policies")) {
        let name = policy
            .get("PolicyName")
            .and_then(Value::as_str)
            .unwrap_or("(unnamed)");
        let Some(document) = policy.get("PolicyDocument") else {
            continue;
        };
        let parsed = PolicyDocument::parse(document, &format!("policy {name:?}"), &scope);
        for (endpoint, object) in captured {
            if parsed.statements.iter().any(|s| reads(s, object)) {
                findings.push(format!(
                    "invoker role {role_arn} may read the data captured from endpoint {endpoint:?} (policy {name:?})"
                ));
            }
        }
    }
    for arn in one_or_many(role.prop("ManagedPolicyArns")) {
        if let Some(name) = arn.as_str().and_then(|a| a.rsplit('/').next())
            && READ_ALL_BUCKETS.contains(&name)
        {
            findings.push(format!(
                "invoker role {role_arn} has {name}, which reads every bucket, captured data included"
            ));
        }
    }
    for finding in findings {
        c.report(RuleId::Srv004, Some(role.logical_id), finding);
    }
}

fn bucket_policy(
    c: &mut StackCheck,
    policy: &Resource,
    invokers: &[(String, String)],
    captured: &[(String, String)],
) {
    let scope = c.scope();
    let parsed = PolicyDocument::parse(
        policy.prop("PolicyDocument").unwrap_or(&Value::Null),
        "bucket policy",
        &scope,
    );
    let mut findings = Vec::new();
    for statement in &parsed.statements {
        let to_invoker = match &statement.principal {
            Some(Principal::Anyone) => Some("anyone".to_string()),
            Some(Principal::Named(entries)) => invokers
                .iter()
                .find(|(id, arn)| {
                    entries.iter().any(|(_, v)| {
                        v.as_str() == Some(arn.as_str())
                            || v.pointer("/Fn::GetAtt/0").and_then(Value::as_str)
                                == Some(id.as_str())
                    })
                })
                .map(|(_, arn)| arn.clone()),
            None => None,
        };
        let Some(who) = to_invoker else {
            continue;
        };
        for (endpoint, object) in captured {
            if reads(statement, object) {
                findings.push(format!(
                    "the bucket policy lets {who} read the data captured from endpoint {endpoint:?}"
                ));
            }
        }
    }
    for finding in findings {
        c.report(RuleId::Srv004, Some(policy.logical_id), finding);
    }
}

/// The endpoint name a resource's `EndpointName` (or alarm dimension) holds.
fn text(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str)
}

fn protected_endpoints(c: &mut StackCheck) {
    let resources: Vec<Resource> = c.template().resources().collect();
    for endpoint in resources
        .iter()
        .filter(|r| r.kind == "AWS::SageMaker::Endpoint")
    {
        let Some(name) = text(endpoint.prop("EndpointName")) else {
            continue;
        };
        let watched = resources.iter().any(|r| {
            r.kind == "AWS::CloudWatch::Alarm"
                && one_or_many(r.prop("Dimensions")).iter().any(|d| {
                    text(d.get("Name")) == Some("EndpointName")
                        && text(d.get("Value")) == Some(name)
                })
        });
        if !watched {
            c.report(
                RuleId::Srv005,
                Some(endpoint.logical_id),
                format!("endpoint {name} is in a termination-protected environment but no alarm watches it"),
            );
        }
        let guarded = endpoint
            .prop("DeploymentConfig")
            .is_some_and(|d| d.get("BlueGreenUpdatePolicy").is_some());
        let instances = least_instances(&resources, endpoint, name);
        if !guarded && instances > 1 {
            c.report(
                RuleId::Srv006,
                Some(endpoint.logical_id),
                format!(
                    "endpoint {name} runs on at least {instances} instances but has no DeploymentConfig: \
                     an update moves all traffic at once and nothing rolls it back"
                ),
            );
        }
    }
}

/// The fewest instances the endpoint runs on: its config's initial counts,
/// or an autoscaled variant's minimum (a deploy keeps the scaled count).
fn least_instances(resources: &[Resource], endpoint: &Resource, name: &str) -> u64 {
    let config_id = endpoint
        .prop("EndpointConfigName")
        .and_then(|v| v.pointer("/Fn::GetAtt/0"))
        .and_then(Value::as_str);
    let Some(config) = resources.iter().find(|r| Some(r.logical_id) == config_id) else {
        return 0;
    };
    one_or_many(config.prop("ProductionVariants"))
        .iter()
        .map(|v| {
            let variant = text(v.get("VariantName")).unwrap_or_default();
            let scaled_min = resources
                .iter()
                .filter(|r| r.kind == "AWS::ApplicationAutoScaling::ScalableTarget")
                .find(|r| text(r.prop("ResourceId")) == Some(&variant_resource_id(name, variant)))
                .and_then(|r| r.prop("MinCapacity"))
                .and_then(Value::as_u64);
            scaled_min
                .or_else(|| v.get("InitialInstanceCount").and_then(Value::as_u64))
                .unwrap_or(0)
        })
        .sum()
}
