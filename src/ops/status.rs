//! `mlinfra status`: each stack's status and outputs, and each endpoint's
//! status with its current instance count against its autoscaling bounds.
//! Endpoints are found through the serving stack's physical resource ids.

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use serde::Serialize;

use crate::output::{self, Printer, Report};

use super::OpsError;
use crate::cloud::AwsError;
use crate::cloud::{Cfn, Clients};
use crate::config::Env;
use crate::config::env::Endpoint;
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

async fn stack_status(cfn: &Cfn, name: &str) -> Result<StackStatus, OpsError> {
    let info = cfn.describe_stack(name).await?;
    Ok(StackStatus {
        name: name.to_string(),
        status: info.as_ref().map(|s| s.status.clone()),
        last_updated: info.as_ref().and_then(|s| s.last_changed.clone()),
        outputs: info
            .map(|s| s.outputs)
            .unwrap_or_default()
            .into_iter()
            .map(|o| Output {
                key: o.key,
                value: o.value,
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
    clients: &Clients,
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
        let configured = endpoint
            .all_variants()
            .find(|v| v.name == variant_name)
            .and_then(|v| v.autoscaling.as_ref());
        let autoscaling = match configured {
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
    clients: &Clients,
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
pub async fn collect(clients: &Clients, env: &Env) -> Result<StatusReport, OpsError> {
    let names: Vec<String> = stacks::stacks(env).into_iter().map(|s| s.name).collect();
    let stacks = futures_util::future::try_join_all(
        names.iter().map(|name| stack_status(&clients.cfn, name)),
    )
    .await?;
    let serving = stacks::stack_name(env, Layer::Serving);
    let deployed = clients.cfn.deployed_stack(&serving).await?;
    let mut endpoints = Vec::new();
    for endpoint in &env.endpoints {
        let physical_id = deployed
            .as_ref()
            .and_then(|s| s.physical_id(&endpoint.ids.endpoint));
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

impl Report for StatusReport {
    fn kind(&self) -> &'static str {
        "status report"
    }

    fn human(&self, _: &Printer) -> String {
        self.render_human()
    }

    fn json(&self) -> String {
        self.render_json()
    }
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
            "environment {} (account {}, {})\n\n",
            self.env, self.account_id, self.region
        );
        text.push_str(&output::table(
            &["STACK", "STATUS", "LAST UPDATED"],
            self.stacks.iter().map(|stack| {
                [
                    stack.name.as_str(),
                    stack.status.as_deref().unwrap_or("not deployed"),
                    stack.last_updated.as_deref().unwrap_or("-"),
                ]
            }),
        ));
        for stack in self.stacks.iter().filter(|s| !s.outputs.is_empty()) {
            text.push_str(&format!("\noutputs of {}:\n", stack.name));
            for output in &stack.outputs {
                text.push_str(&format!("  {} = {}\n", output.key, output.value));
            }
        }
        if self.endpoints.is_empty() {
            text.push_str("\nno endpoints configured\n");
            return text;
        }
        let mut rows = Vec::new();
        let mut notes = String::new();
        for endpoint in &self.endpoints {
            let status = endpoint.status.as_deref().unwrap_or("not deployed");
            if endpoint.variants.is_empty() {
                rows.push([
                    endpoint.name.clone(),
                    status.to_string(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ]);
            }
            for variant in &endpoint.variants {
                rows.push([
                    endpoint.name.clone(),
                    status.to_string(),
                    variant.name.clone(),
                    instances(variant),
                    scaling(variant),
                ]);
            }
            if let Some(reason) = &endpoint.failure_reason {
                notes.push_str(&format!("  {}: reason: {reason}\n", endpoint.name));
            }
            if let Some(name) = &endpoint.endpoint_name {
                notes.push_str(&format!("  {}: name: {name}\n", endpoint.name));
            }
        }
        text.push('\n');
        text.push_str(&output::table(
            &["ENDPOINT", "STATUS", "VARIANT", "INSTANCES", "AUTOSCALING"],
            rows,
        ));
        text.push_str(&notes);
        text
    }
}

/// The current instance count, and where it is going when it differs.
fn instances(variant: &VariantStatus) -> String {
    match (variant.current_instances, variant.desired_instances) {
        (Some(c), Some(d)) if c != d => format!("{c} (→ {d})"),
        (Some(c), _) => c.to_string(),
        (None, Some(d)) => format!("- (→ {d})"),
        (None, None) => "-".into(),
    }
}

/// The autoscaling bounds, and whether the count sits at one of them.
fn scaling(variant: &VariantStatus) -> String {
    match &variant.autoscaling {
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
        } => format!("{configured_min}–{configured_max} configured, no scalable target registered"),
    }
}
