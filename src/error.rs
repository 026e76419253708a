//! The library's error type and the exit-code contract. `main` is the one
//! place that turns an error into the user's message and exit code.

use std::path::PathBuf;

use crate::apply::ApplyError;
use crate::cloud::guard::GuardError;
use crate::config::ConfigErrors;
use crate::ops::OpsError;
use crate::plan::PlanError;
use crate::render::TemplateError;

/// Exit codes are a contract for CI, like `terraform plan -detailed-exitcode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success, nothing to change.
    Clean = 0,
    /// An error: bad input, AWS failure, failed deploy.
    Error = 1,
    /// `plan`: changes present; `drift`/`check`: drift or findings.
    Changes = 2,
    /// A safety guard refused to go on.
    Blocked = 3,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

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
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Guard(#[from] GuardError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Ops(#[from] OpsError),
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::Guard(e) if e.is_refusal() => Exit::Blocked,
            Error::Apply(e) if e.is_refusal() => Exit::Blocked,
            _ => Exit::Error,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
