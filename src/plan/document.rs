//! `plan.json`: a plan saved by `plan --out` for `apply --plan`. Besides the
//! plan it carries what was reviewed (the environment's settings and its
//! templates, see [`Reviewed`]), so apply runs without the project checkout.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::model::{FORMAT_VERSION, Plan};
use super::reviewed::Reviewed;
use super::template_hash;

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("{path}: cannot read the plan: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a plan written by `mlinfra plan --out`: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "{path}: plan format {found}, but this mlinfra reads format {FORMAT_VERSION}; plan again"
    )]
    Version { path: PathBuf, found: u32 },
    #[error(
        "{path}: the plan file was changed after it was written ({what}); plan again and review the new plan"
    )]
    Tampered { path: PathBuf, what: String },
}

impl DocumentError {
    /// A file that is not what was reviewed is refused by a guard (exit 3).
    pub fn is_refusal(&self) -> bool {
        matches!(self, DocumentError::Tampered { .. })
    }
}

/// The plan file: the plan, and what was reviewed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFile {
    #[serde(flatten)]
    pub plan: Plan,
    pub reviewed: Reviewed,
    /// The one stack planned (`plan --stack`); `apply --plan` applies it alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<crate::stacks::Layer>,
}

/// The plan alone, as `plan --format json` prints it.
pub fn to_json(plan: &Plan) -> String {
    pretty(plan)
}

/// The whole plan file, as `plan --out` writes it.
pub fn file_json(file: &PlanFile) -> String {
    pretty(file)
}

fn pretty(value: &impl Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("a plan always serialises");
    text.push('\n');
    text
}

/// The plan of a plan file (see [`read_file`]).
pub fn read(path: &Path) -> Result<Plan, DocumentError> {
    read_file(path).map(|file| file.plan)
}

/// Reads a plan file and checks that it is whole: its digest matches, and
/// each stack's template hash is the hash of the template it carries.
pub fn read_file(path: &Path) -> Result<PlanFile, DocumentError> {
    let text = std::fs::read_to_string(path).map_err(|source| DocumentError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| DocumentError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
    let found = value
        .get("format_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0) as u32;
    if found != FORMAT_VERSION {
        return Err(DocumentError::Version {
            path: path.to_path_buf(),
            found,
        });
    }
    let file: PlanFile = serde_json::from_value(value).map_err(|source| DocumentError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    let tampered = |what: String| DocumentError::Tampered {
        path: path.to_path_buf(),
        what,
    };
    if !file.reviewed.is_sealed() {
        return Err(tampered(
            "its digest does not match the settings and templates it holds".into(),
        ));
    }
    let reviewed = &file.reviewed;
    let consistent = file.plan.env == reviewed.env.name
        && file.plan.account_id == reviewed.env.account_id
        && file.plan.region == reviewed.env.region;
    if !consistent {
        return Err(tampered(
            "the plan names another environment than its settings".into(),
        ));
    }
    for stack in &file.plan.stacks {
        let template = reviewed.stacks.iter().find(|s| s.spec.name == stack.stack);
        if template.map(|t| template_hash(&t.template)).as_deref() != Some(&stack.template_hash) {
            return Err(tampered(format!(
                "{}: the template it carries is not the planned one",
                stack.stack
            )));
        }
    }
    for stack_set in file.plan.fleet.iter().flat_map(|f| &f.stack_sets) {
        if stack_set.retired {
            continue;
        }
        let template = reviewed
            .fleet
            .iter()
            .find(|s| s.stack_set == stack_set.stack_set);
        if template.map(|t| template_hash(&t.template)) != stack_set.template_sha256 {
            return Err(tampered(format!(
                "StackSet {}: the template it carries is not the planned one",
                stack_set.stack_set
            )));
        }
    }
    Ok(file)
}
