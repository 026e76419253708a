//! `mlinfra init`: a new project whose environments validate and render at once.

use std::path::{Path, PathBuf};

use crate::config::rules;
use crate::error::{Error, Result};

const FILES: [(&str, &str); 3] = [
    ("base.toml", include_str!("base.toml")),
    ("dev.toml", include_str!("dev.toml")),
    ("prod.toml", include_str!("prod.toml")),
];

/// Writes `environments/{base,dev,prod}.toml` under `dir`; refuses to overwrite.
pub fn init(dir: &Path, project: &str) -> Result<Vec<PathBuf>> {
    if let Some(problem) = rules::identifier_problem(project) {
        return Err(Error::Usage(format!("project name {project:?} {problem}")));
    }
    let envs = dir.join("environments");
    let targets: Vec<PathBuf> = FILES.iter().map(|(name, _)| envs.join(name)).collect();
    if let Some(existing) = targets.iter().find(|p| p.exists()) {
        return Err(Error::Usage(format!(
            "{} already exists; not overwriting",
            existing.display()
        )));
    }
    std::fs::create_dir_all(&envs).map_err(|source| Error::Write {
        path: envs.clone(),
        source,
    })?;
    for ((_, text), path) in FILES.iter().zip(&targets) {
        std::fs::write(path, text.replace("{{project}}", project)).map_err(|source| {
            Error::Write {
                path: path.clone(),
                source,
            }
        })?;
    }
    Ok(targets)
}
