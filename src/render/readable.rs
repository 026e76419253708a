//! Files written beside a template for reading only: each SageMaker
//! pipeline definition, which the template holds as one escaped line,
//! pretty-printed as `{stack}.{LogicalId}.pipeline.json`. `render --check`
//! compares them with the templates.

use std::path::{Path, PathBuf};

use crate::template::Resource;
use crate::template::canonical::Document;
use crate::template::ids::{PIPELINE_TYPE, pipeline_definition};

/// How the name of a readable companion ends: readers of a rendered tree
/// (`check --templates`) leave these files alone.
pub const SUFFIX: &str = ".pipeline.json";

/// The readable companions of a canonical template: (file path, text). Only
/// a template that names the pipeline type is parsed, and only its pipelines
/// are read out of it; a definition that is not inline JSON has none.
pub fn companions(out: &Path, env: &str, stack: &str, text: &str) -> Vec<(PathBuf, String)> {
    if !text.contains(PIPELINE_TYPE) {
        return Vec::new();
    }
    let Ok(template) = Document::parse(text) else {
        return Vec::new();
    };
    template
        .resources_of_type(PIPELINE_TYPE)
        .into_iter()
        .filter_map(|(logical_id, body)| {
            let pipeline = Resource {
                logical_id: &logical_id,
                kind: PIPELINE_TYPE,
                body: &body,
            };
            let definition = pipeline_definition(&pipeline).ok()?;
            let mut pretty = serde_json::to_string_pretty(&definition.document).ok()?;
            pretty.push('\n');
            let name = format!("{stack}.{logical_id}{SUFFIX}");
            Some((out.join(env).join(name), pretty))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_inline_definition_is_pretty_printed_beside_the_template() {
        let document =
            json!({"Steps": [{"Name": "Train", "Arguments": {"KmsKeyId": "${KeyArn}"}}]});
        let template = json!({"Resources": {
            "Train": {"Type": "AWS::SageMaker::Pipeline", "Properties": {"PipelineDefinition": {
                "PipelineDefinitionBody": {"Fn::Sub": [document.to_string(), {"KeyArn": "k"}]}}}},
            "Bucket": {"Type": "AWS::S3::Bucket"}}});
        let files = companions(
            Path::new("out"),
            "dev",
            "p-dev-training",
            &template.to_string(),
        );
        assert_eq!(files.len(), 1);
        assert_eq!(
            files[0].0,
            Path::new("out/dev/p-dev-training.Train.pipeline.json")
        );
        assert_eq!(
            files[0].1,
            format!("{}\n", serde_json::to_string_pretty(&document).unwrap())
        );
        assert!(companions(Path::new("out"), "dev", "s", "{}").is_empty());
    }
}
