//! Delivery stacks: the bootstrap stack of every example environment as a
//! snapshot, linted by cfn-lint and scanned by checkov; the table of
//! CloudFormation handler permissions current with the installed schemas;
//! the actions granted on `*` confirmed unscopable by policy_sentry.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::linters::template_set;
use crate::common::{Cli, repo_root, snapshot_settings, venv_tool};

const ENVS: [&str; 3] = ["dev", "staging", "prod"];

fn bootstrap(env: &str) -> String {
    let output = Cli::new().args(["bootstrap", "--env", env]).run();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The bootstrap stack of every example environment (the linters'
/// `bootstrap` set).
pub fn write_bootstraps(dir: &Path) -> Vec<PathBuf> {
    ENVS.iter()
        .map(|env| {
            let path = dir.join(format!("dogbreed-{env}-bootstrap.json"));
            std::fs::write(&path, bootstrap(env)).unwrap();
            path
        })
        .collect()
}

/// The delivery stack (the linters' `delivery` set).
pub fn write_delivery_stack(dir: &Path) -> Vec<PathBuf> {
    let path = dir.join("dogbreed-delivery.json");
    std::fs::write(&path, delivery()).unwrap();
    vec![path]
}

#[test]
fn bootstrap_templates_are_snapshotted() {
    for env in ENVS {
        snapshot_settings().bind(|| {
            insta::assert_snapshot!(format!("bootstrap__{env}"), bootstrap(env));
        });
    }
}

#[test]
fn cfn_lint_finds_nothing_in_the_bootstrap_templates() {
    let set = template_set("bootstrap");
    assert_eq!(set.files.len(), ENVS.len());
    set.assert_cfn_lint_clean();
}

#[test]
fn checkov_fails_no_check_in_the_bootstrap_templates() {
    let set = template_set("bootstrap");
    let checkov = set.checkov_without_failures();
    assert_eq!(checkov.parsing_errors, Vec::<Value>::new());
    assert!(
        checkov.passed.len() > set.files.len(),
        "{} passed",
        checkov.passed.len()
    );
}

#[test]
fn the_handler_permission_table_is_current_with_the_installed_schemas() {
    let out = Command::new(venv_tool("python"))
        .arg(repo_root().join("scripts/handler-permissions.py"))
        .arg("--check")
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn policy_sentry_confirms_the_generated_policies_grant_on_star_only_what_cannot_be_scoped() {
    let formats = crate::common::linters::resource_arn_formats(mlinfra::delivery::policy::UNSCOPED);
    for (action, format) in &formats {
        assert_eq!(format, "*", "{action} has resource-level permissions");
    }
}

#[test]
fn the_policy_command_prints_the_deploy_and_execution_policies() {
    let deploy = Cli::new().args(["policy", "--env", "prod"]).run();
    assert_eq!(deploy.status.code(), Some(0));
    let policy: Value = serde_json::from_slice(&deploy.stdout).unwrap();
    let sids: Vec<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect();
    for sid in [
        "PlanAndApply",
        "DetectDrift",
        "DeepChecks",
        "TrainAndStatus",
    ] {
        assert!(sids.contains(&sid), "{sids:?}");
    }
    let execution = Cli::new()
        .args(["policy", "--env", "prod", "--role", "cloudformation"])
        .run();
    let text = String::from_utf8_lossy(&execution.stdout);
    assert!(text.contains("sagemaker:CreateEndpoint"), "{text}");
    assert!(!text.contains("cloudformation:ExecuteChangeSet"), "{text}");
}

const PIPELINE_ARGS: [&str; 8] = [
    "pipeline",
    "--connection-arn",
    "arn:aws:codeconnections:us-east-1:111111111111:connection/0f1e2d3c-aaaa-bbbb-cccc-000000000000",
    "--repository",
    "acme/dogbreed",
    "--binary-sha256",
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "--region=us-east-1",
];

fn delivery() -> String {
    let output = Cli::new()
        .args(PIPELINE_ARGS)
        .args(["--environments", "dev,staging,prod"])
        .run();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_delivery_stack_is_snapshotted_and_promotes_with_approvals_before_protected_environments() {
    let text = delivery();
    snapshot_settings().bind(|| insta::assert_snapshot!("delivery__pipeline", text));
    let t: Value = serde_json::from_str(&text).unwrap();
    let pipeline = &t["Resources"]["Pipeline"]["Properties"];
    assert_eq!(pipeline["PipelineType"], "V2");
    let stages: Vec<(String, Vec<String>)> = pipeline["Stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["Name"].as_str().unwrap().to_string(),
                s["Actions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["Name"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    let names: Vec<&str> = stages.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["Source", "DeployDev", "DeployStaging", "DeployProd"]
    );
    // dev has no termination protection: no approval; staging and prod do.
    assert_eq!(stages[1].1, ["Plan", "Apply"]);
    assert_eq!(stages[2].1, ["Plan", "Approve", "Apply"]);
    assert_eq!(stages[3].1, ["Plan", "Approve", "Apply"]);
    // The builds may assume only the deploy roles.
    let build = &t["Resources"]["BuildRole"]["Properties"]["Policies"][0]["PolicyDocument"];
    let assume = &build["Statement"][0];
    assert_eq!(assume["Action"], "sts:AssumeRole");
    assert_eq!(
        assume["Resource"][2],
        "arn:aws:iam::345678901234:role/dogbreed-prod-deploy"
    );
    // The buildspec verifies the binary's checksum.
    let spec = t["Resources"]["PlanProject"]["Properties"]["Source"]["BuildSpec"]
        .as_str()
        .unwrap();
    assert!(spec.contains("sha256sum -c -"), "{spec}");
    assert_eq!(
        t["Resources"]["BuildLogs"]["Properties"]["RetentionInDays"],
        365
    );
}

#[test]
fn cfn_lint_and_checkov_pass_the_delivery_stack() {
    let set = template_set("delivery");
    set.assert_cfn_lint_clean();
    assert!(set.checkov_without_failures().passed.len() > 5);
}

/// The data and IAM stacks of prod as StackSet templates of a fleet over two
/// regions: no account id or region of prod's own, role names carrying the
/// region wherever they are named, buckets and keys still retained; and
/// cfn-lint and checkov accept them as they are.
fn shared_fleet_templates() -> Vec<mlinfra::fleet::FleetTemplate> {
    use mlinfra::config::fleet::{Fleet, Permissions, Preferences, Targets};
    use mlinfra::project::Project;
    use mlinfra::stacks::Layer;
    let mut env = mlinfra::config::load_env(&Project::Example, "prod").unwrap();
    let rendered = mlinfra::render::render_env(
        &mlinfra::render::Engine::new(&Project::Example).unwrap(),
        &env,
    )
    .unwrap();
    env.fleet = Some(Fleet {
        targets: Targets::Accounts(vec!["111111111111".into(), "222222222222".into()]),
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        preferences: Preferences::default(),
        permissions: Permissions::SelfManaged {
            administration_role_arn:
                "arn:aws:iam::345678901234:role/AWSCloudFormationStackSetAdministrationRole".into(),
            execution_role_name: "AWSCloudFormationStackSetExecutionRole".into(),
        },
        stacks: vec![Layer::Data, Layer::Iam],
    });
    let fleet = env.fleet.clone().unwrap();
    mlinfra::fleet::render(&env, &fleet, &rendered).unwrap()
}

/// The StackSet templates of prod's fleet (the linters' `stacksets` set).
pub fn write_stacksets(dir: &Path) -> Vec<PathBuf> {
    shared_fleet_templates()
        .iter()
        .filter(|t| t.layer.is_some())
        .map(|t| {
            let path = dir.join(format!("{}.json", t.stack_set));
            std::fs::write(&path, &t.template.text).unwrap();
            path
        })
        .collect()
}

#[test]
fn shared_stackset_templates_are_snapshotted_and_pass_cfn_lint_and_checkov() {
    let templates = shared_fleet_templates();
    assert_eq!(templates.len(), 3, "bootstrap, data, iam");
    for t in templates.iter().filter(|t| t.layer.is_some()) {
        let layer = t.layer.unwrap();
        snapshot_settings().bind(|| {
            insta::assert_snapshot!(format!("fleet__prod_{layer}"), t.template.text);
        });
    }
    for t in &templates {
        let body = serde_json::json!([t.template.value["Resources"], t.template.value["Outputs"]]);
        let body = body.to_string();
        if t.layer.is_some() {
            assert!(!body.contains("345678901234"), "{}: {body}", t.stack_set);
        }
        assert!(!body.contains("\"us-east-1"), "{}: {body}", t.stack_set);
    }
    let set = template_set("stacksets");
    assert_eq!(set.files.len(), 2, "data and iam");
    set.assert_cfn_lint_clean();
    assert!(set.checkov_without_failures().passed.len() > set.files.len());
}
