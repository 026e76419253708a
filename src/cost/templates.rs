//! Reads what costs money out of rendered (or deployed) templates: endpoint
//! variants with their autoscaling bounds, and training jobs from pipeline
//! definitions. Working from templates lets plan price what is deployed now
//! against what would be, with one piece of code.

use serde_json::Value;

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
}

fn resources(template: &Value) -> impl Iterator<Item = (&String, &Value)> {
    template["Resources"].as_object().into_iter().flatten()
}

fn as_u32(value: &Value) -> Option<u32> {
    value.as_u64().and_then(|n| u32::try_from(n).ok())
}

/// Endpoint variants of a serving template, with min/max from its scalable targets.
pub fn variants(serving: &Value) -> Vec<VariantUnits> {
    let mut found = Vec::new();
    for (_, endpoint) in resources(serving).filter(|(_, r)| r["Type"] == "AWS::SageMaker::Endpoint")
    {
        let name = endpoint["Properties"]["EndpointName"]
            .as_str()
            .unwrap_or("endpoint")
            .to_string();
        let Some(config_id) =
            endpoint["Properties"]["EndpointConfigName"]["Fn::GetAtt"][0].as_str()
        else {
            continue;
        };
        let config = &serving["Resources"][config_id]["Properties"];
        for variant in config["ProductionVariants"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let (Some(instance_type), Some(count)) = (
                variant["InstanceType"].as_str(),
                as_u32(&variant["InitialInstanceCount"]),
            ) else {
                continue;
            };
            let variant_name = variant["VariantName"].as_str().unwrap_or_default();
            let resource_id = format!("endpoint/{name}/variant/{variant_name}");
            let bounds = resources(serving)
                .find(|(_, r)| {
                    r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
                        && r["Properties"]["ResourceId"] == resource_id.as_str()
                })
                .and_then(|(_, t)| {
                    Some((
                        as_u32(&t["Properties"]["MinCapacity"])?,
                        as_u32(&t["Properties"]["MaxCapacity"])?,
                    ))
                });
            let (min, max) = bounds.unwrap_or((count, count));
            found.push(VariantUnits {
                endpoint: name.clone(),
                instance_type: instance_type.to_string(),
                min,
                max,
            });
        }
    }
    found
}

/// Training steps of a training template's pipelines.
pub fn training(template: &Value) -> Vec<TrainingUnits> {
    let mut found = Vec::new();
    for (_, pipeline) in
        resources(template).filter(|(_, r)| r["Type"] == "AWS::SageMaker::Pipeline")
    {
        let body = &pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"];
        let text = body["Fn::Sub"][0]
            .as_str()
            .or(body.as_str())
            .unwrap_or_default();
        let Ok(definition) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        let name = pipeline["Properties"]["PipelineName"]
            .as_str()
            .unwrap_or("pipeline")
            .to_string();
        for step in definition["Steps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["Type"] == "Training")
        {
            let args = &step["Arguments"];
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
            });
        }
    }
    found
}
