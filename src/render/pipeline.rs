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

use super::emit::{Arr, Obj, Writer};

use crate::config::Env;
use crate::config::env::TrainingJob;
use crate::config::instances;
use crate::config::training::{
    CODE_CHANNEL, Channel, Compression, InputMode, Range, RangeKind, Tuning,
};

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

fn channel(o: &mut Obj<'_>, channel: &Channel) {
    o.str("ChannelName", &literal(&channel.name));
    s3_data_source(o, &channel.location.uri(), channel.distribution.aws());
    if let Some(content_type) = &channel.content_type {
        o.str("ContentType", &literal(content_type));
    }
    // The job's TrainingInputMode is File; a channel says only where it differs.
    if channel.input_mode != InputMode::File {
        o.str("InputMode", channel.input_mode.aws());
    }
    if channel.compression != Compression::None {
        o.str("CompressionType", channel.compression.aws());
    }
}

fn s3_data_source(o: &mut Obj<'_>, uri: &str, distribution: &str) {
    o.obj("DataSource", |o| {
        o.obj("S3DataSource", |o| {
            o.str("S3DataType", "S3Prefix")
                .str("S3Uri", &literal(uri))
                .str("S3DataDistributionType", distribution);
        });
    });
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

fn input_data_config(a: &mut Arr<'_>, job: &TrainingJob) {
    for c in &job.channels {
        a.obj(|o| channel(o, c));
    }
    if let Some(code) = &job.code
        && job.network_isolation
    {
        a.obj(|o| {
            o.str("ChannelName", CODE_CHANNEL);
            s3_data_source(o, &code.source.uri(), "FullyReplicated");
        });
    }
}

/// What a training job and a tuning job's training-job definition share.
fn job_arguments(o: &mut Obj<'_>, env: &Env, job: &TrainingJob) {
    o.obj("AlgorithmSpecification", |o| {
        if !job.metrics.is_empty() {
            o.arr("MetricDefinitions", |a| {
                for m in &job.metrics {
                    a.obj(|o| {
                        o.str("Name", &literal(&m.name))
                            .str("Regex", &literal(&m.regex));
                    });
                }
            });
        }
        o.str("TrainingImage", &literal(&job.image.uri))
            .str("TrainingInputMode", "File");
    })
    .obj("CheckpointConfig", |o| {
        o.str("S3Uri", &literal(&job.checkpoints.uri()));
    })
    .bool(
        "EnableInterContainerTrafficEncryption",
        job.instance_count > 1,
    )
    .bool("EnableManagedSpotTraining", job.spot.is_some())
    .bool("EnableNetworkIsolation", job.network_isolation)
    .arr("InputDataConfig", |a| input_data_config(a, job))
    .obj("OutputDataConfig", |o| {
        o.str("KmsKeyId", KEY_ARN_VARIABLE)
            .str("S3OutputPath", &literal(&job.output.uri()));
    })
    .obj("ResourceConfig", |o| {
        o.int("InstanceCount", job.instance_count)
            .str("InstanceType", &job.instance_type);
        if !instances::has_instance_storage(&job.instance_type) {
            o.str("VolumeKmsKeyId", KEY_ARN_VARIABLE);
        }
        o.int("VolumeSizeInGB", job.volume_gb);
    })
    .str("RoleArn", &env.execution_role_arn())
    .obj("StoppingCondition", |o| {
        o.int("MaxRuntimeInSeconds", job.max_runtime_seconds);
        if let Some(spot) = &job.spot {
            o.int("MaxWaitTimeInSeconds", spot.max_wait_seconds);
        }
    });
    // Inter-container encryption stays on for distributed jobs in a VPC too:
    // their gradients then cross the subnets (the security groups must let
    // the instances reach each other, docs/configuration.md says how).
    if let Some(network) = &env.network {
        o.value("VpcConfig", &network.vpc_config());
    }
}

fn tags(o: &mut Obj<'_>, env: &Env, job: &TrainingJob) {
    o.arr("Tags", |a| {
        for (key, value) in [
            ("mlinfra:env", &env.name),
            ("mlinfra:project", &env.project),
            ("mlinfra:training-job", &job.name),
        ] {
            a.obj(|o| {
                o.str("Key", key).str("Value", value);
            });
        }
    });
}

fn parameter_range(o: &mut Obj<'_>, range: &Range) {
    o.str("Name", &literal(&range.name));
    match &range.kind {
        RangeKind::Continuous { min, max, scaling } => {
            o.str("MinValue", &min.to_string())
                .str("MaxValue", &max.to_string())
                .str("ScalingType", scaling.aws());
        }
        RangeKind::Integer { min, max, scaling } => {
            o.str("MinValue", &min.to_string())
                .str("MaxValue", &max.to_string())
                .str("ScalingType", scaling.aws());
        }
        RangeKind::Categorical { values } => {
            o.arr("Values", |a| {
                for value in values {
                    a.str(&literal(value));
                }
            });
        }
    }
}

fn tuning_arguments(o: &mut Obj<'_>, env: &Env, job: &TrainingJob, tuning: &Tuning) {
    // SageMaker takes the ranges grouped by kind, each group in the
    // configuration's order.
    let group = |range: &Range| match range.kind {
        RangeKind::Categorical { .. } => "CategoricalParameterRanges",
        RangeKind::Continuous { .. } => "ContinuousParameterRanges",
        RangeKind::Integer { .. } => "IntegerParameterRanges",
    };
    let parameter_ranges = |o: &mut Obj<'_>| {
        let mut groups: Vec<&str> = tuning.ranges.iter().map(group).collect();
        groups.sort_unstable();
        groups.dedup();
        for name in groups {
            o.arr(name, |a| {
                for range in tuning.ranges.iter().filter(|r| group(r) == name) {
                    a.obj(|o| parameter_range(o, range));
                }
            });
        }
    };
    o.obj("HyperParameterTuningJobConfig", |o| {
        o.obj("HyperParameterTuningJobObjective", |o| {
            o.str("MetricName", &literal(&tuning.objective_metric))
                .str("Type", tuning.goal.aws());
        })
        .obj("ParameterRanges", parameter_ranges)
        .obj("ResourceLimits", |o| {
            o.int("MaxNumberOfTrainingJobs", tuning.max_jobs)
                .int("MaxParallelTrainingJobs", tuning.max_parallel_jobs);
        })
        .str("Strategy", tuning.strategy.aws())
        .str(
            "TrainingJobEarlyStoppingType",
            if tuning.early_stopping { "Auto" } else { "Off" },
        );
    });
    // Tags of a tuning job are added to every training job it starts.
    tags(o, env, job);
    o.obj("TrainingJobDefinition", |o| {
        job_arguments(o, env, job);
        // The SDK leaves tuned hyperparameters out of the static ones: the tuner sets them.
        let mut statics = hyperparameters(env, job);
        for range in &tuning.ranges {
            statics.remove(&literal(&range.name));
        }
        o.value("StaticHyperParameters", &Value::Object(statics));
    });
}

/// The pipeline definition of a training job: compact JSON with sorted keys.
pub fn definition(env: &Env, job: &TrainingJob) -> String {
    Writer::compact(|o| {
        o.obj("Metadata", |_| {})
            .arr("Parameters", |_| {})
            .arr("Steps", |a| {
                a.obj(|o| {
                    let (name, kind) = match &job.tuning {
                        Some(tuning) => {
                            o.obj("Arguments", |o| tuning_arguments(o, env, job, tuning));
                            (TUNING_STEP, "Tuning")
                        }
                        None => {
                            o.obj("Arguments", |o| {
                                job_arguments(o, env, job);
                                o.value(
                                    "HyperParameters",
                                    &Value::Object(hyperparameters(env, job)),
                                );
                                tags(o, env, job);
                            });
                            (TRAINING_STEP, "Training")
                        }
                    };
                    o.str("Name", name).str("Type", kind);
                });
            })
            .str("Version", "2020-12-01");
    })
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
