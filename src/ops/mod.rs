//! Day-two operations on a deployed environment: `train` starts a training
//! job's pipeline and follows it, `status` shows what runs. Both find live
//! resources only through the stacks' physical resource ids.

pub mod run;
pub mod status;
pub mod traffic;
pub mod train;

use crate::cloud::AwsError;

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("stack {stack} is not deployed; run `mlinfra apply --env {env}` first")]
    StackMissing { stack: String, env: String },
    #[error(
        "stack {stack} has no deployed pipeline for training job `{job}` (logical id {logical_id}); \
         run `mlinfra apply` to deploy it"
    )]
    PipelineMissing {
        stack: String,
        job: String,
        logical_id: String,
    },
    #[error("AWS {operation} answered without {field}")]
    Incomplete {
        operation: &'static str,
        field: &'static str,
    },
    #[error(
        "stopped waiting for {arn} after {waited_secs} s; the execution carries on in SageMaker"
    )]
    WaitTimeout { arn: String, waited_secs: u64 },
    #[error(
        "interrupted; the pipeline execution {arn} carries on in SageMaker (stop it in the console or with `aws sagemaker stop-pipeline-execution`)"
    )]
    Interrupted { arn: String },
}
