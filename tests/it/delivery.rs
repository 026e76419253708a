//! Delivery stacks: the bootstrap stack of every example environment as a
//! snapshot, linted by cfn-lint and scanned by checkov; the table of
//! CloudFormation handler permissions current with the installed schemas;
//! the actions granted on `*` confirmed unscopable by policy_sentry.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

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

fn write_all(dir: &Path) -> Vec<String> {
    ENVS.iter()
        .map(|env| {
            let path = dir.join(format!("dogbreed-{env}-bootstrap.json"));
            std::fs::write(&path, bootstrap(env)).unwrap();
            path.display().to_string()
        })
        .collect()
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
    let dir = tempfile::tempdir().unwrap();
    let files = write_all(dir.path());
    let out = Command::new(venv_tool("cfn-lint"))
        .args(&files)
        .output()
        .expect("cfn-lint runs");
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "cfn-lint (exit {:?}):\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn checkov_fails_no_check_in_the_bootstrap_templates() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_all(dir.path());
    let out = Command::new(venv_tool("checkov"))
        .env("BC_SKIP_MAPPING", "TRUE")
        .args([
            "--skip-download",
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--quiet",
            "-d",
        ])
        .arg(dir.path())
        .output()
        .expect("checkov runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let summary = &report["summary"];
    assert_eq!(
        summary["failed"], 0,
        "checkov failed checks:\n{:#}",
        report["results"]["failed_checks"]
    );
    assert_eq!(summary["parsing_errors"], 0, "{summary}");
    assert!(
        summary["passed"].as_u64().unwrap_or(0) > files.len() as u64,
        "{summary}"
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
    for action in mlinfra::delivery::policy::UNSCOPED {
        let (service, name) = action.split_once(':').unwrap();
        let out = Command::new(venv_tool("policy_sentry"))
            .args([
                "query",
                "action-table",
                "--service",
                service,
                "--name",
                name,
            ])
            .output()
            .expect("policy_sentry runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let table: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(
            table[service][0]["resource_arn_format"], "*",
            "{action} has resource-level permissions"
        );
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
