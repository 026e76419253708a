//! The SageMaker pipeline definition of a training job: a JSON document that
//! CloudFormation passes through as a string. It is built here, typed, rather
//! than in a template, because it is a string inside the template.
//!
//! The only CloudFormation value inside is the data key's ARN (`${KeyArn}`,
//! filled by `Fn::Sub`); every user-supplied `${` is escaped as `${!`.

use serde_json::{Map, Value, json};

use crate::config::Env;
use crate::config::env::TrainingJob;
use crate::config::rules;

/// Placeholder substituted by `Fn::Sub` in the training template.
pub const KEY_ARN_VARIABLE: &str = "${KeyArn}";

/// `Fn::Sub` would read `${x}` in user text as a variable; `${!x}` is its literal form.
fn literal(text: &str) -> String {
    text.replace("${", "${!")
}

pub fn definition(env: &Env, job: &TrainingJob) -> String {
    let mut resources = json!({
        "InstanceType": job.instance_type,
        "InstanceCount": job.instance_count,
        "VolumeSizeInGB": job.volume_gb,
    });
    if !rules::has_instance_storage(&job.instance_type) {
        resources["VolumeKmsKeyId"] = json!(KEY_ARN_VARIABLE);
    }
    let mut stopping = json!({ "MaxRuntimeInSeconds": job.max_runtime_seconds });
    if let Some(spot) = &job.spot {
        stopping["MaxWaitTimeInSeconds"] = json!(spot.max_wait_seconds);
    }
    let hyperparameters: Map<String, Value> = job
        .hyperparameters
        .iter()
        .map(|(k, v)| (literal(k), Value::String(literal(v))))
        .collect();
    let arguments = json!({
        "AlgorithmSpecification": {
            "TrainingImage": literal(&job.image.uri),
            "TrainingInputMode": "File",
        },
        "RoleArn": env.execution_role_arn(),
        "HyperParameters": hyperparameters,
        "InputDataConfig": [{
            "ChannelName": "training",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": literal(&job.input.uri()),
                    "S3DataDistributionType": "FullyReplicated",
                }
            }
        }],
        "OutputDataConfig": {
            "S3OutputPath": literal(&job.output.uri()),
            "KmsKeyId": KEY_ARN_VARIABLE,
        },
        "ResourceConfig": resources,
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": job.spot.is_some(),
        "CheckpointConfig": { "S3Uri": literal(&job.checkpoints.uri()) },
        "EnableNetworkIsolation": job.network_isolation,
        "EnableInterContainerTrafficEncryption": job.instance_count > 1,
        "Tags": [
            { "Key": "mlinfra:env", "Value": env.name },
            { "Key": "mlinfra:project", "Value": env.project },
            { "Key": "mlinfra:training-job", "Value": job.name },
        ],
    });
    let mut document = json!({
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [],
        "Steps": [{ "Name": "Train", "Type": "Training", "Arguments": arguments }],
    });
    crate::template::sort_keys(&mut document);
    serde_json::to_string(&document).expect("a JSON value always serialises")
}
