//! `mlinfra pipeline --deploy` against moto's server: the delivery stack is
//! created through a change set, then this very binary is uploaded to its
//! artifact bucket, zipped as the S3 source action takes it, with its
//! SHA-256 in the object's metadata and in a `.sha256` object beside it.

use sha2::{Digest, Sha256};

use super::support::{Calls, moto_cfn, moto_clients};
use crate::common::moto::Moto;
use crate::common::{mlinfra_bin, repo_root};

const ARGS: &[&str] = &[
    "pipeline",
    "--connection-arn",
    "arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-4e5f-6789-abcd-ef0123456789",
    "--repository",
    "acme/dogbreed",
    "--environments",
    "dev,staging,prod",
    "--region=us-east-1",
    "--deploy",
];

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The one stored entry of the zip: its name and bytes.
fn unzip(zip: &[u8]) -> (String, Vec<u8>) {
    assert_eq!(&zip[..4], b"PK\x03\x04");
    let u16_at = |i: usize| usize::from(u16::from_le_bytes([zip[i], zip[i + 1]]));
    let size = u32::from_le_bytes(zip[22..26].try_into().unwrap()) as usize;
    let (name_len, extra_len) = (u16_at(26), u16_at(28));
    assert_eq!(u16_at(8), 0, "stored");
    let start = 30 + name_len + extra_len;
    (
        String::from_utf8(zip[30..30 + name_len].to_vec()).unwrap(),
        zip[start..start + size].to_vec(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_deploy_creates_the_stack_and_uploads_this_binary_with_its_checksum() {
    let moto = Moto::start();
    let sha = hex(&std::fs::read(mlinfra_bin()).unwrap());

    let unconfirmed = moto.cli(&repo_root()).args(ARGS).run();
    assert_eq!(unconfirmed.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&unconfirmed.stderr).contains("needs --yes"),
        "{}",
        String::from_utf8_lossy(&unconfirmed.stderr)
    );

    let deployed = moto.cli(&repo_root()).args(ARGS).args(["--yes"]).run();
    let stdout = String::from_utf8_lossy(&deployed.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&deployed.stderr).into_owned();
    assert_eq!(deployed.status.code(), Some(0), "{stderr}");
    // The change set's plan is shown before it runs.
    assert!(stdout.contains("dogbreed-delivery: to create"), "{stdout}");
    assert!(
        stdout.contains("+ Pipeline AWS::CodePipeline::Pipeline"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("ToolsSha256 = {sha}")), "{stdout}");

    let cfn = moto_cfn(&moto).await;
    let stack = cfn
        .describe_stacks()
        .stack_name("dogbreed-delivery")
        .send()
        .await
        .unwrap();
    let stack = &stack.stacks()[0];
    assert_eq!(stack.stack_status().unwrap().as_str(), "CREATE_COMPLETE");
    let output = |key: &str| {
        stack
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value())
            .unwrap()
            .to_string()
    };
    let bucket = output("ArtifactBucketName");

    // What the pipeline reads is what was uploaded: the Tools action's key,
    // and the checksum every build verifies.
    let template: serde_json::Value = serde_json::from_str(
        cfn.get_template()
            .stack_name("dogbreed-delivery")
            .send()
            .await
            .unwrap()
            .template_body()
            .unwrap(),
    )
    .unwrap();
    let source = &template["Resources"]["Pipeline"]["Properties"]["Stages"][0]["Actions"][1];
    assert_eq!(source["Name"], "Tools");
    let key = source["Configuration"]["S3ObjectKey"].as_str().unwrap();
    assert_eq!(key, format!("mlinfra/{sha}/tools.zip"));
    assert!(
        stdout.contains(&format!("Tools = s3://{bucket}/{key}")),
        "{stdout}"
    );
    for project in ["PlanProject", "ApplyProject"] {
        let properties = &template["Resources"][project]["Properties"];
        assert_eq!(
            properties["Environment"]["EnvironmentVariables"][0],
            serde_json::json!({"Name": "MLINFRA_SHA256", "Type": "PLAINTEXT", "Value": sha})
        );
        let spec = properties["Source"]["BuildSpec"].as_str().unwrap();
        assert!(
            spec.contains(
                r#"echo "${MLINFRA_SHA256}  ${CODEBUILD_SRC_DIR_tools}/mlinfra" | sha256sum -c -"#
            ),
            "{spec}"
        );
    }

    let clients = moto_clients(&moto, &Calls::default()).await;
    let object = clients
        .s3
        .get_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .expect("the binary is uploaded");
    assert_eq!(object.metadata().and_then(|m| m.get("sha256")), Some(&sha));
    assert_eq!(
        object.server_side_encryption().map(|s| s.as_str()),
        Some("aws:kms")
    );
    let zip = object.body.collect().await.unwrap().into_bytes();
    let (name, binary) = unzip(&zip);
    assert_eq!(name, "mlinfra");
    assert_eq!(hex(&binary), sha, "the zipped binary is this binary");
    let checksum = clients
        .s3
        .get_object()
        .bucket(&bucket)
        .key(format!("{key}.sha256"))
        .send()
        .await
        .unwrap();
    let text = checksum.body.collect().await.unwrap().into_bytes();
    assert_eq!(String::from_utf8_lossy(&text), format!("{sha}  mlinfra\n"));

    // Again: the stack is up to date and the binary is not uploaded twice.
    let again = moto.cli(&repo_root()).args(ARGS).args(["--yes"]).run();
    let stderr = String::from_utf8_lossy(&again.stderr).into_owned();
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("dogbreed-delivery: up to date"), "{stderr}");
    assert!(
        stderr.contains("this mlinfra binary is already there"),
        "{stderr}"
    );
}
