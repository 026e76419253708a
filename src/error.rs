//! The library's error type. `main` is the one place that turns an error into
//! the user's message and exit code ([`Error::exit`]).

use std::path::PathBuf;

use crate::apply::ApplyError;
use crate::cloud::AwsError;
use crate::cloud::guard::GuardError;
use crate::config::ConfigErrors;
use crate::exit::Exit;
use crate::ops::OpsError;
use crate::plan::PlanError;
use crate::render::TemplateError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("{path}: cannot write: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Writing a report to stdout failed; a closed pipe ends the command quietly.
    #[error("cannot write to standard output: {0}")]
    Stdout(std::io::Error),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Guard(#[from] GuardError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Ops(#[from] OpsError),
    #[error(transparent)]
    Traffic(#[from] crate::ops::traffic::TrafficError),
    #[error(transparent)]
    Code(#[from] crate::code::UploadError),
    #[error(transparent)]
    Fleet(#[from] crate::fleet::FleetError),
    #[error(transparent)]
    Destroy(#[from] crate::destroy::DestroyError),
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    #[error(transparent)]
    Prices(#[from] crate::cost::table::PriceError),
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::Guard(e) if e.is_refusal() => Exit::Blocked,
            Error::Apply(e) if e.is_refusal() => Exit::Blocked,
            Error::Destroy(e) if e.is_refusal() => Exit::Blocked,
            Error::Stdout(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Clean,
            _ => Exit::Error,
        }
    }

    /// Whether the user should see this error: not for a reader that went away.
    pub fn is_silent(&self) -> bool {
        matches!(self, Error::Stdout(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

impl From<crate::render::write::WriteError> for Error {
    fn from(error: crate::render::write::WriteError) -> Self {
        Error::Write {
            path: error.path,
            source: error.source,
        }
    }
}

impl From<crate::output::PrintError> for Error {
    fn from(error: crate::output::PrintError) -> Self {
        match error {
            crate::output::PrintError::Stdout(e) => Error::Stdout(e),
            other => Error::Usage(other.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
