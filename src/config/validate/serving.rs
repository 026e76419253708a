//! Checks of the serving shapes beside instance capacity: serverless
//! capacity, scheduled scaling actions, data capture and the Model Monitor
//! schedule, each against the limits AWS documents for it.

use super::*;
use crate::config::serving::{
    DataCapture, MAX_SERVERLESS_CONCURRENCY, Monitor, SERVERLESS_MEMORY_MB, ScheduledAction,
    Serverless, Traffic, model_monitor_image,
};

/// `DefaultModelMonitor`'s defaults (one ml.m5.xlarge, 30 GB).
const MONITOR_INSTANCE_TYPE: &str = "ml.m5.xlarge";
const MONITOR_VOLUME_GB: u32 = 30;
/// SageMaker's default and the most an hourly run may take before the next.
const MONITOR_MAX_RUNTIME_SECONDS: u64 = 3600;
/// CPU families SageMaker Processing offers; the analyzer is Spark on CPU.
const MONITOR_FAMILIES: &[&str] = &[
    "t3", "m4", "m5", "m6i", "m7i", "c4", "c5", "c6i", "c7i", "r5", "r5d", "r6i", "r7i",
];
/// `CsvContentTypes`/`JsonContentTypes`: 1 to 10 entries of 1 to 256 characters.
const MAX_CONTENT_TYPES: usize = 10;
const MAX_SCHEDULED_ACTION_NAME: usize = 256;

pub(super) fn validate_serverless(
    c: &mut Checker,
    path: &KeyPath,
    raw: &RawServerless,
) -> Option<Serverless> {
    let before = c.errors.len();
    let memory_mb = c
        .required(&raw.memory_mb, &path.key("memory_mb"))
        .unwrap_or(0);
    if raw.memory_mb.is_some() && !SERVERLESS_MEMORY_MB.contains(&memory_mb) {
        c.fail(
            &path.key("memory_mb"),
            format!("serverless memory is 1024 to 6144 MB in steps of 1024, got {memory_mb}"),
        );
    }
    let max_concurrency = c
        .required(&raw.max_concurrency, &path.key("max_concurrency"))
        .unwrap_or(0);
    if raw.max_concurrency.is_some() && !(1..=MAX_SERVERLESS_CONCURRENCY).contains(&max_concurrency)
    {
        c.fail(
            &path.key("max_concurrency"),
            format!(
                "serverless max concurrency is 1 to {MAX_SERVERLESS_CONCURRENCY}, got {max_concurrency}"
            ),
        );
    }
    if let Some(p) = raw.provisioned_concurrency
        && (p == 0 || p > max_concurrency)
    {
        c.fail(
            &path.key("provisioned_concurrency"),
            format!("provisioned concurrency is 1 to max_concurrency ({max_concurrency}), got {p}"),
        );
    }
    let traffic = match (raw.requests_per_day, raw.duration_ms) {
        (None, None) => None,
        (Some(requests), Some(ms)) => {
            for (value, key) in [(requests, "requests_per_day"), (ms, "duration_ms")] {
                if !value.is_finite() || value < 0.0 {
                    c.fail(
                        &path.key(key),
                        format!("expected a number of 0 or more, got {value}"),
                    );
                }
            }
            Some(Traffic {
                requests_per_day: requests,
                duration_ms: ms,
            })
        }
        (Some(_), None) => {
            c.fail(
                &path.key("duration_ms"),
                "requests_per_day goes with duration_ms (milliseconds per request): cost needs both",
            );
            None
        }
        (None, Some(_)) => {
            c.fail(
                &path.key("requests_per_day"),
                "duration_ms goes with requests_per_day: cost needs both",
            );
            None
        }
    };
    (c.errors.len() == before).then_some(Serverless {
        memory_mb,
        max_concurrency,
        provisioned_concurrency: raw.provisioned_concurrency,
        traffic,
    })
}

/// Scheduled actions of one scalable target, each inside its bounds.
pub(super) fn validate_schedule(
    c: &mut Checker,
    path: &KeyPath,
    raw: &[RawScheduledAction],
    min: u32,
    max: u32,
) -> Vec<ScheduledAction> {
    let mut out = Vec::new();
    let mut names = BTreeSet::new();
    for (i, action) in raw.iter().enumerate() {
        let at = path.key("schedule").index(i);
        let before = c.errors.len();
        let name = c
            .required(&action.name, &at.key("name"))
            .unwrap_or_default();
        if action.name.is_some() {
            if name.is_empty()
                || name.len() > MAX_SCHEDULED_ACTION_NAME
                || name.contains([':', '/', '|'])
            {
                c.fail(
                    &at.key("name"),
                    format!("a scheduled action name is 1 to 256 characters without ':', '/' or '|', got {name:?}"),
                );
            } else if !names.insert(name.clone()) {
                c.fail(
                    &at.key("name"),
                    format!("two scheduled actions are named {name:?}"),
                );
            }
        }
        let schedule = c
            .required(&action.schedule, &at.key("schedule"))
            .unwrap_or_default();
        if action.schedule.is_some()
            && let Some(problem) = scaling_schedule_problem(&schedule)
        {
            c.fail(&at.key("schedule"), problem);
        }
        if let Some(zone) = &action.timezone {
            if schedule.starts_with("rate(") {
                c.fail(
                    &at.key("timezone"),
                    "a rate() schedule has no time zone (it goes with cron() and at())",
                );
            } else if !is_time_zone(zone) {
                c.fail(
                    &at.key("timezone"),
                    format!("expected an IANA time zone such as \"Europe/Paris\" or \"UTC\", got {zone:?}"),
                );
            }
        }
        if action.min.is_none() && action.max.is_none() {
            c.fail(&at, "a scheduled action sets min, max or both");
        }
        let action_min = action.min.unwrap_or(min);
        let action_max = action.max.unwrap_or(max);
        for (value, key) in [(action.min, "min"), (action.max, "max")] {
            if let Some(v) = value
                && !(min..=max).contains(&v)
            {
                c.fail(
                    &at.key(key),
                    format!("{v} is outside the variant's autoscaling bounds [{min}, {max}]"),
                );
            }
        }
        if action_min > action_max {
            c.fail(
                &at.key("max"),
                format!("max ({action_max}) must be at least min ({action_min})"),
            );
        }
        if c.errors.len() == before {
            out.push(ScheduledAction {
                name,
                schedule,
                timezone: action.timezone.clone(),
                min: action_min,
                max: action_max,
            });
        }
    }
    out
}

fn is_time_zone(zone: &str) -> bool {
    zone == "UTC"
        || (zone.contains('/')
            && zone.split('/').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_+-".contains(c))
            }))
}

/// Application Auto Scaling's `Schedule`: `at(yyyy-mm-ddThh:mm:ss)`,
/// `rate(N unit)` or `cron(min hour day-of-month month day-of-week year)`.
pub fn scaling_schedule_problem(text: &str) -> Option<String> {
    let inner = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'))
    };
    if let Some(at) = inner("at(") {
        let ok = at.len() == 19
            && at.char_indices().all(|(i, ch)| match i {
                4 | 7 => ch == '-',
                10 => ch == 'T',
                13 | 16 => ch == ':',
                _ => ch.is_ascii_digit(),
            });
        return (!ok).then(|| format!("expected at(yyyy-mm-ddThh:mm:ss), got {text:?}"));
    }
    if let Some(rate) = inner("rate(") {
        let mut parts = rate.split(' ');
        let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Some(format!("expected rate(N unit), got {text:?}"));
        };
        let Ok(n) = n.parse::<u32>() else {
            return Some(format!("expected a whole number in {text:?}"));
        };
        let singular = ["minute", "hour", "day"].contains(&unit);
        let plural = ["minutes", "hours", "days"].contains(&unit);
        return match (n, singular, plural) {
            (0, _, _) => Some(format!("a rate is at least 1, got {text:?}")),
            (1, true, _) => None,
            (1, _, true) => Some(format!("write the singular unit for 1 in {text:?}")),
            (_, _, true) => None,
            (_, true, _) => Some(format!("write the plural unit for {n} in {text:?}")),
            _ => Some(format!(
                "the unit of a rate is minutes, hours or days, got {text:?}"
            )),
        };
    }
    if let Some(cron) = inner("cron(") {
        let fields: Vec<&str> = cron.split(' ').collect();
        if fields.len() != 6 {
            return Some(format!(
                "a cron schedule has 6 fields (minutes hours day-of-month month day-of-week year), got {} in {text:?}",
                fields.len()
            ));
        }
        if (fields[2] == "?") == (fields[4] == "?") {
            return Some(format!(
                "one of day-of-month and day-of-week must be '?' (and only one), in {text:?}"
            ));
        }
        let bad = fields.iter().find(|f| {
            f.is_empty()
                || !f
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ",-*/?LW#".contains(c))
        });
        return bad
            .map(|f| format!("cron field {f:?} has characters cron does not read, in {text:?}"));
    }
    Some(format!(
        "expected cron(...), at(...) or rate(...) as Application Auto Scaling reads them, got {text:?}"
    ))
}

pub(super) fn validate_data_capture(
    c: &mut Checker,
    env: &PartialEnv,
    path: &KeyPath,
    raw: &RawDataCapture,
) -> Option<DataCapture> {
    let before = c.errors.len();
    let at = path.key("destination");
    let destination = c
        .required(&raw.destination, &at)
        .and_then(|text| c.location(env, &text, &at, false));
    let sampling_percent = raw.sampling_percent.unwrap_or(100);
    if sampling_percent > 100 {
        c.fail(
            &path.key("sampling_percent"),
            format!("the sampling percentage is 0 to 100, got {sampling_percent}"),
        );
    }
    let request = raw.request.unwrap_or(true);
    let response = raw.response.unwrap_or(true);
    if !request && !response {
        c.fail(
            &path.key("request"),
            "data capture with neither request nor response captures nothing",
        );
    }
    for (list, key) in [
        (&raw.csv_content_types, "csv_content_types"),
        (&raw.json_content_types, "json_content_types"),
    ] {
        if list.len() > MAX_CONTENT_TYPES {
            c.fail(
                &path.key(key),
                format!(
                    "SageMaker takes at most {MAX_CONTENT_TYPES} content types, got {}",
                    list.len()
                ),
            );
        }
        for (i, t) in list.iter().enumerate() {
            if !is_content_type(t) {
                c.fail(
                    &path.key(key).index(i),
                    format!("expected a content type such as \"text/csv\" (at most 256 characters), got {t:?}"),
                );
            }
        }
    }
    (c.errors.len() == before).then(|| DataCapture {
        destination: destination.expect("validated above"),
        sampling_percent,
        request,
        response,
        csv_content_types: raw.csv_content_types.clone(),
        json_content_types: raw.json_content_types.clone(),
    })
}

/// The serving role writes captured data, and must not write where models
/// are: a capture destination in a zone holding a served model or a
/// training job's output is an error.
pub(super) fn capture_beside_models(c: &mut Checker, endpoints: &[Endpoint], jobs: &[TrainingJob]) {
    let model_zones: BTreeSet<&str> = endpoints
        .iter()
        .flat_map(|e| e.all_variants())
        .map(|v| v.model_data.zone.as_str())
        .chain(jobs.iter().map(|j| j.output.zone.as_str()))
        .collect();
    for endpoint in endpoints {
        let Some(capture) = &endpoint.data_capture else {
            continue;
        };
        if model_zones.contains(capture.destination.zone.as_str()) {
            c.fail(
                &KeyPath::root()
                    .key("endpoints")
                    .key(&endpoint.name)
                    .key("data_capture")
                    .key("destination"),
                format!(
                    "zone {:?} holds models: the serving role writes captured data and must not write where models are (capture to another zone)",
                    capture.destination.zone
                ),
            );
        }
    }
}

/// SageMaker's pattern for a captured content type: `type/subtype` of
/// letters, digits, dashes (and dots in the subtype).
fn is_content_type(t: &str) -> bool {
    let Some((kind, sub)) = t.split_once('/') else {
        return false;
    };
    let word = |s: &str, extra: &str| {
        s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && !s.ends_with('-')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-".contains(c) || extra.contains(c))
    };
    t.len() <= 256 && word(kind, "") && word(sub, ".")
}

pub(super) struct MonitorContext<'a> {
    pub env: &'a PartialEnv<'a>,
    pub path: KeyPath,
    pub endpoint_name: &'a str,
    pub name: &'a str,
    pub capture: Option<&'a DataCapture>,
}

pub(super) fn validate_monitor(
    c: &mut Checker,
    cx: &MonitorContext,
    raw: &RawMonitor,
) -> Option<Monitor> {
    let path = &cx.path;
    let before = c.errors.len();
    match cx.capture {
        None => c.fail(
            path,
            "the monitor analyses captured requests: set data_capture on this endpoint",
        ),
        Some(capture) if !capture.request => c.fail(
            path,
            "data-quality monitoring analyses the requests: data_capture.request must be true",
        ),
        Some(_) => {}
    }
    let schedule = c
        .required(&raw.schedule, &path.key("schedule"))
        .unwrap_or_default();
    let schedule_expression = match monitoring_schedule(&schedule) {
        Ok(expression) => expression,
        Err(problem) => {
            if raw.schedule.is_some() {
                c.fail(&path.key("schedule"), problem);
            }
            String::new()
        }
    };
    let instance_type = raw
        .instance_type
        .clone()
        .unwrap_or_else(|| MONITOR_INSTANCE_TYPE.to_string());
    if instances::lookup(&instance_type).is_none()
        || !MONITOR_FAMILIES.contains(&instances::instance_family(&instance_type))
    {
        c.fail(
            &path.key("instance_type"),
            format!(
                "{instance_type:?} is not a CPU instance type of SageMaker Processing (families: {})",
                MONITOR_FAMILIES.join(", ")
            ),
        );
    }
    let instance_count = raw.instance_count.unwrap_or(1);
    if !(1..=100).contains(&instance_count) {
        c.fail(
            &path.key("instance_count"),
            format!("a monitoring job runs on 1 to 100 instances, got {instance_count}"),
        );
    }
    let volume_gb = raw.volume_gb.unwrap_or(MONITOR_VOLUME_GB);
    if !(1..=16_384).contains(&volume_gb) {
        c.fail(
            &path.key("volume_gb"),
            format!("a monitoring volume is 1 to 16384 GB, got {volume_gb}"),
        );
    }
    let max_runtime_seconds = match &raw.max_runtime {
        None => MONITOR_MAX_RUNTIME_SECONDS,
        Some(text) => {
            let seconds = c.duration(text, &path.key("max_runtime")).unwrap_or(0);
            if seconds > MONITOR_MAX_RUNTIME_SECONDS {
                c.fail(
                    &path.key("max_runtime"),
                    format!("{text:?} is longer than an hour: the next hourly run would start before this one ends"),
                );
            }
            seconds
        }
    };
    let output_text = c.required(&raw.output, &path.key("output"));
    let output = output_text.and_then(|t| c.location(cx.env, &t, &path.key("output"), false));
    let baseline = |c: &mut Checker, text: &Option<String>, key: &str| {
        text.as_ref()
            .and_then(|t| c.location(cx.env, t, &path.key(key), true))
    };
    let baseline_statistics = baseline(c, &raw.baseline_statistics, "baseline_statistics");
    let baseline_constraints = baseline(c, &raw.baseline_constraints, "baseline_constraints");
    let image_uri = model_monitor_image(cx.env.names.region);
    if image_uri.is_none() && c.names_known {
        c.fail(
            path,
            format!(
                "SageMaker publishes no Model Monitor image in {}",
                cx.env.names.region
            ),
        );
    }
    let schedule_name = format!("{}-data-quality", cx.endpoint_name);
    if c.names_known
        && let Some(problem) = rules::sagemaker_name_problem(&schedule_name)
    {
        c.fail(
            path,
            format!("derived monitoring schedule name {schedule_name:?} {problem}"),
        );
    }
    if c.errors.len() > before {
        return None;
    }
    let ids = names::MonitorIds::of(cx.name);
    Some(Monitor {
        schedule_expression,
        instance_type,
        instance_count,
        volume_gb,
        max_runtime_seconds,
        output: output?,
        baseline_statistics,
        baseline_constraints,
        image_uri: image_uri.unwrap_or_default(),
        schedule_name,
        job_definition_id: ids.job_definition,
        schedule_id: ids.schedule,
    })
}

/// The monitoring schedule's `ScheduleExpression`: SageMaker runs monitoring
/// hourly (`cron(0 * ? * * *)`), daily at an hour (`cron(0 H ? * * *)`) or
/// every N hours from an hour (`cron(0 H/N ? * * *)`), the forms the SDK's
/// `CronExpressionGenerator` writes; nothing finer than an hour.
pub fn monitoring_schedule(text: &str) -> Result<String, String> {
    match text {
        "hourly" => return Ok("cron(0 * ? * * *)".into()),
        "daily" => return Ok("cron(0 0 ? * * *)".into()),
        _ => {}
    }
    let problem = || {
        format!(
            "expected \"hourly\", \"daily\", cron(0 H ? * * *) or cron(0 H/N ? * * *) (H 0–23, N 1–23), \
             the schedules SageMaker monitoring accepts; got {text:?}"
        )
    };
    let hours = text
        .strip_prefix("cron(0 ")
        .and_then(|rest| rest.strip_suffix(" ? * * *)"))
        .ok_or_else(problem)?;
    let hour = |s: &str, range: std::ops::RangeInclusive<u32>| {
        s.parse::<u32>()
            .ok()
            .filter(|h| range.contains(h))
            .is_some()
    };
    let ok = match hours.split_once('/') {
        None => hours == "*" || hour(hours, 0..=23),
        Some((start, every)) => hour(start, 0..=23) && hour(every, 1..=23),
    };
    if ok {
        Ok(text.to_string())
    } else {
        Err(problem())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_read_as_application_auto_scaling_reads_them() {
        for good in [
            "cron(0 20 * * ? *)",
            "cron(0 7 ? * MON-FRI *)",
            "at(2026-12-24T18:00:00)",
            "rate(1 day)",
            "rate(6 hours)",
        ] {
            assert_eq!(scaling_schedule_problem(good), None, "{good}");
        }
        for bad in [
            "cron(0 20 * * *)",
            "cron(0 20 * * 1 *)",
            "at(2026-12-24 18:00)",
            "rate(1 days)",
            "rate(2 hour)",
            "rate(0 minutes)",
            "every night",
        ] {
            assert!(scaling_schedule_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn monitoring_runs_hourly_daily_or_every_n_hours() {
        assert_eq!(monitoring_schedule("hourly").unwrap(), "cron(0 * ? * * *)");
        assert_eq!(monitoring_schedule("daily").unwrap(), "cron(0 0 ? * * *)");
        assert!(monitoring_schedule("cron(0 6/4 ? * * *)").is_ok());
        for bad in [
            "cron(30 * ? * * *)",
            "cron(0 24 ? * * *)",
            "cron(0 1/0 ? * * *)",
            "rate(1 hour)",
            "weekly",
        ] {
            assert!(monitoring_schedule(bad).is_err(), "{bad}");
        }
    }
}
