//! The validated environment: every value checked, every name derived. This is
//! what the rest of the program works from; it never sees raw config.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::instances;
use super::names::{EndpointIds, Names, ZoneIds};

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
    pub accepted_findings: BTreeMap<String, String>,
    /// Price overrides, USD per hour by instance type.
    pub prices: BTreeMap<String, f64>,
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

/// A location inside the data lake: `curated/dog-images/` → zone `curated`, prefix `dog-images/`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct S3Location {
    pub zone: String,
    pub bucket: String,
    pub key: String,
}

impl S3Location {
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
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
    pub input: S3Location,
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
    /// Every logical id of the endpoint in the serving stack.
    pub ids: EndpointIds,
    /// Name of the target-tracking policy.
    pub scaling_policy_name: String,
    pub image: ImageUri,
    pub model_data: S3Location,
    pub instance_type: String,
    pub initial_instance_count: u32,
    pub network_isolation: bool,
    pub network_isolation_reason: Option<String>,
    pub autoscaling: Option<Autoscaling>,
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
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum ScalingMetric {
    /// `SageMakerVariantInvocationsPerInstance`
    InvocationsPerInstance,
    /// CPU utilisation of the variant's instances (a customized metric).
    CpuUtilization,
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

impl Endpoint {
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

    fn endpoint(instance_type: &str, metric: ScalingMetric, target: f64) -> Endpoint {
        Endpoint {
            name: "ep".into(),
            endpoint_name: "p-e-ep".into(),
            ids: EndpointIds::of("ep"),
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
            }),
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
