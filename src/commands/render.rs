//! `mlinfra render`: templates to stdout, or as files under `--out`.

use crate::cli::Session;
use crate::cli::args::RenderArgs;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::render::{self, Engine};

pub fn run(session: &Session, args: &RenderArgs) -> Result<Exit> {
    let envs = session.environments(&args.selection)?;
    let engine = Engine::new(&session.project)?;
    // Everything renders before anything is written: a broken environment
    // leaves no half-written output. Only the text is kept, not the JSON tree.
    let mut rendered: Vec<(String, String, String)> = Vec::new();
    let mut trees = serde_json::Map::new();
    for env in &envs {
        for stack in render::render_env(&engine, env)? {
            if args.stack.is_some_and(|layer| stack.spec.layer != layer) {
                continue;
            }
            if args.out.is_none() {
                trees.insert(stack.spec.name.clone(), stack.template.value);
            }
            rendered.push((env.name.clone(), stack.spec.name, stack.template.text));
        }
    }
    match &args.out {
        Some(dir) => {
            for (env, stack, text) in &rendered {
                write_file(&render::engine::output_path(dir, env, stack), text)?;
            }
            session.printer.notice(&format!(
                "wrote {} templates under {}",
                rendered.len(),
                dir.display()
            ));
        }
        None if rendered.len() == 1 => session.out(&rendered[0].2)?,
        None => session.out(&crate::output::json_text(&trees))?,
    }
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
