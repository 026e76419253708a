//! The CodeBuild recipes run as CodeBuild would run them: each buildspec's
//! commands, read from its YAML, in one shell per build (CodeBuild keeps the
//! shell between commands), failing at the first command that fails, with a
//! fake CodeBuild environment: `CODEBUILD_*` variables, the tools input as
//! `CODEBUILD_SRC_DIR_tools`, and `AWS_REGION` set to the pipeline's region
//! (eu-west-1), not the environment's (us-east-1). Against moto's server,
//! whose account is prod's: plan → approval → apply of a protected
//! environment whose first deploy adds IAM roles.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::support::moto_cfn;
use crate::common::moto::Moto;
use crate::common::{mlinfra_bin, repo_root, venv_tool};

const PROD_ACCOUNT: &str = "345678901234";

/// A buildspec as CodeBuild reads it: variables, commands of every phase in
/// order, and the artifact files.
#[derive(serde::Deserialize)]
struct Buildspec {
    variables: BTreeMap<String, String>,
    commands: Vec<String>,
    artifacts: Vec<String>,
}

fn buildspec(file: &str) -> Buildspec {
    let script = r#"
import json, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
assert doc["version"] == 0.2, doc["version"]
phases = doc["phases"]
commands = []
for phase in ("install", "pre_build", "build", "post_build"):
    commands.extend(phases.get(phase, {}).get("commands", []))
print(json.dumps({
    "variables": {k: str(v) for k, v in doc.get("env", {}).get("variables", {}).items()},
    "commands": commands,
    "artifacts": doc.get("artifacts", {}).get("files", []),
}))
"#;
    let output = Command::new(venv_tool("python"))
        .arg("-c")
        .arg(script)
        .arg(repo_root().join("docs/examples").join(file))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{file}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

struct Build {
    code: i32,
    log: String,
}

/// Runs a buildspec in `source` the way CodeBuild does.
fn run(
    moto: &Moto,
    spec: &Buildspec,
    source: &Path,
    tools: &Path,
    overrides: &[(&str, &str)],
) -> Build {
    let home = tempfile::tempdir().unwrap();
    let script = format!("set -e\n{}\n", spec.commands.join("\n"));
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(source)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .envs(moto.env())
        .envs(&spec.variables)
        .env("AWS_ACCOUNT_ID", PROD_ACCOUNT)
        // The pipeline's region, not the environment's.
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .env("CODEBUILD_BUILD_ID", "dogbreed-delivery-prod:4b1f0c2e")
        .env(
            "CODEBUILD_BUILD_ARN",
            "arn:aws:codebuild:eu-west-1:111111111111:build/dogbreed-delivery-prod:4b1f0c2e",
        )
        .env("CODEBUILD_INITIATOR", "codepipeline/dogbreed-delivery")
        .env("CODEBUILD_RESOLVED_SOURCE_VERSION", "0123456789abcdef")
        .env("CODEBUILD_SRC_DIR", source)
        .env("CODEBUILD_SRC_DIR_tools", tools)
        .envs(overrides.iter().copied())
        .output()
        .expect("bash runs");
    Build {
        code: output.status.code().unwrap_or(-1),
        log: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

/// What CodePipeline hands the next action: the artifact files, nothing else.
fn hand_over(spec: &Buildspec, from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for file in &spec.artifacts {
        // `dir/**/*`: every file under the folder, as CodeBuild collects it.
        if let Some(folder) = file.strip_suffix("/**/*") {
            std::fs::create_dir_all(to.path().join(folder)).unwrap();
            for entry in std::fs::read_dir(from.join(folder))
                .unwrap_or_else(|e| panic!("artifact {file}: {e}"))
            {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), to.path().join(folder).join(entry.file_name()))
                    .unwrap();
            }
            continue;
        }
        std::fs::copy(from.join(file), to.path().join(file))
            .unwrap_or_else(|e| panic!("artifact {file}: {e}"));
    }
    to
}

fn checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let envs = dir.path().join("environments");
    std::fs::create_dir_all(&envs).unwrap();
    for entry in std::fs::read_dir(repo_root().join("environments")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, envs.join(path.file_name().unwrap())).unwrap();
    }
    crate::common::copy_example_code(dir.path());
    dir
}

fn tools() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let target: PathBuf = dir.path().join("mlinfra");
    std::fs::copy(mlinfra_bin(), &target).unwrap();
    let digest = Sha256::digest(std::fs::read(&target).unwrap());
    let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
    (dir, hex)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_codebuild_recipes_plan_approve_and_apply_a_protected_environment() {
    let moto = Moto::start_with_env(&[("MOTO_ACCOUNT_ID", PROD_ACCOUNT)]);
    let plan_spec = buildspec("buildspec-plan.yml");
    let apply_spec = buildspec("buildspec-apply.yml");
    let (tools, sha) = tools();
    let env = [("MLINFRA_ENV", "prod"), ("MLINFRA_SHA256", sha.as_str())];

    // A binary that is not the published one is never run.
    let source = checkout();
    let tampered = run(
        &moto,
        &plan_spec,
        source.path(),
        tools.path(),
        &[("MLINFRA_ENV", "prod"), ("MLINFRA_SHA256", &"0".repeat(64))],
    );
    assert_ne!(tampered.code, 0, "{}", tampered.log);
    assert!(tampered.log.contains("FAILED"), "{}", tampered.log);
    assert!(!source.path().join("plan.json").exists());

    // Plan: changes (exit 2) pass the gate; the summary says IAM grows.
    let planned = run(&moto, &plan_spec, source.path(), tools.path(), &env);
    assert_eq!(planned.code, 0, "{}", planned.log);
    assert!(
        planned.log.contains("IAM broadening to approve: yes"),
        "{}",
        planned.log
    );
    let artifacts = hand_over(&plan_spec, source.path());
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(artifacts.path().join("plan.json")).unwrap())
            .unwrap();
    let summary = format!(
        "Plan of prod: {} to add, 0 to change, 0 to remove",
        plan["summary"]["add"]
    );
    assert!(plan["summary"]["add"].as_u64().unwrap() > 10);
    assert!(planned.log.contains(&summary), "{summary}\n{}", planned.log);

    // The approval: the reviewer reads plan.md, whose IAM section lists
    // every role the first deploy adds.
    let plan_md = std::fs::read_to_string(artifacts.path().join("plan.md")).unwrap();
    assert!(plan_md.contains("IAM changes"), "{plan_md}");
    let roles = plan["iam"].as_array().unwrap();
    assert!(!roles.is_empty());
    for role in roles {
        let id = role["logical_id"].as_str().unwrap();
        assert!(plan_md.contains(id), "{id} is not in plan.md:\n{plan_md}");
    }

    // Without the reviewed approval the protected environment refuses (3),
    // and nothing is executed.
    let unapproved = moto
        .cli(artifacts.path())
        .current_dir(artifacts.path())
        .env("AWS_REGION", "eu-west-1")
        .args(["apply", "--env", "prod", "--plan", "plan.json"])
        .run();
    assert_eq!(
        unapproved.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&unapproved.stderr)
    );
    assert!(String::from_utf8_lossy(&unapproved.stderr).contains("--approve-broadening"));

    // Apply, after the approval, from the plan action's artifacts alone.
    assert!(!artifacts.path().join("environments").exists());
    let applied = run(&moto, &apply_spec, artifacts.path(), tools.path(), &env);
    assert_eq!(applied.code, 0, "{}", applied.log);
    let cfn = moto_cfn(&moto).await;
    for stack in [
        "dogbreed-prod-data",
        "dogbreed-prod-iam",
        "dogbreed-prod-training",
        "dogbreed-prod-serving",
    ] {
        let found = cfn
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .unwrap();
        assert_eq!(
            found.stacks()[0].stack_status().map(|s| s.as_str()),
            Some("CREATE_COMPLETE"),
            "{stack}: {}",
            applied.log
        );
    }
    // The same plan once more fails the build: the gate lets only 0 through.
    let again = run(&moto, &apply_spec, artifacts.path(), tools.path(), &env);
    assert_ne!(again.code, 0, "{}", again.log);
    assert!(again.log.contains("the plan is stale"), "{}", again.log);
}
