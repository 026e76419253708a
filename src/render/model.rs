//! What the stacks are written from: the validated `Env` plus the values
//! derived from it (ARNs, export names, tags, the training pipeline
//! definitions). The native writers and the templates only arrange these;
//! they never compute names themselves.

use serde::Serialize;

use super::pipeline;
use crate::config::Env;
use serde_json::Value;

use super::serving;
use crate::config::env::{Alarm, Endpoint, Invoker, TrafficControl, TrainingJob, Variant, Zone};
use crate::config::names;
use crate::config::policies::InlinePolicy;
use crate::config::serving_policies;

use super::dashboard;
use crate::config::instances;
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
    pub serving_role_arn: String,
    pub monitor_role_arn: String,
}

impl Exports {
    /// The export names of an environment: `{project}-{env}-data-KeyArn`, …
    pub fn of(env: &Env) -> Self {
        let names = env.names();
        Self {
            key_arn: names.key_arn_export(),
            execution_role_arn: names.execution_role_arn_export(),
            serving_role_arn: names.serving_role_arn_export(),
            monitor_role_arn: names.monitor_role_arn_export(),
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
    /// A serverless endpoint (then its one variant is serverless).
    pub serverless: bool,
    /// Variant properties a deploy takes from the config rather than keeping
    /// from the running endpoint (`RetainAllVariantProperties` keeps the rest).
    pub excluded_retained: Vec<&'static str>,
    /// The endpoint's `DeploymentConfig`, when guardrails are configured.
    pub deployment_config: Option<Value>,
    pub alarms: Vec<AlarmModel<'a>>,
    /// The config's `DataCaptureConfig`, when data is captured.
    pub data_capture_config: Option<Value>,
    /// The data-quality job definition's properties, when monitored.
    pub data_quality_job: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VariantModel<'a> {
    pub variant: &'a Variant,
    pub model_data_url: String,
    pub scaling_resource_id: String,
    /// The scalable target's `ScheduledActions`, when any are configured.
    pub scheduled_actions: Option<Value>,
    /// The role the model runs as (the serving role's export).
    pub role_arn: Value,
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
    /// How the pipeline role's SageMaker jobs are told apart from other
    /// environments' in the same account: by the tags every step carries.
    pub job_scope: JobScope,
    /// The execution role's inline policies, whole (validation has sized them).
    pub execution_policies: &'a [InlinePolicy],
    pub data: DataModel<'a>,
    pub pipelines: Vec<PipelineModel<'a>>,
    pub endpoints: Vec<EndpointModel<'a>>,
    pub invokers: Vec<InvokerModel<'a>>,
    pub alarm_topic: Option<AlarmTopicModel>,
    pub fixed: FixedIds,
    /// The role of the environment's models, when it has endpoints.
    pub serving_role: Option<RoleModel>,
    /// The role of the monitoring jobs, when an endpoint is monitored.
    pub monitor_role: Option<RoleModel>,
    /// The environment's CloudWatch dashboard body, when it has endpoints.
    pub dashboard: Option<DashboardModel>,
}

/// A role of the IAM stack built from its inline policies.
#[derive(Debug, Clone, Serialize)]
pub struct RoleModel {
    pub role_name: String,
    pub policies: Vec<InlinePolicy>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DashboardModel {
    pub name: String,
    /// The dashboard body, a JSON document in a string as CloudWatch takes it.
    pub body: String,
}

/// The pipeline role's job resources and the tag conditions that keep them
/// to this environment. Pipelines name their jobs `pipelines-<execution>-…`
/// and tuning jobs' training jobs after the tuning job, with nothing of the
/// environment in either name; the steps' `mlinfra:project` and
/// `mlinfra:env` tags are what SageMaker can condition on
/// (`aws:RequestTag` on create, `aws:ResourceTag` afterwards).
#[derive(Debug, Clone, Serialize)]
pub struct JobScope {
    /// Every training job of the account and region, narrowed by tag.
    pub training_jobs: String,
    /// Every tuning job of the account and region, narrowed by tag; `None`
    /// when no job of the environment tunes.
    pub tuning_jobs: Option<String>,
    pub request_tags: serde_json::Value,
    pub resource_tags: serde_json::Value,
}

impl JobScope {
    fn of(env: &Env) -> Self {
        let tags = |kind: &str| {
            serde_json::json!({
                format!("aws:{kind}/mlinfra:env"): env.name,
                format!("aws:{kind}/mlinfra:project"): env.project,
            })
        };
        let arn = |kind: &str| {
            format!(
                "arn:aws:sagemaker:{}:{}:{kind}/*",
                env.region, env.account_id
            )
        };
        Self {
            training_jobs: arn("training-job"),
            tuning_jobs: env
                .training
                .iter()
                .any(|j| j.tuning.is_some())
                .then(|| arn("hyper-parameter-tuning-job")),
            request_tags: tags("RequestTag"),
            resource_tags: tags("ResourceTag"),
        }
    }
}

/// The fixed logical ids templates use (from `config::names::fixed`).
#[derive(Debug, Clone, Serialize)]
pub struct FixedIds {
    pub alarm_topic: &'static str,
    pub alarm_topic_policy: &'static str,
    pub alarm_topic_arn_output: &'static str,
    pub serving_role: &'static str,
    pub serving_role_arn_output: &'static str,
    pub monitor_role: &'static str,
    pub monitor_role_arn_output: &'static str,
    pub dashboard: &'static str,
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

fn variant_model<'a>(env: &Env, endpoint: &Endpoint, variant: &'a Variant) -> VariantModel<'a> {
    VariantModel {
        scheduled_actions: variant
            .autoscaling
            .as_ref()
            .filter(|a| !a.schedule.is_empty())
            .map(|a| serving::scheduled_actions(&a.schedule)),
        role_arn: serde_json::json!({ "Fn::ImportValue": env.names().serving_role_arn_export() }),
        variant,
        model_data_url: variant.model_data.uri(),
        scaling_resource_id: crate::template::ids::variant_resource_id(
            &endpoint.endpoint_name,
            &variant.name,
        ),
    }
}

fn endpoint_model<'a>(env: &Env, endpoint: &'a Endpoint) -> EndpointModel<'a> {
    let names = env.names();
    let key_arn = serde_json::json!({ "Fn::ImportValue": names.key_arn_export() });
    let mut excluded_retained = Vec::new();
    // Weights are the configuration's to set once there is more than one,
    // unless something outside it sets them (`traffic = "external"`).
    let configured = endpoint.traffic == TrafficControl::Config;
    if configured && endpoint.variants.len() > 1 {
        excluded_retained.push("DesiredWeight");
    }
    // Retained counts only protect what autoscaling (or the outside) set.
    // A serverless variant has no instance count to keep or replace.
    if configured
        && endpoint
            .all_variants()
            .all(|v| v.autoscaling.is_none() && v.serverless.is_none())
    {
        excluded_retained.push("DesiredInstanceCount");
    }
    EndpointModel {
        endpoint,
        arn: endpoint_arn(env, endpoint),
        all_variants: endpoint
            .all_variants()
            .map(|v| variant_model(env, endpoint, v))
            .collect(),
        production_variants: serving::variants(&endpoint.variants),
        shadow_production_variants: (!endpoint.shadow_variants.is_empty())
            .then(|| serving::variants(&endpoint.shadow_variants)),
        volume_kms: endpoint
            .all_variants()
            .all(|v| v.serverless.is_none() && !instances::has_instance_storage(&v.instance_type)),
        excluded_retained,
        serverless: endpoint.variants.iter().any(|v| v.serverless.is_some()),
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
        data_capture_config: endpoint
            .data_capture
            .as_ref()
            .map(|d| serving::data_capture_config(d, &key_arn)),
        data_quality_job: endpoint.monitor.as_ref().map(|m| {
            let role = serde_json::json!({ "Fn::ImportValue": names.monitor_role_arn_export() });
            serving::data_quality_job(m, &endpoint.endpoint_name, &role, &key_arn)
        }),
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
            job_scope: JobScope::of(env),
            execution_policies: env.execution_policies(),
            data: data_model(env),
            pipelines,
            endpoints,
            invokers,
            alarm_topic: alarm_topic_model(env),
            fixed: FixedIds {
                alarm_topic: names::fixed::ALARM_TOPIC,
                alarm_topic_policy: names::fixed::ALARM_TOPIC_POLICY,
                alarm_topic_arn_output: names::fixed::ALARM_TOPIC_ARN_OUTPUT,
                serving_role: names::fixed::SERVING_ROLE,
                serving_role_arn_output: names::fixed::SERVING_ROLE_ARN_OUTPUT,
                monitor_role: names::fixed::MONITOR_ROLE,
                monitor_role_arn_output: names::fixed::MONITOR_ROLE_ARN_OUTPUT,
                dashboard: names::fixed::DASHBOARD,
            },
            serving_role: (!env.endpoints.is_empty()).then(|| RoleModel {
                role_name: env.names().serving_role(),
                policies: serving_policies::serving_role_policies(env),
            }),
            monitor_role: serving_policies::monitor_role_policies(env).map(|policies| RoleModel {
                role_name: env.names().monitor_role(),
                policies,
            }),
            dashboard: (!env.endpoints.is_empty()).then(|| DashboardModel {
                name: env.names().dashboard(),
                body: dashboard::body(env),
            }),
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
