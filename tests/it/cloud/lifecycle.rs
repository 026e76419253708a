//! The lifecycle beyond apply, end to end against moto's server through the
//! `mlinfra` binary: `destroy` (reverse dependency order, retained buckets
//! and key kept with their objects, protected environments only with
//! consent), `--stack` for plan and apply, `plan --discard`, and apply
//! leaving no change set behind when it refuses.

use std::path::Path;

use super::support::{Calls, dev_project, moto_cfn, moto_clients};
use crate::common::moto::Moto;

const STACKS: [&str; 4] = [
    "dogbreed-dev-data",
    "dogbreed-dev-iam",
    "dogbreed-dev-training",
    "dogbreed-dev-serving",
];

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn mlinfra(moto: &Moto, project: &Path, args: &[&str]) -> Run {
    let output = moto.cli(project).args(args).run();
    Run {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[track_caller]
fn assert_exit(run: &Run, code: i32, what: &str) {
    assert_eq!(
        run.code, code,
        "{what}: exit {}\n--- stdout\n{}\n--- stderr\n{}",
        run.code, run.stdout, run.stderr
    );
}

async fn status(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> Option<String> {
    let output = cfn.describe_stacks().stack_name(stack).send().await.ok()?;
    output
        .stacks()
        .first()
        .and_then(|s| s.stack_status())
        .map(|s| s.as_str().to_string())
}

async fn statuses(cfn: &aws_sdk_cloudformation::Client) -> Vec<Option<String>> {
    let mut found = Vec::new();
    for stack in STACKS {
        found.push(status(cfn, stack).await);
    }
    found
}

/// Change sets that could still be executed: what a run must not leave behind.
async fn pending_change_sets(cfn: &aws_sdk_cloudformation::Client) -> Vec<String> {
    let mut pending = Vec::new();
    for stack in STACKS {
        let Ok(listed) = cfn.list_change_sets().stack_name(stack).send().await else {
            continue;
        };
        for summary in listed.summaries() {
            let name = format!(
                "{}/{}",
                summary.stack_name().unwrap_or_default(),
                summary.change_set_name().unwrap_or_default()
            );
            let available = summary.execution_status().map(|s| s.as_str()) == Some("AVAILABLE");
            if available && !pending.contains(&name) {
                pending.push(name);
            }
        }
    }
    pending
}

async fn physical_id(cfn: &aws_sdk_cloudformation::Client, stack: &str, logical: &str) -> String {
    cfn.describe_stack_resource()
        .stack_name(stack)
        .logical_resource_id(logical)
        .send()
        .await
        .unwrap()
        .stack_resource_detail()
        .and_then(|r| r.physical_resource_id())
        .unwrap()
        .to_string()
}

async fn object_text(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let bytes = object.body.collect().await.unwrap().into_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_deletes_dev_in_reverse_order_and_keeps_its_buckets_and_key() {
    let moto = Moto::start();
    let cfn = moto_cfn(&moto).await;
    let s3 = moto_clients(&moto, &Calls::default()).await.s3;
    let project = dev_project(false, false);
    let project = project.path();
    assert_exit(
        &mlinfra(&moto, project, &["apply", "--env", "dev", "--yes"]),
        0,
        "apply dev",
    );
    let raw = physical_id(&cfn, "dogbreed-dev-data", "RawBucket").await;
    let key = physical_id(&cfn, "dogbreed-dev-data", "DataKey").await;
    s3.put_object()
        .bucket(&raw)
        .key("images/keep.txt")
        .body(b"a labelled image".to_vec().into())
        .send()
        .await
        .unwrap();

    // Nobody to confirm: the plan is shown, nothing is deleted.
    let unconfirmed = mlinfra(&moto, project, &["destroy", "--env", "dev"]);
    assert_exit(&unconfirmed, 1, "destroy without --yes off a terminal");
    assert!(
        unconfirmed.stderr.contains("destroy needs --yes"),
        "{}",
        unconfirmed.stderr
    );
    assert!(
        unconfirmed
            .stdout
            .contains(&format!("RawBucket (AWS::S3::Bucket) {raw}")),
        "{}",
        unconfirmed.stdout
    );
    let order: Vec<usize> = ["serving", "training", "iam", "data"]
        .iter()
        .map(|layer| {
            unconfirmed
                .stdout
                .find(&format!("  - dogbreed-dev-{layer} ("))
                .unwrap_or_else(|| panic!("{layer} in the plan:\n{}", unconfirmed.stdout))
        })
        .collect();
    assert!(
        order[2] > order[0] && order[2] > order[1] && order[3] > order[2],
        "dependents first: {}",
        unconfirmed.stdout
    );
    assert!(statuses(&cfn).await.iter().all(Option::is_some));

    // The protected-environment flag on an unprotected one is a leftover.
    let unused = mlinfra(
        &moto,
        project,
        &[
            "destroy",
            "--env",
            "dev",
            "--yes",
            "--allow-destroy-protected",
        ],
    );
    assert_exit(&unused, 1, "--allow-destroy-protected on dev");
    assert!(
        unused.stderr.contains("is not protected"),
        "{}",
        unused.stderr
    );
    assert!(statuses(&cfn).await.iter().all(Option::is_some));

    let destroyed = mlinfra(&moto, project, &["destroy", "--env", "dev", "--yes"]);
    assert_exit(&destroyed, 0, "destroy dev --yes");
    assert!(
        destroyed
            .stdout
            .contains("Destroyed dev: 4 stack(s) deleted."),
        "{}",
        destroyed.stdout
    );
    // Kept, by name, before and after.
    let kept_lines: Vec<&str> = destroyed
        .stdout
        .lines()
        .filter(|l| l.contains(&format!("RawBucket (AWS::S3::Bucket) {raw}")))
        .collect();
    assert_eq!(kept_lines.len(), 2, "{}", destroyed.stdout);
    assert!(
        destroyed
            .stdout
            .contains(&format!("DataKey (AWS::KMS::Key) {key}"))
    );
    assert_eq!(statuses(&cfn).await, vec![None; 4], "every stack deleted");
    // The retained bucket is still there, with its object.
    assert_eq!(
        object_text(&s3, &raw, "images/keep.txt").await,
        "a labelled image"
    );
    let buckets: Vec<String> = s3
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect();
    for zone in ["raw", "curated", "models"] {
        assert!(
            buckets
                .iter()
                .any(|b| b.starts_with(&format!("dogbreed-dev-{zone}"))),
            "{zone}: {buckets:?}"
        );
    }

    let again = mlinfra(&moto, project, &["destroy", "--env", "dev", "--yes"]);
    assert_exit(&again, 0, "destroy of nothing");
    assert!(
        again.stdout.contains("Nothing to destroy"),
        "{}",
        again.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_environment_is_destroyed_only_with_consent() {
    let moto = Moto::start();
    let cfn = moto_cfn(&moto).await;
    let project = dev_project(true, false);
    let project = project.path();
    assert_exit(
        &mlinfra(
            &moto,
            project,
            &["apply", "--env", "dev", "--yes", "--approve-broadening"],
        ),
        0,
        "apply a protected dev",
    );
    let protection = || async {
        cfn.describe_stacks()
            .stack_name("dogbreed-dev-data")
            .send()
            .await
            .unwrap()
            .stacks()[0]
            .enable_termination_protection()
    };
    assert_eq!(protection().await, Some(true));

    for args in [
        &["destroy", "--env", "dev", "--yes"][..],
        &["destroy", "--env", "dev"][..],
    ] {
        let refused = mlinfra(&moto, project, args);
        assert_exit(&refused, 3, &args.join(" "));
        assert!(
            refused
                .stderr
                .contains("refusing to destroy dev: it is protected")
                && refused.stderr.contains("--allow-destroy-protected"),
            "{}",
            refused.stderr
        );
        assert!(
            refused
                .stdout
                .contains("termination protection is on and is turned off for the delete"),
            "{}",
            refused.stdout
        );
        assert!(
            statuses(&cfn).await.iter().all(Option::is_some),
            "nothing deleted"
        );
        assert_eq!(protection().await, Some(true), "protection untouched");
    }

    let destroyed = mlinfra(
        &moto,
        project,
        &[
            "destroy",
            "--env",
            "dev",
            "--yes",
            "--allow-destroy-protected",
        ],
    );
    assert_exit(&destroyed, 0, "destroy with --allow-destroy-protected");
    assert!(
        destroyed
            .stderr
            .contains("dogbreed-dev-data: termination protection turned off to delete it"),
        "{}",
        destroyed.stderr
    );
    assert_eq!(statuses(&cfn).await, vec![None; 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_stack_is_planned_and_applied_once_its_dependencies_are_deployed() {
    let moto = Moto::start();
    let cfn = moto_cfn(&moto).await;
    let project = dev_project(false, false);
    let project = project.path();

    let refused = mlinfra(&moto, project, &["plan", "--env", "dev", "--stack", "iam"]);
    assert_exit(&refused, 1, "plan of iam before data");
    assert!(
        refused
            .stderr
            .contains("cannot plan dogbreed-dev-iam alone")
            && refused.stderr.contains("dogbreed-dev-data (not deployed)")
            && refused
                .stderr
                .contains("mlinfra apply --env dev --stack data"),
        "{}",
        refused.stderr
    );
    let refused = mlinfra(
        &moto,
        project,
        &["apply", "--env", "dev", "--stack", "serving", "--yes"],
    );
    assert_exit(&refused, 1, "apply of serving before data and iam");
    assert!(
        refused.stderr.contains("dogbreed-dev-data (not deployed)")
            && refused.stderr.contains("dogbreed-dev-iam (not deployed)"),
        "{}",
        refused.stderr
    );
    assert_eq!(statuses(&cfn).await, vec![None; 4], "nothing created");
    assert!(pending_change_sets(&cfn).await.is_empty());

    assert_exit(
        &mlinfra(
            &moto,
            project,
            &["apply", "--env", "dev", "--stack", "data", "--yes"],
        ),
        0,
        "apply of data alone",
    );
    assert_eq!(
        statuses(&cfn).await,
        vec![Some("CREATE_COMPLETE".into()), None, None, None]
    );

    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("iam.json");
    let plan_file = plan_path.to_str().unwrap();
    let planned = mlinfra(
        &moto,
        project,
        &["plan", "--env", "dev", "--stack", "iam", "--out", plan_file],
    );
    assert_exit(&planned, 2, "plan of iam alone");
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    assert_eq!(document["stack"], "iam", "the plan file records --stack");
    assert_eq!(document["stacks"].as_array().unwrap().len(), 1);
    assert_eq!(document["stacks"][0]["stack"], "dogbreed-dev-iam");

    let other = mlinfra(
        &moto,
        project,
        &[
            "apply", "--env", "dev", "--plan", plan_file, "--stack", "serving",
        ],
    );
    assert_exit(&other, 1, "apply of an iam plan as serving");
    assert!(
        other.stderr.contains("the plan is for --stack iam"),
        "{}",
        other.stderr
    );

    assert_exit(
        &mlinfra(
            &moto,
            project,
            &["apply", "--env", "dev", "--plan", plan_file],
        ),
        0,
        "apply of the iam plan",
    );
    assert_eq!(
        statuses(&cfn).await,
        vec![
            Some("CREATE_COMPLETE".into()),
            Some("CREATE_COMPLETE".into()),
            None,
            None
        ],
        "iam alone was applied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discard_and_refusals_leave_no_change_set_behind() {
    let moto = Moto::start();
    let cfn = moto_cfn(&moto).await;
    let project = dev_project(false, false);
    let project = project.path();
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    let plan_file = plan_path.to_str().unwrap();

    assert_exit(
        &mlinfra(
            &moto,
            project,
            &["plan", "--env", "dev", "--out", plan_file],
        ),
        2,
        "plan --out of a new dev",
    );
    let code = dir.path().join("plan.json.code");
    assert!(code.is_dir(), "the plan keeps its code packages");
    let before = pending_change_sets(&cfn).await;
    // Only data gets a change set now: the others import from it and wait for apply.
    assert_eq!(before.len(), 1, "{before:?}");
    assert!(
        before[0].starts_with("dogbreed-dev-data/mlinfra-"),
        "{before:?}"
    );
    assert_eq!(
        status(&cfn, "dogbreed-dev-data").await.as_deref(),
        Some("REVIEW_IN_PROGRESS")
    );

    let discarded = mlinfra(&moto, project, &["plan", "--discard", plan_file]);
    assert_exit(&discarded, 0, "plan --discard");
    assert!(
        discarded.stdout.contains("1 change set(s) deleted"),
        "{}",
        discarded.stdout
    );
    assert!(pending_change_sets(&cfn).await.is_empty());
    assert_eq!(
        status(&cfn, "dogbreed-dev-data").await,
        None,
        "the empty stack went too"
    );
    assert!(!code.exists(), "the kept packages are removed");
    assert!(plan_path.exists(), "the plan file stays as a record");

    let stale = mlinfra(
        &moto,
        project,
        &["apply", "--env", "dev", "--plan", plan_file],
    );
    assert_exit(&stale, 3, "apply of a discarded plan");
    let again = mlinfra(&moto, project, &["plan", "--discard", plan_file]);
    assert_exit(&again, 0, "a second discard");
    assert!(again.stdout.contains("1 already gone"), "{}", again.stdout);
    let wrong = mlinfra(
        &moto,
        project,
        &["plan", "--env", "prod", "--discard", plan_file],
    );
    assert_exit(&wrong, 1, "discard naming another environment");

    // Refused by the broadening guard (a protected dev asks for approval):
    // its CREATE change set and empty stack are gone again.
    let protected = dev_project(true, false);
    let refused = mlinfra(&moto, protected.path(), &["apply", "--env", "dev", "--yes"]);
    assert_exit(&refused, 3, "apply without approval of broadening");
    assert!(
        refused.stderr.contains("--approve-broadening"),
        "{}",
        refused.stderr
    );
    assert!(
        pending_change_sets(&cfn).await.is_empty(),
        "{:?}",
        pending_change_sets(&cfn).await
    );
    assert_eq!(statuses(&cfn).await, vec![None; 4]);

    // Refused by the data-loss guard on an update: its UPDATE change set is deleted.
    let with_features = dev_project(false, true);
    assert_exit(
        &mlinfra(
            &moto,
            with_features.path(),
            &["apply", "--env", "dev", "--yes"],
        ),
        0,
        "apply with a features zone",
    );
    let before = pending_change_sets(&cfn).await;
    assert!(before.is_empty(), "{before:?}");
    let removal = mlinfra(&moto, project, &["apply", "--env", "dev", "--yes"]);
    assert_exit(&removal, 3, "apply removing FeaturesBucket");
    assert!(
        removal.stderr.contains("--allow-data-loss FeaturesBucket"),
        "{}",
        removal.stderr
    );
    assert!(
        pending_change_sets(&cfn).await.is_empty(),
        "{:?}",
        pending_change_sets(&cfn).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_buckets_and_a_kept_key_are_imported_into_the_data_stack() {
    let moto = Moto::start();
    let cfn = moto_cfn(&moto).await;
    let s3 = moto_clients(&moto, &Calls::default()).await.s3;
    let project = dev_project(false, false);
    let project = project.path();
    // The name the environment derives for its raw bucket, made before mlinfra ran.
    let (_, rendered) = super::support::example("dev");
    let raw = rendered[0].template.value["Resources"]["RawBucket"]["Properties"]["BucketName"]
        .as_str()
        .unwrap()
        .to_string();
    s3.create_bucket().bucket(&raw).send().await.unwrap();
    s3.put_object()
        .bucket(&raw)
        .key("before/import.txt")
        .body(b"made before mlinfra".to_vec().into())
        .send()
        .await
        .unwrap();

    let unconfirmed = mlinfra(&moto, project, &["import", "--env", "dev"]);
    assert_exit(&unconfirmed, 1, "import without --yes off a terminal");
    assert!(
        unconfirmed
            .stdout
            .contains(&format!("RawBucket (AWS::S3::Bucket) <- BucketName {raw}")),
        "the plan first:\n{}",
        unconfirmed.stdout
    );
    assert!(
        unconfirmed.stdout.contains("the import creates the stack")
            && unconfirmed.stdout.contains("CuratedBucket (")
            && unconfirmed
                .stdout
                .contains("no such bucket; apply creates it")
            && unconfirmed.stdout.contains(
                "DataKey (AWS::KMS::Key): not named; import it with --resource DataKey=KEY_ID"
            ),
        "{}",
        unconfirmed.stdout
    );
    assert_eq!(
        status(&cfn, "dogbreed-dev-data").await,
        None,
        "nothing imported"
    );

    let unknown = mlinfra(
        &moto,
        project,
        &[
            "import",
            "--env",
            "dev",
            "--yes",
            "--resource",
            "RawBucketPolicy=x",
        ],
    );
    assert_exit(&unknown, 1, "import of a resource that is not importable");
    assert!(
        unknown
            .stderr
            .contains("renders no bucket, key or alias of that logical id"),
        "{}",
        unknown.stderr
    );

    let imported = mlinfra(&moto, project, &["import", "--env", "dev", "--yes"]);
    assert_exit(&imported, 0, "import of the raw bucket");
    assert!(
        imported
            .stdout
            .contains("Imported 1 resource(s) into dogbreed-dev-data.")
            && imported.stdout.contains("  - RawBucket.BucketEncryption"),
        "{}",
        imported.stdout
    );
    assert_eq!(
        status(&cfn, "dogbreed-dev-data").await.as_deref(),
        Some("IMPORT_COMPLETE")
    );
    assert_eq!(
        physical_id(&cfn, "dogbreed-dev-data", "RawBucket").await,
        raw
    );
    assert_eq!(
        object_text(&s3, &raw, "before/import.txt").await,
        "made before mlinfra"
    );
    let again = mlinfra(&moto, project, &["import", "--env", "dev", "--yes"]);
    assert_exit(&again, 0, "a second import");
    assert!(
        again.stdout.contains("Nothing to import"),
        "{}",
        again.stdout
    );

    // The data stack is completed, then the rest: the bucket is the stack's now.
    for args in [
        &["apply", "--env", "dev", "--stack", "data", "--yes"][..],
        &["apply", "--env", "dev", "--yes"][..],
    ] {
        assert_exit(&mlinfra(&moto, project, args), 0, &args.join(" "));
    }
    assert!(statuses(&cfn).await.iter().all(Option::is_some));
    assert_eq!(
        physical_id(&cfn, "dogbreed-dev-data", "RawBucket").await,
        raw
    );
    assert_eq!(
        object_text(&s3, &raw, "before/import.txt").await,
        "made before mlinfra"
    );

    // Destroyed, then adopted back with the kept key and alias, as destroy says.
    let key = physical_id(&cfn, "dogbreed-dev-data", "DataKey").await;
    let destroyed = mlinfra(&moto, project, &["destroy", "--env", "dev", "--yes"]);
    assert_exit(&destroyed, 0, "destroy");
    let command = destroyed
        .stdout
        .lines()
        .find_map(|l| l.split_once("To adopt them into a new data stack: mlinfra "))
        .map(|(_, args)| args.to_string())
        .unwrap_or_else(|| panic!("destroy names the import:\n{}", destroyed.stdout));
    assert!(
        command.contains(&format!("--resource DataKey={key}")),
        "{command}"
    );
    let mut args: Vec<&str> = command.split_whitespace().collect();
    args.push("--yes");
    let adopted = mlinfra(&moto, project, &args);
    assert_exit(&adopted, 0, &command);
    assert!(
        adopted
            .stdout
            .contains(&format!("DataKey (AWS::KMS::Key) <- KeyId {key}"))
            && adopted.stdout.contains("Imported 6 resource(s)"),
        "{}",
        adopted.stdout
    );
    // The data stack is what an import concerns (moto 5.2.5 leaves a deleted
    // stack's IAM roles behind, so the other stacks are not created again here).
    assert_exit(
        &mlinfra(
            &moto,
            project,
            &["apply", "--env", "dev", "--stack", "data", "--yes"],
        ),
        0,
        "apply of the adopted data stack",
    );
    assert_eq!(
        status(&cfn, "dogbreed-dev-data").await.as_deref(),
        Some("UPDATE_COMPLETE")
    );
    assert_eq!(physical_id(&cfn, "dogbreed-dev-data", "DataKey").await, key);
    assert_eq!(
        object_text(&s3, &raw, "before/import.txt").await,
        "made before mlinfra"
    );
}
