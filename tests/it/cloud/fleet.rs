//! Fleets: the bootstrap stack as a CloudFormation StackSet over the
//! accounts and regions of `[env.targets]`. Creating, updating and adding or
//! removing instances run against moto's server, which implements StackSets
//! (CreateStackSet, CreateStackInstances, UpdateStackSet,
//! DeleteStackInstances, ListStackInstances, DescribeStackSetOperation and
//! ListStackSetOperationResults). moto has no DetectStackSetDrift: drift is
//! tested with aws-smithy-mocks.

use aws_sdk_cloudformation::Client as CfnClient;
use aws_sdk_cloudformation::operation::describe_stack_set::DescribeStackSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_set_operation::DescribeStackSetOperationOutput;
use aws_sdk_cloudformation::operation::detect_stack_set_drift::DetectStackSetDriftOutput;
use aws_sdk_cloudformation::operation::list_stack_instances::ListStackInstancesOutput;
use aws_sdk_cloudformation::operation::list_stack_set_operation_results::ListStackSetOperationResultsOutput;
use aws_sdk_cloudformation::types::{
    StackDriftStatus, StackInstanceStatus, StackInstanceSummary, StackSet, StackSetOperation,
    StackSetOperationResultStatus, StackSetOperationResultSummary, StackSetOperationStatus,
    StackSetStatus,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use mlinfra::cloud::stackset::StackSets;
use mlinfra::config::fleet::{Amount, Fleet, Permissions, Preferences, Targets};

use super::support::{
    Calls, example, mocked, moto_cfn, moto_clients, project_with, quick_poll, quiet,
};
use crate::common;
use crate::common::moto::Moto;

const STACK_SET: &str = "dogbreed-dev-bootstrap";

fn targets(accounts: &str, regions: &str) -> String {
    format!(
        "[env.targets]\naccounts = [{accounts}]\nregions = [{regions}]\n\
         max_concurrent_count = 2\nfailure_tolerance_count = 1\nregion_concurrency = \"parallel\"\n"
    )
}

async fn instances(cfn: &CfnClient) -> Vec<(String, String)> {
    instances_of(cfn, STACK_SET).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_plans_per_target_and_applies_through_stackset_operations() {
    let moto = Moto::start();
    let project = project_with(
        &targets(
            "\"111111111111\", \"222222222222\"",
            "\"us-east-1\", \"eu-west-1\"",
        ),
        |base| base,
    );

    // The StackSet's template: no account or region of its own, and roles
    // named per region (IAM names are global to an account).
    let printed = moto
        .cli(project.path())
        .args(["bootstrap", "--env", "dev"])
        .run();
    assert_eq!(printed.status.code(), Some(0));
    let template: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(
        template["Resources"]["DeployRole"]["Properties"]["RoleName"],
        serde_json::json!({"Fn::Sub": "dogbreed-dev-deploy-${AWS::Region}"})
    );

    let planned = moto
        .cli(project.path())
        .args(["plan", "--env", "dev"])
        .run();
    let stdout = common::stdout(&planned);
    assert_eq!(
        planned.status.code(),
        Some(2),
        "{}",
        common::stderr(&planned)
    );
    assert!(
        stdout.contains(
            "StackSet dogbreed-dev-bootstrap (SELF_MANAGED, to create): 4 to add, 0 to update, 0 to remove, 0 unchanged"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("add       222222222222 eu-west-1"),
        "{stdout}"
    );

    let applied = moto
        .cli(project.path())
        .args(["apply", "--env", "dev", "--yes"])
        .run();
    let stdout = common::stdout(&applied);
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        common::stderr(&applied)
    );
    // One operation for the whole fleet, and every instance's result.
    for account in ["111111111111", "222222222222"] {
        for region in ["us-east-1", "eu-west-1"] {
            assert!(
                stdout.contains(&format!("  {account} {region} SUCCEEDED")),
                "{stdout}"
            );
        }
    }
    let cfn = moto_cfn(&moto).await;
    assert_eq!(instances(&cfn).await.len(), 4);
    let set = cfn
        .describe_stack_set()
        .stack_set_name(STACK_SET)
        .send()
        .await
        .unwrap();
    let set = set.stack_set().unwrap();
    assert_eq!(set.permission_model().unwrap().as_str(), "SELF_MANAGED");
    assert_eq!(
        set.administration_role_arn(),
        Some("arn:aws:iam::123456789012:role/AWSCloudFormationStackSetAdministrationRole")
    );
    assert_eq!(
        set.execution_role_name(),
        Some("AWSCloudFormationStackSetExecutionRole")
    );

    // Nothing changed: the fleet plans as unchanged.
    let again = moto
        .cli(project.path())
        .args(["plan", "--env", "dev"])
        .run();
    let stdout = common::stdout(&again);
    assert!(
        stdout.contains(
            "(SELF_MANAGED, template unchanged): 0 to add, 0 to update, 0 to remove, 4 unchanged"
        ),
        "{stdout}"
    );

    // A new delivery account changes the template (the deploy role trust,
    // nothing of the environment's stacks), an account leaves, a region joins.
    std::fs::write(
        project.path().join("environments/dev.toml"),
        std::fs::read_to_string(project.path().join("environments/dev.toml"))
            .unwrap()
            .replace(
                "tags = { stage = \"dev\" }",
                "tags = { stage = \"dev\" }\ndelivery_account_id = \"999999999999\"",
            )
            .replace("\"111111111111\", \"222222222222\"", "\"111111111111\"")
            .replace(
                "\"us-east-1\", \"eu-west-1\"]",
                "\"us-east-1\", \"eu-west-1\", \"eu-central-1\"]",
            ),
    )
    .unwrap();
    let planned = moto
        .cli(project.path())
        .args(["plan", "--env", "dev"])
        .run();
    let stdout = common::stdout(&planned);
    assert!(
        stdout.contains(
            "(SELF_MANAGED, template changes): 1 to add, 2 to update, 2 to remove, 0 unchanged"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("remove    222222222222 us-east-1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("add       111111111111 eu-central-1"),
        "{stdout}"
    );

    let applied = moto
        .cli(project.path())
        .args(["apply", "--env", "dev", "--yes"])
        .run();
    let stdout = common::stdout(&applied);
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        common::stderr(&applied)
    );
    assert!(
        stdout.contains("dogbreed-dev-bootstrap update (operation"),
        "{stdout}"
    );
    assert!(
        stdout.contains("dogbreed-dev-bootstrap add (operation"),
        "{stdout}"
    );
    assert!(
        stdout.contains("dogbreed-dev-bootstrap remove (operation"),
        "{stdout}"
    );
    assert_eq!(
        instances(&cfn).await,
        [
            ("111111111111".to_string(), "eu-central-1".to_string()),
            ("111111111111".to_string(), "eu-west-1".to_string()),
            ("111111111111".to_string(), "us-east-1".to_string()),
        ]
    );
    let set = cfn
        .describe_stack_set()
        .stack_set_name(STACK_SET)
        .send()
        .await
        .unwrap();
    assert!(
        set.stack_set()
            .unwrap()
            .template_body()
            .unwrap()
            .contains("arn:aws:iam::999999999999:root"),
        "the StackSet carries the new template"
    );
}

#[test]
fn targets_are_validated_with_cloudformation_rules_before_anything_is_sent() {
    let project = project_with(
        "[env.targets]\naccounts = [\"12345\"]\norganizational_units = [\"ou-ab12-abcdefgh\"]\n\
         regions = [\"us-east-1\", \"mars-1\"]\nregion_order = [\"eu-west-1\"]\n\
         max_concurrent_count = 5\nfailure_tolerance_count = 1\nmax_concurrent_percentage = 50\n",
        |base| base,
    );
    let output = crate::common::Cli::new()
        .args([
            std::ffi::OsStr::new("--project"),
            project.path().as_os_str(),
        ])
        .args(["validate", "--env", "dev"])
        .run();
    let stderr = common::stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for expected in [
        "`organizational_units` (service-managed), not both",
        "\"mars-1\": is not a known AWS region",
        "\"eu-west-1\" is not one of `regions`",
        "give `max_concurrent_count` or `max_concurrent_percentage`, not both",
    ] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    assert!(stderr.contains("env.targets"), "{stderr}");

    let strict = project_with(
        "[env.targets]\naccounts = [\"111111111111\"]\nregions = [\"us-east-1\"]\n\
         max_concurrent_count = 5\nfailure_tolerance_count = 1\n",
        |base| base,
    );
    let output = crate::common::Cli::new()
        .args([std::ffi::OsStr::new("--project"), strict.path().as_os_str()])
        .args(["validate", "--env", "dev"])
        .run();
    let stderr = common::stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("5 is more than failure_tolerance_count + 1 = 2"),
        "{stderr}"
    );

    // The example's training job runs a code package, which lives in the
    // environment's own models bucket only.
    let training = project_with(
        "[env.targets]\naccounts = [\"111111111111\"]\nregions = [\"us-east-1\"]\n\
         stacks = [\"data\", \"iam\", \"training\"]\n",
        |base| base,
    );
    let output = crate::common::Cli::new()
        .args([
            std::ffi::OsStr::new("--project"),
            training.path().as_os_str(),
        ])
        .args(["validate", "--env", "dev"])
        .run();
    let stderr = common::stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("env.targets.stacks[2]: training job \"dogbreed\" runs a code package"),
        "{stderr}"
    );
}

fn ou_fleet() -> Fleet {
    Fleet {
        targets: Targets::OrganizationalUnits(vec!["ou-ab12-abcdefgh".into()]),
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        preferences: Preferences {
            max_concurrent: Some(Amount::Percentage(50)),
            failure_tolerance: Some(Amount::Count(0)),
            region_order: vec!["us-east-1".into()],
            parallel_regions: false,
            soft_failure_tolerance: false,
        },
        permissions: Permissions::ServiceManaged {
            auto_deployment: true,
            retain_stacks_on_account_removal: false,
        },
        stacks: Vec::new(),
    }
}

/// moto has no DetectStackSetDrift: the drift calls are mocked. The
/// detection runs with the fleet's preferences, is followed until it ends,
/// and every instance's drift status is reported.
#[tokio::test(start_paused = true)]
async fn stackset_drift_is_detected_and_reported_per_instance() {
    let describe = mock!(CfnClient::describe_stack_set).then_output(|| {
        DescribeStackSetOutput::builder()
            .stack_set(
                StackSet::builder()
                    .stack_set_name(STACK_SET)
                    .status(StackSetStatus::Active)
                    .build(),
            )
            .build()
    });
    let detect = mock!(CfnClient::detect_stack_set_drift)
        .match_requests(|r| {
            r.stack_set_name() == Some(STACK_SET)
                && r.operation_preferences()
                    .is_some_and(|p| p.max_concurrent_percentage() == Some(50))
        })
        .then_output(|| {
            DetectStackSetDriftOutput::builder()
                .operation_id("drift-1")
                .build()
        });
    let operation = |status: StackSetOperationStatus| {
        DescribeStackSetOperationOutput::builder()
            .stack_set_operation(
                StackSetOperation::builder()
                    .operation_id("drift-1")
                    .status(status)
                    .build(),
            )
            .build()
    };
    let polls = mock!(CfnClient::describe_stack_set_operation)
        .match_requests(|r| r.operation_id() == Some("drift-1"))
        .sequence()
        .output(move || operation(StackSetOperationStatus::Running))
        .times(2)
        .output(move || operation(StackSetOperationStatus::Succeeded))
        .build();
    let results = mock!(CfnClient::list_stack_set_operation_results).then_output(|| {
        ListStackSetOperationResultsOutput::builder()
            .summaries(
                StackSetOperationResultSummary::builder()
                    .account("111111111111")
                    .region("us-east-1")
                    .status(StackSetOperationResultStatus::Succeeded)
                    .build(),
            )
            .build()
    });
    let instance = |account: &str, region: &str, drift: StackDriftStatus| {
        StackInstanceSummary::builder()
            .account(account)
            .region(region)
            .organizational_unit_id("ou-ab12-abcdefgh")
            .status(StackInstanceStatus::Current)
            .drift_status(drift)
            .build()
    };
    let listed = mock!(CfnClient::list_stack_instances).then_output(move || {
        ListStackInstancesOutput::builder()
            .summaries(instance(
                "111111111111",
                "us-east-1",
                StackDriftStatus::InSync,
            ))
            .summaries(instance(
                "222222222222",
                "eu-west-1",
                StackDriftStatus::Drifted,
            ))
            .build()
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &detect, &polls, &results, &listed]
    );
    let sets = StackSets::new(client).with_poll(quick_poll());
    let (mut env, _) = example("dev");
    env.fleet = Some(ou_fleet());
    let fleet = env.fleet.clone().unwrap();

    let report = mlinfra::fleet::drift(&sets, &env, &fleet).await.unwrap();

    assert_eq!(polls.num_calls(), 3, "followed until the operation ended");
    assert!(!report.in_sync());
    let text = report.human_text();
    assert!(
        text.contains("StackSet dogbreed-dev-bootstrap: 1 of 2 instances drifted or unchecked"),
        "{text}"
    );
    assert!(text.contains("  222222222222 eu-west-1 DRIFTED"), "{text}");
    assert!(text.contains("  111111111111 us-east-1 IN_SYNC"), "{text}");
}

fn text(output: &std::process::Output) -> (String, String) {
    (common::stdout(output), common::stderr(output))
}

/// The fleet is part of the environment's plan: one JSON document, one
/// Markdown comment, `plan --all` included; `plan --out` records it (the
/// StackSet's template sealed with the rest) and `apply --plan` applies
/// exactly that from a directory holding only the plan, or refuses when the
/// StackSet changed since.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_is_part_of_the_plan_document_and_of_a_reviewed_plan_file() {
    let moto = Moto::start();
    let project = project_with(
        &targets(
            "\"111111111111\", \"222222222222\"",
            "\"us-east-1\", \"eu-west-1\"",
        ),
        |base| base,
    );

    let planned = moto
        .cli(project.path())
        .args(["plan", "--env", "dev", "--format", "json"])
        .run();
    let (stdout, stderr) = text(&planned);
    assert_eq!(planned.status.code(), Some(2), "{stderr}");
    assert!(
        stdout.starts_with("{\n  \"format_version\": 3,"),
        "{stdout}"
    );
    // One document: serde_json refuses trailing text.
    let document: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    let stack_set = &document["fleet"]["stack_sets"][0];
    assert_eq!(stack_set["stack_set"], STACK_SET);
    assert_eq!(stack_set["exists"], false);
    assert_eq!(stack_set["targets"].as_array().unwrap().len(), 4);
    assert_eq!(document["stacks"].as_array().unwrap().len(), 4);

    let markdown = moto
        .cli(project.path())
        .args(["plan", "--env", "dev", "--format", "markdown"])
        .run();
    let (stdout, _) = text(&markdown);
    assert_eq!(
        stdout.matches("<!-- mlinfra:plan env=dev -->").count(),
        1,
        "{stdout}"
    );
    assert_eq!(stdout.matches("<sub>mlinfra ").count(), 1, "{stdout}");
    assert!(
        stdout.contains("#### Fleet: StackSets over `[env.targets]`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| `222222222222` | `eu-west-1` | add |"),
        "{stdout}"
    );

    // `plan --all` plans every environment's fleet too (dev is the only
    // environment of this project the emulator's account can plan).
    for other in ["staging", "prod"] {
        std::fs::remove_file(project.path().join(format!("environments/{other}.toml"))).unwrap();
    }
    let all = moto
        .cli(project.path())
        .args(["plan", "--all", "--format", "json"])
        .run();
    let (stdout, stderr) = text(&all);
    assert_eq!(all.status.code(), Some(2), "{stderr}");
    let document: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(
        document["plans"][0]["fleet"]["stack_sets"][0]["targets"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "{stdout}"
    );

    // The reviewed plan, with the fleet's StackSet and its template.
    let plan_path = project.path().join("plan.json");
    let out = moto
        .cli(project.path())
        .args(["plan", "--env", "dev", "--out"])
        .args([&plan_path])
        .run();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out).1);
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    assert_eq!(file["reviewed"]["fleet"][0]["stack_set"], STACK_SET);
    assert_eq!(
        file["reviewed"]["fleet"][0]["template"]["Resources"]["DeployRole"]["Properties"]["RoleName"],
        serde_json::json!({"Fn::Sub": "dogbreed-dev-deploy-${AWS::Region}"})
    );

    // Applied from a directory with the plan and its code alone.
    let bare = tempfile::tempdir().unwrap();
    let copy_plan = |from: &std::path::Path, to: &std::path::Path| {
        std::fs::copy(from, to.join("plan.json")).unwrap();
        let kept = mlinfra::code::kept_beside(from);
        std::fs::create_dir_all(to.join("plan.json.code")).unwrap();
        for entry in std::fs::read_dir(&kept).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(
                entry.path(),
                to.join("plan.json.code").join(entry.file_name()),
            )
            .unwrap();
        }
    };
    copy_plan(&plan_path, bare.path());
    let applied = moto
        .cli(bare.path())
        .current_dir(bare.path())
        .args(["apply", "--env", "dev", "--plan", "plan.json"])
        .run();
    let (stdout, stderr) = text(&applied);
    assert_eq!(applied.status.code(), Some(0), "{stderr}");
    for account in ["111111111111", "222222222222"] {
        for region in ["us-east-1", "eu-west-1"] {
            assert!(
                stdout.contains(&format!("  {account} {region} SUCCEEDED")),
                "{stdout}"
            );
        }
    }
    let cfn = moto_cfn(&moto).await;
    assert_eq!(instances(&cfn).await.len(), 4);

    // A new region, planned and reviewed; then someone adds an instance to
    // the StackSet before the plan is applied: apply refuses, runs nothing.
    std::fs::write(
        project.path().join("environments/dev.toml"),
        std::fs::read_to_string(project.path().join("environments/dev.toml"))
            .unwrap()
            .replace(
                "\"us-east-1\", \"eu-west-1\"]",
                "\"us-east-1\", \"eu-west-1\", \"eu-central-1\"]",
            ),
    )
    .unwrap();
    let second = project.path().join("second.json");
    let out = moto
        .cli(project.path())
        .args(["plan", "--env", "dev", "--out"])
        .args([&second])
        .run();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out).1);
    cfn.create_stack_instances()
        .stack_set_name(STACK_SET)
        .accounts("333333333333")
        .regions("us-east-1")
        .send()
        .await
        .unwrap();
    // And its template is changed by hand.
    let deployed = cfn
        .describe_stack_set()
        .stack_set_name(STACK_SET)
        .send()
        .await
        .unwrap();
    let mut edited: serde_json::Value =
        serde_json::from_str(deployed.stack_set().unwrap().template_body().unwrap()).unwrap();
    edited["Metadata"] = serde_json::json!({ "EditedBy": "hand" });
    cfn.update_stack_set()
        .stack_set_name(STACK_SET)
        .template_body(edited.to_string())
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
        .send()
        .await
        .unwrap();
    let late = tempfile::tempdir().unwrap();
    copy_plan(&second, late.path());
    let refused = moto
        .cli(late.path())
        .current_dir(late.path())
        .args(["apply", "--env", "dev", "--plan", "plan.json"])
        .run();
    let (_, stderr) = text(&refused);
    assert_eq!(refused.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("StackSet dogbreed-dev-bootstrap: its instances changed since the plan"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "StackSet dogbreed-dev-bootstrap: its deployed template changed since the plan"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was executed"), "{stderr}");
    let now = instances(&cfn).await;
    assert_eq!(now.len(), 5, "{now:?}");
    assert!(
        !now.iter().any(|(_, region)| region == "eu-central-1"),
        "nothing of the refused plan ran: {now:?}"
    );
}

async fn instances_of(cfn: &CfnClient, stack_set: &str) -> Vec<(String, String)> {
    let listed = cfn
        .list_stack_instances()
        .stack_set_name(stack_set)
        .send()
        .await
        .unwrap();
    let mut pairs: Vec<(String, String)> = listed
        .summaries()
        .iter()
        .map(|s| {
            (
                s.account().unwrap().to_string(),
                s.region().unwrap().to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

/// `stacks = ["data", "iam"]`: the environment's data and IAM stacks deploy
/// to every target as StackSets after the bootstrap one, in dependency order
/// (the IAM instances import the data instances' key of their own account
/// and region), each operation followed with per-instance results; a target
/// that leaves keeps its data stack (and its buckets and keys), removals run
/// in reverse order; stacks taken off the list have their instances removed
/// the same way and their StackSets deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_data_and_iam_stacks_deploy_as_stacksets_and_keep_their_data_when_targets_leave() {
    let moto = Moto::start();
    let project = project_with(
        &format!(
            "{}stacks = [\"data\", \"iam\"]\n",
            targets(
                "\"111111111111\", \"222222222222\"",
                "\"us-east-1\", \"eu-west-1\"",
            )
        ),
        |base| base,
    );
    let planned = moto
        .cli(project.path())
        .args(["plan", "--env", "dev"])
        .run();
    let (stdout, stderr) = text(&planned);
    assert_eq!(planned.status.code(), Some(2), "{stderr}");
    for stack_set in ["dogbreed-dev-data", "dogbreed-dev-iam"] {
        assert!(
            stdout.contains(&format!(
                "StackSet {stack_set} (SELF_MANAGED, to create): 4 to add, 0 to update, 0 to remove, 0 unchanged"
            )),
            "{stdout}"
        );
    }

    let applied = moto
        .cli(project.path())
        .args(["apply", "--env", "dev", "--yes"])
        .run();
    let (stdout, stderr) = text(&applied);
    assert_eq!(applied.status.code(), Some(0), "{stderr}");
    // In dependency order, each with every instance's result.
    let bootstrap = stdout
        .find("dogbreed-dev-bootstrap add (operation")
        .expect(&stdout);
    let data = stdout
        .find("dogbreed-dev-data add (operation")
        .expect(&stdout);
    assert!(bootstrap < data, "{stdout}");
    let data_results = &stdout[data..];
    for account in ["111111111111", "222222222222"] {
        for region in ["us-east-1", "eu-west-1"] {
            assert!(
                data_results.contains(&format!("  {account} {region} SUCCEEDED")),
                "{stdout}"
            );
        }
    }
    let cfn = moto_cfn(&moto).await;
    assert_eq!(instances_of(&cfn, "dogbreed-dev-data").await.len(), 4);
    assert_eq!(instances_of(&cfn, "dogbreed-dev-iam").await.len(), 4);
    let iam = cfn
        .describe_stack_set()
        .stack_set_name("dogbreed-dev-iam")
        .send()
        .await
        .unwrap();
    let iam = iam
        .stack_set()
        .unwrap()
        .template_body()
        .unwrap()
        .to_string();
    // IAM names are global to an account: per region, in both StackSets.
    assert!(
        iam.contains("\"dogbreed-dev-sagemaker-execution-${AWS::Region}\""),
        "{iam}"
    );
    let set = cfn
        .describe_stack_set()
        .stack_set_name("dogbreed-dev-data")
        .send()
        .await
        .unwrap();
    let body = set
        .stack_set()
        .unwrap()
        .template_body()
        .unwrap()
        .to_string();
    assert!(
        body.contains("dogbreed-dev-raw-${AWS::AccountId}-${AWS::Region}"),
        "{body}"
    );
    assert!(!body.contains("123456789012"), "{body}");

    let again = moto
        .cli(project.path())
        .args(["plan", "--env", "dev"])
        .run();
    let (stdout, _) = text(&again);
    assert_eq!(again.status.code(), Some(0), "{stdout}");
    for stack_set in ["dogbreed-dev-data", "dogbreed-dev-iam"] {
        assert!(
            stdout.contains(&format!("StackSet {stack_set} (SELF_MANAGED, template unchanged): 0 to add, 0 to update, 0 to remove, 4 unchanged")),
            "{stdout}"
        );
    }

    // The data StackSet's bucket renamed by hand: the rendered template
    // replaces it, which is data loss. The StackSet has no change set and no
    // stack policy: plan blocks (exit 3), apply refuses it before anything
    // runs, and goes ahead with the same consent the stacks need.
    let deployed = cfn
        .describe_stack_set()
        .stack_set_name("dogbreed-dev-data")
        .send()
        .await
        .unwrap();
    let mut renamed: serde_json::Value =
        serde_json::from_str(deployed.stack_set().unwrap().template_body().unwrap()).unwrap();
    renamed["Resources"]["RawBucket"]["Properties"]["BucketName"] =
        serde_json::json!({"Fn::Sub": "renamed-raw-${AWS::AccountId}-${AWS::Region}"});
    cfn.update_stack_set()
        .stack_set_name("dogbreed-dev-data")
        .template_body(renamed.to_string())
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
        .send()
        .await
        .unwrap();
    let blocked = moto
        .cli(project.path())
        .args(["plan", "--env", "dev"])
        .run();
    let (stdout, _) = text(&blocked);
    assert_eq!(blocked.status.code(), Some(3), "{stdout}");
    assert!(
        stdout
            .contains("x StackSet dogbreed-dev-data RawBucket (AWS::S3::Bucket) would be replaced"),
        "{stdout}"
    );
    let refused = moto
        .cli(project.path())
        .args(["apply", "--env", "dev", "--yes"])
        .run();
    let (_, stderr) = text(&refused);
    assert_eq!(refused.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("pass --allow-data-loss RawBucket"),
        "{stderr}"
    );
    let still = cfn
        .describe_stack_set()
        .stack_set_name("dogbreed-dev-data")
        .send()
        .await
        .unwrap();
    assert!(
        still
            .stack_set()
            .unwrap()
            .template_body()
            .unwrap()
            .contains("renamed-raw-"),
        "nothing was applied"
    );
    let allowed = moto
        .cli(project.path())
        .args([
            "apply",
            "--env",
            "dev",
            "--yes",
            "--allow-data-loss",
            "RawBucket",
        ])
        .run();
    let (stdout, stderr) = text(&allowed);
    assert_eq!(allowed.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("dogbreed-dev-data update (operation"),
        "{stdout}"
    );

    // An account leaves: its data instances go, their stacks stay.
    let dev = project.path().join("environments/dev.toml");
    let edit = |from: &str, to: &str| {
        let text = std::fs::read_to_string(&dev).unwrap();
        assert!(text.contains(from), "{text}");
        std::fs::write(&dev, text.replace(from, to)).unwrap();
    };
    edit("\"111111111111\", \"222222222222\"", "\"111111111111\"");
    let planned = moto
        .cli(project.path())
        .args(["plan", "--env", "dev"])
        .run();
    let (stdout, _) = text(&planned);
    assert!(
        stdout.contains("removed instances of dogbreed-dev-data keep their stacks (RetainStacks)"),
        "{stdout}"
    );
    let applied = moto
        .cli(project.path())
        .args(["apply", "--env", "dev", "--yes"])
        .run();
    let (stdout, stderr) = text(&applied);
    assert_eq!(applied.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "dogbreed-dev-data: removing account 222222222222 in us-east-1, eu-west-1 (their stacks, buckets and keys stay in those accounts)"
        ),
        "{stderr}"
    );
    // Removals run in reverse dependency order: data before bootstrap.
    let data = stdout
        .find("dogbreed-dev-data remove (operation")
        .expect(&stdout);
    let bootstrap = stdout
        .find("dogbreed-dev-bootstrap remove (operation")
        .expect(&stdout);
    assert!(data < bootstrap, "{stdout}");
    assert_eq!(
        instances_of(&cfn, "dogbreed-dev-data").await,
        [
            ("111111111111".to_string(), "eu-west-1".to_string()),
            ("111111111111".to_string(), "us-east-1".to_string()),
        ]
    );

    // Off the list: the instances go (stacks kept), then the StackSet.
    edit("stacks = [\"data\", \"iam\"]\n", "");
    let planned = moto
        .cli(project.path())
        .args(["plan", "--env", "dev"])
        .run();
    let (stdout, _) = text(&planned);
    assert_eq!(planned.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("StackSet dogbreed-dev-data (SELF_MANAGED, no longer listed: its instances and the StackSet go): 0 to add, 0 to update, 2 to remove"),
        "{stdout}"
    );
    let applied = moto
        .cli(project.path())
        .args(["apply", "--env", "dev", "--yes"])
        .run();
    let (_, stderr) = text(&applied);
    assert_eq!(applied.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("dogbreed-dev-data: deleting the StackSet"),
        "{stderr}"
    );
    let gone = cfn
        .describe_stack_set()
        .stack_set_name("dogbreed-dev-data")
        .send()
        .await;
    assert!(
        gone.as_ref()
            .err()
            .and_then(|e| e.as_service_error())
            .is_some_and(|e| e.is_stack_set_not_found_exception()),
        "{gone:?}"
    );
}

/// Drift runs DetectStackSetDrift on every StackSet of the fleet: the
/// bootstrap's and each listed stack's (mocked: moto has none).
#[tokio::test(start_paused = true)]
async fn stackset_drift_covers_every_stackset_of_the_fleet() {
    let describe = mock!(CfnClient::describe_stack_set).then_output(|| {
        DescribeStackSetOutput::builder()
            .stack_set(
                StackSet::builder()
                    .stack_set_name("any")
                    .status(StackSetStatus::Active)
                    .build(),
            )
            .build()
    });
    let detect = mock!(CfnClient::detect_stack_set_drift).then_output(|| {
        DetectStackSetDriftOutput::builder()
            .operation_id("drift")
            .build()
    });
    let done = mock!(CfnClient::describe_stack_set_operation).then_output(|| {
        DescribeStackSetOperationOutput::builder()
            .stack_set_operation(
                StackSetOperation::builder()
                    .operation_id("drift")
                    .status(StackSetOperationStatus::Succeeded)
                    .build(),
            )
            .build()
    });
    let results = mock!(CfnClient::list_stack_set_operation_results)
        .then_output(|| ListStackSetOperationResultsOutput::builder().build());
    let listed = mock!(CfnClient::list_stack_instances).then_output(|| {
        ListStackInstancesOutput::builder()
            .summaries(
                StackInstanceSummary::builder()
                    .account("111111111111")
                    .region("us-east-1")
                    .status(StackInstanceStatus::Current)
                    .drift_status(StackDriftStatus::InSync)
                    .build(),
            )
            .build()
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &detect, &done, &results, &listed]
    );
    let sets = StackSets::new(client).with_poll(quick_poll());
    let (mut env, _) = example("dev");
    let mut fleet = ou_fleet();
    fleet.stacks = vec![mlinfra::stacks::Layer::Data, mlinfra::stacks::Layer::Iam];
    env.fleet = Some(fleet.clone());

    let report = mlinfra::fleet::drift(&sets, &env, &fleet).await.unwrap();

    assert_eq!(detect.num_calls(), 3, "one detection per StackSet");
    let names: Vec<&str> = report
        .stack_sets
        .iter()
        .map(|s| s.stack_set.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "dogbreed-dev-bootstrap",
            "dogbreed-dev-data",
            "dogbreed-dev-iam"
        ]
    );
    assert!(report.in_sync());
}

/// A StackSet template over CloudFormation's 51,200-byte inline limit:
/// refused by plan without an artifacts bucket (before any call), uploaded
/// to it (content-addressed) and passed as `TemplateURL` with one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stackset_template_over_the_inline_limit_goes_through_the_artifacts_bucket() {
    let moto = Moto::start();
    let mut clients = moto_clients(&moto, &Calls::default()).await;
    clients.stacksets = clients.stacksets.clone().with_poll(quick_poll());
    let (mut env, rendered) = example("dev");
    let fleet = Fleet {
        targets: Targets::Accounts(vec!["111111111111".into()]),
        regions: vec!["us-east-1".into()],
        preferences: Preferences::default(),
        permissions: Permissions::SelfManaged {
            administration_role_arn:
                "arn:aws:iam::123456789012:role/AWSCloudFormationStackSetAdministrationRole".into(),
            execution_role_name: "AWSCloudFormationStackSetExecutionRole".into(),
        },
        stacks: Vec::new(),
    };
    env.fleet = Some(fleet.clone());
    let mut templates = mlinfra::fleet::render(&env, &fleet, &rendered).unwrap();
    // Metadata CloudFormation keeps but does not act on.
    let mut value = templates[0].template.value.clone();
    value["Metadata"] = serde_json::json!({ "Padding": "x".repeat(60_000) });
    templates[0].template = mlinfra::template::Canonical::new(value);

    let refused = mlinfra::fleet::plan(&clients.stacksets, &env, &fleet, &templates, &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("the template of StackSet dogbreed-dev-bootstrap is")
            && refused.contains("set `artifacts_bucket` under [env]"),
        "{refused}"
    );

    clients
        .s3
        .create_bucket()
        .bucket("dogbreed-artifacts")
        .send()
        .await
        .unwrap();
    env.artifacts_bucket = Some("dogbreed-artifacts".into());
    let plan = mlinfra::fleet::plan(&clients.stacksets, &env, &fleet, &templates, &[])
        .await
        .unwrap();
    let applied = mlinfra::fleet::apply(&clients, &env, &fleet, &plan, &templates, &quiet())
        .await
        .unwrap();
    applied.check().unwrap();
    let listed = clients
        .s3
        .list_objects_v2()
        .bucket("dogbreed-artifacts")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        [format!(
            "mlinfra/dev/dogbreed-dev-bootstrap/{}.json",
            templates[0].template.hash()
        )]
    );
    let cfn = moto_cfn(&moto).await;
    let set = cfn
        .describe_stack_set()
        .stack_set_name(STACK_SET)
        .send()
        .await
        .unwrap();
    let body = set.stack_set().unwrap().template_body().unwrap();
    assert!(
        body.contains(&"x".repeat(60_000)),
        "created from the uploaded template"
    );
    assert_eq!(instances(&cfn).await.len(), 1);
}

/// A target leaving a StackSet that holds buckets or keys is removed with
/// RetainStacks: its stack and data stay in that account. moto ignores the
/// flag, so the request is checked with aws-smithy-mocks.
#[tokio::test(start_paused = true)]
async fn a_stateful_stackset_removes_instances_with_retain_stacks() {
    use aws_sdk_cloudformation::operation::delete_stack_instances::DeleteStackInstancesOutput;
    let delete = mock!(CfnClient::delete_stack_instances)
        .match_requests(|r| {
            r.stack_set_name() == Some("dogbreed-dev-data")
                && r.retain_stacks() == Some(true)
                && r.accounts() == ["222222222222"]
        })
        .then_output(|| {
            DeleteStackInstancesOutput::builder()
                .operation_id("remove-1")
                .build()
        });
    let done = mock!(CfnClient::describe_stack_set_operation).then_output(|| {
        DescribeStackSetOperationOutput::builder()
            .stack_set_operation(
                StackSetOperation::builder()
                    .operation_id("remove-1")
                    .status(StackSetOperationStatus::Succeeded)
                    .build(),
            )
            .build()
    });
    let results = mock!(CfnClient::list_stack_set_operation_results)
        .then_output(|| ListStackSetOperationResultsOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&delete, &done, &results]
    );
    let mut clients = mocked(client.clone());
    clients.stacksets = StackSets::new(client).with_poll(quick_poll());
    let (mut env, rendered) = example("dev");
    let mut fleet = ou_fleet();
    fleet.targets = Targets::Accounts(vec!["111111111111".into()]);
    fleet.permissions = Permissions::SelfManaged {
        administration_role_arn: "arn:aws:iam::123456789012:role/Admin".into(),
        execution_role_name: "Exec".into(),
    };
    fleet.stacks = vec![mlinfra::stacks::Layer::Data];
    env.fleet = Some(fleet.clone());
    let templates = mlinfra::fleet::render(&env, &fleet, &rendered).unwrap();
    let data = &templates[1];
    let plan = mlinfra::fleet::FleetPlan {
        stack_sets: vec![mlinfra::fleet::StackSetPlan {
            stack_set: data.stack_set.clone(),
            layer: data.layer,
            permission_model: mlinfra::fleet::PermissionModel::SelfManaged,
            exists: true,
            retired: false,
            template_differs: false,
            template_sha256: Some(data.template.hash()),
            deployed_template_sha256: Some(data.template.hash()),
            targets: vec![mlinfra::fleet::TargetChange {
                target: "222222222222".into(),
                region: "us-east-1".into(),
                change: mlinfra::fleet::SlotChange::Remove,
            }],
            deployed_instances: Vec::new(),
            retain_stacks: mlinfra::fleet::template::holds_state(&data.template.value),
            changes: Vec::new(),
            iam: Vec::new(),
            data_loss: Vec::new(),
        }],
    };
    assert!(
        plan.stack_sets[0].retain_stacks,
        "the data stack holds state"
    );

    let applied = mlinfra::fleet::apply(&clients, &env, &fleet, &plan, &templates, &quiet())
        .await
        .unwrap();

    assert_eq!(delete.num_calls(), 1, "removed with RetainStacks");
    applied.check().unwrap();
}
