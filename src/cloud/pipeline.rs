//! SageMaker pipeline runs for `train`: start an execution, read its status
//! and steps, and the training and tuning jobs its step started.

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::operation::describe_hyper_parameter_tuning_job::DescribeHyperParameterTuningJobOutput;
use aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput;
use aws_sdk_sagemaker::types::PipelineExecutionStep;

use super::AwsError;

/// StartPipelineExecution; the execution's ARN when the answer carries one.
/// `token` makes a retried call start one execution, not two.
pub async fn start_execution(
    client: &Client,
    pipeline: &str,
    description: &str,
    token: &str,
) -> Result<Option<String>, AwsError> {
    let started = client
        .start_pipeline_execution()
        .pipeline_name(pipeline)
        .client_request_token(token)
        .pipeline_execution_description(description)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("StartPipelineExecution", e))?;
    Ok(started.pipeline_execution_arn().map(str::to_string))
}

/// DescribePipelineExecution: the status (when reported) and a non-empty
/// failure reason.
pub async fn execution_status(
    client: &Client,
    arn: &str,
) -> Result<(Option<String>, Option<String>), AwsError> {
    let described = client
        .describe_pipeline_execution()
        .pipeline_execution_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribePipelineExecution", e))?;
    let status = described
        .pipeline_execution_status()
        .map(|s| s.as_str().to_string());
    let reason = described
        .failure_reason()
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    Ok((status, reason))
}

/// Every step of the execution, every page.
pub async fn execution_steps(
    client: &Client,
    arn: &str,
) -> Result<Vec<PipelineExecutionStep>, AwsError> {
    client
        .list_pipeline_execution_steps()
        .pipeline_execution_arn(arn)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| AwsError::from_sdk("ListPipelineExecutionSteps", e))
}

pub async fn training_job(
    client: &Client,
    name: &str,
) -> Result<DescribeTrainingJobOutput, AwsError> {
    client
        .describe_training_job()
        .training_job_name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeTrainingJob", e))
}

pub async fn tuning_job(
    client: &Client,
    name: &str,
) -> Result<DescribeHyperParameterTuningJobOutput, AwsError> {
    client
        .describe_hyper_parameter_tuning_job()
        .hyper_parameter_tuning_job_name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeHyperParameterTuningJob", e))
}
