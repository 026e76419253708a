//! The command-line interface as a user meets it: output, exit codes, help.

use crate::common::{self, Cli, stderr, stdout};

use std::process::{Command, Output};

fn mlinfra(args: &[&str]) -> Output {
    Cli::new().args(args).run()
}

#[test]
fn list_shows_environments_and_stacks_in_deploy_order() {
    let output = mlinfra(&["list"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    common::snapshot_settings()
        .bind(|| insta::assert_snapshot!("cli__list", common::transcript(&output)));
    let json: serde_json::Value =
        serde_json::from_slice(&mlinfra(&["list", "--format", "json"]).stdout).unwrap();
    assert_eq!(json["format_version"], 1);
    assert_eq!(
        json["environments"][0]["stacks"][3]["deps"][1],
        "dogbreed-dev-iam"
    );
}

/// `validate` of one malformed fixture, as a user sees it.
fn validate_fixture(env: &str) -> std::process::Output {
    let output = mlinfra(&[
        "--project",
        "tests/fixtures/invalid",
        "validate",
        "--env",
        env,
    ]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        common::transcript(&output)
    );
    output
}

#[test]
fn diagnostics_show_the_line_a_caret_and_the_nearest_name() {
    common::snapshot_settings().bind(|| {
        // A mistyped instance type: did you mean, under a caret.
        insta::assert_snapshot!(
            "cli__diagnostic_did_you_mean",
            common::transcript(&validate_fixture("training-instance-typo"))
        );
        // An unknown key gets the nearest known one, in plain words.
        insta::assert_snapshot!(
            "cli__diagnostic_unknown_key",
            common::transcript(&validate_fixture("unknown-nested-key"))
        );
        // A type error says what to write, not the Rust type.
        insta::assert_snapshot!(
            "cli__diagnostic_wording",
            common::transcript(&validate_fixture("wrong-type"))
        );
        // An ISO duration gets the spelling to use; the max_wait comparison
        // that depends on it is not reported against a runtime that failed.
        insta::assert_snapshot!(
            "cli__diagnostic_root_cause",
            common::transcript(&validate_fixture("iso-duration"))
        );
        // A key missing from the base is reported in the base.
        insta::assert_snapshot!(
            "cli__diagnostic_missing_in_base",
            common::transcript(&validate_fixture("missing-in-base"))
        );
    });
    let typo = stderr(&validate_fixture("training-instance-typo"));
    assert!(!typo.contains("expected u32"), "{typo}");
    let wording = stderr(&validate_fixture("wrong-type"));
    assert!(
        !wording.contains("u32") && !wording.contains("invalid type"),
        "{wording}"
    );
}

#[test]
fn an_unknown_environment_offers_the_nearest_deployable_one() {
    let output = mlinfra(&["validate", "--env", "prd"]);
    assert_eq!(output.status.code(), Some(1));
    common::snapshot_settings().bind(|| {
        insta::assert_snapshot!("cli__diagnostic_unknown_env", common::transcript(&output))
    });
    // `base` is abstract: never offered for --env.
    assert!(!stderr(&output).contains("base"), "{}", stderr(&output));
}

#[test]
fn a_mistake_in_a_shared_base_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let envs = dir.path().join("environments");
    std::fs::create_dir_all(&envs).unwrap();
    let base = std::fs::read_to_string(common::repo_root().join("environments/base.toml"))
        .unwrap()
        .replace("us-east-1\"", "us-esat-1\"");
    std::fs::write(envs.join("base.toml"), base).unwrap();
    for name in ["dev", "staging", "prod"] {
        let text =
            std::fs::read_to_string(common::repo_root().join(format!("environments/{name}.toml")))
                .unwrap();
        std::fs::write(envs.join(format!("{name}.toml")), text).unwrap();
    }
    let output = mlinfra(&[
        "--project",
        dir.path().to_str().unwrap(),
        "validate",
        "--all",
    ]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        common::transcript(&output)
    );
    let text = stderr(&output);
    assert_eq!(
        text.matches("is not a known AWS region; did you mean `us-east-1`?")
            .count(),
        1,
        "{text}"
    );
}

#[test]
fn validate_summarises_each_environment() {
    let output = mlinfra(&["validate", "--all"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    common::snapshot_settings()
        .bind(|| insta::assert_snapshot!("cli__validate_all", common::transcript(&output)));
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
    common::snapshot_settings()
        .bind(|| insta::assert_snapshot!("cli__validate_error", common::transcript(&output)));
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
    let output = Cli::new()
        .args(["--example", "render", "--env", "dev", "--stack", "data"])
        .current_dir(empty.path())
        .run();
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

/// Validates TOML files against the schema with the `jsonschema` package of the
/// project's Python environment (a validator this project did not write).
fn schema_errors(schema: &std::path::Path, files: &[std::path::PathBuf]) -> String {
    let script = r#"
import json, sys, tomllib, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
for path in sys.argv[2:]:
    with open(path, "rb") as f:
        document = tomllib.load(f)
    for error in validator.iter_errors(document):
        print(f"{path}: {'.'.join(map(str, error.absolute_path))}: {error.message}")
"#;
    let output = Command::new(common::venv_tool("python"))
        .arg("-c")
        .arg(script)
        .arg(schema)
        .args(files)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
}

#[test]
fn the_schema_accepts_every_example_file_and_rejects_a_broken_one() {
    let output = mlinfra(&["schema"]);
    assert_eq!(output.status.code(), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("schema.json");
    std::fs::write(&schema, &output.stdout).unwrap();
    let examples: Vec<std::path::PathBuf> = ["base", "dev", "staging", "prod"]
        .iter()
        .map(|n| common::repo_root().join(format!("environments/{n}.toml")))
        .collect();
    assert_eq!(schema_errors(&schema, &examples), "");
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        "[env]\nproject = 7\n\n[training.x]\ninstance = \"ml.g4dn.xlarge\"\n",
    )
    .unwrap();
    let errors = schema_errors(&schema, &[broken]);
    assert!(errors.contains("env.project: 7 is not of type"), "{errors}");
    assert!(errors.contains("'instance' was unexpected"), "{errors}");
}

#[test]
fn completions_are_generated_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = mlinfra(&["completions", shell]);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = stdout(&output);
        // The script calls mlinfra back for candidates (see `completion`).
        assert!(
            script.contains("mlinfra") && script.contains("COMPLETE"),
            "{shell}"
        );
    }
}

#[test]
fn init_scaffolds_a_project_that_validates_and_renders_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("churn");
    let project_arg = project.to_str().unwrap();
    let output = mlinfra(&["init", project_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("environments/base.toml"));
    let validate = mlinfra(&["--project", project_arg, "validate", "--all"]);
    assert_eq!(validate.status.code(), Some(0), "{}", stderr(&validate));
    assert!(stdout(&validate).starts_with("dev: valid"));
    let out = dir.path().join("build");
    let render = mlinfra(&[
        "--project",
        project_arg,
        "render",
        "--all",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(render.status.code(), Some(0), "{}", stderr(&render));
    let data = std::fs::read_to_string(out.join("prod/churn-prod-data.json")).unwrap();
    assert!(data.contains("churn-prod-raw-222222222222-us-east-1"));
    let again = mlinfra(&["init", project_arg]);
    assert_eq!(again.status.code(), Some(1), "never overwrites");
    assert!(stderr(&again).contains("already exists"));
}

#[test]
fn cost_estimates_endpoints_per_month_and_training_per_run() {
    let output = mlinfra(&["cost", "--env", "prod"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    common::snapshot_settings()
        .bind(|| insta::assert_snapshot!("cli__cost_prod", common::transcript(&output)));
    // ml.m5.xlarge at 0.23 USD/h, 730 h a month, autoscaling 1–3.
    assert!(stdout(&output).contains("$167.90 to $503.70 per month"));
}

/// A serverless variant is priced per GB-second at the traffic its
/// configuration expects, and the line says what the figure leaves out.
#[test]
fn cost_prices_a_serverless_variant_at_its_expected_traffic() {
    let corners = common::repo_root().join("tests/fixtures/check/corners");
    let output = mlinfra(&[
        "--project",
        corners.to_str().unwrap(),
        "cost",
        "--env",
        "serving",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    // 5,000 requests a day × 30.42 days × 0.12 s × 2 GB × $0.00002 = $0.73.
    let line = text
        .lines()
        .find(|l| l.contains("corner-serving-suggest"))
        .unwrap_or_else(|| panic!("no serverless line in:\n{text}"));
    assert!(
        line.contains("serverless 2048 MB: $0.73 per month of compute"),
        "{line}"
    );
    assert!(line.contains("5000 requests a day × 120 ms"), "{line}");
    assert!(line.contains("data processed not included"), "{line}");
    assert!(
        line.contains("provisioned concurrency 2 is billed while configured and not priced here"),
        "{line}"
    );
    // Serverless is not an instance type without a price.
    let unpriced = text.lines().find(|l| l.contains("no price for"));
    assert!(
        unpriced.is_none_or(|l| !l.contains("for ,") && !l.contains(", ,") && !l.contains(",  ")),
        "{text}"
    );
}

#[test]
fn a_usage_error_exits_1_not_the_changes_code() {
    let output = mlinfra(&["render", "--bogus"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("--bogus"));
    assert_eq!(mlinfra(&["--version"]).status.code(), Some(0));
}

/// Every `mlinfra` command line in the CI examples, split as a shell would,
/// up to its first redirection or pipe (read with PyYAML and shlex).
fn ci_example_commands(file: &str) -> Vec<Vec<String>> {
    let script = r#"
import json, shlex, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
texts = []
def collect(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("commands", "run"):
                texts.extend(value if isinstance(value, list) else [value])
            else:
                collect(value)
    elif isinstance(node, list):
        for item in node:
            collect(item)
collect(doc)
commands = []
for text in texts:
    for line in str(text).splitlines():
        line = line.strip()
        if line.startswith("mlinfra "):
            words = []
            for word in shlex.split(line):
                if word in (">", ">>", "|", "||", "&&", ";"):
                    break
                words.append(word)
            commands.append(words)
print(json.dumps(commands))
"#;
    let output = Command::new(common::venv_tool("python"))
        .arg("-c")
        .arg(script)
        .arg(common::repo_root().join("docs/examples").join(file))
        .output()
        .unwrap();
    assert!(output.status.success(), "{file}: {}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_ci_examples_parse_and_every_command_they_call_exists() {
    use clap::Parser;
    let mut seen = Vec::new();
    for file in [
        "buildspec-plan.yml",
        "buildspec-apply.yml",
        "github-workflow.yml",
        "github-deploy-workflow.yml",
    ] {
        let commands = ci_example_commands(file);
        assert!(!commands.is_empty(), "{file} calls no mlinfra command");
        for words in commands {
            if let Err(e) = mlinfra::cli::Cli::try_parse_from(&words) {
                panic!("{file}: `{}` does not parse:\n{e}", words.join(" "));
            }
            seen.push(words[1].clone());
        }
    }
    for needed in ["plan", "apply", "check"] {
        assert!(
            seen.iter().any(|s| s == needed),
            "no example runs `mlinfra {needed}`"
        );
    }
    // A command line that does not exist is caught the same way.
    assert!(
        mlinfra::cli::Cli::try_parse_from(["mlinfra", "plan", "--env", "prod", "--bogus"]).is_err()
    );
}

#[test]
fn quiet_keeps_only_results_and_verbose_says_where_templates_come_from() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let normal = mlinfra(&["render", "--env", "dev", "--out", dir]);
    assert!(stderr(&normal).contains("wrote 4 templates"));
    let quiet = mlinfra(&["--quiet", "render", "--env", "dev", "--out", dir]);
    assert_eq!(quiet.status.code(), Some(0));
    assert_eq!(stderr(&quiet), "", "nothing but errors on stderr");
    let verbose = mlinfra(&["--example", "-v", "render", "--env", "dev", "--out", dir]);
    let err = stderr(&verbose);
    assert!(
        err.contains("project: built-in example project")
            && err
                .contains("template for the serving stack: templates/serving.json.tera (built-in)"),
        "{err}"
    );
    let both = mlinfra(&["-q", "-v", "list"]);
    assert_eq!(
        both.status.code(),
        Some(1),
        "--quiet and --verbose conflict"
    );
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    use std::process::{Command, Stdio};
    // `mlinfra render --all | head -c 1`: the pipe closes after one byte.
    let mut child = Command::new(common::mlinfra_bin())
        .args(["--example", "render", "--all"])
        .env_remove("MLINFRA_PROJECT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "", "no message for a closed pipe");
}

#[test]
fn colour_follows_the_flag_and_never_reaches_a_pipe_on_its_own() {
    let unknown = ["--color", "always", "validate", "--env", "nope"];
    let always = mlinfra(&unknown);
    assert_eq!(always.status.code(), Some(1));
    assert!(stderr(&always).contains("\u{1b}["), "{}", stderr(&always));
    for choice in ["never", "auto"] {
        let plain = mlinfra(&["--color", choice, "validate", "--env", "nope"]);
        assert_eq!(plain.status.code(), Some(1));
        assert!(
            !stderr(&plain).contains('\u{1b}'),
            "--color {choice}: {}",
            stderr(&plain)
        );
        assert!(stderr(&plain).starts_with("error: "), "{}", stderr(&plain));
    }
}

#[test]
fn reports_without_a_markdown_form_say_which_forms_they_have() {
    let output = mlinfra(&["list", "--format", "markdown"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("the environment list has no markdown form; use human or json"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_plan_output_that_cannot_be_written_is_refused_before_any_aws_call() {
    // Nothing listens on port 9: a call to AWS would fail with a connection error.
    let output = mlinfra(&[
        "plan",
        "--env",
        "dev",
        "--endpoint-url",
        "http://127.0.0.1:9",
        "--out",
        "/nonexistent-mlinfra-dir/plan.json",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output)
            .contains("--out /nonexistent-mlinfra-dir/plan.json: its directory does not exist"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn render_check_tells_committed_templates_that_are_out_of_date() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let written = mlinfra(&["render", "--all", "--out", dir]);
    assert_eq!(written.status.code(), Some(0), "{}", stderr(&written));
    let clean = mlinfra(&["render", "--all", "--check", dir]);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        common::transcript(&clean)
    );
    assert!(
        stderr(&clean).contains("15 files under"),
        "{}",
        stderr(&clean)
    );

    // Each pipeline definition is written pretty-printed beside its template, and checked.
    let pipeline = out
        .path()
        .join("dev/dogbreed-dev-training.DogbreedPipeline.pipeline.json");
    let readable = std::fs::read_to_string(&pipeline).unwrap();
    assert!(
        readable.contains("\n          \"epochs\": \"2\",\n"),
        "{readable}"
    );
    std::fs::write(&pipeline, readable.replace("\"2\"", "\"3\"")).unwrap();
    let iam = out.path().join("dev/dogbreed-dev-iam.json");
    std::fs::write(&iam, "{}\n").unwrap();
    std::fs::remove_file(out.path().join("prod/dogbreed-prod-data.json")).unwrap();
    let stale = mlinfra(&["render", "--all", "--check", dir]);
    assert_eq!(
        stale.status.code(),
        Some(2),
        "{}",
        common::transcript(&stale)
    );
    let report = stdout(&stale);
    assert!(
        report.contains("dev/dogbreed-dev-iam.json: out of date"),
        "{report}"
    );
    assert!(
        report.contains("prod/dogbreed-prod-data.json: missing"),
        "{report}"
    );
    assert!(
        report.contains("dev/dogbreed-dev-training.DogbreedPipeline.pipeline.json: out of date"),
        "{report}"
    );
    assert!(report.contains("3 of 15 files differ"), "{report}");
}

/// The environment of a run with no AWS set-up at all: no keys, no
/// profiles, no instance or container credentials.
fn bare_aws(cli: Cli) -> Cli {
    [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ]
    .into_iter()
    .fold(cli, Cli::env_remove)
    .env("AWS_REGION", "us-east-1")
    .env("AWS_EC2_METADATA_DISABLED", "true")
    .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    .env(
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/aws-credentials",
    )
    .env("NO_COLOR", "1")
}

#[test]
fn an_unreachable_endpoint_fails_within_seconds_naming_it() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let output = bare_aws(Cli::new())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .args(["plan", "--env", "dev", "--endpoint-url", &url])
        .run();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        common::transcript(&output)
    );
    let text = stderr(&output);
    assert!(
        text.starts_with(&format!("error: cannot reach {url}: ")),
        "{text}"
    );
    assert!(
        text.contains("is the emulator or endpoint running?"),
        "{text}"
    );
    assert!(
        !text.contains("DispatchFailure") && !text.contains("{ "),
        "no Debug dump: {text}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn missing_credentials_say_how_to_configure_them() {
    // Something listens, so the endpoint is reachable; the credentials are what is missing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let output = bare_aws(Cli::new())
        .args(["plan", "--env", "dev", "--endpoint-url", &url])
        .run();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        common::transcript(&output)
    );
    common::snapshot_settings()
        .bind(|| insta::assert_snapshot!("cli__no_credentials", common::transcript(&output)));
    drop(listener);
}

#[test]
fn validate_speaks_json_with_a_format_version() {
    let valid = mlinfra(&["validate", "--all", "--format", "json"]);
    assert_eq!(
        valid.status.code(),
        Some(0),
        "{}",
        common::transcript(&valid)
    );
    let json: serde_json::Value = serde_json::from_slice(&valid.stdout).unwrap();
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["valid"], true);
    let names: Vec<&str> = json["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dev", "prod", "staging"]);

    let invalid = mlinfra(&[
        "--project",
        "tests/fixtures/invalid",
        "validate",
        "--env",
        "unknown-region",
        "--format",
        "json",
    ]);
    assert_eq!(
        invalid.status.code(),
        Some(1),
        "{}",
        common::transcript(&invalid)
    );
    let json: serde_json::Value = serde_json::from_slice(&invalid.stdout).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(json["errors"][0]["key"], "env.region");
    assert_eq!(json["errors"][0]["line"], 4);
    assert_eq!(
        json["errors"][0]["file"],
        "tests/fixtures/invalid/environments/unknown-region.toml"
    );
}

#[test]
fn render_out_writes_all_or_nothing_and_never_through_a_link() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("rendered");
    std::fs::create_dir(&dir).unwrap();
    // staging's folder cannot be made: dev and prod, rendered fine, are not
    // written either, and no temporary file is left.
    std::fs::write(dir.join("staging"), "a file where a folder goes").unwrap();
    let failed = mlinfra(&["render", "--all", "--out", dir.to_str().unwrap()]);
    assert_eq!(
        failed.status.code(),
        Some(1),
        "{}",
        common::transcript(&failed)
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, ["staging"], "the tree is as it was");

    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::remove_file(dir.join("staging")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), dir.join("dev")).unwrap();
    let refused = mlinfra(&["render", "--env", "dev", "--out", dir.to_str().unwrap()]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "{}",
        common::transcript(&refused)
    );
    assert!(
        stderr(&refused).contains("is a symbolic link; render --out does not write through links"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

/// On Linux the binary is linked at a fixed address (`build.rs`): an ELF
/// executable, not a position-independent one (a shared object to the
/// loader), whose pointers the loader would rewrite at every start.
#[cfg(target_os = "linux")]
#[test]
fn the_binary_is_linked_at_a_fixed_address() {
    let bytes = std::fs::read(common::mlinfra_bin()).expect("the binary reads");
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    // e_type, after the 16 bytes of e_ident: 2 is ET_EXEC, 3 is ET_DYN (PIE).
    let kind = u16::from_le_bytes([bytes[16], bytes[17]]);
    assert_eq!(
        kind, 2,
        "ELF type {kind}: the binary is position-independent"
    );
}
