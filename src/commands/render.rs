//! `mlinfra render`: templates to stdout, or as files under `--out`.

use crate::cli::Session;
use crate::cli::args::RenderArgs;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::render::{self, Engine};

pub fn run(session: &Session, args: &RenderArgs) -> Result<Exit> {
    let envs = session.environments(&args.selection)?;
    let engine = Engine::new(&session.project)?;
    render::write::render_selected(
        &engine,
        &envs,
        args.stack,
        args.out.as_deref(),
        &session.printer,
    )?;
    Ok(Exit::Clean)
}

pub fn write_file(path: &std::path::Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| Error::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}
