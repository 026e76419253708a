//! Files written beside a template for reading only: each SageMaker
//! pipeline definition, which the template holds as one escaped line,
//! pretty-printed as `{stack}.{LogicalId}.pipeline.json`. `render --check`
//! compares them with the templates.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::template::{Template, ids};

/// How the name of a readable companion ends: readers of a rendered tree
/// (`check --templates`) leave these files alone.
pub const SUFFIX: &str = ".pipeline.json";

/// The readable companions of a canonical template: (file path, text). A
/// template that is not JSON, or a definition that is not inline, has none.
pub fn companions(out: &Path, env: &str, stack: &str, text: &str) -> Vec<(PathBuf, String)> {
    if !text.contains("AWS::SageMaker::Pipeline") {
        return Vec::new();
    }
    let Ok(template) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    Template::new(&template)
        .of_type("AWS::SageMaker::Pipeline")
        .filter_map(|pipeline| {
            let definition = ids::pipeline_definition(&pipeline).ok()?;
            let mut pretty = serde_json::to_string_pretty(&definition.document).ok()?;
            pretty.push('\n');
            let name = format!("{stack}.{}{SUFFIX}", pipeline.logical_id);
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
