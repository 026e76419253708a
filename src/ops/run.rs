//! What a finished training run produced, as a plain value: built from
//! DescribeTrainingJob and rendered without any AWS types, so the report is
//! tested from a fixed description.

use serde::Serialize;

use crate::exit::Exit;
use crate::output::{Printer, Report};

/// How a pipeline execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RunStatus {
    Succeeded,
    Failed,
    Stopped,
}

impl RunStatus {
    /// `None` while the execution still runs (Executing, Stopping).
    pub fn terminal(status: &str) -> Option<Self> {
        match status {
            "Succeeded" => Some(Self::Succeeded),
            "Failed" => Some(Self::Failed),
            "Stopped" => Some(Self::Stopped),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Stopped => "Stopped",
        }
    }
}

/// The Train step's training job as DescribeTrainingJob reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrainingJobFacts {
    pub name: String,
    pub status: String,
    pub failure_reason: Option<String>,
    pub managed_spot: bool,
    /// Seconds the job ran (spot interruptions included).
    pub training_seconds: Option<u32>,
    /// Seconds charged: less than training seconds when spot capacity was used.
    pub billable_seconds: Option<u32>,
    pub model_artifact: Option<String>,
}

impl TrainingJobFacts {
    /// The share of on-demand cost saved by managed spot: 1 − billable/training.
    /// Only meaningful with managed spot and both times reported.
    pub fn spot_saving(&self) -> Option<f64> {
        if !self.managed_spot {
            return None;
        }
        match (self.billable_seconds, self.training_seconds) {
            (Some(billable), Some(training)) if training > 0 => {
                Some(1.0 - f64::from(billable) / f64::from(training))
            }
            _ => None,
        }
    }
}

/// What a run of `job` will do beyond its instance: its code, its metrics
/// and its tuning, one line each (the notes `train` shows when it starts).
pub fn job_summary(job: &crate::config::env::TrainingJob) -> Vec<String> {
    use crate::config::training::CodeSource;
    let mut lines = Vec::new();
    if let Some(code) = &job.code {
        let source = match &code.source {
            CodeSource::Package { dir, sha256, .. } => format!(
                "{dir} packaged as sha256 {}… at {}",
                &sha256[..12.min(sha256.len())],
                code.source.uri()
            ),
            CodeSource::S3 { .. } => code.source.uri(),
        };
        lines.push(format!("code: {} from {source}", code.entry_point));
    }
    if !job.metrics.is_empty() {
        let names: Vec<&str> = job.metrics.iter().map(|m| m.name.as_str()).collect();
        lines.push(format!("metrics: {}", names.join(", ")));
    }
    if let Some(tuning) = &job.tuning {
        lines.push(format!(
            "tuning: {} search, up to {} jobs ({} in parallel), {} {}",
            tuning.strategy.aws(),
            tuning.max_jobs,
            tuning.max_parallel_jobs,
            tuning.goal.aws().to_lowercase(),
            tuning.objective_metric
        ));
    }
    lines
}

/// Bumped when the JSON of `train` (started or followed) changes shape.
pub const FORMAT_VERSION: u32 = 1;

/// A pipeline execution started and not followed (`train` without `--wait`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Started {
    pub job: String,
    pub pipeline: String,
    pub execution_arn: String,
}

impl Report for Started {
    fn kind(&self) -> &'static str {
        "started execution"
    }

    fn human(&self, _: &Printer) -> String {
        format!("{}\n", self.execution_arn)
    }

    fn json(&self) -> String {
        crate::output::versioned_json(FORMAT_VERSION, self)
    }
}

impl Report for TrainReport {
    fn kind(&self) -> &'static str {
        "training report"
    }

    fn exit(&self) -> Exit {
        if self.succeeded() {
            Exit::Clean
        } else {
            Exit::Error
        }
    }

    fn human(&self, _: &Printer) -> String {
        self.render_human()
    }

    fn json(&self) -> String {
        self.render_json()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainReport {
    pub job: String,
    pub execution_arn: String,
    pub status: RunStatus,
    /// Why the execution (or its Train step) failed or stopped.
    pub failure_reason: Option<String>,
    /// The tuning job of a Tune step; `training_job` is then its best job.
    pub tuning: Option<TuningFacts>,
    pub training_job: Option<TrainingJobFacts>,
}

/// A tuning job as DescribeHyperParameterTuningJob reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TuningFacts {
    pub name: String,
    pub status: String,
    pub best_training_job: Option<String>,
    pub objective_metric: Option<String>,
    pub objective_value: Option<f32>,
}

impl TrainReport {
    pub fn succeeded(&self) -> bool {
        self.status == RunStatus::Succeeded
    }

    pub fn render_human(&self) -> String {
        let mut text = format!(
            "training job {}: {}\n  execution: {}\n",
            self.job,
            self.status.as_str(),
            self.execution_arn
        );
        if let Some(reason) = &self.failure_reason {
            text.push_str(&format!("  reason:    {reason}\n"));
        }
        if let Some(tuning) = &self.tuning {
            text.push_str(&format!(
                "  tuning job: {} ({})\n",
                tuning.name, tuning.status
            ));
            let objective = match (&tuning.objective_metric, tuning.objective_value) {
                (Some(metric), Some(value)) => format!("{metric} = {value}"),
                _ => "not reported".into(),
            };
            text.push_str(&format!("  best objective: {objective}\n"));
        }
        match &self.training_job {
            None if self.tuning.is_some() => text.push_str("  best training job: none yet\n"),
            None => text.push_str("  training job: none started\n"),
            Some(job) => {
                let label = if self.tuning.is_some() {
                    "best training job"
                } else {
                    "training job"
                };
                text.push_str(&format!("  {label}: {} ({})\n", job.name, job.status));
                if let Some(reason) = &job.failure_reason
                    && self.failure_reason.as_ref() != Some(reason)
                {
                    text.push_str(&format!("  job reason:   {reason}\n"));
                }
                text.push_str(&format!(
                    "  training time: {}\n  billable time: {}\n",
                    seconds(job.training_seconds),
                    seconds(job.billable_seconds)
                ));
                let saving = match (job.managed_spot, job.spot_saving()) {
                    (false, _) => "none (on-demand capacity)".to_string(),
                    (true, Some(saving)) => format!("{:.1}% (managed spot)", saving * 100.0),
                    (true, None) => "not reported (managed spot)".to_string(),
                };
                text.push_str(&format!("  spot saving:   {saving}\n"));
                text.push_str(&format!(
                    "  model artifact: {}\n",
                    job.model_artifact.as_deref().unwrap_or("none")
                ));
            }
        }
        text
    }

    pub fn render_json(&self) -> String {
        let mut value = serde_json::to_value(self).expect("a report serialises");
        value["format_version"] = serde_json::json!(FORMAT_VERSION);
        if let Some(job) = &self.training_job {
            value["training_job"]["spot_saving"] = serde_json::json!(job.spot_saving());
        }
        format!(
            "{}\n",
            serde_json::to_string_pretty(&value).expect("JSON values serialise")
        )
    }
}

fn seconds(value: Option<u32>) -> String {
    match value {
        Some(s) => format!(
            "{s} s ({})",
            humantime::format_duration(std::time::Duration::from_secs(u64::from(s)))
        ),
        None => "not reported".into(),
    }
}
