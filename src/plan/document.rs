//! `plan.json`: a plan saved by `plan --out` for `apply --plan`.

use std::path::{Path, PathBuf};

use super::model::{FORMAT_VERSION, Plan};

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
}

pub fn to_json(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(plan).expect("a plan always serialises");
    text.push('\n');
    text
}

pub fn read(path: &Path) -> Result<Plan, DocumentError> {
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
    serde_json::from_value(value).map_err(|source| DocumentError::Parse {
        path: path.to_path_buf(),
        source,
    })
}
