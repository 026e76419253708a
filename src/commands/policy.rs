//! `mlinfra policy`: the IAM policy plan, apply, drift, train and status need
//! for one environment, or CloudFormation's execution role's policy.

use crate::cli::Session;
use crate::cli::args::{PolicyArgs, PolicyRole};
use crate::delivery::policy;
use crate::error::{Error, Result};
use crate::exit::Exit;

pub fn run(session: &Session, args: &PolicyArgs) -> Result<Exit> {
    let (env, rendered) = session.prepare(&args.env)?;
    let document = match args.role {
        PolicyRole::Deploy => policy::deploy_policy(&env, &rendered),
        PolicyRole::Cloudformation => policy::execution_policy(&env, &rendered),
    }
    .map_err(|e| Error::Usage(e.to_string()))?;
    let mut text = serde_json::to_string_pretty(&document).expect("a policy serialises");
    text.push('\n');
    session.out(&text)?;
    Ok(Exit::Clean)
}
