//! The validated environment: every value checked, every name derived. This is
//! what the rest of the program works from; it never sees raw config.

use std::collections::BTreeMap;

use serde::Serialize;

/// One deployable environment (for example `prod`), fully validated.
#[derive(Debug, Clone, Serialize, PartialEq)]
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
    pub data_lake: DataLake,
    pub training: Vec<TrainingJob>,
    pub endpoints: Vec<Endpoint>,
    pub invokers: Vec<Invoker>,
    pub accepted_findings: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DataLake {
    pub zones: Vec<Zone>,
    pub noncurrent_versions_expire_days: u32,
    pub abort_incomplete_upload_days: u32,
    pub access_logs_expire_days: u32,
    pub log_bucket: String,
    pub key_alias: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Zone {
    pub name: String,
    /// Derived, globally unique bucket name: `{project}-{env}-{zone}-{account}-{region}`.
    pub bucket: String,
    /// Logical id in the data stack, e.g. `CuratedBucket`.
    pub logical_id: String,
    pub glacier_after_days: Option<u32>,
}

/// A location inside the data lake: `curated/dog-images/` → zone `curated`, prefix `dog-images/`.
#[derive(Debug, Clone, Serialize, PartialEq)]
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

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrainingJob {
    pub name: String,
    /// `{project}-{env}-{job}`: the SageMaker pipeline name.
    pub pipeline_name: String,
    pub logical_id: String,
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

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Spot {
    pub max_wait_seconds: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Endpoint {
    pub name: String,
    /// `{project}-{env}-{endpoint}`: the SageMaker endpoint name.
    pub endpoint_name: String,
    pub logical_prefix: String,
    pub image: ImageUri,
    pub model_data: S3Location,
    pub instance_type: String,
    pub initial_instance_count: u32,
    pub network_isolation: bool,
    pub network_isolation_reason: Option<String>,
    pub autoscaling: Option<Autoscaling>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Autoscaling {
    pub min: u32,
    pub max: u32,
    pub metric: ScalingMetric,
    pub target: f64,
    pub scale_in_cooldown_seconds: u64,
    pub scale_out_cooldown_seconds: u64,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub enum ScalingMetric {
    /// `SageMakerVariantInvocationsPerInstance`
    InvocationsPerInstance,
    /// CPU utilisation of the variant's instances (a customized metric).
    CpuUtilization,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Invoker {
    pub name: String,
    pub role_name: String,
    pub logical_id: String,
    pub service: String,
    pub endpoints: Vec<String>,
}

/// An ECR image URI split into the parts IAM policies need.
#[derive(Debug, Clone, Serialize, PartialEq)]
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
    /// `{project}-{env}`: the prefix of every stack and resource name.
    pub fn prefix(&self) -> String {
        format!("{}-{}", self.project, self.name)
    }

    pub fn execution_role_name(&self) -> String {
        format!("{}-sagemaker-execution", self.prefix())
    }

    pub fn pipeline_role_name(&self) -> String {
        format!("{}-training-pipeline", self.prefix())
    }

    pub fn execution_role_arn(&self) -> String {
        format!("arn:aws:iam::{}:role/{}", self.account_id, self.execution_role_name())
    }

    pub fn pipeline_role_arn(&self) -> String {
        format!("arn:aws:iam::{}:role/{}", self.account_id, self.pipeline_role_name())
    }

    pub fn zone(&self, name: &str) -> Option<&Zone> {
        self.data_lake.zones.iter().find(|z| z.name == name)
    }

    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }
}

/// `dog-breed_v2` → `DogBreedV2`: CloudFormation logical ids are alphanumeric.
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

#[cfg(test)]
mod tests {
    use super::pascal_case;

    #[test]
    fn logical_ids_are_alphanumeric_pascal_case() {
        assert_eq!(pascal_case("dog-breed_v2"), "DogBreedV2");
        assert_eq!(pascal_case("raw"), "Raw");
    }
}
