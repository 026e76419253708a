//! `mlinfra render`: templates to stdout, or as files under `--out`.

use std::path::Path;

use crate::cli::Session;
use crate::cli::args::RenderArgs;
use crate::config::Env;
use crate::error::Result;
use crate::exit::Exit;
use crate::render::{self, Engine};

pub fn run(session: &Session, args: &RenderArgs) -> Result<Exit> {
    let envs = session.environments(&args.selection)?;
    let engine = Engine::new(&session.project)?;
    if let Some(dir) = &args.check {
        return check(session, &engine, &envs, args, dir);
    }
    render::write::render_selected(
        &engine,
        &envs,
        args.stack,
        args.out.as_deref(),
        &session.printer,
    )?;
    crate::exit::leave_to_exit(envs);
    Ok(Exit::Clean)
}

/// `render --check DIR`, as `cargo fmt --check`: which committed templates
/// differ from what the configuration renders now.
fn check(
    session: &Session,
    engine: &Engine,
    envs: &[Env],
    args: &RenderArgs,
    dir: &Path,
) -> Result<Exit> {
    let mut stale = Vec::new();
    let mut checked = 0;
    for env in envs {
        for (spec, text) in render::render_env_text(engine, env, args.stack)? {
            let path = render::engine::output_path(dir, &env.name, &spec.name);
            let readable = render::readable::companions(dir, &env.name, &spec.name, &text);
            for (path, text) in std::iter::once((path, text)).chain(readable) {
                checked += 1;
                match std::fs::read_to_string(&path) {
                    Ok(committed) if committed == text => {}
                    Ok(_) => stale.push(format!("{}: out of date", path.display())),
                    Err(_) => stale.push(format!("{}: missing", path.display())),
                }
            }
        }
    }
    if stale.is_empty() {
        session.printer.notice(&format!(
            "{checked} files under {} are up to date",
            dir.display()
        ));
        return Ok(Exit::Clean);
    }
    let mut text: String = stale.iter().map(|line| format!("{line}\n")).collect();
    text.push_str(&format!(
        "{} of {checked} files differ; update them with `mlinfra render {} --out {}`\n",
        stale.len(),
        if args.selection.all {
            "--all".to_string()
        } else {
            format!(
                "--env {}",
                args.selection.env.as_deref().unwrap_or_default()
            )
        },
        dir.display()
    ));
    session.out(&text)?;
    Ok(Exit::Changes)
}
