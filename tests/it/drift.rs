//! `mlinfra drift`: against moto's server for the deep checks, against
//! aws-smithy-mocks for CloudFormation drift detection (moto has no
//! DetectStackDrift), and snapshots of the human and markdown reports.

use crate::common;

use crate::common::moto;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cloudformation::Client as CfnClient;
use aws_sdk_cloudformation::operation::describe_stack_drift_detection_status::DescribeStackDriftDetectionStatusOutput;
use aws_sdk_cloudformation::operation::describe_stack_resource_drifts::DescribeStackResourceDriftsOutput;
use aws_sdk_cloudformation::operation::detect_stack_drift::DetectStackDriftOutput;
use aws_sdk_cloudformation::types::{
    DifferenceType, PropertyDifference, StackDriftDetectionStatus, StackResourceDrift,
    StackResourceDriftStatus,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::{Response as HttpResponse, StatusCode};
use aws_smithy_types::body::SdkBody;
use serde_json::Value;

use mlinfra::cloud::{Cfn, Poll};
use mlinfra::drift::detection;
use mlinfra::drift::{
    Check, CheckError, Detection, DriftFinding, DriftReport, NotChecked, Remedy, RunStats,
    Severity, Source, StackDetection, Verdict,
};
use mlinfra::project::Project;
use mlinfra::render::{self, Engine, RenderedStack};
use moto::Moto;

// ---------------------------------------------------------------------------
// moto's server

/// moto's server for drift: AWS managed policies (AdministratorAccess) exist
/// only with `MOTO_IAM_LOAD_MANAGED_POLICIES`.
fn start_moto() -> Moto {
    Moto::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")])
}

/// Runs `mlinfra` on `project` against the server, with test credentials only.
fn mlinfra(moto: &Moto, project: &Path, args: &[&str]) -> Output {
    moto.cli(project).args(args).run()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A copy of the example project in a temp dir, every environment in moto's
/// account, so `prod` deploys there with its own shape (termination
/// protection and the data stack's policy included: the launcher implements
/// both).
fn project_in_moto_account() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    crate::common::copy_example_code(dir.path());
    let environments = dir.path().join("environments");
    std::fs::create_dir_all(&environments).unwrap();
    for name in ["base", "dev", "staging", "prod"] {
        let text = std::fs::read_to_string(
            common::repo_root()
                .join("environments")
                .join(format!("{name}.toml")),
        )
        .unwrap()
        .replace("345678901234", "123456789012")
        .replace("234567890123", "123456789012");
        std::fs::write(environments.join(format!("{name}.toml")), text).unwrap();
    }
    dir
}

fn render_env(project: &Path, env: &str) -> Vec<RenderedStack> {
    let project = Project::Dir(project.to_path_buf());
    let env = mlinfra::config::load_env(&project, env).expect("valid environment");
    render::render_env(&Engine::new(&project).unwrap(), &env).unwrap()
}

/// `apply --yes`; a protected environment (prod) also asks for IAM broadening
/// to be approved, as a first deploy adds every role.
fn deploy(moto: &Moto, project: &Path, env: &str) {
    let output = mlinfra(
        moto,
        project,
        &["apply", "--env", env, "--yes", "--approve-broadening"],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "apply --env {env} failed:\n{}\n{}\nmoto:\n{}",
        text(&output.stdout),
        text(&output.stderr),
        moto.log_text()
    );
}

/// `drift --format json`: the exit code and the report.
fn drift_json(moto: &Moto, project: &Path, env: &str) -> (i32, Value) {
    let output = mlinfra(moto, project, &["drift", "--env", env, "--format", "json"]);
    let code = output.status.code().expect("exit code");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "drift printed no JSON ({e}), exit {code}:\n{}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        )
    });
    eprintln!(
        "drift --env {env}: {} AWS calls ({} requests) in {} ms, exit {code}",
        report["stats"]["calls"], report["stats"]["requests"], report["stats"]["elapsed_ms"]
    );
    (code, report)
}

/// (logical id, check kind, severity) of every finding.
fn finding_keys(report: &Value) -> BTreeSet<(String, String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["logical_id"].as_str().unwrap().to_string(),
                f["check"]["kind"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn finding<'a>(report: &'a Value, logical_id: &str, kind: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["logical_id"] == logical_id && f["check"]["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} finding on {logical_id}: {report:#}"))
}

fn key(logical_id: &str, kind: &str, severity: &str) -> (String, String, String) {
    (logical_id.into(), kind.into(), severity.into())
}

/// The deployed stack's logical id → physical id, and its outputs.
async fn deployed(
    cfn: &CfnClient,
    stack: &str,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let resources = cfn
        .list_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .unwrap()
        .stack_resource_summaries
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| Some((r.logical_resource_id?, r.physical_resource_id?)))
        .filter(|(logical, _)| !logical.is_empty())
        .collect();
    let outputs = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .unwrap()
        .stacks
        .unwrap_or_default()
        .remove(0)
        .outputs
        .unwrap_or_default()
        .into_iter()
        .filter_map(|o| Some((o.output_key?, o.output_value?)))
        .collect();
    (resources, outputs)
}

fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    )
}

/// The live name of an endpoint: the last part of its ARN (its physical id).
fn endpoint_name(physical_id: &str) -> &str {
    physical_id.rsplit('/').next().unwrap()
}

// ---------------------------------------------------------------------------
// Against moto

#[test]
fn drift_validates_the_config_before_any_aws_call() {
    // Nothing listens on this port: any AWS call would fail with a connection error.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = Command::new(common::mlinfra_bin())
        .args([
            "--project",
            "tests/fixtures/invalid",
            "drift",
            "--env",
            "autoscaling-max-below-min",
        ])
        .current_dir(common::repo_root())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("autoscaling-max-below-min.toml"),
        "{stderr}"
    );
    assert!(!stderr.contains("AWS"), "no AWS call expected: {stderr}");
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn dev_drift_reports_each_change_made_behind_the_tools_back() {
    let moto = start_moto();
    let project = common::repo_root();
    deploy(&moto, &project, "dev");
    let sdk = moto.sdk_config().await;

    // Credentials of another account are refused before anything is read.
    let other = mlinfra(&moto, &project, &["drift", "--env", "prod"]);
    assert_eq!(other.status.code(), Some(3), "{}", text(&other.stderr));
    assert!(other.stdout.is_empty());

    let (code, report) = drift_json(&moto, &project, "dev");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["format_version"], 1);
    assert_eq!(report["verdict"], "in-sync");
    assert_eq!(finding_keys(&report), BTreeSet::new(), "{report:#}");
    assert_eq!(report["errors"], serde_json::json!([]));
    // moto has no DetectStackDrift: said so for every stack, and not an error.
    for stack in report["detection"].as_array().unwrap() {
        assert_eq!(stack["detection"]["status"], "unsupported", "{stack}");
    }
    assert!(
        report["stats"]["calls"].as_u64().unwrap() < 60,
        "{report:#}"
    );

    let cfn = CfnClient::new(&sdk);
    let (iam_ids, _) = deployed(&cfn, "dogbreed-dev-iam").await;
    let (data_ids, _) = deployed(&cfn, "dogbreed-dev-data").await;
    let (serving_ids, _) = deployed(&cfn, "dogbreed-dev-serving").await;
    let role = &iam_ids["ExecutionRole"];
    let iam = aws_sdk_iam::Client::new(&sdk);
    iam.attach_role_policy()
        .role_name(role)
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name(role)
        .policy_name("debug-access")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    s3_client(&sdk)
        .put_bucket_versioning()
        .bucket(&data_ids["RawBucket"])
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .unwrap();
    aws_sdk_sagemaker::Client::new(&sdk)
        .delete_endpoint()
        .endpoint_name(endpoint_name(&serving_ids["DogbreedEndpoint"]))
        .send()
        .await
        .unwrap();

    let (code, report) = drift_json(&moto, &project, "dev");
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["verdict"], "drifted");
    assert_eq!(
        finding_keys(&report),
        BTreeSet::from([
            key("ExecutionRole", "managed-policies", "high"),
            key("ExecutionRole", "inline-policy", "high"),
            key("RawBucket", "versioning", "high"),
            key("DogbreedEndpoint", "exists", "high"),
        ]),
        "{report:#}"
    );
    let admin = finding(&report, "ExecutionRole", "managed-policies");
    assert_eq!(admin["physical_id"], role.as_str());
    assert_eq!(
        admin["actual"],
        "arn:aws:iam::aws:policy/AdministratorAccess attached"
    );
    assert!(
        admin["hint"]
            .as_str()
            .unwrap()
            .contains("detach-role-policy"),
        "{admin}"
    );
    let inline = finding(&report, "ExecutionRole", "inline-policy");
    assert_eq!(inline["check"]["name"], "debug-access");
    let versioning = finding(&report, "RawBucket", "versioning");
    assert_eq!(
        (&versioning["expected"], &versioning["actual"]),
        (&Value::from("Enabled"), &Value::from("Suspended"))
    );
    assert_eq!(
        finding(&report, "DogbreedEndpoint", "exists")["remedy"],
        "recreate"
    );

    let human = mlinfra(&moto, &project, &["drift", "--env", "dev"]);
    assert_eq!(human.status.code(), Some(2));
    let human = text(&human.stdout);
    assert!(human.contains("4 findings: 4 high"), "{human}");
    assert!(
        human.contains("not available: the endpoint does not implement DetectStackDrift"),
        "{human}"
    );
    // The emulator says at once that it lacks drift detection: no call is retried.
    let (calls, requests) = human
        .lines()
        .find_map(|line| {
            let (calls, rest) = line.split_once(" AWS calls (")?;
            let (requests, _) = rest.split_once(" requests)")?;
            Some((calls.trim().to_string(), requests.to_string()))
        })
        .expect("the report counts its AWS calls");
    assert_eq!(calls, requests, "{human}");
}

#[tokio::test]
async fn prod_shaped_drift_checks_autoscaling_against_the_configuration() {
    let moto = start_moto();
    let project = project_in_moto_account();
    deploy(&moto, project.path(), "prod");
    let sdk = moto.sdk_config().await;

    // staging was never deployed: each of its stacks is missing, which is drift.
    let (code, staging) = drift_json(&moto, project.path(), "staging");
    assert_eq!(code, 2, "{staging:#}");
    assert_eq!(
        finding_keys(&staging),
        BTreeSet::from([key("", "stack-deployed", "high")]),
        "{staging:#}"
    );
    assert_eq!(staging["findings"].as_array().unwrap().len(), 4);
    for stack in staging["detection"].as_array().unwrap() {
        assert_eq!(stack["detection"]["status"], "skipped", "{stack}");
    }

    let (code, report) = drift_json(&moto, project.path(), "prod");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(finding_keys(&report), BTreeSet::new(), "{report:#}");

    let cfn = CfnClient::new(&sdk);
    let (serving_ids, _) = deployed(&cfn, "dogbreed-prod-serving").await;
    let endpoint = endpoint_name(&serving_ids["DogbreedEndpoint"]).to_string();
    let resource_id = format!("endpoint/{endpoint}/variant/AllTraffic");
    // prod scales 1–3: 5 instances is outside, whatever put it there.
    aws_sdk_sagemaker::Client::new(&sdk)
        .update_endpoint_weights_and_capacities()
        .endpoint_name(&endpoint)
        .desired_weights_and_capacities(
            aws_sdk_sagemaker::types::DesiredWeightAndCapacity::builder()
                .variant_name("AllTraffic")
                .desired_instance_count(5)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let autoscaling = aws_sdk_applicationautoscaling::Client::new(&sdk);
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Sagemaker)
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .resource_id(&resource_id)
        .min_capacity(1)
        .max_capacity(10)
        .send()
        .await
        .unwrap();
    autoscaling
        .delete_scaling_policy()
        .policy_name("dogbreed-prod-dogbreed-target-tracking")
        .service_namespace(ServiceNamespace::Sagemaker)
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .resource_id(&resource_id)
        .send()
        .await
        .unwrap();

    let (code, report) = drift_json(&moto, project.path(), "prod");
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(
        finding_keys(&report),
        BTreeSet::from([
            key("DogbreedEndpoint", "instance-count", "medium"),
            key("DogbreedScalableTarget", "scaling-capacity", "medium"),
            key("DogbreedScalingPolicy", "scaling-policy", "high"),
        ]),
        "{report:#}"
    );
    let count = finding(&report, "DogbreedEndpoint", "instance-count");
    assert_eq!(count["expected"], "between 1 and 3 (autoscaling)");
    assert_eq!(count["actual"], "5");
    let capacity = finding(&report, "DogbreedScalableTarget", "scaling-capacity");
    assert_eq!(
        (&capacity["expected"], &capacity["actual"]),
        (&Value::from("min 1 max 3"), &Value::from("min 1 max 10"))
    );
    assert_eq!(
        finding(&report, "DogbreedScalingPolicy", "scaling-policy")["actual"],
        "no scaling policy"
    );

    let markdown = mlinfra(
        &moto,
        project.path(),
        &["drift", "--env", "prod", "--format", "markdown"],
    );
    assert_eq!(markdown.status.code(), Some(2));
    assert!(
        text(&markdown.stdout).starts_with(
            "<!-- mlinfra:drift env=prod -->\n### mlinfra drift: `prod` — drift found (exit 2)"
        ),
        "{}",
        text(&markdown.stdout)
    );
}

#[tokio::test]
async fn a_cpu_policy_re_pointed_or_unable_to_scale_in_is_drift() {
    let moto = start_moto();
    let project = project_in_moto_account();
    let prod = project.path().join("environments/prod.toml");
    let text = std::fs::read_to_string(&prod).unwrap().replace(
        "target_invocations_per_instance = 70",
        "target_cpu_utilization = 60",
    );
    std::fs::write(&prod, text).unwrap();
    deploy(&moto, project.path(), "prod");
    let rendered = render_env(project.path(), "prod");
    let policy = &rendered[3].template.value["Resources"]["DogbreedScalingPolicy"]["Properties"];
    // ml.m5.xlarge has 4 vCPUs: 60 % per instance is 240 % of SageMaker's summed metric.
    assert_eq!(
        policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"].as_f64(),
        Some(240.0)
    );
    let sdk = moto.sdk_config().await;

    let (code, report) = drift_json(&moto, project.path(), "prod");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(finding_keys(&report), BTreeSet::new(), "{report:#}");

    // Behind the tool's back: the same policy, now watching another endpoint
    // and never scaling in, with a count unit.
    let cfn = CfnClient::new(&sdk);
    let (serving_ids, _) = deployed(&cfn, "dogbreed-prod-serving").await;
    let endpoint = endpoint_name(&serving_ids["DogbreedEndpoint"]).to_string();
    use aws_sdk_applicationautoscaling::types as aas;
    aws_sdk_applicationautoscaling::Client::new(&sdk)
        .put_scaling_policy()
        .policy_name("dogbreed-prod-dogbreed-target-tracking")
        .policy_type(aas::PolicyType::TargetTrackingScaling)
        .service_namespace(aas::ServiceNamespace::Sagemaker)
        .scalable_dimension(aas::ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .resource_id(format!("endpoint/{endpoint}/variant/AllTraffic"))
        .target_tracking_scaling_policy_configuration(
            aas::TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(240.0)
                .scale_in_cooldown(300)
                .scale_out_cooldown(30)
                .disable_scale_in(true)
                .customized_metric_specification(
                    aas::CustomizedMetricSpecification::builder()
                        .metric_name("CPUUtilization")
                        .namespace("/aws/sagemaker/Endpoints")
                        .statistic(aas::MetricStatistic::Average)
                        .unit("Count")
                        .dimensions(
                            aas::MetricDimension::builder()
                                .name("EndpointName")
                                .value("some-other-endpoint")
                                .build()
                                .unwrap(),
                        )
                        .dimensions(
                            aas::MetricDimension::builder()
                                .name("VariantName")
                                .value("AllTraffic")
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let (code, report) = drift_json(&moto, project.path(), "prod");
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(
        finding_keys(&report),
        BTreeSet::from([
            key("DogbreedScalingPolicy", "scaling-policy", "medium"),
            key("DogbreedScalingPolicy", "scaling-policy", "high"),
        ]),
        "{report:#}"
    );
    let pairs: BTreeSet<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["expected"].as_str().unwrap().to_string(),
                f["actual"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        BTreeSet::from([
            (
                "scale-in enabled".to_string(),
                "scale-in disabled".to_string()
            ),
            (
                "metric unit Percent".to_string(),
                "metric unit Count".to_string()
            ),
            (
                format!("metric dimensions EndpointName={endpoint}, VariantName=AllTraffic"),
                "metric dimensions EndpointName=some-other-endpoint, VariantName=AllTraffic"
                    .to_string()
            ),
        ]),
        "{report:#}"
    );
}

// ---------------------------------------------------------------------------
// The demo's sequence (scripts/demo.sh): a fresh apply has no drift, then
// each change made behind the tool's back is caught. The emulator is the
// project's launcher, which deploys every rendered resource type as
// CloudFormation does; nothing is added to the account by the test.

/// The template value of `property` of `logical_id` in the rendered `layer` stack.
fn rendered_property(
    rendered: &[RenderedStack],
    layer: &str,
    logical_id: &str,
    property: &str,
) -> Value {
    let stack = rendered
        .iter()
        .find(|s| s.spec.name.ends_with(&format!("-{layer}")))
        .unwrap_or_else(|| panic!("a rendered {layer} stack"));
    stack.template.value["Resources"][logical_id]["Properties"][property].clone()
}

#[tokio::test]
async fn the_demo_dev_apply_has_no_drift_then_an_attached_administrator_access_is_caught() {
    let moto = start_moto();
    let project = common::repo_root();
    deploy(&moto, &project, "dev");

    let (code, report) = drift_json(&moto, &project, "dev");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["verdict"], "in-sync");
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["errors"], serde_json::json!([]), "{report:#}");

    // What the deep checks read is really there, as the template has it.
    let sdk = moto.sdk_config().await;
    let cfn = CfnClient::new(&sdk);
    let (data_ids, _) = deployed(&cfn, "dogbreed-dev-data").await;
    let s3 = s3_client(&sdk);
    let raw = &data_ids["RawBucket"];
    let versioning = s3.get_bucket_versioning().bucket(raw).send().await.unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
    let block = s3
        .get_public_access_block()
        .bucket(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(
        block
            .public_access_block_configuration()
            .and_then(|c| c.restrict_public_buckets()),
        Some(true)
    );
    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket(raw)
        .send()
        .await
        .unwrap();
    let rule_ids: Vec<&str> = lifecycle.rules().iter().filter_map(|r| r.id()).collect();
    assert_eq!(rule_ids, ["TierToGlacier", "ExpireNoncurrentVersions"]);
    let policy = s3.get_bucket_policy().bucket(raw).send().await.unwrap();
    assert!(
        policy.policy().unwrap().contains("DenyInsecureTransport"),
        "{policy:?}"
    );
    let (training_ids, _) = deployed(&cfn, "dogbreed-dev-training").await;
    aws_sdk_sagemaker::Client::new(&sdk)
        .describe_pipeline()
        .pipeline_name(&training_ids["DogbreedPipeline"])
        .send()
        .await
        .expect("the pipeline exists");

    let (iam_ids, _) = deployed(&cfn, "dogbreed-dev-iam").await;
    let role = &iam_ids["ExecutionRole"];
    aws_sdk_iam::Client::new(&sdk)
        .attach_role_policy()
        .role_name(role)
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();

    let (code, report) = drift_json(&moto, &project, "dev");
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["verdict"], "drifted");
    assert_eq!(
        finding_keys(&report),
        BTreeSet::from([key("ExecutionRole", "managed-policies", "high")]),
        "{report:#}"
    );
    assert_eq!(
        finding(&report, "ExecutionRole", "managed-policies")["actual"],
        "arn:aws:iam::aws:policy/AdministratorAccess attached"
    );
}

#[tokio::test]
async fn a_fresh_prod_shaped_apply_has_no_drift_then_a_raised_scaling_maximum_is_caught() {
    let moto = start_moto();
    let project = project_in_moto_account();
    deploy(&moto, project.path(), "prod");

    let (code, report) = drift_json(&moto, project.path(), "prod");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["errors"], serde_json::json!([]), "{report:#}");

    // The endpoint has the name the template gives it, and Application Auto
    // Scaling registered the target the template declares.
    let rendered = render_env(project.path(), "prod");
    let name = rendered_property(&rendered, "serving", "DogbreedEndpoint", "EndpointName");
    let sdk = moto.sdk_config().await;
    let cfn = CfnClient::new(&sdk);
    let (serving_ids, _) = deployed(&cfn, "dogbreed-prod-serving").await;
    assert_eq!(
        endpoint_name(&serving_ids["DogbreedEndpoint"]),
        name.as_str().unwrap()
    );
    let resource_id =
        rendered_property(&rendered, "serving", "DogbreedScalableTarget", "ResourceId");
    let resource_id = resource_id.as_str().unwrap();
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    let autoscaling = aws_sdk_applicationautoscaling::Client::new(&sdk);
    let targets = autoscaling
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_ids(resource_id)
        .send()
        .await
        .unwrap();
    let target = &targets.scalable_targets()[0];
    assert_eq!((target.min_capacity(), target.max_capacity()), (1, 3));

    // The data stack is protected as the configuration asks.
    let data = cfn
        .describe_stacks()
        .stack_name("dogbreed-prod-data")
        .send()
        .await
        .unwrap();
    assert_eq!(data.stacks()[0].enable_termination_protection(), Some(true));

    autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Sagemaker)
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .resource_id(resource_id)
        .max_capacity(10)
        .send()
        .await
        .unwrap();

    let (code, report) = drift_json(&moto, project.path(), "prod");
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(
        finding_keys(&report),
        BTreeSet::from([key("DogbreedScalableTarget", "scaling-capacity", "medium")]),
        "{report:#}"
    );
    let capacity = finding(&report, "DogbreedScalableTarget", "scaling-capacity");
    assert_eq!(
        (&capacity["expected"], &capacity["actual"]),
        (&Value::from("min 1 max 3"), &Value::from("min 1 max 10"))
    );
}

#[tokio::test]
async fn an_applied_instance_type_change_leaves_no_drift() {
    // A new instance type replaces the (immutable) endpoint config; the
    // endpoint that refers to it is updated to serve the new one, as
    // CloudFormation does.
    let moto = start_moto();
    let project = project_in_moto_account();
    deploy(&moto, project.path(), "dev");
    let dev = project.path().join("environments/dev.toml");
    let text = std::fs::read_to_string(&dev).unwrap();
    std::fs::write(
        &dev,
        format!("{text}\n[endpoints.dogbreed]\ninstance_type = \"ml.m5.xlarge\"\n"),
    )
    .unwrap();
    deploy(&moto, project.path(), "dev");

    let (code, report) = drift_json(&moto, project.path(), "dev");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");
    let sdk = moto.sdk_config().await;
    let (serving_ids, outputs) = deployed(&CfnClient::new(&sdk), "dogbreed-dev-serving").await;
    let endpoint = aws_sdk_sagemaker::Client::new(&sdk)
        .describe_endpoint()
        .endpoint_name(endpoint_name(&serving_ids["DogbreedEndpoint"]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        endpoint.endpoint_config_name(),
        Some(outputs["DogbreedEndpointConfigName"].as_str())
    );
}

// ---------------------------------------------------------------------------
// CloudFormation drift detection, with mocks: moto has no DetectStackDrift.

const STACK: &str = "dogbreed-prod-data";

fn poll() -> Poll {
    Poll {
        first: Duration::from_secs(1),
        max: Duration::from_secs(5),
        timeout: Duration::from_secs(60),
    }
}

fn status(
    status: StackDriftDetectionStatus,
    reason: Option<&str>,
) -> DescribeStackDriftDetectionStatusOutput {
    DescribeStackDriftDetectionStatusOutput::builder()
        .stack_id("arn:aws:cloudformation:us-east-1:123456789012:stack/dogbreed-prod-data/1")
        .stack_drift_detection_id("detection-1")
        .detection_status(status)
        .set_detection_status_reason(reason.map(str::to_string))
        .build()
}

fn drift(logical_id: &str, kind: &str, status: StackResourceDriftStatus) -> StackResourceDrift {
    StackResourceDrift::builder()
        .stack_id("arn:aws:cloudformation:us-east-1:123456789012:stack/dogbreed-prod-data/1")
        .logical_resource_id(logical_id)
        .physical_resource_id(format!("{}-physical", logical_id.to_lowercase()))
        .resource_type(kind)
        .stack_resource_drift_status(status)
        .build()
}

#[tokio::test(start_paused = true)]
async fn modified_and_deleted_resources_are_findings_and_not_checked_ones_are_listed() {
    let detect = mock!(CfnClient::detect_stack_drift)
        .match_requests(|r| r.stack_name() == Some(STACK))
        .then_output(|| {
            DetectStackDriftOutput::builder()
                .stack_drift_detection_id("detection-1")
                .build()
        });
    let polls = mock!(CfnClient::describe_stack_drift_detection_status)
        .match_requests(|r| r.stack_drift_detection_id() == Some("detection-1"))
        .sequence()
        .output(|| status(StackDriftDetectionStatus::DetectionInProgress, None))
        .times(2)
        .output(|| status(StackDriftDetectionStatus::DetectionComplete, None))
        .build();
    // Two pages: every page is read.
    let first_page = mock!(CfnClient::describe_stack_resource_drifts)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            DescribeStackResourceDriftsOutput::builder()
                .stack_resource_drifts(
                    StackResourceDrift::builder()
                        .stack_id("stack")
                        .logical_resource_id("RawBucket")
                        .physical_resource_id("dogbreed-prod-raw-123456789012-us-east-1")
                        .resource_type("AWS::S3::Bucket")
                        .stack_resource_drift_status(StackResourceDriftStatus::Modified)
                        .property_differences(
                            PropertyDifference::builder()
                                .property_path("/VersioningConfiguration/Status")
                                .expected_value("Enabled")
                                .actual_value("Suspended")
                                .difference_type(DifferenceType::NotEqual)
                                .build(),
                        )
                        .property_differences(
                            PropertyDifference::builder()
                                .property_path("/Tags/2")
                                .expected_value("")
                                .actual_value("{\"Key\":\"owner\",\"Value\":\"someone\"}")
                                .difference_type(DifferenceType::Add)
                                .build(),
                        )
                        .build(),
                )
                .stack_resource_drifts(drift(
                    "AccessLogBucketPolicy",
                    "AWS::S3::BucketPolicy",
                    StackResourceDriftStatus::NotChecked,
                ))
                .next_token("page-2")
                .build()
        });
    let second_page = mock!(CfnClient::describe_stack_resource_drifts)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            DescribeStackResourceDriftsOutput::builder()
                .stack_resource_drifts(drift(
                    "DataKeyAlias",
                    "AWS::KMS::Alias",
                    StackResourceDriftStatus::Deleted,
                ))
                .build()
        });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&detect, &polls, &first_page, &second_page]
    );

    let (detection, findings) = detection::detect(&Cfn::new(client), STACK, "prod", &poll()).await;

    assert_eq!(detection.detection, Detection::Complete);
    assert_eq!(
        detection.not_checked,
        vec![NotChecked {
            logical_id: "AccessLogBucketPolicy".into(),
            resource_type: "AWS::S3::BucketPolicy".into(),
            reason: None,
        }]
    );
    let summary: Vec<(&str, String, &str, &str, Severity)> = findings
        .iter()
        .map(|f| {
            (
                f.logical_id.as_str(),
                f.check.to_string(),
                f.expected.as_str(),
                f.actual.as_str(),
                f.severity,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "RawBucket",
                "property /VersioningConfiguration/Status".to_string(),
                "Enabled",
                "Suspended",
                Severity::High
            ),
            (
                "RawBucket",
                "property /Tags/2".to_string(),
                "(absent)",
                "{\"Key\":\"owner\",\"Value\":\"someone\"}",
                Severity::Medium
            ),
            (
                "DataKeyAlias",
                "exists".to_string(),
                "exists",
                "deleted outside CloudFormation",
                Severity::High
            ),
        ]
    );
    assert!(findings.iter().all(|f| f.source == Source::Cloudformation));
    assert_eq!(findings[2].remedy, Remedy::Recreate);
    assert_eq!(detect.num_calls(), 1);
    assert_eq!(polls.num_calls(), 3);
    assert_eq!((first_page.num_calls(), second_page.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_failed_detection_keeps_its_partial_results_and_makes_the_run_incomplete() {
    let detect = mock!(CfnClient::detect_stack_drift).then_output(|| {
        DetectStackDriftOutput::builder()
            .stack_drift_detection_id("detection-1")
            .build()
    });
    let polls = mock!(CfnClient::describe_stack_drift_detection_status).then_output(|| {
        status(
            StackDriftDetectionStatus::DetectionFailed,
            Some("Failed to detect drift on resource [DataKey]: access denied"),
        )
    });
    let drifts = mock!(CfnClient::describe_stack_resource_drifts).then_output(|| {
        DescribeStackResourceDriftsOutput::builder()
            .stack_resource_drifts(
                StackResourceDrift::builder()
                    .stack_id("stack")
                    .logical_resource_id("DataKey")
                    .resource_type("AWS::KMS::Key")
                    .stack_resource_drift_status(StackResourceDriftStatus::NotChecked)
                    .drift_status_reason("access denied")
                    .build(),
            )
            .build()
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&detect, &polls, &drifts]
    );

    let (detection, findings) = detection::detect(&Cfn::new(client), STACK, "prod", &poll()).await;

    assert_eq!(
        detection.detection,
        Detection::Failed {
            reason: "Failed to detect drift on resource [DataKey]: access denied".into()
        }
    );
    assert_eq!(detection.not_checked[0].logical_id, "DataKey");
    assert_eq!(
        detection.not_checked[0].reason.as_deref(),
        Some("access denied")
    );
    assert!(findings.is_empty());
    assert_eq!(drifts.num_calls(), 1);
    let report = report_with(vec![detection], Vec::new());
    assert_eq!(report.verdict(), Verdict::Incomplete);
}

#[tokio::test(start_paused = true)]
async fn a_detection_that_does_not_finish_times_out_without_reading_results() {
    let detect = mock!(CfnClient::detect_stack_drift).then_output(|| {
        DetectStackDriftOutput::builder()
            .stack_drift_detection_id("detection-1")
            .build()
    });
    let polls = mock!(CfnClient::describe_stack_drift_detection_status)
        .then_output(|| status(StackDriftDetectionStatus::DetectionInProgress, None));
    let drifts = mock!(CfnClient::describe_stack_resource_drifts)
        .then_output(|| DescribeStackResourceDriftsOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&detect, &polls, &drifts]
    );

    let started = tokio::time::Instant::now();
    let (detection, findings) = detection::detect(&Cfn::new(client), STACK, "prod", &poll()).await;

    assert_eq!(
        detection.detection,
        Detection::TimedOut {
            after: Duration::from_secs(60)
        }
    );
    assert!(detection.detection.is_incomplete());
    assert!(findings.is_empty());
    assert_eq!(drifts.num_calls(), 0);
    // Intervals 1, 1.5, 2.25, 3.4, then 5 s: about 15 polls in a minute, not 60.
    assert!(
        (10..=20).contains(&polls.num_calls()),
        "{}",
        polls.num_calls()
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(60) && waited < Duration::from_secs(66),
        "{waited:?}"
    );
}

fn http(status: u16, body: &'static str) -> HttpResponse {
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

#[tokio::test(start_paused = true)]
async fn an_endpoint_without_drift_detection_is_reported_as_such_not_as_an_error() {
    // moto's answer: HTTP 500 with an HTML page and no AWS error code.
    let html = mock!(CfnClient::detect_stack_drift).then_http_response(|| {
        http(
            500,
            "<!doctype html><title>500 Internal Server Error</title>",
        )
    });
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&html]);
    let (detection, _) = detection::detect(&Cfn::new(client), STACK, "prod", &poll()).await;
    assert!(
        matches!(&detection.detection, Detection::Unsupported { reason } if reason.contains("HTTP 500")),
        "{detection:?}"
    );
    assert!(!detection.detection.is_incomplete());
    // Retried a little (a real 500 can be transient), then given up.
    assert_eq!(html.num_calls(), 3);

    let invalid_action = mock!(CfnClient::detect_stack_drift).then_http_response(|| {
        http(
            400,
            "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code>\
             <Message>Unknown action DetectStackDrift</Message></Error><RequestId>1</RequestId></ErrorResponse>",
        )
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&invalid_action]
    );
    let (detection, _) = detection::detect(&Cfn::new(client), STACK, "prod", &poll()).await;
    assert!(
        matches!(&detection.detection, Detection::Unsupported { reason } if reason.contains("InvalidAction")),
        "{detection:?}"
    );

    // AWS names its own failures: that is an error, and the run is incomplete.
    let internal = mock!(CfnClient::detect_stack_drift).then_http_response(|| {
        http(
            500,
            "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code>\
             <Message>internal failure</Message></Error><RequestId>1</RequestId></ErrorResponse>",
        )
    });
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&internal]);
    let (detection, _) = detection::detect(&Cfn::new(client), STACK, "prod", &poll()).await;
    assert!(
        matches!(&detection.detection, Detection::Error { message } if message.contains("InternalFailure")),
        "{detection:?}"
    );
    assert!(detection.detection.is_incomplete());
}

// ---------------------------------------------------------------------------
// Report snapshots, from fixed findings.

fn report_with(detection: Vec<StackDetection>, findings: Vec<DriftFinding>) -> DriftReport {
    let mut report = DriftReport {
        env: "prod".into(),
        account_id: "345678901234".into(),
        region: "us-east-1".into(),
        stacks: vec![
            "dogbreed-prod-data".into(),
            "dogbreed-prod-iam".into(),
            "dogbreed-prod-serving".into(),
        ],
        detection,
        findings,
        errors: Vec::new(),
        stats: RunStats {
            calls: 42,
            requests: 44,
            elapsed_ms: 1830,
        },
        fleet: None,
    };
    report.sort();
    report
}

fn sample_report() -> DriftReport {
    let f = |stack: &str,
             logical: &str,
             physical: Option<&str>,
             kind: &str,
             source: Source,
             check: Check,
             (expected, actual): (&str, &str),
             severity: Severity,
             remedy: Remedy,
             hint: &str| DriftFinding {
        stack: stack.into(),
        logical_id: logical.into(),
        physical_id: physical.map(str::to_string),
        resource_type: kind.into(),
        source,
        check,
        expected: expected.into(),
        actual: actual.into(),
        severity,
        remedy,
        hint: hint.into(),
    };
    let mut report = report_with(
        vec![
            StackDetection {
                stack: "dogbreed-prod-data".into(),
                detection: Detection::Complete,
                not_checked: vec![NotChecked {
                    logical_id: "RawBucketPolicy".into(),
                    resource_type: "AWS::S3::BucketPolicy".into(),
                    reason: Some("drift detection is not supported for this type".into()),
                }],
            },
            StackDetection {
                stack: "dogbreed-prod-iam".into(),
                detection: Detection::Complete,
                not_checked: Vec::new(),
            },
            StackDetection {
                stack: "dogbreed-prod-serving".into(),
                detection: Detection::TimedOut {
                    after: Duration::from_secs(300),
                },
                not_checked: Vec::new(),
            },
        ],
        vec![
            f(
                "dogbreed-prod-serving",
                "DogbreedEndpoint",
                Some("arn:aws:sagemaker:us-east-1:345678901234:endpoint/dogbreed-prod-dogbreed"),
                "AWS::SageMaker::Endpoint",
                Source::Sagemaker,
                Check::InstanceCount {
                    variant: "AllTraffic".into(),
                },
                ("between 1 and 3 (autoscaling)", "5"),
                Severity::Medium,
                Remedy::RevertOrUpdateConfig,
                "set it back, or change autoscaling min/max in environments/prod.toml",
            ),
            f(
                "dogbreed-prod-iam",
                "ExecutionRole",
                Some("dogbreed-prod-sagemaker-execution"),
                "AWS::IAM::Role",
                Source::Iam,
                Check::ManagedPolicies,
                (
                    "none attached",
                    "arn:aws:iam::aws:policy/AdministratorAccess attached",
                ),
                Severity::High,
                Remedy::Revert,
                "detach it (aws iam detach-role-policy --role-name dogbreed-prod-sagemaker-execution --policy-arn arn:aws:iam::aws:policy/AdministratorAccess)",
            ),
            f(
                "dogbreed-prod-data",
                "RawBucket",
                Some("dogbreed-prod-raw-345678901234-us-east-1"),
                "AWS::S3::Bucket",
                Source::Cloudformation,
                Check::Property {
                    path: "/VersioningConfiguration/Status".into(),
                },
                ("Enabled", "Suspended"),
                Severity::High,
                Remedy::RevertOrUpdateConfig,
                "revert it in the account",
            ),
            f(
                "dogbreed-prod-iam",
                "ExecutionRole",
                Some("dogbreed-prod-sagemaker-execution"),
                "AWS::IAM::Role",
                Source::Iam,
                Check::InlinePolicy {
                    name: "debug | access".into(),
                },
                (
                    "(no such policy)",
                    r#"{"Statement":[{"Action":"s3:*","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}"#,
                ),
                Severity::High,
                Remedy::Revert,
                "delete it",
            ),
        ],
    );
    report.errors.push(CheckError {
        stack: "dogbreed-prod-serving".into(),
        logical_id: "DogbreedEndpoint".into(),
        message: "AWS DescribeEndpoint failed (ThrottlingException): Rate exceeded".into(),
    });
    report
}

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(common::repo_root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

#[test]
fn reports_read_well_for_people_and_pull_requests() {
    let report = sample_report();
    assert_eq!(report.verdict(), Verdict::Incomplete);
    assert_eq!(report.findings[0].severity, Severity::High);
    snapshot_settings().bind(|| {
        insta::assert_snapshot!("drift__human", mlinfra::report::drift::human(&report));
        insta::assert_snapshot!("drift__markdown", mlinfra::report::drift::markdown(&report));
    });
    let (read, emphasis) = common::commonmark_reading(&mlinfra::report::drift::markdown(&report));
    assert_eq!(emphasis, 0, "nothing in a drift report is emphasised");
    for written in [
        "debug | access",
        r#"{"Statement":[{"Action":"s3:*","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}"#,
        "arn:aws:iam::aws:policy/AdministratorAccess attached",
        "dogbreed-prod-raw-345678901234-us-east-1",
    ] {
        assert!(read.contains(written), "{written} lost in: {read}");
    }
    let json: Value = serde_json::from_str(&mlinfra::report::drift::json(&report)).unwrap();
    assert_eq!(json["verdict"], "incomplete");
    assert_eq!(json["findings"][0]["check"]["kind"], "property");
    assert_eq!(json["findings"][1]["check"]["kind"], "managed-policies");
    assert_eq!(json["detection"][2]["detection"]["status"], "timed-out");
    assert_eq!(json["detection"][2]["detection"]["after"], 300);
}

#[test]
fn the_verdict_follows_the_exit_code_contract() {
    let clean = report_with(
        vec![StackDetection {
            stack: "dogbreed-prod-data".into(),
            detection: Detection::Unsupported {
                reason: "no drift detection".into(),
            },
            not_checked: Vec::new(),
        }],
        Vec::new(),
    );
    assert_eq!(clean.verdict(), Verdict::InSync);
    let mut drifted = sample_report();
    drifted.errors.clear();
    drifted.detection.retain(|d| !d.detection.is_incomplete());
    assert_eq!(drifted.verdict(), Verdict::Drifted);
}

/// A fleet's StackSet drift is part of the environment's drift report: one
/// JSON document (the fleet under `fleet`), one Markdown comment, and a
/// drifted instance makes the whole report drifted.
#[test]
fn fleet_drift_is_part_of_the_one_drift_document() {
    use mlinfra::cloud::stackset::{Instance, OperationOutcome};
    use mlinfra::fleet::{FleetDrift, StackSetDrift};
    use mlinfra::output::Report;

    let mut report = report_with(
        vec![StackDetection {
            stack: "dogbreed-prod-data".into(),
            detection: Detection::Complete,
            not_checked: Vec::new(),
        }],
        Vec::new(),
    );
    assert_eq!(report.verdict(), mlinfra::drift::Verdict::InSync);
    let instance = |account: &str, drift: &str| Instance {
        account: account.into(),
        region: "eu-west-1".into(),
        organizational_unit: None,
        status: "CURRENT".into(),
        reason: None,
        drift: Some(drift.into()),
    };
    report.fleet = Some(FleetDrift {
        stack_sets: vec![StackSetDrift {
            stack_set: "dogbreed-prod-bootstrap".into(),
            deployed: true,
            operation: Some(OperationOutcome {
                operation_id: "drift-1".into(),
                status: "SUCCEEDED".into(),
                reason: None,
                results: Vec::new(),
            }),
            instances: vec![
                instance("111111111111", "IN_SYNC"),
                instance("222222222222", "DRIFTED"),
            ],
        }],
    });
    assert_eq!(report.verdict(), mlinfra::drift::Verdict::Drifted);

    let json = report.json();
    let value: Value = serde_json::from_str(&json).expect("one JSON document");
    assert!(json.starts_with("{\n  \"format_version\""), "{json}");
    assert_eq!(value["verdict"], "drifted");
    assert_eq!(
        value["fleet"]["stack_sets"][0]["instances"][1]["drift"],
        "DRIFTED"
    );
    let markdown = report.markdown().unwrap();
    assert_eq!(
        markdown.matches("### mlinfra drift").count(),
        1,
        "{markdown}"
    );
    assert!(
        markdown.contains("#### Fleet: StackSet drift detection"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| `222222222222` | `eu-west-1` | DRIFTED |"),
        "{markdown}"
    );
    let human = report.human(&mlinfra::output::Printer::silent());
    assert!(
        human.contains("StackSet dogbreed-prod-bootstrap: 1 of 2 instances drifted or unchecked"),
        "{human}"
    );
}
