//! What a stack's current state allows: create it, update it, recreate it,
//! or nothing until an operation or a failed rollback is dealt with.

use std::collections::BTreeMap;

use super::model::Warning;
use crate::cloud::cfn::{StackInfo, status};
use crate::config::Env;
use crate::stacks::Layer;

#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// No stack, or one in REVIEW_IN_PROGRESS (a create change set was made
    /// but never executed): a CREATE change set applies.
    Missing(Option<StackInfo>),
    /// A first create failed and rolled back: the stack must be deleted before
    /// it can be created again.
    RolledBack(StackInfo),
    Ready(StackInfo),
}

impl Found {
    pub fn info(&self) -> Option<&StackInfo> {
        match self {
            Found::Missing(info) => info.as_ref(),
            Found::RolledBack(info) | Found::Ready(info) => Some(info),
        }
    }

    /// True when this plan creates the stack (its exports do not exist yet).
    pub fn is_created_by_plan(&self) -> bool {
        !matches!(self, Found::Ready(_))
    }
}

/// A stack nothing can be planned for until someone acts.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{stack} is {status}: {explanation}")]
pub struct StackProblem {
    pub stack: String,
    pub status: String,
    pub busy: bool,
    pub explanation: String,
}

pub fn assess(stack: &str, info: Option<StackInfo>) -> Result<Found, StackProblem> {
    let Some(info) = info else {
        return Ok(Found::Missing(None));
    };
    let problem = |busy: bool, explanation: String| StackProblem {
        stack: stack.to_string(),
        status: info.status.clone(),
        busy,
        explanation,
    };
    match info.status.as_str() {
        "REVIEW_IN_PROGRESS" => Ok(Found::Missing(Some(info))),
        "ROLLBACK_COMPLETE" => Ok(Found::RolledBack(info)),
        s if status::in_progress(s) => Err(problem(
            true,
            "an operation is in progress. `mlinfra apply` waits for it (showing its events) and plans \
             afterwards; or run `plan` again once it has finished"
                .into(),
        )),
        "UPDATE_ROLLBACK_FAILED" => Err(problem(
            false,
            format!(
                "an update failed and so did its rollback, so CloudFormation refuses every change until the \
                 rollback is finished. Find the resource that could not roll back in the stack's events{}, fix \
                 its cause (for example a resource changed or deleted outside CloudFormation), then run \
                 `aws cloudformation continue-update-rollback --stack-name {stack}` (add \
                 `--resources-to-skip ID` for a resource that cannot be rolled back) and plan again",
                reason_suffix(&info)
            ),
        )),
        "ROLLBACK_FAILED" => Err(problem(
            false,
            format!(
                "a first create failed and its rollback failed too{}; the stack must be deleted \
                 (`aws cloudformation delete-stack --stack-name {stack}`, retaining what cannot be deleted) \
                 before it can be created again",
                reason_suffix(&info)
            ),
        )),
        "DELETE_FAILED" => Err(problem(
            false,
            format!(
                "a delete failed{}; finish the delete (`aws cloudformation delete-stack --stack-name {stack}`) \
                 before planning it again",
                reason_suffix(&info)
            ),
        )),
        _ => Ok(Found::Ready(info)),
    }
}

fn reason_suffix(info: &StackInfo) -> String {
    info.status_reason
        .as_deref()
        .map(|r| format!(" (CloudFormation: {r})"))
        .unwrap_or_default()
}

/// The tags every stack carries: the environment's tags and mlinfra's own.
/// CloudFormation copies stack tags onto the resources that take tags.
pub fn stack_tags(env: &Env, layer: Layer) -> BTreeMap<String, String> {
    let mut tags = env.tags.clone();
    tags.insert("mlinfra:project".into(), env.project.clone());
    tags.insert("mlinfra:env".into(), env.name.clone());
    tags.insert("mlinfra:stack".into(), layer.as_str().into());
    tags
}

/// Stacks of this environment deployed under another project name (their
/// `mlinfra:env` tag is this environment's, their `mlinfra:project` tag is
/// not): after a project rename, new stacks are created beside them and
/// they stay deployed, buckets and key included.
pub fn orphaned_by_rename(env: &Env, stacks: &[StackInfo]) -> Vec<Warning> {
    let mut by_project: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for stack in stacks {
        let tag = |key: &str| stack.tags.get(key).map(String::as_str);
        if tag("mlinfra:env") == Some(env.name.as_str())
            && let Some(project) = tag("mlinfra:project")
            && project != env.project
            && stack.status != "DELETE_COMPLETE"
        {
            by_project.entry(project).or_default().push(&stack.name);
        }
    }
    by_project
        .into_iter()
        .map(|(project, mut names)| {
            names.sort_unstable();
            (project, names)
        })
        .map(|(project, names)| Warning {
            stack: names.join(", "),
            logical_id: String::new(),
            message: format!(
                "environment {} is deployed under project name `{project}` ({}); with project `{}` this plan \
                 creates new stacks beside them, and the old ones stay deployed (orphaned), with their buckets \
                 and key",
                env.name,
                names.join(", "),
                env.project
            ),
            advice: format!(
                "if the project was renamed by mistake, set project = \"{project}\" again; if it is intended, \
                 move the data, then delete the old stacks (their buckets and key are retained)"
            ),
        })
        .collect()
}

/// The explanation shown for a stack in ROLLBACK_COMPLETE.
pub fn rolled_back_explanation(stack: &str) -> String {
    format!(
        "{stack} is in ROLLBACK_COMPLETE: its first create failed and was rolled back. CloudFormation cannot \
         update such a stack; it must be deleted and created again. It holds no resources (except any kept by \
         DeletionPolicy Retain, which a new create may collide with). `mlinfra apply --recreate-rolled-back` \
         deletes and recreates it"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(status: &str) -> StackInfo {
        StackInfo {
            stack_id: "id".into(),
            name: "s".into(),
            status: status.into(),
            status_reason: Some("because".into()),
            last_changed: None,
            tags: BTreeMap::new(),
            parameters: BTreeMap::new(),
            termination_protection: false,
            outputs: Vec::new(),
        }
    }

    #[test]
    fn stacks_of_this_environment_under_another_project_are_orphans() {
        let env = crate::config::load_env(&crate::project::Project::Example, "dev").unwrap();
        let tagged = |name: &str, project: &str, environment: &str| {
            let mut stack = info("UPDATE_COMPLETE");
            stack.name = name.into();
            stack.tags.insert("mlinfra:project".into(), project.into());
            stack.tags.insert("mlinfra:env".into(), environment.into());
            stack
        };
        let stacks = [
            tagged("old-dev-data", "old", "dev"),
            tagged("old-dev-iam", "old", "dev"),
            tagged("old-prod-data", "old", "prod"),
            tagged("dogbreed-dev-data", "dogbreed", "dev"),
        ];
        let warnings = orphaned_by_rename(&env, &stacks);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].stack, "old-dev-data, old-dev-iam");
        assert!(
            warnings[0]
                .message
                .contains("deployed under project name `old`"),
            "{}",
            warnings[0].message
        );
        assert!(warnings[0].message.contains("stay deployed (orphaned)"));
    }

    #[test]
    fn states_map_to_what_a_plan_may_do() {
        assert_eq!(assess("s", None), Ok(Found::Missing(None)));
        assert!(matches!(
            assess("s", Some(info("REVIEW_IN_PROGRESS"))),
            Ok(Found::Missing(Some(_)))
        ));
        assert!(matches!(
            assess("s", Some(info("ROLLBACK_COMPLETE"))),
            Ok(Found::RolledBack(_))
        ));
        assert!(matches!(
            assess("s", Some(info("UPDATE_ROLLBACK_COMPLETE"))),
            Ok(Found::Ready(_))
        ));
        let busy = assess("s", Some(info("UPDATE_IN_PROGRESS"))).unwrap_err();
        assert!(busy.busy);
        let stuck = assess("s", Some(info("UPDATE_ROLLBACK_FAILED"))).unwrap_err();
        assert!(!stuck.busy);
        assert!(stuck.explanation.contains("continue-update-rollback"));
        assert!(stuck.explanation.contains("because"));
    }
}
