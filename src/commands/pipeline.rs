//! `mlinfra pipeline`: renders the delivery stack of the project.

use sha2::{Digest, Sha256};

use crate::cli::Session;
use crate::cli::args::PipelineArgs;
use crate::delivery::pipeline::{self, Delivery, Source};
use crate::error::{Error, Result};
use crate::exit::Exit;

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
    let sha256 = match &args.binary_sha256 {
        Some(sha) => sha.clone(),
        None => this_binary_sha256()?,
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
    session.out(&pipeline::template(&delivery).text)?;
    Ok(Exit::Clean)
}

/// The builds run the binary that rendered their pipeline.
fn this_binary_sha256() -> Result<String> {
    let path = std::env::current_exe()
        .map_err(|e| Error::Usage(format!("cannot find this mlinfra binary: {e}")))?;
    let bytes = std::fs::read(&path)
        .map_err(|e| Error::Usage(format!("{}: cannot read this binary: {e}", path.display())))?;
    Ok(Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
