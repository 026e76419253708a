//! The `render` command's output: a tree of files under `--out`, or stdout.

use std::path::Path;

use super::{Engine, TemplateError, render_env_text};
use crate::config::Env;
use crate::error::{Error, Result};
use crate::output::Printer;
use crate::stacks::Layer;
use crate::stacks::StackSpec;

/// Environments per thread below which a thread costs more than it saves.
const MIN_ENVS_PER_THREAD: usize = 8;

/// Environments rendered ahead of stdout when streaming: enough to keep every
/// core busy, few enough that memory does not grow with the project.
const STREAM_BATCH: usize = 64;

type EnvTemplates = Vec<(StackSpec, String)>;

/// Renders environments on every core, in order; the first failing
/// environment's error, as a sequential render would report it.
fn render_many(
    engine: &Engine,
    envs: &[Env],
    only: Option<Layer>,
) -> std::result::Result<Vec<EnvTemplates>, TemplateError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(envs.len() / MIN_ENVS_PER_THREAD).max(1);
    let render = |part: &[Env]| {
        part.iter()
            .map(|env| render_env_text(engine, env, only))
            .collect::<std::result::Result<Vec<_>, _>>()
    };
    if threads == 1 {
        return render(envs);
    }
    std::thread::scope(|scope| {
        let parts: Vec<_> = envs
            .chunks(envs.len().div_ceil(threads))
            .map(|part| scope.spawn(move || render(part)))
            .collect();
        let mut all = Vec::with_capacity(envs.len());
        for part in parts {
            all.extend(part.join().expect("a render thread panicked")?);
        }
        Ok(all)
    })
}

/// Renders `envs` (only the `only` layer when given) to files under `dir`,
/// `{dir}/{env}/{stack}.json`, or else to `out`: the template itself when it
/// is one, otherwise a JSON object of stack name → template in deploy order.
pub fn render_selected(
    engine: &Engine,
    envs: &[Env],
    only: Option<Layer>,
    dir: Option<&Path>,
    printer: &Printer,
) -> Result<()> {
    match dir {
        Some(dir) => {
            let count = write_tree(engine, envs, only, dir)?;
            printer.notice(&format!("wrote {count} templates under {}", dir.display()));
            Ok(())
        }
        None => write_stream(engine, envs, only, printer),
    }
}

/// Everything renders before anything is written: a broken environment
/// leaves no half-written tree. Only the text is kept, a few tens of
/// kilobytes per environment.
fn write_tree(engine: &Engine, envs: &[Env], only: Option<Layer>, dir: &Path) -> Result<usize> {
    let rendered = render_many(engine, envs, only)?;
    std::fs::create_dir_all(dir).map_err(write_error(dir))?;
    let mut count = 0;
    for (env, templates) in envs.iter().zip(&rendered) {
        if templates.is_empty() {
            continue;
        }
        // Each environment's folder is made once, not once per file.
        let folder = dir.join(&env.name);
        match std::fs::create_dir(&folder) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(write_error(&folder)(e)),
        }
        for (spec, text) in templates {
            let path = folder.join(format!("{}.json", spec.name));
            std::fs::write(&path, text).map_err(write_error(&path))?;
            count += 1;
            for (path, pretty) in super::readable::companions(dir, &env.name, &spec.name, text) {
                std::fs::write(&path, pretty).map_err(write_error(&path))?;
            }
        }
    }
    Ok(count)
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Write { path, source }
}

/// Streams to stdout a batch of environments at a time, so memory does not
/// grow with the number of environments. The bytes are those of
/// pretty-printing the whole map at once.
fn write_stream(
    engine: &Engine,
    envs: &[Env],
    only: Option<Layer>,
    printer: &Printer,
) -> Result<()> {
    let out = |text: &str| printer.report(text).map_err(Error::Stdout);
    let count: usize = envs
        .iter()
        .map(|env| {
            crate::stacks::stacks(env)
                .iter()
                .filter(|spec| only.is_none_or(|layer| spec.layer == layer))
                .count()
        })
        .sum();
    if count == 1 {
        let (_, text) = envs
            .iter()
            .map(|env| render_env_text(engine, env, only))
            .collect::<std::result::Result<Vec<_>, TemplateError>>()?
            .into_iter()
            .flatten()
            .next()
            .expect("one stack was counted");
        return out(&text);
    }
    if count == 0 {
        return out("{}\n");
    }
    let mut chunk = String::new();
    let mut first = true;
    for batch in envs.chunks(STREAM_BATCH) {
        for templates in render_many(engine, batch, only)? {
            chunk.clear();
            for (spec, text) in templates {
                chunk.push_str(if first { "{\n  " } else { ",\n  " });
                first = false;
                chunk.push_str(&serde_json::to_string(&spec.name).expect("a string serialises"));
                chunk.push_str(": ");
                nest(&text, &mut chunk);
            }
            out(&chunk)?;
        }
    }
    out("\n}\n")
}

/// A canonical template as a member of the top-level object: one level deeper
/// and without its final newline. Canonical strings hold no raw newline, so
/// every newline starts a line to indent.
fn nest(text: &str, out: &mut String) {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut lines = body.split('\n');
    if let Some(first) = lines.next() {
        out.push_str(first);
    }
    for line in lines {
        out.push_str("\n  ");
        out.push_str(line);
    }
}
