//! `mlinfra train` and `mlinfra status`: against moto's server where it
//! implements the calls (StartPipelineExecution, DescribePipelineExecution,
//! DescribeTrainingJob, DescribeStacks, DescribeEndpoint), against
//! aws-smithy-mocks for the polling loop, since moto has no
//! ListPipelineExecutionSteps; and snapshots of both reports.

use crate::common;

use crate::common::moto;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sagemaker::Client as SageMaker;
use aws_sdk_sagemaker::operation::describe_pipeline_execution::DescribePipelineExecutionOutput;
use aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput;
use aws_sdk_sagemaker::operation::list_pipeline_execution_steps::ListPipelineExecutionStepsOutput;
use aws_sdk_sagemaker::types::{
    ModelArtifacts, PipelineExecutionStatus, PipelineExecutionStep, PipelineExecutionStepMetadata,
    StepStatus, TrainingJobStatus, TrainingJobStepMetadata,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::{Response as HttpResponse, StatusCode};
use aws_smithy_types::body::SdkBody;
use serde_json::Value;

use mlinfra::cloud::Clients;
use mlinfra::cloud::Poll;
use mlinfra::cloud::cfn::{DeployedResource, DeployedStack, StackInfo};
use mlinfra::ops::OpsError;
use mlinfra::ops::run::{RunStatus, TrainReport, TrainingJobFacts};
use mlinfra::ops::train;
use mlinfra::project::Project;
use mlinfra::render::{self, Engine};
use moto::Moto;

const EXECUTION: &str = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/dogbreed-dev-dogbreed/execution/abc123def456";
const TRAINING_JOB: &str = "pipelines-abc123def456-Train-7Hk2LpQx9Z";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn dev_job() -> mlinfra::config::env::TrainingJob {
    let env = mlinfra::config::load_env(&Project::Dir(common::repo_root()), "dev").unwrap();
    env.training
        .into_iter()
        .find(|j| j.name == "dogbreed")
        .unwrap()
}

// ---------------------------------------------------------------------------
// The report, from a fixed training-job description

fn spot_run() -> TrainReport {
    TrainReport {
        job: "dogbreed".into(),
        execution_arn: EXECUTION.into(),
        status: RunStatus::Succeeded,
        failure_reason: None,
        tuning: None,
        training_job: Some(TrainingJobFacts {
            name: TRAINING_JOB.into(),
            status: "Completed".into(),
            failure_reason: None,
            managed_spot: true,
            training_seconds: Some(3600),
            billable_seconds: Some(1200),
            model_artifact: Some(format!(
                "s3://dogbreed-dev-models-123456789012-us-east-1/dogbreed/{TRAINING_JOB}/output/model.tar.gz"
            )),
        }),
    }
}

#[test]
fn the_train_report_shows_spot_savings_and_the_model_artifact() {
    let report = spot_run();
    let saving = report.training_job.as_ref().unwrap().spot_saving().unwrap();
    assert!((saving - 2.0 / 3.0).abs() < 1e-9, "{saving}");
    assert!(report.succeeded());
    let human = report.render_human();
    assert!(human.contains("66.7% (managed spot)"), "{human}");
    let json: Value = serde_json::from_str(&report.render_json()).unwrap();
    assert_eq!(json["status"], "Succeeded");
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["training_job"]["billable_seconds"], 1200);
    common::snapshot_settings().bind(|| {
        insta::assert_snapshot!("ops__train_report_human", human);
    });
}

#[test]
fn a_failed_run_reports_the_reason_and_no_saving_without_spot() {
    let mut report = spot_run();
    report.status = RunStatus::Failed;
    report.failure_reason = Some("Step failure: Training job failed".into());
    let job = report.training_job.as_mut().unwrap();
    job.status = "Failed".into();
    job.failure_reason = Some("AlgorithmError: CUDA out of memory".into());
    job.managed_spot = false;
    job.model_artifact = None;
    assert!(!report.succeeded());
    assert_eq!(report.training_job.as_ref().unwrap().spot_saving(), None);
    let human = report.render_human();
    for expected in [
        "training job dogbreed: Failed",
        "reason:    Step failure: Training job failed",
        "job reason:   AlgorithmError: CUDA out of memory",
        "spot saving:   none (on-demand capacity)",
        "model artifact: none",
    ] {
        assert!(
            human.contains(expected),
            "missing `{expected}` in:\n{human}"
        );
    }
}

#[test]
fn spot_without_reported_times_says_so_rather_than_guessing() {
    let mut facts = spot_run().training_job.unwrap();
    facts.billable_seconds = None;
    assert_eq!(facts.spot_saving(), None);
    facts.billable_seconds = Some(10);
    facts.training_seconds = Some(0);
    assert_eq!(facts.spot_saving(), None);
}

// ---------------------------------------------------------------------------
// Finding the pipeline through the stack's physical ids

fn training_stack(resources: &[(&str, &str, Option<&str>)]) -> DeployedStack {
    DeployedStack {
        info: StackInfo {
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/dogbreed-dev-training/1"
                .into(),
            name: "dogbreed-dev-training".into(),
            status: "CREATE_COMPLETE".into(),
            status_reason: None,
            last_changed: None,
            tags: BTreeMap::new(),
            parameters: BTreeMap::new(),
            termination_protection: false,
            outputs: Vec::new(),
        },
        resources: resources
            .iter()
            .map(|(logical, kind, physical)| {
                (
                    logical.to_string(),
                    DeployedResource {
                        logical_id: logical.to_string(),
                        physical_id: physical.map(str::to_string),
                        resource_type: kind.to_string(),
                        status: "CREATE_COMPLETE".into(),
                    },
                )
            })
            .collect::<BTreeMap<_, _>>(),
    }
}

#[test]
fn the_pipeline_is_the_stacks_physical_id_never_a_rebuilt_name() {
    let job = dev_job();
    let stack = training_stack(&[(
        &job.logical_id,
        "AWS::SageMaker::Pipeline",
        Some("renamed-by-hand"),
    )]);
    assert_eq!(
        train::pipeline_name(&stack, &job).unwrap(),
        "renamed-by-hand"
    );
    let stack = training_stack(&[(
        &job.logical_id,
        "AWS::SageMaker::Pipeline",
        Some("arn:aws:sagemaker:us-east-1:123456789012:pipeline/dogbreed-dev-dogbreed"),
    )]);
    assert_eq!(
        train::pipeline_name(&stack, &job).unwrap(),
        "dogbreed-dev-dogbreed"
    );
    for stack in [
        training_stack(&[]),
        training_stack(&[(&job.logical_id, "AWS::SageMaker::Pipeline", None)]),
        training_stack(&[(
            &job.logical_id,
            "AWS::CloudFormation::WaitConditionHandle",
            Some("x"),
        )]),
    ] {
        let error = train::pipeline_name(&stack, &job).unwrap_err();
        assert!(matches!(error, OpsError::PipelineMissing { .. }), "{error}");
    }
}

#[test]
fn request_tokens_are_fresh_and_within_the_api_limits() {
    let a = train::request_token("dogbreed");
    std::thread::sleep(Duration::from_millis(2));
    let b = train::request_token("dogbreed");
    assert_ne!(a, b);
    for token in [a, b, train::request_token(&"x".repeat(300))] {
        assert!((32..=128).contains(&token.len()), "{token}");
    }
}

// ---------------------------------------------------------------------------
// Following a run. moto has no ListPipelineExecutionSteps, so every call of
// the loop is mocked here with aws-smithy-mocks.

fn execution(
    status: PipelineExecutionStatus,
    reason: Option<&str>,
) -> DescribePipelineExecutionOutput {
    DescribePipelineExecutionOutput::builder()
        .pipeline_execution_arn(EXECUTION)
        .pipeline_execution_status(status)
        .set_failure_reason(reason.map(str::to_string))
        .build()
}

fn steps(status: StepStatus, job: bool, reason: Option<&str>) -> ListPipelineExecutionStepsOutput {
    let mut step = PipelineExecutionStep::builder()
        .step_name("Train")
        .step_status(status)
        .set_failure_reason(reason.map(str::to_string));
    if job {
        step = step.metadata(
            PipelineExecutionStepMetadata::builder()
                .training_job(
                    TrainingJobStepMetadata::builder()
                        .arn(format!(
                            "arn:aws:sagemaker:us-east-1:123456789012:training-job/{TRAINING_JOB}"
                        ))
                        .build(),
                )
                .build(),
        );
    }
    ListPipelineExecutionStepsOutput::builder()
        .pipeline_execution_steps(step.build())
        .build()
}

fn quick_poll() -> Poll {
    Poll {
        first: Duration::from_secs(5),
        max: Duration::from_secs(30),
        timeout: Duration::from_secs(3600),
    }
}

type Lines = Arc<Mutex<Vec<String>>>;

fn capture() -> (Lines, impl Fn(&str)) {
    let lines: Lines = Arc::default();
    let sink = lines.clone();
    (lines, move |line: &str| {
        sink.lock().unwrap().push(line.to_string())
    })
}

#[tokio::test(start_paused = true)]
async fn waiting_follows_status_changes_and_reports_the_training_job() {
    let describe = mock!(SageMaker::describe_pipeline_execution)
        .match_requests(|r| r.pipeline_execution_arn() == Some(EXECUTION))
        .sequence()
        .output(|| execution(PipelineExecutionStatus::Executing, None))
        .times(3)
        .output(|| execution(PipelineExecutionStatus::Succeeded, None))
        .build();
    let list = mock!(SageMaker::list_pipeline_execution_steps)
        .sequence()
        .output(|| steps(StepStatus::Starting, false, None))
        .output(|| steps(StepStatus::Executing, true, None))
        .times(2)
        .output(|| steps(StepStatus::Succeeded, true, None))
        .build();
    let job = mock!(SageMaker::describe_training_job)
        .match_requests(|r| r.training_job_name() == Some(TRAINING_JOB))
        .then_output(|| {
            DescribeTrainingJobOutput::builder()
                .training_job_name(TRAINING_JOB)
                .training_job_status(TrainingJobStatus::Completed)
                .enable_managed_spot_training(true)
                .training_time_in_seconds(3600)
                .billable_time_in_seconds(1200)
                .model_artifacts(
                    ModelArtifacts::builder()
                        .s3_model_artifacts("s3://models/dogbreed/model.tar.gz")
                        .build(),
                )
                .build()
        });
    let client = mock_client!(
        aws_sdk_sagemaker,
        RuleMode::MatchAny,
        [&describe, &list, &job]
    );
    let (lines, log) = capture();

    let report = train::wait(&client, "dogbreed", EXECUTION, &quick_poll(), &log)
        .await
        .unwrap();

    assert_eq!(
        *lines.lock().unwrap(),
        vec![
            "execution: Executing".to_string(),
            "step Train: Starting".into(),
            format!("step Train: Executing (training job {TRAINING_JOB})"),
            "execution: Succeeded".into(),
            format!("step Train: Succeeded (training job {TRAINING_JOB})"),
        ]
    );
    assert_eq!(report.status, RunStatus::Succeeded);
    let facts = report.training_job.unwrap();
    assert_eq!(facts.billable_seconds, Some(1200));
    assert_eq!(
        facts.model_artifact.as_deref(),
        Some("s3://models/dogbreed/model.tar.gz")
    );
    assert_eq!(describe.num_calls(), 4);
    assert_eq!(job.num_calls(), 1);
}

/// moto has no hyperparameter tuning jobs: the Tune step, the tuning job and
/// its best training job come from mocks.
#[tokio::test(start_paused = true)]
async fn a_tuning_run_reports_its_best_training_job_and_objective() {
    use aws_sdk_sagemaker::operation::describe_hyper_parameter_tuning_job::DescribeHyperParameterTuningJobOutput;
    use aws_sdk_sagemaker::types::{
        FinalHyperParameterTuningJobObjectiveMetric, HyperParameterTrainingJobSummary,
        HyperParameterTuningJobStatus, TuningJobStepMetaData,
    };
    const TUNING_JOB: &str = "pipelines-abc123-Tune-x1";
    const BEST: &str = "pipelines-abc123-Tune-x1-007-3f2a";
    let describe = mock!(SageMaker::describe_pipeline_execution)
        .then_output(|| execution(PipelineExecutionStatus::Succeeded, None));
    let list = mock!(SageMaker::list_pipeline_execution_steps).then_output(|| {
        let step = PipelineExecutionStep::builder()
            .step_name("Tune")
            .step_status(StepStatus::Succeeded)
            .metadata(
                PipelineExecutionStepMetadata::builder()
                    .tuning_job(
                        TuningJobStepMetaData::builder()
                            .arn(format!(
                                "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/{TUNING_JOB}"
                            ))
                            .build(),
                    )
                    .build(),
            )
            .build();
        ListPipelineExecutionStepsOutput::builder()
            .pipeline_execution_steps(step)
            .build()
    });
    let tuning = mock!(SageMaker::describe_hyper_parameter_tuning_job)
        .match_requests(|r| r.hyper_parameter_tuning_job_name() == Some(TUNING_JOB))
        .then_output(|| {
            DescribeHyperParameterTuningJobOutput::builder()
                .hyper_parameter_tuning_job_name(TUNING_JOB)
                .hyper_parameter_tuning_job_status(HyperParameterTuningJobStatus::Completed)
                .best_training_job(
                    HyperParameterTrainingJobSummary::builder()
                        .training_job_name(BEST)
                        .final_hyper_parameter_tuning_job_objective_metric(
                            FinalHyperParameterTuningJobObjectiveMetric::builder()
                                .metric_name("valid:accuracy")
                                .value(0.875)
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let job = mock!(SageMaker::describe_training_job)
        .match_requests(|r| r.training_job_name() == Some(BEST))
        .then_output(|| {
            DescribeTrainingJobOutput::builder()
                .training_job_name(BEST)
                .training_job_status(TrainingJobStatus::Completed)
                .model_artifacts(
                    aws_sdk_sagemaker::types::ModelArtifacts::builder()
                        .s3_model_artifacts(format!(
                            "s3://models/dogbreed/{BEST}/output/model.tar.gz"
                        ))
                        .build(),
                )
                .build()
        });
    let client = mock_client!(
        aws_sdk_sagemaker,
        RuleMode::MatchAny,
        [&describe, &list, &tuning, &job]
    );
    let (lines, log) = capture();
    let report = train::wait(&client, "dogbreed", EXECUTION, &quick_poll(), &log)
        .await
        .unwrap();
    assert_eq!(tuning.num_calls(), 1);
    assert_eq!(job.num_calls(), 1);
    let text = report.render_human();
    for expected in [
        format!("  tuning job: {TUNING_JOB} (Completed)\n"),
        "  best objective: valid:accuracy = 0.875\n".to_string(),
        format!("  best training job: {BEST} (Completed)\n"),
        format!("  model artifact: s3://models/dogbreed/{BEST}/output/model.tar.gz\n"),
    ] {
        assert!(text.contains(&expected), "{expected:?} not in:\n{text}");
    }
    assert!(
        lines
            .lock()
            .unwrap()
            .contains(&format!("step Tune: Succeeded (tuning job {TUNING_JOB})")),
        "{:?}",
        lines.lock().unwrap()
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_execution_carries_its_reason() {
    let describe = mock!(SageMaker::describe_pipeline_execution)
        .then_output(|| execution(PipelineExecutionStatus::Failed, None));
    let list = mock!(SageMaker::list_pipeline_execution_steps).then_output(|| {
        steps(
            StepStatus::Failed,
            true,
            Some("ClientError: ResourceLimitExceeded"),
        )
    });
    let job = mock!(SageMaker::describe_training_job).then_output(|| {
        DescribeTrainingJobOutput::builder()
            .training_job_name(TRAINING_JOB)
            .training_job_status(TrainingJobStatus::Failed)
            .failure_reason("ClientError: ResourceLimitExceeded")
            .build()
    });
    let client = mock_client!(
        aws_sdk_sagemaker,
        RuleMode::MatchAny,
        [&describe, &list, &job]
    );
    let (_, log) = capture();

    let report = train::wait(&client, "dogbreed", EXECUTION, &quick_poll(), &log)
        .await
        .unwrap();

    assert_eq!(report.status, RunStatus::Failed);
    assert!(!report.succeeded());
    assert_eq!(
        report.failure_reason.as_deref(),
        Some("ClientError: ResourceLimitExceeded")
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_that_outlasts_the_wait_times_out_and_keeps_running() {
    let describe = mock!(SageMaker::describe_pipeline_execution)
        .then_output(|| execution(PipelineExecutionStatus::Executing, None));
    let list = mock!(SageMaker::list_pipeline_execution_steps)
        .then_output(|| steps(StepStatus::Executing, true, None));
    let client = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, [&describe, &list]);
    let (_, log) = capture();

    let error = train::wait(&client, "dogbreed", EXECUTION, &quick_poll(), &log)
        .await
        .unwrap_err();

    assert!(matches!(error, OpsError::WaitTimeout { .. }), "{error}");
    assert!(error.to_string().contains("carries on"), "{error}");
}

// ---------------------------------------------------------------------------
// Against moto

fn sdk(moto: &Moto) -> SdkConfig {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(moto.sdk_config())
}

fn mlinfra(moto: &Moto, args: &[&str]) -> Output {
    moto.cli(&common::repo_root()).args(args).run()
}

fn deploy_dev(moto: &Moto) {
    let output = mlinfra(moto, &["apply", "--env", "dev", "--yes"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "apply failed:\n{}\n{}\nmoto:\n{}",
        text(&output.stdout),
        text(&output.stderr),
        moto.log_text()
    );
}

/// Runs tests/it/ops/fixture.py (see there) on dev's rendered training template.
fn fixture(moto: &Moto, args: &[&str]) {
    let project = Project::Dir(common::repo_root());
    let env = mlinfra::config::load_env(&project, "dev").unwrap();
    let rendered = render::render_env(&Engine::new(&project).unwrap(), &env).unwrap();
    let training = rendered
        .iter()
        .find(|s| s.spec.name == "dogbreed-dev-training")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("training.json");
    std::fs::write(&template, &training.template.text).unwrap();
    let output = Command::new(common::venv_tool("python"))
        .arg(common::repo_root().join("tests/it/ops/fixture.py"))
        .arg(args[0])
        .arg(&moto.endpoint)
        .arg(&template)
        .args(&args[1..])
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "fixture failed:\n{}",
        text(&output.stderr)
    );
}

#[test]
fn train_starts_the_pipeline_and_reads_the_training_job_in_moto() {
    let moto = Moto::start();
    deploy_dev(&moto);
    let config = sdk(&moto);
    let sagemaker = SageMaker::new(&config);

    // The emulator creates the pipeline from the training stack, as
    // CloudFormation does: `train` finds it through the stack's own
    // resources (names are never rebuilt) and starts it.
    let output = mlinfra(
        &moto,
        &["train", "--env", "dev", "dogbreed", "--format", "json"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let started: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(started["format_version"], 1);
    assert_eq!(started["pipeline"], "dogbreed-dev-dogbreed");
    assert!(
        started["execution_arn"].as_str().unwrap().starts_with(
            "arn:aws:sagemaker:us-east-1:123456789012:pipeline/dogbreed-dev-dogbreed/execution/"
        ),
        "{started}"
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // The pipeline the training stack created.
        let job = dev_job();
        let token = train::request_token(&job.name);
        let arn = train::start(&sagemaker, &job.pipeline_name, &job.name, &token)
            .await
            .unwrap();
        assert!(
            arn.starts_with(
                "arn:aws:sagemaker:us-east-1:123456789012:pipeline/dogbreed-dev-dogbreed/execution/"
            ),
            "{arn}"
        );
        let described = sagemaker
            .describe_pipeline_execution()
            .pipeline_execution_arn(&arn)
            .send()
            .await
            .unwrap();
        assert_eq!(described.pipeline_execution_arn(), Some(arn.as_str()));

        let error = train::start(&sagemaker, "no-such-pipeline", "x", &token)
            .await
            .unwrap_err();
        assert!(matches!(error, OpsError::Aws(_)), "{error}");
    });

    // moto's pipelines run no steps: the fixture creates the Train step's
    // training job from the step's own arguments, as SageMaker would.
    fixture(&moto, &["training-job", TRAINING_JOB]);
    let facts = runtime
        .block_on(train::training_job(&sagemaker, TRAINING_JOB))
        .unwrap();
    assert_eq!(facts.name, TRAINING_JOB);
    assert_eq!(facts.status, "Completed");
    assert!(facts.managed_spot, "dev trains on managed spot");
    assert_eq!(
        facts.model_artifact.as_deref(),
        // The job's configured output, where SageMaker puts `<job>/output/model.tar.gz`.
        Some(
            format!(
                "{}/{TRAINING_JOB}/output/model.tar.gz",
                dev_job().output.uri().trim_end_matches('/')
            )
            .as_str()
        )
    );
    // moto reports no billable or training seconds; the report says so.
    assert_eq!(facts.spot_saving(), None);
}

#[test]
fn train_rejects_an_unknown_job_before_any_aws_call() {
    // Nothing listens on this port: any AWS call would fail with a connection error.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = Command::new(common::mlinfra_bin())
        .arg("--project")
        .arg(common::repo_root())
        .args(["train", "--env", "dev", "no-such-job", "--wait"])
        .args(["--endpoint-url", &format!("http://127.0.0.1:{port}")])
        .env_remove("MLINFRA_PROJECT")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("environment `dev` has no training job `no-such-job` (it has: dogbreed)"),
        "{stderr}"
    );
}

/// Random parts of names and the times of a moto run, masked for a snapshot.
fn redact(text: &str, times: &[String]) -> String {
    let mut text = text.to_string();
    for time in times {
        text = text.replace(time.as_str(), "[time]");
    }
    // UUIDs (KMS key ids).
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let is_uuid = chars.len() - i >= 36
            && chars[i..i + 36].iter().enumerate().all(|(n, c)| {
                if [8, 13, 18, 23].contains(&n) {
                    *c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            });
        if is_uuid {
            out.push_str("[uuid]");
            i += 36;
            continue;
        }
        // CloudFormation's random suffixes: `-` and a long run of upper-case
        // letters and digits.
        let run = chars[i..]
            .iter()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            .count();
        if run >= 10 && i > 0 && chars[i - 1] == '-' {
            out.push_str("[id]");
            i += run;
            continue;
        }
        if run > 0 {
            out.extend(&chars[i..i + run]);
            i += run;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[test]
fn status_of_a_deployed_dev_lists_stacks_and_endpoints() {
    let moto = Moto::start();

    // Before anything is deployed: every stack says so, still exit 0.
    let output = mlinfra(&moto, &["status", "--env", "dev", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["format_version"], 1);
    assert!(
        report["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"].is_null())
    );
    assert!(report["endpoints"][0]["endpoint_name"].is_null());

    deploy_dev(&moto);
    let output = mlinfra(&moto, &["status", "--env", "dev", "--format", "json"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}\nmoto:\n{}",
        text(&output.stderr),
        moto.log_text()
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let stacks = report["stacks"].as_array().unwrap();
    let names: Vec<&str> = stacks.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "dogbreed-dev-data",
            "dogbreed-dev-iam",
            "dogbreed-dev-training",
            "dogbreed-dev-serving"
        ]
    );
    for stack in stacks {
        assert_eq!(stack["status"], "CREATE_COMPLETE", "{stack}");
        assert!(stack["last_updated"].is_string(), "{stack}");
    }
    let serving = &stacks[3]["outputs"];
    assert!(
        serving
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["key"] == "DogbreedEndpointName"),
        "{serving}"
    );
    let endpoint = &report["endpoints"][0];
    assert_eq!(endpoint["name"], "dogbreed");
    assert_eq!(endpoint["status"], "InService");
    // The live name is the one the template gives (EndpointName), read from
    // the serving stack's physical id.
    let live = endpoint["endpoint_name"].as_str().unwrap();
    assert_eq!(live, "dogbreed-dev-dogbreed");
    assert_eq!(endpoint["variants"][0]["current_instances"], 1);
    assert_eq!(
        endpoint["variants"][0]["autoscaling"]["state"],
        "not_configured"
    );

    let human = mlinfra(&moto, &["status", "--env", "dev"]);
    assert_eq!(human.status.code(), Some(0), "{}", text(&human.stderr));
    let times: Vec<String> = stacks
        .iter()
        .map(|s| s["last_updated"].as_str().unwrap().to_string())
        .collect();
    let redacted = redact(&text(&human.stdout), &times);
    common::snapshot_settings().bind(|| {
        insta::assert_snapshot!("ops__status_human", redacted);
    });
}

/// The example project with staging in moto's account: an endpoint with
/// autoscaling, and the data stack protected.
fn staging_in_moto_account() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_example_code(dir.path());
    let environments = dir.path().join("environments");
    std::fs::create_dir_all(&environments).unwrap();
    for name in ["base", "staging"] {
        let text = std::fs::read_to_string(
            common::repo_root()
                .join("environments")
                .join(format!("{name}.toml")),
        )
        .unwrap()
        .replace("234567890123", moto::ACCOUNT);
        std::fs::write(environments.join(format!("{name}.toml")), text).unwrap();
    }
    dir
}

#[test]
fn status_reads_the_instance_count_against_the_registered_bounds() {
    let moto = Moto::start();
    let project = staging_in_moto_account();
    let run = |args: &[&str]| moto.cli(project.path()).args(args).run();
    // A protected environment asks for IAM broadening to be approved.
    let output = run(&["apply", "--env", "staging", "--yes", "--approve-broadening"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));

    // The serving stack registered the scalable target with Application
    // Auto Scaling, as CloudFormation does.
    let output = run(&["status", "--env", "staging", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let variant = &report["endpoints"][0]["variants"][0];
    assert_eq!(
        variant["autoscaling"],
        serde_json::json!({ "state": "registered", "min": 1, "max": 2 })
    );
    assert_eq!(variant["current_instances"], 1);
    let human = run(&["status", "--env", "staging"]);
    let human = text(&human.stdout);
    assert!(human.contains("1–2, at min"), "{human}");
}

#[test]
fn train_and_status_have_help_with_examples() {
    for command in ["train", "status"] {
        let output = Command::new(common::mlinfra_bin())
            .args([command, "--help"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0));
        let help = text(&output.stdout);
        assert!(help.contains("Examples:"), "{command}: {help}");
    }
}

// ---------------------------------------------------------------------------
// `status` when AWS refuses a call (fault injection with aws-smithy-mocks)

fn http_error(status: u16, body: &'static str) -> HttpResponse {
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

#[tokio::test(start_paused = true)]
async fn status_fails_with_the_refused_call_named() {
    use aws_sdk_cloudformation::Client as Cfn;
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
    use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput;
    use aws_sdk_cloudformation::types::{ResourceStatus, Stack, StackResourceSummary, StackStatus};

    let env = mlinfra::config::load_env(&Project::Dir(common::repo_root()), "dev").unwrap();
    let describe = mock!(Cfn::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(
                Stack::builder()
                    .stack_name("any")
                    .stack_status(StackStatus::CreateComplete)
                    .creation_time(aws_smithy_types::DateTime::from_secs(1_767_225_600))
                    .build(),
            )
            .build()
    });
    let list = mock!(Cfn::list_stack_resources).then_output(|| {
        ListStackResourcesOutput::builder()
            .stack_resource_summaries(
                StackResourceSummary::builder()
                    .logical_resource_id("DogbreedEndpoint")
                    .physical_resource_id(
                        "arn:aws:sagemaker:us-east-1:123456789012:endpoint/dogbreed-dev",
                    )
                    .resource_type("AWS::SageMaker::Endpoint")
                    .resource_status(ResourceStatus::CreateComplete)
                    .last_updated_timestamp(aws_smithy_types::DateTime::from_secs(0))
                    .build(),
            )
            .build()
    });
    let denied = mock!(SageMaker::describe_endpoint)
        .match_requests(|r| r.endpoint_name() == Some("dogbreed-dev"))
        .then_http_response(|| {
            http_error(
                400,
                r#"{"__type":"AccessDeniedException","message":"not authorized to perform sagemaker:DescribeEndpoint"}"#,
            )
        });
    let blank = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(moto::REGION))
        .build();
    // Only CloudFormation and SageMaker are called for dev (no autoscaling).
    let mut clients = Clients::from_config(&blank, false);
    clients.cfn = mlinfra::cloud::Cfn::new(mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &list]
    ));
    clients.sagemaker = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, [&denied]);

    let error = mlinfra::ops::status::collect(&clients, &env)
        .await
        .unwrap_err();

    let OpsError::Aws(aws) = &error else {
        panic!("{error}")
    };
    assert_eq!(aws.operation, "DescribeEndpoint");
    assert_eq!(aws.code.as_deref(), Some("AccessDeniedException"));
    // The endpoint was looked up by the name in the stack's physical id.
    assert_eq!(denied.num_calls(), 1);
}
