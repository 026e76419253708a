//! Typed SageMaker endpoint calls for traffic, status and drift: what
//! DescribeEndpoint says about each variant's weight and capacity and about a
//! deployment in progress, the endpoint config's instance types, and UpdateEndpointWeightsAndCapacities.

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::{DesiredWeightAndCapacity, ProductionVariantSummary};
use serde::Serialize;

use super::AwsError;

/// One variant of a live endpoint. A serverless variant has no instances:
/// its counts are `None` and `serverless` is set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveVariant {
    pub name: String,
    pub shadow: bool,
    pub current_weight: Option<f64>,
    pub desired_weight: Option<f64>,
    pub current_instances: Option<u32>,
    pub desired_instances: Option<u32>,
    pub serverless: bool,
}

/// The blue/green update under way: the endpoint config it moves to and
/// where each of its variants stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingDeployment {
    pub endpoint_config: String,
    /// RFC 3339.
    pub started: Option<String>,
    pub variants: Vec<PendingVariant>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingVariant {
    pub name: String,
    pub instance_type: Option<String>,
    pub current_instances: Option<u32>,
    pub desired_instances: Option<u32>,
    /// Each stage SageMaker reports, e.g. `Baking: Waiting for the canary`.
    pub stages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveEndpoint {
    pub name: String,
    pub status: String,
    pub failure_reason: Option<String>,
    pub endpoint_config: String,
    /// Production variants first, then shadow ones.
    pub variants: Vec<LiveVariant>,
    pub pending: Option<PendingDeployment>,
}

impl LiveEndpoint {
    pub fn variant(&self, name: &str) -> Option<&LiveVariant> {
        self.variants.iter().find(|v| v.name == name)
    }

    pub fn in_service(&self) -> bool {
        self.status == "InService"
    }
}

/// A change of one variant: a weight, an instance count, or both.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantChange {
    pub variant: String,
    pub weight: Option<f64>,
    pub instances: Option<u32>,
}

fn count(value: Option<i32>) -> Option<u32> {
    value.and_then(|v| u32::try_from(v).ok())
}

fn time(value: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    value.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
}

fn live_variant(v: &ProductionVariantSummary, shadow: bool) -> LiveVariant {
    LiveVariant {
        name: v.variant_name().unwrap_or_default().to_string(),
        shadow,
        current_weight: v.current_weight().map(f64::from),
        desired_weight: v.desired_weight().map(f64::from),
        current_instances: count(v.current_instance_count()),
        desired_instances: count(v.desired_instance_count()),
        serverless: v.current_serverless_config().is_some()
            || v.desired_serverless_config().is_some(),
    }
}

/// SageMaker answers a lookup of an unknown endpoint with a plain
/// `ValidationException` "Could not find endpoint …".
pub fn is_not_found(error: &AwsError) -> bool {
    error.has_code(&["ValidationException"]) && error.message.contains("Could not find")
}

/// DescribeEndpointConfig: each production variant's instance type (`None`
/// for a serverless variant).
pub async fn variant_instance_types(
    client: &Client,
    config_name: &str,
) -> Result<std::collections::BTreeMap<String, Option<String>>, AwsError> {
    let config = client
        .describe_endpoint_config()
        .endpoint_config_name(config_name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeEndpointConfig", e))?;
    Ok(config
        .production_variants()
        .iter()
        .map(|v| {
            let name = v.variant_name().unwrap_or_default().to_string();
            (name, v.instance_type().map(|t| t.as_str().to_string()))
        })
        .collect())
}

/// DescribeEndpoint; `None` when SageMaker does not know the endpoint.
pub async fn describe_endpoint(
    client: &Client,
    name: &str,
) -> Result<Option<LiveEndpoint>, AwsError> {
    let described = match client.describe_endpoint().endpoint_name(name).send().await {
        Ok(described) => described,
        Err(error) => {
            let error = AwsError::from_sdk("DescribeEndpoint", error);
            return if is_not_found(&error) {
                Ok(None)
            } else {
                Err(error)
            };
        }
    };
    let variants = described
        .production_variants()
        .iter()
        .map(|v| live_variant(v, false))
        .chain(
            described
                .shadow_production_variants()
                .iter()
                .map(|v| live_variant(v, true)),
        )
        .collect();
    let pending = described
        .pending_deployment_summary()
        .map(|p| PendingDeployment {
            endpoint_config: p.endpoint_config_name().unwrap_or_default().to_string(),
            started: time(p.start_time()),
            variants: p
                .production_variants()
                .iter()
                .chain(p.shadow_production_variants())
                .map(|v| PendingVariant {
                    name: v.variant_name().unwrap_or_default().to_string(),
                    instance_type: v.instance_type().map(|t| t.as_str().to_string()),
                    current_instances: count(v.current_instance_count()),
                    desired_instances: count(v.desired_instance_count()),
                    stages: v
                        .variant_status()
                        .iter()
                        .map(|s| {
                            let status = s.status().map(|s| s.as_str()).unwrap_or("unknown");
                            match s.status_message() {
                                Some(message) if !message.is_empty() => {
                                    format!("{status}: {message}")
                                }
                                _ => status.to_string(),
                            }
                        })
                        .collect(),
                })
                .collect(),
        });
    Ok(Some(LiveEndpoint {
        name: described.endpoint_name().unwrap_or(name).to_string(),
        status: described
            .endpoint_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        failure_reason: described.failure_reason().map(str::to_string),
        endpoint_config: described
            .endpoint_config_name()
            .unwrap_or_default()
            .to_string(),
        variants,
        pending,
    }))
}

/// UpdateEndpointWeightsAndCapacities: only the fields given change.
pub async fn update_weights_and_capacities(
    client: &Client,
    endpoint: &str,
    changes: &[VariantChange],
) -> Result<(), AwsError> {
    let desired = changes
        .iter()
        .map(|c| {
            DesiredWeightAndCapacity::builder()
                .variant_name(&c.variant)
                // SageMaker's weights are 32-bit floats.
                .set_desired_weight(c.weight.map(|w| w as f32))
                .set_desired_instance_count(c.instances.and_then(|n| i32::try_from(n).ok()))
                .build()
        })
        .collect::<Vec<_>>();
    client
        .update_endpoint_weights_and_capacities()
        .endpoint_name(endpoint)
        .set_desired_weights_and_capacities(Some(desired))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("UpdateEndpointWeightsAndCapacities", e))?;
    Ok(())
}
