//! Training jobs and models in a VPC (`VpcConfig`): SageMaker reads inputs,
//! code and model artifacts from S3 and writes models back through the
//! configured subnets. A private subnet without an S3 gateway endpoint (or a
//! NAT route) fails the job at its first download. That route cannot be seen
//! offline, so the configuration states it (`network.s3_endpoint` or
//! `network.s3_route = "nat"`) and the rule holds every VPC-attached job and
//! model to that statement.

use serde_json::Value;

use super::StackCheck;
use super::rule::RuleId;
use crate::template::ids::pipeline_definition;

pub fn check(c: &mut StackCheck) {
    if c.env.network.as_ref().is_some_and(|n| n.s3.is_some()) {
        return;
    }
    let mut attached: Vec<(String, String)> = Vec::new();
    for resource in c.template().resources() {
        match resource.kind {
            "AWS::SageMaker::Model" => {
                if let Some(vpc) = resource.prop("VpcConfig") {
                    attached.push((resource.logical_id.to_string(), subnets(vpc)));
                }
            }
            "AWS::SageMaker::Pipeline" => {
                let Ok(definition) = pipeline_definition(&resource) else {
                    continue; // TRN001 reports an unreadable definition.
                };
                for (_, args, _) in definition.job_definitions() {
                    if let Some(vpc) = args.get("VpcConfig") {
                        attached.push((resource.logical_id.to_string(), subnets(vpc)));
                    }
                }
            }
            _ => {}
        }
    }
    attached.dedup();
    for (logical_id, subnets) in attached {
        c.report(
            RuleId::Net003,
            Some(&logical_id),
            format!(
                "runs in subnets {subnets} but the configuration does not say how they reach S3: \
                 SageMaker downloads inputs and code and uploads the model through them, and a private subnet \
                 without an S3 gateway endpoint fails the job at its first download. Add an S3 gateway endpoint \
                 to the VPC's route tables and set network.s3_endpoint = \"vpce-…\", or, when the subnets route \
                 to S3 through a NAT or internet gateway, set network.s3_route = \"nat\""
            ),
        );
    }
}

fn subnets(vpc: &Value) -> String {
    match vpc.get("Subnets").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        None => "(unreadable)".into(),
    }
}
