//! Identifiers read from or written into templates: the Application Auto
//! Scaling resource id of an endpoint variant, names at the end of ARNs, and
//! the SageMaker pipeline definition carried inside an `Fn::Sub`.

use serde_json::{Map, Value};

use super::resource::Resource;

/// The type of the resource whose definition [`pipeline_definition`] reads.
pub const PIPELINE_TYPE: &str = "AWS::SageMaker::Pipeline";

/// The Application Auto Scaling resource id of a SageMaker endpoint variant:
/// `endpoint/{EndpointName}/variant/{VariantName}`. The one place it is spelled.
pub fn variant_resource_id(endpoint_name: &str, variant: &str) -> String {
    format!("endpoint/{endpoint_name}/variant/{variant}")
}

/// `endpoint/{EndpointName}/variant/{VariantName}` → (endpoint name, variant).
pub fn parse_variant_resource_id(resource_id: &str) -> Option<(&str, &str)> {
    let rest = resource_id.strip_prefix("endpoint/")?;
    rest.split_once("/variant/")
}

/// The name at the end of an ARN (`…:role/path/Name` → `Name`, `…:key:alias` → `alias`).
pub fn name_from_arn(arn: &str) -> &str {
    let tail = arn.rsplit('/').next().unwrap_or(arn);
    if tail.len() < arn.len() {
        tail
    } else {
        arn.rsplit(':').next().unwrap_or(arn)
    }
}

/// The definition of an `AWS::SageMaker::Pipeline`: the JSON document, and the
/// `Fn::Sub` variables its `${…}` placeholders stand for.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineDefinition<'a> {
    pub document: Value,
    pub variables: Option<&'a Map<String, Value>>,
}

impl PipelineDefinition<'_> {
    /// The steps of type `Training`, with their names (`(unnamed)` when absent).
    pub fn training_steps(&self) -> Vec<(&str, &Value)> {
        super::value::one_or_many(self.document.get("Steps"))
            .into_iter()
            .filter(|s| s.get("Type").and_then(Value::as_str) == Some("Training"))
            .map(|s| {
                (
                    s.get("Name").and_then(Value::as_str).unwrap_or("(unnamed)"),
                    s.get("Arguments").unwrap_or(&Value::Null),
                )
            })
            .collect()
    }

    /// Every training-job definition with the most jobs it runs: a Training
    /// step's arguments (one job), and a Tuning step's `TrainingJobDefinition`
    /// (up to `MaxNumberOfTrainingJobs`).
    pub fn job_definitions(&self) -> Vec<(&str, &Value, u32)> {
        super::value::one_or_many(self.document.get("Steps"))
            .into_iter()
            .filter_map(|s| {
                let name = s.get("Name").and_then(Value::as_str).unwrap_or("(unnamed)");
                let args = s.get("Arguments")?;
                match s.get("Type").and_then(Value::as_str)? {
                    "Training" => Some((name, args, 1)),
                    "Tuning" => {
                        let runs = args["HyperParameterTuningJobConfig"]["ResourceLimits"]
                            ["MaxNumberOfTrainingJobs"]
                            .as_u64()
                            .and_then(|n| u32::try_from(n).ok())?;
                        Some((name, args.get("TrainingJobDefinition")?, runs))
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// The value of a `${Var}` placeholder, through the `Fn::Sub` variables.
    pub fn variable(&self, placeholder: &str) -> Option<&Value> {
        let name = placeholder.strip_prefix("${")?.strip_suffix('}')?;
        self.variables?.get(name)
    }
}

/// Reads the inline definition of a pipeline resource; the error says why it cannot be read.
pub fn pipeline_definition<'a>(pipeline: &Resource<'a>) -> Result<PipelineDefinition<'a>, String> {
    let body = pipeline
        .prop("PipelineDefinition")
        .and_then(|d| d.get("PipelineDefinitionBody"))
        .ok_or("the pipeline definition is not inline (PipelineDefinitionBody), so it cannot be checked")?;
    let (text, variables) = match body {
        Value::String(text) => (text.as_str(), None),
        other => match other.get("Fn::Sub") {
            Some(Value::String(text)) => (text.as_str(), None),
            Some(Value::Array(parts)) => (
                parts
                    .first()
                    .and_then(Value::as_str)
                    .ok_or("Fn::Sub has no template string")?,
                parts.get(1).and_then(Value::as_object),
            ),
            _ => return Err("PipelineDefinitionBody is neither a string nor an Fn::Sub".into()),
        },
    };
    let document = serde_json::from_str(text)
        .map_err(|e| format!("the pipeline definition is not JSON: {e}"))?;
    Ok(PipelineDefinition {
        document,
        variables,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn variant_ids_round_trip() {
        let id = variant_resource_id("p-e-ep", "AllTraffic");
        assert_eq!(id, "endpoint/p-e-ep/variant/AllTraffic");
        assert_eq!(
            parse_variant_resource_id(&id),
            Some(("p-e-ep", "AllTraffic"))
        );
        assert_eq!(parse_variant_resource_id("table/x"), None);
    }

    #[test]
    fn names_come_from_the_end_of_arns() {
        assert_eq!(name_from_arn("arn:aws:iam::aws:policy/service-role/X"), "X");
        assert_eq!(name_from_arn("arn:aws:sagemaker:r:1:pipeline/p"), "p");
        assert_eq!(name_from_arn("arn:aws:sns:r:1:topic"), "topic");
        assert_eq!(name_from_arn("plain"), "plain");
    }

    #[test]
    fn the_definition_comes_out_of_its_sub() {
        let template = json!({"Resources": {"P": {"Type": "AWS::SageMaker::Pipeline", "Properties": {
            "PipelineDefinition": {"PipelineDefinitionBody": {"Fn::Sub": [
                r#"{"Steps": [{"Name": "Train", "Type": "Training", "Arguments": {"K": "${KeyArn}"}}]}"#,
                {"KeyArn": "arn:key"}]}}}}}});
        let pipeline = super::super::Template::new(&template)
            .resource("P")
            .unwrap();
        let definition = pipeline_definition(&pipeline).unwrap();
        let steps = definition.training_steps();
        assert_eq!(steps[0].0, "Train");
        assert_eq!(
            definition.variable(steps[0].1["K"].as_str().unwrap()),
            Some(&json!("arn:key"))
        );
    }
}
