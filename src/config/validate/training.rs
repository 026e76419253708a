//! The parts of a training job beyond its instance: channels, code, metrics
//! and tuning, each against SageMaker's rules and limits.

use std::collections::BTreeMap;

use super::super::env::S3Location;
use super::super::locate::KeyPath;
use super::super::raw::{RawChannel, RawRange, RawTraining, RawTuning};
use super::super::training::*;
use super::{Checker, PartialEnv};
use crate::code::{self, Packager};

/// `CreateTrainingJob`'s `InputDataConfig` holds at most 20 channels.
const MAX_CHANNELS: usize = 20;
const MAX_CHANNEL_NAME: usize = 64;
const MAX_CONTENT_TYPE: usize = 256;
/// `AlgorithmSpecification.MetricDefinitions` holds at most 40.
const MAX_METRICS: usize = 40;
const MAX_METRIC_NAME: usize = 255;
const MAX_METRIC_REGEX: usize = 500;
/// Per tuning job (SageMaker's service limits).
const MAX_TUNING_JOBS: u32 = 750;
const MAX_PARALLEL_TUNING_JOBS: u32 = 100;
/// Tunable hyperparameters per tuning job, and values per categorical range.
const MAX_RANGES: usize = 30;
const MAX_CATEGORICAL_VALUES: usize = 30;
/// The name `input` stands for.
pub const DEFAULT_CHANNEL: &str = "training";
/// The hyperparameters SageMaker's framework containers read (the training
/// toolkit's `sagemaker_*` names); a user's own would be overwritten.
pub const SDK_HYPERPARAMETERS: &[&str] = &[
    "sagemaker_program",
    "sagemaker_submit_directory",
    "sagemaker_container_log_level",
    "sagemaker_region",
];

/// `[A-Za-z0-9.\-_]+`, 1 to 64 characters (botocore's `ChannelName`).
fn channel_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > MAX_CHANNEL_NAME {
        return Some(format!(
            "channel names are 1 to {MAX_CHANNEL_NAME} characters, {name:?} has {}",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
    {
        return Some(format!(
            "channel name {name:?} contains {c:?}; SageMaker allows letters, digits, '.', '-' and '_'"
        ));
    }
    None
}

fn parse_enum<T>(
    c: &mut Checker,
    text: &Option<String>,
    path: &KeyPath,
    parse: fn(&str) -> Option<T>,
    all: &[&str],
    default: T,
) -> T {
    match text {
        None => default,
        Some(text) => parse(text).unwrap_or_else(|| {
            c.fail(
                path,
                format!("expected one of {}, got {text:?}", all.join(", ")),
            );
            default
        }),
    }
}

pub(super) fn channels(
    c: &mut Checker,
    env: &PartialEnv,
    path: &KeyPath,
    raw: &RawTraining,
) -> Vec<Channel> {
    // (name, where it is written, where its prefix is written, the channel)
    let mut raws: Vec<(String, KeyPath, KeyPath, RawChannel)> = Vec::new();
    match (&raw.input, raw.channels.is_empty()) {
        (Some(_), false) => {
            c.fail(
                &path.key("input"),
                "write either `input` (one channel called \"training\") or `channels`, not both",
            );
            return Vec::new();
        }
        (Some(input), true) => raws.push((
            DEFAULT_CHANNEL.into(),
            path.key("input"),
            path.key("input"),
            RawChannel {
                prefix: Some(input.clone()),
                ..RawChannel::default()
            },
        )),
        (None, true) => {
            c.fail(
                &path.key("input"),
                "required key is missing: write `input = \"ZONE/PREFIX\"` or name channels (`channels.train = { prefix = \"ZONE/PREFIX\" }`)",
            );
            return Vec::new();
        }
        (None, false) => {
            for (name, channel) in &raw.channels {
                let at = path.key("channels").key(name);
                raws.push((name.clone(), at.clone(), at.key("prefix"), channel.clone()));
            }
        }
    }
    if raws.len() > MAX_CHANNELS {
        c.fail(
            &path.key("channels"),
            format!(
                "{} channels: SageMaker accepts at most {MAX_CHANNELS} per job",
                raws.len()
            ),
        );
    }
    let mut channels = Vec::new();
    for (name, at, prefix_path, raw) in raws {
        if let Some(problem) = channel_name_problem(&name) {
            c.fail(&at, problem);
            continue;
        }
        let location_path = if raw.prefix.is_some() {
            prefix_path
        } else {
            at.clone()
        };
        let Some(location) = c
            .required(&raw.prefix, &location_path)
            .and_then(|p| c.location(env, &p, &location_path, false))
        else {
            continue;
        };
        if let Some(content_type) = &raw.content_type
            && (content_type.is_empty() || content_type.len() > MAX_CONTENT_TYPE)
        {
            c.fail(
                &at.key("content_type"),
                format!("content types are 1 to {MAX_CONTENT_TYPE} characters"),
            );
        }
        let input_mode = parse_enum(
            c,
            &raw.input_mode,
            &at.key("input_mode"),
            InputMode::parse,
            InputMode::ALL,
            InputMode::File,
        );
        let distribution = parse_enum(
            c,
            &raw.distribution,
            &at.key("distribution"),
            Distribution::parse,
            Distribution::ALL,
            Distribution::FullyReplicated,
        );
        let compression = parse_enum(
            c,
            &raw.compression,
            &at.key("compression"),
            Compression::parse,
            Compression::ALL,
            Compression::None,
        );
        if compression == Compression::Gzip && input_mode != InputMode::Pipe {
            c.fail(
                &at.key("compression"),
                "SageMaker decompresses Gzip only in Pipe input mode; set input_mode = \"Pipe\" or compression = \"None\"",
            );
        }
        channels.push(Channel {
            name,
            location,
            content_type: raw.content_type.clone(),
            input_mode,
            distribution,
            compression,
        });
    }
    channels
}

/// The job's code: a packaged project directory or an `s3://` tar.gz.
pub(super) fn code(
    c: &mut Checker,
    packager: &mut Packager,
    path: &KeyPath,
    job: &str,
    raw: &RawTraining,
    output: Option<&S3Location>,
) -> Option<TrainingCode> {
    let (entry_point, source_dir) = match (&raw.entry_point, &raw.source_dir) {
        (None, None) => return None,
        (None, Some(_)) => {
            c.fail(
                &path.key("entry_point"),
                "source_dir needs entry_point: the script in it that SageMaker runs",
            );
            return None;
        }
        (Some(_), None) => {
            c.fail(
                &path.key("source_dir"),
                "entry_point needs source_dir: the project directory (or s3:// tar.gz) holding it",
            );
            return None;
        }
        (Some(e), Some(s)) => (e.clone(), s.clone()),
    };
    let entry_path = path.key("entry_point");
    let source_path = path.key("source_dir");
    if entry_point.is_empty()
        || entry_point.starts_with('/')
        || entry_point.split('/').any(|s| s == "..")
    {
        c.fail(
            &entry_path,
            format!("{entry_point:?} must be a file path relative to source_dir"),
        );
        return None;
    }
    if let Some(uri) = source_dir.strip_prefix("s3://") {
        let Some((bucket, key)) = uri.split_once('/').filter(|(b, k)| {
            crate::config::rules::bucket_name_problem(b).is_none() && k.ends_with(".tar.gz")
        }) else {
            c.fail(
                &source_path,
                format!("expected s3://BUCKET/KEY.tar.gz, got {source_dir:?}"),
            );
            return None;
        };
        if let Some(problem) = crate::config::rules::s3_location_problem(key) {
            c.fail(&source_path, format!("{source_dir:?} {problem}"));
            return None;
        }
        return Some(TrainingCode {
            entry_point,
            source: CodeSource::S3 {
                bucket: bucket.into(),
                key: key.into(),
            },
        });
    }
    if let Some(problem) = code::relative_dir_problem(&source_dir) {
        c.fail(&source_path, format!("{source_dir:?} {problem}"));
        return None;
    }
    let package = match packager.package(&source_dir) {
        Ok(package) => package,
        Err(problem) => {
            c.fail(
                &source_path,
                format!("cannot package {source_dir:?}: {problem}"),
            );
            return None;
        }
    };
    if !package.paths.contains(&entry_point) {
        c.fail(
            &entry_path,
            format!("{entry_point:?} is not a file in {source_dir:?}"),
        );
        return None;
    }
    let sha256 = package.sha256.clone();
    let built = BuiltPackage(Some(std::sync::Arc::clone(&package.bytes)));
    let output = output?;
    Some(TrainingCode {
        entry_point,
        source: CodeSource::Package {
            dir: source_dir,
            location: S3Location {
                zone: output.zone.clone(),
                bucket: output.bucket.clone(),
                key: format!("code/{job}/{sha256}/{PACKAGE_FILE}"),
            },
            sha256,
            built,
        },
    })
}

pub(super) fn metrics(c: &mut Checker, path: &KeyPath, raw: &RawTraining) -> Vec<Metric> {
    let at = path.key("metrics");
    if raw.metrics.len() > MAX_METRICS {
        c.fail(
            &at,
            format!(
                "{} metrics: SageMaker accepts at most {MAX_METRICS} per job",
                raw.metrics.len()
            ),
        );
    }
    let mut metrics = Vec::new();
    for (name, regex) in &raw.metrics {
        let here = at.key(name);
        if name.is_empty() || name.chars().count() > MAX_METRIC_NAME {
            c.fail(
                &here,
                format!("metric names are 1 to {MAX_METRIC_NAME} characters"),
            );
            continue;
        }
        if regex.is_empty() || regex.chars().count() > MAX_METRIC_REGEX {
            c.fail(
                &here,
                format!("metric regular expressions are 1 to {MAX_METRIC_REGEX} characters"),
            );
            continue;
        }
        // SageMaker takes the metric's value from the first capture group.
        if !regex.contains('(') {
            c.fail(
                &here,
                format!("{regex:?} has no capture group: SageMaker reads the value from the first one, for example \"loss: ([0-9\\\\.]+)\""),
            );
            continue;
        }
        metrics.push(Metric {
            name: name.clone(),
            regex: regex.clone(),
        });
    }
    metrics
}

pub(super) fn hyperparameter_names(
    c: &mut Checker,
    path: &KeyPath,
    hyperparameters: &BTreeMap<String, String>,
    with_code: bool,
) {
    if !with_code {
        return;
    }
    for name in SDK_HYPERPARAMETERS {
        if hyperparameters.contains_key(*name) {
            c.fail(
                &path.key("hyperparameters").key(name),
                format!("{name} is set by mlinfra from entry_point and source_dir"),
            );
        }
    }
}

pub(super) fn tuning(
    c: &mut Checker,
    path: &KeyPath,
    raw: &RawTuning,
    metrics: &[Metric],
    raw_metrics: &BTreeMap<String, String>,
) -> Option<Tuning> {
    let before = c.errors.len();
    let objective_path = path.key("objective");
    let objective = c.required(&raw.objective, &objective_path)?;
    let metric_path = objective_path.key("metric");
    let objective_metric = c
        .required(&objective.metric, &metric_path)
        .unwrap_or_default();
    if objective.metric.is_some() && !raw_metrics.contains_key(&objective_metric) {
        let known: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
        c.fail(
            &metric_path,
            format!(
                "{objective_metric:?} is not one of the job's metrics (declared: {}); the tuner reads the objective from a metric definition",
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            ),
        );
    }
    let goal_path = objective_path.key("goal");
    let goal = match c.required(&objective.goal, &goal_path) {
        Some(text) => parse_enum(
            c,
            &Some(text),
            &goal_path,
            Goal::parse,
            Goal::ALL,
            Goal::Maximize,
        ),
        None => Goal::Maximize,
    };
    let strategy = parse_enum(
        c,
        &raw.strategy,
        &path.key("strategy"),
        Strategy::parse,
        Strategy::ALL,
        Strategy::Bayesian,
    );
    let max_jobs = c
        .required(&raw.max_jobs, &path.key("max_jobs"))
        .unwrap_or(1);
    if !(1..=MAX_TUNING_JOBS).contains(&max_jobs) {
        c.fail(
            &path.key("max_jobs"),
            format!("expected 1 to {MAX_TUNING_JOBS} training jobs per tuning job, got {max_jobs}"),
        );
    }
    let max_parallel_jobs = raw.max_parallel_jobs.unwrap_or(1);
    if !(1..=MAX_PARALLEL_TUNING_JOBS).contains(&max_parallel_jobs) {
        c.fail(
            &path.key("max_parallel_jobs"),
            format!("expected 1 to {MAX_PARALLEL_TUNING_JOBS} parallel training jobs, got {max_parallel_jobs}"),
        );
    } else if max_parallel_jobs > max_jobs {
        c.fail(
            &path.key("max_parallel_jobs"),
            format!("{max_parallel_jobs} parallel jobs is more than max_jobs ({max_jobs})"),
        );
    }
    let early_stopping = raw.early_stopping.unwrap_or(false);
    if early_stopping && strategy == Strategy::Hyperband {
        c.fail(
            &path.key("early_stopping"),
            "Hyperband stops jobs early itself; SageMaker requires early stopping Off with it",
        );
    }
    let ranges_path = path.key("ranges");
    if raw.ranges.is_empty() {
        c.fail(&ranges_path, "a tuning job needs at least one range, for example ranges.lr = { min = 0.0001, max = 0.1, scaling = \"logarithmic\" }");
    }
    if raw.ranges.len() > MAX_RANGES {
        c.fail(
            &ranges_path,
            format!(
                "{} ranges: SageMaker tunes at most {MAX_RANGES} hyperparameters",
                raw.ranges.len()
            ),
        );
    }
    let ranges: Vec<Range> = raw
        .ranges
        .iter()
        .filter_map(|(name, r)| range(c, &ranges_path.key(name), name, r))
        .collect();
    if c.errors.len() > before {
        return None;
    }
    Some(Tuning {
        objective_metric,
        goal,
        strategy,
        max_jobs,
        max_parallel_jobs,
        early_stopping,
        ranges,
    })
}

fn range(c: &mut Checker, path: &KeyPath, name: &str, raw: &RawRange) -> Option<Range> {
    if name.is_empty() || name.len() > 256 {
        c.fail(path, "hyperparameter names are 1 to 256 characters");
        return None;
    }
    if let Some(values) = &raw.values {
        if raw.min.is_some() || raw.max.is_some() || raw.scaling.is_some() || raw.kind.is_some() {
            c.fail(
                path,
                "a categorical range has `values` only (no min, max, scaling or type)",
            );
            return None;
        }
        if values.is_empty() || values.len() > MAX_CATEGORICAL_VALUES {
            c.fail(
                &path.key("values"),
                format!(
                    "expected 1 to {MAX_CATEGORICAL_VALUES} values, got {}",
                    values.len()
                ),
            );
            return None;
        }
        if let Some(v) = values.iter().find(|v| v.chars().count() > 256) {
            c.fail(
                &path.key("values"),
                format!("{v:?} is longer than 256 characters"),
            );
            return None;
        }
        return Some(Range {
            name: name.into(),
            kind: RangeKind::Categorical {
                values: values.clone(),
            },
        });
    }
    let (Some(min), Some(max)) = (raw.min, raw.max) else {
        c.fail(
            path,
            "expected `min` and `max` (a numeric range) or `values` (categorical)",
        );
        return None;
    };
    if !(min.is_finite() && max.is_finite() && min < max) {
        c.fail(path, format!("expected min < max, got {min} and {max}"));
        return None;
    }
    let scaling = parse_enum(
        c,
        &raw.scaling,
        &path.key("scaling"),
        parse_scaling,
        Scaling::ALL,
        Scaling::Auto,
    );
    let integer = match raw.kind.as_deref() {
        None | Some("continuous") => false,
        Some("integer") => true,
        Some(other) => {
            c.fail(
                &path.key("type"),
                format!("expected continuous or integer, got {other:?}"),
            );
            return None;
        }
    };
    match scaling {
        Scaling::Logarithmic if min <= 0.0 => {
            c.fail(
                &path.key("scaling"),
                format!("logarithmic scaling needs min above 0, got {min}"),
            );
            return None;
        }
        Scaling::ReverseLogarithmic if integer || min < 0.0 || max >= 1.0 => {
            c.fail(
                &path.key("scaling"),
                "reverse-logarithmic scaling is for continuous ranges within 0 <= min < max < 1",
            );
            return None;
        }
        _ => {}
    }
    let kind = if integer {
        if min.fract() != 0.0 || max.fract() != 0.0 {
            c.fail(
                path,
                format!("an integer range needs whole numbers, got {min} and {max}"),
            );
            return None;
        }
        RangeKind::Integer {
            min: min as i64,
            max: max as i64,
            scaling,
        }
    } else {
        RangeKind::Continuous { min, max, scaling }
    };
    Some(Range {
        name: name.into(),
        kind,
    })
}

/// `log` and `reverse-log` as shorthands, and AWS's own spellings.
fn parse_scaling(text: &str) -> Option<Scaling> {
    match text.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
        "log" => Some(Scaling::Logarithmic),
        "reverselog" => Some(Scaling::ReverseLogarithmic),
        other => Scaling::parse(other),
    }
}
