//! Property tests over the whole offline pipeline: load → validate → render →
//! check, fed with arbitrary bytes, TOML token soup, and structured
//! configurations that mostly follow the schema and sometimes break it.
//!
//! The properties:
//! - nothing panics;
//! - every failure is a clean error that names a file, and where it has a
//!   position that position is inside the file;
//! - every configuration that validates renders, and its templates raise no
//!   finding except the ones a valid configuration may legitimately cause
//!   (size and count limits, and a network-isolation opt-out).
//!
//! Case counts keep the three properties to a few seconds together; each test
//! prints how many cases it ran and how many of them validated.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use mlinfra::check::{self, RuleId};
use mlinfra::config;
use mlinfra::project::Project;
use mlinfra::render::{self, Engine};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use toml::{Table, Value};

/// Findings a valid configuration may legitimately produce.
const LEGITIMATE: &[RuleId] = &[
    RuleId::Lim001,
    RuleId::Lim002,
    RuleId::Lim003,
    RuleId::Lim004,
    RuleId::Lim005,
    RuleId::Net002,
    // What the configuration chose not to have (alarms, guardrails) in a
    // protected environment: findings about the choice, not unsafe templates.
    RuleId::Srv005,
    RuleId::Srv006,
];

struct Harness {
    dir: tempfile::TempDir,
    engine: Engine,
    cases: AtomicUsize,
    valid: AtomicUsize,
}

impl Harness {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        crate::common::copy_example_code(dir.path());
        std::fs::create_dir(dir.path().join("environments")).unwrap();
        let engine = Engine::new(&Project::Example).expect("built-in templates");
        Self {
            dir,
            engine,
            cases: AtomicUsize::new(0),
            valid: AtomicUsize::new(0),
        }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir
            .path()
            .join("environments")
            .join(format!("{name}.toml"))
    }

    /// Writes `prod.toml` (and `base.toml` when given) and runs the pipeline on `prod`.
    fn exercise(&self, prod: &[u8], base: Option<&[u8]>) -> Result<(), TestCaseError> {
        self.cases.fetch_add(1, Ordering::Relaxed);
        std::fs::write(self.path("prod"), prod).unwrap();
        match base {
            Some(bytes) => std::fs::write(self.path("base"), bytes).unwrap(),
            None => {
                let _ = std::fs::remove_file(self.path("base"));
            }
        }
        let project = Project::Dir(self.dir.path().to_path_buf());
        match config::load_env(&project, "prod") {
            Err(errors) => {
                prop_assert!(!errors.0.is_empty(), "an error without a message");
                for error in &errors.0 {
                    let text = error.to_string();
                    prop_assert!(text.contains(".toml"), "error names no file: {text}");
                    if let Some(at) = &error.location {
                        let file =
                            std::fs::read(self.dir.path().join(&at.file)).unwrap_or_else(|_| {
                                std::fs::read(&at.file)
                                    .expect("a located error points at a file that exists")
                            });
                        let lines = file.iter().filter(|&&b| b == b'\n').count() + 1;
                        prop_assert!(
                            at.line >= 1 && at.line <= lines,
                            "line {} outside the file: {text}",
                            at.line
                        );
                        prop_assert!(at.column >= 1, "{text}");
                    }
                }
                Ok(())
            }
            Ok(env) => {
                self.valid.fetch_add(1, Ordering::Relaxed);
                let stacks = render::render_env(&self.engine, &env).map_err(|e| {
                    TestCaseError::fail(format!("a valid configuration failed to render: {e}"))
                })?;
                prop_assert_eq!(stacks.len(), 4);
                let findings = check::check_env(&env, &stacks);
                let reviewed = check::review(&env, findings.clone());
                prop_assert!(reviewed.len() >= findings.len());
                let unexpected: Vec<String> = findings
                    .into_iter()
                    .filter(|f| !LEGITIMATE.contains(&f.rule))
                    .map(|f| {
                        format!(
                            "{}@{}: {}",
                            f.rule,
                            f.logical_id.unwrap_or_default(),
                            f.message
                        )
                    })
                    .collect();
                prop_assert!(
                    unexpected.is_empty(),
                    "a valid configuration rendered unsafe templates: {unexpected:#?}"
                );
                Ok(())
            }
        }
    }

    fn summary(&self, name: &str, started: std::time::Instant) -> (usize, usize) {
        let (cases, valid) = (
            self.cases.load(Ordering::Relaxed),
            self.valid.load(Ordering::Relaxed),
        );
        eprintln!(
            "fuzz {name}: {cases} cases, {valid} validated, {:.2?}",
            started.elapsed()
        );
        (cases, valid)
    }
}

/// MLINFRA_FUZZ_CASES overrides every test's case count, for a longer campaign.
fn runner(cases: u32) -> TestRunner {
    let cases = std::env::var("MLINFRA_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    // No regression files: a failure prints its minimal input, which becomes a fixture.
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn run(
    name: &str,
    cases: u32,
    strategy: impl Strategy<Value = (Vec<u8>, Option<Vec<u8>>)>,
) -> (usize, usize) {
    let harness = Harness::new();
    let started = std::time::Instant::now();
    let result = runner(cases).run(&strategy, |(prod, base)| {
        harness.exercise(&prod, base.as_deref())
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    harness.summary(name, started)
}

#[test]
fn arbitrary_bytes_never_panic_and_fail_with_a_located_error() {
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        any::<String>().prop_map(String::into_bytes),
    ];
    let (cases, _) = run("arbitrary bytes", 256, bytes.prop_map(|b| (b, None)));
    assert!(cases >= 256);
}

/// Fragments of TOML syntax and of this schema, so that random sequences reach
/// deeper into the parser and the deserialiser than random bytes do.
const TOKENS: &[&str] = &[
    "\n",
    "\n",
    " ",
    "=",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    ",",
    ".",
    "\"",
    "'",
    "\"\"\"",
    "#",
    "\\",
    "\r\n",
    "env",
    "project",
    "account_id",
    "region",
    "tags",
    "data_lake",
    "zones",
    "training",
    "endpoints",
    "invokers",
    "extends",
    "abstract",
    "spot",
    "max_wait",
    "autoscaling",
    "accepted_findings",
    "image",
    "instance_type",
    "\"raw\"",
    "\"base\"",
    "\"prod\"",
    "\"us-east-1\"",
    "\"123456789012\"",
    "\"1h\"",
    "1",
    "-1",
    "0",
    "99999999999999999999",
    "1.5",
    "nan",
    "inf",
    "-inf",
    "true",
    "false",
    "1979-05-27T07:32:00Z",
    "\u{0}",
    "\u{feff}",
    "é",
    "${x}",
];

#[test]
fn toml_token_soup_never_panics_and_fails_with_a_located_error() {
    let soup = prop::collection::vec(prop::sample::select(TOKENS), 0..64)
        .prop_map(|t| t.concat().into_bytes());
    let (cases, _) = run(
        "token soup",
        256,
        (soup.clone(), prop::option::weighted(0.2, soup)),
    );
    assert!(cases >= 256);
}

// ---- structured configurations ------------------------------------------------

fn s(text: &str) -> Value {
    Value::String(text.to_string())
}

/// Mostly a valid value, sometimes one of the invalid ones.
fn mostly<T: Clone + std::fmt::Debug + 'static>(
    valid: &'static [T],
    invalid: &'static [T],
) -> BoxedStrategy<T> {
    prop_oneof![20 => prop::sample::select(valid), 1 => prop::sample::select(invalid)].boxed()
}

fn name() -> BoxedStrategy<String> {
    prop_oneof![40 => "[a-z][a-z0-9]{0,7}", 1 => "[A-Za-z0-9_. -]{0,40}"].boxed()
}

fn duration() -> BoxedStrategy<&'static str> {
    mostly(
        &["1h", "90m", "2h", "3h", "1d", "28d", "1s", "2h 30m"],
        &["0s", "29d", "abc", "", "1", "500ms", "-1h"],
    )
}

/// A spot wait: mostly long enough for any runtime above.
fn wait() -> BoxedStrategy<&'static str> {
    mostly(&["28d", "3d", "2d"], &["1s", "1h", "abc"])
}

fn int(valid: std::ops::RangeInclusive<i64>) -> BoxedStrategy<i64> {
    prop_oneof![30 => valid, 1 => prop::sample::select(&[-1i64, 0, 4_294_967_296, i64::MAX][..])]
        .boxed()
}

/// `REGION` becomes the environment's region: SageMaker pulls images only
/// from the region it runs in, so a valid configuration names that one.
const IMAGES: &[&str] = &[
    "763104351884.dkr.ecr.REGION.amazonaws.com/pytorch-training:2.1.0-gpu-py310",
    "123456789012.dkr.ecr.REGION.amazonaws.com/team/model@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
];
const BAD_IMAGES: &[&str] = &[
    "docker.io/library/python:3",
    "",
    "1.dkr.ecr.x.amazonaws.com/r:t",
];
const TRAINING_TYPES: &[&str] = &[
    "ml.g4dn.xlarge",
    "ml.g5.2xlarge",
    "ml.p3.2xlarge",
    "ml.p4d.24xlarge",
    "ml.m5.large",
];
const SERVING_TYPES: &[&str] = &[
    "ml.m5.large",
    "ml.c5.xlarge",
    "ml.g5.xlarge",
    "ml.g4dn.xlarge",
    "ml.inf2.xlarge",
];
const BAD_TYPES: &[&str] = &["ml.g4dn.huge", "m5.large", ""];

/// A location `zone/prefix` in one of `zones`, or a broken one.
fn location(zones: Vec<String>, object: bool) -> BoxedStrategy<String> {
    let zone = prop::sample::select(if zones.is_empty() {
        vec!["raw".to_string()]
    } else {
        zones
    });
    let key = if object {
        "[a-z]{1,6}/[a-z]{1,6}\\.tar\\.gz"
    } else {
        "[a-z]{1,6}/?"
    };
    prop_oneof![
        30 => (zone, key).prop_map(|(z, k)| format!("{z}/{k}")),
        1 => prop::sample::select(&["nozone/x/", "raw", "raw//x", "/x"][..]).prop_map(str::to_string),
    ]
    .boxed()
}

/// A declared zone, or now and then any name.
fn zone_or_name(zones: Vec<String>) -> BoxedStrategy<String> {
    let zones = if zones.is_empty() {
        vec!["raw".to_string()]
    } else {
        zones
    };
    prop_oneof![20 => prop::sample::select(zones), 1 => name()].boxed()
}

fn insert<T: Into<Value>>(table: &mut Table, key: &str, value: Option<T>) {
    if let Some(v) = value {
        table.insert(key.to_string(), v.into());
    }
}

fn isolation() -> impl Strategy<Value = (Option<bool>, Option<String>)> {
    (
        prop::option::weighted(0.2, any::<bool>()),
        prop::option::weighted(0.2, "[a-z ]{0,30}"),
    )
}

fn training(zones: Vec<String>) -> impl Strategy<Value = Table> {
    (
        mostly(IMAGES, BAD_IMAGES),
        mostly(TRAINING_TYPES, BAD_TYPES),
        prop::option::of(int(1..=4)),
        prop::option::of(int(1..=500)),
        prop::option::of(duration()),
        location(zones.clone(), false),
        location(zones, false),
        prop::option::weighted(
            0.6,
            (
                prop::option::weighted(0.2, any::<bool>()),
                prop::option::of(wait()),
            ),
        ),
        prop::option::weighted(0.2, any::<bool>()),
        isolation(),
        prop::collection::btree_map("[a-z-]{1,8}", "[ -~]{0,12}", 0..3),
    )
        .prop_map(
            |(
                image,
                kind,
                count,
                volume,
                runtime,
                input,
                output,
                spot,
                gpu,
                (iso, reason),
                hyper,
            )| {
                let mut t = Table::new();
                t.insert("image".into(), s(image));
                t.insert("instance_type".into(), s(kind));
                insert(&mut t, "instance_count", count);
                insert(&mut t, "volume_gb", volume);
                insert(&mut t, "max_runtime", runtime.map(s));
                t.insert("input".into(), s(&input));
                t.insert("output".into(), s(&output));
                if let Some((enabled, wait)) = spot {
                    let mut spot = Table::new();
                    insert(&mut spot, "enabled", enabled);
                    insert(&mut spot, "max_wait", wait.map(s));
                    t.insert("spot".into(), Value::Table(spot));
                }
                insert(&mut t, "gpu", gpu.or(Some(!kind.starts_with("ml.m5"))));
                insert(&mut t, "network_isolation", iso);
                insert(&mut t, "network_isolation_reason", reason);
                let hyper: Table = hyper
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                t.insert("hyperparameters".into(), Value::Table(hyper));
                t
            },
        )
}

fn autoscaling() -> impl Strategy<Value = Table> {
    let target = prop_oneof![20 => 0.5f64..100.0, 1 => prop::sample::select(&[0.0, -1.0, f64::NAN, f64::INFINITY, 101.0][..])];
    (
        int(1..=3),
        int(1..=10),
        target,
        prop::sample::select(&["target_invocations_per_instance", "target_cpu_utilization"][..]),
        prop::option::of(duration()),
        prop::option::of(duration()),
    )
        .prop_map(|(min, max, target, metric, scale_in, scale_out)| {
            let mut t = Table::new();
            t.insert("min".into(), Value::Integer(min));
            t.insert("max".into(), Value::Integer(max));
            t.insert(metric.into(), Value::Float(target));
            insert(&mut t, "scale_in_cooldown", scale_in.map(s));
            insert(&mut t, "scale_out_cooldown", scale_out.map(s));
            t
        })
}

fn endpoint(zones: Vec<String>) -> impl Strategy<Value = Table> {
    (
        mostly(IMAGES, BAD_IMAGES),
        location(zones, true),
        mostly(SERVING_TYPES, BAD_TYPES),
        prop::option::weighted(0.3, int(1..=4)),
        isolation(),
        prop::option::weighted(0.5, autoscaling()),
    )
        .prop_map(|(image, model, kind, count, (iso, reason), scaling)| {
            let mut t = Table::new();
            t.insert("image".into(), s(image));
            t.insert("model_data".into(), s(&model));
            t.insert("instance_type".into(), s(kind));
            insert(&mut t, "instance_count", count);
            insert(&mut t, "network_isolation", iso);
            insert(&mut t, "network_isolation_reason", reason);
            insert(&mut t, "autoscaling", scaling.map(Value::Table));
            t
        })
}

/// One environment file: `[env]`, `[data_lake]`, jobs, endpoints, invokers,
/// acceptances, now and then an unknown key, `extends` or `abstract`.
fn environment() -> impl Strategy<Value = Table> {
    let zones = prop_oneof![30 => prop::collection::vec(name(), 1..5), 1 => Just(Vec::new())];
    (
        zones,
        name(),
        mostly(
            &["123456789012", "345678901234"],
            &["12345", "abcdefghijkl", ""],
        ),
    )
        .prop_flat_map(|(zones, project, account)| {
            let region = mostly(
                &["us-east-1", "eu-west-1", "ap-southeast-2"],
                &["us-east-9", "", "mars-1"],
            );
            (
                Just((zones.clone(), project, account)),
                region,
                prop::collection::btree_map(name(), training(zones.clone()), 0..3),
                prop::collection::btree_map(name(), endpoint(zones.clone()), 0..3),
                prop::collection::vec(
                    (
                        name(),
                        mostly(
                            &["lambda.amazonaws.com", "states.amazonaws.com"],
                            &["*", "lambda"],
                        ),
                    ),
                    0..2,
                ),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("NET002".to_string()),
                        Just("IAM003@ExecutionRole".to_string()),
                        "[A-Z]{3}[0-9]{3}"
                    ],
                    prop_oneof![20 => "[a-z ]{10,30}", 1 => "[a-z ]{0,9}"],
                    0..2,
                ),
                prop::option::weighted(0.01, prop::sample::select(&["regoin", "zone"][..])),
                prop::collection::btree_map(zone_or_name(zones.clone()), 0i64..400, 0..2),
            )
        })
        .prop_map(
            |(
                (zones, project, account),
                region,
                jobs,
                endpoints,
                invokers,
                accepted,
                unknown,
                glacier,
            )| {
                let mut env = Table::new();
                env.insert("project".into(), Value::String(project));
                env.insert("account_id".into(), s(account));
                env.insert("region".into(), s(region));
                if let Some(key) = unknown {
                    env.insert(key.into(), Value::Boolean(true));
                }
                let mut lake = Table::new();
                lake.insert(
                    "zones".into(),
                    Value::Array(zones.into_iter().map(Value::String).collect()),
                );
                lake.insert(
                    "glacier_after_days".into(),
                    Value::Table(
                        glacier
                            .into_iter()
                            .map(|(k, v)| (k, Value::Integer(v)))
                            .collect(),
                    ),
                );
                let image_region = if region.is_empty() || region.contains("mars") {
                    "us-east-1".to_string()
                } else {
                    region.to_string()
                };
                let in_region = |mut table: Table| {
                    if let Some(Value::String(image)) = table.get_mut("image") {
                        *image = image.replace("REGION", &image_region);
                    }
                    table
                };
                let jobs: BTreeMap<String, Table> =
                    jobs.into_iter().map(|(k, v)| (k, in_region(v))).collect();
                let endpoints: BTreeMap<String, Table> = endpoints
                    .into_iter()
                    .map(|(k, v)| (k, in_region(v)))
                    .collect();
                let endpoint_names: Vec<String> = endpoints.keys().cloned().collect();
                let mut root = Table::new();
                root.insert("env".into(), Value::Table(env));
                root.insert("data_lake".into(), Value::Table(lake));
                root.insert(
                    "training".into(),
                    Value::Table(
                        jobs.into_iter()
                            .map(|(k, v)| (k, Value::Table(v)))
                            .collect(),
                    ),
                );
                root.insert(
                    "endpoints".into(),
                    Value::Table(
                        endpoints
                            .into_iter()
                            .map(|(k, v)| (k, Value::Table(v)))
                            .collect(),
                    ),
                );
                // Invokers need an endpoint to call; without one they are only an error.
                let invokers = invokers
                    .into_iter()
                    .filter(|_| !endpoint_names.is_empty())
                    .map(|(name, service)| {
                        let mut t = Table::new();
                        t.insert("name".into(), Value::String(name));
                        t.insert("service".into(), s(service));
                        let names = endpoint_names
                            .iter()
                            .take(2)
                            .cloned()
                            .map(Value::String)
                            .collect();
                        t.insert("endpoints".into(), Value::Array(names));
                        Value::Table(t)
                    })
                    .collect();
                root.insert("invokers".into(), Value::Array(invokers));
                root.insert(
                    "accepted_findings".into(),
                    Value::Table(
                        accepted
                            .into_iter()
                            .map(|(k, v)| (k, Value::String(v)))
                            .collect(),
                    ),
                );
                root
            },
        )
}

/// `prod` alone, or `prod` extending a `base` that may be abstract or extend `prod` back.
fn project() -> impl Strategy<Value = (Vec<u8>, Option<Vec<u8>>)> {
    let link = prop_oneof![
        5 => Just("none"),
        3 => Just("extends"),
        2 => Just("extends abstract base"),
        1 => Just("circular"),
        1 => Just("abstract"),
    ];
    (environment(), environment(), link).prop_map(|(mut prod, mut base, link)| {
        let text = |t: &Table| toml::to_string(t).expect("tables serialise").into_bytes();
        match link {
            "none" => (text(&prod), None),
            "abstract" => {
                prod.insert("abstract".into(), Value::Boolean(true));
                (text(&prod), None)
            }
            _ => {
                prod.insert("extends".into(), s("base"));
                if link == "extends abstract base" {
                    base.insert("abstract".into(), Value::Boolean(true));
                }
                if link == "circular" {
                    base.insert("extends".into(), s("prod"));
                }
                (text(&prod), Some(text(&base)))
            }
        }
    })
}

#[test]
fn structured_configurations_validate_render_and_check_or_fail_cleanly() {
    let (cases, valid) = run("structured", 256, project());
    assert!(cases >= 256);
    // The generator must reach the render and check stages, not only errors.
    // About one case in six validates; one in twenty leaves chance no room to miss.
    assert!(
        valid * 20 >= cases,
        "only {valid} of {cases} structured configurations validated"
    );
}
