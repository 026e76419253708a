//! `mlinfra check`: offline rules over the rendered templates.

use crate::check;
use crate::cli::Session;
use crate::cli::args::CheckArgs;
use crate::error::Result;
use crate::exit::Exit;
use crate::output::{Printer, Report};

impl Report for check::Report {
    fn kind(&self) -> &'static str {
        "check report"
    }

    fn exit(&self) -> Exit {
        check::Report::exit(self)
    }

    fn human(&self, _: &Printer) -> String {
        check::Report::human(self)
    }

    fn json(&self) -> String {
        check::Report::json(self)
    }

    fn sarif(&self) -> Option<String> {
        // SARIF 2.1.0, for code-scanning annotations.
        Some(check::sarif::render(self))
    }
}

pub fn run(session: &Session, args: &CheckArgs) -> Result<Exit> {
    let report = match &args.templates {
        Some(dir) => check::check_tree(
            &session.project,
            dir,
            args.selection.env.as_deref(),
            args.fail_on,
        )?,
        None => {
            let envs = session.environments(&args.selection)?;
            check::check_envs(&session.project, &envs, args.fail_on)?
        }
    };
    Ok(session.printer.print(&report, args.format)?)
}
