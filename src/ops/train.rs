//! `mlinfra train`: start a training job's SageMaker pipeline and, when asked,
//! follow it to the end. The pipeline is the training stack's own
//! `AWS::SageMaker::Pipeline` resource; its physical id is the pipeline name.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_sagemaker::Client;

use super::OpsError;
use super::run::{RunStatus, TrainReport, TrainingJobFacts, TuningFacts};
use crate::cloud;
use crate::cloud::cfn::DeployedStack;
use crate::cloud::poll::{self, Poll, Waited};
use crate::config::env::TrainingJob;
use crate::template::ids::PIPELINE_TYPE;

/// The step a pipeline runs (see `render::pipeline`): training, or tuning.
pub const TRAIN_STEP: &str = crate::render::pipeline::TRAINING_STEP;
pub const TUNE_STEP: &str = crate::render::pipeline::TUNING_STEP;

/// The deployed pipeline of `job` in the training stack.
pub fn pipeline_name(stack: &DeployedStack, job: &TrainingJob) -> Result<String, OpsError> {
    let missing = || OpsError::PipelineMissing {
        stack: stack.name().to_string(),
        job: job.name.clone(),
        logical_id: job.logical_id.clone(),
    };
    let resource = stack.resources.get(&job.logical_id).ok_or_else(missing)?;
    if resource.resource_type != PIPELINE_TYPE {
        return Err(missing());
    }
    let id = resource.physical_id.as_deref().ok_or_else(missing)?;
    // The physical id is the pipeline's name; accept its ARN as well.
    Ok(id
        .rsplit_once(":pipeline/")
        .map_or(id, |(_, name)| name)
        .to_string())
}

/// A fresh idempotency token (32–128 characters): a retried
/// StartPipelineExecution then starts one execution, not two.
pub fn request_token(job: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let job: String = job
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    format!("mlinfra-{job}-{nanos:032x}-{:08x}", std::process::id())
}

/// StartPipelineExecution; returns the execution's ARN.
pub async fn start(
    sagemaker: &Client,
    pipeline: &str,
    job: &str,
    token: &str,
) -> Result<String, OpsError> {
    let description = format!("mlinfra train {job}");
    cloud::pipeline::start_execution(sagemaker, pipeline, &description, token)
        .await?
        .ok_or(OpsError::Incomplete {
            operation: "StartPipelineExecution",
            field: "PipelineExecutionArn",
        })
}

/// Polling of a training run: the job's own limits bound the wait.
pub fn run_poll(job: &TrainingJob) -> Poll {
    let limit = job
        .spot
        .as_ref()
        .map_or(job.max_runtime_seconds, |s| s.max_wait_seconds);
    Poll {
        first: Duration::from_secs(5),
        max: Duration::from_secs(30),
        // Queueing for capacity and uploading the model come on top.
        timeout: Duration::from_secs(limit + 3600),
    }
}

/// The Train step as ListPipelineExecutionSteps reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepState {
    /// `Train` or `Tune`.
    pub name: String,
    pub status: String,
    pub failure_reason: Option<String>,
    /// Name of the training job the step started, once it has one.
    pub training_job: Option<String>,
    /// Name of the tuning job a Tune step started, once it has one.
    pub tuning_job: Option<String>,
}

async fn execution_status(
    sagemaker: &Client,
    arn: &str,
) -> Result<(String, Option<String>), OpsError> {
    let (status, reason) = cloud::pipeline::execution_status(sagemaker, arn).await?;
    let status = status.ok_or(OpsError::Incomplete {
        operation: "DescribePipelineExecution",
        field: "PipelineExecutionStatus",
    })?;
    Ok((status, reason))
}

pub async fn train_step(sagemaker: &Client, arn: &str) -> Result<Option<StepState>, OpsError> {
    for step in cloud::pipeline::execution_steps(sagemaker, arn).await? {
        if step.step_name() != Some(TRAIN_STEP) && step.step_name() != Some(TUNE_STEP) {
            continue;
        }
        // ARNs `…:training-job/<name>`, `…:hyper-parameter-tuning-job/<name>`;
        // the Describe calls take the name.
        let name = |arn: &str| arn.rsplit('/').next().unwrap_or(arn).to_string();
        let metadata = step.metadata();
        let training_job = metadata
            .and_then(|m| m.training_job())
            .and_then(|t| t.arn())
            .map(name);
        let tuning_job = metadata
            .and_then(|m| m.tuning_job())
            .and_then(|t| t.arn())
            .map(name);
        return Ok(Some(StepState {
            name: step.step_name().unwrap_or(TRAIN_STEP).to_string(),
            status: step
                .step_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            failure_reason: step.failure_reason().map(str::to_string),
            training_job,
            tuning_job,
        }));
    }
    Ok(None)
}

/// DescribeTrainingJob, reduced to what the report shows.
pub async fn training_job(sagemaker: &Client, name: &str) -> Result<TrainingJobFacts, OpsError> {
    let job = cloud::pipeline::training_job(sagemaker, name).await?;
    let seconds = |value: Option<i32>| value.and_then(|v| u32::try_from(v).ok());
    Ok(TrainingJobFacts {
        name: job.training_job_name().unwrap_or(name).to_string(),
        status: job
            .training_job_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        failure_reason: job.failure_reason().map(str::to_string),
        managed_spot: job.enable_managed_spot_training().unwrap_or(false),
        training_seconds: seconds(job.training_time_in_seconds()),
        billable_seconds: seconds(job.billable_time_in_seconds()),
        model_artifact: job
            .model_artifacts()
            .and_then(|a| a.s3_model_artifacts())
            .map(str::to_string),
    })
}

/// DescribeHyperParameterTuningJob: the tuning job's best training job so far.
pub async fn tuning_job(sagemaker: &Client, name: &str) -> Result<TuningFacts, OpsError> {
    let tuning = cloud::pipeline::tuning_job(sagemaker, name).await?;
    let best = tuning.best_training_job();
    let objective = best.and_then(|b| b.final_hyper_parameter_tuning_job_objective_metric());
    Ok(TuningFacts {
        name: name.to_string(),
        status: tuning
            .hyper_parameter_tuning_job_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        best_training_job: best.and_then(|b| b.training_job_name()).map(str::to_string),
        objective_metric: objective.and_then(|o| o.metric_name()).map(str::to_string),
        objective_value: objective.and_then(|o| o.value()),
    })
}

/// Polls until the execution ends, logging each change of the execution's
/// or the Train step's status, then reports the step's training job.
pub async fn wait(
    sagemaker: &Client,
    job: &str,
    arn: &str,
    poll: &Poll,
    log: &dyn Fn(&str),
) -> Result<TrainReport, OpsError> {
    let last_execution = std::cell::RefCell::new(String::new());
    let last_step: std::cell::RefCell<Option<StepState>> = std::cell::RefCell::new(None);
    let waited = poll::until(poll, || async {
        let (status, reason) = execution_status(sagemaker, arn).await?;
        if *last_execution.borrow() != status {
            log(&format!("execution: {status}"));
            *last_execution.borrow_mut() = status.clone();
        }
        let step = train_step(sagemaker, arn).await?;
        if let Some(step) = &step
            && last_step.borrow().as_ref().map(|s| &s.status) != Some(&step.status)
        {
            let job_name = match (&step.training_job, &step.tuning_job) {
                (Some(n), _) => format!(" (training job {n})"),
                (None, Some(n)) => format!(" (tuning job {n})"),
                (None, None) => String::new(),
            };
            log(&format!("step {}: {}{job_name}", step.name, step.status));
        }
        if step.is_some() {
            *last_step.borrow_mut() = step;
        }
        Ok::<_, OpsError>(RunStatus::terminal(&status).map(|terminal| (terminal, reason)))
    })
    .await?;
    let (terminal, reason) = match waited {
        Waited::Ready(done) => done,
        Waited::TimedOut(waited) => {
            return Err(OpsError::WaitTimeout {
                arn: arn.to_string(),
                waited_secs: waited.as_secs(),
            });
        }
    };
    let last_step = last_step.into_inner();
    let tuning = match last_step.as_ref().and_then(|s| s.tuning_job.as_deref()) {
        Some(name) => Some(tuning_job(sagemaker, name).await?),
        None => None,
    };
    // A tuning run reports its best training job.
    let job_name = last_step
        .as_ref()
        .and_then(|s| s.training_job.clone())
        .or_else(|| tuning.as_ref().and_then(|t| t.best_training_job.clone()));
    let training_job = match job_name {
        Some(name) => Some(training_job(sagemaker, &name).await?),
        None => None,
    };
    let failure_reason = reason.or_else(|| {
        last_step
            .as_ref()
            .and_then(|s| s.failure_reason.clone())
            .filter(|_| terminal != RunStatus::Succeeded)
    });
    Ok(TrainReport {
        job: job.to_string(),
        execution_arn: arn.to_string(),
        status: terminal,
        failure_reason,
        tuning,
        training_job,
    })
}

/// [`wait`], but Ctrl-C ends only the waiting: the execution runs on in AWS.
pub async fn wait_interruptible(
    sagemaker: &Client,
    job: &str,
    arn: &str,
    poll: &Poll,
    log: &dyn Fn(&str),
) -> Result<TrainReport, OpsError> {
    tokio::select! {
        report = wait(sagemaker, job, arn, poll, log) => report,
        _ = tokio::signal::ctrl_c() => Err(OpsError::Interrupted { arn: arn.to_string() }),
    }
}
