//! `mlinfra traffic`: each variant's weight and capacity, desired and
//! current, beside the configured ones; and a shift of weights (or one
//! variant's capacity) through UpdateEndpointWeightsAndCapacities, checked
//! against the live endpoint before any change is sent.

use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

use crate::cloud::sagemaker::{self, LiveEndpoint, LiveVariant, VariantChange};
use crate::cloud::{AwsError, Clients, Poll, Waited, poll};
use crate::config::Env;
use crate::config::env::{Endpoint, TrafficControl};
use crate::output::{self, Printer, Report};
use crate::stacks::{self, Layer};

pub const FORMAT_VERSION: u32 = 1;

/// `--set VARIANT=WEIGHT`.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightSetting {
    pub variant: String,
    pub weight: f64,
}

/// `--capacity VARIANT=INSTANCES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacitySetting {
    pub variant: String,
    pub instances: u32,
}

fn split(text: &str, what: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() && !value.trim().is_empty() => {
            Ok((name.trim().to_string(), value.trim().to_string()))
        }
        _ => Err(format!("expected VARIANT={what}, got {text:?}")),
    }
}

impl FromStr for WeightSetting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (variant, value) = split(text, "WEIGHT")?;
        let weight: f64 = value
            .parse()
            .map_err(|_| format!("expected a number as the weight of {variant}, got {value:?}"))?;
        // SageMaker's VariantWeight: a float of at least 0.
        if !weight.is_finite() || weight < 0.0 {
            return Err(format!(
                "the weight of {variant} must be a number of 0 or more, got {value}"
            ));
        }
        Ok(Self { variant, weight })
    }
}

impl FromStr for CapacitySetting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (variant, value) = split(text, "INSTANCES")?;
        let instances: u32 = value.parse().map_err(|_| {
            format!("expected a whole number of instances for {variant}, got {value:?}")
        })?;
        // An instance-based variant serves with at least one instance.
        if instances == 0 || i32::try_from(instances).is_err() {
            return Err(format!(
                "the instance count of {variant} must be 1 to {}, got {value}",
                i32::MAX
            ));
        }
        Ok(Self { variant, instances })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("environment {env} has no endpoint `{name}`; its endpoints: {known}")]
    UnknownEndpoint {
        env: String,
        name: String,
        known: String,
    },
    #[error(
        "endpoint `{name}` is not deployed (no {logical_id} in stack {stack}); run `mlinfra apply --env {env}` first"
    )]
    NotDeployed {
        name: String,
        logical_id: String,
        stack: String,
        env: String,
    },
    #[error("nothing was changed: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error(
        "traffic --set/--capacity needs --yes when standard input is not a terminal (as in CI); nothing was changed"
    )]
    NeedsYes,
    #[error("traffic shift cancelled; nothing was changed")]
    Declined,
    #[error(
        "endpoint {endpoint} is still {status} after {waited_secs} s; the update carries on in SageMaker (see `mlinfra status`)"
    )]
    WaitTimeout {
        endpoint: String,
        status: String,
        waited_secs: u64,
    },
    #[error("endpoint {endpoint} ended the update {status}{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Failed {
        endpoint: String,
        status: String,
        reason: Option<String>,
    },
}

/// One variant as `traffic` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrafficVariant {
    pub name: String,
    pub shadow: bool,
    pub current_weight: Option<f64>,
    pub desired_weight: Option<f64>,
    /// The production traffic this variant receives now, in percent (for a
    /// shadow variant: the share of production requests copied to it).
    pub traffic_percent: Option<f64>,
    pub current_instances: Option<u32>,
    pub desired_instances: Option<u32>,
    /// Serverless: no instance count.
    pub serverless: bool,
    /// `None`: the variant is live but not in the configuration.
    pub configured_weight: Option<f64>,
    pub configured_instances: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrafficReport {
    pub format_version: u32,
    pub env: String,
    pub endpoint: String,
    pub endpoint_name: String,
    pub status: String,
    /// `config` or `external` (`traffic` in the endpoint's configuration).
    pub traffic: TrafficControl,
    pub variants: Vec<TrafficVariant>,
    /// The changes sent, when this run shifted traffic.
    pub changed: Vec<String>,
}

/// The live endpoint of `name`, found through the serving stack.
pub async fn live_endpoint<'e>(
    clients: &Clients,
    env: &'e Env,
    name: &str,
) -> Result<(&'e Endpoint, LiveEndpoint), TrafficError> {
    let endpoint = env
        .endpoint(name)
        .ok_or_else(|| TrafficError::UnknownEndpoint {
            env: env.name.clone(),
            name: name.to_string(),
            known: if env.endpoints.is_empty() {
                "none".to_string()
            } else {
                env.endpoints
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })?;
    let stack = stacks::stack_name(env, Layer::Serving);
    let not_deployed = || TrafficError::NotDeployed {
        name: name.to_string(),
        logical_id: endpoint.ids.endpoint.clone(),
        stack: stack.clone(),
        env: env.name.clone(),
    };
    let deployed = clients.cfn.deployed_stack(&stack).await?;
    let physical_id = deployed
        .as_ref()
        .and_then(|s| s.physical_id(&endpoint.ids.endpoint))
        .ok_or_else(not_deployed)?;
    let live_name = crate::drift::sagemaker::name_from_arn(physical_id, "endpoint");
    let live = sagemaker::describe_endpoint(&clients.sagemaker, live_name)
        .await?
        .ok_or_else(not_deployed)?;
    Ok((endpoint, live))
}

/// The weight a variant is going to: the requested one while an update runs.
fn weight(v: &LiveVariant) -> f64 {
    v.desired_weight.or(v.current_weight).unwrap_or(0.0)
}

/// Production weights as shares of 100; `None` where they sum to 0.
fn shares(weights: &[(&str, f64)]) -> Vec<(String, Option<f64>)> {
    let total: f64 = weights.iter().map(|(_, w)| w).sum();
    weights
        .iter()
        .map(|(n, w)| {
            (
                n.to_string(),
                (total > 0.0).then(|| (w / total * 1000.0).round() / 10.0),
            )
        })
        .collect()
}

fn percent(share: Option<f64>) -> String {
    share.map_or("-".to_string(), |s| format!("{s}%"))
}

/// Checks the settings against the live endpoint and turns them into the
/// changes to send: every problem at once, nothing sent when there is one.
pub fn changes(
    env: &Env,
    endpoint: &Endpoint,
    live: &LiveEndpoint,
    weights: &[WeightSetting],
    capacities: &[CapacitySetting],
) -> Result<Vec<VariantChange>, TrafficError> {
    let mut problems = Vec::new();
    let production: Vec<&LiveVariant> = live.variants.iter().filter(|v| !v.shadow).collect();
    let known = production
        .iter()
        .map(|v| v.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let names = weights.iter().map(|w| (w.variant.as_str(), "--set")).chain(
        capacities
            .iter()
            .map(|c| (c.variant.as_str(), "--capacity")),
    );
    let mut seen = std::collections::BTreeSet::new();
    for (name, flag) in names {
        if !seen.insert((name, flag)) {
            problems.push(format!("{flag} names variant {name} twice"));
        }
        match live.variant(name) {
            None => problems.push(format!(
                "endpoint {} has no variant {name:?} (its production variants: {known})",
                live.name
            )),
            Some(v) if v.shadow => problems.push(format!(
                "{name} is a shadow variant: UpdateEndpointWeightsAndCapacities changes production \
                 variants only; its sampled share and capacity come from the endpoint config \
                 (environments/{}.toml, then mlinfra apply)",
                env.name
            )),
            Some(v) if flag == "--capacity" && v.serverless => problems.push(format!(
                "{name} is a serverless variant: it has no instance count to set"
            )),
            Some(_) => {}
        }
    }
    // SageMaker's rule: weights of several variants, capacity of one.
    if capacities.len() > 1 {
        problems.push(format!(
            "--capacity names {} variants: SageMaker changes the capacity of one variant per call",
            capacities.len()
        ));
    }
    let after: Vec<(&str, f64)> = production
        .iter()
        .map(|v| {
            let set = weights.iter().rev().find(|w| w.variant == v.name);
            (v.name.as_str(), set.map_or_else(|| weight(v), |w| w.weight))
        })
        .collect();
    if !weights.is_empty() && after.iter().all(|(_, w)| *w == 0.0) {
        problems.push(format!(
            "the production weights would all be 0 ({}): no variant would receive traffic",
            after
                .iter()
                .map(|(n, w)| format!("{n}={w}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !live.in_service() {
        problems.push(format!(
            "endpoint {} is {}: SageMaker takes a weight or capacity change only when it is InService",
            live.name, live.status
        ));
    }
    if endpoint.variants.is_empty() {
        problems.push(format!(
            "endpoint {} has no production variants",
            endpoint.name
        ));
    }
    if !problems.is_empty() {
        return Err(TrafficError::Invalid(problems));
    }
    let mut changes: Vec<VariantChange> = Vec::new();
    for variant in &production {
        let weight_set = weights.iter().rev().find(|w| w.variant == variant.name);
        let capacity_set = capacities.iter().find(|c| c.variant == variant.name);
        let change = VariantChange {
            variant: variant.name.clone(),
            weight: weight_set
                .map(|w| w.weight)
                .filter(|w| Some(*w) != variant.desired_weight.or(variant.current_weight)),
            instances: capacity_set
                .map(|c| c.instances)
                .filter(|n| Some(*n) != variant.desired_instances.or(variant.current_instances)),
        };
        if change.weight.is_some() || change.instances.is_some() {
            changes.push(change);
        }
    }
    Ok(changes)
}

/// What a change does, in words: `v2: weight 1 → 20 (traffic 50% → 20%)`.
pub fn describe(live: &LiveEndpoint, changes: &[VariantChange]) -> Vec<String> {
    let production: Vec<&LiveVariant> = live.variants.iter().filter(|v| !v.shadow).collect();
    let before: Vec<(&str, f64)> = production
        .iter()
        .map(|v| (v.name.as_str(), weight(v)))
        .collect();
    let after: Vec<(&str, f64)> = production
        .iter()
        .map(|v| {
            let set = changes
                .iter()
                .find(|c| c.variant == v.name)
                .and_then(|c| c.weight);
            (v.name.as_str(), set.unwrap_or_else(|| weight(v)))
        })
        .collect();
    let (was, now) = (shares(&before), shares(&after));
    changes
        .iter()
        .map(|c| {
            let v = live
                .variant(&c.variant)
                .expect("changes name live variants");
            let i = production
                .iter()
                .position(|p| p.name == c.variant)
                .unwrap_or(0);
            let mut parts = Vec::new();
            if let Some(w) = c.weight {
                parts.push(format!(
                    "weight {} → {w} (traffic {} → {})",
                    weight(v),
                    percent(was[i].1),
                    percent(now[i].1)
                ));
            }
            if let Some(n) = c.instances {
                let from = v
                    .desired_instances
                    .or(v.current_instances)
                    .map_or("-".to_string(), |n| n.to_string());
                parts.push(format!("instances {from} → {n}"));
            }
            format!("{}: {}", c.variant, parts.join(", "))
        })
        .collect()
}

pub fn report(
    env: &Env,
    endpoint: &Endpoint,
    live: &LiveEndpoint,
    changed: Vec<String>,
) -> TrafficReport {
    let production: Vec<(&str, f64)> = live
        .variants
        .iter()
        .filter(|v| !v.shadow)
        .map(|v| (v.name.as_str(), v.current_weight.unwrap_or(0.0)))
        .collect();
    let production_total: f64 = production.iter().map(|(_, w)| w).sum();
    let shares = shares(&production);
    let variants = live
        .variants
        .iter()
        .map(|v| {
            let configured = endpoint.all_variants().find(|c| c.name == v.name);
            let traffic_percent = if v.shadow {
                // The sampled share: shadow weight over the production weight, at most all of it.
                v.current_weight
                    .filter(|_| production_total > 0.0)
                    .map(|w| ((w / production_total).min(1.0) * 1000.0).round() / 10.0)
            } else {
                shares
                    .iter()
                    .find(|(n, _)| *n == v.name)
                    .and_then(|(_, s)| *s)
            };
            TrafficVariant {
                name: v.name.clone(),
                shadow: v.shadow,
                current_weight: v.current_weight,
                desired_weight: v.desired_weight,
                traffic_percent,
                current_instances: v.current_instances,
                desired_instances: v.desired_instances,
                serverless: v.serverless,
                configured_weight: configured.map(|c| c.weight),
                configured_instances: configured
                    .filter(|_| !v.serverless)
                    .map(|c| c.initial_instance_count),
            }
        })
        .collect();
    TrafficReport {
        format_version: FORMAT_VERSION,
        env: env.name.clone(),
        endpoint: endpoint.name.clone(),
        endpoint_name: live.name.clone(),
        status: live.status.clone(),
        traffic: endpoint.traffic,
        variants,
        changed,
    }
}

/// How long a weight or capacity change may take: new instances start in
/// minutes; a weight alone settles in seconds.
pub fn update_poll() -> Poll {
    Poll {
        first: Duration::from_secs(2),
        max: Duration::from_secs(15),
        timeout: Duration::from_secs(30 * 60),
    }
}

/// Whether an update has settled: InService, every desired value reached.
fn settled(endpoint: &LiveEndpoint) -> bool {
    endpoint.in_service()
        && endpoint.variants.iter().all(|v| {
            v.desired_weight.is_none_or(|d| Some(d) == v.current_weight)
                && v.desired_instances
                    .is_none_or(|d| Some(d) == v.current_instances)
        })
}

/// Sends the changes and waits until the endpoint is InService again with
/// every desired value reached (the one poll loop of `cloud::poll`).
pub async fn shift(
    clients: &Clients,
    printer: &Printer,
    live: &LiveEndpoint,
    changes: &[VariantChange],
    wait: &Poll,
) -> Result<LiveEndpoint, TrafficError> {
    sagemaker::update_weights_and_capacities(&clients.sagemaker, &live.name, changes).await?;
    printer.notice(&format!(
        "endpoint {}: update sent; waiting for it to be InService",
        live.name
    ));
    let name = live.name.as_str();
    let waited = poll::until(wait, || async move {
        let now = sagemaker::describe_endpoint(&clients.sagemaker, name)
            .await?
            .ok_or_else(|| TrafficError::Failed {
                endpoint: name.to_string(),
                status: "deleted".to_string(),
                reason: None,
            })?;
        printer.detail(&format!("endpoint {name}: {}", now.status));
        match now.status.as_str() {
            "Failed" | "OutOfService" => Err(TrafficError::Failed {
                endpoint: name.to_string(),
                status: now.status.clone(),
                reason: now.failure_reason.clone(),
            }),
            _ if settled(&now) => Ok(Some(now)),
            _ => Ok(None),
        }
    })
    .await?;
    match waited {
        Waited::Ready(done) => Ok(done),
        Waited::TimedOut(after) => Err(TrafficError::WaitTimeout {
            endpoint: live.name.clone(),
            status: "Updating".to_string(),
            waited_secs: after.as_secs(),
        }),
    }
}

impl Report for TrafficReport {
    fn kind(&self) -> &'static str {
        "traffic report"
    }

    fn human(&self, _: &Printer) -> String {
        self.render_human()
    }

    fn json(&self) -> String {
        output::json_text(self)
    }
}

/// A live value, and where it is going while it differs.
fn moving<T: PartialEq + std::fmt::Display>(current: Option<T>, desired: Option<T>) -> String {
    match (current, desired) {
        (Some(c), Some(d)) if c != d => format!("{c} (→ {d})"),
        (Some(c), _) => c.to_string(),
        (None, Some(d)) => format!("- (→ {d})"),
        (None, None) => "-".to_string(),
    }
}

impl TrafficReport {
    pub fn render_human(&self) -> String {
        let mut text = format!(
            "endpoint {} ({}) in {}: {}\n",
            self.endpoint, self.endpoint_name, self.env, self.status
        );
        for change in &self.changed {
            text.push_str(&format!("  changed {change}\n"));
        }
        text.push('\n');
        let rows = self.variants.iter().map(|v| {
            let instances = if v.serverless {
                "serverless".to_string()
            } else {
                moving(v.current_instances, v.desired_instances)
            };
            let configured = match (v.configured_weight, v.configured_instances) {
                (None, _) => "not configured".to_string(),
                (Some(w), Some(n)) => {
                    format!("weight {w}, {n} instance{}", if n == 1 { "" } else { "s" })
                }
                (Some(w), None) => format!("weight {w}"),
            };
            [
                v.name.clone(),
                if v.shadow { "shadow" } else { "production" }.to_string(),
                moving(v.current_weight, v.desired_weight),
                percent(v.traffic_percent),
                instances,
                configured,
            ]
        });
        text.push_str(&output::table(
            &[
                "VARIANT",
                "KIND",
                "WEIGHT",
                "TRAFFIC",
                "INSTANCES",
                "CONFIGURED",
            ],
            rows,
        ));
        if self.traffic == TrafficControl::External {
            text.push_str("weights and counts are managed outside the configuration (traffic = \"external\")\n");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(name: &str, shadow: bool, weight: f64, instances: Option<u32>) -> LiveVariant {
        LiveVariant {
            name: name.into(),
            shadow,
            current_weight: Some(weight),
            desired_weight: Some(weight),
            current_instances: instances,
            desired_instances: instances,
            serverless: instances.is_none(),
        }
    }

    fn live(variants: Vec<LiveVariant>) -> LiveEndpoint {
        LiveEndpoint {
            name: "dogbreed-dev-dogbreed".into(),
            status: "InService".into(),
            failure_reason: None,
            endpoint_config: "config".into(),
            variants,
            pending: None,
        }
    }

    fn set(text: &str) -> WeightSetting {
        text.parse().unwrap()
    }

    fn capacity(text: &str) -> CapacitySetting {
        text.parse().unwrap()
    }

    fn problems(result: Result<Vec<VariantChange>, TrafficError>) -> String {
        match result {
            Err(TrafficError::Invalid(problems)) => problems.join("\n"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn settings_parse_or_say_what_was_expected() {
        assert_eq!(
            set("green=20"),
            WeightSetting {
                variant: "green".into(),
                weight: 20.0
            }
        );
        assert_eq!(capacity("blue=3").instances, 3);
        for (text, says) in [
            ("green", "expected VARIANT=WEIGHT"),
            ("green=-1", "0 or more"),
            ("green=NaN", "0 or more"),
            ("green=lots", "expected a number"),
        ] {
            let error = text.parse::<WeightSetting>().unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
        for text in ["blue=0", "blue=2147483648", "blue=1.5"] {
            assert!(text.parse::<CapacitySetting>().is_err(), "{text}");
        }
    }

    #[test]
    fn a_shift_is_checked_against_the_live_endpoint_before_anything_is_sent() {
        let (env, _) = crate::render::example("dev");
        let endpoint = &env.endpoints[0];
        let ab = live(vec![
            variant("blue", false, 9.0, Some(1)),
            variant("green", false, 1.0, Some(1)),
            variant("shadow", true, 1.0, Some(1)),
        ]);
        let changes = changes(
            &env,
            endpoint,
            &ab,
            &[set("green=20"), set("blue=80")],
            &[capacity("green=2")],
        )
        .unwrap();
        assert_eq!(
            changes,
            vec![
                VariantChange {
                    variant: "blue".into(),
                    weight: Some(80.0),
                    instances: None
                },
                VariantChange {
                    variant: "green".into(),
                    weight: Some(20.0),
                    instances: Some(2)
                },
            ]
        );
        assert_eq!(
            describe(&ab, &changes),
            vec![
                "blue: weight 9 → 80 (traffic 90% → 80%)".to_string(),
                "green: weight 1 → 20 (traffic 10% → 20%), instances 1 → 2".to_string(),
            ]
        );
        // What already holds is not sent again.
        assert_eq!(changes_of(&env, &ab, &[set("blue=9")], &[]), Vec::new());

        let refused = problems(super::changes(
            &env,
            endpoint,
            &ab,
            &[set("purple=1"), set("shadow=5")],
            &[capacity("blue=2"), capacity("green=2")],
        ));
        assert!(
            refused.contains("no variant \"purple\" (its production variants: blue, green)"),
            "{refused}"
        );
        assert!(refused.contains("shadow is a shadow variant"), "{refused}");
        assert!(
            refused.contains("capacity of one variant per call"),
            "{refused}"
        );

        let refused = problems(super::changes(
            &env,
            endpoint,
            &ab,
            &[set("blue=0"), set("green=0")],
            &[],
        ));
        assert!(
            refused.contains("would all be 0 (blue=0, green=0)"),
            "{refused}"
        );

        let serverless = live(vec![variant("AllTraffic", false, 1.0, None)]);
        let refused = problems(super::changes(
            &env,
            endpoint,
            &serverless,
            &[],
            &[capacity("AllTraffic=2")],
        ));
        assert!(refused.contains("serverless variant"), "{refused}");

        let mut updating = ab.clone();
        updating.status = "Updating".into();
        let refused = problems(super::changes(
            &env,
            endpoint,
            &updating,
            &[set("green=2")],
            &[],
        ));
        assert!(refused.contains("is Updating"), "{refused}");
    }

    fn changes_of(
        env: &Env,
        live: &LiveEndpoint,
        weights: &[WeightSetting],
        capacities: &[CapacitySetting],
    ) -> Vec<VariantChange> {
        changes(env, &env.endpoints[0], live, weights, capacities).unwrap()
    }

    #[test]
    fn the_report_shows_shares_and_a_variant_without_instances() {
        let (env, _) = crate::render::example("dev");
        let endpoint = &env.endpoints[0];
        let mut moving = variant("AllTraffic", false, 3.0, Some(1));
        moving.desired_instances = Some(2);
        let report = report(
            &env,
            endpoint,
            &live(vec![moving, variant("green", false, 1.0, None)]),
            Vec::new(),
        );
        assert_eq!(report.format_version, FORMAT_VERSION);
        assert_eq!(report.variants[0].traffic_percent, Some(75.0));
        assert_eq!(report.variants[0].configured_weight, Some(1.0));
        assert_eq!(report.variants[1].configured_weight, None);
        let human = report.render_human();
        assert!(human.contains("1 (→ 2)"), "{human}");
        assert!(human.contains("serverless"), "{human}");
        assert!(human.contains("not configured"), "{human}");
    }
}
