//! What a serverless variant costs: compute billed per GB-second of each
//! request's duration. The template gives the memory size; the expected
//! traffic (requests per day, milliseconds per request) comes from the
//! configuration, since no template holds it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::serving::Traffic;

/// On-demand Serverless Inference compute, USD per GB-second (AWS list
/// price, us-east-1: $0.00002 per second at 1 GB).
pub const USD_PER_GB_SECOND: f64 = 0.000_02;
/// Days in an average month (365 / 12).
pub const DAYS_PER_MONTH: f64 = 365.0 / 12.0;

/// A serverless variant as a template declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerlessUnits {
    pub endpoint: String,
    pub variant: String,
    pub memory_mb: u32,
    pub provisioned_concurrency: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerlessCost {
    pub endpoint: String,
    pub variant: String,
    pub memory_mb: u32,
    pub requests_per_day: Option<f64>,
    pub duration_ms: Option<f64>,
    /// `None` without expected traffic in the configuration.
    pub monthly_compute: Option<f64>,
    pub provisioned_concurrency: Option<u32>,
}

/// Serverless variants of a serving template.
pub fn units(serving: &Value) -> Vec<ServerlessUnits> {
    let mut found = Vec::new();
    for (name, variant) in super::templates::production_variants(serving) {
        let Some(memory) = variant["ServerlessConfig"]["MemorySizeInMB"].as_u64() else {
            continue;
        };
        found.push(ServerlessUnits {
            endpoint: name,
            variant: variant["VariantName"].as_str().unwrap_or_default().into(),
            memory_mb: u32::try_from(memory).unwrap_or(u32::MAX),
            provisioned_concurrency: variant["ServerlessConfig"]["ProvisionedConcurrency"]
                .as_u64()
                .and_then(|p| u32::try_from(p).ok()),
        });
    }
    found
}

/// A month of compute: requests × duration × memory in GB × the GB-second rate.
pub fn monthly_compute(memory_mb: u32, traffic: &Traffic) -> f64 {
    let gb = f64::from(memory_mb) / 1024.0;
    traffic.requests_per_day
        * DAYS_PER_MONTH
        * (traffic.duration_ms / 1000.0)
        * gb
        * USD_PER_GB_SECOND
}

pub fn estimate(
    units: &[ServerlessUnits],
    traffic: impl Fn(&str, &str) -> Option<Traffic>,
) -> Vec<ServerlessCost> {
    units
        .iter()
        .map(|u| {
            let expected = traffic(&u.endpoint, &u.variant);
            ServerlessCost {
                endpoint: u.endpoint.clone(),
                variant: u.variant.clone(),
                memory_mb: u.memory_mb,
                requests_per_day: expected.as_ref().map(|t| t.requests_per_day),
                duration_ms: expected.as_ref().map(|t| t.duration_ms),
                monthly_compute: expected.as_ref().map(|t| monthly_compute(u.memory_mb, t)),
                provisioned_concurrency: u.provisioned_concurrency,
            }
        })
        .collect()
}

/// One line per serverless variant, saying what the figure assumes.
pub fn render_line(cost: &ServerlessCost, width: usize) -> String {
    let what = format!(
        "  endpoint {:<width$} serverless {} MB",
        cost.endpoint, cost.memory_mb
    );
    let mut line = match (
        cost.monthly_compute,
        cost.requests_per_day,
        cost.duration_ms,
    ) {
        (Some(monthly), Some(requests), Some(ms)) => format!(
            "{what}: {} per month of compute ({requests} requests a day × {ms} ms at ${USD_PER_GB_SECOND} per GB-second; data processed not included)",
            super::usd(Some(monthly))
        ),
        _ => format!(
            "{what}: billed per request (set serverless.requests_per_day and duration_ms for an estimate)"
        ),
    };
    if let Some(p) = cost.provisioned_concurrency {
        line.push_str(&format!(
            "; provisioned concurrency {p} is billed while configured and not priced here"
        ));
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compute_is_requests_times_duration_times_memory() {
        let traffic = Traffic {
            requests_per_day: 10_000.0,
            duration_ms: 200.0,
        };
        // 10,000 × 30.4167 days × 0.2 s × 2 GB × $0.00002 = $2.43
        let monthly = monthly_compute(2048, &traffic);
        assert!((monthly - 2.433_333).abs() < 1e-4, "{monthly}");
        assert_eq!(super::super::usd(Some(monthly)), "$2.43");
    }
}
