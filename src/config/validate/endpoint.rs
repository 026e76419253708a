//! An endpoint's checks: its variants (each with its own model, capacity,
//! weight and autoscaling), its deployment guardrails and its alarms. The
//! keys written on the endpoint itself are the defaults of every variant;
//! an endpoint without `variants` is the single variant `AllTraffic`.

use super::serving::{
    MonitorContext, validate_data_capture, validate_monitor, validate_schedule, validate_serverless,
};
use super::*;
use crate::config::env::TrafficControl;
use crate::config::names::{AlarmKind, DEFAULT_VARIANT, Layer, VariantIds};

/// Why a serverless model runs without network isolation.
const SERVERLESS_ISOLATION_REASON: &str =
    "SageMaker Serverless Inference does not support network isolation";

const DEFAULT_MODEL_FILE: &str = "model.tar.gz";
const DEFAULT_DEPLOYMENT_WAIT_SECONDS: u64 = 300;
/// Room for provisioning the new fleet on top of the deployment's waits.
const PROVISIONING_ALLOWANCE_SECONDS: u64 = 1800;

/// A variant's keys as written on the variant, else on the endpoint, with
/// the place each value came from (errors point there).
struct Keys<'a> {
    variant: Option<&'a RawVariant>,
    endpoint: &'a RawEndpoint,
    variant_path: KeyPath,
    endpoint_path: KeyPath,
}

impl<'a> Keys<'a> {
    fn pick<T: Clone + 'a>(
        &self,
        key: &str,
        own: impl Fn(&'a RawVariant) -> &'a Option<T>,
        shared: impl Fn(&'a RawEndpoint) -> &'a Option<T>,
    ) -> (Option<T>, KeyPath) {
        if let Some(v) = self.variant
            && let Some(value) = own(v)
        {
            return (Some(value.clone()), self.variant_path.key(key));
        }
        match shared(self.endpoint) {
            Some(value) => (Some(value.clone()), self.endpoint_path.key(key)),
            None => (None, self.variant_path.key(key)),
        }
    }

    /// The model is taken whole from one level: a variant naming its own
    /// model data or training job does not mix with the endpoint's.
    fn model_level(&self) -> (Option<String>, Option<String>, Option<String>, KeyPath) {
        if let Some(v) = self.variant
            && (v.model_data.is_some() || v.training_job.is_some())
        {
            return (
                v.model_data.clone(),
                v.training_job.clone(),
                v.model_file.clone(),
                self.variant_path.clone(),
            );
        }
        let e = self.endpoint;
        if e.model_data.is_some() || e.training_job.is_some() {
            return (
                e.model_data.clone(),
                e.training_job.clone(),
                e.model_file.clone(),
                self.endpoint_path.clone(),
            );
        }
        (None, None, None, self.variant_path.clone())
    }
}

pub(super) fn validate_endpoint(
    c: &mut Checker,
    env: &PartialEnv,
    jobs: &[TrainingJob],
    raw_jobs: &BTreeMap<String, RawTraining>,
    name: &str,
    raw: &RawEndpoint,
) -> Option<Endpoint> {
    let path = KeyPath::root().key("endpoints").key(name);
    let before = c.errors.len();
    c.identifier(name, &path);
    let endpoint_name = env.names.endpoint(name);
    if c.names_known
        && let Some(problem) = rules::sagemaker_name_problem(&endpoint_name)
    {
        c.fail(
            &path,
            format!("derived endpoint name {endpoint_name:?} {problem}"),
        );
    }
    let context = Context {
        env,
        jobs,
        raw_jobs,
        endpoint: raw,
        endpoint_name: &endpoint_name,
        name,
        path: &path,
    };
    let mut variants = Vec::new();
    if raw.variants.is_empty() {
        variants.extend(validate_variant(c, &context, None));
    } else {
        if raw.variants.len() > rules::MAX_PRODUCTION_VARIANTS {
            c.fail(
                &path.key("variants"),
                format!(
                    "{} production variants: SageMaker allows at most {} per endpoint",
                    raw.variants.len(),
                    rules::MAX_PRODUCTION_VARIANTS
                ),
            );
        }
        for (variant, rawv) in &raw.variants {
            let at = path.key("variants").key(variant);
            variants.extend(validate_variant(c, &context, Some((variant, rawv, at))));
        }
    }
    let mut shadow_variants = Vec::new();
    if !raw.shadow_variants.is_empty() {
        if raw.shadow_variants.len() > rules::MAX_SHADOW_VARIANTS {
            c.fail(
                &path.key("shadow_variants"),
                format!(
                    "{} shadow variants: SageMaker allows one shadow variant per endpoint",
                    raw.shadow_variants.len()
                ),
            );
        }
        if raw.variants.len() > 1 {
            c.fail(
                &path.key("shadow_variants"),
                "an endpoint with a shadow variant has exactly one production variant (SageMaker's rule)",
            );
        }
        for (variant, rawv) in &raw.shadow_variants {
            let at = path.key("shadow_variants").key(variant);
            if raw.variants.contains_key(variant)
                || (raw.variants.is_empty() && variant == DEFAULT_VARIANT)
            {
                c.fail(
                    &at,
                    format!(
                        "variant name {variant:?} is also a production variant of this endpoint"
                    ),
                );
                continue;
            }
            shadow_variants.extend(validate_variant(c, &context, Some((variant, rawv, at))));
        }
    }
    // Variant names are case-insensitive in SageMaker's metrics and scaling ids.
    let mut seen = BTreeSet::new();
    for variant in variants.iter().chain(&shadow_variants) {
        if !seen.insert(variant.name.to_ascii_lowercase()) {
            c.fail(
                &path,
                format!("two variants are named {:?} apart from case", variant.name),
            );
        }
    }
    let total: f64 = variants.iter().map(|v| v.weight).sum();
    if !variants.is_empty() && total <= 0.0 && c.errors.len() == before {
        c.fail(
            &path.key("variants"),
            "the production variants' weights sum to 0: no variant would receive traffic",
        );
    }
    let traffic = match raw.traffic.as_deref() {
        None => TrafficControl::Config,
        Some(text) => TrafficControl::parse(text).unwrap_or_else(|| {
            c.fail(
                &path.key("traffic"),
                format!("expected \"config\" or \"external\", got {text:?}"),
            );
            TrafficControl::Config
        }),
    };
    let deployment = raw.deployment.as_ref().and_then(|d| {
        validate_deployment(c, &path.key("deployment"), d, &variants, &shadow_variants)
    });
    if let Some(v) = variants.iter().find(|v| v.serverless.is_some()) {
        serverless_endpoint(c, &path, raw, &v.name);
    }
    let data_capture = raw
        .data_capture
        .as_ref()
        .and_then(|d| validate_data_capture(c, env, &path.key("data_capture"), d));
    let monitor = raw.monitor.as_ref().and_then(|m| {
        let cx = MonitorContext {
            env,
            path: path.key("monitor"),
            endpoint_name: &endpoint_name,
            name,
            capture: data_capture.as_ref(),
        };
        validate_monitor(c, &cx, m)
    });
    if c.errors.len() > before {
        return None;
    }
    let ids = EndpointIds::of(name);
    let owner = Owner {
        path: path.clone(),
        what: format!("endpoint {name:?}"),
    };
    c.claim_all(ids.claims(), &owner);
    c.claim(Scope::Endpoint, &endpoint_name, &owner);
    for variant in variants.iter().chain(&shadow_variants) {
        c.claim_all(variant.ids.claims(), &owner);
        for alarm in &variant.alarms {
            c.claim(Scope::Resource(Layer::Serving), &alarm.logical_id, &owner);
            c.claim(Scope::Alarm, &alarm.alarm_name, &owner);
        }
    }
    Some(Endpoint {
        name: name.to_string(),
        endpoint_name,
        ids,
        variants,
        shadow_variants,
        deployment,
        data_capture,
        monitor,
        traffic,
    })
}

/// What SageMaker Serverless Inference leaves out: more than one production
/// variant, shadow variants, data capture and Model Monitor.
fn serverless_endpoint(c: &mut Checker, path: &KeyPath, raw: &RawEndpoint, variant: &str) {
    let why = |what: &str| {
        format!(
            "variant {variant:?} is serverless: SageMaker Serverless Inference does not support {what}"
        )
    };
    if raw.variants.len() > 1 {
        c.fail(
            &path.key("variants"),
            why("more than one production variant"),
        );
    }
    if !raw.shadow_variants.is_empty() {
        c.fail(&path.key("shadow_variants"), why("shadow variants"));
    }
    if raw.data_capture.is_some() {
        c.fail(&path.key("data_capture"), why("data capture"));
    }
    if raw.monitor.is_some() {
        c.fail(&path.key("monitor"), why("Model Monitor"));
    }
}

struct Context<'a> {
    env: &'a PartialEnv<'a>,
    jobs: &'a [TrainingJob],
    raw_jobs: &'a BTreeMap<String, RawTraining>,
    endpoint: &'a RawEndpoint,
    endpoint_name: &'a str,
    name: &'a str,
    path: &'a KeyPath,
}

fn validate_variant(
    c: &mut Checker,
    cx: &Context,
    variant: Option<(&String, &RawVariant, KeyPath)>,
) -> Option<Variant> {
    let before = c.errors.len();
    let (variant_name, own, variant_path) = match &variant {
        Some((name, raw, at)) => (name.as_str(), Some(*raw), at.clone()),
        None => (DEFAULT_VARIANT, None, cx.path.clone()),
    };
    if variant.is_some()
        && let Some(problem) = rules::sagemaker_name_problem(variant_name)
    {
        c.fail(
            &variant_path,
            format!("variant name {variant_name:?} {problem}"),
        );
    }
    let keys = Keys {
        variant: own,
        endpoint: cx.endpoint,
        variant_path: variant_path.clone(),
        endpoint_path: cx.path.clone(),
    };
    let (image, image_path) = keys.pick("image", |v| &v.image, |e| &e.image);
    let image = c
        .required(&image, &image_path)
        .and_then(|i| c.image(&i, &image_path, cx.env.names.region));
    let model_data = model_data(c, cx, &keys);
    let (serverless, serverless_path) =
        keys.pick("serverless", |v| &v.serverless, |e| &e.serverless);
    // Decisions below follow what is written, even when it is invalid.
    let is_serverless = serverless.is_some();
    let serverless = serverless
        .as_ref()
        .and_then(|raw| validate_serverless(c, &serverless_path, raw));
    let (instance_type, type_path) =
        keys.pick("instance_type", |v| &v.instance_type, |e| &e.instance_type);
    let type_given = instance_type.is_some();
    let instance_type = if is_serverless {
        instance_type.unwrap_or_default()
    } else {
        c.required(&instance_type, &type_path).unwrap_or_default()
    };
    if type_given && !instances::is_serving_instance(&instance_type) {
        c.fail(
            &type_path,
            format!(
                "{instance_type:?} is not a SageMaker endpoint instance type{}",
                super::suggest::did_you_mean(&instance_type, instances::serving_instances())
            ),
        );
    }
    // The opt-out and its reason are read from one level, like the model.
    let (flag, reason, isolation_path) = match own {
        Some(v) if v.network_isolation.is_some() || v.network_isolation_reason.is_some() => (
            v.network_isolation,
            v.network_isolation_reason.clone(),
            variant_path.clone(),
        ),
        _ => (
            cx.endpoint.network_isolation,
            cx.endpoint.network_isolation_reason.clone(),
            cx.path.clone(),
        ),
    };
    let (network_isolation, network_isolation_reason) = if is_serverless {
        if flag == Some(true) {
            c.fail(
                &isolation_path.key("network_isolation"),
                "SageMaker Serverless Inference does not support network isolation: remove network_isolation = true or serve on instances",
            );
        }
        (false, Some(SERVERLESS_ISOLATION_REASON.to_string()))
    } else {
        c.isolation(flag, &reason, &isolation_path)
    };
    let (autoscaling, scaling_path) =
        keys.pick("autoscaling", |v| &v.autoscaling, |e| &e.autoscaling);
    let (count, count_path) = keys.pick(
        "instance_count",
        |v| &v.instance_count,
        |e| &e.instance_count,
    );
    if is_serverless {
        // Serverless capacity replaces all instance settings.
        for (given, key) in [
            (type_given, "instance_type"),
            (count.is_some(), "instance_count"),
            (autoscaling.is_some(), "autoscaling"),
        ] {
            if given {
                c.fail(
                    &serverless_path,
                    format!(
                        "serverless and {key} exclude each other: a serverless variant has no instances                          and scales by itself (remove {key}, or serverless to serve on instances)"
                    ),
                );
            }
        }
    }
    let autoscaling = autoscaling
        .as_ref()
        .filter(|_| !is_serverless)
        .and_then(|a| validate_autoscaling(c, &scaling_path, a, &instance_type));
    let initial_instance_count = if is_serverless {
        0
    } else {
        instance_count(c, &count_path, count, autoscaling.as_ref())
    };
    let weight = match own.and_then(|v| v.weight) {
        None => 1.0,
        Some(w) if w.is_finite() && w >= 0.0 => w,
        Some(w) => {
            c.fail(
                &variant_path.key("weight"),
                format!("expected a weight of 0 or more, got {w}"),
            );
            0.0
        }
    };
    if c.errors.len() > before {
        return None;
    }
    let explicit = variant.as_ref().map(|(name, _, _)| name.as_str());
    let ids = VariantIds::of(cx.name, explicit);
    let alarms = cx
        .endpoint
        .alarms
        .as_ref()
        .map(|raw| {
            alarms(
                c,
                cx,
                raw,
                &ids,
                variant_name,
                // Serverless variants have no instance type.
                serverless.is_none().then_some(instance_type.as_str()),
                autoscaling.as_ref(),
            )
        })
        .unwrap_or_default();
    Some(Variant {
        name: variant_name.to_string(),
        scaling_policy_name: cx.env.names.scaling_policy(cx.endpoint_name, explicit),
        ids,
        image: image?,
        model_data: model_data?,
        instance_type,
        initial_instance_count,
        weight,
        network_isolation,
        network_isolation_reason,
        autoscaling,
        alarms,
        serverless,
    })
}

/// `model_data` in the data lake, or the model file under a training job's output.
fn model_data(c: &mut Checker, cx: &Context, keys: &Keys) -> Option<S3Location> {
    let (data, job, file, at) = keys.model_level();
    match (data, job) {
        (Some(_), Some(_)) => {
            c.fail(
                &at.key("training_job"),
                "set one model source: model_data or training_job",
            );
            None
        }
        (Some(text), None) => {
            if file.is_some() {
                c.fail(
                    &at.key("model_file"),
                    "model_file goes with training_job, not model_data",
                );
            }
            c.location(cx.env, &text, &at.key("model_data"), true)
        }
        (None, Some(job)) => {
            if !cx.raw_jobs.contains_key(&job) {
                let known: Vec<&str> = cx.raw_jobs.keys().map(String::as_str).collect();
                c.fail(
                    &at.key("training_job"),
                    format!(
                        "no training job named {job:?} (declared: {})",
                        known.join(", ")
                    ),
                );
                return None;
            }
            // The job's own errors are reported where it is declared.
            let output = &cx.jobs.iter().find(|j| j.name == job)?.output;
            let file = file.unwrap_or_else(|| DEFAULT_MODEL_FILE.to_string());
            if file.is_empty() || file.starts_with('/') || file.ends_with('/') {
                c.fail(
                    &at.key("model_file"),
                    format!("expected a file name under the job's output, got {file:?}"),
                );
                return None;
            }
            let text = format!("{}/{}{file}", output.zone, output.key);
            c.location(cx.env, &text, &at.key("model_file"), true)
        }
        (None, None) => {
            c.fail(
                &at.key("model_data"),
                "required key is missing (or set training_job)",
            );
            None
        }
    }
}

fn instance_count(
    c: &mut Checker,
    path: &KeyPath,
    count: Option<u32>,
    autoscaling: Option<&Autoscaling>,
) -> u32 {
    match (autoscaling, count) {
        (Some(a), Some(n)) if n < a.min || n > a.max => {
            c.fail(
                path,
                format!("{n} is outside autoscaling [{}, {}]", a.min, a.max),
            );
            n
        }
        (_, Some(0)) => {
            c.fail(path, "an endpoint needs at least 1 instance");
            0
        }
        (_, Some(n)) if n > rules::MAX_VARIANT_INSTANCES => {
            c.fail(
                path,
                format!(
                    "{n} is more instances than SageMaker's InitialInstanceCount allows (at most {})",
                    rules::MAX_VARIANT_INSTANCES
                ),
            );
            n
        }
        (_, Some(n)) => n,
        (Some(a), None) => a.min,
        (None, None) => 1,
    }
}

pub(super) fn validate_autoscaling(
    c: &mut Checker,
    path: &KeyPath,
    raw: &RawAutoscaling,
    instance_type: &str,
) -> Option<Autoscaling> {
    let before = c.errors.len();
    let min = c.required(&raw.min, &path.key("min")).unwrap_or(1);
    let max = c.required(&raw.max, &path.key("max")).unwrap_or(1);
    if min < 1 {
        c.fail(
            &path.key("min"),
            "min must be at least 1 (an endpoint cannot scale to zero)",
        );
    }
    if max < min {
        c.fail(
            &path.key("max"),
            format!("max ({max}) must be at least min ({min})"),
        );
    } else if max > rules::MAX_VARIANT_INSTANCES {
        c.fail(
            &path.key("max"),
            format!(
                "{max} is more instances than a SageMaker variant can be scaled to (Application Auto Scaling's MaxCapacity is at most {})",
                rules::MAX_VARIANT_INSTANCES
            ),
        );
    }
    let (metric, target, target_key) = match (
        raw.target_invocations_per_instance,
        raw.target_cpu_utilization,
    ) {
        (Some(t), None) => (
            ScalingMetric::InvocationsPerInstance,
            t,
            "target_invocations_per_instance",
        ),
        (None, Some(t)) => (ScalingMetric::CpuUtilization, t, "target_cpu_utilization"),
        (Some(_), Some(_)) => {
            c.fail(
                &path.key("target_cpu_utilization"),
                "set one target: target_invocations_per_instance or target_cpu_utilization",
            );
            return None;
        }
        (None, None) => {
            c.fail(
                &path.key("target_invocations_per_instance"),
                "required key is missing (or set target_cpu_utilization)",
            );
            return None;
        }
    };
    if target.is_nan() || target <= 0.0 || !target.is_finite() {
        c.fail(
            &path.key(target_key),
            format!("target must be greater than 0, got {target}"),
        );
    } else if metric == ScalingMetric::CpuUtilization && target > 100.0 {
        c.fail(
            &path.key(target_key),
            format!(
                "expected the average CPU percentage per instance (at most 100), got {target}; \
                 mlinfra multiplies it by the instance type's vCPUs"
            ),
        );
    }
    let target_value = match metric {
        ScalingMetric::InvocationsPerInstance => target,
        // An unknown instance type is reported on `instance_type` already.
        ScalingMetric::CpuUtilization => cpu_target_value(target, instance_type).unwrap_or(target),
    };
    let cooldown = |c: &mut Checker, text: &Option<String>, key: &str| -> u64 {
        let Some(text) = text else {
            return DEFAULT_COOLDOWN_SECONDS;
        };
        let seconds = c.duration(text, &path.key(key)).unwrap_or(0);
        if seconds > MAX_COOLDOWN_SECONDS {
            c.fail(&path.key(key), format!("{text:?} is longer than a day"));
        }
        seconds
    };
    let scale_in = cooldown(c, &raw.scale_in_cooldown, "scale_in_cooldown");
    let scale_out = cooldown(c, &raw.scale_out_cooldown, "scale_out_cooldown");
    let schedule = validate_schedule(c, path, &raw.schedule, min, max);
    (c.errors.len() == before).then_some(Autoscaling {
        min,
        max,
        metric,
        target,
        target_value,
        scale_in_cooldown_seconds: scale_in,
        scale_out_cooldown_seconds: scale_out,
        schedule,
    })
}

/// A wait that may be zero (`"0s"`), which `Checker::duration` refuses.
fn wait(c: &mut Checker, text: &Option<String>, path: &KeyPath, default: u64) -> u64 {
    match text.as_deref() {
        None => default,
        Some(t) if t.trim_end_matches(['s', 'm', 'h']) == "0" => 0,
        Some(t) => c.duration(t, path).unwrap_or(0),
    }
}

fn validate_deployment(
    c: &mut Checker,
    path: &KeyPath,
    raw: &RawDeployment,
    variants: &[Variant],
    shadow_variants: &[Variant],
) -> Option<Deployment> {
    let before = c.errors.len();
    let strategy = raw.strategy.as_deref().unwrap_or("all-at-once");
    let shift = match strategy {
        "all-at-once" => TrafficShift::AllAtOnce,
        "canary" => {
            let percent = c
                .required(&raw.canary_percent, &path.key("canary_percent"))
                .unwrap_or(0);
            if raw.canary_percent.is_some() && (percent == 0 || percent > rules::MAX_CANARY_PERCENT)
            {
                c.fail(
                    &path.key("canary_percent"),
                    format!(
                        "a canary is 1 to {} percent of the variant's capacity, got {percent}",
                        rules::MAX_CANARY_PERCENT
                    ),
                );
            }
            TrafficShift::Canary { percent }
        }
        "linear" => {
            let percent = c
                .required(&raw.step_percent, &path.key("step_percent"))
                .unwrap_or(0);
            if raw.step_percent.is_some() && !rules::LINEAR_STEP_PERCENT.contains(&percent) {
                c.fail(
                    &path.key("step_percent"),
                    format!(
                        "a linear step is {} to {} percent of the variant's capacity, got {percent}",
                        rules::LINEAR_STEP_PERCENT.start(),
                        rules::LINEAR_STEP_PERCENT.end()
                    ),
                );
            }
            TrafficShift::Linear { percent }
        }
        other => {
            c.fail(
                &path.key("strategy"),
                format!("expected \"all-at-once\", \"canary\" or \"linear\", got {other:?}"),
            );
            return None;
        }
    };
    if raw.canary_percent.is_some() && !matches!(shift, TrafficShift::Canary { .. }) {
        c.fail(
            &path.key("canary_percent"),
            "canary_percent goes with strategy = \"canary\"",
        );
    }
    if raw.step_percent.is_some() && !matches!(shift, TrafficShift::Linear { .. }) {
        c.fail(
            &path.key("step_percent"),
            "step_percent goes with strategy = \"linear\"",
        );
    }
    if shift != TrafficShift::AllAtOnce
        && let Some(v) = variants
            .iter()
            .chain(shadow_variants)
            .find(|v| v.instance_type.starts_with("ml.inf1."))
    {
        c.fail(
            &path.key("strategy"),
            format!(
                "variant {:?} runs on {}: SageMaker does not shift traffic gradually on Inf1 \
                 instances and falls back to all at once (use strategy = \"all-at-once\")",
                v.name, v.instance_type
            ),
        );
    }
    let bound = |c: &mut Checker, seconds: u64, key: &str| {
        if seconds > rules::MAX_DEPLOYMENT_WAIT_SECONDS {
            c.fail(
                &path.key(key),
                format!("{seconds} s is longer than SageMaker's limit of one hour"),
            );
        }
    };
    let wait_seconds = wait(
        c,
        &raw.wait,
        &path.key("wait"),
        DEFAULT_DEPLOYMENT_WAIT_SECONDS,
    );
    bound(c, wait_seconds, "wait");
    let termination_wait_seconds = wait(c, &raw.termination_wait, &path.key("termination_wait"), 0);
    bound(c, termination_wait_seconds, "termination_wait");
    let mut deployment = Deployment {
        shift,
        wait_seconds,
        termination_wait_seconds,
        max_execution_seconds: 0,
        rollback_alarms: Vec::new(),
    };
    let waits = deployment.waiting_seconds();
    deployment.max_execution_seconds = match &raw.max_execution_time {
        None => (waits + PROVISIONING_ALLOWANCE_SECONDS).clamp(
            rules::MIN_DEPLOYMENT_TIMEOUT_SECONDS,
            rules::MAX_DEPLOYMENT_TIMEOUT_SECONDS,
        ),
        Some(text) => {
            let at = path.key("max_execution_time");
            let seconds = c.duration(text, &at).unwrap_or(0);
            if seconds != 0
                && !(rules::MIN_DEPLOYMENT_TIMEOUT_SECONDS..=rules::MAX_DEPLOYMENT_TIMEOUT_SECONDS)
                    .contains(&seconds)
            {
                c.fail(
                    &at,
                    format!("{text:?} is outside SageMaker's 10 minutes to 8 hours"),
                );
            } else if seconds != 0 && seconds <= waits {
                c.fail(
                    &at,
                    format!(
                        "{text:?} is not longer than the deployment's waits ({waits} s: {} step(s) of {wait_seconds} s \
                         and a termination wait of {termination_wait_seconds} s); SageMaker needs it longer",
                        shift.steps()
                    ),
                );
            }
            seconds
        }
    };
    if waits > rules::MAX_DEPLOYMENT_TIMEOUT_SECONDS {
        c.fail(
            &path.key("wait"),
            format!("the deployment's waits ({waits} s) exceed SageMaker's 8-hour limit"),
        );
    }
    let own: Vec<&Alarm> = variants.iter().flat_map(|v| &v.alarms).collect();
    deployment.rollback_alarms = match &raw.rollback_alarms {
        Some(names) => names
            .iter()
            .map(|name| RollbackAlarm {
                name: name.clone(),
                logical_id: own
                    .iter()
                    .find(|a| &a.alarm_name == name)
                    .map(|a| a.logical_id.clone()),
            })
            .collect(),
        // A bad model shows as errors and latency; those roll it back.
        None => own
            .iter()
            .filter(|a| matches!(a.kind, AlarmKind::Errors5xx | AlarmKind::LatencyP99))
            .map(|a| RollbackAlarm {
                name: a.alarm_name.clone(),
                logical_id: Some(a.logical_id.clone()),
            })
            .collect(),
    };
    if let Some(names) = &raw.rollback_alarms {
        let mut seen = BTreeSet::new();
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() || name.len() > 255 {
                c.fail(
                    &path.key("rollback_alarms").index(i),
                    "CloudWatch alarm names are 1 to 255 characters",
                );
            } else if !seen.insert(name) {
                c.fail(
                    &path.key("rollback_alarms").index(i),
                    format!("alarm {name:?} is listed twice"),
                );
            }
        }
    }
    if deployment.rollback_alarms.len() > rules::MAX_ROLLBACK_ALARMS {
        c.fail(
            &path.key("rollback_alarms"),
            format!(
                "{} rollback alarms: SageMaker watches at most {} (list the ones that matter in rollback_alarms)",
                deployment.rollback_alarms.len(),
                rules::MAX_ROLLBACK_ALARMS
            ),
        );
    }
    (c.errors.len() == before).then_some(deployment)
}

/// A default alarm: what it watches and when it fires.
struct Default {
    namespace: &'static str,
    metric: &'static str,
    statistic: &'static str,
    extended: bool,
    threshold: Option<f64>,
    period: u64,
    periods: u32,
}

fn default_alarm(kind: AlarmKind, autoscaling: Option<&Autoscaling>) -> Default {
    const INVOCATIONS: &str = "AWS/SageMaker";
    const INSTANCES: &str = "/aws/sagemaker/Endpoints";
    let d = |namespace, metric, statistic, threshold, period, periods| Default {
        namespace,
        metric,
        statistic,
        extended: false,
        threshold,
        period,
        periods,
    };
    match kind {
        AlarmKind::Errors5xx => d(INVOCATIONS, "Invocation5XXErrors", "Sum", Some(5.0), 60, 2),
        AlarmKind::LatencyP99 => Default {
            extended: true,
            ..d(INVOCATIONS, "ModelLatency", "p99", Some(1000.0), 60, 3)
        },
        AlarmKind::Cpu => d(INSTANCES, "CPUUtilization", "Average", Some(90.0), 60, 5),
        AlarmKind::Memory => d(INSTANCES, "MemoryUtilization", "Average", Some(90.0), 60, 5),
        AlarmKind::Disk => d(INSTANCES, "DiskUtilization", "Average", Some(90.0), 300, 1),
        // Target tracking holds invocations near the target unless the
        // variant is at its maximum: sustained above it means the max is
        // too low. Without an invocations target there is no default.
        AlarmKind::InvocationsPerInstance => d(
            INVOCATIONS,
            "InvocationsPerInstance",
            "Sum",
            autoscaling
                .filter(|a| a.metric == ScalingMetric::InvocationsPerInstance)
                .map(|a| a.target),
            60,
            15,
        ),
    }
}

fn alarms(
    c: &mut Checker,
    cx: &Context,
    raw: &RawAlarms,
    ids: &VariantIds,
    variant: &str,
    instance_type: Option<&str>,
    autoscaling: Option<&Autoscaling>,
) -> Vec<Alarm> {
    let path = cx.path.key("alarms");
    let mut out = Vec::new();
    for kind in AlarmKind::ALL {
        let over = match kind {
            AlarmKind::Errors5xx => &raw.errors_5xx,
            AlarmKind::LatencyP99 => &raw.latency_p99,
            AlarmKind::Cpu => &raw.cpu,
            AlarmKind::Memory => &raw.memory,
            AlarmKind::Disk => &raw.disk,
            AlarmKind::InvocationsPerInstance => &raw.invocations_per_instance,
        };
        let over = over.clone().unwrap_or_default();
        let at = path.key(kind.key());
        if over.enabled == Some(false) {
            continue;
        }
        // Serverless endpoints publish no per-instance metrics.
        if instance_type.is_none() && !matches!(kind, AlarmKind::Errors5xx | AlarmKind::LatencyP99)
        {
            if over.enabled == Some(true) || over.threshold.is_some() {
                c.fail(
                    &at,
                    "a serverless endpoint has no instances: SageMaker publishes no CPU, memory, disk or per-instance metrics for it",
                );
            }
            continue;
        }
        let d = default_alarm(kind, autoscaling);
        let Some(threshold) = over.threshold.or(d.threshold) else {
            if over.enabled == Some(true) {
                c.fail(
                    &at.key("threshold"),
                    "this alarm has no default without an invocations autoscaling target: set a threshold",
                );
            }
            continue;
        };
        if !threshold.is_finite() || threshold <= 0.0 {
            c.fail(
                &at.key("threshold"),
                format!("expected a threshold above 0, got {threshold}"),
            );
            continue;
        }
        if matches!(kind, AlarmKind::Cpu | AlarmKind::Memory | AlarmKind::Disk) && threshold > 100.0
        {
            c.fail(
                &at.key("threshold"),
                format!("expected a percentage per instance (at most 100), got {threshold}"),
            );
            continue;
        }
        let period = match &over.period {
            Some(text) => c.duration(text, &at.key("period")).unwrap_or(d.period),
            None => d.period,
        };
        let periods = over.evaluation_periods.unwrap_or(d.periods);
        if let Some(problem) = rules::alarm_period_problem(period, periods) {
            c.fail(&at, problem);
            continue;
        }
        let (metric_threshold, what) = match kind {
            AlarmKind::Errors5xx => (threshold, format!("{threshold} or more 5XX errors")),
            // ModelLatency is in microseconds.
            AlarmKind::LatencyP99 => (
                threshold * 1000.0,
                format!("p99 model latency of {threshold} ms or more"),
            ),
            // Summed over vCPUs, like the scaling target.
            AlarmKind::Cpu => (
                instance_type
                    .and_then(|t| cpu_target_value(threshold, t))
                    .unwrap_or(threshold),
                format!("average CPU of {threshold}% per instance or more"),
            ),
            AlarmKind::Memory => (threshold, format!("memory use of {threshold}% or more")),
            AlarmKind::Disk => (threshold, format!("disk use of {threshold}% or more")),
            AlarmKind::InvocationsPerInstance => (
                threshold,
                format!(
                    "{threshold} or more invocations per instance (autoscaling at its maximum?)"
                ),
            ),
        };
        out.push(Alarm {
            kind,
            logical_id: ids.alarm(kind),
            alarm_name: cx.env.names.alarm(cx.endpoint_name, variant, kind),
            namespace: d.namespace,
            metric: d.metric,
            statistic: d.statistic,
            extended: d.extended,
            threshold,
            metric_threshold,
            period_seconds: period,
            evaluation_periods: periods,
            description: format!(
                "{what} per {period} s for {periods} period(s) on variant {variant} of endpoint {}",
                cx.endpoint_name
            ),
        });
    }
    out
}
