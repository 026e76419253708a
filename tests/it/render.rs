//! Rendering: snapshots of every template of every example environment, the
//! malformed-config corpus, canonical output, template overrides, and the
//! linters (cfn-lint, checkov) over everything rendered.

use crate::common;
use crate::common::linters::template_set;

use std::path::{Path, PathBuf};

use mlinfra::config::{self, ConfigErrors};
use mlinfra::project::Project;
use mlinfra::render::{self, Engine};

fn example() -> Project {
    Project::Dir(common::repo_root())
}

#[test]
fn every_template_of_every_example_environment_matches_its_snapshot() {
    let project = example();
    let engine = Engine::new(&project).unwrap();
    let names = config::deployable_environments(&project).unwrap();
    assert_eq!(names, ["dev", "prod", "staging"]);
    for name in names {
        let env = config::load_env(&project, &name).unwrap();
        for stack in render::render_env(&engine, &env).unwrap() {
            common::snapshot_settings().bind(|| {
                insta::assert_snapshot!(
                    format!("{}__{}", name, stack.spec.layer),
                    stack.template.text
                );
            });
        }
    }
}

/// The serving shapes the example does not use (A/B variants, a training
/// job's model, shadow variant, canary and linear guardrails, alarms and
/// their topic, the CloudWatch key grant, data capture, the data-quality
/// schedule and its role, scheduled actions, a serverless variant) have
/// snapshots of their own.
#[test]
fn the_serving_corner_renders_its_variants_guardrails_and_alarms_as_snapshotted() {
    let project = Project::Dir(common::repo_root().join("tests/fixtures/check/corners"));
    let engine = Engine::new(&project).unwrap();
    let env = config::load_env(&project, "serving").unwrap();
    for stack in render::render_env(&engine, &env).unwrap() {
        if matches!(stack.spec.layer.as_str(), "serving" | "data" | "iam") {
            common::snapshot_settings().bind(|| {
                insta::assert_snapshot!(
                    format!("corner_serving__{}", stack.spec.layer),
                    stack.template.text
                );
            });
        }
    }
}

fn corners() -> Project {
    Project::Dir(common::repo_root().join("tests/fixtures/check/corners"))
}

/// A VPC (two subnets, a security group, a distributed job, a tuning job, a
/// model) renders `VpcConfig` on every step and model, and the execution
/// role's network-interface permissions.
#[test]
fn the_vpc_corner_renders_vpc_config_and_network_permissions_as_snapshotted() {
    let project = corners();
    let engine = Engine::new(&project).unwrap();
    let env = config::load_env(&project, "vpc").unwrap();
    let mut vpc_configs = 0;
    for stack in render::render_env(&engine, &env).unwrap() {
        vpc_configs += stack.template.text.matches("VpcConfig").count();
        if stack.spec.layer.as_str() != "data" {
            common::snapshot_settings().bind(|| {
                insta::assert_snapshot!(
                    format!("corner_vpc__{}", stack.spec.layer),
                    stack.template.text
                );
            });
        }
    }
    // Two pipelines (one training step, one tuning definition) and one model.
    assert_eq!(vpc_configs, 3);
    // Without a network, nothing of it is rendered.
    let plain = config::load_env(&project, "multi").unwrap();
    for stack in render::render_env(&engine, &plain).unwrap() {
        assert!(
            !stack.template.text.contains("VpcConfig"),
            "{}",
            stack.spec.name
        );
        assert!(!stack.template.text.contains("ec2:"), "{}", stack.spec.name);
    }
}

/// Two environments of one project in one account and region: every grant
/// of one names resources the other's does not, or is held to its own
/// environment by the jobs' tags. The exceptions are what AWS offers no
/// scoping for (docs/check.md): `Resource: "*"` actions and the account's
/// one training log group.
#[test]
fn two_environments_in_one_account_get_disjoint_grants() {
    let project = corners();
    let engine = Engine::new(&project).unwrap();
    let grants = |name: &str| -> Vec<(String, serde_json::Value, serde_json::Value)> {
        let env = config::load_env(&project, name).unwrap();
        let stacks = render::render_env(&engine, &env).unwrap();
        let iam = stacks
            .iter()
            .find(|s| s.spec.layer.as_str() == "iam")
            .unwrap();
        let mut grants = Vec::new();
        for role in ["ExecutionRole", "PipelineRole", "ServingRole"] {
            let Some(policies) =
                iam.template.value["Resources"][role]["Properties"]["Policies"].as_array()
            else {
                continue;
            };
            for policy in policies {
                for s in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
                    let resources = match &s["Resource"] {
                        serde_json::Value::Array(list) => list.clone(),
                        one => vec![one.clone()],
                    };
                    for r in resources {
                        grants.push((
                            format!("{role}/{}", s["Sid"].as_str().unwrap()),
                            r,
                            s.get("Condition").cloned().unwrap_or_default(),
                        ));
                    }
                }
            }
        }
        grants
    };
    let (vpc, isolation) = (grants("vpc"), grants("isolation"));
    let shared_log_group =
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/TrainingJobs";
    let mut tag_scoped = 0;
    for (sid, resource, condition) in &vpc {
        let Some((_, _, other)) = isolation.iter().find(|(_, r, _)| r == resource) else {
            continue;
        };
        let text = resource.as_str().unwrap_or_default();
        // Images are read, never written: a shared repository is not shared data.
        if text == "*" || text.starts_with(shared_log_group) || text.starts_with("arn:aws:ecr:") {
            continue;
        }
        if resource.get("Fn::ImportValue").is_some() {
            // The data key: each environment imports its own export.
            continue;
        }
        let env_tag = |c: &serde_json::Value| {
            c.as_object()
                .into_iter()
                .flat_map(|ops| ops.values())
                .filter_map(|keys| {
                    keys.get("aws:ResourceTag/mlinfra:env")
                        .or_else(|| keys.get("aws:RequestTag/mlinfra:env"))
                })
                .next()
                .cloned()
        };
        assert_eq!(env_tag(condition), Some("vpc".into()), "{sid}: {resource}");
        assert_eq!(
            env_tag(other),
            Some("isolation".into()),
            "{sid}: {resource}"
        );
        tag_scoped += 1;
    }
    // Training jobs: start and follow; tuning jobs (vpc only tunes) are not shared.
    assert_eq!(tag_scoped, 2, "{vpc:#?}");
    // The endpoint's log group belongs to its environment's serving role alone.
    assert!(vpc.iter().any(|(sid, r, _)| sid.starts_with("ServingRole/")
        && r == "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/Endpoints/corner-vpc-segment"));
    assert!(!vpc.iter().any(|(sid, r, _)| {
        sid.starts_with("ExecutionRole/")
            && r.as_str()
                .is_some_and(|r| r.contains("/aws/sagemaker/Endpoints/"))
    }));
    assert!(
        !vpc.iter()
            .any(|(_, r, _)| r.as_str().is_some_and(|r| r.ends_with("/aws/sagemaker/*")))
    );
}

#[test]
fn the_built_in_example_matches_the_repository_example() {
    let engine = Engine::new(&Project::Example).unwrap();
    let repo_engine = Engine::new(&example()).unwrap();
    for name in ["dev", "staging", "prod"] {
        let built_in = config::load_env(&Project::Example, name).unwrap();
        let on_disk = config::load_env(&example(), name).unwrap();
        assert_eq!(built_in, on_disk, "{name}");
        let a = render::render_env(&engine, &built_in).unwrap();
        let b = render::render_env(&repo_engine, &on_disk).unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.template.text, y.template.text, "{}", x.spec.name);
        }
    }
}

#[test]
fn output_is_canonical_and_deterministic() {
    let project = example();
    let engine = Engine::new(&project).unwrap();
    let env = config::load_env(&project, "prod").unwrap();
    let first = render::render_env(&engine, &env).unwrap();
    let second = render::render_env(&Engine::new(&project).unwrap(), &env).unwrap();
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a.template.text, b.template.text);
        assert_eq!(a.template.hash(), b.template.hash());
        assert!(a.template.text.ends_with("}\n"));
        assert!(
            a.template.text.lines().nth(1).unwrap().starts_with("  \""),
            "2-space indent"
        );
        let reparsed = mlinfra::template::Canonical::parse(&a.template.text).unwrap();
        assert_eq!(
            reparsed.text, a.template.text,
            "canonical form is a fixed point"
        );
    }
}

#[test]
fn stacks_deploy_data_then_iam_then_training_and_serving_together() {
    let env = config::load_env(&example(), "prod").unwrap();
    let specs = mlinfra::stacks::stacks(&env);
    let waves: Vec<Vec<String>> = mlinfra::stacks::waves(&specs)
        .into_iter()
        .map(|w| w.into_iter().map(|s| s.name).collect())
        .collect();
    assert_eq!(
        waves,
        vec![
            vec!["dogbreed-prod-data".to_string()],
            vec!["dogbreed-prod-iam".to_string()],
            vec![
                "dogbreed-prod-training".to_string(),
                "dogbreed-prod-serving".to_string()
            ],
        ]
    );
}

#[test]
fn stateful_resources_are_retained_and_endpoints_keep_their_capacity() {
    let env = config::load_env(&example(), "prod").unwrap();
    let stacks = render::render_env(&Engine::new(&example()).unwrap(), &env).unwrap();
    let data = &stacks[0].template.value["Resources"];
    let mut stateful = 0;
    for (id, resource) in data.as_object().unwrap() {
        let kind = resource["Type"].as_str().unwrap();
        if kind == "AWS::S3::Bucket" || kind == "AWS::KMS::Key" {
            stateful += 1;
            assert_eq!(resource["DeletionPolicy"], "Retain", "{id}");
            assert_eq!(resource["UpdateReplacePolicy"], "Retain", "{id}");
        }
    }
    assert_eq!(stateful, 5, "key + log bucket + three zones");
    let serving = &stacks[3].template.value["Resources"];
    assert_eq!(
        serving["DogbreedEndpoint"]["Properties"]["RetainAllVariantProperties"],
        true
    );
    assert!(
        serving["DogbreedEndpointConfig"]["Properties"]
            .get("EndpointConfigName")
            .is_none()
    );
    assert!(
        serving["DogbreedModel"]["Properties"]
            .get("ModelName")
            .is_none()
    );
    let target = &serving["DogbreedScalableTarget"]["Properties"];
    assert_eq!(
        (
            target["MinCapacity"].as_u64(),
            target["MaxCapacity"].as_u64()
        ),
        (Some(1), Some(3))
    );
}

/// The expectation written in a malformed fixture: where the first error must point.
struct Expectation {
    file: PathBuf,
    line: usize,
    key: String,
    fragment: String,
}

fn expectation(dir: &Path, name: &str) -> Expectation {
    let path = dir.join("environments").join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path).unwrap();
    if let Some(header) = text.lines().find_map(|l| l.strip_prefix("# error-in: ")) {
        let (place, rest) = header.split_once(' ').unwrap();
        let (file, line) = place.split_once(':').unwrap();
        let (key, fragment) = rest.split_once(" -- ").unwrap();
        return Expectation {
            file: dir.join("environments").join(file),
            line: line.parse().unwrap(),
            key: key.to_string(),
            fragment: fragment.to_string(),
        };
    }
    let (index, marker) = text
        .lines()
        .enumerate()
        .find_map(|(i, l)| l.split_once("# error: ").map(|(_, m)| (i, m)))
        .unwrap_or_else(|| panic!("{name}.toml has no `# error:` marker"));
    let (key, fragment) = marker.split_once(" -- ").unwrap();
    Expectation {
        file: path,
        line: index + 1,
        key: key.to_string(),
        fragment: fragment.trim().to_string(),
    }
}

#[test]
fn every_malformed_config_is_rejected_at_the_exact_line_and_key() {
    let dir = common::repo_root().join("tests/fixtures/invalid");
    let project = Project::Dir(dir.clone());
    let names: Vec<String> = project
        .environment_names()
        .unwrap()
        .into_iter()
        .filter(|n| n != "base")
        .collect();
    assert!(names.len() >= 25, "only {} malformed fixtures", names.len());
    for name in &names {
        let want = expectation(&dir, name);
        let errors: ConfigErrors = match config::load_env(&project, name) {
            Ok(_) => panic!("{name}: expected an error, the config validated"),
            Err(e) => e,
        };
        let first = errors.first();
        let at = first
            .location
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: error without location: {first}"));
        assert_eq!(at.file, want.file, "{name}: {errors}");
        assert_eq!(at.line, want.line, "{name}: {errors}");
        assert_eq!(first.key.to_string(), want.key, "{name}: {errors}");
        assert!(
            first.message.contains(&want.fragment),
            "{name}: {:?} does not contain {:?}",
            first.message,
            want.fragment
        );
        // The rendered message carries the position a user's editor jumps to.
        assert!(first.to_string().starts_with(&format!(
            "{}:{}:{}: ",
            at.file.display(),
            at.line,
            at.column
        )));
    }
}

#[test]
fn every_error_of_a_config_is_reported_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let envs = dir.path().join("environments");
    std::fs::create_dir_all(&envs).unwrap();
    std::fs::write(
        envs.join("broken.toml"),
        "[env]\nproject = \"p\"\naccount_id = \"1\"\nregion = \"mars-1\"\n\n[data_lake]\nzones = [\"raw\"]\n",
    )
    .unwrap();
    let errors = config::load_env(&Project::Dir(dir.path().to_path_buf()), "broken").unwrap_err();
    let lines: Vec<(usize, String)> = errors
        .0
        .iter()
        .map(|e| (e.location.as_ref().unwrap().line, e.key.to_string()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (3, "env.account_id".to_string()),
            (4, "env.region".to_string())
        ]
    );
}

fn project_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_example_code(dir.path());
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// The text of an example environment file.
fn example_file(name: &str) -> String {
    std::fs::read_to_string(common::repo_root().join(format!("environments/{name}.toml"))).unwrap()
}

#[test]
fn a_project_template_overrides_the_built_in_one() {
    let base = example_file("base");
    let dev = example_file("dev");
    let custom = r#"{ "AWSTemplateFormatVersion": "2010-09-09", "Resources": { "Marker": { "Type": "AWS::CloudFormation::WaitConditionHandle", "Properties": {} } }, "Description": {{ ("custom " ~ env.name) | json }} }"#;
    let dir = project_with(&[
        ("environments/base.toml", &base),
        ("environments/dev.toml", &dev),
        ("templates/serving.json.tera", custom),
    ]);
    let project = Project::Dir(dir.path().to_path_buf());
    let env = config::load_env(&project, "dev").unwrap();
    let stacks = render::render_env(&Engine::new(&project).unwrap(), &env).unwrap();
    assert_eq!(stacks[3].template.value["Description"], "custom dev");
    assert!(
        stacks[0].template.value["Resources"]["DataKey"].is_object(),
        "other layers stay built-in"
    );
}

#[test]
fn a_broken_template_names_the_template_and_the_line() {
    let base = example_file("base");
    let dev = example_file("dev");
    // Unquoted interpolation: renders text that is not JSON.
    let bad_json = "{\n  \"Resources\": {},\n  \"Description\": {{ env.name }}\n}\n";
    let dir = project_with(&[
        ("environments/base.toml", &base),
        ("environments/dev.toml", &dev),
        ("templates/iam.json.tera", bad_json),
    ]);
    let project = Project::Dir(dir.path().to_path_buf());
    let env = config::load_env(&project, "dev").unwrap();
    let error = match render::render_env(&Engine::new(&project).unwrap(), &env) {
        Ok(_) => panic!("a template rendering invalid JSON was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(error.contains("iam.json.tera"), "{error}");
    assert!(error.contains("line 3"), "{error}");

    // `validate` renders a project's own templates: a broken one fails it.
    let validate = common::Cli::new()
        .args([
            "--project",
            &dir.path().display().to_string(),
            "validate",
            "--env",
            "dev",
        ])
        .run();
    assert_eq!(
        validate.status.code(),
        Some(1),
        "{}",
        common::transcript(&validate)
    );
    assert!(
        common::stderr(&validate).contains("iam.json.tera"),
        "{}",
        common::transcript(&validate)
    );

    let bad_syntax = "{\n  \"Resources\": {% for x in %}\n}\n";
    std::fs::write(dir.path().join("templates/iam.json.tera"), bad_syntax).unwrap();
    let error = Engine::new(&project)
        .err()
        .expect("syntax error")
        .to_string();
    assert!(error.contains("iam.json.tera"), "{error}");
    assert!(error.contains(":2:"), "names line 2: {error}");

    let undefined = "{ \"Resources\": {}, \"Description\": {{ env.nmae | json }} }";
    std::fs::write(dir.path().join("templates/iam.json.tera"), undefined).unwrap();
    let error = match render::render_env(&Engine::new(&project).unwrap(), &env) {
        Ok(_) => panic!("a misspelt field rendered without error"),
        Err(e) => e.to_string(),
    };
    assert!(
        error.contains("iam.json.tera") && error.contains("nmae"),
        "{error}"
    );
}

#[test]
fn values_with_quotes_and_backslashes_are_json_encoded() {
    let base = example_file("base");
    // Free text that reaches a template: the reason for turning isolation off.
    let tricky = "ml \"platform\" \\ {{ x }} ${AWS::Region}";
    let dev = example_file("dev")
        + "\n[endpoints.dogbreed]\ninstance_count = 1\nnetwork_isolation = false\n"
        + "network_isolation_reason = \"ml \\\"platform\\\" \\\\ {{ x }} ${AWS::Region}\"\n";
    let dir = project_with(&[
        ("environments/base.toml", &base),
        ("environments/dev.toml", &dev),
    ]);
    let project = Project::Dir(dir.path().to_path_buf());
    let env = config::load_env(&project, "dev").unwrap();
    let stacks = render::render_env(&Engine::new(&Project::Example).unwrap(), &env).unwrap();
    let skip =
        &stacks[3].template.value["Resources"]["DogbreedModel"]["Metadata"]["checkov"]["skip"][0];
    assert_eq!(skip["comment"], format!("Network isolation off: {tricky}"));

    // The same text as a tag value is refused: AWS accepts none of `"\{}$` in tags.
    let tagged = base.replace(
        "team = \"ml-platform\"",
        "team = \"ml \\\"platform\\\" \\\\ {{ x }} ${AWS::Region}\"",
    );
    std::fs::write(dir.path().join("environments/base.toml"), tagged).unwrap();
    let errors = config::load_env(&project, "dev").expect_err("tag value AWS refuses");
    assert_eq!(errors.first().key.to_string(), "env.tags.team", "{errors}");
}

#[test]
fn user_text_inside_the_pipeline_definition_stays_literal_under_fn_sub() {
    let base = std::fs::read_to_string(common::repo_root().join("environments/base.toml")).unwrap();
    let dev = std::fs::read_to_string(common::repo_root().join("environments/dev.toml"))
        .unwrap()
        .replace("epochs = \"2\"", "epochs = \"${Epochs}\"");
    let dir = project_with(&[
        ("environments/base.toml", &base),
        ("environments/dev.toml", &dev),
    ]);
    let project = Project::Dir(dir.path().to_path_buf());
    let env = config::load_env(&project, "dev").unwrap();
    let stacks = render::render_env(&Engine::new(&Project::Example).unwrap(), &env).unwrap();
    let sub = &stacks[2].template.value["Resources"]["DogbreedPipeline"]["Properties"]["PipelineDefinition"]
        ["PipelineDefinitionBody"]["Fn::Sub"];
    let body = sub[0].as_str().unwrap();
    assert!(body.contains("\"epochs\":\"${!Epochs}\""), "{body}");
    assert!(body.contains("\"KmsKeyId\":\"${KeyArn}\""), "{body}");
    let definition: serde_json::Value = serde_json::from_str(body).unwrap();
    let args = &definition["Steps"][0]["Arguments"];
    assert_eq!(args["EnableManagedSpotTraining"], true);
    assert_eq!(args["StoppingCondition"]["MaxWaitTimeInSeconds"], 7200);
    assert_eq!(args["StoppingCondition"]["MaxRuntimeInSeconds"], 3600);
    assert_eq!(args["ResourceConfig"]["InstanceType"], "ml.g4dn.xlarge");
}

#[test]
fn cfn_lint_finds_nothing_in_any_rendered_template() {
    let set = template_set("examples");
    assert_eq!(set.files.len(), 12);
    set.assert_cfn_lint_clean();
}

#[test]
fn checkov_fails_no_check_on_any_rendered_template() {
    let checkov = template_set("examples").checkov_without_failures();
    assert!(
        checkov.passed.len() > 100,
        "checkov checked too little: {} passed",
        checkov.passed.len()
    );
    // Every skipped check carries its written reason in the template.
    assert_eq!(
        checkov.skipped.len(),
        3,
        "the access-log bucket's CKV_AWS_18 in each environment"
    );
    for skipped in &checkov.skipped {
        let reason = skipped["check_result"]["suppress_comment"]
            .as_str()
            .unwrap_or("");
        assert!(reason.len() > 20, "skip without a reason: {skipped}");
    }
}

/// A copy of the example with `extra` appended to dev.toml.
fn dev_with(extra: &str) -> tempfile::TempDir {
    let base = example_file("base");
    let dev = example_file("dev") + extra;
    project_with(&[
        ("environments/base.toml", &base),
        ("environments/dev.toml", &dev),
    ])
}

#[test]
fn the_cpu_target_is_rendered_per_vcpu_of_the_instance_type() {
    let engine = Engine::new(&Project::Example).unwrap();
    for (instance_type, vcpus) in [
        ("ml.m5.large", 2.0),
        ("ml.c5.xlarge", 4.0),
        ("ml.c5.2xlarge", 8.0),
        ("ml.c5.4xlarge", 16.0),
    ] {
        let dir = dev_with(&format!(
            "\n[endpoints.dogbreed]\ninstance_type = \"{instance_type}\"\n\
             autoscaling = {{ min = 1, max = 2, target_cpu_utilization = 60 }}\n"
        ));
        let env = config::load_env(&Project::Dir(dir.path().to_path_buf()), "dev").unwrap();
        let stacks = render::render_env(&engine, &env).unwrap();
        let config = &stacks[3].template.value["Resources"]["DogbreedScalingPolicy"]["Properties"]
            ["TargetTrackingScalingPolicyConfiguration"];
        assert_eq!(
            config["TargetValue"].as_f64(),
            Some(60.0 * vcpus),
            "{instance_type}"
        );
        let metric = &config["CustomizedMetricSpecification"];
        assert_eq!(metric["MetricName"], "CPUUtilization", "{instance_type}");
        assert_eq!(metric["Statistic"], "Average", "{instance_type}");
        assert_eq!(
            stacks[3].template.value["Resources"]["DogbreedEndpointConfig"]["Properties"]["ProductionVariants"]
                [0]["InstanceType"],
            instance_type
        );
    }
}

#[test]
fn invocation_targets_do_not_depend_on_the_instance_type() {
    let engine = Engine::new(&Project::Example).unwrap();
    let dir = dev_with(
        "\n[endpoints.dogbreed]\ninstance_type = \"ml.c5.4xlarge\"\n\
         autoscaling = { min = 1, max = 2, target_invocations_per_instance = 70 }\n",
    );
    let env = config::load_env(&Project::Dir(dir.path().to_path_buf()), "dev").unwrap();
    let stacks = render::render_env(&engine, &env).unwrap();
    let config = &stacks[3].template.value["Resources"]["DogbreedScalingPolicy"]["Properties"]["TargetTrackingScalingPolicyConfiguration"];
    assert_eq!(config["TargetValue"].as_f64(), Some(70.0));
}

#[test]
fn a_name_collision_is_reported_at_both_entries() {
    let dir = common::repo_root().join("tests/fixtures/invalid");
    let file = dir.join("environments/endpoint-id-collision.toml");
    let errors = config::load_env(&Project::Dir(dir.clone()), "endpoint-id-collision")
        .expect_err("ep1 and ep-1 share their logical ids");
    let at = |key: &str| {
        errors
            .0
            .iter()
            .find(|e| e.key.to_string() == key)
            .unwrap_or_else(|| panic!("no error at {key}: {errors}"))
    };
    let (first, second) = (at("endpoints.ep1"), at("endpoints.ep-1"));
    let line = |e: &config::ConfigError| e.location.as_ref().unwrap().line;
    assert_eq!((line(first), line(second)), (3, 8), "{errors}");
    for e in [first, second] {
        assert_eq!(e.location.as_ref().unwrap().file, file, "{errors}");
        for id in [
            "Ep1Model",
            "Ep1EndpointConfig",
            "Ep1Endpoint",
            "Ep1EndpointArn",
        ] {
            assert!(e.message.contains(&format!("{id:?}")), "{id}: {e}");
        }
    }
    // Each names the other's place, so both can be found from either.
    assert!(
        first.message.contains(
            "endpoints.ep-1 at tests/fixtures/invalid/environments/endpoint-id-collision.toml:8:"
        ) || first
            .message
            .contains(&format!("endpoints.ep-1 at {}:8:", file.display())),
        "{first}"
    );
    assert!(
        second.message.contains("endpoints.ep1 at") && second.message.contains("toml:3:"),
        "{second}"
    );
    assert_eq!(
        errors.0.len(),
        2,
        "one error per entry, not per id: {errors}"
    );
}

#[test]
fn every_logical_id_rendered_is_reserved_or_derived_from_the_configuration() {
    use mlinfra::config::names::{self, EndpointIds, InvokerIds, JobIds, Layer, Scope, ZoneIds};
    let project = example();
    let engine = Engine::new(&project).unwrap();
    for name in config::deployable_environments(&project).unwrap() {
        let env = config::load_env(&project, &name).unwrap();
        let mut known: Vec<(Scope, String)> = names::reserved_logical_ids()
            .into_iter()
            .map(|(scope, id, _)| (scope, id.to_string()))
            .collect();
        let mut claim = |claims: Vec<(Scope, &str)>| {
            known.extend(claims.into_iter().map(|(s, id)| (s, id.to_string())))
        };
        for zone in &env.data_lake.zones {
            claim(ZoneIds::of(&zone.name).claims());
        }
        for job in &env.training {
            claim(JobIds::of(&job.name).claims());
        }
        for endpoint in &env.endpoints {
            claim(EndpointIds::of(&endpoint.name).claims());
            for variant in endpoint.all_variants() {
                claim(variant.ids.claims());
                let alarms: Vec<String> = variant
                    .alarms
                    .iter()
                    .map(|a| variant.ids.alarm(a.kind))
                    .collect();
                claim(
                    alarms
                        .iter()
                        .map(|id| (Scope::Resource(Layer::Serving), id.as_str()))
                        .collect(),
                );
            }
        }
        for invoker in &env.invokers {
            claim(InvokerIds::of(&invoker.name).claims());
        }
        for stack in render::render_env(&engine, &env).unwrap() {
            let layer = stack.spec.layer;
            for (section, scope) in [
                ("Resources", Scope::Resource(layer)),
                ("Outputs", Scope::Output(layer)),
            ] {
                let ids = stack.template.value[section]
                    .as_object()
                    .map(|o| o.keys().cloned().collect::<Vec<_>>())
                    .unwrap_or_default();
                for id in ids {
                    assert!(
                        known.contains(&(scope, id.clone())),
                        "{name}/{layer}: {section} id {id} is neither reserved nor derived in config::names"
                    );
                }
            }
        }
    }
}

#[test]
fn the_execution_role_carries_exactly_the_policies_validation_sized() {
    use mlinfra::config::policies;
    let project = example();
    let engine = Engine::new(&project).unwrap();
    for name in config::deployable_environments(&project).unwrap() {
        let env = config::load_env(&project, &name).unwrap();
        let sized = policies::execution_role_policies(&env);
        let stacks = render::render_env(&engine, &env).unwrap();
        let rendered =
            &stacks[1].template.value["Resources"]["ExecutionRole"]["Properties"]["Policies"];
        assert_eq!(rendered, &serde_json::to_value(&sized).unwrap(), "{name}");
        let size = policies::inline_policy_size(&env, &sized);
        // The example's documents: well inside IAM's limit, and not trivially small.
        assert!(
            (1_000..policies::ROLE_INLINE_POLICY_LIMIT).contains(&size),
            "{name}: {size}"
        );
    }
}

/// The models run as a serving role of their own: it reads exactly the
/// served model objects, writes only the capture prefix (never a zone that
/// holds models) and its endpoints' log groups.
#[test]
fn the_serving_role_reads_models_and_writes_only_captured_data_and_its_logs() {
    let project = Project::Dir(common::repo_root().join("tests/fixtures/check/corners"));
    let env = config::load_env(&project, "serving").unwrap();
    let policies = config::serving_policies::serving_role_policies(&env);
    let documents: Vec<serde_json::Value> = policies
        .iter()
        .map(|p| serde_json::to_value(&p.policy_document).unwrap())
        .collect();
    let statements: Vec<&serde_json::Value> = documents
        .iter()
        .flat_map(|d| d["Statement"].as_array().unwrap())
        .collect();
    let resources_of = |action: &str| -> Vec<String> {
        statements
            .iter()
            .filter(|s| s["Action"].as_array().unwrap().iter().any(|a| a == action))
            .flat_map(|s| s["Resource"].as_array().cloned().unwrap_or_default())
            .map(|r| r.as_str().unwrap().to_string())
            .collect()
    };
    let mut models: Vec<String> = env
        .endpoints
        .iter()
        .flat_map(|e| e.all_variants())
        .map(|v| format!("arn:aws:s3:::{}/{}", v.model_data.bucket, v.model_data.key))
        .collect();
    models.sort();
    models.dedup();
    assert_eq!(resources_of("s3:GetObject"), models);
    let capture = &env
        .endpoint("ranker")
        .unwrap()
        .data_capture
        .as_ref()
        .unwrap()
        .destination;
    assert_eq!(
        resources_of("s3:PutObject"),
        [format!("arn:aws:s3:::{}/{}*", capture.bucket, capture.key)]
    );
    let models_bucket = &env.zone("models").unwrap().bucket;
    let writes = statements
        .iter()
        .filter(|s| {
            s["Action"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a.as_str().unwrap().starts_with("s3:Put") || a == "s3:*")
        })
        .count();
    assert_eq!(writes, 1);
    assert!(
        !resources_of("s3:PutObject")
            .iter()
            .any(|r| r.contains(models_bucket.as_str()))
    );
    let logs = resources_of("logs:PutLogEvents");
    assert_eq!(logs.len(), 2 * env.endpoints.len());
    for endpoint in &env.endpoints {
        assert!(logs.contains(&format!(
            "arn:aws:logs:{}:{}:log-group:/aws/sagemaker/Endpoints/{}:log-stream:*",
            env.region, env.account_id, endpoint.endpoint_name
        )));
    }
    // The training role is another role.
    assert_ne!(env.names().serving_role(), env.execution_role_name());
}

/// Seventy environments extending the example's base: more than one batch
/// of environments (64) and more than one worker thread.
fn many_environments(broken: Option<usize>) -> tempfile::TempDir {
    let mut files = vec![("environments/base.toml".to_string(), example_file("base"))];
    for i in 0..70 {
        let region = if Some(i) == broken {
            "mars-north-1"
        } else {
            "us-east-1"
        };
        files.push((
            format!("environments/e{i:02}.toml"),
            format!(
                "extends = \"base\"\n\n[env]\naccount_id = \"{:012}\"\nregion = \"{region}\"\n",
                100_000_000_000u64 + i as u64
            ),
        ));
    }
    let borrowed: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    project_with(&borrowed)
}

/// `mlinfra --project DIR ARGS…`, run.
fn run_in(project: &Path, args: &[&std::ffi::OsStr]) -> std::process::Output {
    common::Cli::new()
        .args([std::ffi::OsStr::new("--project"), project.as_os_str()])
        .args(args)
        .run()
}

/// `render --all --out TREE` in `project`.
fn render_tree(project: &Path, tree: &Path) -> std::process::Output {
    let args = ["render", "--all", "--out"].map(std::ffi::OsStr::new);
    run_in(project, &[&args[..], &[tree.as_os_str()]].concat())
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn many_environments_are_written_and_printed_in_name_order() {
    let project = many_environments(None);
    let out = tempfile::tempdir().unwrap();
    let tree = out.path().join("rendered");
    let written = render_tree(project.path(), &tree);
    common::assert_exit_code(&written, 0);
    assert_eq!(names_in(&tree).len(), 70);
    // stdout holds the same templates, in name order, as one JSON object.
    let printed = run_in(
        project.path(),
        &["render", "--all"].map(std::ffi::OsStr::new),
    );
    common::assert_exit_code(&printed, 0);
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&printed.stdout).expect("one JSON object");
    let stacks: Vec<&String> = object.keys().collect();
    assert_eq!(stacks.len(), 4 * 70);
    assert!(stacks[0].contains("-e00-"), "{stacks:?}");
    assert!(stacks[4 * 70 - 1].contains("-e69-"), "{stacks:?}");
    let validated = run_in(
        project.path(),
        &["validate", "--all"].map(std::ffi::OsStr::new),
    );
    let lines: Vec<String> = common::stdout(&validated)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 70);
    assert!(lines[0].starts_with("e00: valid") && lines[69].starts_with("e69: valid"));
}

/// The last environment, in the second window, is broken: by then the
/// first window's files were staged, and nothing of them is left.
#[test]
fn a_late_broken_environment_writes_and_prints_nothing() {
    let project = many_environments(Some(69));
    let out = tempfile::tempdir().unwrap();
    let fresh = out.path().join("fresh/rendered");
    let failed = render_tree(project.path(), &fresh);
    common::assert_exit_code(&failed, 1);
    common::assert_stderr_has(&failed, "e69.toml");
    assert!(
        !out.path().join("fresh").exists(),
        "the folders it made are gone"
    );

    let tree = out.path().join("rendered");
    let valid = many_environments(None);
    assert_eq!(render_tree(valid.path(), &tree).status.code(), Some(0));
    let before = names_in(&tree.join("e00"));
    assert_eq!(render_tree(project.path(), &tree).status.code(), Some(1));
    assert_eq!(
        names_in(&tree.join("e00")),
        before,
        "no temporary file is left"
    );

    let printed = run_in(
        project.path(),
        &["render", "--all"].map(std::ffi::OsStr::new),
    );
    assert_eq!(printed.status.code(), Some(1));
    assert!(
        printed.stdout.is_empty(),
        "nothing is printed before every environment is valid"
    );
}

/// A template of a tree already there that is a link is neither written
/// through nor replaced.
#[test]
fn a_linked_template_in_an_existing_tree_is_refused() {
    let project = many_environments(None);
    let out = tempfile::tempdir().unwrap();
    let tree = out.path().join("rendered");
    assert_eq!(render_tree(project.path(), &tree).status.code(), Some(0));
    let template = tree.join("e00").join(
        names_in(&tree.join("e00"))
            .into_iter()
            .find(|n| n.ends_with(".json"))
            .unwrap(),
    );
    let elsewhere = out.path().join("elsewhere.json");
    std::fs::write(&elsewhere, "kept").unwrap();
    std::fs::remove_file(&template).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &template).unwrap();
    let linked = render_tree(project.path(), &tree);
    common::assert_exit_code(&linked, 1);
    common::assert_stderr_has(&linked, "is a symbolic link");
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "kept");
    assert!(
        std::fs::symlink_metadata(&template)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
