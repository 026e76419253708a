//! What the templates see: the validated `Env` plus the values derived from it
//! (ARNs, export names, tags, the training pipeline definitions). Templates
//! only arrange these; they never compute names themselves.

use serde::Serialize;

use super::pipeline;
use crate::config::Env;
use crate::config::env::{Endpoint, Invoker, S3Location, TrainingJob};
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
        let prefix = env.prefix();
        Self {
            key_arn: format!("{prefix}-data-KeyArn"),
            execution_role_arn: format!("{prefix}-iam-ExecutionRoleArn"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BucketAccess {
    pub bucket_arn: String,
    /// `s3:prefix` values the role may list.
    pub list_prefixes: Vec<String>,
}

/// The least-privilege resource lists of the SageMaker execution role.
#[derive(Debug, Clone, Serialize)]
pub struct ExecutionRoleAccess {
    pub read_object_arns: Vec<String>,
    pub write_object_arns: Vec<String>,
    pub buckets: Vec<BucketAccess>,
    pub ecr_repository_arns: Vec<String>,
    pub log_group_arn: String,
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
    pub stack: StackSpec,
    pub description: String,
    pub tags: Vec<Tag>,
    pub exports: Exports,
    pub execution_role_name: String,
    pub execution_role_arn: String,
    pub pipeline_role_name: String,
    pub pipeline_role_arn: String,
    pub training_job_arn_pattern: String,
    pub execution: ExecutionRoleAccess,
    pub pipelines: Vec<PipelineModel<'a>>,
    pub endpoints: Vec<EndpointModel<'a>>,
    pub invokers: Vec<InvokerModel<'a>>,
}

pub const VARIANT_NAME: &str = "AllTraffic";

fn object_arn(location: &S3Location, wildcard: bool) -> String {
    let star = if wildcard { "*" } else { "" };
    format!("arn:aws:s3:::{}/{}{star}", location.bucket, location.key)
}

fn endpoint_arn(env: &Env, endpoint: &Endpoint) -> String {
    // SageMaker lower-cases endpoint names in ARNs.
    format!(
        "arn:aws:sagemaker:{}:{}:endpoint/{}",
        env.region,
        env.account_id,
        endpoint.endpoint_name.to_ascii_lowercase()
    )
}

fn execution_access(env: &Env) -> ExecutionRoleAccess {
    let mut reads: Vec<&S3Location> = Vec::new();
    let mut writes: Vec<&S3Location> = Vec::new();
    for job in &env.training {
        reads.extend([&job.input, &job.checkpoints]);
        writes.extend([&job.output, &job.checkpoints]);
    }
    let model_objects: Vec<&S3Location> = env.endpoints.iter().map(|e| &e.model_data).collect();

    let mut read_object_arns: Vec<String> = reads.iter().map(|l| object_arn(l, true)).collect();
    read_object_arns.extend(model_objects.iter().map(|l| object_arn(l, false)));
    let mut write_object_arns: Vec<String> = writes.iter().map(|l| object_arn(l, true)).collect();
    read_object_arns.sort();
    read_object_arns.dedup();
    write_object_arns.sort();
    write_object_arns.dedup();

    let mut buckets: Vec<BucketAccess> = Vec::new();
    for location in reads.iter().chain(writes.iter()) {
        let arn = format!("arn:aws:s3:::{}", location.bucket);
        let prefix = format!("{}*", location.key);
        match buckets.iter_mut().find(|b| b.bucket_arn == arn) {
            Some(b) => b.list_prefixes.push(prefix),
            None => buckets.push(BucketAccess {
                bucket_arn: arn,
                list_prefixes: vec![prefix],
            }),
        }
    }
    for bucket in &mut buckets {
        bucket.list_prefixes.sort();
        bucket.list_prefixes.dedup();
    }
    buckets.sort_by(|a, b| a.bucket_arn.cmp(&b.bucket_arn));

    let mut ecr_repository_arns: Vec<String> = env
        .training
        .iter()
        .map(|j| j.image.repository_arn())
        .chain(env.endpoints.iter().map(|e| e.image.repository_arn()))
        .collect();
    ecr_repository_arns.sort();
    ecr_repository_arns.dedup();

    ExecutionRoleAccess {
        read_object_arns,
        write_object_arns,
        buckets,
        ecr_repository_arns,
        log_group_arn: format!(
            "arn:aws:logs:{}:{}:log-group:/aws/sagemaker/*",
            env.region, env.account_id
        ),
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

/// Everything derived once per environment; `stack_fields` fills in the stack.
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
            stack: StackSpec::new(env, Layer::Data),
            description: String::new(),
            tags: Vec::new(),
            exports,
            execution_role_name: env.execution_role_name(),
            execution_role_arn: env.execution_role_arn(),
            pipeline_role_name: env.pipeline_role_name(),
            pipeline_role_arn: env.pipeline_role_arn(),
            training_job_arn_pattern: format!(
                "arn:aws:sagemaker:{}:{}:training-job/pipelines-*",
                env.region, env.account_id
            ),
            execution: execution_access(env),
            pipelines,
            endpoints,
            invokers,
            prefix,
        };
        Self { base }
    }

    /// The values shared by the four stacks (the stack fields are placeholders).
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
