//! What every command shares, resolved once from the global flags before any
//! command runs: the project and the printer.

use crate::config::{self, Env};
use crate::error::{Error, Result};
use crate::output::{Printer, Verbosity};
use crate::project::Project;
use crate::render::{self, Engine, RenderedStack};

use super::args::{Cli, Selection};

pub struct Session {
    pub project: Project,
    pub printer: Printer,
}

impl Session {
    pub fn from_cli(cli: &Cli) -> Self {
        let verbosity = match (cli.quiet, cli.verbose) {
            (true, _) => Verbosity::Quiet,
            (_, true) => Verbosity::Verbose,
            _ => Verbosity::Normal,
        };
        let printer = Printer::new(verbosity, cli.color);
        crate::output::install(printer.clone());
        let project = if cli.example {
            Project::Example
        } else {
            Project::Dir(cli.project.clone())
        };
        printer.detail(&format!("project: {}", project.label()));
        Self { project, printer }
    }

    /// Writes a report's text to stdout.
    pub fn out(&self, text: &str) -> Result<()> {
        self.printer.report(text).map_err(Error::Stdout)
    }

    /// The environments a command works on, all validated before anything
    /// else happens; every error of every environment is reported at once.
    pub fn environments(&self, selection: &Selection) -> Result<Vec<Env>> {
        let names = match (&selection.env, selection.all) {
            (Some(name), _) => vec![name.clone()],
            (None, true) => config::deployable_environments(&self.project)?,
            (None, false) => return Err(Error::Usage("choose --env NAME or --all".into())),
        };
        self.load(names)
    }

    pub fn all_environments(&self) -> Result<Vec<Env>> {
        self.load(config::deployable_environments(&self.project)?)
    }

    fn load(&self, names: Vec<String>) -> Result<Vec<Env>> {
        let mut envs = Vec::new();
        let mut errors = Vec::new();
        for name in names {
            match config::load_env(&self.project, &name) {
                Ok(env) => envs.push(env),
                Err(e) => errors.extend(e.0),
            }
        }
        if errors.is_empty() {
            Ok(envs)
        } else {
            Err(config::ConfigErrors(errors).into())
        }
    }

    /// One environment, loaded, validated and rendered: all of it before any
    /// AWS call.
    pub fn prepare(&self, name: &str) -> Result<(Env, Vec<RenderedStack>)> {
        let env = self
            .load(vec![name.to_string()])?
            .pop()
            .expect("one environment loaded");
        let rendered = render::render_env(&Engine::new(&self.project)?, &env)?;
        Ok((env, rendered))
    }
}

/// Only commands that talk to AWS start an async runtime; one thread is
/// enough for a handful of concurrent calls.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))
}
