//! `check --templates DIR`: checks an already rendered tree, the layout
//! `render --all --out DIR` writes (`DIR/<env>/<stack>.json`), as a reviewer
//! or a pipeline stage holds it. Each environment's configuration still comes
//! from the project (accepted findings, zones, opt-outs), so the findings are
//! the same as for rendering afresh; what is judged is the files' content.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::{self, Env};
use crate::error::{Error, Result};
use crate::project::Project;
use crate::render::RenderedStack;
use crate::stacks;
use crate::template::Canonical;

/// Where a checked template came from, for reports that point into files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateFile {
    /// The path as given on the command line joined with `<env>/<stack>.json`.
    pub path: PathBuf,
    /// The line each resource starts on (1-based), by logical id.
    pub lines: BTreeMap<String, usize>,
}

/// One environment of the tree: its configuration and its rendered stacks.
pub struct RenderedEnv {
    pub env: Env,
    pub stacks: Vec<RenderedStack>,
    /// By stack name.
    pub files: BTreeMap<String, TemplateFile>,
}

/// Reads `dir/<env>/<stack>.json` for every environment directory under
/// `dir` (or only `only`). A file that is not JSON, or not a stack of its
/// environment, is an error naming the file.
pub fn read_tree(project: &Project, dir: &Path, only: Option<&str>) -> Result<Vec<RenderedEnv>> {
    let mut env_dirs = sorted_entries(dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .collect::<Vec<_>>();
    if let Some(name) = only {
        env_dirs.retain(|p| p.file_name().is_some_and(|n| n == name));
    }
    if env_dirs.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no rendered environment{} here (expected {}/<env>/<stack>.json, as `render --all --out` writes)",
            dir.display(),
            only.map(|n| format!(" {n:?}")).unwrap_or_default(),
            dir.display()
        )));
    }
    let mut envs = Vec::new();
    let mut config_errors = Vec::new();
    for env_dir in env_dirs {
        let name = env_dir
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::Usage(format!("{}: not a UTF-8 name", env_dir.display())))?;
        match config::load_env(project, name) {
            Ok(env) => envs.push(read_env(env, &env_dir)?),
            Err(errors) => config_errors.extend(errors.0),
        }
    }
    if !config_errors.is_empty() {
        return Err(Error::Config(config::ConfigErrors(config_errors)));
    }
    Ok(envs)
}

fn read_env(env: Env, env_dir: &Path) -> Result<RenderedEnv> {
    let specs = stacks::stacks(&env);
    let mut rendered = Vec::new();
    let mut files = BTreeMap::new();
    for path in sorted_entries(env_dir)? {
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let Some(spec) = specs.iter().find(|s| s.name == stem) else {
            let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            return Err(Error::Usage(format!(
                "{}: not a stack of environment {} (its stacks are {})",
                path.display(),
                env.name,
                names.join(", ")
            )));
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::Usage(format!("{}: cannot read: {e}", path.display())))?;
        let template = Canonical::parse(&text)
            .map_err(|e| Error::Usage(format!("{}: not a JSON template: {e}", path.display())))?;
        files.insert(
            spec.name.clone(),
            TemplateFile {
                path: path.clone(),
                lines: resource_lines(&text, &template.value),
            },
        );
        rendered.push(RenderedStack {
            spec: spec.clone(),
            template,
        });
    }
    Ok(RenderedEnv {
        env,
        stacks: rendered,
        files,
    })
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::Usage(format!("{}: cannot read the directory: {e}", dir.display())))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    Ok(paths)
}

/// The line on which each resource's entry starts: the first line that opens
/// `"LogicalId": {` (in canonical text, the only one at that indentation).
fn resource_lines(text: &str, template: &serde_json::Value) -> BTreeMap<String, usize> {
    let ids: Vec<&String> = template
        .get("Resources")
        .and_then(|r| r.as_object())
        .map(|r| r.keys().collect())
        .unwrap_or_default();
    let mut lines = BTreeMap::new();
    let mut in_resources = false;
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("\"Resources\":") {
            in_resources = true;
            continue;
        }
        if !in_resources {
            continue;
        }
        for id in &ids {
            if !lines.contains_key(*id) && trimmed.starts_with(&format!("\"{id}\":")) {
                lines.insert((*id).clone(), number + 1);
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resources_are_found_on_their_lines() {
        let template = Canonical::new(
            json!({"Outputs": {"A": {"Value": 1}}, "Resources": {"A": {"Type": "T"}, "B": {"Type": "T"}}}),
        );
        let lines = resource_lines(&template.text, &template.value);
        let text: Vec<&str> = template.text.lines().collect();
        assert!(text[lines["A"] - 1].contains("\"A\": {"), "{lines:?}");
        assert!(text[lines["B"] - 1].contains("\"B\": {"), "{lines:?}");
        assert!(lines["A"] > 4, "the output A is not the resource A");
    }
}
