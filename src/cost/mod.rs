//! Cost estimate of an environment from a dated price table: monthly cost of
//! each endpoint at its minimum and maximum capacity, and the cost of one
//! training run on demand and at the spot worst case.

pub mod serverless;
pub mod table;
pub mod templates;

use serde::{Deserialize, Serialize};

pub use table::{PriceTable, TableOrigin, Use};
use templates::{TrainingUnits, VariantUnits};

/// Managed spot discount typically seen for training (ml.p2.xlarge was
/// quoted at 0.37 USD/h against 1.26 on demand: about 70% off). Spot prices
/// move with demand; the worst case is the on-demand price.
pub const TYPICAL_SPOT_DISCOUNT: f64 = 0.7;
/// Hours in an average month (365 × 24 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointCost {
    pub endpoint: String,
    pub instance_type: String,
    pub min_instances: u32,
    pub max_instances: u32,
    /// `None` when the instance type has no price.
    pub monthly_at_min: Option<f64>,
    pub monthly_at_max: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingCost {
    pub job: String,
    pub instance_type: String,
    pub instance_count: u32,
    /// Training jobs per run: a tuning run starts up to its `max_jobs`.
    #[serde(default = "one")]
    pub jobs: u32,
    /// A run that uses all of `max_runtime` on demand, every job of it.
    pub on_demand_run: Option<f64>,
    /// Managed spot, typical: the shipped table's quoted spot discount applied.
    pub spot_typical_run: Option<f64>,
    /// Managed spot, worst case: spot bills training time only, at most
    /// `max_runtime`, and never above the on-demand rate; the run may take up to
    /// `max_wait` to finish.
    pub spot_worst_case_run: Option<f64>,
    pub spot_max_wait_hours: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostEstimate {
    pub endpoints: Vec<EndpointCost>,
    pub training: Vec<TrainingCost>,
    /// Serverless variants: compute per GB-second at the expected traffic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serverless: Vec<serverless::ServerlessCost>,
    /// Instance types without a price: `mlinfra prices update`, or `[prices]` in the config.
    pub unpriced: Vec<String>,
    /// The price table's region and date (absent from plans written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prices: Option<TableOrigin>,
}

impl CostEstimate {
    /// Sum of endpoint costs at minimum capacity; `None` when any is unpriced.
    pub fn monthly_at_min(&self) -> Option<f64> {
        self.endpoints.iter().map(|e| e.monthly_at_min).sum()
    }

    pub fn monthly_at_max(&self) -> Option<f64> {
        self.endpoints.iter().map(|e| e.monthly_at_max).sum()
    }
}

fn one() -> u32 {
    1
}

fn hours(seconds: u64) -> f64 {
    seconds as f64 / 3600.0
}

/// What the templates of an environment cost (serving and training stacks).
pub fn estimate(
    variants: &[VariantUnits],
    training: &[TrainingUnits],
    table: &PriceTable,
) -> CostEstimate {
    let mut unpriced = Vec::new();
    let mut price = |purpose: Use, instance_type: &str| {
        let found = table.price(purpose, instance_type);
        if found.is_none() && !unpriced.iter().any(|u| u == instance_type) {
            unpriced.push(instance_type.to_string());
        }
        found
    };
    let endpoints = variants
        .iter()
        .map(|v| {
            let hourly = price(Use::Hosting, &v.instance_type);
            EndpointCost {
                endpoint: v.endpoint.clone(),
                instance_type: v.instance_type.clone(),
                min_instances: v.min,
                max_instances: v.max,
                monthly_at_min: hourly.map(|p| p * HOURS_PER_MONTH * f64::from(v.min)),
                monthly_at_max: hourly.map(|p| p * HOURS_PER_MONTH * f64::from(v.max)),
            }
        })
        .collect();
    let training = training
        .iter()
        .map(|t| {
            let hourly =
                price(Use::Training, &t.instance_type).map(|p| p * f64::from(t.instance_count));
            let on_demand_run =
                hourly.map(|p| p * hours(t.max_runtime_seconds) * f64::from(t.jobs));
            let spot = t.max_wait_seconds;
            TrainingCost {
                job: t.pipeline.clone(),
                instance_type: t.instance_type.clone(),
                instance_count: t.instance_count,
                jobs: t.jobs,
                on_demand_run,
                spot_typical_run: spot
                    .and(on_demand_run.map(|c| c * (1.0 - TYPICAL_SPOT_DISCOUNT))),
                spot_worst_case_run: spot.and(on_demand_run),
                spot_max_wait_hours: spot.map(hours),
            }
        })
        .collect();
    CostEstimate {
        endpoints,
        training,
        serverless: Vec::new(),
        unpriced,
        prices: Some(table.origin.clone()),
    }
}

/// The estimate of one set of templates (either may be absent: not deployed).
pub fn estimate_templates(
    serving: Option<&serde_json::Value>,
    training: Option<&serde_json::Value>,
    table: &PriceTable,
) -> CostEstimate {
    let variants = serving.map(templates::variants).unwrap_or_default();
    let jobs = training.map(templates::training).unwrap_or_default();
    let mut cost = estimate(&variants, &jobs, table);
    let units = serving.map(serverless::units).unwrap_or_default();
    cost.serverless = serverless::estimate(&units, |endpoint, variant| {
        table
            .serverless_traffic
            .get(&format!("{endpoint}/{variant}"))
            .cloned()
    });
    cost
}

/// What the rendered stacks of an environment cost.
pub fn estimate_rendered(
    rendered: &[crate::render::RenderedStack],
    table: &PriceTable,
) -> CostEstimate {
    let layer = |l: crate::stacks::Layer| {
        rendered
            .iter()
            .find(|s| s.spec.layer == l)
            .map(|s| &s.template.value)
    };
    estimate_templates(
        layer(crate::stacks::Layer::Serving),
        layer(crate::stacks::Layer::Training),
        table,
    )
}

/// What a plan changes in cost: the deployed templates against the rendered ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostDelta {
    /// `None` when neither serving nor training is deployed yet.
    pub before: Option<CostEstimate>,
    pub after: CostEstimate,
}

/// `$1,234.56`, or `unpriced`.
pub fn usd(amount: Option<f64>) -> String {
    match amount {
        None => "unpriced".into(),
        Some(a) => {
            let cents = (a * 100.0).round() as u64;
            let dollars = cents / 100;
            let mut grouped = String::new();
            for (i, c) in dollars.to_string().chars().rev().enumerate() {
                if i > 0 && i % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            format!(
                "${}.{:02}",
                grouped.chars().rev().collect::<String>(),
                cents % 100
            )
        }
    }
}

/// Human table of an estimate (and, given the deployed estimate, the monthly delta).
pub fn render_human(estimate: &CostEstimate, before: Option<&CostEstimate>) -> String {
    let mut text = match &estimate.prices {
        Some(origin) => format!(
            "Cost estimate (on-demand list prices; {}):\n",
            origin.describe()
        ),
        None => String::from("Cost estimate (on-demand list prices):\n"),
    };
    // Names line up however long they are.
    let width = estimate
        .endpoints
        .iter()
        .map(|e| e.endpoint.chars().count())
        .chain(estimate.training.iter().map(|t| t.job.chars().count()))
        .max()
        .unwrap_or(0)
        .max(16);
    for e in &estimate.endpoints {
        text.push_str(&format!(
            "  endpoint {:<width$} {} × {}–{}: {} to {} per month\n",
            e.endpoint,
            e.instance_type,
            e.min_instances,
            e.max_instances,
            usd(e.monthly_at_min),
            usd(e.monthly_at_max)
        ));
    }
    for s in &estimate.serverless {
        text.push_str(&serverless::render_line(s, width));
    }
    for t in &estimate.training {
        let spot = match t.spot_max_wait_hours {
            Some(wait) => format!(
                "; spot typically {}, at most {} (done within {wait:.1} h)",
                usd(t.spot_typical_run),
                usd(t.spot_worst_case_run)
            ),
            None => String::new(),
        };
        let tuning = if t.jobs > 1 {
            format!(", tuning up to {} jobs", t.jobs)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "  training {:<width$} {} × {}{tuning}: {} per run on demand{spot}\n",
            t.job,
            t.instance_count,
            t.instance_type,
            usd(t.on_demand_run)
        ));
    }
    if let Some(before) = before {
        for (what, now, was) in [
            (
                "minimum",
                estimate.monthly_at_min(),
                before.monthly_at_min(),
            ),
            (
                "maximum",
                estimate.monthly_at_max(),
                before.monthly_at_max(),
            ),
        ] {
            if let (Some(now), Some(was)) = (now, was) {
                let delta = now - was;
                let sign = if delta < 0.0 { "-" } else { "+" };
                text.push_str(&format!(
                    "  change at {what} capacity: {sign}{} per month ({} → {})\n",
                    usd(Some(delta.abs())),
                    usd(Some(was)),
                    usd(Some(now))
                ));
            }
        }
    }
    if !estimate.unpriced.is_empty() {
        let region = estimate
            .prices
            .as_ref()
            .map_or("REGION", |origin| origin.region.as_str());
        text.push_str(&format!(
            "  no price for {}: run `mlinfra prices update --region {region}`, or add it under [prices] (USD per hour)\n",
            estimate.unpriced.join(", ")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::usd;

    #[test]
    fn dollars_are_grouped_and_rounded() {
        assert_eq!(usd(Some(1234.567)), "$1,234.57");
        assert_eq!(usd(Some(0.5)), "$0.50");
        assert_eq!(usd(None), "unpriced");
    }
}
