//! The two template linters the suite holds every rendered shape to.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::venv_tool;

/// Runs cfn-lint over `files`; any finding fails the test.
pub fn assert_cfn_lint_clean<S: AsRef<OsStr>>(files: &[S]) {
    let out = Command::new(venv_tool("cfn-lint"))
        .args(files)
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

/// Runs checkov over every template under `dir` and returns its JSON report
/// and exit code, after checking that no check failed.
pub fn checkov_without_failures(dir: &Path) -> (Value, Option<i32>) {
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
        .arg(dir)
        .output()
        .expect("checkov runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "checkov JSON ({e}):\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(
        report["summary"]["failed"], 0,
        "checkov failed checks:\n{:#}",
        report["results"]["failed_checks"]
    );
    (report, out.status.code())
}

/// policy_sentry's `resource_arn_format` of an IAM action: `*` when the
/// action has no resource-level permissions.
pub fn resource_arn_format(action: &str) -> String {
    let (service, name) = action.split_once(':').expect("service:Action");
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
    let table: Value = serde_json::from_slice(&out.stdout).expect("policy_sentry prints JSON");
    table[service][0]["resource_arn_format"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
