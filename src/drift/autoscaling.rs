//! Application Auto Scaling of an endpoint variant: the scalable target is
//! registered with the configured min/max and not suspended, and the
//! target-tracking policy is there with the configured target and cooldowns.
//!
//! The target is looked up by the live endpoint's name (from the endpoint's
//! physical id) and the variant: that is what actually scales the endpoint.
//! For the same reason a customized metric must watch that endpoint: its
//! `EndpointName` dimension is compared with the live name. Its other
//! dimensions, unit and statistic, and `DisableScaleIn`, are compared with
//! the template: a policy re-pointed at another endpoint, or one that can no
//! longer scale in, still "exists" and would otherwise pass.

use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::types::{
    PolicyType, ScalableDimension, ScalingPolicy, ServiceNamespace,
};

use super::detection::RECREATE_HINT;
use super::expected::{Metric, PolicyExpectation, ScalingExpectation};
use super::finding::{Check, DriftFinding, Remedy, Severity, Source, Subject};
use crate::cloud::AwsError;
use crate::cloud::autoscaling::{Scaled, scalable_targets, scaling_policies};
use crate::template::ids::variant_resource_id;

/// Where the findings go: the target and the policy resources of the stack.
pub struct ScalingSubjects {
    pub target: Subject,
    pub policy: Option<Subject>,
}

pub async fn check_variant(
    autoscaling: &Client,
    subjects: &ScalingSubjects,
    endpoint_name: &str,
    variant: &str,
    expected: &ScalingExpectation,
    env_name: &str,
) -> Result<Vec<DriftFinding>, AwsError> {
    let resource_id = variant_resource_id(endpoint_name, variant);
    let namespace = ServiceNamespace::from(expected.service_namespace.as_str());
    let dimension = ScalableDimension::from(expected.scalable_dimension.as_str());
    let scaled = Scaled {
        namespace,
        dimension,
        resource_id: &resource_id,
    };
    let targets = scalable_targets(autoscaling, &scaled);
    let policies = scaling_policies(autoscaling, &scaled);
    let (targets, policies) = tokio::join!(targets, policies);
    let (targets, policies) = (targets?, policies?);

    let mut findings = Vec::new();
    let target_subject = &subjects.target;
    match targets.first() {
        None => findings.push(
            target_subject
                .finding(
                    Source::ApplicationAutoScaling,
                    Check::ScalableTarget {
                        variant: variant.to_string(),
                    },
                )
                .values(
                    format!(
                        "{resource_id} registered, {}–{}",
                        expected.min, expected.max
                    ),
                    "not registered: the variant does not scale",
                )
                .severity(Severity::High)
                .hint(Remedy::Recreate, RECREATE_HINT),
        ),
        Some(target) => {
            let (min, max) = (
                i64::from(target.min_capacity()),
                i64::from(target.max_capacity()),
            );
            if (min, max) != (expected.min, expected.max) {
                findings.push(
                    target_subject
                        .finding(
                            Source::ApplicationAutoScaling,
                            Check::ScalingCapacity {
                                variant: variant.to_string(),
                            },
                        )
                        .values(
                            format!("min {} max {}", expected.min, expected.max),
                            format!("min {min} max {max}"),
                        )
                        .hint(
                            Remedy::RevertOrUpdateConfig,
                            format!(
                                "register it again with the configured capacity (aws application-autoscaling \
                                 register-scalable-target --service-namespace {} --resource-id {resource_id} \
                                 --scalable-dimension {} --min-capacity {} --max-capacity {}), or change \
                                 autoscaling min/max in environments/{env_name}.toml and apply",
                                expected.service_namespace,
                                expected.scalable_dimension,
                                expected.min,
                                expected.max
                            ),
                        ),
                );
            }
            if let Some(state) = target.suspended_state() {
                let suspended: Vec<&str> = [
                    ("scale-in", state.dynamic_scaling_in_suspended()),
                    ("scale-out", state.dynamic_scaling_out_suspended()),
                    ("scheduled", state.scheduled_scaling_suspended()),
                ]
                .into_iter()
                .filter(|(_, on)| *on == Some(true))
                .map(|(name, _)| name)
                .collect();
                if !suspended.is_empty() {
                    findings.push(
                        target_subject
                            .finding(
                                Source::ApplicationAutoScaling,
                                Check::ScalingSuspended {
                                    variant: variant.to_string(),
                                },
                            )
                            .values("active", format!("suspended: {}", suspended.join(", ")))
                            .hint(
                                Remedy::Revert,
                                "resume scaling (register-scalable-target with --suspended-state all false)",
                            ),
                    );
                }
            }
        }
    }

    if let Some(want) = &expected.policy {
        let subject = subjects.policy.as_ref().unwrap_or(target_subject);
        let found = policies
            .iter()
            .find(|p| subject.physical_id.as_deref() == Some(p.policy_arn()))
            .or_else(|| policies.iter().find(|p| p.policy_name() == want.name));
        match found {
            None => findings.push(
                subject
                    .finding(
                        Source::ApplicationAutoScaling,
                        Check::ScalingPolicy {
                            name: want.name.clone(),
                        },
                    )
                    .values(
                        "target tracking present",
                        if policies.is_empty() {
                            "no scaling policy".to_string()
                        } else {
                            let names: Vec<&str> =
                                policies.iter().map(|p| p.policy_name()).collect();
                            format!("absent (other policies: {})", names.join(", "))
                        },
                    )
                    .severity(Severity::High)
                    .hint(Remedy::Recreate, RECREATE_HINT),
            ),
            Some(live) => findings.extend(policy_findings(
                subject,
                want,
                live,
                endpoint_name,
                env_name,
            )),
        }
    }
    Ok(findings)
}

/// The dimensions a customized metric must have on the live endpoint.
fn expected_dimensions(written: &[(String, String)], endpoint_name: &str) -> Vec<(String, String)> {
    let mut dimensions: Vec<(String, String)> = written
        .iter()
        .map(|(name, value)| {
            let value = if name == "EndpointName" {
                endpoint_name.to_string()
            } else {
                value.clone()
            };
            (name.clone(), value)
        })
        .collect();
    dimensions.sort();
    dimensions
}

fn show_dimensions(dimensions: &[(String, String)]) -> String {
    if dimensions.is_empty() {
        return "none".into();
    }
    dimensions
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn policy_findings(
    subject: &Subject,
    want: &PolicyExpectation,
    live: &ScalingPolicy,
    endpoint_name: &str,
    env_name: &str,
) -> Vec<DriftFinding> {
    let check = || Check::ScalingPolicy {
        name: want.name.clone(),
    };
    let hint = format!(
        "put the policy back as the template has it (aws application-autoscaling put-scaling-policy), \
         or change autoscaling in environments/{env_name}.toml and apply"
    );
    if *live.policy_type() != PolicyType::TargetTrackingScaling {
        return vec![
            subject
                .finding(Source::ApplicationAutoScaling, check())
                .values("TargetTrackingScaling", live.policy_type().as_str())
                .hint(Remedy::RevertOrUpdateConfig, hint),
        ];
    }
    let Some(config) = live.target_tracking_scaling_policy_configuration() else {
        return Vec::new();
    };
    let live_metric = match (
        config.predefined_metric_specification(),
        config.customized_metric_specification(),
    ) {
        (Some(predefined), _) => Some(Metric::Predefined(
            predefined.predefined_metric_type().as_str().to_string(),
        )),
        (None, Some(custom)) => Some(Metric::Customized {
            name: custom.metric_name().unwrap_or_default().to_string(),
            namespace: custom.namespace().unwrap_or_default().to_string(),
            statistic: custom
                .statistic()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            unit: custom.unit().map(str::to_string),
            dimensions: custom
                .dimensions()
                .iter()
                .map(|d| (d.name().to_string(), d.value().to_string()))
                .collect(),
        }),
        (None, None) => None,
    };
    let cooldown = |c: Option<i64>| c.map_or("default".to_string(), |s| format!("{s}s"));
    let mut differences: Vec<(String, String, Severity)> = Vec::new();
    if config.target_value() != want.target_value {
        differences.push((
            format!("target {}", want.target_value),
            format!("target {}", config.target_value()),
            Severity::Medium,
        ));
    }
    let live_in = config.scale_in_cooldown().map(i64::from);
    if want.scale_in_cooldown.is_some() && live_in != want.scale_in_cooldown {
        differences.push((
            format!("scale-in cooldown {}", cooldown(want.scale_in_cooldown)),
            format!("scale-in cooldown {}", cooldown(live_in)),
            Severity::Medium,
        ));
    }
    let live_out = config.scale_out_cooldown().map(i64::from);
    if want.scale_out_cooldown.is_some() && live_out != want.scale_out_cooldown {
        differences.push((
            format!("scale-out cooldown {}", cooldown(want.scale_out_cooldown)),
            format!("scale-out cooldown {}", cooldown(live_out)),
            Severity::Medium,
        ));
    }
    if let Some(want_disabled) = want.disable_scale_in {
        let live_disabled = config.disable_scale_in().unwrap_or(false);
        if live_disabled != want_disabled {
            let show = |disabled: bool| {
                if disabled {
                    "scale-in disabled"
                } else {
                    "scale-in enabled"
                }
            };
            differences.push((
                show(want_disabled).into(),
                show(live_disabled).into(),
                Severity::Medium,
            ));
        }
    }
    match (&want.metric, &live_metric) {
        (
            Metric::Customized {
                name,
                namespace,
                statistic,
                unit,
                dimensions,
            },
            Some(Metric::Customized {
                name: live_name,
                namespace: live_namespace,
                statistic: live_statistic,
                unit: live_unit,
                dimensions: live_dimensions,
            }),
        ) => {
            if (name, namespace, statistic) != (live_name, live_namespace, live_statistic) {
                differences.push((
                    format!("metric {}", want.metric),
                    format!("metric {}", live_metric.as_ref().expect("matched")),
                    Severity::Medium,
                ));
            }
            if unit.is_some() && unit != live_unit {
                let show = |u: &Option<String>| u.clone().unwrap_or_else(|| "none".into());
                differences.push((
                    format!("metric unit {}", show(unit)),
                    format!("metric unit {}", show(live_unit)),
                    Severity::Medium,
                ));
            }
            let want_dimensions = expected_dimensions(dimensions, endpoint_name);
            let mut live_dimensions = live_dimensions.clone();
            live_dimensions.sort();
            if want_dimensions != live_dimensions {
                // Scaling on another endpoint's load is scaling blind.
                differences.push((
                    format!("metric dimensions {}", show_dimensions(&want_dimensions)),
                    format!("metric dimensions {}", show_dimensions(&live_dimensions)),
                    Severity::High,
                ));
            }
        }
        _ if live_metric.as_ref() != Some(&want.metric) => {
            differences.push((
                format!("metric {}", want.metric),
                format!(
                    "metric {}",
                    live_metric.map_or("(none)".to_string(), |m| m.to_string())
                ),
                Severity::Medium,
            ));
        }
        _ => {}
    }
    differences
        .into_iter()
        .map(|(expected, actual, severity)| {
            subject
                .finding(Source::ApplicationAutoScaling, check())
                .values(expected, actual)
                .severity(severity)
                .hint(Remedy::RevertOrUpdateConfig, hint.clone())
        })
        .collect()
}
