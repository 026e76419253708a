//! `mlinfra completions SHELL`: a shell completion script.

use crate::cli::Session;
use crate::cli::args::{Cli, CompletionsArgs};
use crate::error::Result;
use crate::exit::Exit;

pub fn run(session: &Session, args: &CompletionsArgs) -> Result<Exit> {
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "mlinfra", &mut script);
    session.out(&String::from_utf8_lossy(&script))?;
    Ok(Exit::Clean)
}
