//! What the templates see: the validated `Env` plus the values derived from it
//! (ARNs, export names, tags, the training pipeline definitions). Templates
//! only arrange these; they never compute names themselves.

use serde::Serialize;

use super::pipeline;
use crate::config::Env;
use serde_json::Value;

use super::serving;
use crate::config::env::{Alarm, Endpoint, Invoker, TrafficControl, TrainingJob, Variant, Zone};
use crate::config::names;
use crate::config::policies::{self, InlinePolicy};
use crate::config::rules;
use crate::stacks::{Layer, StackSpec};

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// Names of the cross-stack exports: produced by data/iam, imported by the others.
#[derive(Debug, Clone, Serialize)]
pub struct Exports {
    pub key_arn: String,
    pub execution_role_arn: String,
}

impl Exports {
    /// The export names of an environment: `{project}-{env}-data-KeyArn`, …
    pub fn of(env: &Env) -> Self {
        let names = env.names();
        Self {
            key_arn: names.key_arn_export(),
            execution_role_arn: names.execution_role_arn_export(),
        }
    }
}

/// A data-lake zone with the ARNs its bucket policy and the log bucket's policy name.
#[derive(Debug, Clone, Serialize)]
pub struct ZoneModel<'a> {
    pub zone: &'a Zone,
    pub bucket_arn: String,
    pub objects_arn: String,
    /// Where the zone's access logs go inside the log bucket.
    pub log_prefix: String,
}

/// The data stack's derived values.
#[derive(Debug, Clone, Serialize)]
pub struct DataModel<'a> {
    pub account_root_arn: String,
    pub log_bucket_arn: String,
    pub log_objects_arn: String,
    pub zones: Vec<ZoneModel<'a>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PipelineModel<'a> {
    pub job: &'a TrainingJob,
    /// The SageMaker pipeline definition, a JSON document passed through `Fn::Sub`.
    pub definition: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointModel<'a> {
    pub endpoint: &'a Endpoint,
    pub arn: String,
    /// Production then shadow variants: each has a model and may scale.
    pub all_variants: Vec<VariantModel<'a>>,
    /// The config's `ProductionVariants` and `ShadowProductionVariants`.
    pub production_variants: Value,
    pub shadow_production_variants: Option<Value>,
    /// Instance types with local NVMe storage reject a volume KMS key, and
    /// the config's key applies to every variant.
    pub volume_kms: bool,
    /// Variant properties a deploy takes from the config rather than keeping
    /// from the running endpoint (`RetainAllVariantProperties` keeps the rest).
    pub excluded_retained: Vec<&'static str>,
    /// The endpoint's `DeploymentConfig`, when guardrails are configured.
    pub deployment_config: Option<Value>,
    pub alarms: Vec<AlarmModel<'a>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VariantModel<'a> {
    pub variant: &'a Variant,
    pub model_data_url: String,
    pub scaling_resource_id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlarmModel<'a> {
    pub alarm: &'a Alarm,
    pub variant_name: &'a str,
}

#[derive(Debug, Clone, Serialize)]
pub struct InvokerModel<'a> {
    pub invoker: &'a Invoker,
    pub endpoint_arns: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RenderModel<'a> {
    pub env: &'a Env,
    pub prefix: String,
    pub exports: Exports,
    pub execution_role_name: String,
    pub execution_role_arn: String,
    pub pipeline_role_name: String,
    pub pipeline_role_arn: String,
    pub training_job_arn_pattern: String,
    /// The execution role's inline policies, whole (validation has sized them).
    pub execution_policies: Vec<InlinePolicy>,
    pub data: DataModel<'a>,
    pub pipelines: Vec<PipelineModel<'a>>,
    pub endpoints: Vec<EndpointModel<'a>>,
    pub invokers: Vec<InvokerModel<'a>>,
    pub alarm_topic: Option<AlarmTopicModel>,
    pub fixed: FixedIds,
}

/// The fixed logical ids templates use (from `config::names::fixed`).
#[derive(Debug, Clone, Serialize)]
pub struct FixedIds {
    pub alarm_topic: &'static str,
    pub alarm_topic_policy: &'static str,
    pub alarm_topic_arn_output: &'static str,
}

/// The serving stack's alarm topic, when any alarm or subscription needs it.
#[derive(Debug, Clone, Serialize)]
pub struct AlarmTopicModel {
    pub topic_name: String,
    pub alarm_source_arn: String,
    pub subscriptions: Vec<Subscription>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Subscription {
    pub logical_id: String,
    pub protocol: &'static str,
    pub endpoint: String,
}

fn endpoint_arn(env: &Env, endpoint: &Endpoint) -> String {
    env.names().endpoint_arn(&endpoint.endpoint_name)
}

fn variant_model<'a>(endpoint: &Endpoint, variant: &'a Variant) -> VariantModel<'a> {
    VariantModel {
        variant,
        model_data_url: variant.model_data.uri(),
        scaling_resource_id: crate::template::ids::variant_resource_id(
            &endpoint.endpoint_name,
            &variant.name,
        ),
    }
}

fn endpoint_model<'a>(env: &Env, endpoint: &'a Endpoint) -> EndpointModel<'a> {
    let mut excluded_retained = Vec::new();
    // Weights are the configuration's to set once there is more than one,
    // unless something outside it sets them (`traffic = "external"`).
    let configured = endpoint.traffic == TrafficControl::Config;
    if configured && endpoint.variants.len() > 1 {
        excluded_retained.push("DesiredWeight");
    }
    // Retained counts only protect what autoscaling (or the outside) set.
    if configured && endpoint.all_variants().all(|v| v.autoscaling.is_none()) {
        excluded_retained.push("DesiredInstanceCount");
    }
    EndpointModel {
        endpoint,
        arn: endpoint_arn(env, endpoint),
        all_variants: endpoint
            .all_variants()
            .map(|v| variant_model(endpoint, v))
            .collect(),
        production_variants: serving::variants(&endpoint.variants),
        shadow_production_variants: (!endpoint.shadow_variants.is_empty())
            .then(|| serving::variants(&endpoint.shadow_variants)),
        volume_kms: endpoint
            .all_variants()
            .all(|v| !rules::has_instance_storage(&v.instance_type)),
        excluded_retained,
        deployment_config: endpoint.deployment.as_ref().map(serving::deployment_config),
        alarms: endpoint
            .all_variants()
            .flat_map(|v| {
                v.alarms.iter().map(|alarm| AlarmModel {
                    alarm,
                    variant_name: &v.name,
                })
            })
            .collect(),
    }
}

fn alarm_topic_model(env: &Env) -> Option<AlarmTopicModel> {
    if !env.has_alarm_topic() {
        return None;
    }
    let names = env.names();
    let numbered = |protocol: &'static str, list: &[String]| {
        list.iter()
            .enumerate()
            .map(move |(i, endpoint)| Subscription {
                logical_id: names::alarm_subscription_id(protocol, i + 1),
                protocol,
                endpoint: endpoint.clone(),
            })
            .collect::<Vec<_>>()
    };
    let mut subscriptions = numbered("email", &env.notifications.email);
    subscriptions.extend(numbered("https", &env.notifications.https));
    Some(AlarmTopicModel {
        topic_name: names.alarm_topic(),
        alarm_source_arn: format!(
            "arn:aws:cloudwatch:{}:{}:alarm:*",
            env.region, env.account_id
        ),
        subscriptions,
    })
}

fn data_model(env: &Env) -> DataModel<'_> {
    let log_bucket = &env.data_lake.log_bucket;
    DataModel {
        account_root_arn: env.names().account_root_arn(),
        log_bucket_arn: names::bucket_arn(log_bucket),
        log_objects_arn: names::objects_arn(log_bucket),
        zones: env
            .data_lake
            .zones
            .iter()
            .map(|zone| ZoneModel {
                zone,
                bucket_arn: names::bucket_arn(&zone.bucket),
                objects_arn: names::objects_arn(&zone.bucket),
                log_prefix: format!("{}/", zone.name),
            })
            .collect(),
    }
}

pub fn tags(env: &Env, layer: Layer) -> Vec<Tag> {
    let mut tags: Vec<Tag> = env
        .tags
        .iter()
        .map(|(k, v)| Tag {
            key: k.clone(),
            value: v.clone(),
        })
        .collect();
    tags.push(Tag {
        key: "mlinfra:env".into(),
        value: env.name.clone(),
    });
    tags.push(Tag {
        key: "mlinfra:project".into(),
        value: env.project.clone(),
    });
    tags.push(Tag {
        key: "mlinfra:stack".into(),
        value: layer.as_str().into(),
    });
    tags.sort();
    tags
}

/// Everything derived once per environment; `stack_fields` gives what
/// differs per stack, which the renderer adds to the context.
pub struct EnvModel<'a> {
    base: RenderModel<'a>,
}

impl<'a> EnvModel<'a> {
    pub fn new(env: &'a Env) -> Self {
        let prefix = env.prefix();
        let exports = Exports::of(env);
        let pipelines = env
            .training
            .iter()
            .map(|job| PipelineModel {
                job,
                definition: pipeline::definition(env, job),
            })
            .collect();
        let endpoints = env
            .endpoints
            .iter()
            .map(|endpoint| endpoint_model(env, endpoint))
            .collect();
        let invokers = env
            .invokers
            .iter()
            .map(|invoker| InvokerModel {
                invoker,
                endpoint_arns: invoker
                    .endpoints
                    .iter()
                    .filter_map(|name| env.endpoint(name))
                    .map(|e| endpoint_arn(env, e))
                    .collect(),
            })
            .collect();
        let base = RenderModel {
            env,
            exports,
            execution_role_name: env.execution_role_name(),
            execution_role_arn: env.execution_role_arn(),
            pipeline_role_name: env.pipeline_role_name(),
            pipeline_role_arn: env.pipeline_role_arn(),
            training_job_arn_pattern: format!(
                "arn:aws:sagemaker:{}:{}:training-job/pipelines-*",
                env.region, env.account_id
            ),
            execution_policies: policies::execution_role_policies(env),
            data: data_model(env),
            pipelines,
            endpoints,
            invokers,
            alarm_topic: alarm_topic_model(env),
            fixed: FixedIds {
                alarm_topic: names::fixed::ALARM_TOPIC,
                alarm_topic_policy: names::fixed::ALARM_TOPIC_POLICY,
                alarm_topic_arn_output: names::fixed::ALARM_TOPIC_ARN_OUTPUT,
            },
            prefix,
        };
        Self { base }
    }

    /// The values shared by the four stacks.
    pub fn shared(&self) -> &RenderModel<'a> {
        &self.base
    }

    /// What differs from one stack to the next.
    pub fn stack_fields(&self, layer: Layer) -> StackFields {
        let env = self.base.env;
        StackFields {
            stack: StackSpec::new(env, layer),
            tags: tags(env, layer),
            description: format!(
                "mlinfra {} stack of {} ({}): {}",
                layer,
                env.project,
                env.name,
                match layer {
                    Layer::Data => "KMS key and S3 data lake",
                    Layer::Iam => "least-privilege roles",
                    Layer::Training => "SageMaker training pipelines",
                    Layer::Serving => "SageMaker endpoints and autoscaling",
                }
            ),
        }
    }
}

/// The fields of the render model that belong to one stack.
#[derive(Debug, Clone, Serialize)]
pub struct StackFields {
    pub stack: StackSpec,
    pub tags: Vec<Tag>,
    pub description: String,
}
