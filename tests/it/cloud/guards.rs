//! Guards on every path, against moto's server with the fault-injecting
//! proxy (tests/it/common/proxy.rs) in front of it: a stack policy loosened
//! for an allowed removal is put back when execution fails, when following
//! the update fails and on Ctrl-C; a policy left loosened (or protection
//! turned off in the configuration) is seen by plan and drift and carried
//! out by apply; throttling storms and dropped connections are ridden out.
//!
//! moto runs an update to its end inside `ExecuteChangeSet`, so "an update
//! still running" is made by the proxy holding or failing the calls that
//! follow it, which is what a client sees of an outage mid-follow.

use std::path::Path;
use std::time::Duration;

use mlinfra::apply::{self, ApplyError, ApplyOptions, protect};
use mlinfra::cloud::{Cfn, Clients, retry_config};
use mlinfra::config::{self, Env};
use mlinfra::project::Project;
use mlinfra::render::{self, Engine, RenderedStack};

use super::support::{
    FEATURES, ZONES, captured, dev_project, moto_cfn, project_with, quick_poll, quiet,
};
use crate::common::moto::{Moto, REGION};
use crate::common::proxy::{Fault, Proxy, Rule};

const DATA: &str = "dogbreed-dev-data";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn mlinfra(moto: &Moto, endpoint: &str, project: &Path, args: &[&str]) -> Run {
    let output = moto
        .cli(project)
        .env("AWS_ENDPOINT_URL", endpoint)
        .args(args)
        .run();
    Run {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn assert_exit(run: &Run, code: i32, what: &str) {
    assert_eq!(
        run.code, code,
        "{what}: exit {}\n--- stdout\n{}\n--- stderr\n{}",
        run.code, run.stdout, run.stderr
    );
}

/// No SDK error reaches the user as a Debug dump.
fn assert_plain(text: &str) {
    for dump in [
        "DispatchFailure",
        "ServiceError {",
        "source:",
        "ConnectorError",
        "Some(",
    ] {
        assert!(!text.contains(dump), "a Debug dump ({dump}) in:\n{text}");
    }
}

fn env_of(project: &Path) -> (Env, Vec<RenderedStack>) {
    let project = Project::Dir(project.to_path_buf());
    let env = config::load_env(&project, "dev").expect("valid environment");
    let rendered =
        render::render_env(&Engine::new(&project).expect("templates"), &env).expect("renders");
    (env, rendered)
}

/// In-process clients through `endpoint`, with quick retries and polling.
async fn clients_at(endpoint: &str) -> Clients {
    let config = crate::common::moto::sdk_loader(endpoint, REGION)
        .retry_config(retry_config(Duration::from_millis(5)))
        .load()
        .await;
    let mut clients = Clients::from_config(&config, true);
    clients.cfn = Cfn::new(aws_sdk_cloudformation::Client::new(&config)).with_poll(quick_poll());
    clients
}

async fn policy_of(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> serde_json::Value {
    let body = cfn
        .get_stack_policy()
        .stack_name(stack)
        .send()
        .await
        .unwrap()
        .stack_policy_body()
        .map(str::to_string)
        .unwrap_or_default();
    serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
}

fn deny_policy() -> serde_json::Value {
    serde_json::from_str(&protect::policy()).unwrap()
}

async fn removal_applied(
    clients: &Clients,
    project: &Path,
) -> (
    Result<Vec<apply::execute::Executed>, ApplyError>,
    Vec<String>,
) {
    let (env, rendered) = env_of(project);
    let options = ApplyOptions {
        yes: true,
        allow_data_loss: vec!["FeaturesBucket".into()],
        approve_broadening: true,
        ..Default::default()
    };
    let (progress, lines) = captured();
    let result = apply::run(clients, &env, &rendered, &options, &progress, &quiet()).await;
    let lines = lines.lock().unwrap().clone();
    (result, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loosened_stack_policy_is_put_back_on_failure_and_found_by_plan_drift_and_apply() {
    let moto = Moto::start();
    let proxy = Proxy::start(moto.port);
    let cfn = moto_cfn(&moto).await;
    let with_features = dev_project(true, true);
    assert_exit(
        &mlinfra(
            &moto,
            &moto.endpoint,
            with_features.path(),
            &["apply", "--env", "dev", "--yes", "--approve-broadening"],
        ),
        0,
        "first apply of a protected dev",
    );
    assert_eq!(policy_of(&cfn, DATA).await, deny_policy());
    let without = dev_project(true, false);
    let clients = clients_at(&proxy.endpoint).await;

    // ExecuteChangeSet fails through every retry: nothing starts, and the
    // policy loosened for FeaturesBucket is put back.
    proxy.add(Rule::new("ExecuteChangeSet", Fault::ServerError));
    let (result, _) = removal_applied(&clients, without.path()).await;
    let error = result.expect_err("execution failed").to_string();
    assert!(
        error.contains("AWS ExecuteChangeSet failed (ServiceUnavailable)"),
        "{error}"
    );
    assert!(error.contains("nothing was started"), "{error}");
    assert!(error.contains("run the command again later"), "{error}");
    assert_plain(&error);
    assert_eq!(
        proxy.count("SetStackPolicy", None),
        2,
        "loosened, then put back"
    );
    assert_eq!(policy_of(&cfn, DATA).await, deny_policy());

    // Following the update fails (an outage once it started): the message
    // says it carries on and how to attach; the policy is put back.
    proxy.heal();
    proxy.add(Rule::new("DescribeStackEvents", Fault::ServerError).after("ExecuteChangeSet"));
    let (result, _) = removal_applied(&clients, without.path()).await;
    let error = result.expect_err("following failed").to_string();
    assert!(
        error.contains("the operation was started and CloudFormation carries on with it"),
        "{error}"
    );
    assert!(
        error.contains("Run `mlinfra apply --env dev` again to attach to it"),
        "{error}"
    );
    assert!(
        error.contains("describe-stack-events --stack-name arn:aws:cloudformation:"),
        "followed by stack id: {error}"
    );
    assert_plain(&error);
    assert_eq!(proxy.count("SetStackPolicy", None), 4);
    assert_eq!(policy_of(&cfn, DATA).await, deny_policy());
    proxy.heal();

    // A policy left loosened (by a process killed mid-apply, or by hand):
    // plan says so, drift reports it, apply puts it back.
    cfn.set_stack_policy()
        .stack_name(DATA)
        .stack_policy_body(protect::policy_allowing(&["RawBucket".into()]))
        .send()
        .await
        .unwrap();
    let planned = mlinfra(
        &moto,
        &moto.endpoint,
        without.path(),
        &["plan", "--env", "dev"],
    );
    assert_exit(&planned, 2, "plan of a loosened policy");
    assert!(
        planned
            .stdout
            .contains("the stack policy still exempts RawBucket from the denial"),
        "{}",
        planned.stdout
    );
    assert!(
        planned.stdout.contains("put the stack policy back"),
        "{}",
        planned.stdout
    );
    let drift = mlinfra(
        &moto,
        &moto.endpoint,
        without.path(),
        &["drift", "--env", "dev", "--format", "json"],
    );
    assert_exit(&drift, 2, "drift of a loosened policy");
    let report: serde_json::Value = serde_json::from_str(&drift.stdout).unwrap();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"]["kind"] == "stack-protection")
        .unwrap_or_else(|| panic!("a stack-protection finding: {report:#}"));
    assert_eq!(finding["stack"], DATA);
    assert!(
        finding["actual"]
            .as_str()
            .unwrap()
            .contains("still exempts RawBucket"),
        "{finding:#}"
    );
    let repaired = mlinfra(
        &moto,
        &moto.endpoint,
        without.path(),
        &["apply", "--env", "dev", "--yes"],
    );
    assert_exit(&repaired, 0, "apply repairing the policy");
    assert!(
        repaired
            .stderr
            .contains("dogbreed-dev-data: stack policy put back"),
        "{}",
        repaired.stderr
    );
    assert_eq!(policy_of(&cfn, DATA).await, deny_policy());
    assert_exit(
        &mlinfra(
            &moto,
            &moto.endpoint,
            without.path(),
            &["plan", "--env", "dev"],
        ),
        0,
        "plan after the repair",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_protection_off_is_planned_and_applied_only_with_consent() {
    let moto = Moto::start();
    let cfn = moto_cfn(&moto).await;
    let protected = dev_project(true, false);
    assert_exit(
        &mlinfra(
            &moto,
            &moto.endpoint,
            protected.path(),
            &["apply", "--env", "dev", "--yes", "--approve-broadening"],
        ),
        0,
        "apply of a protected dev",
    );
    let off = dev_project(false, false);
    let planned = mlinfra(&moto, &moto.endpoint, off.path(), &["plan", "--env", "dev"]);
    assert_exit(&planned, 2, "plan turning protection off");
    assert!(
        planned
            .stdout
            .contains("remove protection (configuration says off)"),
        "{}",
        planned.stdout
    );
    let refused = mlinfra(
        &moto,
        &moto.endpoint,
        off.path(),
        &["apply", "--env", "dev", "--yes"],
    );
    assert_exit(&refused, 3, "apply without --remove-protection");
    assert!(
        refused
            .stderr
            .contains("refusing to remove protection without consent: dogbreed-dev-data"),
        "{}",
        refused.stderr
    );
    let stack = |cfn: aws_sdk_cloudformation::Client| async move {
        cfn.describe_stacks()
            .stack_name(DATA)
            .send()
            .await
            .unwrap()
            .stacks()[0]
            .enable_termination_protection()
    };
    assert_eq!(
        stack(cfn.clone()).await,
        Some(true),
        "refused: nothing changed"
    );
    let removed = mlinfra(
        &moto,
        &moto.endpoint,
        off.path(),
        &["apply", "--env", "dev", "--yes", "--remove-protection"],
    );
    assert_exit(&removed, 0, "apply with --remove-protection");
    assert_eq!(stack(cfn.clone()).await, Some(false));
    assert_eq!(
        policy_of(&cfn, DATA).await,
        serde_json::from_str::<serde_json::Value>(&protect::policy_allowing_all()).unwrap()
    );
    assert_exit(
        &mlinfra(&moto, &moto.endpoint, off.path(), &["plan", "--env", "dev"]),
        0,
        "plan once protection is off",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_mid_update_names_the_stack_and_puts_the_policy_back() {
    let moto = Moto::start();
    let proxy = Proxy::start(moto.port);
    let cfn = moto_cfn(&moto).await;
    let with_features = dev_project(true, true);
    assert_exit(
        &mlinfra(
            &moto,
            &moto.endpoint,
            with_features.path(),
            &["apply", "--env", "dev", "--yes", "--approve-broadening"],
        ),
        0,
        "first apply",
    );
    // Once the update started, its events never come: apply is following it.
    proxy.add(Rule::new("DescribeStackEvents", Fault::Hang).after("ExecuteChangeSet"));
    let without = dev_project(true, false);
    let child = moto
        .cli(without.path())
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .args([
            "apply",
            "--env",
            "dev",
            "--yes",
            "--allow-data-loss",
            "FeaturesBucket",
        ])
        .spawn();
    proxy.wait_for(
        "DescribeStackEvents",
        Some(Fault::Hang),
        Duration::from_secs(120),
    );
    let signalled = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(signalled.success());
    let output = child.wait_with_output().expect("apply ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr
            .contains("interrupted while CloudFormation was changing dogbreed-dev-data (updating)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Run `mlinfra apply --env dev` again to attach to it"),
        "{stderr}"
    );
    assert!(
        stderr.contains("dogbreed-dev-data: stack policy put back"),
        "{stderr}"
    );
    assert_eq!(policy_of(&cfn, DATA).await, deny_policy());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_storms_and_dropped_connections_are_ridden_out() {
    let moto = Moto::start();
    let proxy = Proxy::start(moto.port);
    let clients = clients_at(&proxy.endpoint).await;
    let project = dev_project(false, false);
    // Every CloudFormation call the first apply makes meets trouble first.
    for operation in [
        "DescribeStacks",
        "GetTemplate",
        "CreateChangeSet",
        "DescribeChangeSet",
        "ExecuteChangeSet",
        "DescribeStackEvents",
    ] {
        proxy.add(Rule::new(operation, Fault::Throttle).times(3));
        proxy.add(Rule::new(operation, Fault::Drop).times(2));
        proxy.add(Rule::new(operation, Fault::ServerError).times(1));
    }
    let (env, rendered) = env_of(project.path());
    let options = ApplyOptions {
        yes: true,
        ..Default::default()
    };
    let (progress, _) = captured();
    let done = apply::run(&clients, &env, &rendered, &options, &progress, &quiet())
        .await
        .expect("the apply rides the faults out");
    assert_eq!(done.len(), 4);
    assert_eq!(proxy.count("ExecuteChangeSet", Some(Fault::Throttle)), 3);
    assert_eq!(proxy.count("DescribeStackEvents", Some(Fault::Drop)), 2);

    // A storm longer than the retries: said plainly, with what to do.
    proxy.add(Rule::new("DescribeStacks", Fault::Throttle));
    let (progress, _) = captured();
    let error = apply::run(&clients, &env, &rendered, &options, &progress, &quiet())
        .await
        .expect_err("throttled through every retry")
        .to_string();
    assert!(
        error
            .contains("AWS DescribeStacks failed (Throttling): Rate exceeded; AWS kept throttling"),
        "{error}"
    );
    assert_plain(&error);

    // The emulator gone: the connection error in words, not a dump.
    proxy.heal();
    proxy.add(Rule::new("DescribeStacks", Fault::Drop));
    let (progress, _) = captured();
    let error = apply::run(&clients, &env, &rendered, &options, &progress, &quiet())
        .await
        .expect_err("no answer")
        .to_string();
    assert!(
        error.contains("AWS DescribeStacks failed: ") && error.contains("check the network"),
        "{error}"
    );
    assert_plain(&error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_change_shows_what_is_replaced_with_the_model_in_plan_and_diff() {
    let moto = Moto::start();
    let cfn = moto_cfn(&moto).await;
    let project = dev_project(false, true);
    assert_exit(
        &mlinfra(
            &moto,
            &moto.endpoint,
            project.path(),
            &["apply", "--env", "dev", "--yes"],
        ),
        0,
        "first apply",
    );
    // A blocked plan (the features bucket removed) writes no plan file and
    // keeps no change set.
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    let blocked = mlinfra(
        &moto,
        &moto.endpoint,
        dev_project(false, false).path(),
        &["plan", "--env", "dev", "--out", plan_path.to_str().unwrap()],
    );
    assert_exit(&blocked, 3, "a blocked plan");
    assert!(
        !plan_path.exists(),
        "a blocked plan wrote {}",
        plan_path.display()
    );
    assert!(
        blocked.stderr.contains("the plan is blocked"),
        "{}",
        blocked.stderr
    );
    let kept = cfn
        .list_change_sets()
        .stack_name(DATA)
        .send()
        .await
        .unwrap()
        .summaries()
        .iter()
        .filter(|s| s.execution_status().map(|e| e.as_str()) == Some("AVAILABLE"))
        .count();
    assert_eq!(kept, 0);

    let new_image = project_with("", |base| {
        base.replace(ZONES, FEATURES).replace(
            "pytorch-inference:2.1.0-cpu-py310",
            "pytorch-inference:2.2.0-cpu-py310",
        )
    });
    let planned = mlinfra(
        &moto,
        &moto.endpoint,
        new_image.path(),
        &["plan", "--env", "dev"],
    );
    assert_exit(&planned, 2, "plan of a new image");
    for line in [
        "-/+ DogbreedModel",
        "-/+ DogbreedEndpointConfig",
        "ProductionVariants refers to replaced DogbreedModel",
        "~ DogbreedEndpoint ",
        "updated: EndpointConfigName refers to replaced DogbreedEndpointConfig",
    ] {
        assert!(planned.stdout.contains(line), "{line}:\n{}", planned.stdout);
    }
    let diff = mlinfra(
        &moto,
        &moto.endpoint,
        new_image.path(),
        &["diff", "--env", "dev"],
    );
    assert_exit(&diff, 2, "diff of a new image");
    for line in [
        "replaced, and changed with what is replaced:",
        "-/+ DogbreedEndpointConfig (AWS::SageMaker::EndpointConfig) may replace (ProductionVariants refers to replaced DogbreedModel",
        "~ DogbreedEndpoint (AWS::SageMaker::Endpoint) updated: EndpointConfigName refers to replaced DogbreedEndpointConfig",
    ] {
        assert!(diff.stdout.contains(line), "{line}:\n{}", diff.stdout);
    }

    // Another apply executed a change set of the stack between this one's
    // plan and its execution: CloudFormation refuses the obsolete change
    // set, and apply says what happened and that nothing was started.
    let proxy = Proxy::start(moto.port);
    proxy.add(Rule::new(
        "ExecuteChangeSet",
        Fault::Refuse(
            "InvalidChangeSetStatus",
            "ChangeSet [mlinfra-x] cannot be executed in its current status of [OBSOLETE]",
        ),
    ));
    let raced = mlinfra(
        &moto,
        &proxy.endpoint,
        new_image.path(),
        &["apply", "--env", "dev", "--yes"],
    );
    assert_exit(
        &raced,
        1,
        "apply whose change set another apply made obsolete",
    );
    assert!(
        raced.stderr.contains(
            "Another operation changed or is changing this stack since the plan (another apply, or someone by hand)"
        ),
        "{}",
        raced.stderr
    );
    assert!(
        raced.stderr.contains("nothing was started"),
        "{}",
        raced.stderr
    );

    // The project renamed: the plan creates new stacks and says the old
    // ones stay deployed.
    let renamed = project_with("", |base| {
        base.replace(r#"project = "dogbreed""#, r#"project = "catbreed""#)
    });
    let planned = mlinfra(
        &moto,
        &moto.endpoint,
        renamed.path(),
        &["plan", "--env", "dev"],
    );
    assert_exit(&planned, 2, "plan of a renamed project");
    assert!(
        planned.stdout.contains(
            "environment dev is deployed under project name `dogbreed` (dogbreed-dev-data, dogbreed-dev-iam, \
             dogbreed-dev-serving, dogbreed-dev-training)"
        ),
        "{}",
        planned.stdout
    );
    assert!(
        planned.stdout.contains("stay deployed (orphaned)"),
        "{}",
        planned.stdout
    );
}
