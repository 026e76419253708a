//! Fault injection with aws-smithy-mocks: what moto cannot produce
//! (throttling, a change set CloudFormation rejects, a rollback, a stack busy
//! with another operation, termination protection, which moto lacks). The
//! mocked CloudFormation client answers like the real API; polling loops run
//! on tokio's paused clock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::get_stack_policy::GetStackPolicyOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::operation::set_stack_policy::SetStackPolicyOutput;
use aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ChangeType, ExecutionStatus, Replacement,
    ResourceAttribute, ResourceChange, ResourceChangeDetail, ResourceStatus,
    ResourceTargetDefinition, Stack, StackEvent, StackStatus, Tag,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use mlinfra::apply::{self, ApplyError, ApplyOptions};
use mlinfra::cloud::{Clients, retry_config};
use mlinfra::config::Env;
use mlinfra::plan::{self, PlanError, PlanOptions, Setting, StackAction};
use mlinfra::render::RenderedStack;
use mlinfra::{Error, Exit};

use super::support::{captured, example, mocked, quiet};

fn stack_id(name: &str) -> String {
    format!("arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/4f2a")
}

fn stack(env: &Env, rendered: &RenderedStack, status: StackStatus) -> Stack {
    let tags = plan::state::stack_tags(env, rendered.spec.layer);
    Stack::builder()
        .stack_name(&rendered.spec.name)
        .stack_id(stack_id(&rendered.spec.name))
        .stack_status(status)
        .creation_time(DateTime::from_secs(1_790_000_000))
        .set_tags(Some(
            tags.into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

fn described(stack: Stack) -> DescribeStacksOutput {
    DescribeStacksOutput::builder().stacks(stack).build()
}

/// CloudFormation's wire format for an error (awsQuery XML).
fn error_body(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error><RequestId>4d6e</RequestId></ErrorResponse>"
    )
}

fn describe_rule(
    name: &str,
) -> aws_smithy_mocks::RuleBuilder<
    aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksInput,
    DescribeStacksOutput,
    aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError,
> {
    // By name, or by id as for a stack being followed.
    let (name, id) = (name.to_string(), stack_id(name));
    mock!(Client::describe_stacks).match_requests(move |r| {
        r.stack_name() == Some(name.as_str()) || r.stack_name() == Some(id.as_str())
    })
}

/// A deployed stack whose template and tags equal the rendered ones.
fn unchanged(env: &Env, rendered: &RenderedStack) -> Vec<Rule> {
    let described = described(stack(env, rendered, StackStatus::UpdateComplete));
    vec![
        describe_rule(&rendered.spec.name).then_output(move || described.clone()),
        template_rule(rendered, &rendered.template.text),
    ]
}

fn template_rule(rendered: &RenderedStack, body: &str) -> Rule {
    let name = rendered.spec.name.clone();
    let body = body.to_string();
    mock!(Client::get_template)
        .match_requests(move |r| r.stack_name() == Some(name.as_str()))
        .then_output(move || {
            GetTemplateOutput::builder()
                .template_body(body.clone())
                .build()
        })
}

fn missing(rendered: &RenderedStack) -> Rule {
    let message = format!("Stack with id {} does not exist", rendered.spec.name);
    describe_rule(&rendered.spec.name)
        .sequence()
        .http_status(400, Some(error_body("ValidationError", &message)))
        .repeatedly()
        .build()
}

fn client(rules: &[Rule]) -> Clients {
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        rules,
        |config| config.retry_config(retry_config(Duration::from_millis(1)))
    );
    mocked(cfn)
}

fn created_change_set(name: &str) -> Rule {
    let id = format!("arn:aws:cloudformation:us-east-1:123456789012:changeSet/mlinfra-x/{name}");
    let stack = stack_id(name);
    let name = name.to_string();
    mock!(Client::create_change_set)
        .match_requests(move |r| r.stack_name() == Some(name.as_str()))
        .then_output(move || {
            CreateChangeSetOutput::builder()
                .id(&id)
                .stack_id(&stack)
                .build()
        })
}

fn change_set(
    status: ChangeSetStatus,
    reason: Option<&str>,
    changes: Vec<Change>,
) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .change_set_id("arn:aws:cloudformation:us-east-1:123456789012:changeSet/mlinfra-x/1")
        .status(status.clone())
        .set_status_reason(reason.map(str::to_string))
        .execution_status(if status == ChangeSetStatus::CreateComplete {
            ExecutionStatus::Available
        } else {
            ExecutionStatus::Unavailable
        })
        .set_changes(Some(changes))
        .build()
}

fn event(
    id: &str,
    logical: &str,
    ty: &str,
    status: ResourceStatus,
    reason: Option<&str>,
    token: Option<&str>,
) -> StackEvent {
    StackEvent::builder()
        .event_id(id)
        .stack_name("dogbreed-dev-serving")
        .logical_resource_id(logical)
        .resource_type(ty)
        .resource_status(status)
        .set_resource_status_reason(reason.map(str::to_string))
        .set_client_request_token(token.map(str::to_string))
        .timestamp(DateTime::from_secs(1_790_000_100))
        .build()
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retried_with_backoff_until_it_succeeds() {
    let (env, rendered) = example("dev");
    let data = described(stack(&env, &rendered[0], StackStatus::UpdateComplete));
    let throttled = describe_rule(&rendered[0].spec.name)
        .sequence()
        .http_status(400, Some(error_body("Throttling", "Rate exceeded")))
        .times(2)
        .output(move || data.clone())
        .repeatedly()
        .build();
    let mut rules = vec![
        throttled.clone(),
        template_rule(&rendered[0], &rendered[0].template.text),
    ];
    for stack in &rendered[1..] {
        rules.extend(unchanged(&env, stack));
    }
    let clients = client(&rules);
    let plan = plan::plan(&clients, &env, &rendered, &PlanOptions::default(), &quiet())
        .await
        .expect("retried to success");
    assert_eq!(plan.exit(), Exit::Clean);
    assert_eq!(
        throttled.num_calls(),
        3,
        "two throttled attempts, then the answer"
    );
}

#[tokio::test(start_paused = true)]
async fn a_change_set_cloudformation_rejects_fails_the_plan_and_is_deleted() {
    let (env, rendered) = example("dev");
    let data = &rendered[0];
    let described_data = described(stack(&env, data, StackStatus::UpdateComplete));
    let old = data
        .template
        .text
        .replace("KMS key and S3 data lake", "older description");
    let reason = "Template format error: Unresolved resource dependencies [FeaturesBucket] in the Resources block of the template";
    let describe_change_set = mock!(Client::describe_change_set)
        .sequence()
        .output(|| change_set(ChangeSetStatus::CreatePending, None, vec![]))
        .output(move || change_set(ChangeSetStatus::Failed, Some(reason), vec![]))
        .repeatedly()
        .build();
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let mut rules = vec![
        describe_rule(&data.spec.name).then_output(move || described_data.clone()),
        template_rule(data, &old),
        created_change_set(&data.spec.name),
        describe_change_set.clone(),
        delete.clone(),
        // The discarded change set was an UPDATE: its stack stays.
    ];
    for stack in &rendered[1..] {
        rules.extend(unchanged(&env, stack));
    }
    let clients = client(&rules);
    let error = plan::plan(&clients, &env, &rendered, &PlanOptions::default(), &quiet())
        .await
        .unwrap_err();
    match &error {
        PlanError::ChangeSetFailed { stack, reason: why } => {
            assert_eq!(stack, "dogbreed-dev-data");
            assert!(why.starts_with("FAILED: Template format error"), "{why}");
        }
        other => panic!("expected a failed change set, got {other}"),
    }
    assert_eq!(
        describe_change_set.num_calls(),
        2,
        "polled while pending, then read"
    );
    assert_eq!(delete.num_calls(), 1, "the failed change set is deleted");
    assert_eq!(Error::from(error).exit(), Exit::Error);
}

#[tokio::test(start_paused = true)]
async fn an_empty_change_set_is_a_no_op_and_is_deleted() {
    let (env, rendered) = example("dev");
    let serving = &rendered[3];
    // Same template, but the stack's tags differ: a change set is needed to
    // find out, and CloudFormation answers that nothing changes.
    let untagged = Stack::builder()
        .stack_name(&serving.spec.name)
        .stack_id(stack_id(&serving.spec.name))
        .stack_status(StackStatus::UpdateComplete)
        .creation_time(DateTime::from_secs(1_790_000_000))
        .build();
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let mut rules = vec![
        describe_rule(&serving.spec.name).then_output(move || described(untagged.clone())),
        template_rule(serving, &serving.template.text),
        created_change_set(&serving.spec.name),
        mock!(Client::describe_change_set).then_output(|| {
            change_set(
                ChangeSetStatus::Failed,
                Some("The submitted information didn't contain changes. Submit different information to create a change set."),
                vec![],
            )
        }),
        delete.clone(),
    ];
    for stack in &rendered[..3] {
        rules.extend(unchanged(&env, stack));
    }
    let clients = client(&rules);
    let plan = plan::plan(&clients, &env, &rendered, &PlanOptions::default(), &quiet())
        .await
        .unwrap();
    assert!(
        plan.stacks
            .iter()
            .all(|s| s.action == StackAction::NoChange && s.change_set.is_none())
    );
    assert_eq!(plan.exit(), Exit::Clean);
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_stack_that_rolls_back_shows_its_events_and_the_first_failure() {
    let (env, rendered) = example("dev");
    let serving = &rendered[3];
    let old = serving.template.text.replace("ml.m5.large", "ml.t2.medium");
    let statuses = describe_rule(&serving.spec.name)
        .sequence()
        .output({
            let s = stack(&env, serving, StackStatus::UpdateComplete);
            move || described(s.clone())
        })
        .times(2) // before attaching, while planning
        .output({
            let s = stack(&env, serving, StackStatus::UpdateInProgress);
            move || described(s.clone())
        })
        .output({
            let s = stack(&env, serving, StackStatus::UpdateRollbackComplete);
            move || described(s.clone())
        })
        .repeatedly()
        .build();
    let modify = Change::builder()
        .r#type(ChangeType::Resource)
        .resource_change(
            ResourceChange::builder()
                .action(ChangeAction::Modify)
                .logical_resource_id("DogbreedEndpointConfig")
                .resource_type("AWS::SageMaker::EndpointConfig")
                .replacement(Replacement::True)
                .scope(ResourceAttribute::Properties)
                .details(
                    ResourceChangeDetail::builder()
                        .target(
                            ResourceTargetDefinition::builder()
                                .attribute(ResourceAttribute::Properties)
                                .name("ProductionVariants")
                                .requires_recreation(
                                    aws_sdk_cloudformation::types::RequiresRecreation::Always,
                                )
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build();
    // The events carry the token of the ExecuteChangeSet call that started them.
    let token: Arc<Mutex<Option<String>>> = Arc::default();
    let execute = {
        let token = token.clone();
        mock!(Client::execute_change_set).then_compute_output(move |request| {
            *token.lock().unwrap() = request.client_request_token().map(str::to_string);
            ExecuteChangeSetOutput::builder().build()
        })
    };
    let polls = Arc::new(AtomicUsize::new(0));
    let events = {
        let token = token.clone();
        mock!(Client::describe_stack_events).then_compute_output(move |_| {
            let ours = token.lock().unwrap().clone();
            let ours = ours.as_deref();
            let call = polls.fetch_add(1, Ordering::SeqCst);
            let ty = "AWS::CloudFormation::Stack";
            let stack = "dogbreed-dev-serving";
            let mut list = vec![event("e0", stack, ty, ResourceStatus::CreateComplete, None, Some("earlier"))];
            if call >= 1 {
                list.splice(0..0, [
                    event("e4", "DogbreedEndpoint", "AWS::SageMaker::Endpoint", ResourceStatus::UpdateFailed,
                        Some("Resource handler returned message: \"ResourceLimitExceeded: The account-level service limit 'ml.m5.large for endpoint usage' is 0 Instances\""), ours),
                    event("e3", "DogbreedEndpointConfig", "AWS::SageMaker::EndpointConfig", ResourceStatus::UpdateComplete, None, ours),
                    event("e2", "DogbreedEndpointConfig", "AWS::SageMaker::EndpointConfig", ResourceStatus::UpdateInProgress,
                        Some("Requested update requires the creation of a new physical resource; hence creating one."), ours),
                    event("eF", "Unrelated", "AWS::SageMaker::Model", ResourceStatus::UpdateInProgress, Some("someone else's"), Some("other-token")),
                    event("e1", stack, ty, ResourceStatus::UpdateInProgress, Some("User Initiated"), ours),
                ]);
            }
            if call >= 2 {
                list.splice(0..0, [
                    event("e6", stack, ty, ResourceStatus::UpdateRollbackComplete, None, ours),
                    event("e5", stack, ty, ResourceStatus::UpdateRollbackInProgress,
                        Some("The following resource(s) failed to update: [DogbreedEndpoint]."), ours),
                ]);
            }
            DescribeStackEventsOutput::builder().set_stack_events(Some(list)).build()
        })
    };
    let mut rules = vec![
        statuses,
        template_rule(serving, &old),
        created_change_set(&serving.spec.name),
        mock!(Client::describe_change_set).then_output(move || {
            change_set(ChangeSetStatus::CreateComplete, None, vec![modify.clone()])
        }),
        execute.clone(),
        events,
    ];
    for stack in &rendered[..3] {
        rules.extend(unchanged(&env, stack));
    }
    let clients = client(&rules);
    let (progress, lines) = captured();
    let options = ApplyOptions {
        yes: true,
        ..Default::default()
    };
    let error = apply::run(&clients, &env, &rendered, &options, &progress, &quiet())
        .await
        .unwrap_err();
    let lines = lines.lock().unwrap().join("\n");
    assert_eq!(execute.num_calls(), 1);
    assert!(
        lines.contains("-/+ DogbreedEndpointConfig"),
        "the plan is shown first:\n{lines}"
    );
    assert!(lines.contains("DogbreedEndpoint  AWS::SageMaker::Endpoint  UPDATE_FAILED  Resource handler returned message"), "{lines}");
    assert!(
        lines
            .contains("dogbreed-dev-serving  AWS::CloudFormation::Stack  UPDATE_ROLLBACK_COMPLETE"),
        "{lines}"
    );
    assert!(
        !lines.contains("someone else's"),
        "only this operation's events:\n{lines}"
    );
    assert!(!lines.contains("earlier"), "{lines}");
    match &error {
        ApplyError::Failed { failures, skipped } => {
            assert!(skipped.is_empty());
            let failure = &failures[0];
            assert_eq!(failure.stack, "dogbreed-dev-serving");
            assert_eq!(failure.status.as_deref(), Some("UPDATE_ROLLBACK_COMPLETE"));
            let first = failure
                .first_failure
                .as_ref()
                .expect("first failing resource");
            assert_eq!(first.logical_id, "DogbreedEndpoint");
            assert!(
                first
                    .reason
                    .as_deref()
                    .unwrap()
                    .contains("ResourceLimitExceeded")
            );
        }
        other => panic!("expected a failed apply, got {other}"),
    }
    let message = error.to_string();
    assert!(
        message
            .contains("first failure: DogbreedEndpoint (AWS::SageMaker::Endpoint) UPDATE_FAILED"),
        "{message}"
    );
    assert!(
        message.contains("final status UPDATE_ROLLBACK_COMPLETE"),
        "{message}"
    );
    assert_eq!(Error::from(error).exit(), Exit::Error);
}

#[tokio::test(start_paused = true)]
async fn a_stack_busy_with_another_operation_is_refused_by_plan_and_awaited_by_apply() {
    let (env, rendered) = example("dev");
    let iam = &rendered[1];
    let busy = stack(&env, iam, StackStatus::UpdateInProgress);
    let mut rules =
        vec![describe_rule(&iam.spec.name).then_output(move || described(busy.clone()))];
    for stack in [&rendered[0], &rendered[2], &rendered[3]] {
        rules.extend(unchanged(&env, stack));
    }
    let create =
        mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().build());
    rules.push(create.clone());
    let error = plan::plan(
        &client(&rules),
        &env,
        &rendered,
        &PlanOptions::default(),
        &quiet(),
    )
    .await
    .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("dogbreed-dev-iam is UPDATE_IN_PROGRESS"),
        "{message}"
    );
    assert!(
        message.contains("`mlinfra apply` waits for it"),
        "{message}"
    );
    assert_eq!(
        create.num_calls(),
        0,
        "nothing is created while a stack is busy"
    );

    // apply attaches to the running operation, follows it, then plans.
    let statuses = describe_rule(&iam.spec.name)
        .sequence()
        .output({
            let s = stack(&env, iam, StackStatus::UpdateInProgress);
            move || described(s.clone())
        })
        .times(2)
        .output({
            let s = stack(&env, iam, StackStatus::UpdateComplete);
            move || described(s.clone())
        })
        .repeatedly()
        .build();
    let polls = Arc::new(AtomicUsize::new(0));
    let events = mock!(Client::describe_stack_events).then_compute_output(move |_| {
        let ty = "AWS::CloudFormation::Stack";
        let name = "dogbreed-dev-iam";
        let mut list = vec![event(
            "a1",
            name,
            ty,
            ResourceStatus::UpdateInProgress,
            Some("User Initiated"),
            Some("colleague"),
        )];
        if polls.fetch_add(1, Ordering::SeqCst) >= 1 {
            list.insert(
                0,
                event(
                    "a2",
                    name,
                    ty,
                    ResourceStatus::UpdateComplete,
                    None,
                    Some("colleague"),
                ),
            );
        }
        DescribeStackEventsOutput::builder()
            .set_stack_events(Some(list))
            .build()
    });
    let mut rules = vec![
        statuses.clone(),
        events,
        template_rule(iam, &iam.template.text),
    ];
    for stack in [&rendered[0], &rendered[2], &rendered[3]] {
        rules.extend(unchanged(&env, stack));
    }
    let (progress, lines) = captured();
    let options = ApplyOptions {
        yes: true,
        ..Default::default()
    };
    let done = apply::run(
        &client(&rules),
        &env,
        &rendered,
        &options,
        &progress,
        &quiet(),
    )
    .await
    .expect("waited, then nothing to do");
    assert!(done.is_empty());
    let lines = lines.lock().unwrap().join("\n");
    assert!(
        lines
            .contains("dogbreed-dev-iam: UPDATE_IN_PROGRESS in progress: waiting for it to finish"),
        "{lines}"
    );
    assert!(
        lines.contains(
            "dogbreed-dev-iam  dogbreed-dev-iam  AWS::CloudFormation::Stack  UPDATE_COMPLETE"
        ),
        "{lines}"
    );
    assert!(
        lines.contains("dogbreed-dev-iam: the running operation ended in UPDATE_COMPLETE"),
        "{lines}"
    );
    assert!(lines.contains("No changes"), "{lines}");
    assert!(statuses.num_calls() >= 3);
}

#[tokio::test(start_paused = true)]
async fn a_rolled_back_first_create_is_recreated_only_with_consent() {
    let (env, rendered) = example("dev");
    let data = &rendered[0];
    let rolled_back = stack(&env, data, StackStatus::RollbackComplete);
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let mut rules = vec![
        describe_rule(&data.spec.name).then_output(move || described(rolled_back.clone())),
        delete.clone(),
    ];
    rules.extend(rendered[1..].iter().map(missing));
    let clients = client(&rules);
    let plan = plan::plan(&clients, &env, &rendered, &PlanOptions::default(), &quiet())
        .await
        .unwrap();
    assert_eq!(plan.stacks[0].action, StackAction::Recreate);
    assert!(plan.stacks[0].change_set.is_none());
    assert_eq!(plan.stacks[1].waits_for, ["dogbreed-dev-data"]);

    let (progress, _) = captured();
    let options = ApplyOptions {
        yes: true,
        ..Default::default()
    };
    let error = apply::run(&clients, &env, &rendered, &options, &progress, &quiet())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("ROLLBACK_COMPLETE: its first create failed and was rolled back"),
        "{message}"
    );
    assert!(message.contains("--recreate-rolled-back"), "{message}");
    assert_eq!(delete.num_calls(), 0);
    assert_eq!(Error::from(error).exit(), Exit::Blocked);
}

#[tokio::test(start_paused = true)]
async fn the_data_stack_gets_its_stack_policy_and_termination_protection() {
    // The order of the calls (the policy before the protection) with mocks;
    // tests/it/cloud/emulator.rs runs both against the emulator.
    let (mut env, rendered) = example("dev");
    env.termination_protection = true;
    let policy =
        mock!(Client::set_stack_policy).then_output(|| SetStackPolicyOutput::builder().build());
    let protection = mock!(Client::update_termination_protection)
        .match_requests(|r| {
            r.enable_termination_protection() == Some(true)
                && r.stack_name() == Some("dogbreed-dev-data")
        })
        .then_output(|| UpdateTerminationProtectionOutput::builder().build());
    // The stack carries no policy yet: plan and apply read it.
    let read_policy =
        mock!(Client::get_stack_policy).then_output(|| GetStackPolicyOutput::builder().build());
    let mut rules = vec![policy.clone(), protection.clone(), read_policy.clone()];
    for stack in &rendered {
        rules.extend(unchanged(&env, stack));
    }
    let clients = client(&rules);
    let plan = plan::plan(&clients, &env, &rendered, &PlanOptions::default(), &quiet())
        .await
        .unwrap();
    assert_eq!(plan.stacks[0].settings, [Setting::Protection]);
    assert_eq!(plan.exit(), Exit::Changes);
    let (progress, lines) = captured();
    let options = ApplyOptions {
        yes: true,
        ..Default::default()
    };
    apply::run(&clients, &env, &rendered, &options, &progress, &quiet())
        .await
        .unwrap();
    assert_eq!(policy.num_calls(), 1);
    assert_eq!(protection.num_calls(), 1);
    // By this plan, by apply's own plan, and once more before setting it.
    assert_eq!(read_policy.num_calls(), 3);
    assert!(
        lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("termination protection enabled"))
    );
}

#[tokio::test(start_paused = true)]
async fn with_consent_a_rolled_back_stack_is_deleted_and_created_again() {
    let (env, rendered) = example("dev");
    let status = |stack_status: StackStatus, rendered: &RenderedStack| {
        let s = stack(&env, rendered, stack_status);
        move || described(s.clone())
    };
    let not_found = |rendered: &RenderedStack| {
        error_body(
            "ValidationError",
            &format!("Stack with id {} does not exist", rendered.spec.name),
        )
    };
    // data: rolled back while attaching and planning, deleted, then created.
    let data = describe_rule(&rendered[0].spec.name)
        .sequence()
        .output(status(StackStatus::RollbackComplete, &rendered[0]))
        .times(2)
        .output(status(StackStatus::DeleteComplete, &rendered[0]))
        .output(status(StackStatus::CreateComplete, &rendered[0]))
        .repeatedly()
        .build();
    let mut rules = vec![data];
    // The others do not exist until apply creates them.
    for stack in &rendered[1..] {
        rules.push(
            describe_rule(&stack.spec.name)
                .sequence()
                .http_status(400, Some(not_found(stack)))
                .times(2)
                .output(status(StackStatus::CreateComplete, stack))
                .repeatedly()
                .build(),
        );
    }
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let create = mock!(Client::create_change_set).then_compute_output(|request| {
        let name = request.stack_name().unwrap_or_default();
        assert_eq!(
            request.change_set_type(),
            Some(&aws_sdk_cloudformation::types::ChangeSetType::Create)
        );
        CreateChangeSetOutput::builder()
            .id(format!("arn:cs/{name}"))
            .stack_id(stack_id(name))
            .build()
    });
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    rules.extend([
        delete.clone(),
        create.clone(),
        execute.clone(),
        mock!(Client::describe_change_set)
            .then_output(|| change_set(ChangeSetStatus::CreateComplete, None, vec![])),
        mock!(Client::describe_stack_events)
            .then_output(|| DescribeStackEventsOutput::builder().build()),
    ]);
    let clients = client(&rules);
    let (progress, lines) = captured();
    let options = ApplyOptions {
        yes: true,
        recreate_rolled_back: true,
        ..Default::default()
    };
    let done = apply::run(&clients, &env, &rendered, &options, &progress, &quiet())
        .await
        .expect("recreated");
    assert_eq!(delete.num_calls(), 1);
    assert_eq!(
        create.num_calls(),
        4,
        "every change set made at apply time, after its dependencies"
    );
    assert_eq!(execute.num_calls(), 4);
    assert_eq!(done.len(), 4);
    let lines = lines.lock().unwrap().join("\n");
    assert!(
        lines.contains("dogbreed-dev-data: deleting the rolled-back stack"),
        "{lines}"
    );
    let iam = lines.find("dogbreed-dev-iam: creating").unwrap();
    assert!(
        lines.find("dogbreed-dev-data: CREATE_COMPLETE").unwrap() < iam,
        "{lines}"
    );
}
