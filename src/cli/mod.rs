//! The command line: argument types (`args`), the session every command
//! shares (`session`), and dispatch to one module per command
//! (`crate::commands`). This is the one place that turns an error into the
//! user's message and the exit code.

pub mod args;
pub mod session;
pub mod trace;

use clap::Parser;

pub use args::Cli;
pub use session::Session;

use crate::commands;
use crate::error::Result;
use crate::exit::Exit;

/// Parses the arguments, runs the command, prints the error if any; the
/// process exits with the code returned.
pub fn main() -> Exit {
    // `COMPLETE=SHELL mlinfra -- WORDS…`: the shell asks for candidates and
    // this process ends here (see `completions`).
    clap_complete::CompleteEnv::with_factory(commands::completions::command).complete();
    // clap exits 2 on a usage error, which is the "changes/findings" code here.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Error
            } else {
                Exit::Clean
            };
        }
    };
    let session = Session::from_cli(&cli);
    match trace::filter(cli.debug, std::env::var(trace::FILTER_VAR).ok().as_deref()) {
        Ok(filter) => trace::install(filter),
        Err(error) => {
            session.printer.error(&error.to_string());
            return Exit::Error;
        }
    }
    match dispatch(&session, cli.command) {
        Ok(exit) => exit,
        Err(error) => {
            if !error.is_silent() {
                session.printer.error(&error.to_string());
            }
            error.exit()
        }
    }
}

fn dispatch(session: &Session, command: args::Command) -> Result<Exit> {
    use args::Command;
    match command {
        Command::List(args) => commands::list::run(session, &args),
        Command::Validate(args) => commands::validate::run(session, &args),
        Command::Render(args) => commands::render::run(session, &args),
        Command::Cost(args) => commands::cost::run(session, &args),
        Command::Schema => commands::schema::run(session),
        Command::Completions(args) => commands::completions::run(session, &args),
        Command::Init(args) => commands::init::run(session, &args),
        Command::Check(args) => commands::check::run(session, &args),
        Command::Plan(args) => commands::plan::run(session, &args),
        Command::Apply(args) => commands::apply::run(session, &args),
        Command::Diff(args) => commands::diff::run(session, &args),
        Command::Drift(args) => commands::drift::run(session, &args),
        Command::Train(args) => commands::train::run(session, &args),
        Command::Status(args) => commands::status::run(session, &args),
        Command::Policy(args) => commands::policy::run(session, &args),
        Command::Bootstrap(args) => commands::bootstrap::run(session, &args),
        Command::Pipeline(args) => commands::pipeline::run(session, &args),
        Command::Destroy(args) => commands::destroy::run(session, &args),
        Command::Import(args) => commands::import::run(session, &args),
        Command::Prices(args) => commands::prices::run(session, &args),
        Command::Traffic(args) => commands::traffic::run(session, &args),
    }
}
