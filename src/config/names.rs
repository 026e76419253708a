//! Every name mlinfra derives from a configuration: stacks, buckets, roles,
//! pipelines, endpoints, exports and CloudFormation logical ids. Templates,
//! validation and the commands take names from here; nothing else builds one.
//!
//! Two different configuration entries must never derive the same name in
//! one scope, and no entry may derive one of mlinfra's own fixed names:
//! validation claims every derived name through [`Scope`] and reports each
//! collision at both places.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A layer of the platform: one CloudFormation stack per layer and environment.
/// It lives here because it is part of every stack name.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Data,
    Iam,
    Training,
    Serving,
}

impl Layer {
    pub const ALL: [Layer; 4] = [Layer::Data, Layer::Iam, Layer::Training, Layer::Serving];

    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Data => "data",
            Layer::Iam => "iam",
            Layer::Training => "training",
            Layer::Serving => "serving",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a derived name must be unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Resource logical ids of one stack's template.
    Resource(Layer),
    /// Output logical ids of one stack's template.
    Output(Layer),
    /// S3 bucket names (global).
    Bucket,
    /// IAM role names (case-insensitive in IAM).
    Role,
    /// SageMaker pipeline names (case-insensitive in SageMaker).
    Pipeline,
    /// SageMaker endpoint names (case-insensitive in SageMaker).
    Endpoint,
    /// CloudFormation export names of the account and region.
    Export,
    /// CloudWatch alarm names of the account and region.
    Alarm,
}

impl Scope {
    /// The form in which two names are the same to AWS; borrowed when the
    /// name already is in that form, as nearly every name is.
    pub fn normalise(self, name: &str) -> Cow<'_, str> {
        match self {
            Scope::Resource(_) | Scope::Output(_) | Scope::Export | Scope::Alarm => {
                Cow::Borrowed(name)
            }
            Scope::Bucket | Scope::Role | Scope::Pipeline | Scope::Endpoint => {
                if name.bytes().any(|b| b.is_ascii_uppercase()) {
                    Cow::Owned(name.to_ascii_lowercase())
                } else {
                    Cow::Borrowed(name)
                }
            }
        }
    }

    /// What names of this scope are, for messages.
    pub fn noun(self, count: usize) -> String {
        let s = if count == 1 { "" } else { "s" };
        match self {
            Scope::Resource(layer) => format!("logical id{s} in the {layer} stack"),
            Scope::Output(layer) => format!("output{s} of the {layer} stack"),
            Scope::Bucket => format!("bucket name{s}"),
            Scope::Role => format!("role name{s}"),
            Scope::Pipeline => format!("pipeline name{s}"),
            Scope::Endpoint => format!("endpoint name{s}"),
            Scope::Export => format!("export name{s}"),
            Scope::Alarm => format!("alarm name{s}"),
        }
    }
}

/// The fixed logical ids of the built-in templates (not derived from any
/// configuration entry). A test renders the example and checks that every
/// id in it is either one of these or derived here from the configuration.
pub mod fixed {
    pub const DATA_KEY: &str = "DataKey";
    pub const DATA_KEY_ALIAS: &str = "DataKeyAlias";
    pub const ACCESS_LOG_BUCKET: &str = "AccessLogBucket";
    pub const ACCESS_LOG_BUCKET_POLICY: &str = "AccessLogBucketPolicy";
    pub const KEY_ARN_OUTPUT: &str = "KeyArn";
    pub const KEY_ALIAS_OUTPUT: &str = "KeyAlias";
    pub const ACCESS_LOG_BUCKET_NAME_OUTPUT: &str = "AccessLogBucketName";
    pub const EXECUTION_ROLE: &str = "ExecutionRole";
    pub const PIPELINE_ROLE: &str = "PipelineRole";
    pub const EXECUTION_ROLE_ARN_OUTPUT: &str = "ExecutionRoleArn";
    pub const PIPELINE_ROLE_ARN_OUTPUT: &str = "PipelineRoleArn";
    pub const NO_TRAINING_JOBS: &str = "NoTrainingJobs";
    pub const NO_ENDPOINTS: &str = "NoEndpoints";
    pub const ALARM_TOPIC: &str = "AlarmTopic";
    pub const ALARM_TOPIC_POLICY: &str = "AlarmTopicPolicy";
    pub const ALARM_TOPIC_ARN_OUTPUT: &str = "AlarmTopicArn";
    pub const SERVING_ROLE: &str = "ServingRole";
    pub const SERVING_ROLE_ARN_OUTPUT: &str = "ServingRoleArn";
    pub const MONITOR_ROLE: &str = "MonitorRole";
    pub const MONITOR_ROLE_ARN_OUTPUT: &str = "MonitorRoleArn";
    pub const DASHBOARD: &str = "ServingDashboard";
}

/// The alarm topic's subscriptions, numbered per protocol: `AlarmTopicEmail1`, `AlarmTopicHttps2`.
pub fn alarm_subscription_id(protocol: &str, number: usize) -> String {
    format!("{}{}{number}", fixed::ALARM_TOPIC, pascal_case(protocol))
}

/// mlinfra's own names per scope, with what they are: no configuration entry may derive one.
pub fn reserved_logical_ids() -> Vec<(Scope, &'static str, &'static str)> {
    use fixed::*;
    vec![
        (Scope::Resource(Layer::Data), DATA_KEY, "the data key"),
        (
            Scope::Resource(Layer::Data),
            DATA_KEY_ALIAS,
            "the data key's alias",
        ),
        (
            Scope::Resource(Layer::Data),
            ACCESS_LOG_BUCKET,
            "the access-log bucket",
        ),
        (
            Scope::Resource(Layer::Data),
            ACCESS_LOG_BUCKET_POLICY,
            "the access-log bucket's policy",
        ),
        (
            Scope::Output(Layer::Data),
            KEY_ARN_OUTPUT,
            "the data key's ARN",
        ),
        (
            Scope::Output(Layer::Data),
            KEY_ALIAS_OUTPUT,
            "the data key's alias",
        ),
        (
            Scope::Output(Layer::Data),
            ACCESS_LOG_BUCKET_NAME_OUTPUT,
            "the access-log bucket's name",
        ),
        (
            Scope::Resource(Layer::Iam),
            EXECUTION_ROLE,
            "the execution role",
        ),
        (
            Scope::Resource(Layer::Iam),
            PIPELINE_ROLE,
            "the pipeline role",
        ),
        (
            Scope::Output(Layer::Iam),
            EXECUTION_ROLE_ARN_OUTPUT,
            "the execution role's ARN",
        ),
        (
            Scope::Output(Layer::Iam),
            PIPELINE_ROLE_ARN_OUTPUT,
            "the pipeline role's ARN",
        ),
        (
            Scope::Resource(Layer::Training),
            NO_TRAINING_JOBS,
            "the placeholder of a training stack without jobs",
        ),
        (
            Scope::Resource(Layer::Serving),
            NO_ENDPOINTS,
            "the placeholder of a serving stack without endpoints",
        ),
        (
            Scope::Resource(Layer::Serving),
            ALARM_TOPIC,
            "the serving alarms' SNS topic",
        ),
        (
            Scope::Resource(Layer::Serving),
            ALARM_TOPIC_POLICY,
            "the serving alarms' topic policy",
        ),
        (
            Scope::Output(Layer::Serving),
            ALARM_TOPIC_ARN_OUTPUT,
            "the serving alarms' topic ARN",
        ),
        (
            Scope::Resource(Layer::Iam),
            SERVING_ROLE,
            "the serving role",
        ),
        (
            Scope::Output(Layer::Iam),
            SERVING_ROLE_ARN_OUTPUT,
            "the serving role's ARN",
        ),
        (
            Scope::Resource(Layer::Iam),
            MONITOR_ROLE,
            "the monitoring role",
        ),
        (
            Scope::Output(Layer::Iam),
            MONITOR_ROLE_ARN_OUTPUT,
            "the monitoring role's ARN",
        ),
        (
            Scope::Resource(Layer::Serving),
            DASHBOARD,
            "the serving dashboard",
        ),
    ]
}

/// `dog-breed_v2` → `DogBreedV2`: CloudFormation logical ids are alphanumeric.
/// Not injective (`raw1` and `raw-1` both give `Raw1`): validation rejects
/// configurations where two entries meet.
pub fn pascal_case(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect()
}

/// The logical ids of a data-lake zone in the data stack.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ZoneIds {
    pub bucket: String,
    pub policy: String,
    pub name_output: String,
}

impl ZoneIds {
    pub fn of(zone: &str) -> Self {
        let bucket = format!("{}Bucket", pascal_case(zone));
        Self {
            policy: format!("{bucket}Policy"),
            name_output: format!("{bucket}Name"),
            bucket,
        }
    }

    pub fn claims(&self) -> Vec<(Scope, &str)> {
        vec![
            (Scope::Resource(Layer::Data), &self.bucket),
            (Scope::Resource(Layer::Data), &self.policy),
            (Scope::Output(Layer::Data), &self.name_output),
        ]
    }
}

/// The logical ids of a training job in the training stack.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobIds {
    pub pipeline: String,
    pub name_output: String,
}

impl JobIds {
    pub fn of(job: &str) -> Self {
        let pipeline = format!("{}Pipeline", pascal_case(job));
        Self {
            name_output: format!("{pipeline}Name"),
            pipeline,
        }
    }

    pub fn claims(&self) -> Vec<(Scope, &str)> {
        vec![
            (Scope::Resource(Layer::Training), &self.pipeline),
            (Scope::Output(Layer::Training), &self.name_output),
        ]
    }
}

/// The logical ids of an endpoint itself in the serving stack; its variants
/// have [`VariantIds`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EndpointIds {
    pub config: String,
    pub endpoint: String,
    pub name_output: String,
    pub arn_output: String,
    pub config_name_output: String,
}

impl EndpointIds {
    pub fn of(endpoint: &str) -> Self {
        let p = pascal_case(endpoint);
        Self {
            config: format!("{p}EndpointConfig"),
            endpoint: format!("{p}Endpoint"),
            name_output: format!("{p}EndpointName"),
            arn_output: format!("{p}EndpointArn"),
            config_name_output: format!("{p}EndpointConfigName"),
        }
    }

    pub fn claims(&self) -> Vec<(Scope, &str)> {
        let resource = Scope::Resource(Layer::Serving);
        let output = Scope::Output(Layer::Serving);
        vec![
            (resource, &self.config),
            (resource, &self.endpoint),
            (output, &self.name_output),
            (output, &self.arn_output),
            (output, &self.config_name_output),
        ]
    }
}

/// The variant a single-variant endpoint (no `variants` table) is served as.
pub const DEFAULT_VARIANT: &str = "AllTraffic";

/// What a CloudWatch alarm of a variant watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    Errors5xx,
    LatencyP99,
    Cpu,
    Memory,
    Disk,
    InvocationsPerInstance,
}

impl AlarmKind {
    pub const ALL: [AlarmKind; 6] = [
        AlarmKind::Errors5xx,
        AlarmKind::LatencyP99,
        AlarmKind::Cpu,
        AlarmKind::Memory,
        AlarmKind::Disk,
        AlarmKind::InvocationsPerInstance,
    ];

    /// The configuration key under `alarms`.
    pub fn key(self) -> &'static str {
        match self {
            AlarmKind::Errors5xx => "errors_5xx",
            AlarmKind::LatencyP99 => "latency_p99",
            AlarmKind::Cpu => "cpu",
            AlarmKind::Memory => "memory",
            AlarmKind::Disk => "disk",
            AlarmKind::InvocationsPerInstance => "invocations_per_instance",
        }
    }

    fn id_part(self) -> &'static str {
        match self {
            AlarmKind::Errors5xx => "Errors5xx",
            AlarmKind::LatencyP99 => "LatencyP99",
            AlarmKind::Cpu => "Cpu",
            AlarmKind::Memory => "Memory",
            AlarmKind::Disk => "Disk",
            AlarmKind::InvocationsPerInstance => "InvocationsPerInstance",
        }
    }

    fn name_part(self) -> &'static str {
        match self {
            AlarmKind::Errors5xx => "5xx-errors",
            AlarmKind::LatencyP99 => "latency-p99",
            AlarmKind::Cpu => "cpu",
            AlarmKind::Memory => "memory",
            AlarmKind::Disk => "disk",
            AlarmKind::InvocationsPerInstance => "invocations-per-instance",
        }
    }
}

/// The logical ids of one variant of an endpoint. The single variant of an
/// endpoint written without `variants` keeps the endpoint's own ids
/// (`DogbreedModel`), so that writing it out as a table is the only change
/// that renames them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VariantIds {
    pub model: String,
    pub scalable_target: String,
    pub scaling_policy: String,
    /// `{prefix}{kind}Alarm` for each kind of alarm.
    pub alarm_prefix: String,
}

impl VariantIds {
    /// `variant` is `None` for the endpoint's implicit single variant.
    pub fn of(endpoint: &str, variant: Option<&str>) -> Self {
        let p = format!(
            "{}{}",
            pascal_case(endpoint),
            variant.map(pascal_case).unwrap_or_default()
        );
        Self {
            model: format!("{p}Model"),
            scalable_target: format!("{p}ScalableTarget"),
            scaling_policy: format!("{p}ScalingPolicy"),
            alarm_prefix: p,
        }
    }

    pub fn alarm(&self, kind: AlarmKind) -> String {
        format!("{}{}Alarm", self.alarm_prefix, kind.id_part())
    }

    pub fn claims(&self) -> Vec<(Scope, &str)> {
        let resource = Scope::Resource(Layer::Serving);
        vec![
            (resource, &self.model),
            (resource, &self.scalable_target),
            (resource, &self.scaling_policy),
        ]
    }
}

/// The logical ids of an endpoint's data-quality monitoring in the serving stack.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorIds {
    pub job_definition: String,
    pub schedule: String,
}

impl MonitorIds {
    pub fn of(endpoint: &str) -> Self {
        let p = pascal_case(endpoint);
        Self {
            job_definition: format!("{p}DataQualityJobDefinition"),
            schedule: format!("{p}MonitoringSchedule"),
        }
    }
}

/// The logical ids of an invoker's role in the IAM stack.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InvokerIds {
    pub role: String,
    pub arn_output: String,
}

impl InvokerIds {
    pub fn of(invoker: &str) -> Self {
        let role = format!("{}InvokerRole", pascal_case(invoker));
        Self {
            arn_output: format!("{role}Arn"),
            role,
        }
    }

    pub fn claims(&self) -> Vec<(Scope, &str)> {
        vec![
            (Scope::Resource(Layer::Iam), &self.role),
            (Scope::Output(Layer::Iam), &self.arn_output),
        ]
    }
}

/// The physical names of one environment, from its project, name, account and region.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    pub project: &'a str,
    pub env: &'a str,
    pub account: &'a str,
    pub region: &'a str,
}

/// `{project}-{env}` as part of a longer name.
struct Prefix<'a>(&'a str, &'a str);

impl fmt::Display for Prefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.0, self.1)
    }
}

impl Names<'_> {
    /// `{project}-{env}`: the prefix of every stack and resource name.
    pub fn prefix(&self) -> String {
        self.prefix_in_place().to_string()
    }

    /// The prefix written straight into the name that starts with it.
    fn prefix_in_place(&self) -> Prefix<'_> {
        Prefix(self.project, self.env)
    }

    pub fn stack(&self, layer: Layer) -> String {
        format!("{}-{layer}", self.prefix_in_place())
    }

    pub fn zone_bucket(&self, zone: &str) -> String {
        format!(
            "{}-{zone}-{}-{}",
            self.prefix_in_place(),
            self.account,
            self.region
        )
    }

    /// The access-log bucket: what a zone named `access-logs` would be called.
    pub fn log_bucket(&self) -> String {
        self.zone_bucket(RESERVED_LOG_ZONE)
    }

    pub fn key_alias(&self) -> String {
        format!("alias/{}-data", self.prefix_in_place())
    }

    pub fn execution_role(&self) -> String {
        format!("{}-sagemaker-execution", self.prefix_in_place())
    }

    /// The role of the environment's SageMaker models: reads models, never writes them.
    pub fn serving_role(&self) -> String {
        format!("{}-sagemaker-serving", self.prefix_in_place())
    }

    /// The role of the data-quality monitoring jobs.
    pub fn monitor_role(&self) -> String {
        format!("{}-sagemaker-monitor", self.prefix_in_place())
    }

    /// The CloudWatch dashboard of the environment's endpoints.
    pub fn dashboard(&self) -> String {
        format!("{}-serving", self.prefix_in_place())
    }

    pub fn pipeline_role(&self) -> String {
        format!("{}-training-pipeline", self.prefix_in_place())
    }

    /// The role builds assume to deploy this environment (`mlinfra bootstrap`).
    pub fn deploy_role(&self) -> String {
        format!("{}-deploy", self.prefix_in_place())
    }

    /// CloudFormation's execution role for this environment's stacks (`mlinfra bootstrap`).
    pub fn cloudformation_role(&self) -> String {
        format!("{}-cloudformation", self.prefix_in_place())
    }

    /// The stack holding those two roles.
    pub fn bootstrap_stack(&self) -> String {
        format!("{}-bootstrap", self.prefix_in_place())
    }

    pub fn invoker_role(&self, invoker: &str) -> String {
        format!("{}-invoke-{invoker}", self.prefix_in_place())
    }

    pub fn role_arn(&self, role: &str) -> String {
        format!("arn:aws:iam::{}:role/{role}", self.account)
    }

    pub fn account_root_arn(&self) -> String {
        format!("arn:aws:iam::{}:root", self.account)
    }

    pub fn pipeline(&self, job: &str) -> String {
        format!("{}-{job}", self.prefix_in_place())
    }

    pub fn endpoint(&self, endpoint: &str) -> String {
        format!("{}-{endpoint}", self.prefix_in_place())
    }

    pub fn endpoint_arn(&self, endpoint_name: &str) -> String {
        // SageMaker lower-cases endpoint names in ARNs.
        format!(
            "arn:aws:sagemaker:{}:{}:endpoint/{}",
            self.region,
            self.account,
            endpoint_name.to_ascii_lowercase()
        )
    }

    /// The target-tracking policy of a variant (`None`: the implicit single variant).
    pub fn scaling_policy(&self, endpoint_name: &str, variant: Option<&str>) -> String {
        match variant {
            None => format!("{endpoint_name}-target-tracking"),
            Some(v) => format!("{endpoint_name}-{v}-target-tracking"),
        }
    }

    /// A variant's CloudWatch alarm: `{endpoint}-{variant}-{what}`.
    pub fn alarm(&self, endpoint_name: &str, variant: &str, kind: AlarmKind) -> String {
        format!("{endpoint_name}-{variant}-{}", kind.name_part())
    }

    /// The SNS topic the serving alarms notify.
    pub fn alarm_topic(&self) -> String {
        format!("{}-serving-alarms", self.prefix_in_place())
    }

    pub fn key_arn_export(&self) -> String {
        format!("{}-{}", self.stack(Layer::Data), fixed::KEY_ARN_OUTPUT)
    }

    pub fn execution_role_arn_export(&self) -> String {
        format!(
            "{}-{}",
            self.stack(Layer::Iam),
            fixed::EXECUTION_ROLE_ARN_OUTPUT
        )
    }

    pub fn serving_role_arn_export(&self) -> String {
        format!(
            "{}-{}",
            self.stack(Layer::Iam),
            fixed::SERVING_ROLE_ARN_OUTPUT
        )
    }

    pub fn monitor_role_arn_export(&self) -> String {
        format!(
            "{}-{}",
            self.stack(Layer::Iam),
            fixed::MONITOR_ROLE_ARN_OUTPUT
        )
    }

    /// `s3.{region}.amazonaws.com` and the like: the `kms:ViaService` values.
    pub fn service_endpoint(&self, service: &str) -> String {
        format!("{service}.{}.amazonaws.com", self.region)
    }
}

/// The zone name the access-log bucket's name is built from.
pub const RESERVED_LOG_ZONE: &str = "access-logs";

/// The one log group SageMaker writes every training job's logs to, per
/// account and region.
pub const TRAINING_LOG_GROUP: &str = "/aws/sagemaker/TrainingJobs";

pub fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

pub fn objects_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}/*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_ids_are_alphanumeric_pascal_case() {
        assert_eq!(pascal_case("dog-breed_v2"), "DogBreedV2");
        assert_eq!(pascal_case("raw"), "Raw");
        assert_eq!(pascal_case("raw1"), pascal_case("raw-1"));
    }

    #[test]
    fn names_of_an_environment() {
        let names = Names {
            project: "p",
            env: "dev",
            account: "123456789012",
            region: "us-east-1",
        };
        assert_eq!(names.stack(Layer::Serving), "p-dev-serving");
        assert_eq!(
            names.log_bucket(),
            "p-dev-access-logs-123456789012-us-east-1"
        );
        assert_eq!(names.key_arn_export(), "p-dev-data-KeyArn");
        assert_eq!(
            names.execution_role_arn_export(),
            "p-dev-iam-ExecutionRoleArn"
        );
        assert_eq!(
            names.endpoint_arn("p-dev-Ep"),
            "arn:aws:sagemaker:us-east-1:123456789012:endpoint/p-dev-ep"
        );
    }

    #[test]
    fn a_zone_named_access_log_derives_the_log_buckets_ids() {
        let ids = ZoneIds::of("access-log");
        let reserved = reserved_logical_ids();
        for (scope, id) in ids.claims() {
            assert!(
                reserved.iter().any(|(s, r, _)| *s == scope && *r == id),
                "{id}"
            );
        }
    }
}
