//! The parts of an endpoint built in code: its config's variant lists, and
//! its `DeploymentConfig`, whose fields depend on the traffic shift and
//! whose rollback alarms are either the stack's own (a `Ref`, so they
//! exist before the endpoint) or named.

use serde_json::{Value, json};

use crate::config::env::{Deployment, TrafficShift, Variant};

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
        .map(|v| {
            json!({
                "VariantName": v.name,
                "ModelName": { "Fn::GetAtt": [v.ids.model, "ModelName"] },
                "InstanceType": v.instance_type,
                "InitialInstanceCount": v.initial_instance_count,
                "InitialVariantWeight": number(v.weight),
            })
        })
        .collect()
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
