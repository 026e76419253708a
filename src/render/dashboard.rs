//! The environment's CloudWatch dashboard: per endpoint variant a row of
//! invocations, errors, latency and (on instances) CPU. The body is built
//! from typed widgets and written as the JSON string CloudWatch takes.

use serde::Serialize;
use serde_json::{Value, json};

use crate::config::Env;
use crate::config::env::{Endpoint, Variant};
use crate::config::instances;

const INVOCATIONS: &str = "AWS/SageMaker";
const INSTANCES: &str = "/aws/sagemaker/Endpoints";
/// CloudWatch's grid is 24 units wide.
const GRID_WIDTH: u32 = 24;
const WIDGET_HEIGHT: u32 = 6;

#[derive(Debug, Serialize)]
pub struct Dashboard {
    pub widgets: Vec<Widget>,
}

#[derive(Debug, Serialize)]
pub struct Widget {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub properties: MetricProperties,
}

#[derive(Debug, Serialize)]
pub struct MetricProperties {
    pub title: String,
    pub region: String,
    pub view: &'static str,
    pub period: u32,
    /// Each line: namespace, metric, dimension name/value pairs, then options.
    pub metrics: Vec<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yaxis: Option<Value>,
}

/// One graph: its title and lines of `(namespace, metric, statistic, label)`.
struct Graph {
    title: String,
    lines: Vec<(&'static str, &'static str, &'static str, &'static str)>,
    yaxis: Option<Value>,
}

fn graphs(endpoint: &Endpoint, variant: &Variant) -> Vec<Graph> {
    let what = format!("{} / {}", endpoint.name, variant.name);
    let mut graphs = vec![
        Graph {
            title: format!("{what}: invocations"),
            lines: vec![(INVOCATIONS, "Invocations", "Sum", "invocations")],
            yaxis: None,
        },
        Graph {
            title: format!("{what}: errors"),
            lines: vec![
                (INVOCATIONS, "Invocation4XXErrors", "Sum", "4XX"),
                (INVOCATIONS, "Invocation5XXErrors", "Sum", "5XX"),
            ],
            yaxis: None,
        },
        Graph {
            title: format!("{what}: model latency (µs)"),
            lines: vec![
                (INVOCATIONS, "ModelLatency", "p50", "p50"),
                (INVOCATIONS, "ModelLatency", "p99", "p99"),
            ],
            yaxis: None,
        },
    ];
    if variant.serverless.is_none() {
        // CPUUtilization is summed over vCPUs: the axis ends at 100 % × vCPUs.
        let max = instances::vcpus(&variant.instance_type).map_or(100, |v| 100 * v);
        graphs.push(Graph {
            title: format!("{what}: CPU (% summed over vCPUs)"),
            lines: vec![(INSTANCES, "CPUUtilization", "Average", "CPU")],
            yaxis: Some(json!({ "left": { "min": 0, "max": max } })),
        });
    }
    graphs
}

pub fn dashboard(env: &Env) -> Dashboard {
    let mut widgets = Vec::new();
    let mut y = 0;
    for endpoint in &env.endpoints {
        for variant in endpoint.all_variants() {
            let row = graphs(endpoint, variant);
            let width = GRID_WIDTH / 4;
            for (i, graph) in row.into_iter().enumerate() {
                let metrics = graph
                    .lines
                    .iter()
                    .map(|(namespace, metric, stat, label)| {
                        vec![
                            json!(namespace),
                            json!(metric),
                            json!("EndpointName"),
                            json!(endpoint.endpoint_name),
                            json!("VariantName"),
                            json!(variant.name),
                            json!({ "stat": stat, "label": label }),
                        ]
                    })
                    .collect();
                widgets.push(Widget {
                    kind: "metric",
                    x: i as u32 * width,
                    y,
                    width,
                    height: WIDGET_HEIGHT,
                    properties: MetricProperties {
                        title: graph.title,
                        region: env.region.clone(),
                        view: "timeSeries",
                        period: 60,
                        metrics,
                        yaxis: graph.yaxis,
                    },
                });
            }
            y += WIDGET_HEIGHT;
        }
    }
    Dashboard { widgets }
}

/// The `DashboardBody` string.
pub fn body(env: &Env) -> String {
    serde_json::to_string(&dashboard(env)).expect("a dashboard always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_row_and_cpu_is_scaled_to_its_vcpus() {
        let (env, _) = crate::render::example("prod");
        let board = dashboard(&env);
        let variants: usize = env.endpoints.iter().map(|e| e.all_variants().count()).sum();
        assert!(variants > 0);
        assert_eq!(board.widgets.len(), variants * 4);
        let cpu = board
            .widgets
            .iter()
            .find(|w| w.properties.title.ends_with("CPU (% summed over vCPUs)"))
            .unwrap();
        let variant = &env.endpoints[0].variants[0];
        let vcpus = instances::vcpus(&variant.instance_type).unwrap();
        assert_eq!(
            cpu.properties.yaxis.as_ref().unwrap()["left"]["max"],
            100 * vcpus
        );
        assert_eq!(
            cpu.properties.metrics[0][3],
            json!(env.endpoints[0].endpoint_name)
        );
    }
}
