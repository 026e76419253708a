//! `mlinfra status`: each stack's status and outputs, and each endpoint's
//! status with its current instance count against its autoscaling bounds.
//! Endpoints are found through the serving stack's physical resource ids.

use serde::Serialize;

use crate::output::{self, Printer, Report};

use super::OpsError;
use crate::cloud::sagemaker::{self, PendingDeployment};
use crate::cloud::{Cfn, Clients, alarms};
use crate::config::Env;
use crate::config::env::Endpoint;
use crate::stacks::{self, Layer};

/// Bumped when the JSON of `status` changes shape.
pub const FORMAT_VERSION: u32 = 1;
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    pub env: String,
    pub account_id: String,
    pub region: String,
    pub stacks: Vec<StackStatus>,
    pub endpoints: Vec<EndpointStatus>,
    /// The environment's rendered alarms and their states.
    pub alarms: Vec<AlarmStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlarmStatus {
    pub endpoint: String,
    pub variant: String,
    pub name: String,
    /// `OK`, `ALARM`, `INSUFFICIENT_DATA`; `None`: the alarm does not exist.
    pub state: Option<String>,
    pub actions_enabled: Option<bool>,
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointStatus {
    /// The endpoint's name in the configuration.
    pub name: String,
    /// The live endpoint's name, from the serving stack; `None` when not deployed.
    pub endpoint_name: Option<String>,
    pub status: Option<String>,
    pub failure_reason: Option<String>,
    pub variants: Vec<VariantStatus>,
    /// The blue/green deployment under way (DescribeEndpoint's
    /// PendingDeploymentSummary), while the endpoint is Creating or Updating.
    pub deployment: Option<PendingDeployment>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantStatus {
    pub name: String,
    pub shadow: bool,
    pub current_weight: Option<f64>,
    pub desired_weight: Option<f64>,
    /// A serverless variant has no instance counts.
    pub serverless: bool,
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
    let missing = |name: Option<&str>| EndpointStatus {
        name: endpoint.name.clone(),
        endpoint_name: name.map(str::to_string),
        status: None,
        failure_reason: None,
        variants: Vec::new(),
        deployment: None,
    };
    let Some(name) = physical_id.map(endpoint_name) else {
        return Ok(missing(None));
    };
    let Some(live) = sagemaker::describe_endpoint(&clients.sagemaker, name).await? else {
        return Ok(missing(Some(name)));
    };
    let mut variants = Vec::new();
    for variant in &live.variants {
        let configured = endpoint
            .all_variants()
            .find(|v| v.name == variant.name)
            .and_then(|v| v.autoscaling.as_ref());
        let autoscaling = match configured {
            None => Scaling::NotConfigured,
            Some(configured) => scalable_target(clients, name, &variant.name)
                .await?
                .unwrap_or(Scaling::NotRegistered {
                    configured_min: configured.min,
                    configured_max: configured.max,
                }),
        };
        variants.push(VariantStatus {
            name: variant.name.clone(),
            shadow: variant.shadow,
            current_weight: variant.current_weight,
            desired_weight: variant.desired_weight,
            serverless: variant.serverless,
            current_instances: variant.current_instances,
            desired_instances: variant.desired_instances,
            autoscaling,
        });
    }
    Ok(EndpointStatus {
        name: endpoint.name.clone(),
        endpoint_name: Some(live.name),
        status: Some(live.status),
        failure_reason: live.failure_reason,
        variants,
        deployment: live.pending,
    })
}

/// Every alarm the environment renders, with its live state.
async fn alarm_states(clients: &Clients, env: &Env) -> Result<Vec<AlarmStatus>, OpsError> {
    let rendered: Vec<(&str, &str, &str)> = env
        .endpoints
        .iter()
        .flat_map(|e| {
            e.all_variants().flat_map(move |v| {
                v.alarms
                    .iter()
                    .map(move |a| (e.name.as_str(), v.name.as_str(), a.alarm_name.as_str()))
            })
        })
        .collect();
    if rendered.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = rendered.iter().map(|(_, _, n)| *n).collect();
    let live = alarms::describe(&clients.cloudwatch, &names).await?;
    Ok(rendered
        .into_iter()
        .map(|(endpoint, variant, name)| {
            let found = live.iter().find(|a| a.name == name);
            AlarmStatus {
                endpoint: endpoint.to_string(),
                variant: variant.to_string(),
                name: name.to_string(),
                state: found.map(|a| a.state.clone()),
                actions_enabled: found.map(|a| a.actions_enabled),
            }
        })
        .collect())
}

async fn scalable_target(
    clients: &Clients,
    endpoint: &str,
    variant: &str,
) -> Result<Option<Scaling>, OpsError> {
    let resource_id = crate::template::ids::variant_resource_id(endpoint, variant);
    let targets = crate::cloud::autoscaling::scalable_targets(
        &clients.autoscaling,
        &crate::cloud::autoscaling::Scaled::variant_instances(&resource_id),
    )
    .await?;
    Ok(targets
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
    let alarms = alarm_states(clients, env).await?;
    Ok(StatusReport {
        env: env.name.clone(),
        account_id: env.account_id.clone(),
        region: env.region.clone(),
        stacks,
        endpoints,
        alarms,
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
        output::versioned_json(FORMAT_VERSION, self)
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
                    "-".into(),
                ]);
            }
            let production: f64 = endpoint
                .variants
                .iter()
                .filter(|v| !v.shadow)
                .filter_map(|v| v.current_weight)
                .sum();
            for variant in &endpoint.variants {
                rows.push([
                    endpoint.name.clone(),
                    status.to_string(),
                    variant.name.clone(),
                    weight(variant, production),
                    instances(variant),
                    scaling(variant),
                ]);
            }
            if let Some(deployment) = &endpoint.deployment {
                notes.push_str(&deployment_note(&endpoint.name, deployment));
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
            &[
                "ENDPOINT",
                "STATUS",
                "VARIANT",
                "WEIGHT",
                "INSTANCES",
                "AUTOSCALING",
            ],
            rows,
        ));
        text.push_str(&notes);
        if !self.alarms.is_empty() {
            text.push('\n');
            text.push_str(&output::table(
                &["ALARM", "ENDPOINT", "VARIANT", "STATE"],
                self.alarms.iter().map(|a| {
                    let state = match (&a.state, a.actions_enabled) {
                        (None, _) => "missing".to_string(),
                        (Some(state), Some(false)) => format!("{state} (actions disabled)"),
                        (Some(state), _) => state.clone(),
                    };
                    [a.name.clone(), a.endpoint.clone(), a.variant.clone(), state]
                }),
            ));
        }
        text
    }
}

/// The weight, where it is going, and the traffic it gives: a share of
/// production traffic, or for a shadow variant the share copied to it.
fn weight(variant: &VariantStatus, production: f64) -> String {
    let Some(current) = variant.current_weight else {
        return "-".to_string();
    };
    let moving = match variant.desired_weight {
        Some(d) if d != current => format!("{current} (→ {d})"),
        _ => current.to_string(),
    };
    if production <= 0.0 {
        return moving;
    }
    let share = (current / production).min(1.0) * 100.0;
    let share = (share * 10.0).round() / 10.0;
    if variant.shadow {
        format!("{moving}, shadow {share}% copied")
    } else {
        format!("{moving}, {share}%")
    }
}

/// What DescribeEndpoint says about a deployment under way.
fn deployment_note(endpoint: &str, deployment: &PendingDeployment) -> String {
    let mut note = format!(
        "  {endpoint}: deployment in progress to endpoint config {}{}\n",
        deployment.endpoint_config,
        deployment
            .started
            .as_deref()
            .map(|t| format!(" (started {t})"))
            .unwrap_or_default()
    );
    for variant in &deployment.variants {
        let counts = match (variant.current_instances, variant.desired_instances) {
            (Some(c), Some(d)) => format!("{c} of {d} instances"),
            (None, Some(d)) => format!("0 of {d} instances"),
            _ => "no instance count".to_string(),
        };
        note.push_str(&format!(
            "    new {}{}: {counts}{}\n",
            variant.name,
            variant
                .instance_type
                .as_deref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default(),
            if variant.stages.is_empty() {
                String::new()
            } else {
                format!("; {}", variant.stages.join("; "))
            }
        ));
    }
    note
}

/// The current instance count, and where it is going when it differs.
fn instances(variant: &VariantStatus) -> String {
    if variant.serverless {
        return "serverless".to_string();
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::sagemaker::PendingVariant;

    fn variant(name: &str, shadow: bool, weight: f64) -> VariantStatus {
        VariantStatus {
            name: name.into(),
            shadow,
            current_weight: Some(weight),
            desired_weight: Some(weight),
            serverless: false,
            current_instances: Some(2),
            desired_instances: Some(2),
            autoscaling: Scaling::Registered { min: 1, max: 4 },
        }
    }

    #[test]
    fn status_shows_weights_a_deployment_under_way_and_alarm_states() {
        let mut green = variant("green", false, 1.0);
        green.desired_weight = Some(3.0);
        let mut serverless = variant("small", false, 0.0);
        serverless.serverless = true;
        (serverless.current_instances, serverless.desired_instances) = (None, None);
        serverless.autoscaling = Scaling::NotConfigured;
        let report = StatusReport {
            env: "prod".into(),
            account_id: "345678901234".into(),
            region: "us-east-1".into(),
            stacks: Vec::new(),
            endpoints: vec![EndpointStatus {
                name: "ranker".into(),
                endpoint_name: Some("corner-prod-ranker".into()),
                status: Some("Updating".into()),
                failure_reason: None,
                variants: vec![
                    variant("blue", false, 3.0),
                    green,
                    serverless,
                    variant("shadow", true, 2.0),
                ],
                deployment: Some(PendingDeployment {
                    endpoint_config: "RankerConfig-abc".into(),
                    started: Some("2026-12-02T04:00:00Z".into()),
                    variants: vec![PendingVariant {
                        name: "blue".into(),
                        instance_type: Some("ml.m5.xlarge".into()),
                        current_instances: Some(1),
                        desired_instances: Some(2),
                        stages: vec!["Baking: waiting for the canary".into()],
                    }],
                }),
            }],
            alarms: vec![
                AlarmStatus {
                    endpoint: "ranker".into(),
                    variant: "blue".into(),
                    name: "corner-prod-ranker-blue-5xx".into(),
                    state: Some("ALARM".into()),
                    actions_enabled: Some(false),
                },
                AlarmStatus {
                    endpoint: "ranker".into(),
                    variant: "green".into(),
                    name: "corner-prod-ranker-green-5xx".into(),
                    state: None,
                    actions_enabled: None,
                },
            ],
        };
        let human = report.render_human();
        for line in [
            "blue     3, 75%",
            "green    1 (→ 3), 25%",
            "small    0, 0%",
            "serverless",
            "shadow   2, shadow 50% copied",
            "ranker: deployment in progress to endpoint config RankerConfig-abc (started 2026-12-02T04:00:00Z)",
            "new blue (ml.m5.xlarge): 1 of 2 instances; Baking: waiting for the canary",
            "corner-prod-ranker-blue-5xx   ranker    blue     ALARM (actions disabled)",
            "corner-prod-ranker-green-5xx  ranker    green    missing",
        ] {
            assert!(human.contains(line), "{line:?} in:\n{human}");
        }
        let json: serde_json::Value = serde_json::from_str(&report.render_json()).unwrap();
        assert_eq!(
            json["endpoints"][0]["deployment"]["variants"][0]["desired_instances"],
            2
        );
        assert_eq!(json["alarms"][0]["state"], "ALARM");
        assert_eq!(json["endpoints"][0]["variants"][3]["shadow"], true);
    }
}
