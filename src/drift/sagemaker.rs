//! SageMaker endpoints against their template: the endpoint exists, is
//! InService, serves the endpoint config its stack created, and each variant
//! runs the configured instance type and a sensible instance count.

use aws_sdk_sagemaker::Client;

use super::detection::RECREATE_HINT;
use super::expected::{EndpointExpectation, VariantExpectation};
use super::finding::{Check, DriftFinding, Remedy, Severity, Source, Subject};
use crate::cloud::AwsError;
use crate::cloud::sagemaker::{LiveEndpoint, describe_endpoint, variant_instance_types};
use crate::config::env::TrafficControl;

/// CloudFormation records an endpoint (and an endpoint config) by ARN, while
/// SageMaker's API takes the name: the part after `endpoint/`. SageMaker
/// writes that part lower-case; mlinfra's endpoint names are lower-case.
pub fn name_from_arn<'a>(physical_id: &'a str, kind: &str) -> &'a str {
    physical_id
        .rsplit_once(&format!(":{kind}/"))
        .map(|(_, name)| name)
        .unwrap_or(physical_id)
}

/// The endpoint as the configuration names it, and who sets its traffic.
#[derive(Debug, Clone, Copy)]
pub struct Configured<'a> {
    pub name: &'a str,
    pub traffic: TrafficControl,
}

pub async fn check_endpoint(
    sagemaker: &Client,
    subject: &Subject,
    expected: &EndpointExpectation,
    config_physical_id: Option<&str>,
    env_name: &str,
    configured: Configured<'_>,
) -> Result<Vec<DriftFinding>, AwsError> {
    let traffic = configured.traffic;
    let name = name_from_arn(
        subject.physical_id.as_deref().unwrap_or_default(),
        "endpoint",
    );
    let Some(endpoint) = describe_endpoint(sagemaker, name).await? else {
        return Ok(vec![
            subject
                .finding(Source::Sagemaker, Check::Exists)
                .values("exists", "deleted")
                .severity(Severity::High)
                .hint(Remedy::Recreate, RECREATE_HINT),
        ]);
    };

    let mut findings = Vec::new();
    if let Some(finding) = status_finding(subject, &endpoint) {
        findings.push(finding);
    }

    let served = endpoint.endpoint_config.as_str();
    if let Some(config_id) = config_physical_id {
        let created = name_from_arn(config_id, "endpoint-config");
        // The ARN holds the name lower-case; the endpoint reports it as created.
        if !created.eq_ignore_ascii_case(served) {
            findings.push(
                subject
                    .finding(Source::Sagemaker, Check::EndpointConfig)
                    .values(created, served)
                    .severity(Severity::High)
                    .hint(
                        Remedy::Revert,
                        format!(
                            "the endpoint was switched to another config outside CloudFormation: switch it back \
                             (aws sagemaker update-endpoint --endpoint-name {name} --endpoint-config-name {created} \
                             --retain-all-variant-properties)"
                        ),
                    ),
            );
        }
    }

    for variant in &expected.variants {
        let Some(live) = production_variant(&endpoint, &variant.name) else {
            findings.push(
                subject
                    .finding(
                        Source::Sagemaker,
                        Check::Variant {
                            variant: variant.name.clone(),
                        },
                    )
                    .values("present", "absent")
                    .hint(
                        Remedy::Revert,
                        format!(
                            "switch the endpoint back to the config its stack created ({name})"
                        ),
                    ),
            );
            continue;
        };
        // Set outside the configuration on purpose: only autoscaling's bounds hold.
        let external = traffic == TrafficControl::External && variant.scaling.is_none();
        let count = live.desired_instances.or(live.current_instances);
        if let Some(count) = count
            && !external
            && let Some(finding) = count_finding(subject, name, variant, i64::from(count), env_name)
        {
            findings.push(finding);
        }
    }
    if traffic == TrafficControl::Config {
        findings.extend(weight_findings(
            subject,
            configured.name,
            expected,
            &endpoint,
            env_name,
        ));
    }

    if !served.is_empty() && expected.variants.iter().any(|v| v.instance_type.is_some()) {
        let types = variant_instance_types(sagemaker, served).await?;
        for variant in &expected.variants {
            let Some(want) = &variant.instance_type else {
                continue;
            };
            let have = types
                .get(&variant.name)
                .cloned()
                .flatten()
                .unwrap_or_else(|| "(none)".to_string());
            if *want != have {
                findings.push(
                    subject
                        .finding(
                            Source::Sagemaker,
                            Check::InstanceType {
                                variant: variant.name.clone(),
                            },
                        )
                        .values(want.clone(), have)
                        .hint(
                            Remedy::RevertOrUpdateConfig,
                            format!(
                                "switch back to the config the stack created, or set endpoints.*.instance_type \
                                 in environments/{env_name}.toml and apply"
                            ),
                        ),
                );
            }
        }
    }
    Ok(findings)
}

/// A production variant (not a shadow one) of the live endpoint.
fn production_variant<'e>(
    endpoint: &'e LiveEndpoint,
    name: &str,
) -> Option<&'e crate::cloud::sagemaker::LiveVariant> {
    endpoint
        .variants
        .iter()
        .find(|v| !v.shadow && v.name == name)
}

fn status_finding(subject: &Subject, endpoint: &LiveEndpoint) -> Option<DriftFinding> {
    if endpoint.status.is_empty() {
        return None;
    }
    let reason = endpoint
        .failure_reason
        .as_ref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    let actual = format!("{}{reason}", endpoint.status);
    let finding = subject
        .finding(Source::Sagemaker, Check::EndpointStatus)
        .values("InService", actual);
    match endpoint.status.as_str() {
        "InService" => None,
        "Creating" | "Updating" | "SystemUpdating" | "RollingBack" => {
            Some(finding.severity(Severity::Low).hint(
                Remedy::Wait,
                "the endpoint is changing; run drift again once it settles",
            ))
        }
        _ => Some(finding.severity(Severity::High).hint(
            Remedy::Reapply,
            "the endpoint is not serving: read its failure reason, fix the cause, and apply",
        )),
    }
}

/// Inside [min, max] is autoscaling at work; outside is drift. Without
/// autoscaling the count must be the configured one.
fn count_finding(
    subject: &Subject,
    endpoint_name: &str,
    variant: &VariantExpectation,
    count: i64,
    env_name: &str,
) -> Option<DriftFinding> {
    let check = Check::InstanceCount {
        variant: variant.name.clone(),
    };
    let set_back = |n: i64| {
        format!(
            "aws sagemaker update-endpoint-weights-and-capacities --endpoint-name {endpoint_name} \
             --desired-weights-and-capacities VariantName={},DesiredInstanceCount={n}",
            variant.name
        )
    };
    if let Some(scaling) = &variant.scaling {
        if (scaling.min..=scaling.max).contains(&count) {
            return None;
        }
        let bound = if count < scaling.min {
            scaling.min
        } else {
            scaling.max
        };
        return Some(
            subject
                .finding(Source::Sagemaker, check)
                .values(
                    format!("between {} and {} (autoscaling)", scaling.min, scaling.max),
                    count.to_string(),
                )
                .hint(
                    Remedy::RevertOrUpdateConfig,
                    format!(
                        "autoscaling keeps the count inside [min, max] only while the scalable target is as \
                         configured: set it back ({}), or change autoscaling min/max in environments/{env_name}.toml",
                        set_back(bound)
                    ),
                ),
        );
    }
    let want = variant.initial_instance_count?;
    (want != count).then(|| {
        subject
            .finding(Source::Sagemaker, check)
            .values(want.to_string(), count.to_string())
            .hint(
                Remedy::RevertOrUpdateConfig,
                format!(
                    "deploys keep a variant's count (RetainAllVariantProperties), so apply does not reset it: \
                     set it back ({}), or configure autoscaling in environments/{env_name}.toml",
                    set_back(want)
                ),
            )
    })
}

/// Shares of the traffic in percent, one decimal; `None` where the weights sum to 0.
fn shares(weights: &[f64]) -> Vec<Option<f64>> {
    let total: f64 = weights.iter().sum();
    weights
        .iter()
        .map(|w| (total > 0.0).then(|| (w / total * 1000.0).round() / 10.0))
        .collect()
}

/// A production variant's share of the traffic against the configured one.
/// Weights are compared as shares (9:1 is 90:10), since SageMaker routes by
/// weight over the sum; a live weight is the one requested while an update runs.
fn weight_findings(
    subject: &Subject,
    config_name: &str,
    expected: &EndpointExpectation,
    endpoint: &LiveEndpoint,
    env_name: &str,
) -> Vec<DriftFinding> {
    let pairs: Vec<(&str, f64, f64)> = expected
        .variants
        .iter()
        .filter_map(|variant| {
            let live = production_variant(endpoint, &variant.name)?;
            let weight = live.desired_weight.or(live.current_weight)?;
            Some((variant.name.as_str(), variant.weight.unwrap_or(1.0), weight))
        })
        .collect();
    let want = shares(&pairs.iter().map(|p| p.1).collect::<Vec<_>>());
    let have = shares(&pairs.iter().map(|p| p.2).collect::<Vec<_>>());
    let percent =
        |s: Option<f64>| s.map_or("no traffic".to_string(), |s| format!("{s}% of traffic"));
    let set_back = pairs
        .iter()
        .map(|(name, configured, _)| format!("--set {name}={configured}"))
        .collect::<Vec<_>>()
        .join(" ");
    pairs
        .iter()
        .zip(want.iter().zip(&have))
        .filter(|(_, (w, h))| w != h)
        .map(|((name, configured, live), (w, h))| {
            subject
                .finding(
                    Source::Sagemaker,
                    Check::Weight {
                        variant: name.to_string(),
                    },
                )
                .values(
                    format!("weight {configured} ({})", percent(*w)),
                    format!("weight {live} ({})", percent(*h)),
                )
                .hint(
                    Remedy::RevertOrUpdateConfig,
                    format!(
                        "the configuration is the source of truth for weights, and apply changes them only when the \
                         endpoint config changes: set them back (mlinfra traffic --env {env_name} {config_name} {set_back}), \
                         or write the new weights into environments/{env_name}.toml, or set \
                         traffic = \"external\" on the endpoint if weights are managed outside the configuration"
                    ),
                )
        })
        .collect()
}
