//! `mlinfra check` through the binary: the exit-code contract, both report
//! formats, and accepted findings as a user writes them.

use std::process::{Command, Output};

use serde_json::Value;

use super::support::fixtures;
use crate::common::{mlinfra_bin, repo_root};

fn mlinfra(args: &[&str]) -> Output {
    Command::new(mlinfra_bin())
        .args(args)
        .output()
        .expect("mlinfra runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn project(kind: &str) -> String {
    fixtures(kind).display().to_string()
}

#[test]
fn the_example_project_passes_clean_even_at_the_lowest_threshold() {
    let root = repo_root().display().to_string();
    for args in [
        vec!["--example", "check", "--all"],
        vec![
            "--project",
            root.as_str(),
            "check",
            "--all",
            "--fail-on",
            "low",
        ],
    ] {
        let out = mlinfra(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}\n{}{}",
            stdout(&out),
            stderr(&out)
        );
        assert_eq!(
            stdout(&out),
            "checked dev, prod, staging (12 stacks): no findings\n"
        );
    }
}

#[test]
fn the_hidden_corner_environments_pass_clean_at_the_lowest_threshold() {
    let out = mlinfra(&[
        "--project",
        &project("corners"),
        "check",
        "--all",
        "--fail-on",
        "low",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    // The accepted opt-out is shown, with both reasons, and does not fail the run.
    assert!(text.contains("ACCEPTED\n"), "{text}");
    assert!(
        text.contains("NET002  corner-isolation-training/FinetunePipeline"),
        "{text}"
    );
    assert!(
        text.contains("downloads the base model from the vendor's hub at start-up"),
        "{text}"
    );
    assert!(
        text.contains("accepted as NET002@FinetunePipeline: reviewed by security"),
        "{text}"
    );
    assert!(
        text.contains("0 findings open, 2 accepted, 0 at or above low (the run passes)"),
        "{text}"
    );
}

#[test]
fn findings_at_or_above_the_threshold_exit_2_and_below_it_exit_0() {
    let breaking = project("breaking");
    let high = mlinfra(&["--project", &breaking, "check", "--env", "big"]);
    assert_eq!(high.status.code(), Some(2), "{}", stdout(&high));
    let text = stdout(&high);
    assert!(
        text.contains("✗ high     LIM001  brk-big-data (whole stack)"),
        "{text}"
    );
    assert!(text.contains("fix: set env.artifacts_bucket"), "{text}");
    assert!(high.stderr.is_empty(), "{}", stderr(&high));

    // NET002 is medium: shown, but only fails the run from --fail-on medium down.
    let medium_default = mlinfra(&["--project", &breaking, "check", "--env", "opt-out"]);
    assert_eq!(
        medium_default.status.code(),
        Some(0),
        "{}",
        stdout(&medium_default)
    );
    assert!(stdout(&medium_default).contains("NET002"));
    let medium = mlinfra(&[
        "--project",
        &breaking,
        "check",
        "--env",
        "opt-out",
        "--fail-on",
        "medium",
    ]);
    assert_eq!(medium.status.code(), Some(2), "{}", stdout(&medium));
    let critical = mlinfra(&[
        "--project",
        &breaking,
        "check",
        "--env",
        "big",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(critical.status.code(), Some(0), "{}", stdout(&critical));
}

#[test]
fn the_json_report_carries_every_field_of_a_finding() {
    let out = mlinfra(&[
        "--project",
        &project("breaking"),
        "check",
        "--env",
        "stale",
        "--format",
        "json",
        "--fail-on",
        "low",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).expect("the JSON report parses");
    assert_eq!(report["format_version"], 1);
    assert_eq!(report["fail_on"], "low");
    assert_eq!(report["environments"], serde_json::json!(["stale"]));
    assert_eq!(report["summary"]["failing"], 3);
    let first = &report["findings"][0];
    for field in [
        "rule",
        "severity",
        "env",
        "stack",
        "logical_id",
        "message",
        "fix",
        "accepted",
        "fails",
    ] {
        assert!(first.get(field).is_some(), "{field} missing in {first}");
    }
    assert_eq!(first["rule"], "ACC001");
    assert_eq!(first["severity"], "low");
    assert_eq!(first["fails"], true);
}

#[test]
fn the_json_report_shows_accepted_findings_with_their_reason() {
    let out = mlinfra(&[
        "--project",
        &project("corners"),
        "check",
        "--env",
        "isolation",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(
        findings.len(),
        2,
        "the training job's and the endpoint's opt-outs"
    );
    let finding = findings
        .iter()
        .find(|f| f["logical_id"] == "FinetunePipeline")
        .unwrap();
    assert_eq!(finding["rule"], "NET002");
    assert_eq!(finding["logical_id"], "FinetunePipeline");
    assert_eq!(finding["accepted"]["key"], "NET002@FinetunePipeline");
    assert_eq!(
        finding["accepted"]["reason"],
        "reviewed by security: egress goes through the VPC proxy allow-list"
    );
    assert_eq!(finding["fails"], false);
}

#[test]
fn errors_exit_1_with_the_reason() {
    let missing = mlinfra(&["--example", "check", "--env", "qa"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("environment `qa` not found (deployable: dev, prod, staging)"),
        "{}",
        stderr(&missing)
    );
    assert!(missing.stdout.is_empty());
    let abstract_base = mlinfra(&["--example", "check", "--env", "base"]);
    assert_eq!(abstract_base.status.code(), Some(1));
    assert!(
        stderr(&abstract_base)
            .contains("environments/base.toml:3:12: abstract: environment `base` is abstract"),
        "{}",
        stderr(&abstract_base)
    );
    let bad_threshold = mlinfra(&["--example", "check", "--all", "--fail-on", "severe"]);
    assert_ne!(bad_threshold.status.code(), Some(0));
    assert!(stderr(&bad_threshold).contains("possible values: low, medium, high, critical"));
}

/// `render --all --out` of the example into a fresh directory.
fn rendered_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().display().to_string();
    let render = mlinfra(&["--example", "render", "--all", "--out", &out]);
    assert_eq!(render.status.code(), Some(0), "{}", stderr(&render));
    dir
}

/// Attaches AdministratorAccess, spelled with `Fn::Join`, to the prod execution role in the tree.
fn tamper_prod_iam(tree: &std::path::Path) -> std::path::PathBuf {
    let path = tree.join("prod/dogbreed-prod-iam.json");
    let mut template: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("rendered")).expect("JSON");
    template["Resources"]["ExecutionRole"]["Properties"]["ManagedPolicyArns"] = serde_json::json!([
        { "Fn::Join": ["", ["arn:aws:iam::aws:policy/", "AdministratorAccess"]] }
    ]);
    std::fs::write(&path, serde_json::to_string_pretty(&template).unwrap()).unwrap();
    path
}

#[test]
fn check_templates_judges_the_files_of_a_rendered_tree() {
    let tree = rendered_tree();
    let dir = tree.path().display().to_string();
    let clean = mlinfra(&["--example", "check", "--all", "--templates", &dir]);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}{}",
        stdout(&clean),
        stderr(&clean)
    );
    assert_eq!(
        stdout(&clean),
        "checked dev, prod, staging (12 stacks): no findings\n"
    );
    tamper_prod_iam(tree.path());
    let only_dev = mlinfra(&["--example", "check", "--env", "dev", "--templates", &dir]);
    assert_eq!(only_dev.status.code(), Some(0), "{}", stdout(&only_dev));
    assert_eq!(stdout(&only_dev), "checked dev (4 stacks): no findings\n");
    let tampered = mlinfra(&["--example", "check", "--all", "--templates", &dir]);
    assert_eq!(tampered.status.code(), Some(2), "{}", stderr(&tampered));
    let text = stdout(&tampered);
    assert!(
        text.contains("IAM004") && text.contains("dogbreed-prod-iam/ExecutionRole"),
        "{text}"
    );
}

#[test]
fn check_templates_refuses_what_is_not_a_rendered_tree() {
    let empty = tempfile::tempdir().unwrap();
    let out = mlinfra(&[
        "--example",
        "check",
        "--all",
        "--templates",
        &empty.path().display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no rendered environment"),
        "{}",
        stderr(&out)
    );

    let tree = rendered_tree();
    let broken = tree.path().join("dev/dogbreed-dev-data.json");
    std::fs::write(&broken, "{ not json").unwrap();
    let stray = tree.path().join("prod/other-stack.json");
    std::fs::write(&stray, "{}").unwrap();
    let out = mlinfra(&[
        "--example",
        "check",
        "--env",
        "dev",
        "--templates",
        &tree.path().display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("dogbreed-dev-data.json: not a JSON template"),
        "{}",
        stderr(&out)
    );
    let out = mlinfra(&[
        "--example",
        "check",
        "--env",
        "prod",
        "--templates",
        &tree.path().display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("other-stack.json: not a stack of environment prod"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sarif_names_the_rule_the_file_the_line_and_the_logical_id() {
    let tree = rendered_tree();
    let path = tamper_prod_iam(tree.path());
    let out = mlinfra(&[
        "--example",
        "check",
        "--all",
        "--templates",
        &tree.path().display().to_string(),
        "--format",
        "sarif",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let sarif: Value = serde_json::from_str(&stdout(&out)).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "mlinfra");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let all: Vec<&str> = mlinfra::check::RuleId::ALL
        .iter()
        .map(|r| r.code())
        .collect();
    assert_eq!(rules, all);
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{results:#?}");
    let result = &results[0];
    assert_eq!(result["ruleId"], "IAM004");
    assert_eq!(
        rules[result["ruleIndex"].as_u64().unwrap() as usize],
        "IAM004"
    );
    assert_eq!(result["level"], "error");
    assert!(
        result["message"]["text"]
            .as_str()
            .unwrap()
            .contains("AdministratorAccess")
    );
    let location = &result["locations"][0];
    let uri = location["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap();
    assert!(uri.ends_with("prod/dogbreed-prod-iam.json"), "{uri}");
    let line = location["physicalLocation"]["region"]["startLine"]
        .as_u64()
        .expect("the resource's line") as usize;
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.lines()
            .nth(line - 1)
            .unwrap()
            .contains("\"ExecutionRole\": {"),
        "line {line} of {uri}"
    );
    assert_eq!(location["logicalLocations"][0]["name"], "ExecutionRole");
    assert_eq!(
        location["logicalLocations"][0]["fullyQualifiedName"],
        "dogbreed-prod-iam/ExecutionRole"
    );
}

#[test]
fn sarif_of_a_clean_run_has_the_rules_and_no_results_and_marks_accepted_ones() {
    let clean = mlinfra(&["--example", "check", "--all", "--format", "sarif"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    let sarif: Value = serde_json::from_str(&stdout(&clean)).unwrap();
    assert_eq!(sarif["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .len(),
        mlinfra::check::RuleId::ALL.len()
    );
    let stale = mlinfra(&[
        "--project",
        &project("breaking"),
        "check",
        "--env",
        "stale",
        "--format",
        "sarif",
    ]);
    let sarif: Value = serde_json::from_str(&stdout(&stale)).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(
        results
            .iter()
            .all(|r| r["ruleId"] == "ACC001" && r["level"] == "note")
    );
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "environments/stale.toml"
    );

    let accepted = mlinfra(&[
        "--project",
        &project("corners"),
        "check",
        "--env",
        "isolation",
        "--format",
        "sarif",
    ]);
    assert_eq!(accepted.status.code(), Some(0), "{}", stderr(&accepted));
    let sarif: Value = serde_json::from_str(&stdout(&accepted)).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let finetune = results
        .iter()
        .find(|r| r["locations"][0]["logicalLocations"][0]["name"] == "FinetunePipeline")
        .expect("the accepted opt-out is listed");
    assert_eq!(finetune["ruleId"], "NET002");
    assert_eq!(finetune["suppressions"][0]["kind"], "external");
    assert!(
        finetune["suppressions"][0]["justification"]
            .as_str()
            .unwrap()
            .contains("egress goes through the VPC proxy allow-list")
    );
}
