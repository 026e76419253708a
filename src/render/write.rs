//! The `render` command's output: a tree of files under `--out`, or one JSON
//! object on stdout, each written an environment at a time as environments
//! are rendered, so that memory does not grow with the project.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::stacks::StackSpec;

/// A file or folder of the tree that could not be written (the program's
/// `Error::Write`).
#[derive(Debug)]
pub struct WriteError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

type Result<T> = std::result::Result<T, WriteError>;

/// Renames below which a second thread costs more than it saves.
const MANY_RENAMES: usize = 64;

/// An environment's rendered files, all under `{dir}/{env}/`: each template
/// and its readable companions (`render_env_files`).
pub struct EnvFiles {
    pub env: String,
    pub files: Vec<(PathBuf, String)>,
    pub templates: usize,
}

/// A tree of templates written in two steps: each environment's files under
/// temporary names as it is rendered (on whichever thread rendered it),
/// then, once every environment has rendered and every file is written, put
/// in place by renames. An environment folder that is not there yet is
/// written whole under a temporary name and renamed in one step; into one
/// that is there, each file is written beside its target and renamed over
/// it. Abandoning the tree before the renames removes everything it wrote
/// and the folders it made, and leaves the tree as it was; a reader never
/// sees a half-written template. Nothing is written through a symbolic link
/// (the folder, an environment's folder, or a template).
pub struct Tree {
    dir: PathBuf,
    staged: Mutex<Vec<Staged>>,
    /// Folders above the environments' that this tree created, outermost first.
    made: Vec<PathBuf>,
    templates: AtomicUsize,
}

/// What `commit` renames into place.
enum Staged {
    /// A file written beside its target in an environment folder that was there.
    File { temporary: PathBuf, target: PathBuf },
    /// A new environment folder, written whole under a temporary name.
    Folder { temporary: PathBuf, target: PathBuf },
}

impl Staged {
    fn rename(&self) -> Result<()> {
        let (Staged::File { temporary, target } | Staged::Folder { temporary, target }) = self;
        std::fs::rename(temporary, target).map_err(write_error(target))
    }

    fn remove(&self) {
        match self {
            Staged::File { temporary, .. } => {
                let _ = std::fs::remove_file(temporary);
            }
            // Made by this tree, under a name of its own: it holds only
            // what this tree wrote (and removing it follows no link).
            Staged::Folder { temporary, .. } => {
                let _ = std::fs::remove_dir_all(temporary);
            }
        }
    }
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
            made: missing,
            templates: AtomicUsize::new(0),
        })
    }

    /// Writes an environment's files under their temporary names.
    pub fn stage(&self, env: EnvFiles) -> Result<()> {
        if env.files.is_empty() {
            return Ok(());
        }
        let folder = self.dir.join(&env.env);
        let fresh = match std::fs::symlink_metadata(&folder) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(link_error(&folder)),
            Ok(_) => false,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => return Err(write_error(&folder)(e)),
        };
        let pid = std::process::id();
        if fresh {
            let temporary = self.dir.join(format!(".{}.{pid}.tmp", env.env));
            std::fs::create_dir(&temporary).map_err(write_error(&temporary))?;
            // Recorded before anything is written into it: abandoning
            // removes a folder that a failed write left half filled.
            lock(&self.staged).push(Staged::Folder {
                temporary: temporary.clone(),
                target: folder,
            });
            for (path, content) in env.files {
                let file = temporary.join(path.file_name().expect("a file name"));
                std::fs::write(&file, content).map_err(write_error(&file))?;
            }
        } else {
            for (path, content) in env.files {
                refuse_link(&path)?;
                let name = path.file_name().expect("a file name").to_string_lossy();
                let temporary = folder.join(format!(".{name}.{pid}.tmp"));
                // Recorded before it is written: abandoning removes a file
                // that a failed write left half made.
                lock(&self.staged).push(Staged::File {
                    temporary: temporary.clone(),
                    target: path,
                });
                std::fs::write(&temporary, content).map_err(write_error(&temporary))?;
            }
        }
        self.templates.fetch_add(env.templates, Ordering::Relaxed);
        Ok(())
    }

    /// Renames everything staged into place; the number of templates
    /// (readable companions are not counted).
    pub fn commit(self) -> Result<usize> {
        let staged = self
            .staged
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let rename_all = |part: &[Staged]| part.iter().try_for_each(Staged::rename);
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

    /// Removes what this tree wrote and the folders it made.
    pub fn abandon(self) {
        lock(&self.staged).iter().for_each(Staged::remove);
        for folder in self.made.iter().rev() {
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
        Ok(meta) if meta.file_type().is_symlink() => Err(link_error(path)),
        _ => Ok(()),
    }
}

fn link_error(path: &Path) -> WriteError {
    write_error(path)(std::io::Error::other(
        "is a symbolic link; render --out does not write through links",
    ))
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError {
    let path = path.to_path_buf();
    move |source| WriteError { path, source }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path, env: &str, names: &[&str]) -> EnvFiles {
        EnvFiles {
            env: env.to_string(),
            files: names
                .iter()
                .map(|n| (dir.join(env).join(n), format!("{env}/{n}")))
                .collect(),
            templates: names.len(),
        }
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A new environment folder appears whole, in one rename; in a folder
    /// that was there, each file replaces its target and nothing else moves.
    #[test]
    fn a_new_folder_appears_whole_and_an_old_one_keeps_its_other_files() {
        let out = tempfile::tempdir().unwrap();
        let dir = out.path().join("rendered");
        std::fs::create_dir_all(dir.join("old")).unwrap();
        std::fs::write(dir.join("old/a.json"), "stale").unwrap();
        std::fs::write(dir.join("old/kept.json"), "kept").unwrap();

        let tree = Tree::new(&dir).unwrap();
        tree.stage(files(&dir, "new", &["a.json", "b.json"]))
            .unwrap();
        tree.stage(files(&dir, "old", &["a.json"])).unwrap();
        assert!(
            !dir.join("new").exists(),
            "nothing is in place before the commit"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("old/a.json")).unwrap(),
            "stale"
        );
        assert_eq!(tree.commit().unwrap(), 3);

        assert_eq!(listing(&dir), ["new", "old"], "no temporary name is left");
        assert_eq!(listing(&dir.join("new")), ["a.json", "b.json"]);
        assert_eq!(listing(&dir.join("old")), ["a.json", "kept.json"]);
        assert_eq!(
            std::fs::read_to_string(dir.join("new/b.json")).unwrap(),
            "new/b.json"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("old/a.json")).unwrap(),
            "old/a.json"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("old/kept.json")).unwrap(),
            "kept"
        );
    }

    /// Abandoned, the tree is as it was: staged folders and files are gone,
    /// and so are the folders it made above them.
    #[test]
    fn an_abandoned_tree_leaves_nothing_behind() {
        let out = tempfile::tempdir().unwrap();
        std::fs::create_dir(out.path().join("old")).unwrap();
        let dir = out.path().to_path_buf();
        let deeper = out.path().join("made/here");
        for (root, env) in [(&dir, "old"), (&dir, "new"), (&deeper, "new")] {
            let tree = Tree::new(root).unwrap();
            tree.stage(files(root, env, &["a.json"])).unwrap();
            tree.abandon();
        }
        assert_eq!(listing(out.path()), ["old"]);
        assert!(listing(&out.path().join("old")).is_empty());
    }
}
