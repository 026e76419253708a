//! The SageMaker pipeline definition of a training job: a JSON document that
//! CloudFormation passes through as a string. It is built here, typed, rather
//! than in a template, because it is a string inside the template.
//!
//! The only CloudFormation value inside is the data key's ARN (`${KeyArn}`,
//! filled by `Fn::Sub`); every user-supplied `${` is escaped as `${!`.
//!
//! A job renders one `Training` step, or with `tuning` one `Tuning` step whose
//! training-job definition is the same job.

use serde_json::{Map, Value, json};

use crate::config::Env;
use crate::config::env::TrainingJob;
use crate::config::instances;
use crate::config::training::{CODE_CHANNEL, Channel, Compression, InputMode, RangeKind, Tuning};

/// Placeholder substituted by `Fn::Sub` in the training template.
pub const KEY_ARN_VARIABLE: &str = "${KeyArn}";
/// The step's name: pipeline executions list their steps by it.
pub const TRAINING_STEP: &str = "Train";
pub const TUNING_STEP: &str = "Tune";
/// Where the code channel puts the package inside the container (the SDK's path).
const CONTAINER_PACKAGE: &str = "/opt/ml/input/data/code/sourcedir.tar.gz";
/// `logging.INFO`, the level the SDK passes to framework containers.
const CONTAINER_LOG_LEVEL: &str = "20";

/// `Fn::Sub` would read `${x}` in user text as a variable; `${!x}` is its literal form.
fn literal(text: &str) -> String {
    text.replace("${", "${!")
}

fn channel(channel: &Channel) -> Value {
    let mut value = json!({
        "ChannelName": literal(&channel.name),
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": literal(&channel.location.uri()),
                "S3DataDistributionType": channel.distribution.aws(),
            }
        }
    });
    if let Some(content_type) = &channel.content_type {
        value["ContentType"] = json!(literal(content_type));
    }
    // The job's TrainingInputMode is File; a channel says only where it differs.
    if channel.input_mode != InputMode::File {
        value["InputMode"] = json!(channel.input_mode.aws());
    }
    if channel.compression != Compression::None {
        value["CompressionType"] = json!(channel.compression.aws());
    }
    value
}

/// The job's hyperparameters with, for framework images, the SageMaker SDK's
/// script-mode ones. The SDK JSON-encodes those (the training toolkit
/// decodes every value as JSON, so a quoted string stays a string); the
/// user's own are passed as written.
fn hyperparameters(env: &Env, job: &TrainingJob) -> Map<String, Value> {
    let mut map: Map<String, Value> = job
        .hyperparameters
        .iter()
        .map(|(k, v)| (literal(k), Value::String(literal(v))))
        .collect();
    if let Some(code) = &job.code {
        // Under isolation the container cannot reach S3: the package arrives
        // through the `code` channel, and the toolkit opens it there.
        let directory = if job.network_isolation {
            CONTAINER_PACKAGE.to_string()
        } else {
            code.source.uri()
        };
        let encoded = |text: &str| Value::String(literal(&json!(text).to_string()));
        map.insert("sagemaker_program".into(), encoded(&code.entry_point));
        map.insert("sagemaker_submit_directory".into(), encoded(&directory));
        map.insert(
            "sagemaker_container_log_level".into(),
            Value::String(CONTAINER_LOG_LEVEL.into()),
        );
        map.insert("sagemaker_region".into(), encoded(&env.region));
    }
    map
}

fn input_data_config(job: &TrainingJob) -> Vec<Value> {
    let mut channels: Vec<Value> = job.channels.iter().map(channel).collect();
    if let Some(code) = &job.code
        && job.network_isolation
    {
        channels.push(json!({
            "ChannelName": CODE_CHANNEL,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": literal(&code.source.uri()),
                    "S3DataDistributionType": "FullyReplicated",
                }
            }
        }));
    }
    channels
}

/// What a training job and a tuning job's training-job definition share.
fn job_arguments(env: &Env, job: &TrainingJob) -> Map<String, Value> {
    let mut resources = json!({
        "InstanceType": job.instance_type,
        "InstanceCount": job.instance_count,
        "VolumeSizeInGB": job.volume_gb,
    });
    if !instances::has_instance_storage(&job.instance_type) {
        resources["VolumeKmsKeyId"] = json!(KEY_ARN_VARIABLE);
    }
    let mut stopping = json!({ "MaxRuntimeInSeconds": job.max_runtime_seconds });
    if let Some(spot) = &job.spot {
        stopping["MaxWaitTimeInSeconds"] = json!(spot.max_wait_seconds);
    }
    let mut algorithm = json!({
        "TrainingImage": literal(&job.image.uri),
        "TrainingInputMode": "File",
    });
    if !job.metrics.is_empty() {
        algorithm["MetricDefinitions"] = job
            .metrics
            .iter()
            .map(|m| json!({ "Name": literal(&m.name), "Regex": literal(&m.regex) }))
            .collect();
    }
    let arguments = json!({
        "AlgorithmSpecification": algorithm,
        "RoleArn": env.execution_role_arn(),
        "InputDataConfig": input_data_config(job),
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
    });
    let mut map = match arguments {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object literal"),
    };
    // Inter-container encryption stays on for distributed jobs in a VPC too:
    // their gradients then cross the subnets (the security groups must let
    // the instances reach each other, docs/configuration.md says how).
    if let Some(network) = &env.network {
        map.insert("VpcConfig".into(), network.vpc_config());
    }
    map
}

fn tags(env: &Env, job: &TrainingJob) -> Value {
    json!([
        { "Key": "mlinfra:env", "Value": env.name },
        { "Key": "mlinfra:project", "Value": env.project },
        { "Key": "mlinfra:training-job", "Value": job.name },
    ])
}

fn tuning_arguments(env: &Env, job: &TrainingJob, tuning: &Tuning) -> Value {
    let mut definition = job_arguments(env, job);
    // The SDK leaves tuned hyperparameters out of the static ones: the tuner sets them.
    let mut statics = hyperparameters(env, job);
    for range in &tuning.ranges {
        statics.remove(&literal(&range.name));
    }
    definition.insert("StaticHyperParameters".into(), Value::Object(statics));
    let (mut continuous, mut integer, mut categorical) = (Vec::new(), Vec::new(), Vec::new());
    for range in &tuning.ranges {
        let name = literal(&range.name);
        match &range.kind {
            RangeKind::Continuous { min, max, scaling } => continuous.push(json!({
                "Name": name, "MinValue": min.to_string(), "MaxValue": max.to_string(), "ScalingType": scaling.aws(),
            })),
            RangeKind::Integer { min, max, scaling } => integer.push(json!({
                "Name": name, "MinValue": min.to_string(), "MaxValue": max.to_string(), "ScalingType": scaling.aws(),
            })),
            RangeKind::Categorical { values } => categorical.push(json!({
                "Name": name, "Values": values.iter().map(|v| literal(v)).collect::<Vec<_>>(),
            })),
        }
    }
    let mut ranges = Map::new();
    for (kind, list) in [
        ("ContinuousParameterRanges", continuous),
        ("IntegerParameterRanges", integer),
        ("CategoricalParameterRanges", categorical),
    ] {
        if !list.is_empty() {
            ranges.insert(kind.into(), Value::Array(list));
        }
    }
    json!({
        "HyperParameterTuningJobConfig": {
            "Strategy": tuning.strategy.aws(),
            "HyperParameterTuningJobObjective": {
                "Type": tuning.goal.aws(),
                "MetricName": literal(&tuning.objective_metric),
            },
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": tuning.max_jobs,
                "MaxParallelTrainingJobs": tuning.max_parallel_jobs,
            },
            "TrainingJobEarlyStoppingType": if tuning.early_stopping { "Auto" } else { "Off" },
            "ParameterRanges": ranges,
        },
        "TrainingJobDefinition": definition,
        // Tags of a tuning job are added to every training job it starts.
        "Tags": tags(env, job),
    })
}

pub fn definition(env: &Env, job: &TrainingJob) -> String {
    let step = match &job.tuning {
        Some(tuning) => json!({
            "Name": TUNING_STEP,
            "Type": "Tuning",
            "Arguments": tuning_arguments(env, job, tuning),
        }),
        None => {
            let mut arguments = job_arguments(env, job);
            arguments.insert(
                "HyperParameters".into(),
                Value::Object(hyperparameters(env, job)),
            );
            arguments.insert("Tags".into(), tags(env, job));
            json!({ "Name": TRAINING_STEP, "Type": "Training", "Arguments": arguments })
        }
    };
    let mut document = json!({
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [],
        "Steps": [step],
    });
    crate::template::sort_keys(&mut document);
    serde_json::to_string(&document).expect("a JSON value always serialises")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_container_path_is_the_package_file_in_the_code_channel() {
        assert_eq!(
            super::CONTAINER_PACKAGE,
            format!(
                "/opt/ml/input/data/{}/{}",
                super::CODE_CHANNEL,
                crate::config::training::PACKAGE_FILE
            )
        );
    }
}
