//! What the templates see: the validated `Env` plus the values derived from it
//! (ARNs, export names, tags, the training pipeline definitions). Templates
//! only arrange these; they never compute names themselves.

use serde::Serialize;

use super::pipeline;
use crate::config::Env;
use crate::config::env::{Endpoint, Invoker, TrainingJob, Zone};
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
    pub model_data_url: String,
    pub variant_name: &'static str,
    /// Instance types with local NVMe storage reject a volume KMS key.
    pub volume_kms: bool,
    pub scaling_resource_id: String,
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
}

pub const VARIANT_NAME: &str = "AllTraffic";

fn endpoint_arn(env: &Env, endpoint: &Endpoint) -> String {
    env.names().endpoint_arn(&endpoint.endpoint_name)
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
            .map(|endpoint| EndpointModel {
                endpoint,
                arn: endpoint_arn(env, endpoint),
                model_data_url: endpoint.model_data.uri(),
                variant_name: VARIANT_NAME,
                volume_kms: !rules::has_instance_storage(&endpoint.instance_type),
                scaling_resource_id: crate::template::ids::variant_resource_id(
                    &endpoint.endpoint_name,
                    VARIANT_NAME,
                ),
            })
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
