//! Reads what costs money out of rendered (or deployed) templates: endpoint
//! variants with their autoscaling bounds, and training jobs from pipeline
//! definitions. Working from templates lets plan price what is deployed now
//! against what would be, with one piece of code.

use serde_json::Value;

use crate::template::Template;
use crate::template::ids::{PIPELINE_TYPE, pipeline_definition, variant_resource_id};
use crate::template::refs::reference;
use crate::template::value::one_or_many;

/// An endpoint variant as a template declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantUnits {
    pub endpoint: String,
    pub instance_type: String,
    pub min: u32,
    pub max: u32,
}

/// A training step as a pipeline definition declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingUnits {
    pub pipeline: String,
    pub instance_type: String,
    pub instance_count: u32,
    pub max_runtime_seconds: u64,
    pub max_wait_seconds: Option<u64>,
    /// Training jobs per run: 1, or a tuning step's maximum.
    pub jobs: u32,
}

fn as_u32(value: &Value) -> Option<u32> {
    value.as_u64().and_then(|n| u32::try_from(n).ok())
}

/// Each production variant of a serving template, with its endpoint's name.
pub fn production_variants(serving: &Value) -> Vec<(String, &Value)> {
    let template = Template::new(serving);
    let mut found = Vec::new();
    for endpoint in template.of_type("AWS::SageMaker::Endpoint") {
        let name = endpoint
            .prop("EndpointName")
            .and_then(Value::as_str)
            .unwrap_or("endpoint")
            .to_string();
        let Some(config) = endpoint
            .prop("EndpointConfigName")
            .and_then(reference)
            .and_then(|id| template.resource(id))
        else {
            continue;
        };
        for variant in one_or_many(config.prop("ProductionVariants")) {
            found.push((name.clone(), variant));
        }
    }
    found
}

/// Endpoint variants of a serving template, with min/max from its scalable targets.
pub fn variants(serving: &Value) -> Vec<VariantUnits> {
    let template = Template::new(serving);
    let mut found = Vec::new();
    for (name, variant) in production_variants(serving) {
        let (Some(instance_type), Some(count)) = (
            variant["InstanceType"].as_str(),
            as_u32(&variant["InitialInstanceCount"]),
        ) else {
            continue;
        };
        let variant_name = variant["VariantName"].as_str().unwrap_or_default();
        let resource_id = variant_resource_id(&name, variant_name);
        let bounds = template
            .of_type("AWS::ApplicationAutoScaling::ScalableTarget")
            .find(|t| t.prop("ResourceId").and_then(Value::as_str) == Some(resource_id.as_str()))
            .and_then(|t| {
                Some((
                    as_u32(t.prop("MinCapacity")?)?,
                    as_u32(t.prop("MaxCapacity")?)?,
                ))
            });
        let (min, max) = bounds.unwrap_or((count, count));
        found.push(VariantUnits {
            endpoint: name,
            instance_type: instance_type.to_string(),
            min,
            max,
        });
    }
    found
}

/// Training steps of a training template's pipelines.
pub fn training(template: &Value) -> Vec<TrainingUnits> {
    let mut found = Vec::new();
    for pipeline in Template::new(template).of_type(PIPELINE_TYPE) {
        let Ok(definition) = pipeline_definition(&pipeline) else {
            continue;
        };
        let name = pipeline
            .prop("PipelineName")
            .and_then(Value::as_str)
            .unwrap_or("pipeline")
            .to_string();
        for (_, args, jobs) in definition.job_definitions() {
            let (Some(instance_type), Some(runtime)) = (
                args["ResourceConfig"]["InstanceType"].as_str(),
                args["StoppingCondition"]["MaxRuntimeInSeconds"].as_u64(),
            ) else {
                continue;
            };
            let spot = args["EnableManagedSpotTraining"] == true;
            found.push(TrainingUnits {
                pipeline: name.clone(),
                instance_type: instance_type.to_string(),
                instance_count: as_u32(&args["ResourceConfig"]["InstanceCount"]).unwrap_or(1),
                max_runtime_seconds: runtime,
                max_wait_seconds: spot
                    .then(|| args["StoppingCondition"]["MaxWaitTimeInSeconds"].as_u64())
                    .flatten(),
                jobs,
            });
        }
    }
    found
}
