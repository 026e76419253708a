//! `mlinfra schema`: the JSON Schema of environment files, for editors.

use crate::cli::Session;
use crate::error::Result;
use crate::exit::Exit;

pub fn run(session: &Session) -> Result<Exit> {
    let schema = schemars::schema_for!(crate::config::raw::RawConfig);
    session.out(&crate::output::json_text(&schema))?;
    Ok(Exit::Clean)
}
