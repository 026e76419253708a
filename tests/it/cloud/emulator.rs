//! End to end against moto's server: the `mlinfra` binary (exit codes,
//! output) and the library, on the example project's `dev` environment,
//! whose account is moto's.
//!
//! What moto 5.2.5 does with the rendered stacks (checked): it executes
//! change sets, returns the submitted body from GetTemplate, reports the real
//! "didn't contain changes" FAILED status, keeps stack tags, and fetches a
//! TemplateURL from its S3. It creates buckets, the KMS key and alias, IAM
//! roles and SageMaker Model/EndpointConfig/Endpoint. The project's launcher,
//! scripts/moto-server.py, fills its CloudFormation gaps through moto's own
//! service code: bucket settings and policies, Application Auto Scaling
//! targets and policies, pipelines, EndpointName, exports of change-set
//! stacks, UpdateTerminationProtection, DeleteStack refused on a protected
//! stack and stack policies enforced on updates (see that file). Its change
//! sets list changes without Replacement or Details (the plan then judges
//! replacement from the templates, and says so), its stack events are
//! stack-level only and carry no ClientRequestToken, and it never sets
//! LastUpdatedTime (the stale-plan check also compares the deployed
//! template). Failures and in-progress stacks it cannot produce:
//! tests/it/cloud/faults.rs covers those with mocks.

use std::path::Path;
use std::process::Output;
use std::time::Instant;

use mlinfra::apply::{self, ApplyOptions};
use mlinfra::plan::{self, PlanOptions, StackAction};
use mlinfra::render::RenderedStack;
use mlinfra::template::Canonical;

use super::support::{Calls, captured, example, moto_cfn, moto_clients, project_with, quiet};
use crate::common::moto::Moto;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn mlinfra(moto: &Moto, project: Option<&Path>, args: &[&str]) -> Run {
    let root = crate::common::repo_root();
    let Output {
        status,
        stdout,
        stderr,
    } = moto.cli(project.unwrap_or(&root)).args(args).run();
    Run {
        code: status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn assert_exit(run: &Run, code: i32, what: &str) {
    assert_eq!(
        run.code, code,
        "{what}: exit {}\n--- stdout\n{}\n--- stderr\n{}",
        run.code, run.stdout, run.stderr
    );
}

async fn change_set_count(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> usize {
    // moto lists every change set of the region here, executed ones included.
    cfn.list_change_sets()
        .stack_name(stack)
        .send()
        .await
        .expect("ListChangeSets")
        .summaries()
        .len()
}

async fn stack_status(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> Option<String> {
    let output = cfn.describe_stacks().stack_name(stack).send().await.ok()?;
    output
        .stacks()
        .first()
        .and_then(|s| s.stack_status())
        .map(|s| s.as_str().to_string())
}

const STACKS: [&str; 4] = [
    "dogbreed-dev-data",
    "dogbreed-dev-iam",
    "dogbreed-dev-training",
    "dogbreed-dev-serving",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_is_created_then_unchanged_then_changed_through_the_cli() {
    let moto = Moto::start();
    let cfn = moto_cfn(&moto).await;

    // Before anything exists: everything is to be created.
    let first_plan = mlinfra(&moto, None, &["plan", "--env", "dev"]);
    assert_exit(&first_plan, 2, "plan of a new environment");
    assert!(
        first_plan
            .stdout
            .contains("Plan: 19 to add, 0 to change, 0 to remove."),
        "{}",
        first_plan.stdout
    );
    assert!(first_plan.stdout.contains(
        "dogbreed-dev-iam: create (change set made at apply time, once dogbreed-dev-data exists)"
    ));
    assert_eq!(
        stack_status(&cfn, "dogbreed-dev-data").await,
        None,
        "a plan without --out leaves no stack behind"
    );

    // apply without a terminal and without --yes refuses before any call.
    let unconfirmed = mlinfra(&moto, None, &["apply", "--env", "dev"]);
    assert_exit(&unconfirmed, 1, "apply without --yes");
    assert!(
        unconfirmed.stderr.contains("needs --yes"),
        "{}",
        unconfirmed.stderr
    );

    // First apply creates all four stacks, in order, showing their events
    // (progress, so on stderr: stdout is for reports).
    let applied = mlinfra(&moto, None, &["apply", "--env", "dev", "--yes"]);
    assert_exit(&applied, 0, "first apply");
    for stack in STACKS {
        assert_eq!(
            stack_status(&cfn, stack).await.as_deref(),
            Some("CREATE_COMPLETE"),
            "{stack}"
        );
        assert!(
            applied
                .stderr
                .contains(&format!("{stack}: CREATE_COMPLETE")),
            "{}",
            applied.stderr
        );
        assert!(applied.stderr.contains(&format!(
            "{stack}  {stack}  AWS::CloudFormation::Stack  CREATE_IN_PROGRESS"
        )));
    }
    let data_done = applied
        .stderr
        .find("dogbreed-dev-data: CREATE_COMPLETE")
        .unwrap();
    let iam_started = applied.stderr.find("dogbreed-dev-iam: creating").unwrap();
    assert!(
        data_done < iam_started,
        "iam starts after data: {}",
        applied.stderr
    );
    let s3 = moto.s3().await;
    let buckets = s3.list_buckets().send().await.unwrap();
    let names: Vec<&str> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    assert!(
        names.contains(&"dogbreed-dev-raw-123456789012-us-east-1"),
        "{names:?}"
    );
    // The code package is in the models zone under its hash, KMS-encrypted,
    // and the deployed pipeline names exactly it.
    let env = mlinfra::config::load_env(
        &mlinfra::project::Project::Dir(crate::common::repo_root()),
        "dev",
    )
    .unwrap();
    let code = env.training[0].code.as_ref().unwrap();
    let (bucket, key) = (code.source.bucket(), code.source.key());
    assert!(
        applied
            .stderr
            .contains(&format!("code of dogbreed uploaded s3://{bucket}/{key}")),
        "{}",
        applied.stderr
    );
    let object = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        object.server_side_encryption(),
        Some(&aws_sdk_s3::types::ServerSideEncryption::AwsKms)
    );
    let uploaded = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let bytes = uploaded.body.collect().await.unwrap().into_bytes();
    let package = mlinfra::code::package::package(
        mlinfra::code::read_source(
            &mlinfra::project::Project::Dir(crate::common::repo_root()),
            "training/dogbreed",
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(bytes.as_ref(), package.bytes.as_slice());
    // Once per hash: an apply with nothing to change leaves the object alone.
    let again = mlinfra(&moto, None, &["apply", "--env", "dev", "--yes"]);
    assert_exit(&again, 0, "apply without changes");
    assert!(
        again.stderr.contains(&format!(
            "code of dogbreed already in place: s3://{bucket}/{key}"
        )),
        "{}",
        again.stderr
    );

    // A second plan: nothing to change, and no change set created.
    let before: usize = change_set_count(&cfn, "dogbreed-dev-data").await;
    let dir = tempfile::tempdir().unwrap();
    let noop_path = dir.path().join("noop.json");
    let noop = mlinfra(
        &moto,
        None,
        &["plan", "--env", "dev", "--out", noop_path.to_str().unwrap()],
    );
    assert_exit(&noop, 0, "no-op plan");
    assert!(
        noop.stdout
            .contains("Plan: 0 to add, 0 to change, 0 to remove."),
        "{}",
        noop.stdout
    );
    assert!(
        !noop.stderr.contains("creating change set"),
        "{}",
        noop.stderr
    );
    assert_eq!(
        change_set_count(&cfn, "dogbreed-dev-data").await,
        before,
        "no change set was created"
    );
    let saved = plan::document::read(&noop_path).unwrap();
    assert!(
        saved
            .stacks
            .iter()
            .all(|s| s.change_set.is_none() && s.action == StackAction::NoChange)
    );
    assert!(
        saved
            .stacks
            .iter()
            .all(|s| s.deployed.as_ref().unwrap().template_hash.as_deref()
                == Some(s.template_hash.as_str()))
    );

    // A config change: a bigger endpoint instance and a new data-lake zone.
    let changed = project_with(
        "[endpoints.dogbreed]\ninstance_type = \"ml.m5.xlarge\"",
        |base| {
            base.replace(
                r#"zones = ["raw", "curated", "models"]"#,
                r#"zones = ["raw", "curated", "models", "features"]"#,
            )
        },
    );
    let plan_path = dir.path().join("plan.json");
    let planned = mlinfra(
        &moto,
        Some(changed.path()),
        &["plan", "--env", "dev", "--out", plan_path.to_str().unwrap()],
    );
    assert_exit(&planned, 2, "plan of a changed config");
    assert!(
        planned
            .stdout
            .contains("Plan: 2 to add, 4 to change (1 replacement), 0 to remove."),
        "{}",
        planned.stdout
    );
    assert!(
        planned.stdout.contains("-/+ DogbreedEndpointConfig  AWS::SageMaker::EndpointConfig  replace (ProductionVariants create-only; judged from the templates)"),
        "{}",
        planned.stdout
    );
    assert!(
        planned.stdout.contains("+ FeaturesBucket"),
        "{}",
        planned.stdout
    );
    assert!(
        planned.stdout.contains("dogbreed-dev-iam: no changes"),
        "{}",
        planned.stdout
    );
    let saved = plan::document::read(&plan_path).unwrap();
    let serving = saved
        .stacks
        .iter()
        .find(|s| s.stack == "dogbreed-dev-serving")
        .unwrap();
    assert_eq!(serving.action, StackAction::Update);
    assert!(
        serving
            .change_set
            .as_ref()
            .unwrap()
            .id
            .contains(":changeSet/")
    );

    // The checkout moved on after the plan: refused, nothing applied.
    let moved_on = project_with(
        "[endpoints.dogbreed]\ninstance_type = \"ml.m5.2xlarge\"",
        |base| {
            base.replace(
                r#"zones = ["raw", "curated", "models"]"#,
                r#"zones = ["raw", "curated", "models", "features"]"#,
            )
        },
    );
    let stale = mlinfra(
        &moto,
        Some(moved_on.path()),
        &[
            "apply",
            "--env",
            "dev",
            "--plan",
            plan_path.to_str().unwrap(),
        ],
    );
    assert_exit(&stale, 3, "apply of a plan older than the config");
    for expected in [
        "the project checkout here is not what was reviewed",
        "the settings of environment `dev` differ from the reviewed ones (endpoints)",
        "dogbreed-dev-serving: the checkout renders another template than the reviewed one",
    ] {
        assert!(stale.stderr.contains(expected), "{}", stale.stderr);
    }

    // A plan file edited after review is refused, whatever it now says.
    let edited_path = dir.path().join("edited.json");
    let mut edited: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    edited["reviewed"]["env"]["termination_protection"] = serde_json::Value::Bool(true);
    std::fs::write(&edited_path, edited.to_string()).unwrap();
    let tampered = mlinfra(
        &moto,
        Some(changed.path()),
        &[
            "apply",
            "--env",
            "dev",
            "--plan",
            edited_path.to_str().unwrap(),
        ],
    );
    assert_exit(&tampered, 3, "apply of an edited plan file");
    assert!(
        tampered
            .stderr
            .contains("the plan file was changed after it was written"),
        "{}",
        tampered.stderr
    );
    assert_eq!(
        stack_status(&cfn, "dogbreed-dev-serving").await.as_deref(),
        Some("CREATE_COMPLETE")
    );

    // The reviewed plan, applied exactly, from a directory holding nothing
    // but the plan file (a pipeline's apply stage): no checkout, no
    // confirmation needed.
    let bare = tempfile::tempdir().unwrap();
    std::fs::copy(&plan_path, bare.path().join("plan.json")).unwrap();
    // The training code reviewed with the plan travels beside it; without it
    // apply refuses before any call.
    let without_code = moto
        .cli(bare.path())
        .current_dir(bare.path())
        .args(["apply", "--env", "dev", "--plan", "plan.json"])
        .run();
    assert_eq!(without_code.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&without_code.stderr).contains("reviewed package"),
        "{}",
        String::from_utf8_lossy(&without_code.stderr)
    );
    let kept = mlinfra::code::kept_beside(&plan_path);
    std::fs::create_dir(bare.path().join("plan.json.code")).unwrap();
    for entry in std::fs::read_dir(&kept).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            bare.path().join("plan.json.code").join(entry.file_name()),
        )
        .unwrap();
    }
    let output = moto
        .cli(bare.path())
        .current_dir(bare.path())
        .args(["--verbose", "apply", "--env", "dev", "--plan", "plan.json"])
        .run();
    let brought_in = Run {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert_exit(&brought_in, 0, "apply --plan without a checkout");
    assert!(
        brought_in
            .stderr
            .contains("applying the settings and templates reviewed in plan.json"),
        "{}",
        brought_in.stderr
    );
    assert_eq!(
        std::fs::read_dir(bare.path()).unwrap().count(),
        2,
        "apply writes nothing next to the plan and its code"
    );
    assert!(
        brought_in
            .stderr
            .contains("dogbreed-dev-serving: UPDATE_COMPLETE"),
        "{}",
        brought_in.stderr
    );
    assert!(
        brought_in
            .stderr
            .contains("dogbreed-dev-data: UPDATE_COMPLETE"),
        "{}",
        brought_in.stderr
    );
    assert!(
        !brought_in.stderr.contains("dogbreed-dev-iam: UPDATE"),
        "unchanged stacks are not touched"
    );

    // The same plan again: the stacks changed since, so it is stale.
    let again = mlinfra(
        &moto,
        Some(changed.path()),
        &[
            "apply",
            "--env",
            "dev",
            "--plan",
            plan_path.to_str().unwrap(),
        ],
    );
    assert_exit(&again, 3, "apply of an executed plan");
    assert!(
        again.stderr.contains("the plan is stale"),
        "{}",
        again.stderr
    );
    assert!(
        again
            .stderr
            .contains("can no longer be executed (EXECUTE_COMPLETE)"),
        "{}",
        again.stderr
    );

    let settled = mlinfra(&moto, Some(changed.path()), &["plan", "--env", "dev"]);
    assert_exit(&settled, 0, "plan after apply");

    // Going back removes the new bucket: blocked unless allowed by name.
    let back = mlinfra(&moto, None, &["plan", "--env", "dev"]);
    assert_exit(&back, 3, "plan removing a bucket");
    assert!(
        back.stdout
            .contains("x dogbreed-dev-data FeaturesBucket (AWS::S3::Bucket) would be removed"),
        "{}",
        back.stdout
    );
    assert!(
        back.stdout
            .contains("to accept it: --allow-data-loss FeaturesBucket"),
        "{}",
        back.stdout
    );
    let allowed = mlinfra(
        &moto,
        None,
        &[
            "plan",
            "--env",
            "dev",
            "--allow-data-loss",
            "FeaturesBucket",
            "--format",
            "json",
        ],
    );
    assert_exit(&allowed, 2, "plan with the removal allowed");
    let json: serde_json::Value = serde_json::from_str(&allowed.stdout).expect("JSON report");
    assert_eq!(json["data_loss"][0]["allowed"], true);
    let refused = mlinfra(&moto, None, &["apply", "--env", "dev", "--yes"]);
    assert_exit(&refused, 3, "apply removing a bucket");
    assert!(
        refused.stderr.contains("--allow-data-loss FeaturesBucket"),
        "{}",
        refused.stderr
    );
    let still = mlinfra(&moto, Some(changed.path()), &["plan", "--env", "dev"]);
    assert_exit(&still, 0, "nothing was applied by the refused apply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_guard_refuses_another_account_before_any_change() {
    let moto = Moto::start();
    let cfn = moto_cfn(&moto).await;
    // prod is account 345678901234; moto answers as 123456789012.
    let prod = mlinfra(&moto, None, &["plan", "--env", "prod"]);
    assert_exit(&prod, 3, "plan of another account");
    assert!(
        prod.stderr.contains("account 123456789012")
            && prod.stderr.contains("is account 345678901234"),
        "{}",
        prod.stderr
    );
    let apply = mlinfra(&moto, None, &["apply", "--env", "prod", "--yes"]);
    assert_exit(&apply, 3, "apply to another account");
    assert_eq!(stack_status(&cfn, "dogbreed-prod-data").await, None);
    assert_eq!(
        cfn.list_stacks()
            .send()
            .await
            .unwrap()
            .stack_summaries()
            .len(),
        0,
        "no stack touched"
    );

    // dev is moto's own account: the guard passes.
    let dev = mlinfra(&moto, None, &["plan", "--env", "dev"]);
    assert_exit(&dev, 2, "plan of the right account");

    // The environment's region wins over the caller's (CodeBuild always sets
    // AWS_REGION, to the pipeline's region): the plan looks in us-east-1,
    // where dev is, and --verbose names the setting passed over.
    let cfn_elsewhere =
        aws_sdk_cloudformation::Client::new(&moto.sdk_loader("eu-west-1").load().await);
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    let output = moto
        .cli(&crate::common::repo_root())
        .args(["--verbose", "plan", "--env", "dev", "--out"])
        .args([&plan_path])
        .env("AWS_REGION", "eu-west-1")
        .run();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "region us-east-1 from environment `dev` (AWS_REGION = eu-west-1 is not used for it)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("AWS: account 123456789012 in us-east-1"),
        "{stderr}"
    );
    let data = cfn
        .describe_stacks()
        .stack_name("dogbreed-dev-data")
        .send()
        .await;
    assert_eq!(
        data.unwrap().stacks()[0].stack_status().map(|s| s.as_str()),
        Some("REVIEW_IN_PROGRESS"),
        "the plan's change set is in the environment's region"
    );
    assert!(
        cfn_elsewhere
            .describe_stacks()
            .stack_name("dogbreed-dev-data")
            .send()
            .await
            .is_err(),
        "nothing in the caller's region"
    );
    // Applied with the caller's region still elsewhere.
    let output = moto
        .cli(&crate::common::repo_root())
        .args(["apply", "--env", "dev", "--plan"])
        .args([&plan_path])
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .run();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stack_status(&cfn, "dogbreed-dev-serving").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
}

fn print_figure(what: &str, calls: &[String], started: Instant) {
    eprintln!(
        "{what}: {} CloudFormation calls in {:?}: {calls:?}",
        calls.len(),
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_op_plan_costs_two_cloudformation_calls_per_stack() {
    let moto = Moto::start();
    let calls = Calls::default();
    let clients = moto_clients(&moto, &calls).await;
    let (env, rendered) = example("dev");
    let (progress, _) = captured();
    let options = ApplyOptions {
        yes: true,
        ..Default::default()
    };
    apply::run(&clients, &env, &rendered, &options, &progress, &quiet())
        .await
        .expect("first apply");
    calls.take();

    let started = Instant::now();
    let noop = plan::plan(&clients, &env, &rendered, &PlanOptions::default(), &quiet())
        .await
        .unwrap();
    let made = calls.take();
    print_figure("no-op plan of dev", &made, started);
    assert!(!noop.has_changes());
    assert!(made.len() <= 2 * rendered.len(), "{made:?}");
    assert_eq!(
        made.iter().filter(|c| *c == "DescribeStacks").count(),
        4,
        "{made:?}"
    );
    assert_eq!(
        made.iter().filter(|c| *c == "GetTemplate").count(),
        4,
        "{made:?}"
    );
    assert!(
        !made.iter().any(|c| c.contains("ChangeSet")),
        "no change set for a no-op: {made:?}"
    );

    // A real plan: one stack changed, one change set created and read.
    let mut changed: Vec<RenderedStack> = rendered.clone();
    let serving = changed
        .iter_mut()
        .find(|s| s.spec.name == "dogbreed-dev-serving")
        .unwrap();
    let mut value = serving.template.value.clone();
    value["Resources"]["DogbreedEndpointConfig"]["Properties"]["ProductionVariants"][0]["InstanceType"] =
        "ml.m5.xlarge".into();
    serving.template = Canonical::new(value);
    let started = Instant::now();
    let real = plan::plan(&clients, &env, &changed, &PlanOptions::default(), &quiet())
        .await
        .unwrap();
    let made = calls.take();
    print_figure("plan of dev with one stack changed", &made, started);
    // The endpoint config is replaced, and the endpoint updated with it.
    assert_eq!(real.summary.change, 2);
    assert_eq!(
        made.iter().filter(|c| *c == "CreateChangeSet").count(),
        1,
        "{made:?}"
    );
    plan::discard_all(&clients, &real).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_over_the_inline_limit_goes_through_the_artifacts_bucket() {
    let moto = Moto::start();
    let calls = Calls::default();
    let clients = moto_clients(&moto, &calls).await;
    let (mut env, rendered) = example("dev");
    let mut big = rendered[0].clone();
    let mut value = big.template.value.clone();
    // Metadata is free-form: padding it makes a valid template of any size.
    value["Metadata"] = serde_json::json!({ "Padding": "x".repeat(60_000) });
    big.template = Canonical::new(value);
    assert!(big.template.size() > plan::MAX_TEMPLATE_BODY);

    let refused = plan::create_change_set(&clients, &env, &big, true, &[], &quiet())
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("set `artifacts_bucket`"),
        "{refused}"
    );

    env.artifacts_bucket = Some("dogbreed-dev-artifacts".into());
    clients
        .s3
        .create_bucket()
        .bucket("dogbreed-dev-artifacts")
        .send()
        .await
        .unwrap();
    let (change_set, changes) = plan::create_change_set(&clients, &env, &big, true, &[], &quiet())
        .await
        .unwrap()
        .unwrap();
    assert!(changes.iter().any(|c| c.logical_id == "RawBucket"));
    let key = format!("mlinfra/dev/dogbreed-dev-data/{}.json", big.template.hash());
    let object = clients
        .s3
        .get_object()
        .bucket("dogbreed-dev-artifacts")
        .key(&key)
        .send()
        .await
        .unwrap();
    let body = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(body.len(), big.template.size());
    plan::discard(&clients, &change_set).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_type_change_under_autoscaling_is_warned_about() {
    // The launcher registers the scalable target with Application Auto
    // Scaling; the warning comes from the deployed template, which moto
    // returns as submitted.
    let moto = Moto::start();
    let autoscaled = "autoscaling = { min = 1, max = 2, target_invocations_per_instance = 70, scale_in_cooldown = \"5m\", scale_out_cooldown = \"1m\" }";
    let before = project_with(&format!("[endpoints.dogbreed]\n{autoscaled}"), |base| base);
    let applied = mlinfra(
        &moto,
        Some(before.path()),
        &["apply", "--env", "dev", "--yes"],
    );
    assert_exit(&applied, 0, "apply with autoscaling");
    let after = project_with(
        &format!("[endpoints.dogbreed]\ninstance_type = \"ml.m5.xlarge\"\n{autoscaled}"),
        |base| base,
    );
    let planned = mlinfra(
        &moto,
        Some(after.path()),
        &["plan", "--env", "dev", "--format", "markdown"],
    );
    assert_exit(&planned, 2, "plan of the instance-type change");
    assert!(planned.stdout.contains("[!WARNING]"), "{}", planned.stdout);
    assert!(
        planned.stdout.contains("instance type of variant AllTraffic of endpoint dogbreed-dev-dogbreed changes from ml.m5.large to ml.m5.xlarge"),
        "{}",
        planned.stdout
    );
    assert!(
        planned.stdout.contains("deregister-scalable-target"),
        "{}",
        planned.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_type_with_more_vcpus_says_the_cpu_target_is_rendered_anew() {
    let moto = Moto::start();
    let autoscaled = "autoscaling = { min = 1, max = 2, target_cpu_utilization = 60, scale_in_cooldown = \"5m\", scale_out_cooldown = \"1m\" }";
    let before = project_with(&format!("[endpoints.dogbreed]\n{autoscaled}"), |base| base);
    let applied = mlinfra(
        &moto,
        Some(before.path()),
        &["apply", "--env", "dev", "--yes"],
    );
    assert_exit(&applied, 0, "apply with CPU autoscaling");
    let after = project_with(
        &format!("[endpoints.dogbreed]\ninstance_type = \"ml.m5.2xlarge\"\n{autoscaled}"),
        |base| base,
    );
    let planned = mlinfra(&moto, Some(after.path()), &["plan", "--env", "dev"]);
    assert_exit(&planned, 2, "plan of the instance-type change");
    // ml.m5.large has 2 vCPUs, ml.m5.2xlarge 8: SageMaker sums CPU over vCPUs.
    assert!(
        planned.stdout.contains(
            "CPU scaling target 60% per instance renders as TargetValue 480 on ml.m5.2xlarge (8 vCPUs), \
             was 120 on ml.m5.large (2 vCPUs)"
        ),
        "{}",
        planned.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_iam_permissions_need_their_own_approval() {
    let moto = Moto::start();
    let cfn = moto_cfn(&moto).await;
    // A first deploy grants every role its statements: that is broadening.
    let refused = mlinfra(
        &moto,
        None,
        &[
            "apply",
            "--env",
            "dev",
            "--yes",
            "--require-approval",
            "broadening",
        ],
    );
    assert_exit(&refused, 3, "apply that widens IAM without approval");
    assert!(
        refused.stderr.contains("--approve-broadening")
            && refused.stderr.contains("dogbreed-dev-iam/ExecutionRole"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        stack_status(&cfn, "dogbreed-dev-data").await,
        None,
        "nothing deployed"
    );

    let approved = mlinfra(
        &moto,
        None,
        &[
            "apply",
            "--env",
            "dev",
            "--yes",
            "--require-approval",
            "broadening",
            "--approve-broadening",
        ],
    );
    assert_exit(&approved, 0, "apply with the broadening approved");
    assert_eq!(
        stack_status(&cfn, "dogbreed-dev-iam").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_shows_property_paths_between_deployed_and_rendered_templates() {
    let moto = Moto::start();
    let before = mlinfra(&moto, None, &["diff", "--env", "dev"]);
    assert_exit(&before, 2, "diff before anything is deployed");
    assert!(
        before.stdout.contains("dogbreed-dev-data: not deployed"),
        "{}",
        before.stdout
    );

    assert_exit(
        &mlinfra(&moto, None, &["apply", "--env", "dev", "--yes"]),
        0,
        "apply",
    );
    let same = mlinfra(&moto, None, &["diff", "--env", "dev"]);
    assert_exit(&same, 0, "diff right after apply");
    assert_eq!(
        same.stdout.matches(": no differences").count(),
        4,
        "{}",
        same.stdout
    );

    let changed = project_with("", |base| {
        base.replace(
            "instance_type = \"ml.m5.large\"",
            "instance_type = \"ml.m5.xlarge\"",
        )
    });
    let diff = mlinfra(&moto, Some(changed.path()), &["diff", "--env", "dev"]);
    assert_exit(&diff, 2, "diff of a changed instance type");
    assert!(
        diff.stdout.contains(
            "~ Resources DogbreedEndpointConfig Properties.ProductionVariants[0].InstanceType"
        ) && diff.stdout.contains("\"ml.m5.large\" → \"ml.m5.xlarge\""),
        "{}",
        diff.stdout
    );
    let json = mlinfra(
        &moto,
        Some(changed.path()),
        &["diff", "--env", "dev", "--format", "json"],
    );
    let document: serde_json::Value = serde_json::from_str(&json.stdout).expect("diff JSON parses");
    assert_eq!(document["format_version"], 1);
    assert_eq!(
        document["stacks"].as_array().map(Vec::len),
        Some(4),
        "{}",
        json.stdout
    );
    // The plan prices the change: ml.m5.large (0.115 USD/h) → ml.m5.xlarge (0.23), one instance.
    let plan = mlinfra(&moto, Some(changed.path()), &["plan", "--env", "dev"]);
    assert_exit(&plan, 2, "plan of the changed instance type");
    assert!(
        plan.stdout
            .contains("change at minimum capacity: +$83.95 per month ($83.95 → $167.90)"),
        "{}",
        plan.stdout
    );
    let markdown = mlinfra(
        &moto,
        Some(changed.path()),
        &["diff", "--env", "dev", "--format", "markdown"],
    );
    assert!(
        markdown
            .stdout
            .starts_with("<!-- mlinfra:diff env=dev -->\n### mlinfra diff: 1 of 4 stack(s) differ"),
        "{}",
        markdown.stdout
    );
    // --stack compares one stack only.
    let serving = mlinfra(
        &moto,
        Some(changed.path()),
        &["diff", "--env", "dev", "--stack", "serving"],
    );
    assert_exit(&serving, 2, "diff of the serving stack");
    assert!(
        serving.stdout.starts_with("dogbreed-dev-serving: ")
            && !serving.stdout.contains("dogbreed-dev-data"),
        "{}",
        serving.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_training_change_shows_the_value_inside_the_pipeline_definition() {
    let moto = Moto::start();
    assert_exit(
        &mlinfra(&moto, None, &["apply", "--env", "dev", "--yes"]),
        0,
        "apply",
    );
    // Nothing to do: one line between the marker and the footer.
    let quiet = mlinfra(
        &moto,
        None,
        &["plan", "--env", "dev", "--format", "markdown"],
    );
    assert_exit(&quiet, 0, "plan right after apply");
    let lines: Vec<&str> = quiet.stdout.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{}", quiet.stdout);
    assert_eq!(lines[0], "<!-- mlinfra:plan env=dev -->");
    assert!(
        lines[1].starts_with("**mlinfra plan `dev`**: no changes"),
        "{}",
        quiet.stdout
    );
    assert!(lines[2].starts_with("<sub>mlinfra "), "{}", quiet.stdout);

    let changed = project_with("", |base| base);
    let dev = changed.path().join("environments/dev.toml");
    let text = std::fs::read_to_string(&dev).unwrap();
    assert!(text.contains("epochs = \"2\""), "the example's dev epochs");
    std::fs::write(&dev, text.replace("epochs = \"2\"", "epochs = \"20\"")).unwrap();
    let path = "PipelineDefinition.PipelineDefinitionBody.Fn::Sub[0] ▸ Steps[0].Arguments.HyperParameters.epochs";

    let plan = mlinfra(&moto, Some(changed.path()), &["plan", "--env", "dev"]);
    assert_exit(&plan, 2, "plan of the epochs change");
    assert!(
        plan.stdout.contains(&format!("{path}: \"2\" → \"20\"")),
        "{}",
        plan.stdout
    );
    let json = mlinfra(
        &moto,
        Some(changed.path()),
        &["plan", "--env", "dev", "--format", "json"],
    );
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let values: Vec<&serde_json::Value> = document["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["changes"].as_array().unwrap())
        .flat_map(|c| c["values"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(
        values,
        [&serde_json::json!({"path": path, "before": "2", "after": "20"})],
        "{}",
        json.stdout
    );
    let markdown = mlinfra(
        &moto,
        Some(changed.path()),
        &["plan", "--env", "dev", "--format", "markdown"],
    );
    assert!(
        markdown.stdout.contains(&format!(
            "| `DogbreedPipeline` | `{path}` | `\"2\"` | `\"20\"` |"
        )),
        "{}",
        markdown.stdout
    );
    let diff = mlinfra(&moto, Some(changed.path()), &["diff", "--env", "dev"]);
    assert_exit(&diff, 2, "diff of the epochs change");
    assert!(
        diff.stdout.contains(&format!(
            "~ Resources DogbreedPipeline Properties.{path}\n      \"2\" → \"20\""
        )),
        "{}",
        diff.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_training_script_is_a_code_change_line_in_the_plan() {
    let moto = Moto::start();
    let project = project_with("", |base| base);
    let dev = mlinfra::config::load_env(
        &mlinfra::project::Project::Dir(project.path().to_path_buf()),
        "dev",
    )
    .unwrap();
    let Some(mlinfra::config::training::CodeSource::Package { sha256: before, .. }) =
        dev.training[0].code.as_ref().map(|c| c.source.clone())
    else {
        panic!("the example's dev job packages its source directory");
    };
    assert_exit(
        &mlinfra(
            &moto,
            Some(project.path()),
            &["apply", "--env", "dev", "--yes"],
        ),
        0,
        "apply",
    );
    let script = project.path().join("training/dogbreed/train.py");
    let mut text = std::fs::read_to_string(&script).unwrap();
    text.push_str("\n# one more line\n");
    std::fs::write(&script, text).unwrap();
    let after = mlinfra::config::load_env(
        &mlinfra::project::Project::Dir(project.path().to_path_buf()),
        "dev",
    )
    .unwrap();
    let Some(mlinfra::config::training::CodeSource::Package { sha256: after, .. }) =
        after.training[0].code.as_ref().map(|c| c.source.clone())
    else {
        unreachable!()
    };
    assert_ne!(before, after);
    let line = format!(
        "training code dogbreed: {} → {}",
        &before[..12],
        &after[..12]
    );

    let plan = mlinfra(&moto, Some(project.path()), &["plan", "--env", "dev"]);
    assert_exit(&plan, 2, "plan of the edited script");
    assert!(
        plan.stdout
            .contains(&format!("Training code:\n  ~ {line}\n")),
        "{}",
        plan.stdout
    );
    let json = mlinfra(
        &moto,
        Some(project.path()),
        &["plan", "--env", "dev", "--format", "json"],
    );
    assert_exit(&json, 2, "JSON plan of the edited script");
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        document["code"],
        serde_json::json!([{
            "stack": "dogbreed-dev-training",
            "job": "dogbreed",
            "logical_id": "DogbreedPipeline",
            "from": before,
            "to": after,
        }]),
        "{}",
        json.stdout
    );
    let markdown = mlinfra(
        &moto,
        Some(project.path()),
        &["plan", "--env", "dev", "--format", "markdown"],
    );
    assert!(
        markdown.stdout.contains(&format!(
            "- training code `dogbreed` (`dogbreed-dev-training`): `{}` → `{}`",
            &before[..12],
            &after[..12]
        )),
        "{}",
        markdown.stdout
    );
    // A change elsewhere in the job is no code change.
    std::fs::write(
        &script,
        std::fs::read_to_string(&script)
            .unwrap()
            .replace("\n# one more line\n", ""),
    )
    .unwrap();
    let reverted = mlinfra(&moto, Some(project.path()), &["plan", "--env", "dev"]);
    assert_exit(&reverted, 0, "plan after reverting the script");
    assert!(
        !reverted.stdout.contains("Training code"),
        "{}",
        reverted.stdout
    );
}

// ---------------------------------------------------------------------------
// The launcher's CloudFormation: what stock moto lacks and the guards need.

/// The example project with `dev` protected as production is: a stack policy
/// on its data stack and termination protection.
fn protected_dev() -> tempfile::TempDir {
    let dir = project_with("", |base| base);
    let dev = dir.path().join("environments/dev.toml");
    let text = std::fs::read_to_string(&dev).unwrap().replace(
        "termination_protection = false",
        "termination_protection = true",
    );
    std::fs::write(dev, text).unwrap();
    dir
}

#[tokio::test]
async fn termination_protection_is_set_through_the_launcher_and_refuses_delete_stack() {
    let moto = Moto::start();
    let cfn = moto_cfn(&moto).await;
    let project = protected_dev();
    assert_exit(
        &mlinfra(
            &moto,
            Some(project.path()),
            &["apply", "--env", "dev", "--yes", "--approve-broadening"],
        ),
        0,
        "apply of a protected dev",
    );
    let protection = |stack: &'static str| {
        let cfn = cfn.clone();
        async move {
            cfn.describe_stacks()
                .stack_name(stack)
                .send()
                .await
                .unwrap()
                .stacks()[0]
                .enable_termination_protection()
        }
    };
    // apply called UpdateTerminationProtection on the data stack only.
    assert_eq!(protection("dogbreed-dev-data").await, Some(true));
    assert_eq!(protection("dogbreed-dev-serving").await, Some(false));

    let refused = cfn
        .delete_stack()
        .stack_name("dogbreed-dev-data")
        .send()
        .await
        .expect_err("a protected stack cannot be deleted");
    let message = format!(
        "{}",
        aws_sdk_cloudformation::error::DisplayErrorContext(&refused)
    );
    assert!(
        message.contains(
            "Stack [dogbreed-dev-data] cannot be deleted while TerminationProtection is enabled"
        ),
        "{message}"
    );
    assert_eq!(
        stack_status(&cfn, "dogbreed-dev-data").await.as_deref(),
        Some("CREATE_COMPLETE")
    );

    // Switched off, the same call deletes it (its buckets and key are retained).
    cfn.update_termination_protection()
        .stack_name("dogbreed-dev-data")
        .enable_termination_protection(false)
        .send()
        .await
        .unwrap();
    assert_eq!(protection("dogbreed-dev-data").await, Some(false));
    cfn.delete_stack()
        .stack_name("dogbreed-dev-data")
        .send()
        .await
        .unwrap();
    assert_eq!(stack_status(&cfn, "dogbreed-dev-data").await, None);
}

#[tokio::test]
async fn the_stack_policy_refuses_replacing_a_bucket_and_the_update_rolls_back() {
    let moto = Moto::start();
    let cfn = moto_cfn(&moto).await;
    let project = protected_dev();
    assert_exit(
        &mlinfra(
            &moto,
            Some(project.path()),
            &["apply", "--env", "dev", "--yes", "--approve-broadening"],
        ),
        0,
        "apply of a protected dev",
    );
    let template = cfn
        .get_template()
        .stack_name("dogbreed-dev-data")
        .send()
        .await
        .unwrap()
        .template_body()
        .unwrap()
        .to_string();
    let mut renamed: serde_json::Value = serde_json::from_str(&template).unwrap();
    let old_name = renamed["Resources"]["RawBucket"]["Properties"]["BucketName"].clone();
    renamed["Resources"]["RawBucket"]["Properties"]["BucketName"] =
        "dogbreed-dev-raw-renamed".into();

    // Behind the tool's back: a change set that replaces a bucket.
    let change_set = cfn
        .create_change_set()
        .stack_name("dogbreed-dev-data")
        .change_set_name("rename-raw")
        .change_set_type(aws_sdk_cloudformation::types::ChangeSetType::Update)
        .template_body(renamed.to_string())
        .send()
        .await
        .unwrap();
    cfn.execute_change_set()
        .change_set_name(change_set.id().unwrap())
        .send()
        .await
        .unwrap();

    assert_eq!(
        stack_status(&cfn, "dogbreed-dev-data").await.as_deref(),
        Some("UPDATE_ROLLBACK_COMPLETE")
    );
    let events = cfn
        .describe_stack_events()
        .stack_name("dogbreed-dev-data")
        .send()
        .await
        .unwrap();
    let failed = events
        .stack_events()
        .iter()
        .find(|e| e.resource_status().map(|s| s.as_str()) == Some("UPDATE_FAILED"))
        .expect("the bucket's update failed");
    assert_eq!(failed.logical_resource_id(), Some("RawBucket"));
    assert!(
        failed
            .resource_status_reason()
            .unwrap()
            .contains("Action denied by stack policy"),
        "{failed:?}"
    );
    // Nothing changed: the bucket keeps its name, the template is the old one.
    let s3 = moto.s3().await;
    let buckets: Vec<String> = s3
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect();
    assert!(
        buckets.contains(&old_name.as_str().unwrap().to_string()),
        "{buckets:?}"
    );
    assert!(
        !buckets.contains(&"dogbreed-dev-raw-renamed".to_string()),
        "{buckets:?}"
    );
    let after = cfn
        .get_template()
        .stack_name("dogbreed-dev-data")
        .send()
        .await
        .unwrap();
    assert_eq!(after.template_body(), Some(template.as_str()));
}

#[tokio::test]
async fn a_create_change_set_for_a_deployed_stack_is_refused_not_a_second_stack() {
    let moto = Moto::start();
    let cfn = moto_cfn(&moto).await;
    assert_exit(
        &mlinfra(&moto, None, &["apply", "--env", "dev", "--yes"]),
        0,
        "apply of dev",
    );
    let template = cfn
        .get_template()
        .stack_name("dogbreed-dev-iam")
        .send()
        .await
        .unwrap()
        .template_body()
        .unwrap()
        .to_string();
    let refused = cfn
        .create_change_set()
        .stack_name("dogbreed-dev-iam")
        .change_set_name("create-again")
        .change_set_type(aws_sdk_cloudformation::types::ChangeSetType::Create)
        .template_body(&template)
        .send()
        .await
        .expect_err("the stack exists");
    let message = format!(
        "{}",
        aws_sdk_cloudformation::error::DisplayErrorContext(&refused)
    );
    assert!(
        message.contains("Stack [dogbreed-dev-iam] already exists and cannot be created again"),
        "{message}"
    );
    let stacks = cfn.list_stacks().send().await.unwrap();
    let named = stacks
        .stack_summaries()
        .iter()
        .filter(|s| s.stack_name() == Some("dogbreed-dev-iam"))
        .count();
    assert_eq!(named, 1);
}

#[test]
fn a_stock_moto_server_is_refused_with_a_message_naming_the_launcher() {
    let stock = Moto::start_stock();
    let refused = crate::common::moto::check_launcher(stock.port)
        .expect_err("a stock moto_server is not the launcher");
    assert!(refused.contains("scripts/moto-server.py"), "{refused}");
    assert!(refused.contains("stock moto_server"), "{refused}");

    let launcher = Moto::start();
    assert_eq!(crate::common::moto::check_launcher(launcher.port), Ok(()));
}

#[test]
fn the_launcher_refuses_a_moto_version_other_than_the_one_it_patches() {
    // The same launcher, run by an interpreter whose moto claims another
    // version: it stops before serving, naming both versions. (The port is
    // invalid, so a launcher without the check ends with a usage error.)
    let script = format!(
        "import moto, runpy, sys\n\
         moto.__version__ = '0.0.1'\n\
         sys.argv = ['{launcher}', '-p', 'no-port']\n\
         runpy.run_path('{launcher}', run_name='__main__')\n",
        launcher = crate::common::moto::LAUNCHER
    );
    let output = std::process::Command::new(crate::common::venv_tool("python"))
        .current_dir(crate::common::repo_root())
        .args(["-c", &script])
        .output()
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("patches moto 5.2.5, found moto 0.0.1"),
        "{stderr}"
    );
}

/// Runs `apply --plan` on `document` (written to a file beside `dir`).
fn apply_document(
    moto: &Moto,
    project: &Path,
    dir: &Path,
    name: &str,
    document: &serde_json::Value,
) -> Run {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(document).unwrap()).unwrap();
    mlinfra(
        moto,
        Some(project),
        &["apply", "--env", "dev", "--plan", path.to_str().unwrap()],
    )
}

async fn resource_ids(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> Vec<String> {
    let listed = cfn
        .list_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .unwrap();
    listed
        .stack_resource_summaries()
        .iter()
        .filter_map(|r| r.logical_resource_id().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_or_swapped_plan_file_is_refused_and_nothing_runs() {
    let moto = Moto::start();
    let cfn = moto_cfn(&moto).await;
    assert_exit(
        &mlinfra(&moto, None, &["apply", "--env", "dev", "--yes"]),
        0,
        "first apply",
    );
    // An allowance for nothing is a leftover: refused, no change set kept.
    let leftover = mlinfra(
        &moto,
        None,
        &["plan", "--env", "dev", "--allow-data-loss", "RawBucket"],
    );
    assert_exit(&leftover, 1, "plan with an allowance that matches nothing");
    assert!(
        leftover.stderr.contains(
            "--allow-data-loss RawBucket matches no bucket or key this plan replaces or removes"
        ),
        "{}",
        leftover.stderr
    );

    // A new zone (a new bucket) and a new invoker role.
    let invoker = "[[invokers]]\nname = \"reports\"\nservice = \"lambda.amazonaws.com\"\nendpoints = [\"dogbreed\"]";
    let changed = project_with(invoker, |base| {
        base.replace(
            r#"zones = ["raw", "curated", "models"]"#,
            r#"zones = ["raw", "curated", "models", "features"]"#,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    let planned = mlinfra(
        &moto,
        Some(changed.path()),
        &["plan", "--env", "dev", "--out", plan_path.to_str().unwrap()],
    );
    assert_exit(&planned, 2, "plan of the new zone");
    let reviewed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    assert!(
        !reviewed["iam"].as_array().unwrap().is_empty(),
        "{reviewed:#}"
    );

    // The IAM section emptied, so that no approval would be asked for.
    let mut no_iam = reviewed.clone();
    no_iam["iam"] = serde_json::json!([]);
    let refused = apply_document(&moto, changed.path(), dir.path(), "no-iam.json", &no_iam);
    assert_exit(&refused, 3, "apply of a plan whose IAM section was emptied");
    assert!(
        refused
            .stderr
            .contains("dogbreed-dev-iam: the IAM changes in the plan file differ"),
        "{}",
        refused.stderr
    );

    // A change set made by hand on the same stack (a role anyone's admin),
    // its id written into the reviewed plan in place of the real one.
    let deployed_iam = cfn
        .get_template()
        .stack_name("dogbreed-dev-iam")
        .send()
        .await
        .unwrap();
    let mut template: serde_json::Value =
        serde_json::from_str(deployed_iam.template_body().unwrap()).unwrap();
    template["Resources"]["Backdoor"] = serde_json::json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "all", "PolicyDocument": {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}]
        }
    });
    let handmade = cfn
        .create_change_set()
        .stack_name("dogbreed-dev-iam")
        .change_set_name("handmade")
        .change_set_type(aws_sdk_cloudformation::types::ChangeSetType::Update)
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
        .template_body(template.to_string())
        .send()
        .await
        .unwrap();
    let mut swapped = reviewed.clone();
    let iam_stack = swapped["stacks"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["stack"] == "dogbreed-dev-iam")
        .unwrap();
    iam_stack["change_set"]["id"] = serde_json::json!(handmade.id().unwrap());
    iam_stack["change_set"]["name"] = serde_json::json!("handmade");
    let refused = apply_document(&moto, changed.path(), dir.path(), "swapped.json", &swapped);
    assert_exit(
        &refused,
        3,
        "apply of a plan naming a change set made by hand",
    );
    assert!(
        refused.stderr.contains(
            "dogbreed-dev-iam: change set handmade was not created from the reviewed template"
        ),
        "{}",
        refused.stderr
    );
    assert!(
        !resource_ids(&cfn, "dogbreed-dev-iam")
            .await
            .contains(&"Backdoor".to_string())
    );
    assert!(
        !resource_ids(&cfn, "dogbreed-dev-data")
            .await
            .contains(&"FeaturesBucket".to_string())
    );

    // The file as reviewed goes through.
    let applied = apply_document(
        &moto,
        changed.path(),
        dir.path(),
        "reviewed.json",
        &reviewed,
    );
    assert_exit(&applied, 0, "apply of the reviewed plan");
    assert!(
        resource_ids(&cfn, "dogbreed-dev-data")
            .await
            .contains(&"FeaturesBucket".to_string())
    );

    // Going back removes the bucket: blocked, so `plan --out` writes no
    // file; the library's plan keeps its change sets. An allowance written
    // into its document by hand is not one given to `plan`.
    let (env, rendered) = example("dev");
    let clients = moto_clients(&moto, &Calls::default()).await;
    let back = plan::plan(&clients, &env, &rendered, &PlanOptions::default(), &quiet())
        .await
        .unwrap();
    assert!(back.is_blocked());
    let file = plan::document::PlanFile {
        stack: None,
        reviewed: plan::reviewed::Reviewed::new(&env, &rendered),
        plan: back,
    };
    let mut allowed: serde_json::Value =
        serde_json::from_str(&plan::document::file_json(&file)).unwrap();
    allowed["data_loss"][0]["allowed"] = serde_json::json!(true);
    let root = crate::common::repo_root();
    let refused = apply_document(&moto, &root, dir.path(), "allowed.json", &allowed);
    assert_exit(&refused, 3, "apply of a plan with a hand-written allowance");
    assert!(
        refused
            .stderr
            .contains("dogbreed-dev-data: the data-loss decisions in the plan file differ"),
        "{}",
        refused.stderr
    );
    assert!(
        resource_ids(&cfn, "dogbreed-dev-data")
            .await
            .contains(&"FeaturesBucket".to_string())
    );
}
