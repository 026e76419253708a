//! What a plan says about an endpoint update that CloudFormation's change
//! set does not: each variant's weight and capacity before and after, and
//! whether the update is a guarded blue/green deployment — how long its
//! waits take, which alarms roll it back, what the second fleet costs.

use serde_json::Value;

use super::model::Warning;
use crate::config::Env;
use crate::config::env::{Endpoint, TrafficShift, Variant};
use crate::cost::PriceTable;
use crate::template::Template;
use crate::template::value::one_or_many;

/// A variant as a template declares it.
#[derive(Debug, Clone, PartialEq)]
struct Declared {
    name: String,
    weight: f64,
    instances: u64,
    instance_type: String,
    scaling: Option<(u64, u64)>,
}

fn declared(template: &Value, endpoint: &Endpoint) -> Option<Vec<Declared>> {
    let t = Template::new(template);
    let config = t.resource(&endpoint.ids.config)?;
    let mut all = one_or_many(config.prop("ProductionVariants"));
    all.extend(one_or_many(config.prop("ShadowProductionVariants")));
    Some(
        all.into_iter()
            .map(|v| {
                let name = v["VariantName"].as_str().unwrap_or_default().to_string();
                let resource_id =
                    crate::template::ids::variant_resource_id(&endpoint.endpoint_name, &name);
                let scaling = t
                    .of_type("AWS::ApplicationAutoScaling::ScalableTarget")
                    .find(|s| {
                        s.prop("ResourceId").and_then(Value::as_str) == Some(resource_id.as_str())
                    })
                    .and_then(|s| {
                        Some((
                            s.prop("MinCapacity")?.as_u64()?,
                            s.prop("MaxCapacity")?.as_u64()?,
                        ))
                    });
                Declared {
                    weight: v["InitialVariantWeight"].as_f64().unwrap_or(1.0),
                    instances: v["InitialInstanceCount"].as_u64().unwrap_or(0),
                    instance_type: v["InstanceType"].as_str().unwrap_or_default().to_string(),
                    scaling,
                    name,
                }
            })
            .collect(),
    )
}

fn share(weight: f64, all: &[Declared]) -> String {
    let total: f64 = all.iter().map(|d| d.weight).sum();
    if total > 0.0 {
        format!("{:.0}%", weight / total * 100.0)
    } else {
        "0%".into()
    }
}

fn bounds(scaling: Option<(u64, u64)>) -> String {
    scaling.map_or("none".into(), |(min, max)| format!("{min}–{max}"))
}

/// Weight, instance and autoscaling changes of each variant; added and removed variants.
fn variant_changes(before: &[Declared], after: &[Declared]) -> Vec<String> {
    let mut out = Vec::new();
    for a in after {
        let Some(b) = before.iter().find(|b| b.name == a.name) else {
            out.push(format!(
                "variant {} added: {} × {}, weight {} ({} of traffic)",
                a.name,
                a.instances,
                a.instance_type,
                a.weight,
                share(a.weight, after)
            ));
            continue;
        };
        let mut parts = Vec::new();
        let (was, now) = (share(b.weight, before), share(a.weight, after));
        if b.weight != a.weight || was != now {
            parts.push(format!(
                "weight {} → {} (traffic {was} → {now})",
                b.weight, a.weight
            ));
        }
        if b.instances != a.instances || b.instance_type != a.instance_type {
            parts.push(format!(
                "instances {} × {} → {} × {}",
                b.instances, b.instance_type, a.instances, a.instance_type
            ));
        }
        if b.scaling != a.scaling {
            parts.push(format!(
                "autoscaling {} → {}",
                bounds(b.scaling),
                bounds(a.scaling)
            ));
        }
        if !parts.is_empty() {
            out.push(format!("variant {}: {}", a.name, parts.join("; ")));
        }
    }
    for b in before
        .iter()
        .filter(|b| !after.iter().any(|a| a.name == b.name))
    {
        out.push(format!(
            "variant {} removed ({} × {})",
            b.name, b.instances, b.instance_type
        ));
    }
    out
}

fn minutes(seconds: u64) -> String {
    let m = seconds.div_ceil(60);
    if m >= 60 {
        format!("{}h{:02}m", m / 60, m % 60)
    } else {
        format!("{m} min")
    }
}

/// What the second fleet costs per hour while both run: every variant at
/// its initial count.
fn second_fleet(variants: &[&Variant], prices: &PriceTable) -> String {
    let mut total = 0.0;
    let mut unpriced = Vec::new();
    // Serverless variants bill per request, not per fleet.
    let variants: Vec<&Variant> = variants
        .iter()
        .copied()
        .filter(|v| v.serverless.is_none())
        .collect();
    for v in &variants {
        match prices.hourly(&v.instance_type) {
            Some(p) => total += p * f64::from(v.initial_instance_count),
            None => unpriced.push(v.instance_type.as_str()),
        }
    }
    let fleet: Vec<String> = variants
        .iter()
        .map(|v| format!("{} × {}", v.initial_instance_count, v.instance_type))
        .collect();
    if unpriced.is_empty() {
        format!(
            "about ${total:.2}/h more while both fleets run (new fleet: {}; {})",
            fleet.join(" + "),
            prices.origin.describe()
        )
    } else {
        format!(
            "a second fleet ({}) while both run; no price for {} (run `mlinfra prices update --region {}` or add it under [prices])",
            fleet.join(" + "),
            unpriced.join(", "),
            prices.origin.region
        )
    }
}

fn deployment_note(endpoint: &Endpoint, before: &[Declared], prices: &PriceTable) -> String {
    let variants: Vec<&Variant> = endpoint.all_variants().collect();
    let renamed = variants
        .iter()
        .any(|v| !before.iter().any(|b| b.name == v.name));
    let Some(d) = &endpoint.deployment else {
        return format!(
            "updating endpoint {} replaces its fleet with SageMaker's default blue/green deployment: all \
             traffic at once, no baking period, no alarms to roll it back; {}",
            endpoint.endpoint_name,
            second_fleet(&variants, prices)
        );
    };
    let shift = match d.shift {
        TrafficShift::AllAtOnce => format!(
            "all traffic at once, then baking {}",
            minutes(d.wait_seconds)
        ),
        TrafficShift::Canary { percent } => format!(
            "a canary of {percent}% of capacity baking {}, then the rest baking {}",
            minutes(d.wait_seconds),
            minutes(d.wait_seconds)
        ),
        TrafficShift::Linear { percent } => format!(
            "{} steps of {percent}% of capacity, {} apart",
            d.shift.steps(),
            minutes(d.wait_seconds)
        ),
    };
    let alarms = if d.rollback_alarms.is_empty() {
        "no alarms roll it back".to_string()
    } else {
        let names: Vec<&str> = d.rollback_alarms.iter().map(|a| a.name.as_str()).collect();
        format!("rolled back by {}", names.join(", "))
    };
    let mut note = format!(
        "updating endpoint {} is a guarded blue/green deployment: {shift}; the old fleet ends {} later; \
         waits {} after the new fleet is up, at most {} in all; {alarms}; {}",
        endpoint.endpoint_name,
        minutes(d.termination_wait_seconds),
        minutes(d.waiting_seconds()),
        minutes(d.max_execution_seconds),
        second_fleet(&variants, prices)
    );
    if renamed {
        note.push_str(
            "; a variant is renamed, so SageMaker cannot shift traffic gradually and falls back to all at once",
        );
    }
    note
}

/// Notes for the serving stack of `env`: per endpoint that is deployed and changes.
pub fn notes(
    env: &Env,
    stack: &str,
    old: &Value,
    new: &Value,
    prices: &PriceTable,
) -> Vec<Warning> {
    let mut out = Vec::new();
    for endpoint in &env.endpoints {
        let (Some(before), Some(after)) = (declared(old, endpoint), declared(new, endpoint)) else {
            continue;
        };
        for change in variant_changes(&before, &after) {
            out.push(Warning {
                stack: stack.to_string(),
                logical_id: endpoint.ids.config.clone(),
                message: format!("endpoint {}: {change}", endpoint.endpoint_name),
                advice: "weights and counts come from the configuration; autoscaling moves counts \
                         within its bounds afterwards"
                    .to_string(),
            });
        }
        let fleet_changes = endpoint_changes(old, new, endpoint);
        if fleet_changes {
            out.push(Warning {
                stack: stack.to_string(),
                logical_id: endpoint.ids.endpoint.clone(),
                message: deployment_note(endpoint, &before, prices),
                advice: "follow it with `mlinfra status`; a rollback leaves the old fleet serving"
                    .to_string(),
            });
        }
    }
    out
}

/// The endpoint moves to a new config (a new fleet) when its config or any
/// of its variants' models changes: both are immutable and replaced.
fn endpoint_changes(old: &Value, new: &Value, endpoint: &Endpoint) -> bool {
    let (o, n) = (Template::new(old), Template::new(new));
    let props = |t: &Template, id: &str| t.resource(id).map(|r| r.props().clone());
    std::iter::once(endpoint.ids.config.as_str())
        .chain(endpoint.all_variants().map(|v| v.ids.model.as_str()))
        .any(|id| props(&o, id) != props(&n, id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn variant(name: &str, weight: f64, instances: u64) -> Declared {
        Declared {
            name: name.into(),
            weight,
            instances,
            instance_type: "ml.m5.large".into(),
            scaling: None,
        }
    }

    #[test]
    fn weight_and_capacity_changes_are_told_per_variant() {
        let before = [variant("blue", 9.0, 2), variant("green", 1.0, 1)];
        let mut green = variant("green", 1.0, 2);
        green.scaling = Some((1, 4));
        let after = [variant("blue", 1.0, 2), green];
        assert_eq!(
            variant_changes(&before, &after),
            vec![
                "variant blue: weight 9 → 1 (traffic 90% → 50%)".to_string(),
                "variant green: weight 1 → 1 (traffic 10% → 50%); instances 1 × ml.m5.large → 2 × ml.m5.large; autoscaling none → 1–4".to_string(),
            ]
        );
        let removed = variant_changes(&before, &after[..1]);
        assert!(
            removed
                .iter()
                .any(|c| c == "variant green removed (1 × ml.m5.large)"),
            "{removed:?}"
        );
    }

    #[test]
    fn variants_are_read_from_a_template() {
        let env = crate::config::load_env(&crate::project::Project::Example, "prod").unwrap();
        let endpoint = &env.endpoints[0];
        let template = json!({"Resources": {
            endpoint.ids.config.clone(): {"Type": "AWS::SageMaker::EndpointConfig", "Properties": {
                "ProductionVariants": [{"VariantName": "AllTraffic", "InstanceType": "ml.m5.xlarge",
                    "InitialInstanceCount": 2, "InitialVariantWeight": 1}]}}}});
        let found = declared(&template, endpoint).unwrap();
        assert_eq!(
            found,
            vec![Declared {
                name: "AllTraffic".into(),
                weight: 1.0,
                instances: 2,
                instance_type: "ml.m5.xlarge".into(),
                scaling: None,
            }]
        );
    }

    #[test]
    fn a_new_model_under_a_canary_is_planned_as_a_guarded_deployment() {
        use crate::project::Project;
        use crate::render::{Engine, render_env};
        let project = Project::Dir(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check/corners"),
        );
        let env = crate::config::load_env(&project, "serving").unwrap();
        let engine = Engine::new(&project).unwrap();
        let serving = |env: &Env| {
            render_env(&engine, env)
                .unwrap()
                .into_iter()
                .find(|s| s.spec.layer == crate::stacks::Layer::Serving)
                .unwrap()
                .template
                .value
        };
        let new = serving(&env);
        // Deployed: the current variant served another model at weight 1.
        let mut deployed = env.clone();
        let ranker = &mut deployed.endpoints[0].variants[1];
        assert_eq!(ranker.name, "current");
        ranker.model_data.key = "ranker/v0/model.tar.gz".into();
        ranker.weight = 1.0;
        let old = serving(&deployed);
        let notes = notes(
            &env,
            "corner-serving-serving",
            &old,
            &new,
            &PriceTable::for_env(&env),
        );
        let messages: Vec<&str> = notes.iter().map(|n| n.message.as_str()).collect();
        assert!(
            messages.contains(
                &"endpoint corner-serving-ranker: variant current: weight 1 → 9 (traffic 50% → 90%)"
            ),
            "{messages:#?}"
        );
        let guarded = messages
            .iter()
            .find(|m| m.contains("corner-serving-ranker is a guarded blue/green deployment"))
            .unwrap_or_else(|| panic!("{messages:#?}"));
        for part in [
            "a canary of 10% of capacity baking 10 min, then the rest baking 10 min",
            "the old fleet ends 5 min later",
            "waits 25 min after the new fleet is up, at most 55 min in all",
            "rolled back by corner-serving-ranker-candidate-5xx-errors, corner-serving-ranker-candidate-latency-p99",
            "about $0.82/h more while both fleets run (new fleet: 1 × ml.c5.2xlarge + 2 × ml.c5.xlarge; \
             eu-west-1 prices of 2025-01 (shipped table))",
        ] {
            assert!(guarded.contains(part), "{part:?} not in {guarded}");
        }
        // The shadowed endpoint did not change: nothing is said of it.
        assert!(
            !messages.iter().any(|m| m.contains("shadowed")),
            "{messages:#?}"
        );
    }
}
