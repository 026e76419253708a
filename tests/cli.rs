//! The command-line interface as a user meets it: output, exit codes, help.

mod common;

use std::process::{Command, Output};

fn mlinfra(args: &[&str]) -> Output {
    Command::new(common::mlinfra_bin())
        .args(args)
        .current_dir(common::repo_root())
        .env_remove("MLINFRA_PROJECT")
        .output()
        .expect("mlinfra runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(common::repo_root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

#[test]
fn list_shows_environments_and_stacks_in_deploy_order() {
    let output = mlinfra(&["list"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    settings().bind(|| insta::assert_snapshot!("cli__list", stdout(&output)));
    let json: serde_json::Value =
        serde_json::from_slice(&mlinfra(&["list", "--format", "json"]).stdout).unwrap();
    assert_eq!(json[0]["stacks"][3]["deps"][1], "dogbreed-dev-iam");
}

#[test]
fn validate_summarises_each_environment() {
    let output = mlinfra(&["validate", "--all"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    settings().bind(|| insta::assert_snapshot!("cli__validate_all", stdout(&output)));
}

#[test]
fn validate_reports_a_bad_config_with_its_position_and_exit_1() {
    let output = mlinfra(&[
        "--project",
        "tests/fixtures/invalid",
        "validate",
        "--env",
        "spot-wait-below-runtime",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    settings().bind(|| insta::assert_snapshot!("cli__validate_error", stderr(&output)));
}

#[test]
fn unknown_environment_is_an_error_that_lists_the_known_ones() {
    let output = mlinfra(&["validate", "--env", "qa"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("environments/qa.toml") && err.contains("dev, prod, staging"),
        "{err}"
    );
}

#[test]
fn render_prints_one_stack_or_a_map_of_stacks() {
    let one = mlinfra(&["render", "--env", "prod", "--stack", "serving"]);
    assert_eq!(one.status.code(), Some(0));
    let template: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    assert!(template["Resources"]["DogbreedScalingPolicy"].is_object());
    let all = mlinfra(&["render", "--env", "dev"]);
    let map: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
    let names: Vec<&String> = map.as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        [
            "dogbreed-dev-data",
            "dogbreed-dev-iam",
            "dogbreed-dev-training",
            "dogbreed-dev-serving"
        ],
        "deploy order"
    );
}

#[test]
fn render_all_writes_every_template_of_every_environment() {
    let out = tempfile::tempdir().unwrap();
    let output = mlinfra(&["render", "--all", "--out", out.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("wrote 12 templates"));
    for env in ["dev", "staging", "prod"] {
        for layer in ["data", "iam", "training", "serving"] {
            let path = out
                .path()
                .join(env)
                .join(format!("dogbreed-{env}-{layer}.json"));
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.ends_with("}\n"), "{}", path.display());
        }
    }
}

#[test]
fn the_built_in_example_renders_without_a_project_directory() {
    let empty = tempfile::tempdir().unwrap();
    let output = Command::new(common::mlinfra_bin())
        .args(["--example", "render", "--env", "dev", "--stack", "data"])
        .current_dir(empty.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let template: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        template["Resources"]["RawBucket"]["Properties"]["BucketName"],
        "dogbreed-dev-raw-123456789012-us-east-1"
    );
}

#[test]
fn every_command_has_help_with_examples() {
    for command in [
        vec!["--help"],
        vec!["list", "--help"],
        vec!["validate", "--help"],
        vec!["render", "--help"],
    ] {
        let output = mlinfra(&command);
        assert_eq!(output.status.code(), Some(0));
        assert!(stdout(&output).contains("Examples:"), "{command:?}");
    }
}
