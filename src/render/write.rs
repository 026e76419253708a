//! The `render` command's output: a tree of files under `--out`, or stdout.

use std::path::{Path, PathBuf};

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

/// Everything renders before anything is written, and the files are
/// written in two steps: each to a temporary file beside its target, then,
/// once every one is written, each renamed into place. A failure before
/// the renames removes the temporary files and leaves the tree as it was;
/// a reader never sees a half-written template. Nothing is written through
/// a symbolic link (the folder, an environment's folder, or a template).
fn write_tree(engine: &Engine, envs: &[Env], only: Option<Layer>, dir: &Path) -> Result<usize> {
    let rendered = render_many(engine, envs, only)?;
    refuse_link(dir)?;
    std::fs::create_dir_all(dir).map_err(write_error(dir))?;
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut made: Vec<PathBuf> = Vec::new();
    let staging = stage(envs, &rendered, dir, &mut staged, &mut made);
    if let Err(error) = staging {
        for (temporary, _) in &staged {
            let _ = std::fs::remove_file(temporary);
        }
        for folder in &made {
            let _ = std::fs::remove_dir(folder);
        }
        return Err(error);
    }
    for (temporary, path) in &staged {
        std::fs::rename(temporary, path).map_err(write_error(path))?;
    }
    // Pipeline definitions written beside their templates are not counted.
    Ok(rendered.iter().map(|templates| templates.len()).sum())
}

/// Writes every template to its temporary file, recording each as it goes.
fn stage(
    envs: &[Env],
    rendered: &[EnvTemplates],
    dir: &Path,
    staged: &mut Vec<(PathBuf, PathBuf)>,
    made: &mut Vec<PathBuf>,
) -> Result<()> {
    for (env, templates) in envs.iter().zip(rendered) {
        if templates.is_empty() {
            continue;
        }
        // Each environment's folder is made once, not once per file.
        let folder = dir.join(&env.name);
        refuse_link(&folder)?;
        match std::fs::create_dir(&folder) {
            Ok(()) => made.push(folder.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(write_error(&folder)(e)),
        }
        for (spec, text) in templates {
            let path = folder.join(format!("{}.json", spec.name));
            let mut files = vec![(path, text.clone())];
            files.extend(super::readable::companions(
                dir, &env.name, &spec.name, text,
            ));
            for (path, content) in files {
                refuse_link(&path)?;
                let name = path.file_name().expect("a file name").to_string_lossy();
                let temporary = folder.join(format!(".{name}.{}.tmp", std::process::id()));
                std::fs::write(&temporary, content).map_err(write_error(&temporary))?;
                staged.push((temporary, path));
            }
        }
    }
    Ok(())
}

fn refuse_link(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(write_error(path)(std::io::Error::other(
            "is a symbolic link; render --out does not write through links",
        ))),
        _ => Ok(()),
    }
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
