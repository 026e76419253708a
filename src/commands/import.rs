//! `mlinfra import`: the plan of which logical id adopts which existing
//! resource, consent, then the IMPORT change set executed.

use std::io::{BufRead, IsTerminal};

use crate::apply::progress::Progress;
use crate::cli::Session;
use crate::cli::args::ImportArgs;
use crate::cli::session::runtime;
use crate::error::Result;
use crate::exit::Exit;
use crate::import::{self, ImportError};
use crate::output::Format;

pub fn run(session: &Session, args: &ImportArgs) -> Result<Exit> {
    let given = args
        .resource
        .iter()
        .map(|r| import::parse_resource(r))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let (env, rendered) = session.prepare(&args.env)?;
    let printer = &session.printer;
    runtime()?.block_on(async {
        let clients = session.connect(&env, &args.aws).await?;
        let mut plan = import::plan(&clients, &env, &rendered, &given).await?;
        if plan.resources.is_empty() {
            printer.print(&plan, args.format)?;
            return Ok(Exit::Clean);
        }
        // JSON readers get one document: the plan, or the outcome.
        if args.format == Format::Human {
            printer.print(&plan, args.format)?;
        }
        if !args.yes {
            if !std::io::stdin().is_terminal() {
                return Err(ImportError::NeedsYes.into());
            }
            printer.prompt(&format!(
                "Import these resources into {}? Only 'yes' is accepted: ",
                plan.stack
            ));
            let mut answer = String::new();
            if std::io::stdin().lock().read_line(&mut answer).is_err() || answer.trim() != "yes" {
                return Err(ImportError::Declined.into());
            }
        }
        import::execute(&clients, &env, &plan, &Progress::for_printer(printer)).await?;
        plan.done = true;
        Ok(printer.print(&plan, args.format)?)
    })
}
