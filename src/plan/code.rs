//! Training code in a plan: a job whose package changes shows as its own line
//! (`training code dogbreed: 1a2b3c4d5e6f → 6f5e4d3c2b1a`) rather than only as
//! a changed pipeline definition. The deployed package is read from the
//! deployed definition, which names it by hash (`code/{job}/{sha256}/…`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Env;
use crate::config::training::CodeSource;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeChange {
    pub stack: String,
    pub job: String,
    pub logical_id: String,
    /// SHA-256 of the deployed package; `None` when the deployed pipeline
    /// names no package of this job (its code was baked into the image, or
    /// came from `s3://`).
    pub from: Option<String>,
    pub to: String,
}

/// The first 12 hex digits, as the plan shows a package.
pub fn short(sha256: &str) -> &str {
    &sha256[..sha256.len().min(12)]
}

impl CodeChange {
    /// `training code dogbreed: 1a2b3c4d5e6f → 6f5e4d3c2b1a`
    pub fn line(&self) -> String {
        format!(
            "training code {}: {} → {}",
            self.job,
            self.from.as_deref().map_or("none", short),
            short(&self.to)
        )
    }
}

/// The package hash a deployed definition names for `job`.
fn deployed_package(definition: &str, job: &str) -> Option<String> {
    let marker = format!("/code/{job}/");
    definition.match_indices(&marker).find_map(|(at, _)| {
        let rest = &definition[at + marker.len()..];
        let hash: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
        (hash.len() == 64 && rest[64..].starts_with('/')).then_some(hash)
    })
}

/// The jobs of `env` whose package differs from the one the deployed
/// training template `old` names. Pipelines that are not deployed yet are
/// new as a whole and have no line of their own.
pub fn changes(env: &Env, stack: &str, old: &Value) -> Vec<CodeChange> {
    let mut changes = Vec::new();
    for job in &env.training {
        let Some(CodeSource::Package { sha256, .. }) = job.code.as_ref().map(|c| &c.source) else {
            continue;
        };
        let Some(body) = old
            .get("Resources")
            .and_then(|r| r.get(&job.logical_id))
            .and_then(|r| r.pointer("/Properties/PipelineDefinition/PipelineDefinitionBody"))
        else {
            continue;
        };
        let text = match body {
            Value::String(text) => text.as_str(),
            other => match other.pointer("/Fn::Sub/0").or_else(|| other.get("Fn::Sub")) {
                Some(Value::String(text)) => text.as_str(),
                _ => continue,
            },
        };
        let from = deployed_package(text, &job.name);
        if from.as_ref() != Some(sha256) {
            changes.push(CodeChange {
                stack: stack.to_string(),
                job: job.name.clone(),
                logical_id: job.logical_id.clone(),
                from,
                to: sha256.clone(),
            });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deployed_package_is_read_from_its_key() {
        let hash = "ab".repeat(32);
        let definition = format!(
            "{{\"S3Uri\":\"s3://b/code/dogbreed/{hash}/sourcedir.tar.gz\",\"x\":\"s3://b/code/other/{}/sourcedir.tar.gz\"}}",
            "cd".repeat(32)
        );
        assert_eq!(deployed_package(&definition, "dogbreed"), Some(hash));
        assert_eq!(deployed_package(&definition, "dog"), None);
        assert_eq!(
            deployed_package("s3://b/code/dogbreed/abc/x", "dogbreed"),
            None
        );
        let change = CodeChange {
            stack: "s".into(),
            job: "dogbreed".into(),
            logical_id: "DogbreedPipeline".into(),
            from: Some("1".repeat(64)),
            to: "2".repeat(64),
        };
        assert_eq!(
            change.line(),
            "training code dogbreed: 111111111111 → 222222222222"
        );
    }
}
