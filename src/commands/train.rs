//! `mlinfra train ENV JOB`: start a training job's pipeline, optionally follow it.

use crate::cli::Session;
use crate::cli::args::TrainArgs;
use crate::cli::session::runtime;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::ops::{self, OpsError};
use crate::stacks::{self, Layer};

pub fn run(session: &Session, args: &TrainArgs) -> Result<Exit> {
    let (env, _) = session.prepare(&args.env)?;
    let Some(job) = env.training.iter().find(|j| j.name == args.job) else {
        let known: Vec<&str> = env.training.iter().map(|j| j.name.as_str()).collect();
        return Err(Error::Usage(format!(
            "environment `{}` has no training job `{}` (it has: {})",
            env.name,
            args.job,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    };
    let printer = &session.printer;
    for line in ops::run::job_summary(job) {
        printer.notice(&line);
    }
    runtime()?.block_on(async {
        let clients = session.connect(&env, &args.aws).await?;
        let stack_name = stacks::stack_name(&env, Layer::Training);
        let Some(stack) = clients
            .cfn
            .deployed_stack(&stack_name)
            .await
            .map_err(OpsError::from)?
        else {
            return Err(OpsError::StackMissing {
                stack: stack_name,
                env: env.name.clone(),
            }
            .into());
        };
        let pipeline = ops::train::pipeline_name(&stack, job)?;
        let token = ops::train::request_token(&job.name);
        let arn = ops::train::start(&clients.sagemaker, &pipeline, &job.name, &token).await?;
        if !args.wait {
            let started = ops::run::Started {
                job: job.name.clone(),
                pipeline: pipeline.clone(),
                execution_arn: arn,
            };
            let exit = printer.print(&started, args.format)?;
            printer.notice(&format!(
                "started pipeline {pipeline}; follow it with `--wait` or in SageMaker Studio"
            ));
            return Ok(exit);
        }
        printer.notice(&format!(
            "started {arn}\nwaiting (Ctrl-C stops only the waiting; the execution carries on in SageMaker)"
        ));
        let poll = ops::train::run_poll(job);
        let log = |line: &str| printer.notice(line);
        let report =
            ops::train::wait_interruptible(&clients.sagemaker, &job.name, &arn, &poll, &log)
                .await?;
        Ok(printer.print(&report, args.format)?)
    })
}
