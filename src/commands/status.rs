//! `mlinfra status`: stacks and endpoints at a glance.

use crate::cli::Session;
use crate::cli::args::StatusArgs;
use crate::cli::session::runtime;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::ops;

pub fn run(session: &Session, args: &StatusArgs) -> Result<Exit> {
    let (env, _) = session.prepare(&args.env)?;
    let report = runtime()?.block_on(async {
        let clients = session.connect(&env, &args.aws).await?;
        Ok::<_, Error>(ops::status::collect(&clients, &env).await?)
    })?;
    Ok(session.printer.print(&report, args.format)?)
}
