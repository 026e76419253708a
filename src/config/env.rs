//! The validated environment: every value checked, every name derived. This is
//! what the rest of the program works from; it never sees raw config.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::instances;
pub use super::location::S3Location;
use super::names::{AlarmKind, EndpointIds, Names, VariantIds, ZoneIds};
use super::serving::{DataCapture, Monitor, ScheduledAction, Serverless};
use super::training::{Channel, Metric, TrainingCode, Tuning};

/// One deployable environment (for example `prod`), fully validated.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Env {
    /// The environment's file stem: `environments/prod.toml` → `prod`.
    pub name: String,
    pub project: String,
    pub account_id: String,
    pub region: String,
    /// User tags; the `mlinfra:*` tags are added per resource at render time.
    pub tags: BTreeMap<String, String>,
    pub termination_protection: bool,
    pub artifacts_bucket: Option<String>,
    /// How mlinfra reaches the environment's account.
    #[serde(default)]
    pub access: Access,
    pub data_lake: DataLake,
    pub training: Vec<TrainingJob>,
    pub endpoints: Vec<Endpoint>,
    pub invokers: Vec<Invoker>,
    /// Subscriptions of the serving alarms' topic.
    pub notifications: Notifications,
    pub accepted_findings: BTreeMap<String, String>,
    /// Price overrides, USD per hour by instance type.
    pub prices: BTreeMap<String, f64>,
    /// The VPC training jobs and models run in; `None`: SageMaker's own network.
    #[serde(default)]
    pub network: Option<super::network::Network>,
    /// `[env.targets]`: the bootstrap stack deploys as a StackSet over these.
    /// Absent from plan files of environments without one, so their digests stay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<super::fleet::Fleet>,
    /// The execution role's inline policies, built once: validation sizes
    /// them, the IAM template inserts them. Derived, so never serialised.
    #[serde(skip)]
    pub(super) execution_policies: Derived<Vec<super::policy_document::InlinePolicy>>,
}

/// A value derived from the rest of the environment on first use: not part
/// of what the environment is, so two environments are equal whatever their
/// derived values hold.
#[derive(Clone, Default)]
pub struct Derived<T>(std::sync::OnceLock<T>);

impl<T> Derived<T> {
    pub(super) fn get_or_init(&self, derive: impl FnOnce() -> T) -> &T {
        self.0.get_or_init(derive)
    }
}

impl<T> PartialEq for Derived<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> std::fmt::Debug for Derived<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(derived)")
    }
}

/// The roles through which an environment is deployed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Access {
    /// Assumed for every AWS call of plan, apply, drift and the others.
    pub deploy_role_arn: Option<String>,
    pub external_id: Option<String>,
    /// The service role passed to CloudFormation with each change set.
    pub cloudformation_role_arn: Option<String>,
    /// The account trusted to assume the deploy role.
    pub delivery_account_id: String,
}

impl Access {
    /// The role session name: says which tool and environment made a call
    /// (CloudTrail shows it), within STS's 64 characters.
    pub fn session_name(env: &str) -> String {
        let mut name = format!("mlinfra-{env}");
        name.truncate(64);
        name
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataLake {
    pub zones: Vec<Zone>,
    pub noncurrent_versions_expire_days: u32,
    pub abort_incomplete_upload_days: u32,
    pub access_logs_expire_days: u32,
    pub log_bucket: String,
    pub key_alias: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Zone {
    pub name: String,
    /// Derived, globally unique bucket name: `{project}-{env}-{zone}-{account}-{region}`.
    pub bucket: String,
    /// Logical ids in the data stack, e.g. `CuratedBucket`.
    pub ids: ZoneIds,
    pub glacier_after_days: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainingJob {
    pub name: String,
    /// `{project}-{env}-{job}`: the SageMaker pipeline name.
    pub pipeline_name: String,
    /// The pipeline's logical id in the training stack, e.g. `DogbreedPipeline`.
    pub logical_id: String,
    /// The output carrying the pipeline's name.
    pub name_output: String,
    pub image: ImageUri,
    pub instance_type: String,
    pub gpu: bool,
    pub instance_count: u32,
    pub volume_gb: u32,
    pub max_runtime_seconds: u64,
    /// Input channels, in name order.
    pub channels: Vec<Channel>,
    /// The script and package a framework image runs; `None` for images with the code inside.
    pub code: Option<TrainingCode>,
    pub metrics: Vec<Metric>,
    pub tuning: Option<Tuning>,
    pub output: S3Location,
    pub checkpoints: S3Location,
    pub hyperparameters: BTreeMap<String, String>,
    pub spot: Option<Spot>,
    pub network_isolation: bool,
    pub network_isolation_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Spot {
    pub max_wait_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Endpoint {
    pub name: String,
    /// `{project}-{env}-{endpoint}`: the SageMaker endpoint name.
    pub endpoint_name: String,
    /// The logical ids of the endpoint and its config in the serving stack.
    pub ids: EndpointIds,
    /// Production variants (1–10), in the order they are rendered.
    pub variants: Vec<Variant>,
    /// At most one, and then beside exactly one production variant.
    pub shadow_variants: Vec<Variant>,
    /// Blue/green guardrails for updates; `None`: SageMaker's default
    /// (blue/green, all at once, no baking, no rollback alarms).
    pub deployment: Option<Deployment>,
    /// Requests and responses captured to the data lake.
    #[serde(default)]
    pub data_capture: Option<DataCapture>,
    /// A data-quality monitoring schedule over the captured data.
    #[serde(default)]
    pub monitor: Option<Monitor>,
    /// Who sets the live weights and instance counts of the variants.
    #[serde(default)]
    pub traffic: TrafficControl,
}

/// `traffic = "config" | "external"`: whether the configuration sets the
/// variants' weights and instance counts (drift reports a live value that
/// differs), or something outside it does (`mlinfra traffic`, a release
/// tool): drift then leaves them alone and deploys retain them.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TrafficControl {
    #[default]
    Config,
    External,
}

impl TrafficControl {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "config" => Some(TrafficControl::Config),
            "external" => Some(TrafficControl::External),
            _ => None,
        }
    }
}

/// One variant of an endpoint: its own model, capacity and traffic weight.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Variant {
    /// The SageMaker variant name (`AllTraffic` for a single-variant endpoint).
    pub name: String,
    pub ids: VariantIds,
    /// Name of the target-tracking policy.
    pub scaling_policy_name: String,
    pub image: ImageUri,
    pub model_data: S3Location,
    pub instance_type: String,
    pub initial_instance_count: u32,
    /// `InitialVariantWeight`: traffic share is weight / sum of weights.
    pub weight: f64,
    pub network_isolation: bool,
    pub network_isolation_reason: Option<String>,
    pub autoscaling: Option<Autoscaling>,
    /// CloudWatch alarms on this variant (empty when the endpoint has none).
    pub alarms: Vec<Alarm>,
    /// Serverless capacity instead of instances: `instance_type` is then
    /// empty and `initial_instance_count` 0.
    #[serde(default)]
    pub serverless: Option<Serverless>,
}

/// An alarm as a plan file holds it. Its metric names are a handful of
/// short strings, read once per process (apply --plan without a checkout),
/// so keeping them for the life of the process costs nothing.
#[derive(Deserialize)]
struct AlarmFile {
    kind: AlarmKind,
    logical_id: String,
    alarm_name: String,
    namespace: String,
    metric: String,
    statistic: String,
    extended: bool,
    threshold: f64,
    metric_threshold: f64,
    period_seconds: u64,
    evaluation_periods: u32,
    description: String,
}

impl<'de> Deserialize<'de> for Alarm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        AlarmFile::deserialize(d).map(Alarm::from)
    }
}

impl From<AlarmFile> for Alarm {
    fn from(f: AlarmFile) -> Self {
        let keep = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        Self {
            kind: f.kind,
            logical_id: f.logical_id,
            alarm_name: f.alarm_name,
            namespace: keep(f.namespace),
            metric: keep(f.metric),
            statistic: keep(f.statistic),
            extended: f.extended,
            threshold: f.threshold,
            metric_threshold: f.metric_threshold,
            period_seconds: f.period_seconds,
            evaluation_periods: f.evaluation_periods,
            description: f.description,
        }
    }
}

/// A CloudWatch alarm on a variant's metric, above a threshold.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Alarm {
    pub kind: AlarmKind,
    pub logical_id: String,
    pub alarm_name: String,
    pub namespace: &'static str,
    pub metric: &'static str,
    /// `Statistic` (Sum, Average) or, for percentiles, `ExtendedStatistic`.
    pub statistic: &'static str,
    pub extended: bool,
    /// The value as written (ms for latency, percent per instance for CPU).
    pub threshold: f64,
    /// The alarm's `Threshold` in the metric's own unit (µs, percent × vCPUs).
    pub metric_threshold: f64,
    pub period_seconds: u64,
    pub evaluation_periods: u32,
    pub description: String,
}

/// How SageMaker shifts traffic to the new fleet during an update.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TrafficShift {
    AllAtOnce,
    /// Shift `percent` of capacity, bake, then the rest.
    Canary {
        percent: u32,
    },
    /// Shift `percent` of capacity per step.
    Linear {
        percent: u32,
    },
}

impl TrafficShift {
    pub fn routing_type(self) -> &'static str {
        match self {
            TrafficShift::AllAtOnce => "ALL_AT_ONCE",
            TrafficShift::Canary { .. } => "CANARY",
            TrafficShift::Linear { .. } => "LINEAR",
        }
    }

    /// Steps in which traffic moves: 1, 2, or ⌈100 / step⌉.
    pub fn steps(self) -> u32 {
        match self {
            TrafficShift::AllAtOnce => 1,
            TrafficShift::Canary { .. } => 2,
            TrafficShift::Linear { percent } => 100_u32.div_ceil(percent.max(1)),
        }
    }
}

/// The endpoint's `DeploymentConfig`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Deployment {
    pub shift: TrafficShift,
    pub wait_seconds: u64,
    pub termination_wait_seconds: u64,
    pub max_execution_seconds: u64,
    /// Alarm names that roll the update back (1–10, or none).
    pub rollback_alarms: Vec<RollbackAlarm>,
}

/// An alarm the deployment watches: one of the endpoint's own (a `Ref` to
/// it, so the alarm exists first) or one named in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RollbackAlarm {
    pub name: String,
    pub logical_id: Option<String>,
}

impl Deployment {
    /// The waits of a deployment: a baking period after each traffic step
    /// (the last one before the old fleet may go), then the termination
    /// wait. Provisioning the new fleet comes on top; SageMaker wants
    /// `MaximumExecutionTimeoutInSeconds` above this.
    pub fn waiting_seconds(&self) -> u64 {
        u64::from(self.shift.steps()) * self.wait_seconds + self.termination_wait_seconds
    }
}

impl Endpoint {
    /// Production and shadow variants.
    pub fn all_variants(&self) -> impl Iterator<Item = &Variant> {
        self.variants.iter().chain(&self.shadow_variants)
    }

    pub fn alarms(&self) -> impl Iterator<Item = &Alarm> {
        self.all_variants().flat_map(|v| &v.alarms)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Autoscaling {
    pub min: u32,
    pub max: u32,
    pub metric: ScalingMetric,
    /// As written: invocations per instance, or average CPU percent per instance.
    pub target: f64,
    /// The policy's `TargetValue`. SageMaker sums `CPUUtilization` over the
    /// vCPUs of an instance (0–400 % on 4 vCPUs), so a CPU target is the
    /// written percentage times the instance type's vCPUs.
    pub target_value: f64,
    pub scale_in_cooldown_seconds: u64,
    pub scale_out_cooldown_seconds: u64,
    /// Scheduled changes of `min`/`max`, each inside them.
    #[serde(default)]
    pub schedule: Vec<ScheduledAction>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum ScalingMetric {
    /// `SageMakerVariantInvocationsPerInstance`
    InvocationsPerInstance,
    /// CPU utilisation of the variant's instances (a customized metric).
    CpuUtilization,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Notifications {
    pub email: Vec<String>,
    pub https: Vec<String>,
}

impl Env {
    /// The serving stack has an alarm topic when any alarm or subscription needs one.
    pub fn has_alarm_topic(&self) -> bool {
        self.endpoints.iter().any(|e| e.alarms().next().is_some())
            || !self.notifications.email.is_empty()
            || !self.notifications.https.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Invoker {
    pub name: String,
    pub role_name: String,
    pub logical_id: String,
    /// The output carrying the role's ARN.
    pub arn_output: String,
    pub service: String,
    pub endpoints: Vec<String>,
}

/// An ECR image URI split into the parts IAM policies need.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImageUri {
    pub uri: String,
    pub registry_account: String,
    pub registry_region: String,
    pub repository: String,
}

impl ImageUri {
    pub fn repository_arn(&self) -> String {
        format!(
            "arn:aws:ecr:{}:{}:repository/{}",
            self.registry_region, self.registry_account, self.repository
        )
    }
}

impl Env {
    /// The names derived from this environment's project, name, account and region.
    pub fn names(&self) -> Names<'_> {
        Names {
            project: &self.project,
            env: &self.name,
            account: &self.account_id,
            region: &self.region,
        }
    }

    /// `{project}-{env}`: the prefix of every stack and resource name.
    pub fn prefix(&self) -> String {
        self.names().prefix()
    }

    pub fn execution_role_name(&self) -> String {
        self.names().execution_role()
    }

    /// The role names the IAM stack renders for this environment.
    pub fn iam_role_names(&self) -> Vec<String> {
        let names = self.names();
        [self.execution_role_name(), self.pipeline_role_name()]
            .into_iter()
            .chain((!self.endpoints.is_empty()).then(|| names.serving_role()))
            .chain(
                self.endpoints
                    .iter()
                    .any(|e| e.monitor.is_some())
                    .then(|| names.monitor_role()),
            )
            .chain(self.invokers.iter().map(|i| i.role_name.clone()))
            .collect()
    }

    pub fn pipeline_role_name(&self) -> String {
        self.names().pipeline_role()
    }

    pub fn execution_role_arn(&self) -> String {
        self.names().role_arn(&self.execution_role_name())
    }

    pub fn pipeline_role_arn(&self) -> String {
        self.names().role_arn(&self.pipeline_role_name())
    }

    pub fn zone(&self, name: &str) -> Option<&Zone> {
        self.data_lake.zones.iter().find(|z| z.name == name)
    }

    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }
}

/// The `TargetValue` of a per-instance CPU percentage on `instance_type`
/// (`None` for a type the catalogue does not know).
pub fn cpu_target_value(percent: f64, instance_type: &str) -> Option<f64> {
    instances::vcpus(instance_type).map(|vcpus| percent * f64::from(vcpus))
}

/// A CPU scaling target that moves because the instance type changes: the
/// same written percentage renders a different `TargetValue`.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuTargetChange {
    pub percent: f64,
    pub from_type: String,
    pub from_vcpus: u32,
    pub from_value: f64,
    pub to_type: String,
    pub to_vcpus: u32,
    pub to_value: f64,
}

impl std::fmt::Display for CpuTargetChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CPU scaling target {}% per instance renders as TargetValue {} on {} ({} vCPUs), was {} on {} ({} vCPUs)",
            self.percent,
            self.to_value,
            self.to_type,
            self.to_vcpus,
            self.from_value,
            self.from_type,
            self.from_vcpus
        )
    }
}

impl Variant {
    /// What a plan warns about when the deployed variant runs
    /// `deployed_instance_type` and this configuration changes it: the CPU
    /// target's rendered value changes with the vCPU count. `None` when the
    /// endpoint does not scale on CPU or the vCPU count stays the same.
    pub fn cpu_target_change(&self, deployed_instance_type: &str) -> Option<CpuTargetChange> {
        let scaling = self.autoscaling.as_ref()?;
        if scaling.metric != ScalingMetric::CpuUtilization {
            return None;
        }
        let from_vcpus = instances::vcpus(deployed_instance_type)?;
        let to_vcpus = instances::vcpus(&self.instance_type)?;
        (from_vcpus != to_vcpus).then(|| CpuTargetChange {
            percent: scaling.target,
            from_type: deployed_instance_type.to_string(),
            from_vcpus,
            from_value: scaling.target * f64::from(from_vcpus),
            to_type: self.instance_type.clone(),
            to_vcpus,
            to_value: scaling.target_value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(instance_type: &str, metric: ScalingMetric, target: f64) -> Variant {
        Variant {
            name: "AllTraffic".into(),
            ids: VariantIds::of("ep", None),
            weight: 1.0,
            alarms: Vec::new(),
            scaling_policy_name: "p-e-ep-target-tracking".into(),
            image: crate::config::validate::parse_ecr_image(
                "763104351884.dkr.ecr.us-east-1.amazonaws.com/repo:1",
            )
            .unwrap(),
            model_data: S3Location {
                zone: "models".into(),
                bucket: "b".into(),
                key: "m.tar.gz".into(),
            },
            instance_type: instance_type.into(),
            initial_instance_count: 1,
            network_isolation: true,
            network_isolation_reason: None,
            autoscaling: Some(Autoscaling {
                min: 1,
                max: 2,
                metric,
                target,
                target_value: cpu_target_value(target, instance_type).unwrap(),
                scale_in_cooldown_seconds: 300,
                scale_out_cooldown_seconds: 300,
                schedule: Vec::new(),
            }),
            serverless: None,
        }
    }

    #[test]
    fn a_vcpu_change_changes_the_rendered_cpu_target() {
        let to = endpoint("ml.c5.2xlarge", ScalingMetric::CpuUtilization, 60.0);
        let change = to.cpu_target_change("ml.c5.xlarge").unwrap();
        assert_eq!(
            (
                change.from_value,
                change.to_value,
                change.from_vcpus,
                change.to_vcpus
            ),
            (240.0, 480.0, 4, 8)
        );
        assert!(change.to_string().contains("TargetValue 480"), "{change}");
        // Same vCPUs (another family): the target stays.
        assert_eq!(to.cpu_target_change("ml.m5.2xlarge"), None);
        // Invocations per instance do not depend on the instance type.
        let invocations = endpoint("ml.c5.2xlarge", ScalingMetric::InvocationsPerInstance, 60.0);
        assert_eq!(invocations.cpu_target_change("ml.c5.xlarge"), None);
    }
}
