//! The environment file exactly as written: every key optional so that a file
//! may be a partial layer merged over its `extends` parent. Required keys are
//! enforced by `validate`, which knows where each value came from.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "mlinfra environment",
    description = "One file of environments/*.toml; see docs/configuration.md"
)]
pub struct RawConfig {
    /// Name of another environment file (without `.toml`) merged underneath this one.
    pub extends: Option<String>,
    /// A layer meant only to be extended: never listed, validated or rendered alone.
    #[serde(rename = "abstract")]
    pub is_abstract: Option<bool>,
    #[serde(default)]
    pub env: RawEnv,
    #[serde(default)]
    pub data_lake: RawDataLake,
    #[serde(default)]
    pub training: BTreeMap<String, RawTraining>,
    #[serde(default)]
    pub endpoints: BTreeMap<String, RawEndpoint>,
    #[serde(default)]
    pub invokers: Vec<RawInvoker>,
    /// Who hears of the serving alarms (an SNS topic, KMS-encrypted).
    pub notifications: Option<RawNotifications>,
    /// `check` finding id (optionally `ID@LogicalId`) → the written reason it is accepted.
    #[serde(default)]
    pub accepted_findings: BTreeMap<String, String>,
    /// On-demand USD per hour by instance type, over the shipped price table.
    #[serde(default)]
    pub prices: BTreeMap<String, f64>,
    /// The VPC subnets and security groups training jobs and models run in.
    pub network: Option<RawNetwork>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEnv {
    pub project: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub termination_protection: Option<bool>,
    /// Bucket for templates larger than CloudFormation's inline limit.
    pub artifacts_bucket: Option<String>,
    /// Role in the environment's account assumed for every AWS call
    /// (`arn:aws:iam::ACCOUNT:role/NAME`); what `mlinfra bootstrap` creates.
    pub deploy_role_arn: Option<String>,
    /// External id the deploy role's trust policy requires (needs `deploy_role_arn`).
    pub deploy_role_external_id: Option<String>,
    /// Service role CloudFormation uses for this environment's stacks (`RoleARN` of each change set).
    pub cloudformation_role_arn: Option<String>,
    /// The account whose builds may assume the deploy role (bootstrap's trust policy);
    /// default: the environment's own account.
    pub delivery_account_id: Option<String>,
    /// A fleet: the accounts (or Organizations OUs) and regions the bootstrap
    /// stack deploys to as a CloudFormation StackSet; see docs/fleets.md.
    pub targets: Option<RawTargets>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDataLake {
    pub zones: Option<Vec<String>>,
    #[serde(default)]
    pub glacier_after_days: BTreeMap<String, u32>,
    pub noncurrent_versions_expire_days: Option<u32>,
    pub abort_incomplete_upload_days: Option<u32>,
    pub access_logs_expire_days: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTraining {
    pub image: Option<String>,
    pub instance_type: Option<String>,
    pub instance_count: Option<u32>,
    pub volume_gb: Option<u32>,
    pub max_runtime: Option<String>,
    pub input: Option<String>,
    pub output: Option<String>,
    #[serde(default)]
    pub hyperparameters: BTreeMap<String, String>,
    pub spot: Option<RawSpot>,
    /// The job needs a GPU (the default); a CPU instance type is then an error.
    pub gpu: Option<bool>,
    pub network_isolation: Option<bool>,
    /// Required when `network_isolation = false`: why the job needs the network.
    pub network_isolation_reason: Option<String>,
    /// Named input channels; `input` is shorthand for one channel called `training`.
    #[serde(default)]
    pub channels: BTreeMap<String, RawChannel>,
    /// The script the framework image runs, relative to `source_dir`.
    pub entry_point: Option<String>,
    /// A project directory packaged by mlinfra, or an `s3://` tar.gz.
    pub source_dir: Option<String>,
    /// Metric name → regular expression over the job's log.
    #[serde(default)]
    pub metrics: BTreeMap<String, String>,
    pub tuning: Option<RawTuning>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawChannel {
    /// ZONE/PREFIX inside the data lake.
    pub prefix: Option<String>,
    pub content_type: Option<String>,
    /// `File` (default), `FastFile` or `Pipe`.
    pub input_mode: Option<String>,
    /// `FullyReplicated` (default) or `ShardedByS3Key`.
    pub distribution: Option<String>,
    /// `None` (default) or `Gzip`.
    pub compression: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTuning {
    pub objective: Option<RawObjective>,
    /// `bayesian` (default), `random` or `hyperband`.
    pub strategy: Option<String>,
    pub max_jobs: Option<u32>,
    pub max_parallel_jobs: Option<u32>,
    /// Stop training jobs early that are unlikely to beat the best so far.
    pub early_stopping: Option<bool>,
    #[serde(default)]
    pub ranges: BTreeMap<String, RawRange>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawObjective {
    pub metric: Option<String>,
    /// `maximize` or `minimize`.
    pub goal: Option<String>,
}

/// A continuous or integer range (`min`, `max`, `scaling`) or categorical `values`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRange {
    /// `continuous` (default for min/max) or `integer`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// `auto` (default), `linear`, `logarithmic` or `reverse-logarithmic`.
    pub scaling: Option<String>,
    pub values: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSpot {
    pub enabled: Option<bool>,
    pub max_wait: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    pub image: Option<String>,
    pub model_data: Option<String>,
    pub instance_type: Option<String>,
    pub instance_count: Option<u32>,
    pub network_isolation: Option<bool>,
    /// Required when `network_isolation = false`: why the model needs the network.
    pub network_isolation_reason: Option<String>,
    pub autoscaling: Option<RawAutoscaling>,
    /// Model from a training job's output: `{output}{model_file}` of the named job.
    pub training_job: Option<String>,
    /// The model file under the training job's output (default `model.tar.gz`).
    pub model_file: Option<String>,
    /// Production variants by SageMaker variant name; the keys above are their defaults.
    /// Without any, the endpoint is one variant `AllTraffic` made of the keys above.
    #[serde(default)]
    pub variants: BTreeMap<String, RawVariant>,
    /// Shadow variants (at most one), receiving a copy of production traffic.
    #[serde(default)]
    pub shadow_variants: BTreeMap<String, RawVariant>,
    /// Blue/green deployment guardrails for updates of this endpoint.
    pub deployment: Option<RawDeployment>,
    /// CloudWatch alarms per variant; present (even empty) turns on the defaults.
    pub alarms: Option<RawAlarms>,
    /// Serverless capacity for every variant (instead of instances).
    pub serverless: Option<RawServerless>,
    /// Requests and responses captured to the data lake.
    pub data_capture: Option<RawDataCapture>,
    /// A Model Monitor data-quality schedule over the captured data.
    pub monitor: Option<RawMonitor>,
    /// `config` (default): the configured weights and instance counts are the
    /// truth and drift reports others; `external`: they are set outside the
    /// configuration (`mlinfra traffic`, a release tool) and left alone.
    pub traffic: Option<String>,
}

/// One variant of an endpoint: every key falls back to the endpoint's own.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVariant {
    pub image: Option<String>,
    pub model_data: Option<String>,
    pub training_job: Option<String>,
    pub model_file: Option<String>,
    pub instance_type: Option<String>,
    pub instance_count: Option<u32>,
    /// Relative traffic weight (`InitialVariantWeight`); default 1.
    pub weight: Option<f64>,
    pub network_isolation: Option<bool>,
    pub network_isolation_reason: Option<String>,
    pub autoscaling: Option<RawAutoscaling>,
    pub serverless: Option<RawServerless>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDeployment {
    /// `all-at-once`, `canary` or `linear` traffic shifting to the new fleet.
    pub strategy: Option<String>,
    /// Canary: percent of capacity shifted first (1–50).
    pub canary_percent: Option<u32>,
    /// Linear: percent of capacity per step (10–50).
    pub step_percent: Option<u32>,
    /// Wait between traffic steps (canary bake time, linear interval), 0–1h.
    pub wait: Option<String>,
    /// Wait after the last step before the old fleet ends, 0–1h.
    pub termination_wait: Option<String>,
    /// The deployment's time limit, 10m–8h.
    pub max_execution_time: Option<String>,
    /// Alarm names that roll the update back; default: the endpoint's own alarms.
    pub rollback_alarms: Option<Vec<String>>,
}

/// Overrides of the default alarms; each is on unless `enabled = false`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlarms {
    pub errors_5xx: Option<RawAlarm>,
    pub latency_p99: Option<RawAlarm>,
    pub cpu: Option<RawAlarm>,
    pub memory: Option<RawAlarm>,
    pub disk: Option<RawAlarm>,
    pub invocations_per_instance: Option<RawAlarm>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlarm {
    pub enabled: Option<bool>,
    /// Errors per period, milliseconds (latency), percent per instance
    /// (cpu, memory, disk) or invocations per instance per minute.
    pub threshold: Option<f64>,
    pub period: Option<String>,
    pub evaluation_periods: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNotifications {
    /// E-mail addresses subscribed to the environment's alarm topic.
    #[serde(default)]
    pub email: Vec<String>,
    /// HTTPS URLs subscribed to the environment's alarm topic.
    #[serde(default)]
    pub https: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAutoscaling {
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub target_invocations_per_instance: Option<f64>,
    pub target_cpu_utilization: Option<f64>,
    pub scale_in_cooldown: Option<String>,
    pub scale_out_cooldown: Option<String>,
    /// Scheduled changes of the scaling bounds (e.g. down to the minimum at night).
    #[serde(default)]
    pub schedule: Vec<RawScheduledAction>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInvoker {
    pub name: Option<String>,
    pub service: Option<String>,
    #[serde(default)]
    pub endpoints: Vec<String>,
}

/// Serverless capacity of a variant.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawServerless {
    /// 1024 to 6144 in steps of 1024.
    pub memory_mb: Option<u32>,
    /// Concurrent invocations, 1 to 200.
    pub max_concurrency: Option<u32>,
    /// Warm capacity kept ready, 1 to `max_concurrency` (none by default).
    pub provisioned_concurrency: Option<u32>,
    /// Expected traffic, for `cost`: requests per day.
    pub requests_per_day: Option<f64>,
    /// Expected traffic, for `cost`: milliseconds per request.
    pub duration_ms: Option<f64>,
}

/// Data capture of an endpoint.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDataCapture {
    /// ZONE/PREFIX in the data lake the captured data goes to.
    pub destination: Option<String>,
    /// Percent of requests captured, 0 to 100 (default 100).
    pub sampling_percent: Option<u32>,
    /// Capture requests (default true).
    pub request: Option<bool>,
    /// Capture responses (default true).
    pub response: Option<bool>,
    /// Content types captured as CSV text.
    #[serde(default)]
    pub csv_content_types: Vec<String>,
    /// Content types captured as JSON text.
    #[serde(default)]
    pub json_content_types: Vec<String>,
}

/// A Model Monitor data-quality schedule over an endpoint's captured data.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMonitor {
    /// `hourly`, `daily`, or a SageMaker cron expression `cron(0 * ? * * *)`.
    pub schedule: Option<String>,
    pub instance_type: Option<String>,
    pub instance_count: Option<u32>,
    pub volume_gb: Option<u32>,
    pub max_runtime: Option<String>,
    /// ZONE/PREFIX the monitoring reports go to.
    pub output: Option<String>,
    /// ZONE/PREFIX/statistics.json of a baseline job.
    pub baseline_statistics: Option<String>,
    /// ZONE/PREFIX/constraints.json of a baseline job.
    pub baseline_constraints: Option<String>,
}

/// A scheduled change of a variant's scaling bounds.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScheduledAction {
    pub name: Option<String>,
    /// `cron(...)`, `at(...)` or `rate(...)` as Application Auto Scaling reads it.
    pub schedule: Option<String>,
    /// IANA time zone of a cron or at schedule (default UTC).
    pub timezone: Option<String>,
    pub min: Option<u32>,
    pub max: Option<u32>,
}

/// A VPC for the environment's training jobs and models (`VpcConfig`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// Subnet ids (`subnet-…`), 1 to 16, all in one VPC.
    pub subnets: Option<Vec<String>>,
    /// Security group ids (`sg-…`), 1 to 5, of the subnets' VPC.
    pub security_groups: Option<Vec<String>>,
    /// The S3 gateway endpoint (`vpce-…`) of the subnets' VPC.
    pub s3_endpoint: Option<String>,
    /// `"nat"`: the subnets reach S3 through a NAT or internet gateway route instead.
    pub s3_route: Option<String>,
}

/// `[env.targets]`: where a StackSet deploys, and how fast.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTargets {
    /// 12-digit account ids (self-managed permissions).
    pub accounts: Option<Vec<String>>,
    /// Organizations OU or root ids, `ou-…` / `r-…` (service-managed permissions).
    pub organizational_units: Option<Vec<String>>,
    pub regions: Option<Vec<String>>,
    pub max_concurrent_count: Option<u32>,
    pub max_concurrent_percentage: Option<u32>,
    pub failure_tolerance_count: Option<u32>,
    pub failure_tolerance_percentage: Option<u32>,
    /// The order regions are deployed in (each one of `regions`).
    pub region_order: Option<Vec<String>>,
    /// `sequential` (default) or `parallel`.
    pub region_concurrency: Option<String>,
    /// `strict` (default) or `soft` failure tolerance.
    pub concurrency_mode: Option<String>,
    /// Self-managed only; default `AWSCloudFormationStackSetAdministrationRole` of the environment's account.
    pub administration_role_arn: Option<String>,
    /// Self-managed only; default `AWSCloudFormationStackSetExecutionRole`.
    pub execution_role_name: Option<String>,
    /// Service-managed only: deploy to accounts that join the OUs later (default true).
    pub auto_deployment: Option<bool>,
    /// Service-managed only: keep an account's stacks when it leaves the OUs (default false).
    pub retain_stacks_on_account_removal: Option<bool>,
    /// The environment's own stacks (`data`, `iam`, `training`, `serving`) that
    /// also deploy to every target as StackSets, beside the bootstrap stack (default none).
    pub stacks: Option<Vec<String>>,
}
