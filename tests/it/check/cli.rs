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
        stderr(&missing).contains("environment `qa` not found (known: base, dev, prod, staging)"),
        "{}",
        stderr(&missing)
    );
    assert!(missing.stdout.is_empty());
    let abstract_base = mlinfra(&["--example", "check", "--env", "base"]);
    assert_eq!(abstract_base.status.code(), Some(1));
    assert!(
        stderr(&abstract_base)
            .contains("environments/base.toml:3:1: abstract: environment `base` is abstract"),
        "{}",
        stderr(&abstract_base)
    );
    let bad_threshold = mlinfra(&["--example", "check", "--all", "--fail-on", "severe"]);
    assert_ne!(bad_threshold.status.code(), Some(0));
    assert!(stderr(&bad_threshold).contains("possible values: low, medium, high, critical"));
}
