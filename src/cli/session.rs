//! What every command shares, resolved once from the global flags before any
//! command runs: the project and the printer.

use crate::config::each::{Chosen, Stop, Weight};
use crate::config::{self, Env};
use crate::error::{Error, Result};
use crate::output::{Printer, Verbosity};
use crate::project::Project;
use crate::render::{self, Engine, RenderedStack};
use crate::report::comment::{Comment, Context};

use super::args::{AwsArgs, Cli, Selection};
use crate::cloud;

pub struct Session {
    pub project: Project,
    pub printer: Printer,
    /// `--profile`: the named AWS profile every client starts from.
    pub profile: Option<String>,
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
        Self {
            project,
            printer,
            profile: cli.profile.clone(),
        }
    }

    /// Writes a report's text to stdout.
    pub fn out(&self, text: &str) -> Result<()> {
        self.printer.report(text).map_err(Error::Stdout)
    }

    /// The environments a command works on, all validated before anything
    /// else happens; every error of every environment is reported at once.
    pub fn environments(&self, selection: &Selection) -> Result<Vec<Env>> {
        // One loader: files shared by several environments are parsed once.
        let mut loader = config::Loader::new(&self.project);
        let names = match chosen(selection)? {
            Chosen::One(name) => vec![name.to_string()],
            Chosen::Deployable => loader.deployable()?,
        };
        Ok(loader.envs(&names)?)
    }

    /// The chosen environments, each validated and given to `work` on a
    /// worker thread, and `work`'s results given to `consume` a batch at a
    /// time in name order: memory holds a batch, not the project.
    /// Configuration errors of every environment come first (see `config::each`).
    pub fn each_environment<T: Send>(
        &self,
        selection: &Selection,
        weight: Weight,
        work: impl Fn(&Env) -> Result<T> + Sync,
        consume: impl FnMut(Vec<T>) -> Result<()>,
    ) -> Result<()> {
        config::each::each_env(&self.project, chosen(selection)?, weight, work, consume).map_err(
            |stop| match stop {
                Stop::Config(errors) => Error::Config(errors),
                Stop::Work(error) => error,
            },
        )
    }

    pub fn all_environments(&self) -> Result<Vec<Env>> {
        let mut loader = config::Loader::new(&self.project);
        let names = loader.deployable()?;
        Ok(loader.envs(&names)?)
    }

    fn load(&self, names: Vec<String>) -> Result<Vec<Env>> {
        Ok(config::Loader::new(&self.project).envs(&names)?)
    }

    /// A report framed as a pull-request comment (marker, size cap, footer)
    /// when printed as Markdown.
    pub fn comment<R>(
        &self,
        report: R,
        kind: &'static str,
        scope: &str,
        again: String,
    ) -> Comment<R> {
        let dir = match &self.project {
            Project::Dir(dir) => Some(dir.as_path()),
            Project::Example => None,
        };
        Comment {
            report,
            kind,
            scope: scope.to_string(),
            context: Context::detect(dir),
            again,
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

impl Session {
    /// How this run reaches AWS: the global `--profile` and a command's `--endpoint-url`.
    pub fn connection(&self, aws: &AwsArgs) -> cloud::Connection {
        cloud::Connection {
            profile: self.profile.clone(),
            endpoint_url: aws.endpoint_url.clone(),
        }
    }

    /// Every client of `env`, after the account guard.
    pub async fn connect(&self, env: &Env, aws: &AwsArgs) -> Result<cloud::Clients> {
        Ok(cloud::connect(env, &self.connection(aws)).await?)
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

/// Which environments `--env NAME` or `--all` chose.
fn chosen(selection: &Selection) -> Result<Chosen<'_>> {
    match (&selection.env, selection.all) {
        (Some(name), _) => Ok(Chosen::One(name)),
        (None, true) => Ok(Chosen::Deployable),
        (None, false) => Err(Error::Usage("choose --env NAME or --all".into())),
    }
}
