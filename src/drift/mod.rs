//! `drift`: is what runs in the account still what the repository says?
//!
//! Two sources of truth make one report. CloudFormation's own drift detection
//! runs on every deployed stack (`detection`), and deep checks read the live
//! resources through the service APIs (`iam`, `sagemaker`, `autoscaling`,
//! `s3`), comparing them with the rendered templates (`expected`). Live
//! resources are found only through the stacks' physical resource ids
//! (`cloud::cfn::DeployedStack`). Every independent call runs concurrently.

pub mod alarms;
pub mod autoscaling;
pub mod detection;
pub mod expected;
pub mod finding;
pub mod iam;
pub mod policy;
pub mod s3;
pub mod sagemaker;

use std::collections::BTreeMap;
use std::time::Instant;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, join_all};

pub use finding::{
    Check, CheckError, Detection, DriftFinding, DriftReport, NotChecked, Remedy, RunStats,
    Severity, Source, StackDetection, Subject, Verdict,
};

use crate::apply::protect;
use crate::cloud::cfn::{self, DeployedStack};
use crate::cloud::{AwsError, Clients, Poll};
use crate::config::Env;
use crate::config::env::TrafficControl;
use crate::render::RenderedStack;
use expected::{KeyRef, Resolver, StackExpectations};

/// Polling of CloudFormation drift detection: a small stack takes seconds,
/// a large one a few minutes.
pub fn detection_poll(timeout: std::time::Duration) -> Poll {
    Poll {
        timeout,
        ..Poll::default()
    }
}

/// A deep check in flight: the resource it is about, then its result.
type Task<'a> = BoxFuture<'a, (Subject, Result<Vec<DriftFinding>, AwsError>)>;

/// Checks one environment. AWS errors do not abort the run: they are
/// recorded in the report (and make its verdict `Incomplete`).
pub async fn run(
    clients: &Clients,
    env: &Env,
    rendered: &[RenderedStack],
    poll: &Poll,
) -> DriftReport {
    let started = Instant::now();
    let (calls, requests) = (clients.counter.calls(), clients.counter.requests());
    let mut report = DriftReport {
        env: env.name.clone(),
        account_id: env.account_id.clone(),
        region: env.region.clone(),
        stacks: rendered.iter().map(|s| s.spec.name.clone()).collect(),
        detection: Vec::new(),
        findings: Vec::new(),
        errors: Vec::new(),
        stats: RunStats {
            calls: 0,
            requests: 0,
            elapsed_ms: 0,
        },
        fleet: None,
    };

    let loaded = join_all(
        rendered
            .iter()
            .map(|s| clients.cfn.deployed_stack(&s.spec.name)),
    )
    .await;
    let mut deployed: Vec<(&RenderedStack, DeployedStack)> = Vec::new();
    for (spec, state) in rendered.iter().zip(loaded) {
        match state {
            Ok(Some(stack)) => deployed.push((spec, stack)),
            Ok(None) => {
                report.detection.push(StackDetection {
                    stack: spec.spec.name.clone(),
                    detection: Detection::Skipped,
                    not_checked: Vec::new(),
                });
                report.findings.push(stack_missing(env, &spec.spec.name));
            }
            Err(error) => {
                report.detection.push(StackDetection {
                    stack: spec.spec.name.clone(),
                    detection: Detection::Error {
                        message: "not run: the stack could not be read".to_string(),
                    },
                    not_checked: Vec::new(),
                });
                report.errors.push(CheckError {
                    stack: spec.spec.name.clone(),
                    logical_id: String::new(),
                    message: error.to_string(),
                });
            }
        }
    }

    let protections = join_all(
        deployed
            .iter()
            .map(|(spec, stack)| protection(clients, env, spec, stack)),
    )
    .await;
    for (result, (spec, _)) in protections.into_iter().zip(&deployed) {
        match result {
            Ok(finding) => report.findings.extend(finding),
            Err(error) => report.errors.push(CheckError {
                stack: spec.spec.name.clone(),
                logical_id: String::new(),
                message: error.to_string(),
            }),
        }
    }

    let exports = cfn::exports(deployed.iter().map(|(_, d)| &d.info));
    let mut tasks: Vec<Task<'_>> = Vec::new();
    for (spec, stack) in &deployed {
        let expectations = expected::from_template(&spec.template.value);
        report.findings.extend(deep_checks(
            clients,
            env,
            stack,
            expectations,
            &exports,
            &mut tasks,
        ));
    }
    let detections = join_all(
        deployed
            .iter()
            .map(|(_, stack)| detection::detect(&clients.cfn, stack.name(), &env.name, poll)),
    );
    let (detections, results) = tokio::join!(detections, join_all(tasks));

    for (detection, findings) in detections {
        report.detection.push(detection);
        report.findings.extend(findings);
    }
    for (subject, result) in results {
        match result {
            Ok(findings) => report.findings.extend(findings),
            Err(error) => report.errors.push(CheckError {
                stack: subject.stack,
                logical_id: subject.logical_id,
                message: error.to_string(),
            }),
        }
    }
    report.stats = RunStats {
        calls: clients.counter.calls() - calls,
        requests: clients.counter.requests() - requests,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    report.sort();
    report
}

fn stack_missing(env: &Env, stack: &str) -> DriftFinding {
    Subject {
        stack: stack.to_string(),
        logical_id: String::new(),
        physical_id: None,
        resource_type: "AWS::CloudFormation::Stack".to_string(),
    }
    .finding(Source::Stack, Check::StackDeployed)
    .values("deployed", "not found")
    .severity(Severity::High)
    .hint(
        Remedy::Reapply,
        format!("deploy it: mlinfra apply --env {}", env.name),
    )
}

/// The stack's policy and termination protection against what the
/// environment requires: a policy left loosened by an apply that did not
/// finish, or protection switched off by hand, is drift.
async fn protection(
    clients: &Clients,
    env: &Env,
    spec: &RenderedStack,
    stack: &DeployedStack,
) -> Result<Option<DriftFinding>, AwsError> {
    let required = protect::required(env, spec.spec.layer);
    if !protect::needs_policy(required, &stack.info) {
        return Ok(None);
    }
    let policy = clients.cfn.stack_policy(&stack.info.stack_id).await?;
    let deployed = protect::Deployed::of(&stack.info, policy.as_deref());
    let Some(setting) = protect::settings(required, Some(&deployed)).pop() else {
        return Ok(None);
    };
    let subject = Subject {
        stack: stack.name().to_string(),
        logical_id: String::new(),
        physical_id: Some(stack.info.stack_id.clone()),
        resource_type: "AWS::CloudFormation::Stack".to_string(),
    };
    let (expected, severity, hint) = if required {
        (
            "termination protection on; the stack policy denying replacement and deletion of buckets and keys",
            Severity::High,
            format!(
                "mlinfra apply --env {} puts the protection back (mlinfra plan shows it first)",
                env.name
            ),
        )
    } else {
        (
            "no protection (termination_protection = false)",
            Severity::Low,
            format!(
                "mlinfra apply --env {} --remove-protection turns it off, or set termination_protection = true",
                env.name
            ),
        )
    };
    Ok(Some(
        subject
            .finding(Source::Stack, Check::StackProtection)
            .values(expected, protect::describe(setting, Some(&deployed)))
            .severity(severity)
            .hint(Remedy::Reapply, hint),
    ))
}

/// The template resource as deployed in the stack.
fn deployed_subject(stack: &DeployedStack, logical_id: &str, resource_type: &str) -> Subject {
    Subject {
        stack: stack.name().to_string(),
        logical_id: logical_id.to_string(),
        physical_id: stack.physical_id(logical_id).map(str::to_string),
        resource_type: resource_type.to_string(),
    }
}

/// A resource the template declares but the deployed stack does not hold:
/// the stack is behind the repository.
fn not_in_stack(subject: &Subject, env: &Env) -> DriftFinding {
    subject
        .finding(Source::Stack, Check::InStack)
        .values("declared in the template", "not in the deployed stack")
        .hint(
            Remedy::Reapply,
            format!(
                "the deployed stack is behind the repository: review with mlinfra plan --env {}, then apply",
                env.name
            ),
        )
}

/// Queues the deep checks of one stack; returns the findings known without a call.
fn deep_checks<'a>(
    clients: &'a Clients,
    env: &'a Env,
    stack: &'a DeployedStack,
    expectations: StackExpectations,
    exports: &'a BTreeMap<String, String>,
    tasks: &mut Vec<Task<'a>>,
) -> Vec<DriftFinding> {
    let mut findings = Vec::new();
    let resolver = || Resolver {
        exports,
        physical_ids: stack
            .resources
            .values()
            .filter_map(|r| Some((r.logical_id.as_str(), r.physical_id.as_deref()?)))
            .collect(),
        account_id: &env.account_id,
        region: &env.region,
    };

    for role in expectations.roles {
        let subject = deployed_subject(stack, &role.logical_id, "AWS::IAM::Role");
        if subject.physical_id.is_none() {
            findings.push(not_in_stack(&subject, env));
            continue;
        }
        let resolver = resolver();
        tasks.push(
            async move {
                let result = iam::check_role(&clients.iam, &subject, &role, &resolver).await;
                (subject, result)
            }
            .boxed(),
        );
    }

    for endpoint in expectations.endpoints {
        let subject = deployed_subject(stack, &endpoint.logical_id, "AWS::SageMaker::Endpoint");
        if subject.physical_id.is_none() {
            findings.push(not_in_stack(&subject, env));
            continue;
        }
        let live_name = sagemaker::name_from_arn(
            subject.physical_id.as_deref().unwrap_or_default(),
            "endpoint",
        )
        .to_string();
        for variant in &endpoint.variants {
            let Some(scaling) = variant.scaling.clone() else {
                continue;
            };
            let subjects = autoscaling::ScalingSubjects {
                target: deployed_subject(
                    stack,
                    &scaling.target_logical_id,
                    "AWS::ApplicationAutoScaling::ScalableTarget",
                ),
                policy: scaling.policy.as_ref().map(|p| {
                    deployed_subject(
                        stack,
                        &p.logical_id,
                        "AWS::ApplicationAutoScaling::ScalingPolicy",
                    )
                }),
            };
            let (live_name, variant_name) = (live_name.clone(), variant.name.clone());
            tasks.push(
                async move {
                    let result = autoscaling::check_variant(
                        &clients.autoscaling,
                        &subjects,
                        &live_name,
                        &variant_name,
                        &scaling,
                        &env.name,
                    )
                    .await;
                    (subjects.target, result)
                }
                .boxed(),
            );
        }
        let config_id = endpoint
            .config_logical_id
            .as_deref()
            .and_then(|id| stack.physical_id(id));
        // Every rendered endpoint comes from the configuration's endpoints.
        let configured = env
            .endpoints
            .iter()
            .find(|e| e.ids.endpoint == endpoint.logical_id)
            .map_or(
                sagemaker::Configured {
                    name: "<endpoint>",
                    traffic: TrafficControl::Config,
                },
                |e| sagemaker::Configured {
                    name: &e.name,
                    traffic: e.traffic,
                },
            );
        tasks.push(
            async move {
                let result = sagemaker::check_endpoint(
                    &clients.sagemaker,
                    &subject,
                    &endpoint,
                    config_id,
                    &env.name,
                    configured,
                )
                .await;
                (subject, result)
            }
            .boxed(),
        );
    }

    let mut alarm_checks = Vec::new();
    for alarm in expectations.alarms {
        let subject = deployed_subject(stack, &alarm.logical_id, "AWS::CloudWatch::Alarm");
        if subject.physical_id.is_none() {
            findings.push(not_in_stack(&subject, env));
            continue;
        }
        alarm_checks.push(alarms::AlarmCheck {
            subject,
            expected: alarm,
        });
    }
    if let Some(first) = alarm_checks.first() {
        let (subject, resolver) = (first.subject.clone(), resolver());
        tasks.push(
            async move {
                let result =
                    alarms::check_alarms(&clients.cloudwatch, &alarm_checks, &resolver, &env.name)
                        .await;
                (subject, result)
            }
            .boxed(),
        );
    }

    for bucket in expectations.buckets {
        let subject = deployed_subject(stack, &bucket.logical_id, "AWS::S3::Bucket");
        if subject.physical_id.is_none() {
            findings.push(not_in_stack(&subject, env));
            continue;
        }
        let key = bucket
            .encryption
            .as_ref()
            .and_then(|e| e.kms_key.as_ref())
            .and_then(|key| match key {
                KeyRef::Resource(id) => stack.physical_id(id).map(str::to_string),
                KeyRef::Literal(key) => Some(key.clone()),
            });
        tasks.push(
            async move {
                let result = s3::check_bucket(&clients.s3, &subject, &bucket, key.as_deref()).await;
                (subject, result)
            }
            .boxed(),
        );
    }
    findings
}
