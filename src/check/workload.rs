//! Serving and training: endpoint storage encrypted with the environment key,
//! network isolation (or a recorded opt-out), and the training job inside each
//! pipeline definition — spot with checkpoints, runtime bounds, encryption.

use serde_json::Value;

use super::StackCheck;
use super::rule::RuleId;
use crate::config::instances::has_instance_storage;
use crate::template::Resource;
use crate::template::ids::{PipelineDefinition, pipeline_definition};
use crate::template::value::{is_true, one_or_many};

/// SageMaker's limit on MaxRuntimeInSeconds and MaxWaitTimeInSeconds.
pub const MAX_TRAINING_SECONDS: u64 = 28 * 24 * 3600;

pub fn check(c: &mut StackCheck) {
    for resource in c.template().resources() {
        match resource.kind {
            "AWS::SageMaker::Model" => model(c, &resource),
            "AWS::SageMaker::EndpointConfig" => endpoint_config(c, &resource),
            "AWS::SageMaker::Endpoint" if !is_true(resource.prop("RetainAllVariantProperties")) => c.report(
                RuleId::Srv003,
                Some(resource.logical_id),
                "RetainAllVariantProperties is not true: a deploy resets the variant's autoscaled capacity",
            ),
            "AWS::SageMaker::Pipeline" => pipeline(c, &resource),
            _ => {}
        }
    }
}

/// Isolation off: a recorded opt-out (NET002, acceptable) or a template that
/// disagrees with its configuration (NET001).
fn isolation(
    c: &mut StackCheck,
    logical_id: &str,
    what: &str,
    enabled: bool,
    opt_out: Option<Option<&str>>,
) {
    if enabled {
        return;
    }
    match opt_out.flatten() {
        Some(reason) => c.report(
            RuleId::Net002,
            Some(logical_id),
            format!("{what} runs without network isolation; the configuration says: {reason:?}"),
        ),
        None => c.report(
            RuleId::Net001,
            Some(logical_id),
            format!(
                "{what} runs without network isolation, but the configuration does not opt out"
            ),
        ),
    }
}

fn model(c: &mut StackCheck, resource: &Resource) {
    let endpoint = c
        .env
        .endpoints
        .iter()
        .flat_map(|e| e.all_variants())
        .find(|v| v.ids.model == resource.logical_id);
    // Serverless Inference cannot isolate the network: not an opt-out.
    if endpoint.is_some_and(|v| v.serverless.is_some()) {
        return;
    }
    let opt_out = endpoint.map(|e| {
        (!e.network_isolation)
            .then_some(e.network_isolation_reason.as_deref())
            .flatten()
    });
    let enabled = is_true(resource.prop("EnableNetworkIsolation"));
    isolation(
        c,
        resource.logical_id,
        "the model container",
        enabled,
        opt_out,
    );
}

fn endpoint_config(c: &mut StackCheck, resource: &Resource) {
    let types: Vec<&str> = one_or_many(resource.prop("ProductionVariants"))
        .into_iter()
        .filter_map(|v| v.get("InstanceType")?.as_str())
        .collect();
    let nvme: Vec<&str> = types
        .iter()
        .copied()
        .filter(|t| has_instance_storage(t))
        .collect();
    let key = resource.prop("KmsKeyId");
    let id = Some(resource.logical_id);
    match (key, nvme.is_empty()) {
        (Some(_), false) => c.report(
            RuleId::Srv002,
            id,
            format!(
                "KmsKeyId is set but {} has instance storage: SageMaker rejects the config",
                nvme.join(", ")
            ),
        ),
        (None, true) if !types.is_empty() => c.report(
            RuleId::Srv001,
            id,
            "endpoint storage volumes are not encrypted with the environment key",
        ),
        (Some(key), true) if *key != c.env_key => c.report(
            RuleId::Srv001,
            id,
            format!("KmsKeyId is {key}, not the environment key {}", c.env_key),
        ),
        _ => {}
    }
}

fn pipeline(c: &mut StackCheck, resource: &Resource) {
    let id = resource.logical_id;
    let definition = match pipeline_definition(resource) {
        Ok(parsed) => parsed,
        Err(problem) => return c.report(RuleId::Trn001, Some(id), problem),
    };
    // A tuning step's training-job definition is held to the same rules.
    let steps: Vec<(&str, &serde_json::Value)> = definition
        .job_definitions()
        .into_iter()
        .map(|(name, args, _)| (name, args))
        .collect();
    if steps.is_empty() {
        return c.report(
            RuleId::Trn001,
            Some(id),
            "the pipeline definition has no Training or Tuning step",
        );
    }
    let job = c.env.training.iter().find(|j| j.logical_id == id);
    let opt_out = job.map(|j| {
        (!j.network_isolation)
            .then_some(j.network_isolation_reason.as_deref())
            .flatten()
    });
    for (name, args) in steps {
        training_step(c, id, name, args, &definition);
        let enabled = is_true(args.get("EnableNetworkIsolation"));
        isolation(c, id, &format!("training step {name:?}"), enabled, opt_out);
    }
}

fn seconds(value: Option<&Value>) -> Option<u64> {
    value.and_then(Value::as_u64)
}

fn training_step(
    c: &mut StackCheck,
    id: &str,
    name: &str,
    args: &Value,
    definition: &PipelineDefinition,
) {
    let step = format!("training step {name:?}");
    let stopping = args.get("StoppingCondition");
    let runtime = seconds(stopping.and_then(|s| s.get("MaxRuntimeInSeconds")));
    match runtime {
        Some(r) if r > 0 && r <= MAX_TRAINING_SECONDS => {}
        Some(r) => c.report(RuleId::Trn004, Some(id), format!("{step}: MaxRuntimeInSeconds {r} is outside 1..={MAX_TRAINING_SECONDS}")),
        None => c.report(RuleId::Trn004, Some(id), format!("{step}: no MaxRuntimeInSeconds, so a stuck job runs (and bills) until SageMaker's limit")),
    }
    if is_true(args.get("EnableManagedSpotTraining")) {
        let checkpoint = args
            .get("CheckpointConfig")
            .and_then(|c| c.get("S3Uri"))
            .and_then(Value::as_str);
        if checkpoint.is_none_or(str::is_empty) {
            c.report(RuleId::Trn002, Some(id), format!("{step}: managed spot without CheckpointConfig: an interruption restarts training from scratch"));
        }
        match (
            seconds(stopping.and_then(|s| s.get("MaxWaitTimeInSeconds"))),
            runtime,
        ) {
            (None, _) => c.report(
                RuleId::Trn003,
                Some(id),
                format!("{step}: managed spot without MaxWaitTimeInSeconds"),
            ),
            (Some(wait), _) if wait > MAX_TRAINING_SECONDS => c.report(
                RuleId::Trn003,
                Some(id),
                format!("{step}: MaxWaitTimeInSeconds {wait} exceeds 28 days"),
            ),
            (Some(wait), Some(run)) if wait < run => c.report(
                RuleId::Trn003,
                Some(id),
                format!(
                    "{step}: MaxWaitTimeInSeconds {wait} is less than MaxRuntimeInSeconds {run}"
                ),
            ),
            _ => {}
        }
    }
    let resources = args.get("ResourceConfig");
    let instance_type = resources
        .and_then(|r| r.get("InstanceType"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let output_key = args.get("OutputDataConfig").and_then(|o| o.get("KmsKeyId"));
    if !is_env_key(c, output_key, definition) {
        c.report(
            RuleId::Trn005,
            Some(id),
            format!("{step}: model artifacts are not encrypted with the environment key"),
        );
    }
    let volume_key = resources.and_then(|r| r.get("VolumeKmsKeyId"));
    if has_instance_storage(instance_type) {
        if volume_key.is_some() {
            c.report(RuleId::Trn006, Some(id), format!("{step}: VolumeKmsKeyId is set but {instance_type} has instance storage: SageMaker rejects the job"));
        }
    } else if !is_env_key(c, volume_key, definition) {
        c.report(RuleId::Trn005, Some(id), format!("{step}: the training volume of {instance_type} is not encrypted with the environment key"));
    }
    let count = seconds(resources.and_then(|r| r.get("InstanceCount"))).unwrap_or(1);
    if count > 1 && !is_true(args.get("EnableInterContainerTrafficEncryption")) {
        c.report(
            RuleId::Trn007,
            Some(id),
            format!("{step}: {count} instances exchange data unencrypted"),
        );
    }
}

/// A key written as `${Var}` resolves through the `Fn::Sub` variables.
fn is_env_key(c: &StackCheck, key: Option<&Value>, definition: &PipelineDefinition) -> bool {
    key.and_then(Value::as_str)
        .and_then(|placeholder| definition.variable(placeholder))
        == Some(&c.env_key)
}
