//! Training code: a project's source directory read and packaged
//! (`package.rs`), cached per directory so that environments sharing one
//! directory package it once.

pub mod package;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

pub use package::{Package, SourceEntry};

use sha2::Digest;

use crate::project::{EXAMPLE_SOURCES, Project};

/// Directories no package carries: interpreter caches differ between machines.
const SKIPPED_DIRS: &[&str] = &["__pycache__", ".git"];
/// Nested directories deeper than this are almost certainly a link loop.
const MAX_DEPTH: usize = 32;

/// Packages of source directories, each built once per command.
#[derive(Debug)]
pub struct Packager<'p> {
    project: &'p Project,
    built: BTreeMap<String, Result<Package, String>>,
}

impl<'p> Packager<'p> {
    pub fn new(project: &'p Project) -> Self {
        Self {
            project,
            built: BTreeMap::new(),
        }
    }

    /// The package of `dir` (relative to the project), or why there is none.
    pub fn package(&mut self, dir: &str) -> Result<&Package, &str> {
        let project = self.project;
        self.built
            .entry(dir.to_string())
            .or_insert_with(|| {
                read_source(project, dir)
                    .and_then(|entries| package::package(entries).map_err(|e| e.to_string()))
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

/// A project-relative directory: no `..`, not absolute.
pub fn relative_dir_problem(dir: &str) -> Option<&'static str> {
    let path = Path::new(dir);
    if dir.is_empty() || path.is_absolute() {
        return Some("must be a directory relative to the project");
    }
    if path
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Some("must stay inside the project (no `..`)");
    }
    None
}

/// Every file under `dir`, by its path inside the package.
pub fn read_source(project: &Project, dir: &str) -> Result<Vec<SourceEntry>, String> {
    let trimmed = dir.trim_end_matches('/');
    match project {
        Project::Example => {
            let prefix = format!("{trimmed}/");
            let entries: Vec<SourceEntry> = EXAMPLE_SOURCES
                .iter()
                .filter_map(|(path, bytes)| {
                    path.strip_prefix(&prefix).map(|rest| SourceEntry {
                        path: rest.to_string(),
                        bytes: bytes.to_vec(),
                    })
                })
                .collect();
            if entries.is_empty() {
                return Err(format!(
                    "the built-in example project has no directory {dir:?}"
                ));
            }
            Ok(entries)
        }
        Project::Dir(root) => {
            let folder = root.join(trimmed);
            if !folder.is_dir() {
                return Err(format!("{} is not a directory", folder.display()));
            }
            let mut entries = Vec::new();
            walk(&folder, "", 0, &mut entries)?;
            if entries.is_empty() {
                return Err(format!("{} holds no files", folder.display()));
            }
            Ok(entries)
        }
    }
}

fn walk(
    folder: &Path,
    inside: &str,
    depth: usize,
    out: &mut Vec<SourceEntry>,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "{} is nested more than {MAX_DEPTH} directories deep (a link loop?)",
            folder.display()
        ));
    }
    let unreadable =
        |path: &Path, e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let listing = std::fs::read_dir(folder).map_err(|e| unreadable(folder, e))?;
    for item in listing {
        let item = item.map_err(|e| unreadable(folder, e))?;
        let path = item.path();
        let Some(name) = item.file_name().to_str().map(str::to_string) else {
            return Err(format!("{} is not a UTF-8 file name", path.display()));
        };
        // Follows links: the package holds what the link points at.
        let meta = std::fs::metadata(&path).map_err(|e| unreadable(&path, e))?;
        let relative = if inside.is_empty() {
            name.clone()
        } else {
            format!("{inside}/{name}")
        };
        if meta.is_dir() {
            if !SKIPPED_DIRS.contains(&name.as_str()) {
                walk(&path, &relative, depth + 1, out)?;
            }
        } else if meta.is_file() {
            if !name.ends_with(".pyc") {
                let bytes = std::fs::read(&path).map_err(|e| unreadable(&path, e))?;
                out.push(SourceEntry {
                    path: relative,
                    bytes,
                });
            }
        } else {
            return Err(format!(
                "{} is not a regular file or directory",
                path.display()
            ));
        }
    }
    Ok(())
}

/// A package `apply` puts in place for a job.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub job: String,
    pub bucket: String,
    pub key: String,
    pub sha256: String,
    pub bytes: std::sync::Arc<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("training job {job}: cannot package {dir:?}: {problem}")]
    Unreadable {
        job: String,
        dir: String,
        problem: String,
    },
    #[error(
        "training job {job}: {dir:?} changed while mlinfra ran (package {found}, validated {expected}); run again"
    )]
    Changed {
        job: String,
        dir: String,
        expected: String,
        found: String,
    },
    #[error(
        "training job {job}: the reviewed package {path:?} is missing or unreadable ({problem}); \
         keep the folder `plan --out` wrote beside the plan file"
    )]
    NotKept {
        job: String,
        path: PathBuf,
        problem: String,
    },
    #[error(
        "training job {job}: {path:?} is not the reviewed package (SHA-256 {found}, reviewed {expected})"
    )]
    NotReviewed {
        job: String,
        path: PathBuf,
        expected: String,
        found: String,
    },
}

/// The packages of an environment's jobs: the ones validation built, or,
/// for an environment read back from a plan file, rebuilt from the project
/// and checked against the hashes the rendered definitions name.
pub fn uploads(project: &Project, env: &crate::config::Env) -> Result<Vec<Upload>, UploadError> {
    use crate::config::training::CodeSource;
    let mut packager = Packager::new(project);
    let mut uploads = Vec::new();
    for job in &env.training {
        let Some(CodeSource::Package {
            dir,
            sha256,
            location,
            built,
        }) = job.code.as_ref().map(|c| &c.source)
        else {
            continue;
        };
        if let Some(bytes) = &built.0 {
            uploads.push(Upload {
                job: job.name.clone(),
                bucket: location.bucket.clone(),
                key: location.key.clone(),
                sha256: sha256.clone(),
                bytes: std::sync::Arc::clone(bytes),
            });
            continue;
        }
        let package = packager
            .package(dir)
            .map_err(|problem| UploadError::Unreadable {
                job: job.name.clone(),
                dir: dir.clone(),
                problem: problem.to_string(),
            })?;
        if &package.sha256 != sha256 {
            return Err(UploadError::Changed {
                job: job.name.clone(),
                dir: dir.clone(),
                expected: sha256.clone(),
                found: package.sha256.clone(),
            });
        }
        uploads.push(Upload {
            job: job.name.clone(),
            bucket: location.bucket.clone(),
            key: location.key.clone(),
            sha256: sha256.clone(),
            bytes: std::sync::Arc::clone(&package.bytes),
        });
    }
    Ok(uploads)
}

/// Where `plan --out FILE` keeps the packages of the reviewed jobs, so that
/// `apply --plan FILE` can upload them without a project checkout:
/// `FILE.code/{sha256}.tar.gz`.
pub fn kept_beside(plan: &Path) -> PathBuf {
    let mut name = plan.as_os_str().to_owned();
    name.push(".code");
    PathBuf::from(name)
}

/// Writes the packages beside the plan file (nothing when there are none).
pub fn keep_beside(plan: &Path, uploads: &[Upload]) -> std::io::Result<()> {
    if uploads.is_empty() {
        return Ok(());
    }
    let dir = kept_beside(plan);
    std::fs::create_dir_all(&dir)?;
    for upload in uploads {
        std::fs::write(
            dir.join(format!("{}.tar.gz", upload.sha256)),
            &*upload.bytes,
        )?;
    }
    Ok(())
}

/// The packages kept beside a plan file, each checked against the hash the
/// reviewed definitions name: a package edited after review is refused.
pub fn kept_uploads(plan: &Path, env: &crate::config::Env) -> Result<Vec<Upload>, UploadError> {
    use crate::config::training::CodeSource;
    let dir = kept_beside(plan);
    let mut uploads = Vec::new();
    for job in &env.training {
        let Some(CodeSource::Package {
            sha256, location, ..
        }) = job.code.as_ref().map(|c| &c.source)
        else {
            continue;
        };
        let path = dir.join(format!("{sha256}.tar.gz"));
        let bytes = std::fs::read(&path).map_err(|e| UploadError::NotKept {
            job: job.name.clone(),
            path: path.clone(),
            problem: e.to_string(),
        })?;
        let found = package::hex(&sha2::Sha256::digest(&bytes));
        if &found != sha256 {
            return Err(UploadError::NotReviewed {
                job: job.name.clone(),
                path,
                expected: sha256.clone(),
                found,
            });
        }
        uploads.push(Upload {
            job: job.name.clone(),
            bucket: location.bucket.clone(),
            key: location.key.clone(),
            sha256: sha256.clone(),
            bytes: std::sync::Arc::new(bytes),
        });
    }
    Ok(uploads)
}
