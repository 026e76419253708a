//! The two template linters the suite holds every rendered shape to.

use std::collections::BTreeMap;
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

/// policy_sentry's `resource_arn_format` of each IAM action (`*` when the
/// action has no resource-level permissions; empty when policy_sentry does
/// not know the action). One process for all of them: each start of
/// policy_sentry costs half a second of imports. The query is the one
/// `policy_sentry query action-table --service S --name A` prints.
pub fn resource_arn_formats(actions: &[&str]) -> BTreeMap<String, String> {
    const QUERY: &str = "\
import json, sys
from policy_sentry.querying.actions import get_action_data
formats = {}
for action in sys.argv[1:]:
    service, name = action.split(':', 1)
    rows = (get_action_data(service, name) or {}).get(service) or [{}]
    formats[action] = rows[0].get('resource_arn_format') or ''
print(json.dumps(formats))
";
    // Fails loudly when the venv lacks policy_sentry, as its command would.
    venv_tool("policy_sentry");
    let out = Command::new(venv_tool("python"))
        .args(["-c", QUERY])
        .args(actions)
        .output()
        .expect("policy_sentry's query runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let formats: BTreeMap<String, String> =
        serde_json::from_slice(&out.stdout).expect("the query prints a JSON object");
    assert_eq!(
        formats.len(),
        actions.len(),
        "an answer per action: {formats:?}"
    );
    formats
}
