//! The environment's VPC: where training jobs and models run, and how those
//! subnets reach S3 (which `check` cannot see, so the configuration says it).

use serde::{Deserialize, Serialize};

/// `VpcConfig` of every training job (and tuning job definition) and model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Network {
    /// `subnet-…`, in the order written.
    pub subnets: Vec<String>,
    /// `sg-…`, in the order written.
    pub security_groups: Vec<String>,
    /// How the subnets reach S3; `None` when the configuration does not say.
    pub s3: Option<S3Access>,
}

/// SageMaker downloads inputs and uploads models through the job's subnets:
/// a private subnet without a route to S3 fails the job at its first download.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum S3Access {
    /// An S3 gateway endpoint of the subnets' VPC (`vpce-…`).
    Endpoint(String),
    /// A NAT or internet gateway route.
    Nat,
}

impl Network {
    /// The ARNs IAM conditions and resources name: `arn:aws:ec2:{region}:{account}:subnet/{id}`.
    pub fn subnet_arns(&self, region: &str, account: &str) -> Vec<String> {
        self.subnets
            .iter()
            .map(|s| format!("arn:aws:ec2:{region}:{account}:subnet/{s}"))
            .collect()
    }

    pub fn security_group_arns(&self, region: &str, account: &str) -> Vec<String> {
        self.security_groups
            .iter()
            .map(|g| format!("arn:aws:ec2:{region}:{account}:security-group/{g}"))
            .collect()
    }

    /// The `VpcConfig` value of a training job, tuning job definition or model.
    pub fn vpc_config(&self) -> serde_json::Value {
        serde_json::json!({
            "SecurityGroupIds": self.security_groups,
            "Subnets": self.subnets,
        })
    }
}

/// `{prefix}[0-9a-z]+`, at most 32 characters (botocore's `SubnetId` and
/// `SecurityGroupId` allow 32; EC2 ids are the prefix and 8 or 17 hex digits).
pub fn id_problem(id: &str, prefix: &str) -> Option<String> {
    let valid = id.len() <= 32
        && id.strip_prefix(prefix).is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        });
    (!valid).then(|| {
        format!("expected an id like {prefix}0123456789abcdef0 (at most 32 characters), got {id:?}")
    })
}
