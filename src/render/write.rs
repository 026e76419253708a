//! The `render` command's output: a tree of files under `--out`, or one JSON
//! object on stdout, each written an environment at a time as environments
//! are rendered, so that memory does not grow with the project.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};
use crate::stacks::StackSpec;

/// Renames below which a second thread costs more than it saves.
const MANY_RENAMES: usize = 64;

/// An environment's rendered files: each template and its readable
/// companions, under `{dir}/{env}/`.
pub struct EnvFiles {
    pub env: String,
    pub files: Vec<(PathBuf, String)>,
    pub templates: usize,
}

impl EnvFiles {
    /// `{dir}/{env}/{stack}.json` for each template, and beside it each
    /// pipeline definition as a readable companion.
    pub fn new(dir: &Path, env: &str, templates: Vec<(StackSpec, String)>) -> Self {
        let count = templates.len();
        let mut files = Vec::with_capacity(count + 1);
        for (spec, text) in templates {
            let readable = super::readable::companions(dir, env, &spec.name, &text);
            files.push((super::engine::output_path(dir, env, &spec.name), text));
            files.extend(readable);
        }
        Self {
            env: env.to_string(),
            files,
            templates: count,
        }
    }
}

/// A tree of templates written in two steps: each file to a temporary file
/// beside its target as its environment is rendered (on whichever thread
/// rendered it), then, once every environment has rendered and every file
/// is written, each renamed into place. Abandoning it before the renames
/// removes the temporary files and the folders it made, and leaves the tree
/// as it was; a reader never sees a half-written template. Nothing is
/// written through a symbolic link (the folder, an environment's folder, or
/// a template).
pub struct Tree {
    dir: PathBuf,
    /// (temporary file, target), as written.
    staged: Mutex<Vec<(PathBuf, PathBuf)>>,
    /// Folders this tree created, outermost first.
    made: Mutex<Vec<PathBuf>>,
    templates: AtomicUsize,
}

impl Tree {
    /// Creates `dir` and the folders above it that are missing, remembering
    /// which, so that abandoning the tree removes them again.
    pub fn new(dir: &Path) -> Result<Self> {
        refuse_link(dir)?;
        let mut missing = Vec::new();
        let mut at = Some(dir);
        while let Some(folder) = at.filter(|f| !f.as_os_str().is_empty() && !f.exists()) {
            missing.push(folder.to_path_buf());
            at = folder.parent();
        }
        std::fs::create_dir_all(dir).map_err(write_error(dir))?;
        missing.reverse();
        Ok(Self {
            dir: dir.to_path_buf(),
            staged: Mutex::new(Vec::new()),
            made: Mutex::new(missing),
            templates: AtomicUsize::new(0),
        })
    }

    /// Writes an environment's files to their temporary files.
    pub fn stage(&self, env: EnvFiles) -> Result<()> {
        if env.files.is_empty() {
            return Ok(());
        }
        // Each environment's folder is made once, not once per file.
        let folder = self.dir.join(&env.env);
        refuse_link(&folder)?;
        // A folder made just now holds no link; one that was there is
        // checked for links to the files about to be replaced.
        let fresh = match std::fs::create_dir(&folder) {
            Ok(()) => {
                lock(&self.made).push(folder.clone());
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(write_error(&folder)(e)),
        };
        for (path, content) in env.files {
            if !fresh {
                refuse_link(&path)?;
            }
            let name = path.file_name().expect("a file name").to_string_lossy();
            let temporary = folder.join(format!(".{name}.{}.tmp", std::process::id()));
            // Recorded before it is written: abandoning removes a file
            // that a failed write left half made.
            lock(&self.staged).push((temporary.clone(), path));
            std::fs::write(&temporary, content).map_err(write_error(&temporary))?;
        }
        self.templates.fetch_add(env.templates, Ordering::Relaxed);
        Ok(())
    }

    /// Renames every staged file into place; the number of templates
    /// (readable companions are not counted).
    pub fn commit(self) -> Result<usize> {
        let staged = self
            .staged
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let rename_all = |part: &[(PathBuf, PathBuf)]| -> Result<()> {
            part.iter().try_for_each(|(temporary, path)| {
                std::fs::rename(temporary, path).map_err(write_error(path))
            })
        };
        // Renames are independent of each other: for a large tree, half go
        // on another thread.
        if staged.len() < MANY_RENAMES {
            rename_all(&staged)?;
        } else {
            let (first, second) = staged.split_at(staged.len() / 2);
            std::thread::scope(|scope| {
                let other = scope.spawn(|| rename_all(second));
                let mine = rename_all(first);
                let theirs = other.join().expect("a rename thread panicked");
                mine.and(theirs)
            })?;
        }
        Ok(self.templates.into_inner())
    }

    /// Removes the temporary files and the folders this tree made.
    pub fn abandon(self) {
        for (temporary, _) in lock(&self.staged).iter() {
            let _ = std::fs::remove_file(temporary);
        }
        for folder in lock(&self.made).iter().rev() {
            let _ = std::fs::remove_dir(folder);
        }
    }
}

/// A lock whose holder cannot have left the list half changed.
fn lock<T>(list: &Mutex<Vec<T>>) -> std::sync::MutexGuard<'_, Vec<T>> {
    list.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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

/// Several templates on stdout as one JSON object, stack name → template in
/// deploy order, written a member at a time: the bytes are those of
/// pretty-printing the whole map at once.
#[derive(Default)]
pub struct JsonObject {
    members: usize,
}

impl JsonObject {
    /// The members of `templates`, appended to `out`.
    pub fn members(&mut self, templates: &[(StackSpec, String)], out: &mut String) {
        for (spec, text) in templates {
            out.push_str(if self.members == 0 { "{\n  " } else { ",\n  " });
            self.members += 1;
            out.push_str(&serde_json::to_string(&spec.name).expect("a string serialises"));
            out.push_str(": ");
            nest(text, out);
        }
    }

    /// What closes the object (or is the whole of an empty one).
    pub fn end(&self) -> &'static str {
        if self.members == 0 { "{}\n" } else { "\n}\n" }
    }
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
