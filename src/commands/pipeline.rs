//! `mlinfra pipeline`: renders the delivery stack of the project; with
//! `--deploy`, deploys it and uploads this binary for its builds.

use std::io::IsTerminal;

use sha2::{Digest, Sha256};

use crate::cli::Session;
use crate::cli::args::PipelineArgs;
use crate::cli::session::runtime;
use crate::cloud::s3;
use crate::delivery::pipeline::{self, Delivery, Source};
use crate::delivery::tools;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::standalone::{self, Standalone};

pub fn run(session: &Session, args: &PipelineArgs) -> Result<Exit> {
    let envs = match &args.environments {
        Some(names) => {
            let mut loader = crate::config::Loader::new(&session.project);
            loader.envs(names)?
        }
        // Unprotected environments first: they are where a change is tried.
        None => {
            let mut envs = session.all_environments()?;
            envs.sort_by_key(|e| e.termination_protection);
            envs
        }
    };
    let first = envs
        .first()
        .ok_or_else(|| Error::Usage("no deployable environment to deliver".into()))?;
    let projects: Vec<&str> = envs.iter().map(|e| e.project.as_str()).collect();
    if projects.iter().any(|p| *p != first.project) {
        return Err(Error::Usage(format!(
            "one pipeline delivers one project; these environments belong to {}",
            projects.join(", ")
        )));
    }
    // The pipeline's own region: the flag, else the caller's setting (here
    // AWS_REGION is only a default), else the first environment's.
    let region = args
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
        .unwrap_or_else(|| first.region.clone());
    if args.deploy && !tools::runs_in_builds(std::env::consts::OS, std::env::consts::ARCH) {
        return Err(Error::Usage(format!(
            "pipeline --deploy uploads this mlinfra binary for the pipeline's builds, which run on \
             Linux x86_64 (CodeBuild's amazonlinux-x86_64 image), but this one is built for {}/{}: \
             run `mlinfra pipeline --deploy` with the Linux x86_64 build (scripts/publish-binary.sh builds it)",
            std::env::consts::OS,
            std::env::consts::ARCH
        )));
    }
    if args.deploy && !args.yes && !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "pipeline --deploy needs --yes when standard input is not a terminal (as in CI)".into(),
        ));
    }
    let (binary, sha256) = match &args.binary_sha256 {
        Some(sha) => (None, sha.clone()),
        None => {
            let bytes = this_binary()?;
            let sha = hex_sha256(&bytes);
            (Some(bytes), sha)
        }
    };
    if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::Usage(format!(
            "--binary-sha256 {sha256:?}: expected 64 hexadecimal digits"
        )));
    }
    let delivery = Delivery {
        project: &first.project,
        account_id: &first.access.delivery_account_id,
        region: &region,
        source: Source {
            connection_arn: args.connection_arn.clone(),
            repository: args.repository.clone(),
            branch: args.branch.clone(),
        },
        environments: &envs,
        binary_sha256: &sha256,
    };
    session.printer.detail(&format!(
        "{}: {} in {region}",
        pipeline::stack_name(&first.project),
        envs.iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
            .join(" → ")
    ));
    let template = pipeline::template(&delivery);
    let Some(binary) = binary.filter(|_| args.deploy) else {
        session.out(&template.text)?;
        return Ok(Exit::Clean);
    };
    // The delivery account, with the caller's own credentials: the stack
    // holds the roles builds use, so none of them can deploy it.
    let mut account = first.clone();
    account.name = pipeline::stack_name(&first.project);
    account.account_id = first.access.delivery_account_id.clone();
    account.region = region.clone();
    account.access.deploy_role_arn = None;
    account.access.external_id = None;
    let stack = Standalone {
        stack: pipeline::stack_name(&first.project),
        template: template.text.clone(),
        description: format!("mlinfra delivery of {}", first.project),
        tags: [
            ("mlinfra:project".to_string(), first.project.clone()),
            ("mlinfra:stack".to_string(), "delivery".to_string()),
        ]
        .into(),
    };
    let printer = &session.printer;
    runtime()?.block_on(async {
        let clients = session.connect(&account, &args.aws).await?;
        standalone::deploy(&clients.cfn, &stack, printer, |changes| {
            args.yes
                || crate::apply::ask(
                    printer,
                    &format!(
                        "Deploy {} to account {} in {region}? Only 'yes' is accepted: ",
                        changes.stack, account.account_id
                    ),
                )
        })
        .await?;
        let outputs = clients
            .cfn
            .describe_stack(&stack.stack)
            .await?
            .map(|s| s.outputs)
            .unwrap_or_default();
        let output = |key: &str| {
            outputs
                .iter()
                .find(|o| o.key == key)
                .map(|o| o.value.clone())
                .ok_or_else(|| Error::Usage(format!("{}: no output {key}", stack.stack)))
        };
        let (bucket, kms_key) = (output("ArtifactBucketName")?, output("ArtifactKeyArn")?);
        let zip_key = tools::zip_key(&sha256);
        let uploaded = s3::put_object_once(
            &clients.s3,
            &s3::Object {
                bucket: &bucket,
                key: &zip_key,
                kms_key: &kms_key,
                content_type: "application/zip",
                metadata: &[("sha256", &sha256)],
            },
            &tools::zip(&binary),
        )
        .await?;
        s3::put_object_once(
            &clients.s3,
            &s3::Object {
                bucket: &bucket,
                key: &tools::checksum_key(&sha256),
                kms_key: &kms_key,
                content_type: "text/plain",
                metadata: &[("sha256", &sha256)],
            },
            tools::checksum_text(&sha256).as_bytes(),
        )
        .await?;
        printer.notice(&format!(
            "s3://{bucket}/{zip_key}: {}",
            if uploaded {
                "uploaded this mlinfra binary"
            } else {
                "this mlinfra binary is already there"
            }
        ));
        let mut text = String::new();
        for o in &outputs {
            text.push_str(&format!("{} = {}\n", o.key, o.value));
        }
        text.push_str(&format!(
            "Tools = s3://{bucket}/{zip_key}\nToolsSha256 = {sha256}\n"
        ));
        session.out(&text)?;
        Ok(Exit::Clean)
    })
}

/// The builds run the binary that rendered their pipeline.
fn this_binary() -> Result<Vec<u8>> {
    let path = std::env::current_exe()
        .map_err(|e| Error::Usage(format!("cannot find this mlinfra binary: {e}")))?;
    std::fs::read(&path)
        .map_err(|e| Error::Usage(format!("{}: cannot read this binary: {e}", path.display())))
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
