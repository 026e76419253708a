//! The expected state, read from the rendered templates (what the repository
//! says) into typed values per resource. Only literal template values become
//! expectations; a property the template leaves out is not checked.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::template::Template;
use crate::template::ids::parse_variant_resource_id;
use crate::template::refs::reference;
use crate::template::value::{boolean, float, integer, string};

/// One stack's resources that the deep checks compare with the account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackExpectations {
    pub roles: Vec<RoleExpectation>,
    pub endpoints: Vec<EndpointExpectation>,
    pub buckets: Vec<BucketExpectation>,
    pub alarms: Vec<AlarmExpectation>,
}

/// An `AWS::CloudWatch::Alarm` with a literal name: it must exist, with its
/// actions enabled, notifying what the template says.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmExpectation {
    pub logical_id: String,
    pub alarm_name: String,
    /// May hold a `Ref` to the topic: resolve before comparing.
    pub alarm_actions: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoleExpectation {
    pub logical_id: String,
    /// May still hold intrinsics (`Fn::ImportValue`, `Ref`): resolve before comparing.
    pub trust_policy: Option<Value>,
    pub inline_policies: BTreeMap<String, Value>,
    pub managed_policies: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EndpointExpectation {
    pub logical_id: String,
    /// The `AWS::SageMaker::EndpointConfig` the endpoint must serve.
    pub config_logical_id: Option<String>,
    pub variants: Vec<VariantExpectation>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VariantExpectation {
    pub name: String,
    pub instance_type: Option<String>,
    pub initial_instance_count: Option<i64>,
    /// `InitialVariantWeight`.
    pub weight: Option<f64>,
    pub scaling: Option<ScalingExpectation>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScalingExpectation {
    pub target_logical_id: String,
    pub service_namespace: String,
    pub scalable_dimension: String,
    pub min: i64,
    pub max: i64,
    pub policy: Option<PolicyExpectation>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PolicyExpectation {
    pub logical_id: String,
    pub name: String,
    pub target_value: f64,
    pub scale_in_cooldown: Option<i64>,
    pub scale_out_cooldown: Option<i64>,
    pub disable_scale_in: Option<bool>,
    pub metric: Metric,
}

/// The metric a target-tracking policy follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metric {
    Predefined(String),
    Customized {
        name: String,
        namespace: String,
        statistic: String,
        unit: Option<String>,
        /// `(Name, Value)` as written; an endpoint's name may still need resolving to the live one.
        dimensions: Vec<(String, String)>,
    },
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Metric::Predefined(name) => f.write_str(name),
            Metric::Customized {
                name,
                namespace,
                statistic,
                ..
            } => write!(f, "{namespace} {name} ({statistic})"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BucketExpectation {
    pub logical_id: String,
    /// `Enabled` or `Suspended`, as written in `VersioningConfiguration`.
    pub versioning: Option<String>,
    pub encryption: Option<EncryptionExpectation>,
    pub public_access_block: Option<PublicAccessBlock>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EncryptionExpectation {
    pub algorithm: String,
    pub kms_key: Option<KeyRef>,
    pub bucket_key: Option<bool>,
}

/// Which KMS key a bucket must use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    /// A key of the same stack (`Ref` or `Fn::GetAtt`): matched through its physical id.
    Resource(String),
    Literal(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// The settings that are on in `self` but off in `actual`.
    pub fn missing_in(&self, actual: &PublicAccessBlock) -> Vec<&'static str> {
        [
            (
                "BlockPublicAcls",
                self.block_public_acls,
                actual.block_public_acls,
            ),
            (
                "IgnorePublicAcls",
                self.ignore_public_acls,
                actual.ignore_public_acls,
            ),
            (
                "BlockPublicPolicy",
                self.block_public_policy,
                actual.block_public_policy,
            ),
            (
                "RestrictPublicBuckets",
                self.restrict_public_buckets,
                actual.restrict_public_buckets,
            ),
        ]
        .into_iter()
        .filter(|(_, want, have)| *want != *have)
        .map(|(name, _, _)| name)
        .collect()
    }
}

impl PublicAccessBlock {
    /// The shorthand the AWS CLI takes: `BlockPublicAcls=true,...`.
    pub fn as_cli(&self) -> String {
        format!(
            "BlockPublicAcls={},IgnorePublicAcls={},BlockPublicPolicy={},RestrictPublicBuckets={}",
            self.block_public_acls,
            self.ignore_public_acls,
            self.block_public_policy,
            self.restrict_public_buckets
        )
    }
}

impl std::fmt::Display for PublicAccessBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let on: Vec<&str> = PublicAccessBlock::default().missing_in(self);
        if on.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&on.join(", "))
        }
    }
}

/// The resources of one type, as (logical id, properties).
fn of_type<'a>(template: &'a Value, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> {
    Template::new(template)
        .of_type(kind)
        .map(|r| (r.logical_id, r.props()))
}

pub fn from_template(template: &Value) -> StackExpectations {
    StackExpectations {
        roles: roles(template),
        endpoints: endpoints(template),
        buckets: buckets(template),
        alarms: alarms(template),
    }
}

fn alarms(template: &Value) -> Vec<AlarmExpectation> {
    of_type(template, "AWS::CloudWatch::Alarm")
        .filter_map(|(id, p)| {
            Some(AlarmExpectation {
                logical_id: id.to_string(),
                alarm_name: string(p, "AlarmName")?,
                alarm_actions: p
                    .get("AlarmActions")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            })
        })
        .collect()
}

fn roles(template: &Value) -> Vec<RoleExpectation> {
    of_type(template, "AWS::IAM::Role")
        .map(|(id, resource)| {
            let p = resource;
            RoleExpectation {
                logical_id: id.to_string(),
                trust_policy: p.get("AssumeRolePolicyDocument").cloned(),
                inline_policies: p
                    .get("Policies")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|policy| {
                        Some((
                            string(policy, "PolicyName")?,
                            policy.get("PolicyDocument")?.clone(),
                        ))
                    })
                    .collect(),
                managed_policies: p
                    .get("ManagedPolicyArns")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            }
        })
        .collect()
}

fn scaling_for(template: &Value, endpoint_name: &str, variant: &str) -> Option<ScalingExpectation> {
    let (target_id, target) = of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget")
        .find(|(_, t)| {
            string(t, "ResourceId")
                .as_deref()
                .and_then(parse_variant_resource_id)
                == Some((endpoint_name, variant))
        })?;
    let t = target;
    let policy = of_type(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
        .find(|(_, p)| p.get("ScalingTargetId").and_then(reference) == Some(target_id))
        .and_then(|(policy_id, policy)| {
            let p = policy;
            let config = p.get("TargetTrackingScalingPolicyConfiguration")?;
            let metric = if let Some(predefined) = config.get("PredefinedMetricSpecification") {
                Metric::Predefined(string(predefined, "PredefinedMetricType")?)
            } else {
                let custom = config.get("CustomizedMetricSpecification")?;
                Metric::Customized {
                    name: string(custom, "MetricName")?,
                    namespace: string(custom, "Namespace")?,
                    statistic: string(custom, "Statistic")?,
                    unit: string(custom, "Unit"),
                    dimensions: custom
                        .get("Dimensions")
                        .and_then(Value::as_array)
                        .map(|dims| {
                            dims.iter()
                                .filter_map(|d| Some((string(d, "Name")?, string(d, "Value")?)))
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            };
            Some(PolicyExpectation {
                logical_id: policy_id.to_string(),
                name: string(p, "PolicyName")?,
                target_value: float(config, "TargetValue")?,
                scale_in_cooldown: integer(config, "ScaleInCooldown"),
                scale_out_cooldown: integer(config, "ScaleOutCooldown"),
                disable_scale_in: boolean(config, "DisableScaleIn"),
                metric,
            })
        });
    Some(ScalingExpectation {
        target_logical_id: target_id.to_string(),
        service_namespace: string(t, "ServiceNamespace")?,
        scalable_dimension: string(t, "ScalableDimension")?,
        min: integer(t, "MinCapacity")?,
        max: integer(t, "MaxCapacity")?,
        policy,
    })
}

fn endpoints(template: &Value) -> Vec<EndpointExpectation> {
    of_type(template, "AWS::SageMaker::Endpoint")
        .map(|(id, resource)| {
            let p = resource;
            let endpoint_name = string(p, "EndpointName");
            let config_logical_id = p
                .get("EndpointConfigName")
                .and_then(reference)
                .map(str::to_string);
            let config = config_logical_id
                .as_deref()
                .and_then(|c| Template::new(template).resource(c));
            let variants = config
                .and_then(|c| c.prop("ProductionVariants"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| {
                    let name = string(v, "VariantName")?;
                    let scaling = endpoint_name
                        .as_deref()
                        .and_then(|endpoint| scaling_for(template, endpoint, &name));
                    Some(VariantExpectation {
                        instance_type: string(v, "InstanceType"),
                        initial_instance_count: integer(v, "InitialInstanceCount"),
                        weight: float(v, "InitialVariantWeight"),
                        scaling,
                        name,
                    })
                })
                .collect();
            EndpointExpectation {
                logical_id: id.to_string(),
                config_logical_id,
                variants,
            }
        })
        .collect()
}

fn buckets(template: &Value) -> Vec<BucketExpectation> {
    of_type(template, "AWS::S3::Bucket")
        .map(|(id, resource)| {
            let p = resource;
            let encryption = p
                .get("BucketEncryption")
                .and_then(|e| e.get("ServerSideEncryptionConfiguration"))
                .and_then(Value::as_array)
                .and_then(|rules| rules.first())
                .and_then(|rule| {
                    let default = rule.get("ServerSideEncryptionByDefault")?;
                    let kms_key = default.get("KMSMasterKeyID").map(|key| match key {
                        Value::String(literal) => KeyRef::Literal(literal.clone()),
                        other => match reference(other) {
                            Some(id) => KeyRef::Resource(id.to_string()),
                            None => KeyRef::Literal(other.to_string()),
                        },
                    });
                    Some(EncryptionExpectation {
                        algorithm: string(default, "SSEAlgorithm")?,
                        kms_key,
                        bucket_key: boolean(rule, "BucketKeyEnabled"),
                    })
                });
            let public_access_block =
                p.get("PublicAccessBlockConfiguration")
                    .map(|b| PublicAccessBlock {
                        block_public_acls: boolean(b, "BlockPublicAcls").unwrap_or(false),
                        ignore_public_acls: boolean(b, "IgnorePublicAcls").unwrap_or(false),
                        block_public_policy: boolean(b, "BlockPublicPolicy").unwrap_or(false),
                        restrict_public_buckets: boolean(b, "RestrictPublicBuckets")
                            .unwrap_or(false),
                    });
            BucketExpectation {
                logical_id: id.to_string(),
                versioning: p
                    .get("VersioningConfiguration")
                    .and_then(|v| string(v, "Status")),
                encryption,
                public_access_block,
            }
        })
        .collect()
}

/// Replaces the intrinsics a policy document may hold with deployed values.
/// What cannot be resolved stays visible (`<unresolved …>`) and so compares unequal.
pub struct Resolver<'a> {
    pub exports: &'a BTreeMap<String, String>,
    /// This stack's logical id → physical id.
    pub physical_ids: BTreeMap<&'a str, &'a str>,
    pub account_id: &'a str,
    pub region: &'a str,
}

impl Resolver<'_> {
    pub fn resolve(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next().expect("one entry");
                match (key.as_str(), arg) {
                    ("Fn::ImportValue", Value::String(name)) => Value::String(
                        self.exports
                            .get(name)
                            .cloned()
                            .unwrap_or_else(|| format!("<unresolved Fn::ImportValue {name}>")),
                    ),
                    ("Ref", Value::String(name)) => Value::String(match name.as_str() {
                        "AWS::AccountId" => self.account_id.to_string(),
                        "AWS::Region" => self.region.to_string(),
                        "AWS::Partition" => "aws".to_string(),
                        _ => self
                            .physical_ids
                            .get(name.as_str())
                            .map(|id| id.to_string())
                            .unwrap_or_else(|| format!("<unresolved Ref {name}>")),
                    }),
                    _ => Value::Object(
                        map.iter()
                            .map(|(k, v)| (k.clone(), self.resolve(v)))
                            .collect(),
                    ),
                }
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.resolve(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.resolve(v)).collect()),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scaling_is_linked_to_its_endpoint_variant_through_the_template() {
        let template = json!({"Resources": {
            "EpConfig": {"Type": "AWS::SageMaker::EndpointConfig", "Properties": {
                "ProductionVariants": [{"VariantName": "AllTraffic", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}]}},
            "Ep": {"Type": "AWS::SageMaker::Endpoint", "Properties": {
                "EndpointName": "p-e-x", "EndpointConfigName": {"Fn::GetAtt": ["EpConfig", "EndpointConfigName"]}}},
            "Target": {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {
                "ServiceNamespace": "sagemaker", "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                "ResourceId": "endpoint/p-e-x/variant/AllTraffic", "MinCapacity": 1, "MaxCapacity": 3}},
            "Policy": {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
                "PolicyName": "p-e-x-target-tracking", "ScalingTargetId": {"Ref": "Target"},
                "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 70, "ScaleInCooldown": 300, "ScaleOutCooldown": 30,
                    "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}}}
        }});
        let expected = from_template(&template);
        let endpoint = &expected.endpoints[0];
        assert_eq!(endpoint.config_logical_id.as_deref(), Some("EpConfig"));
        let variant = &endpoint.variants[0];
        assert_eq!(variant.instance_type.as_deref(), Some("ml.m5.large"));
        let scaling = variant.scaling.as_ref().expect("scaling found");
        assert_eq!((scaling.min, scaling.max), (1, 3));
        let policy = scaling.policy.as_ref().expect("policy found");
        assert_eq!(policy.target_value, 70.0);
        assert_eq!(policy.scale_in_cooldown, Some(300));
        assert_eq!(
            policy.metric,
            Metric::Predefined("SageMakerVariantInvocationsPerInstance".into())
        );
    }

    #[test]
    fn resolver_fills_imports_and_refs_and_marks_the_rest() {
        let exports = BTreeMap::from([("x-KeyArn".to_string(), "arn:key".to_string())]);
        let resolver = Resolver {
            exports: &exports,
            physical_ids: BTreeMap::from([("Bucket", "bucket-1")]),
            account_id: "123456789012",
            region: "us-east-1",
        };
        let resolved = resolver.resolve(&json!({
            "a": {"Fn::ImportValue": "x-KeyArn"},
            "b": [{"Ref": "Bucket"}, {"Ref": "AWS::AccountId"}],
            "c": {"Fn::ImportValue": "missing"}
        }));
        assert_eq!(
            resolved,
            json!({"a": "arn:key", "b": ["bucket-1", "123456789012"], "c": "<unresolved Fn::ImportValue missing>"})
        );
    }
}
