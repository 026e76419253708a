//! `mlinfra traffic`, weights and alarms in `drift`, and `status` with
//! variants and alarms: against moto's server, which implements
//! UpdateEndpointWeightsAndCapacities (with the launcher's fix 18) and
//! CloudWatch alarms (DescribeAlarms, DisableAlarmActions, PutMetricAlarm,
//! DeleteAlarms).

use std::path::Path;
use std::process::Output;

use aws_config::SdkConfig;
use serde_json::Value;

use crate::common;
use crate::common::moto::Moto;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// dev with an A/B endpoint (blue 9 : green 1) and the default alarms.
const AB: &str = r#"
[endpoints.dogbreed]
alarms = {}

[endpoints.dogbreed.variants.blue]
weight = 9

[endpoints.dogbreed.variants.green]
weight = 1
"#;

fn ab_project(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_example_code(dir.path());
    let environments = dir.path().join("environments");
    std::fs::create_dir_all(&environments).unwrap();
    for name in ["base", "dev"] {
        let mut text = std::fs::read_to_string(
            common::repo_root()
                .join("environments")
                .join(format!("{name}.toml")),
        )
        .unwrap();
        if name == "dev" {
            text.push_str(&AB.replace("alarms = {}", &format!("alarms = {{}}\n{extra}")));
        }
        std::fs::write(environments.join(format!("{name}.toml")), text).unwrap();
    }
    dir
}

fn sdk(moto: &Moto) -> SdkConfig {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(moto.sdk_config())
}

fn run(moto: &Moto, project: &Path, args: &[&str]) -> Output {
    moto.cli(project).args(args).run()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}), exit {:?}:\n{}\n{}",
            output.status.code(),
            text(&output.stdout),
            text(&output.stderr)
        )
    })
}

fn deploy(moto: &Moto, project: &Path) {
    let output = run(moto, project, &["apply", "--env", "dev", "--yes"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "apply failed:\n{}\n{}\nmoto:\n{}",
        text(&output.stdout),
        text(&output.stderr),
        moto.log_text()
    );
}

fn drift(moto: &Moto, project: &Path) -> (i32, Value) {
    let output = run(
        moto,
        project,
        &["drift", "--env", "dev", "--format", "json"],
    );
    (output.status.code().unwrap(), json(&output))
}

/// (logical id, check kind) of every finding, with the finding.
fn findings(report: &Value) -> Vec<(String, String, Value)> {
    let mut all: Vec<(String, String, Value)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["logical_id"].as_str().unwrap().to_string(),
                f["check"]["kind"].as_str().unwrap().to_string(),
                f.clone(),
            )
        })
        .collect();
    all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    all
}

fn kinds(report: &Value) -> Vec<(String, String)> {
    findings(report)
        .into_iter()
        .map(|(id, kind, _)| (id, kind))
        .collect()
}

fn pair(id: &str, kind: &str) -> (String, String) {
    (id.to_string(), kind.to_string())
}

#[test]
fn traffic_shows_and_shifts_weights_and_drift_holds_them_to_the_config() {
    let moto = Moto::start();
    let project = ab_project("");
    let dir = project.path();
    deploy(&moto, dir);

    // A fresh apply: no drift, alarms included.
    let (code, report) = drift(&moto, dir);
    assert_eq!(code, 0, "{report:#}");

    let shown = run(
        &moto,
        dir,
        &["traffic", "--env", "dev", "dogbreed", "--format", "json"],
    );
    assert_eq!(shown.status.code(), Some(0), "{}", text(&shown.stderr));
    let shown = json(&shown);
    assert_eq!(shown["format_version"], 1);
    assert_eq!(shown["endpoint_name"], "dogbreed-dev-dogbreed");
    assert_eq!(shown["status"], "InService");
    let weights: Vec<(Value, Value, Value)> = shown["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].clone(),
                v["current_weight"].clone(),
                v["traffic_percent"].clone(),
            )
        })
        .collect();
    assert_eq!(
        weights,
        [
            ("blue".into(), 9.0.into(), 90.0.into()),
            ("green".into(), 1.0.into(), 10.0.into())
        ]
    );

    // Refusals: before any change, with the reason.
    for (args, says) in [
        (
            vec!["--set", "green=5"],
            "needs --yes when standard input is not a terminal",
        ),
        (vec!["--set", "purple=5", "--yes"], "no variant \"purple\""),
        (
            vec!["--set", "blue=0", "--set", "green=0", "--yes"],
            "would all be 0",
        ),
        (
            vec!["--capacity", "blue=2", "--capacity", "green=2", "--yes"],
            "capacity of one variant per call",
        ),
        (vec!["--set", "green=-1", "--yes"], "0 or more"),
    ] {
        let mut all = vec!["traffic", "--env", "dev", "dogbreed"];
        all.extend(&args);
        let output = run(&moto, dir, &all);
        assert_ne!(output.status.code(), Some(0), "{args:?}");
        assert!(
            text(&output.stderr).contains(says),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    let (code, report) = drift(&moto, dir);
    assert_eq!(code, 0, "refused shifts changed nothing: {report:#}");

    let shifted = run(
        &moto,
        dir,
        &[
            "traffic",
            "--env",
            "dev",
            "dogbreed",
            "--set",
            "green=5",
            "--set",
            "blue=5",
            "--capacity",
            "green=2",
            "--yes",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        shifted.status.code(),
        Some(0),
        "{}\n{}",
        text(&shifted.stderr),
        moto.log_text()
    );
    let shifted = json(&shifted);
    assert_eq!(
        shifted["changed"],
        serde_json::json!([
            "blue: weight 9 → 5 (traffic 90% → 50%)",
            "green: weight 1 → 5 (traffic 10% → 50%), instances 1 → 2"
        ])
    );
    let green = &shifted["variants"][1];
    assert_eq!(
        (
            &green["current_weight"],
            &green["traffic_percent"],
            &green["current_instances"]
        ),
        (&Value::from(5.0), &Value::from(50.0), &Value::from(2))
    );
    // A weight-only change kept blue's instances (SageMaker keeps what is not sent).
    assert_eq!(shifted["variants"][0]["current_instances"], 1);

    let (code, report) = drift(&moto, dir);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(
        kinds(&report),
        [
            pair("DogbreedEndpoint", "instance-count"),
            pair("DogbreedEndpoint", "weight"),
            pair("DogbreedEndpoint", "weight"),
        ],
        "{report:#}"
    );
    let weight = findings(&report)
        .into_iter()
        .find(|(_, kind, f)| kind == "weight" && f["check"]["variant"] == "blue")
        .unwrap()
        .2;
    assert_eq!(weight["expected"], "weight 9 (90% of traffic)");
    assert_eq!(weight["actual"], "weight 5 (50% of traffic)");
    let hint = weight["hint"].as_str().unwrap();
    for part in [
        "the configuration is the source of truth",
        "mlinfra traffic --env dev dogbreed --set blue=9 --set green=1",
        "traffic = \"external\"",
    ] {
        assert!(hint.contains(part), "{part:?} in {hint}");
    }

    // Weights and counts managed outside the configuration: no drift.
    let outside = ab_project("traffic = \"external\"");
    let output = run(
        &moto,
        outside.path(),
        &["drift", "--env", "dev", "--format", "json"],
    );
    let report = json(&output);
    assert_eq!(output.status.code(), Some(0), "{report:#}");

    // Back to the configured weights through traffic itself: in sync again.
    let back = run(
        &moto,
        dir,
        &[
            "traffic",
            "--env",
            "dev",
            "dogbreed",
            "--set",
            "blue=9",
            "--set",
            "green=1",
            "--capacity",
            "green=1",
            "--yes",
        ],
    );
    assert_eq!(back.status.code(), Some(0), "{}", text(&back.stderr));
    assert!(
        text(&back.stdout).contains("changed green: weight 5 → 1"),
        "{}",
        text(&back.stdout)
    );
    let (code, report) = drift(&moto, dir);
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn drift_reports_alarms_deleted_silenced_or_re_pointed_and_status_shows_their_states() {
    let moto = Moto::start();
    let project = ab_project("");
    let dir = project.path();
    deploy(&moto, dir);

    let status = run(&moto, dir, &["status", "--env", "dev", "--format", "json"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status.stderr));
    let status = json(&status);
    let variants = &status["endpoints"][0]["variants"];
    assert_eq!(
        (&variants[0]["name"], &variants[0]["current_weight"]),
        (&Value::from("blue"), &Value::from(9.0))
    );
    let alarms = status["alarms"].as_array().unwrap();
    // Five default alarms per variant (invocations per instance needs autoscaling).
    assert_eq!(alarms.len(), 10, "{alarms:#?}");
    for alarm in alarms {
        let state = alarm["state"].as_str().unwrap_or_default();
        assert!(
            ["OK", "ALARM", "INSUFFICIENT_DATA"].contains(&state),
            "{alarm}"
        );
        assert_eq!(alarm["actions_enabled"], true, "{alarm}");
    }
    let names: Vec<String> = alarms
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();

    let sdk = sdk(&moto);
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (silenced, deleted, re_pointed) = (&names[0], &names[1], &names[2]);
    runtime.block_on(async {
        cloudwatch
            .disable_alarm_actions()
            .alarm_names(silenced)
            .send()
            .await
            .unwrap();
        cloudwatch
            .delete_alarms()
            .alarm_names(deleted)
            .send()
            .await
            .unwrap();
        let live = cloudwatch
            .describe_alarms()
            .alarm_names(re_pointed)
            .send()
            .await
            .unwrap();
        let alarm = &live.metric_alarms()[0];
        // PutMetricAlarm replaces the alarm: everything as it was, but
        // notifying another topic.
        cloudwatch
            .put_metric_alarm()
            .alarm_name(re_pointed)
            .set_namespace(alarm.namespace().map(str::to_string))
            .set_metric_name(alarm.metric_name().map(str::to_string))
            .set_dimensions(Some(alarm.dimensions().to_vec()))
            .set_statistic(alarm.statistic().cloned())
            .set_extended_statistic(alarm.extended_statistic().map(str::to_string))
            .set_period(alarm.period())
            .set_evaluation_periods(alarm.evaluation_periods())
            .set_threshold(alarm.threshold())
            .set_comparison_operator(alarm.comparison_operator().cloned())
            .alarm_actions("arn:aws:sns:us-east-1:123456789012:somewhere-else")
            .send()
            .await
            .unwrap();
    });

    let (code, report) = drift(&moto, dir);
    assert_eq!(code, 2, "{report:#}");
    let by_name = |name: &str| -> Vec<(String, Value)> {
        findings(&report)
            .into_iter()
            .filter(|(_, _, f)| {
                f["source"] == "cloudwatch" && f["physical_id"].as_str() == Some(name)
            })
            .map(|(_, kind, f)| (kind, f))
            .collect()
    };
    let silenced = by_name(silenced);
    assert_eq!(silenced.len(), 1, "{report:#}");
    assert_eq!(silenced[0].0, "alarm-actions-enabled");
    assert_eq!(silenced[0].1["actual"], "actions disabled");
    assert!(
        silenced[0].1["hint"]
            .as_str()
            .unwrap()
            .contains("aws cloudwatch enable-alarm-actions --alarm-names"),
        "{report:#}"
    );
    let deleted = by_name(deleted);
    assert_eq!(deleted.len(), 1, "{report:#}");
    assert_eq!(
        (deleted[0].0.as_str(), &deleted[0].1["actual"]),
        ("exists", &Value::from("deleted"))
    );
    let re_pointed = by_name(re_pointed);
    assert_eq!(re_pointed.len(), 1, "{report:#}");
    assert_eq!(re_pointed[0].0, "alarm-actions");
    assert_eq!(
        re_pointed[0].1["actual"],
        "arn:aws:sns:us-east-1:123456789012:somewhere-else"
    );
    assert!(
        re_pointed[0].1["expected"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:sns:us-east-1:123456789012:dogbreed-dev-serving-alarms"),
        "{report:#}"
    );
    let cloudwatch_findings = findings(&report)
        .into_iter()
        .filter(|(_, _, f)| f["source"] == "cloudwatch")
        .count();
    assert_eq!(cloudwatch_findings, 3, "{report:#}");

    // status shows the missing alarm and the silenced one.
    let human = run(&moto, dir, &["status", "--env", "dev"]);
    assert_eq!(human.status.code(), Some(0), "{}", text(&human.stderr));
    let human = text(&human.stdout);
    assert!(human.contains("missing"), "{human}");
    assert!(human.contains("(actions disabled)"), "{human}");
    assert!(human.contains("WEIGHT"), "{human}");
}
