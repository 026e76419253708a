//! Reaching an environment's account through its roles, against moto's
//! server: the deploy role is assumed through STS for every call (moto's STS
//! answers GetCallerIdentity with the assumed role and its session name), and
//! the CloudFormation service role goes with every change set (moto keeps it
//! as the stack's RoleARN).

use super::support::{moto_cfn, project_with};
use crate::common::moto::Moto;

const DEPLOY_ROLE: &str = "arn:aws:iam::123456789012:role/dogbreed-dev-deploy";
const CFN_ROLE: &str = "arn:aws:iam::123456789012:role/dogbreed-dev-cloudformation";

fn with_roles(extra: &str) -> tempfile::TempDir {
    project_with("", |base| {
        base.replace(
            "[env]\n",
            &format!(
                "[env]\ndeploy_role_arn = \"{DEPLOY_ROLE}\"\ncloudformation_role_arn = \"{CFN_ROLE}\"\n{extra}"
            ),
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_goes_through_the_deploy_role_and_change_sets_carry_the_service_role() {
    let moto = Moto::start();
    let project = with_roles("deploy_role_external_id = \"pipeline-7f3a\"\n");
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    let output = moto
        .cli(project.path())
        .args(["--verbose", "plan", "--env", "dev", "--out"])
        .args([&plan_path])
        .run();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "assuming deploy role {DEPLOY_ROLE} as session mlinfra-dev"
        )),
        "{stderr}"
    );
    // STS itself says who the calls were made as: the role, in a session
    // named after the tool and the environment.
    assert!(
        stderr.contains(
            "AWS: account 123456789012 in us-east-1 as arn:aws:sts::123456789012:assumed-role/dogbreed-dev-deploy/mlinfra-dev"
        ),
        "{stderr}"
    );

    let applied = moto
        .cli(project.path())
        .args(["apply", "--env", "dev", "--plan"])
        .args([&plan_path])
        .run();
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let cfn = moto_cfn(&moto).await;
    for stack in ["dogbreed-dev-data", "dogbreed-dev-serving"] {
        let described = cfn
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .unwrap();
        let found = &described.stacks()[0];
        assert_eq!(
            found.stack_status().map(|s| s.as_str()),
            Some("CREATE_COMPLETE")
        );
        assert_eq!(found.role_arn(), Some(CFN_ROLE), "{stack}");
    }
}

#[test]
fn a_role_of_another_account_or_an_external_id_alone_is_a_configuration_error() {
    let moto = Moto::start();
    let elsewhere = project_with("", |base| {
        base.replace(
            "[env]\n",
            "[env]\ndeploy_role_arn = \"arn:aws:iam::999999999999:role/deploy\"\n",
        )
    });
    let output = moto
        .cli(elsewhere.path())
        .args(["validate", "--env", "dev"])
        .run();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("environments/base.toml:")
            && stderr.contains("env.deploy_role_arn")
            && stderr.contains(
                "is in account \"999999999999\", but the environment is account 123456789012"
            ),
        "{stderr}"
    );
    let lonely = project_with("", |base| {
        base.replace("[env]\n", "[env]\ndeploy_role_external_id = \"x1\"\n")
    });
    let output = moto
        .cli(lonely.path())
        .args(["validate", "--env", "dev"])
        .run();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("env.deploy_role_external_id") && stderr.contains("set that too"),
        "{stderr}"
    );
}

#[test]
fn the_profile_flag_selects_the_named_profile() {
    let moto = Moto::start();
    // A named profile whose keys are moto's, and a default profile that
    // does not exist: only --profile can make the call succeed.
    let home = tempfile::tempdir().unwrap();
    let credentials = home.path().join("credentials");
    std::fs::write(
        &credentials,
        "[delivery]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let run = |profile: Option<&str>| {
        let mut cli = moto
            .cli(&crate::common::repo_root())
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap());
        if let Some(p) = profile {
            cli = cli.args(["--profile", p]);
        }
        cli.args(["--verbose", "status", "--env", "dev"]).run()
    };
    let without = run(None);
    assert_eq!(
        without.status.code(),
        Some(1),
        "no default credentials: {}",
        String::from_utf8_lossy(&without.stderr)
    );
    let with = run(Some("delivery"));
    let stderr = String::from_utf8_lossy(&with.stderr).into_owned();
    assert_eq!(with.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("(profile delivery)"), "{stderr}");
}

/// The bootstrap stack deploys on the emulator and the environment then
/// deploys through its two roles. moto enforces no IAM policy, so this shows
/// the roles exist, carry the generated policies and are used; that the
/// execution policy covers every rendered type is the unit test's part
/// (`delivery::policy`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_creates_both_roles_and_the_environment_deploys_through_them() {
    let moto = Moto::start();
    let printed = moto
        .cli(&crate::common::repo_root())
        .args(["bootstrap", "--env", "dev"])
        .run();
    assert_eq!(printed.status.code(), Some(0));
    let template: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(
        template["Resources"]["CloudFormationRole"]["Properties"]["RoleName"],
        "dogbreed-dev-cloudformation"
    );

    let deployed = moto
        .cli(&crate::common::repo_root())
        .args(["bootstrap", "--env", "dev", "--deploy"])
        .run();
    let stdout = String::from_utf8_lossy(&deployed.stdout).into_owned();
    assert_eq!(
        deployed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&deployed.stderr)
    );
    assert!(
        stdout.contains("DeployRoleArn = arn:aws:iam::123456789012:role/dogbreed-dev-deploy"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "CloudFormationRoleArn = arn:aws:iam::123456789012:role/dogbreed-dev-cloudformation"
        ),
        "{stdout}"
    );
    let iam = aws_sdk_iam::Client::new(&moto.sdk_loader("us-east-1").load().await);
    let policy = iam
        .get_role_policy()
        .role_name("dogbreed-dev-cloudformation")
        .policy_name("mlinfra")
        .send()
        .await
        .expect("the execution role carries the generated policy");
    let document = percent_encoding::percent_decode_str(policy.policy_document())
        .decode_utf8()
        .unwrap()
        .into_owned();
    assert!(document.contains("sagemaker:CreateEndpoint"), "{document}");
    assert!(!document.contains("AdministratorAccess"));

    // Again: nothing to change.
    let again = moto
        .cli(&crate::common::repo_root())
        .args(["bootstrap", "--env", "dev", "--deploy"])
        .run();
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stderr).contains("up to date"));

    let project = with_roles("");
    let applied = moto
        .cli(project.path())
        .args(["apply", "--env", "dev", "--yes"])
        .run();
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let cfn = moto_cfn(&moto).await;
    let serving = cfn
        .describe_stacks()
        .stack_name("dogbreed-dev-serving")
        .send()
        .await
        .unwrap();
    assert_eq!(serving.stacks()[0].role_arn(), Some(CFN_ROLE));
}
