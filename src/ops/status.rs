//! `mlinfra status`: each stack's status and outputs, and each endpoint's
//! status with its current instance count against its autoscaling bounds.
//! Endpoints are found through the serving stack's physical resource ids.

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use aws_smithy_types::date_time::Format;
use serde::Serialize;

use super::OpsError;
use crate::cloud::AwsError;
use crate::config::Env;
use crate::config::env::Endpoint;
use crate::drift::DriftClients;
use crate::drift::stack::{self, StackState};
use crate::stacks::{self, Layer};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    pub env: String,
    pub account_id: String,
    pub region: String,
    pub stacks: Vec<StackStatus>,
    pub endpoints: Vec<EndpointStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackStatus {
    pub name: String,
    /// `None`: the stack is not deployed.
    pub status: Option<String>,
    /// The last update, or the creation when never updated (RFC 3339).
    pub last_updated: Option<String>,
    pub outputs: Vec<Output>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Output {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointStatus {
    /// The endpoint's name in the configuration.
    pub name: String,
    /// The live endpoint's name, from the serving stack; `None` when not deployed.
    pub endpoint_name: Option<String>,
    pub status: Option<String>,
    pub failure_reason: Option<String>,
    pub variants: Vec<VariantStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VariantStatus {
    pub name: String,
    pub current_instances: Option<u32>,
    pub desired_instances: Option<u32>,
    pub autoscaling: Scaling,
}

/// The bounds an instance count is read against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Scaling {
    /// The configuration has no autoscaling for this endpoint.
    NotConfigured,
    /// Configured, but Application Auto Scaling has no target for the variant.
    NotRegistered {
        configured_min: u32,
        configured_max: u32,
    },
    Registered {
        min: u32,
        max: u32,
    },
}

fn count(value: Option<i32>) -> Option<u32> {
    value.and_then(|v| u32::try_from(v).ok())
}

async fn stack_status(
    cfn: &aws_sdk_cloudformation::Client,
    name: &str,
) -> Result<StackStatus, OpsError> {
    let described = match cfn.describe_stacks().stack_name(name).send().await {
        Ok(described) => described,
        Err(e) => {
            let error = AwsError::from_sdk("DescribeStacks", e);
            if error.is_stack_not_found() {
                return Ok(StackStatus {
                    name: name.to_string(),
                    status: None,
                    last_updated: None,
                    outputs: Vec::new(),
                });
            }
            return Err(error.into());
        }
    };
    let stack = described.stacks().first();
    Ok(StackStatus {
        name: name.to_string(),
        status: stack
            .and_then(|s| s.stack_status())
            .map(|s| s.as_str().to_string()),
        last_updated: stack
            .and_then(|s| s.last_updated_time().or(s.creation_time()))
            .and_then(|t| t.fmt(Format::DateTime).ok()),
        outputs: stack
            .map(|s| s.outputs())
            .unwrap_or_default()
            .iter()
            .map(|o| Output {
                key: o.output_key().unwrap_or_default().to_string(),
                value: o.output_value().unwrap_or_default().to_string(),
            })
            .collect(),
    })
}

/// The endpoint's name from its physical id (CloudFormation gives the ARN).
fn endpoint_name(physical_id: &str) -> &str {
    physical_id
        .rsplit_once(":endpoint/")
        .map_or(physical_id, |(_, name)| name)
}

async fn endpoint_status(
    clients: &DriftClients,
    endpoint: &Endpoint,
    physical_id: Option<&str>,
) -> Result<EndpointStatus, OpsError> {
    let Some(name) = physical_id.map(endpoint_name) else {
        return Ok(EndpointStatus {
            name: endpoint.name.clone(),
            endpoint_name: None,
            status: None,
            failure_reason: None,
            variants: Vec::new(),
        });
    };
    let described = clients
        .sagemaker
        .describe_endpoint()
        .endpoint_name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeEndpoint", e))?;
    let mut variants = Vec::new();
    for variant in described.production_variants() {
        let variant_name = variant.variant_name().unwrap_or_default().to_string();
        let autoscaling = match &endpoint.autoscaling {
            None => Scaling::NotConfigured,
            Some(configured) => scalable_target(clients, name, &variant_name)
                .await?
                .unwrap_or(Scaling::NotRegistered {
                    configured_min: configured.min,
                    configured_max: configured.max,
                }),
        };
        variants.push(VariantStatus {
            name: variant_name,
            current_instances: count(variant.current_instance_count()),
            desired_instances: count(variant.desired_instance_count()),
            autoscaling,
        });
    }
    Ok(EndpointStatus {
        name: endpoint.name.clone(),
        endpoint_name: Some(name.to_string()),
        status: described.endpoint_status().map(|s| s.as_str().to_string()),
        failure_reason: described.failure_reason().map(str::to_string),
        variants,
    })
}

async fn scalable_target(
    clients: &DriftClients,
    endpoint: &str,
    variant: &str,
) -> Result<Option<Scaling>, OpsError> {
    let resource_id = crate::template::ids::variant_resource_id(endpoint, variant);
    let described = clients
        .autoscaling
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Sagemaker)
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .resource_ids(&resource_id)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeScalableTargets", e))?;
    Ok(described
        .scalable_targets()
        .iter()
        .find(|t| t.resource_id() == resource_id)
        .map(|t| Scaling::Registered {
            min: count(Some(t.min_capacity())).unwrap_or(0),
            max: count(Some(t.max_capacity())).unwrap_or(0),
        }))
}

/// Reads every stack, then every configured endpoint.
pub async fn collect(clients: &DriftClients, env: &Env) -> Result<StatusReport, OpsError> {
    let names: Vec<String> = stacks::stacks(env).into_iter().map(|s| s.name).collect();
    let stacks = futures_util::future::try_join_all(
        names.iter().map(|name| stack_status(&clients.cfn, name)),
    )
    .await?;
    let serving = stacks::stack_name(env, Layer::Serving);
    let deployed = match stack::load(&clients.cfn, &serving).await? {
        StackState::Deployed(stack) => Some(stack),
        StackState::Missing => None,
    };
    let mut endpoints = Vec::new();
    for endpoint in &env.endpoints {
        let logical_id = format!("{}Endpoint", endpoint.logical_prefix);
        let physical_id = deployed.as_ref().and_then(|s| s.physical_id(&logical_id));
        endpoints.push(endpoint_status(clients, endpoint, physical_id).await?);
    }
    Ok(StatusReport {
        env: env.name.clone(),
        account_id: env.account_id.clone(),
        region: env.region.clone(),
        stacks,
        endpoints,
    })
}

impl StatusReport {
    pub fn render_json(&self) -> String {
        format!(
            "{}\n",
            serde_json::to_string_pretty(self).expect("a report serialises")
        )
    }

    pub fn render_human(&self) -> String {
        let mut text = format!(
            "environment {} (account {}, {})\n\n{:<28} {:<24} LAST UPDATED\n",
            self.env, self.account_id, self.region, "STACK", "STATUS"
        );
        for stack in &self.stacks {
            text.push_str(&format!(
                "{:<28} {:<24} {}\n",
                stack.name,
                stack.status.as_deref().unwrap_or("not deployed"),
                stack.last_updated.as_deref().unwrap_or("-")
            ));
            for output in &stack.outputs {
                text.push_str(&format!("  {} = {}\n", output.key, output.value));
            }
        }
        if self.endpoints.is_empty() {
            text.push_str("\nno endpoints configured\n");
            return text;
        }
        text.push_str(&format!(
            "\n{:<16} {:<14} {:<14} {:<10} AUTOSCALING\n",
            "ENDPOINT", "STATUS", "VARIANT", "INSTANCES"
        ));
        for endpoint in &self.endpoints {
            let status = endpoint.status.as_deref().unwrap_or("not deployed");
            if endpoint.variants.is_empty() {
                text.push_str(&format!("{:<16} {status}\n", endpoint.name));
            }
            for variant in &endpoint.variants {
                let instances = match (variant.current_instances, variant.desired_instances) {
                    (Some(c), Some(d)) if c != d => format!("{c} (→ {d})"),
                    (Some(c), _) => c.to_string(),
                    (None, Some(d)) => format!("- (→ {d})"),
                    (None, None) => "-".into(),
                };
                let scaling = match &variant.autoscaling {
                    Scaling::NotConfigured => "not configured".to_string(),
                    Scaling::Registered { min, max } => {
                        let place = match variant.current_instances {
                            Some(c) if c <= *min => ", at min",
                            Some(c) if c >= *max => ", at max",
                            _ => "",
                        };
                        format!("{min}–{max}{place}")
                    }
                    Scaling::NotRegistered {
                        configured_min,
                        configured_max,
                    } => format!(
                        "{configured_min}–{configured_max} configured, no scalable target registered"
                    ),
                };
                text.push_str(&format!(
                    "{:<16} {:<14} {:<14} {:<10} {scaling}\n",
                    endpoint.name, status, variant.name, instances
                ));
            }
            if let Some(reason) = &endpoint.failure_reason {
                text.push_str(&format!("  reason: {reason}\n"));
            }
            if let Some(name) = &endpoint.endpoint_name {
                text.push_str(&format!("  name: {name}\n"));
            }
        }
        text
    }
}
