//! `mlinfra render`: templates to stdout, or as files under `--out`.

use std::path::Path;

use crate::cli::Session;
use crate::cli::args::RenderArgs;
use crate::config::Env;
use crate::config::each::Weight;
use crate::error::Result;
use crate::exit::Exit;
use crate::render::write::{JsonObject, Tree};
use crate::render::{self, Engine};

pub fn run(session: &Session, args: &RenderArgs) -> Result<Exit> {
    let engine = Engine::new(&session.project)?;
    if let Some(dir) = &args.check {
        return check(session, &engine, args, dir);
    }
    match &args.out {
        Some(dir) => to_tree(session, &engine, args, dir)?,
        None => to_stdout(session, &engine, args)?,
    }
    Ok(Exit::Clean)
}

/// `render --out DIR`: each environment's files staged as it renders, all
/// renamed into place once every environment has validated and rendered.
fn to_tree(session: &Session, engine: &Engine, args: &RenderArgs, dir: &Path) -> Result<()> {
    let tree = Tree::new(dir)?;
    // Each environment's files are written by the thread that rendered it.
    let rendered = session.each_environment(
        &args.selection,
        Weight::Render,
        |env| Ok(tree.stage(render::render_env_files(engine, env, args.stack, dir)?)?),
        |_| Ok(()),
    );
    if let Err(error) = rendered {
        tree.abandon();
        return Err(error);
    }
    let count = tree.commit()?;
    session
        .printer
        .notice(&format!("wrote {count} templates under {}", dir.display()));
    Ok(())
}

/// `render` to stdout: the template itself when there is one, otherwise a
/// JSON object of stack name → template in deploy order. Every environment
/// is validated before the first byte is written, then each is rendered
/// and written in turn.
fn to_stdout(session: &Session, engine: &Engine, args: &RenderArgs) -> Result<()> {
    let selected = |env: &Env| {
        crate::stacks::stacks(env)
            .iter()
            .filter(|spec| args.stack.is_none_or(|layer| spec.layer == layer))
            .count()
    };
    let mut count = 0;
    session.each_environment(
        &args.selection,
        Weight::Validate,
        |env| Ok(selected(env)),
        |batch| {
            count += batch.iter().sum::<usize>();
            Ok(())
        },
    )?;
    let mut object = JsonObject::default();
    let mut chunk = String::new();
    session.each_environment(
        &args.selection,
        Weight::Render,
        |env| Ok(render::render_env_text(engine, env, args.stack)?),
        |batch| {
            chunk.clear();
            for templates in batch {
                match templates.as_slice() {
                    [(_, text)] if count == 1 => chunk.push_str(text),
                    _ => object.members(&templates, &mut chunk),
                }
            }
            session.out(&chunk)
        },
    )?;
    if count == 1 {
        return Ok(());
    }
    session.out(object.end())
}

/// `render --check DIR`, as `cargo fmt --check`: which committed templates
/// differ from what the configuration renders now.
fn check(session: &Session, engine: &Engine, args: &RenderArgs, dir: &Path) -> Result<Exit> {
    let mut stale = Vec::new();
    let mut checked = 0;
    // The files `render --out` would write, each compared with the one there.
    session.each_environment(
        &args.selection,
        Weight::Render,
        |env| {
            let files = render::render_env_files(engine, env, args.stack, dir)?.files;
            let differ = files
                .iter()
                .filter_map(|(path, text)| match std::fs::read_to_string(path) {
                    Ok(committed) if committed == *text => None,
                    Ok(_) => Some(format!("{}: out of date", path.display())),
                    Err(_) => Some(format!("{}: missing", path.display())),
                })
                .collect::<Vec<_>>();
            Ok((files.len(), differ))
        },
        |batch| {
            for (count, differ) in batch {
                checked += count;
                stale.extend(differ);
            }
            Ok(())
        },
    )?;
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
