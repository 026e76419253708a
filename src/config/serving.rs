//! The serving shapes beside instance capacity and alarms: serverless
//! capacity, scheduled scaling, data capture and a Model Monitor
//! data-quality schedule. Validated in `validate/serving.rs`.

use serde::{Deserialize, Serialize};

use super::location::S3Location;

/// SageMaker Serverless Inference's limits.
pub const SERVERLESS_MEMORY_MB: [u32; 6] = [1024, 2048, 3072, 4096, 5120, 6144];
pub const MAX_SERVERLESS_CONCURRENCY: u32 = 200;

/// A variant served without instances: SageMaker provisions compute per request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Serverless {
    pub memory_mb: u32,
    pub max_concurrency: u32,
    pub provisioned_concurrency: Option<u32>,
    /// Expected traffic, when the configuration gives it (for `cost`).
    pub traffic: Option<Traffic>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Traffic {
    pub requests_per_day: f64,
    pub duration_ms: f64,
}

/// A scheduled action on a variant's scalable target: from `schedule` on,
/// the variant's bounds are `min`–`max`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScheduledAction {
    pub name: String,
    pub schedule: String,
    pub timezone: Option<String>,
    pub min: u32,
    pub max: u32,
}

/// `DataCaptureConfig` of an endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataCapture {
    pub destination: S3Location,
    pub sampling_percent: u32,
    pub request: bool,
    pub response: bool,
    pub csv_content_types: Vec<String>,
    pub json_content_types: Vec<String>,
}

impl DataCapture {
    /// SageMaker's `CaptureModes`, in its own spelling.
    pub fn modes(&self) -> Vec<&'static str> {
        let mut modes = Vec::new();
        if self.request {
            modes.push("Input");
        }
        if self.response {
            modes.push("Output");
        }
        modes
    }
}

/// A data-quality monitoring schedule over an endpoint's captured data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Monitor {
    /// `ScheduleExpression` as SageMaker accepts it.
    pub schedule_expression: String,
    pub instance_type: String,
    pub instance_count: u32,
    pub volume_gb: u32,
    pub max_runtime_seconds: u64,
    pub output: S3Location,
    pub baseline_statistics: Option<S3Location>,
    pub baseline_constraints: Option<S3Location>,
    /// The analyzer image of the environment's region.
    pub image_uri: String,
    /// `MonitoringScheduleName`: `{endpoint name}-data-quality`.
    pub schedule_name: String,
    pub job_definition_id: String,
    pub schedule_id: String,
}

/// The account serving Model Monitor's analyzer image per region, as the
/// SageMaker Python SDK's `image_uri_config/model-monitor.json` lists it
/// (`DefaultModelMonitor` runs this image). A region missing here has no
/// image: validation says so.
const MODEL_MONITOR_ACCOUNTS: &[(&str, &str)] = &[
    ("af-south-1", "875698925577"),
    ("ap-east-1", "001633400207"),
    ("ap-northeast-1", "574779866223"),
    ("ap-northeast-2", "709848358524"),
    ("ap-northeast-3", "990339680094"),
    ("ap-south-1", "126357580389"),
    ("ap-southeast-1", "245545462676"),
    ("ap-southeast-2", "563025443158"),
    ("ap-southeast-3", "669540362728"),
    ("ca-central-1", "536280801234"),
    ("cn-north-1", "453000072557"),
    ("cn-northwest-1", "453252182341"),
    ("eu-central-1", "048819808253"),
    ("eu-central-2", "590183933784"),
    ("eu-north-1", "895015795356"),
    ("eu-south-1", "933208885752"),
    ("eu-south-2", "437450045455"),
    ("eu-west-1", "468650794304"),
    ("eu-west-2", "749857270468"),
    ("eu-west-3", "680080141114"),
    ("il-central-1", "843974653677"),
    ("me-central-1", "588750061953"),
    ("me-south-1", "607024016150"),
    ("sa-east-1", "539772159869"),
    ("us-east-1", "156813124566"),
    ("us-east-2", "777275614652"),
    ("us-west-1", "890145073186"),
    ("us-west-2", "159807026194"),
];

/// The Model Monitor analyzer image of `region`, or `None` where there is none.
pub fn model_monitor_image(region: &str) -> Option<String> {
    MODEL_MONITOR_ACCOUNTS
        .iter()
        .find(|(r, _)| *r == region)
        .map(|(r, account)| {
            let domain = if r.starts_with("cn-") {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            };
            format!("{account}.dkr.ecr.{r}.{domain}/sagemaker-model-monitor-analyzer")
        })
}
