//! The parts of an endpoint built in code: its config's variant lists, and
//! its `DeploymentConfig`, whose fields depend on the traffic shift and
//! whose rollback alarms are either the stack's own (a `Ref`, so they
//! exist before the endpoint) or named.

use serde_json::{Value, json};

use crate::config::env::{Deployment, TrafficShift, Variant};
use crate::config::serving::{DataCapture, Monitor, ScheduledAction};

/// A whole weight is written as an integer (`1`, not `1.0`), as people write it.
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

/// The variants of an endpoint config, each serving its own model.
pub fn variants(variants: &[Variant]) -> Value {
    variants
        .iter()
        .map(|v| match &v.serverless {
            Some(serverless) => {
                let mut config = json!({
                    "MemorySizeInMB": serverless.memory_mb,
                    "MaxConcurrency": serverless.max_concurrency,
                });
                if let Some(p) = serverless.provisioned_concurrency {
                    config["ProvisionedConcurrency"] = json!(p);
                }
                json!({
                    "VariantName": v.name,
                    "ModelName": { "Fn::GetAtt": [v.ids.model, "ModelName"] },
                    "InitialVariantWeight": number(v.weight),
                    "ServerlessConfig": config,
                })
            }
            None => json!({
                "VariantName": v.name,
                "ModelName": { "Fn::GetAtt": [v.ids.model, "ModelName"] },
                "InstanceType": v.instance_type,
                "InitialInstanceCount": v.initial_instance_count,
                "InitialVariantWeight": number(v.weight),
            }),
        })
        .collect()
}

/// The config's `DataCaptureConfig`, encrypted with the environment key.
pub fn data_capture_config(capture: &DataCapture, key_arn: &Value) -> Value {
    let modes: Vec<Value> = capture
        .modes()
        .into_iter()
        .map(|mode| json!({ "CaptureMode": mode }))
        .collect();
    let mut config = json!({
        "EnableCapture": true,
        "InitialSamplingPercentage": capture.sampling_percent,
        "DestinationS3Uri": capture.destination.uri(),
        "KmsKeyId": key_arn,
        "CaptureOptions": modes,
    });
    let mut headers = serde_json::Map::new();
    if !capture.csv_content_types.is_empty() {
        headers.insert("CsvContentTypes".into(), json!(capture.csv_content_types));
    }
    if !capture.json_content_types.is_empty() {
        headers.insert("JsonContentTypes".into(), json!(capture.json_content_types));
    }
    if !headers.is_empty() {
        config["CaptureContentTypeHeader"] = Value::Object(headers);
    }
    config
}

/// A scalable target's `ScheduledActions`.
pub fn scheduled_actions(actions: &[ScheduledAction]) -> Value {
    actions
        .iter()
        .map(|a| {
            let mut action = json!({
                "ScheduledActionName": a.name,
                "Schedule": a.schedule,
                "ScalableTargetAction": { "MinCapacity": a.min, "MaxCapacity": a.max },
            });
            if let Some(zone) = &a.timezone {
                action["Timezone"] = json!(zone);
            }
            action
        })
        .collect()
}

/// The data-quality job definition's properties, as the SageMaker Python
/// SDK's `DefaultModelMonitor` builds them: the analyzer image publishing
/// CloudWatch metrics, the endpoint's captured data mounted at
/// `/opt/ml/processing/input/endpoint` (File mode, fully replicated), the
/// report uploaded from `/opt/ml/processing/output` at the end of the job;
/// plus the environment key for the volume and the report, and network
/// isolation (the analyzer reads and writes only through SageMaker).
pub fn data_quality_job(
    monitor: &Monitor,
    endpoint_name: &str,
    role_arn: &Value,
    key_arn: &Value,
) -> Value {
    let mut job = json!({
        "DataQualityAppSpecification": {
            "ImageUri": monitor.image_uri,
            "Environment": { "publish_cloudwatch_metrics": "Enabled" },
        },
        "DataQualityJobInput": {
            "EndpointInput": {
                "EndpointName": endpoint_name,
                "LocalPath": "/opt/ml/processing/input/endpoint",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "DataQualityJobOutputConfig": {
            "KmsKeyId": key_arn,
            "MonitoringOutputs": [{
                "S3Output": {
                    "S3Uri": monitor.output.uri(),
                    "LocalPath": "/opt/ml/processing/output",
                    "S3UploadMode": "EndOfJob",
                }
            }],
        },
        "JobResources": {
            "ClusterConfig": {
                "InstanceCount": monitor.instance_count,
                "InstanceType": monitor.instance_type,
                "VolumeSizeInGB": monitor.volume_gb,
                "VolumeKmsKeyId": key_arn,
            }
        },
        "NetworkConfig": {
            "EnableNetworkIsolation": true,
            "EnableInterContainerTrafficEncryption": true,
        },
        "RoleArn": role_arn,
        "StoppingCondition": { "MaxRuntimeInSeconds": monitor.max_runtime_seconds },
    });
    let mut baseline = serde_json::Map::new();
    if let Some(s) = &monitor.baseline_statistics {
        baseline.insert("StatisticsResource".into(), json!({ "S3Uri": s.uri() }));
    }
    if let Some(c) = &monitor.baseline_constraints {
        baseline.insert("ConstraintsResource".into(), json!({ "S3Uri": c.uri() }));
    }
    if !baseline.is_empty() {
        job["DataQualityBaselineConfig"] = Value::Object(baseline);
    }
    job
}

pub fn deployment_config(deployment: &Deployment) -> Value {
    let mut routing = json!({
        "Type": deployment.shift.routing_type(),
        "WaitIntervalInSeconds": deployment.wait_seconds,
    });
    match deployment.shift {
        TrafficShift::AllAtOnce => {}
        TrafficShift::Canary { percent } => {
            routing["CanarySize"] = json!({ "Type": "CAPACITY_PERCENT", "Value": percent });
        }
        TrafficShift::Linear { percent } => {
            routing["LinearStepSize"] = json!({ "Type": "CAPACITY_PERCENT", "Value": percent });
        }
    }
    let mut config = json!({
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": deployment.termination_wait_seconds,
            "MaximumExecutionTimeoutInSeconds": deployment.max_execution_seconds,
        }
    });
    if !deployment.rollback_alarms.is_empty() {
        let alarms: Vec<Value> = deployment
            .rollback_alarms
            .iter()
            .map(|alarm| match &alarm.logical_id {
                Some(id) => json!({ "AlarmName": { "Ref": id } }),
                None => json!({ "AlarmName": alarm.name }),
            })
            .collect();
        config["AutoRollbackConfiguration"] = json!({ "Alarms": alarms });
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::env::RollbackAlarm;

    #[test]
    fn a_canary_has_its_size_and_refers_to_its_own_alarms() {
        let deployment = Deployment {
            shift: TrafficShift::Canary { percent: 10 },
            wait_seconds: 600,
            termination_wait_seconds: 120,
            max_execution_seconds: 3600,
            rollback_alarms: vec![
                RollbackAlarm {
                    name: "p-e-ep-AllTraffic-5xx-errors".into(),
                    logical_id: Some("EpErrors5xxAlarm".into()),
                },
                RollbackAlarm {
                    name: "team-alarm".into(),
                    logical_id: None,
                },
            ],
        };
        let config = deployment_config(&deployment);
        let policy = &config["BlueGreenUpdatePolicy"];
        assert_eq!(
            policy["TrafficRoutingConfiguration"]["CanarySize"]["Value"],
            10
        );
        assert_eq!(policy["TrafficRoutingConfiguration"]["Type"], "CANARY");
        assert!(policy["TrafficRoutingConfiguration"]["LinearStepSize"].is_null());
        assert_eq!(
            config["AutoRollbackConfiguration"]["Alarms"],
            json!([{ "AlarmName": { "Ref": "EpErrors5xxAlarm" } }, { "AlarmName": "team-alarm" }])
        );
        // Two steps (canary, rest) baking 600 s each, then the termination wait.
        assert_eq!(deployment.waiting_seconds(), 1320);
    }
}
