//! Where an environment's files come from: a project directory on disk, or the
//! example project built into the binary (so rendering works out of the box).

use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest environment file accepted; real ones are a few kilobytes.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

const EXAMPLE_ENVIRONMENTS: &[(&str, &str)] = &[
    ("base", include_str!("../environments/base.toml")),
    ("dev", include_str!("../environments/dev.toml")),
    ("staging", include_str!("../environments/staging.toml")),
    ("prod", include_str!("../environments/prod.toml")),
];

/// The example's training code, by its path in the project.
pub const EXAMPLE_SOURCES: &[(&str, &[u8])] = &[(
    "training/dogbreed/train.py",
    include_bytes!("../training/dogbreed/train.py"),
)];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Project {
    /// A directory holding `environments/*.toml` and optionally `templates/`.
    Dir(PathBuf),
    /// The dog-breed example shipped inside the binary.
    Example,
}

/// One environment file's text and the path shown to the user in errors.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub display_path: PathBuf,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: environment `{name}` not found{near} (known: {known})")]
    NotFound {
        path: PathBuf,
        name: String,
        /// `; did you mean `prod`?` when one is close.
        near: String,
        known: String,
    },
    #[error("{path}: cannot read: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: file is {size} bytes; environment files are limited to {limit} bytes")]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error(
        "{path}: not a regular file (a directory, device, pipe or socket); environment files are plain files"
    )]
    NotAFile { path: PathBuf },
    #[error("{path}: symbolic link to a file that does not exist")]
    DanglingLink { path: PathBuf },
    #[error("{path}:{line}:{column}: file is not valid UTF-8 (byte offset {offset})")]
    NotUtf8 {
        path: PathBuf,
        line: usize,
        column: usize,
        offset: usize,
    },
}

impl Project {
    pub fn label(&self) -> String {
        match self {
            Project::Dir(dir) => dir.display().to_string(),
            Project::Example => "built-in example project".to_string(),
        }
    }

    fn env_path(&self, name: &str) -> PathBuf {
        let relative = Path::new("environments").join(format!("{name}.toml"));
        match self {
            Project::Dir(dir) if dir != Path::new(".") => dir.join(relative),
            _ => relative,
        }
    }

    /// Whether there is a project here at all: the example always is, a
    /// directory when it holds `environments/`. `apply --plan` runs from the
    /// plan file alone where there is none.
    pub fn is_present(&self) -> bool {
        match self {
            Project::Example => true,
            Project::Dir(dir) => dir.join("environments").is_dir(),
        }
    }

    /// Names of all environment files, sorted.
    pub fn environment_names(&self) -> Result<Vec<String>, SourceError> {
        match self {
            Project::Example => {
                let mut names: Vec<String> = EXAMPLE_ENVIRONMENTS
                    .iter()
                    .map(|(n, _)| n.to_string())
                    .collect();
                names.sort();
                Ok(names)
            }
            Project::Dir(dir) => {
                let folder = dir.join("environments");
                let entries =
                    std::fs::read_dir(&folder).map_err(|source| SourceError::Unreadable {
                        path: folder.clone(),
                        source,
                    })?;
                let mut names = Vec::new();
                for entry in entries {
                    let entry = entry.map_err(|source| SourceError::Unreadable {
                        path: folder.clone(),
                        source,
                    })?;
                    let path = entry.path();
                    if path.extension().is_some_and(|e| e == "toml")
                        && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                    {
                        names.push(stem.to_string());
                    }
                }
                names.sort();
                Ok(names)
            }
        }
    }

    /// Reads `environments/{name}.toml`, refusing oversized or non-UTF-8 files.
    pub fn read_environment(&self, name: &str) -> Result<SourceFile, SourceError> {
        let display_path = self.env_path(name);
        let names = || self.environment_names().unwrap_or_default();
        let near =
            || crate::config::suggest::did_you_mean(name, names().iter().map(String::as_str));
        let known = || names().join(", ");
        let text = match self {
            Project::Example => EXAMPLE_ENVIRONMENTS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, text)| text.to_string())
                .ok_or_else(|| SourceError::NotFound {
                    path: display_path.clone(),
                    name: name.to_string(),
                    near: near(),
                    known: known(),
                })?,
            Project::Dir(_) => {
                read_text_file(&display_path)?.ok_or_else(|| SourceError::NotFound {
                    path: display_path.clone(),
                    name: name.to_string(),
                    near: near(),
                    known: known(),
                })?
            }
        };
        Ok(SourceFile { display_path, text })
    }

    /// A project's own `templates/{name}` when present, overriding the built-in one.
    pub fn template_override(&self, file_name: &str) -> Result<Option<SourceFile>, SourceError> {
        let Project::Dir(dir) = self else {
            return Ok(None);
        };
        let path = dir.join("templates").join(file_name);
        Ok(read_text_file(&path)?.map(|text| SourceFile {
            display_path: path,
            text,
        }))
    }
}

/// Reads a project file as UTF-8 text, `None` when it does not exist. Refuses
/// what is not a plain file (a pipe would block forever, a device never ends),
/// dangling links, and anything over the size limit, read with a bound since a
/// file may grow between the size check and the read.
fn read_text_file(path: &Path) -> Result<Option<String>, SourceError> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        // `metadata` follows links: a link whose target is gone is not a missing file.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::fs::symlink_metadata(path).is_ok() {
                return Err(SourceError::DanglingLink {
                    path: path.to_path_buf(),
                });
            }
            return Ok(None);
        }
        Err(source) => {
            return Err(SourceError::Unreadable {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if !meta.is_file() {
        return Err(SourceError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let too_large = |size| SourceError::TooLarge {
        path: path.to_path_buf(),
        size,
        limit: MAX_CONFIG_BYTES,
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_large(meta.len()));
    }
    // Sized from the metadata: one read instead of a doubling series starting
    // at 32 bytes (`Take` hides the file's size from `read_to_end`).
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|source| SourceError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    decode_utf8(path, bytes).map(Some)
}

fn decode_utf8(path: &Path, bytes: Vec<u8>) -> Result<String, SourceError> {
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let (line, column) = line_column(e.as_bytes(), offset);
        SourceError::NotUtf8 {
            path: path.to_path_buf(),
            line,
            column,
            offset,
        }
    })
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}
