//! Training jobs: channels, code packages, metrics and tuning, checked
//! against botocore's own model of the SageMaker API.

use std::path::Path;
use std::process::Command;

use sha2::Digest;

use mlinfra::code::{self, package};
use mlinfra::config;
use mlinfra::project::Project;
use mlinfra::render::{self, Engine};

use crate::common;

/// A copy of the example project with an environment `exp` that extends dev
/// and adds `extra`.
fn dev_with(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_example_code(dir.path());
    let envs = dir.path().join("environments");
    std::fs::create_dir_all(&envs).unwrap();
    for name in ["base", "dev"] {
        let text =
            std::fs::read_to_string(common::repo_root().join(format!("environments/{name}.toml")))
                .unwrap();
        std::fs::write(envs.join(format!("{name}.toml")), text).unwrap();
    }
    std::fs::write(envs.join("exp.toml"), format!("extends = \"dev\"\n{extra}")).unwrap();
    dir
}

fn dev_errors(extra: &str) -> String {
    let dir = dev_with(extra);
    let errors = config::load_env(&Project::Dir(dir.path().to_path_buf()), "exp").unwrap_err();
    errors.to_string()
}

/// Writes the training template of the environments `only` (all when empty)
/// of `project` under `out`.
fn render_training(project: &Project, out: &Path, label: &str, only: &[&str]) -> usize {
    let engine = Engine::new(project).unwrap();
    let mut count = 0;
    for name in config::deployable_environments(project).unwrap() {
        if !only.is_empty() && !only.contains(&name.as_str()) {
            continue;
        }
        let env = config::load_env(project, &name).unwrap();
        for stack in render::render_env(&engine, &env).unwrap() {
            if stack.spec.layer == mlinfra::stacks::Layer::Training {
                let path = out.join(format!("{label}-{}.json", stack.spec.name));
                std::fs::write(path, &stack.template.text).unwrap();
                count += 1;
            }
        }
    }
    count
}

/// Runs the botocore validation over the templates in `dir`: (success, report).
fn validate_steps(dir: &Path) -> (bool, serde_json::Value) {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let output = Command::new(common::venv_tool("python"))
        .arg(common::repo_root().join("scripts/validate-pipeline-steps.py"))
        .args(&files)
        .output()
        .expect("the validation script runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.success(), report)
}

/// Variants beyond the example: every input mode, compression, an `s3://`
/// source without isolation, integer ranges, every strategy.
const VARIANTS: &[&str] = &[
    r#"
[training.dogbreed.channels.train]
prefix = "curated/dog-images/train/"
content_type = "application/x-image"
input_mode = "Pipe"
compression = "Gzip"
distribution = "ShardedByS3Key"
[training.dogbreed.channels.validation]
prefix = "curated/dog-images/valid/"
input_mode = "FastFile"
"#,
    r#"
[training.dogbreed]
source_dir = "s3://some-team-bucket/code/dogbreed.tar.gz"
network_isolation = false
network_isolation_reason = "downloads pretrained weights"
"#,
    r#"
[training.dogbreed.tuning]
objective = { metric = "valid:loss", goal = "minimize" }
strategy = "hyperband"
max_jobs = 30
max_parallel_jobs = 10
ranges.epochs = { type = "integer", min = 5, max = 40, scaling = "linear" }
ranges.lr = { min = 0.01, max = 0.99, scaling = "reverse-logarithmic" }
"#,
    r#"
[training.dogbreed.tuning]
objective = { metric = "valid:accuracy", goal = "Maximize" }
strategy = "Random"
early_stopping = true
max_jobs = 4
ranges.model = { values = ["resnet50", "resnet101"] }
"#,
    r#"
[network]
subnets = ["subnet-0a1b2c3d", "subnet-0f1e2d3c4b5a69788"]
security_groups = ["sg-0a1b2c3d", "sg-0123456789abcdef0"]
s3_route = "nat"
[training.dogbreed]
instance_count = 2
"#,
    r#"
[network]
subnets = ["subnet-0a1b2c3d"]
security_groups = ["sg-0a1b2c3d"]
s3_endpoint = "vpce-0a1b2c3d4e5f67890"
[training.dogbreed.tuning]
objective = { metric = "valid:loss", goal = "minimize" }
max_jobs = 2
ranges.lr = { min = 0.001, max = 0.1 }
"#,
];

#[test]
fn every_pipeline_step_satisfies_botocores_model_of_the_api() {
    let out = tempfile::tempdir().unwrap();
    let mut templates = render_training(
        &Project::Dir(common::repo_root()),
        out.path(),
        "example",
        &[],
    );
    let projects: Vec<_> = VARIANTS.iter().map(|v| dev_with(v)).collect();
    for (i, project) in projects.iter().enumerate() {
        templates += render_training(
            &Project::Dir(project.path().to_path_buf()),
            out.path(),
            &format!("variant{i}"),
            &["exp"],
        );
    }
    assert_eq!(templates, 3 + VARIANTS.len());
    let (ok, report) = validate_steps(out.path());
    assert!(ok, "{report:#}");
    assert_eq!(report["problems"], serde_json::json!([]));
    // Example: dev and prod train, staging tunes; variants: three train, three
    // tune (one of each in a VPC).
    assert_eq!(report["steps"]["Training"], 5, "{report:#}");
    assert_eq!(report["steps"]["Tuning"], 4, "{report:#}");
    assert_eq!(report["vpc_steps"], 2, "{report:#}");
}

#[test]
fn a_broken_step_is_caught_by_the_model_validation() {
    let out = tempfile::tempdir().unwrap();
    render_training(
        &Project::Dir(common::repo_root()),
        out.path(),
        "example",
        &[],
    );
    let staging = out.path().join("example-dogbreed-staging-training.json");
    let mut template: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&staging).unwrap()).unwrap();
    let body = &mut template["Resources"]["DogbreedPipeline"]["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
        ["Fn::Sub"][0];
    let mut definition: serde_json::Value = serde_json::from_str(body.as_str().unwrap()).unwrap();
    let args = &mut definition["Steps"][0]["Arguments"];
    args["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"] = 0.into();
    args["HyperParameterTuningJobConfig"]["Strategy"] = "Genetic".into();
    let job = &mut args["TrainingJobDefinition"];
    job.as_object_mut().unwrap().remove("RoleArn");
    job["InputDataConfig"][0]["ChannelName"] = "dog images".into();
    job["InputDataConfig"][0]["InputMode"] = "Stream".into();
    job["ResourceConfig"]["VolumeSizeInGB"] = "50".into();
    job["Unexpected"] = true.into();
    *body = definition.to_string().into();
    std::fs::write(&staging, template.to_string()).unwrap();

    let (ok, report) = validate_steps(out.path());
    assert!(!ok, "{report:#}");
    let problems: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for expected in [
        "ResourceLimits.MaxParallelTrainingJobs: value 0 is below the minimum 1",
        "Strategy: 'Genetic' is not one of Bayesian, Random, Hyperband, Grid",
        "TrainingJobDefinition: required member RoleArn is missing",
        "InputDataConfig[0].ChannelName: 'dog images' does not match",
        "InputDataConfig[0].InputMode: 'Stream' is not one of Pipe, File, FastFile",
        "ResourceConfig.VolumeSizeInGB: expected an integer, got '50'",
        "TrainingJobDefinition: unknown member Unexpected",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{expected:?} not in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), 7, "{problems:#?}");
}

#[test]
fn a_package_is_byte_identical_across_runs_and_machines() {
    let repo = Project::Dir(common::repo_root());
    let first = package::package(code::read_source(&repo, "training/dogbreed").unwrap()).unwrap();
    let again = package::package(code::read_source(&repo, "training/dogbreed").unwrap()).unwrap();
    assert_eq!(first.bytes, again.bytes);
    // The binary's own copy of the example packages to the same bytes.
    let built_in =
        package::package(code::read_source(&Project::Example, "training/dogbreed/").unwrap())
            .unwrap();
    assert_eq!(first.sha256, built_in.sha256);

    // Another checkout: other mtimes, modes and interpreter caches.
    let other = tempfile::tempdir().unwrap();
    common::copy_example_code(other.path());
    let script = other.path().join("training/dogbreed/train.py");
    let file = std::fs::File::options().write(true).open(&script).unwrap();
    file.set_modified(
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let cache = other.path().join("training/dogbreed/__pycache__");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join("train.cpython-310.pyc"), b"machine specific").unwrap();
    let elsewhere = package::package(
        code::read_source(
            &Project::Dir(other.path().to_path_buf()),
            "training/dogbreed",
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(first.bytes, elsewhere.bytes);

    // Python's tarfile and gzip read it: one file, owner 0, mtime 0, mode 0644.
    let archive = other.path().join("sourcedir.tar.gz");
    std::fs::write(&archive, &*first.bytes).unwrap();
    let output = Command::new(common::venv_tool("python"))
        .args([
            "-c",
            "import gzip,sys,tarfile\n\
             raw=open(sys.argv[1],'rb').read()\n\
             assert raw[4:8]==bytes(4), 'gzip mtime'\n\
             t=tarfile.open(sys.argv[1])\n\
             for m in t.getmembers(): print(m.name, m.size, m.mtime, m.uid, m.gid, oct(m.mode), m.isfile())\n\
             print(t.extractfile('train.py').read()==open(sys.argv[2],'rb').read())",
        ])
        .arg(&archive)
        .arg(common::repo_root().join("training/dogbreed/train.py"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let size = std::fs::metadata(common::repo_root().join("training/dogbreed/train.py"))
        .unwrap()
        .len();
    assert_eq!(text, format!("train.py {size} 0 0 0 0o644 True\nTrue\n"));
}

#[test]
fn the_pipeline_names_the_package_by_its_hash_and_the_sdks_hyperparameters() {
    let env = config::load_env(&Project::Dir(common::repo_root()), "dev").unwrap();
    let job = &env.training[0];
    let repo = Project::Dir(common::repo_root());
    let package = package::package(code::read_source(&repo, "training/dogbreed").unwrap()).unwrap();
    let definition: serde_json::Value =
        serde_json::from_str(&render::pipeline::definition(&env, job)).unwrap();
    let args = &definition["Steps"][0]["Arguments"];
    let key = format!("code/dogbreed/{}/sourcedir.tar.gz", package.sha256);
    let code_channel = &args["InputDataConfig"][2];
    assert_eq!(code_channel["ChannelName"], "code");
    assert_eq!(
        code_channel["DataSource"]["S3DataSource"]["S3Uri"],
        format!("s3://dogbreed-dev-models-123456789012-us-east-1/{key}")
    );
    let hp = &args["HyperParameters"];
    assert_eq!(hp["sagemaker_program"], "\"train.py\"");
    assert_eq!(
        hp["sagemaker_submit_directory"],
        "\"/opt/ml/input/data/code/sourcedir.tar.gz\""
    );
    assert_eq!(hp["sagemaker_region"], "\"us-east-1\"");
    assert_eq!(
        args["AlgorithmSpecification"]["MetricDefinitions"][0],
        serde_json::json!({ "Name": "valid:accuracy", "Regex": "valid accuracy: ([0-9\\.]+)" })
    );

    // A code change is a new hash, so a new key in the definition.
    let changed = dev_with("");
    std::fs::write(
        changed.path().join("training/dogbreed/helper.py"),
        "SEED = 7\n",
    )
    .unwrap();
    let env2 = config::load_env(&Project::Dir(changed.path().to_path_buf()), "dev").unwrap();
    let changed_definition = render::pipeline::definition(&env2, &env2.training[0]);
    assert!(!changed_definition.contains(&package.sha256));
    assert!(changed_definition.contains("code/dogbreed/"));
}

#[test]
fn the_training_role_reads_exactly_the_channels_and_the_jobs_code_and_no_served_model() {
    let env = config::load_env(&Project::Dir(common::repo_root()), "dev").unwrap();
    let policies = config::policies::execution_role_policies(&env);
    let document = serde_json::to_value(&policies[0].policy_document).unwrap();
    let reads = &document["Statement"][0];
    assert_eq!(reads["Sid"], "ReadTrainingInputsCodeAndCheckpoints");
    assert_eq!(
        reads["Resource"],
        serde_json::json!([
            "arn:aws:s3:::dogbreed-dev-curated-123456789012-us-east-1/dog-images/train/*",
            "arn:aws:s3:::dogbreed-dev-curated-123456789012-us-east-1/dog-images/valid/*",
            "arn:aws:s3:::dogbreed-dev-models-123456789012-us-east-1/checkpoints/dogbreed/*",
            "arn:aws:s3:::dogbreed-dev-models-123456789012-us-east-1/code/dogbreed/*",
        ])
    );
}

#[test]
fn bad_channels_code_metrics_and_tuning_are_rejected_where_they_are_written() {
    for (extra, expected) in [
        (
            "[training.dogbreed]\ninput = \"curated/x/\"\n",
            "training.dogbreed.input: write either `input`",
        ),
        (
            "[training.dogbreed.channels.\"dog images\"]\nprefix = \"curated/x/\"\n",
            "channel name \"dog images\" contains ' '",
        ),
        (
            "[training.dogbreed.channels.train]\nprefix = \"curated/x/\"\ncompression = \"Gzip\"\n",
            "training.dogbreed.channels.train.compression: SageMaker decompresses Gzip only in Pipe input mode",
        ),
        (
            "[training.dogbreed.channels.train]\nprefix = \"curated/x/\"\ninput_mode = \"Stream\"\n",
            "training.dogbreed.channels.train.input_mode: expected one of File, FastFile, Pipe, got \"Stream\"",
        ),
        (
            "[training.dogbreed.channels.code]\nprefix = \"curated/x/\"\n",
            "training.dogbreed.channels.code: under network isolation the code package arrives in a channel called \"code\"",
        ),
        (
            "[training.dogbreed]\nentry_point = \"missing.py\"\n",
            "training.dogbreed.entry_point: \"missing.py\" is not a file in \"training/dogbreed\"",
        ),
        (
            "[training.dogbreed]\nsource_dir = \"../elsewhere\"\n",
            "training.dogbreed.source_dir: \"../elsewhere\" must stay inside the project",
        ),
        (
            "[training.dogbreed]\nsource_dir = \"training/absent\"\n",
            "training.dogbreed.source_dir: cannot package \"training/absent\"",
        ),
        (
            "[training.dogbreed.metrics]\n\"loss\" = \"loss: [0-9.]+\"\n",
            "training.dogbreed.metrics.loss: \"loss: [0-9.]+\" has no capture group",
        ),
        (
            "[training.dogbreed.tuning]\nobjective = { metric = \"f1\", goal = \"maximize\" }\nmax_jobs = 2\nranges.lr = { min = 0.1, max = 0.2 }\n",
            "training.dogbreed.tuning.objective.metric: \"f1\" is not one of the job's metrics (declared: valid:accuracy, valid:loss)",
        ),
        (
            "[training.dogbreed.tuning]\nobjective = { metric = \"valid:loss\", goal = \"minimize\" }\nmax_jobs = 2\nmax_parallel_jobs = 3\nranges.lr = { min = 0.1, max = 0.2 }\n",
            "training.dogbreed.tuning.max_parallel_jobs: 3 parallel jobs is more than max_jobs (2)",
        ),
        (
            "[training.dogbreed.tuning]\nobjective = { metric = \"valid:loss\", goal = \"minimize\" }\nstrategy = \"hyperband\"\nearly_stopping = true\nmax_jobs = 2\nranges.lr = { min = 0.1, max = 0.2 }\n",
            "training.dogbreed.tuning.early_stopping: Hyperband stops jobs early itself",
        ),
        (
            "[training.dogbreed.tuning]\nobjective = { metric = \"valid:loss\", goal = \"minimize\" }\nmax_jobs = 2\nranges.lr = { min = 0, max = 0.2, scaling = \"log\" }\n",
            "training.dogbreed.tuning.ranges.lr.scaling: logarithmic scaling needs min above 0",
        ),
        (
            "[training.dogbreed.tuning]\nobjective = { metric = \"valid:loss\", goal = \"minimize\" }\nmax_jobs = 800\nranges.epochs = { type = \"integer\", min = 1.5, max = 4 }\n",
            "training.dogbreed.tuning.max_jobs: expected 1 to 750 training jobs per tuning job, got 800",
        ),
    ] {
        let errors = dev_errors(&format!("\n{extra}"));
        assert!(errors.contains(expected), "{expected:?} not in:\n{errors}");
    }
}

#[test]
fn train_names_the_code_package_the_metrics_and_the_tuning() {
    let project = Project::Dir(common::repo_root());
    let staging = config::load_env(&project, "staging").unwrap();
    let lines = mlinfra::ops::run::job_summary(&staging.training[0]);
    let package =
        package::package(code::read_source(&project, "training/dogbreed").unwrap()).unwrap();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(lines[0].starts_with(&format!(
        "code: train.py from training/dogbreed packaged as sha256 {}… at s3://dogbreed-staging-models-234567890123-us-east-1/code/dogbreed/{}/sourcedir.tar.gz",
        &package.sha256[..12],
        package.sha256
    )), "{}", lines[0]);
    assert_eq!(lines[1], "metrics: valid:accuracy, valid:loss");
    assert_eq!(
        lines[2],
        "tuning: Bayesian search, up to 12 jobs (3 in parallel), maximize valid:accuracy"
    );
}

#[test]
fn cost_prices_a_tuning_run_as_its_jobs() {
    let output = common::Cli::new().args(["cost", "--env", "staging"]).run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    // 12 jobs × 1 h × ml.g5.xlarge at $1.408 (the example's price) = $16.90.
    assert!(
        stdout.contains(
            "training dogbreed-staging-dogbreed 1 × ml.g5.xlarge, tuning up to 12 jobs: $16.90 per run on demand"
        ),
        "{stdout}"
    );
}

#[test]
fn uploads_are_the_packages_validation_built() {
    let dir = dev_with("");
    let project = Project::Dir(dir.path().to_path_buf());
    let env = config::load_env(&project, "exp").unwrap();
    let Some(config::training::CodeSource::Package { sha256, .. }) =
        env.training[0].code.as_ref().map(|c| &c.source)
    else {
        panic!("the job packages its source directory");
    };
    // The directory changes after validation: what was validated, hashed and
    // named by the definitions is what is uploaded, not packed again.
    let script = dir.path().join("training/dogbreed/train.py");
    std::fs::write(&script, "print('edited after validation')\n").unwrap();
    let uploads = code::uploads(&project, &env).unwrap();
    assert_eq!(uploads.len(), 1);
    assert_eq!(&uploads[0].sha256, sha256);
    assert_eq!(
        &package::hex(&sha2::Sha256::digest(&*uploads[0].bytes)),
        sha256
    );
    // Read back from a plan file the environment carries no bytes: the
    // directory is packed again and the change is noticed.
    let reread: config::Env = serde_json::from_str(&serde_json::to_string(&env).unwrap()).unwrap();
    assert_eq!(reread, env);
    let error = code::uploads(&project, &reread).unwrap_err();
    assert!(
        matches!(error, code::UploadError::Changed { .. }),
        "{error}"
    );
}
