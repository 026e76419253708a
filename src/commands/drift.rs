//! `mlinfra drift`: CloudFormation drift detection plus deep checks.

use crate::cli::Session;
use crate::cli::args::DriftArgs;
use crate::cli::session::runtime;
use crate::drift::{self, Verdict};
use crate::error::{Error, Result};
use crate::exit::Exit;

pub fn run(session: &Session, args: &DriftArgs) -> Result<Exit> {
    let (env, rendered) = session.prepare(&args.env)?;
    let poll = drift::detection_poll(args.detection_timeout);
    let report = runtime()?.block_on(async {
        let clients = session.connect(&env, &args.aws).await?;
        let _waiting = session
            .printer
            .spinner(&format!("checking {} for drift", env.name));
        let mut report = drift::run(&clients, &env, &rendered, &poll).await;
        if let Some(fleet) = &env.fleet {
            let sets = clients.stacksets.clone().with_poll(poll);
            report.fleet = Some(crate::fleet::drift(&sets, &env, fleet).await?);
        }
        Ok::<_, Error>(report)
    })?;
    let again = format!("mlinfra drift --env {} --format markdown", args.env);
    let comment = session.comment(report, "drift", &args.env, again);
    let exit = session.printer.print(&comment, args.format)?;
    if comment.report.verdict() == Verdict::Incomplete {
        session
            .printer
            .error("some drift checks could not be made; the report lists them");
    }
    Ok(exit)
}
