//! Environments loaded, validated and handed on one at a time, on every
//! core, a batch at a time: a command over a thousand environments holds a
//! batch of them, not the project. Every environment is still validated
//! before the caller's work goes further than the batch it is in, and every
//! configuration error of every environment is reported together.

use super::error::{ConfigError, ConfigErrors};
use super::{Env, Loader};
use crate::project::Project;

/// Environments per batch: enough to keep every core busy, few enough that
/// memory does not grow with the project.
const BATCH: usize = 64;

/// How much work each environment is, which decides how many threads pay:
/// a thread starts with its own loader, so it parses the shared bases and
/// builds the code packages again.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// Validation alone: a thread pays only for hundreds of environments.
    Validate,
    /// Validation and rendering.
    Render,
}

impl Weight {
    /// Environments per thread below which a thread costs more than it saves.
    fn min_per_thread(self) -> usize {
        match self {
            Weight::Validate => 256,
            Weight::Render => 8,
        }
    }
}

/// Which environments: one by name (an abstract base is refused), or every
/// deployable one (abstract bases are passed over).
pub enum Chosen<'a> {
    One(&'a str),
    Deployable,
}

/// Why a pass over the environments stopped.
#[derive(Debug)]
pub enum Stop<E> {
    /// The configuration errors of every environment, each once.
    Config(ConfigErrors),
    /// The first error of the caller's own work, or of `consume`.
    Work(E),
}

/// What one environment came to on its thread.
enum Outcome<T, E> {
    Abstract,
    Invalid(ConfigErrors),
    Done(Result<T, E>),
}

/// Loads and validates the chosen environments, runs `work` on each valid
/// one on a worker thread, and gives `consume` each batch's results in name
/// order. Once any environment is invalid or any work fails, `work` and
/// `consume` are no longer called: the rest are only validated, so that
/// every configuration error is reported together, before any other.
pub fn each_env<T, E>(
    project: &Project,
    chosen: Chosen<'_>,
    weight: Weight,
    work: impl Fn(&Env) -> Result<T, E> + Sync,
    mut consume: impl FnMut(Vec<T>) -> Result<(), E>,
) -> Result<(), Stop<E>>
where
    T: Send,
    E: Send,
{
    let names = match chosen {
        Chosen::One(name) => vec![name.to_string()],
        Chosen::Deployable => project.environment_names().map_err(|e| {
            Stop::Config(ConfigErrors::one(ConfigError::without_position(
                e.to_string(),
            )))
        })?,
    };
    let skip_abstract = matches!(chosen, Chosen::Deployable);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(names.len() / weight.min_per_thread()).max(1);
    // One loader per thread, kept from batch to batch: a shared base is
    // parsed once per thread, and each package built once per thread.
    let mut loaders: Vec<Loader<'_>> = (0..threads).map(|_| Loader::new(project)).collect();
    let mut errors: Vec<ConfigError> = Vec::new();
    let mut failed: Option<E> = None;
    for batch in names.chunks(BATCH) {
        let valid_so_far = errors.is_empty() && failed.is_none();
        let one = |loader: &mut Loader<'_>, name: &String| -> Outcome<T, E> {
            if skip_abstract && loader.is_abstract(name) {
                return Outcome::Abstract;
            }
            let loaded = loader.env(name);
            loader.forget(name);
            match loaded {
                Err(invalid) => Outcome::Invalid(invalid),
                Ok(_) if !valid_so_far => Outcome::Abstract,
                Ok(env) => Outcome::Done(work(&env)),
            }
        };
        let outcomes: Vec<Outcome<T, E>> = if threads == 1 {
            batch
                .iter()
                .map(|name| one(&mut loaders[0], name))
                .collect()
        } else {
            let part = batch.len().div_ceil(threads);
            std::thread::scope(|scope| {
                let running: Vec<_> = loaders
                    .iter_mut()
                    .zip(batch.chunks(part))
                    .map(|(loader, names)| {
                        let one = &one;
                        scope
                            .spawn(move || names.iter().map(|n| one(loader, n)).collect::<Vec<_>>())
                    })
                    .collect();
                running
                    .into_iter()
                    .flat_map(|thread| thread.join().expect("a validation thread panicked"))
                    .collect()
            })
        };
        let mut results = Vec::with_capacity(outcomes.len());
        for outcome in outcomes {
            match outcome {
                Outcome::Abstract => {}
                // A mistake in a shared base is one mistake, however many
                // environments extend it.
                Outcome::Invalid(invalid) => {
                    for error in invalid.0 {
                        if !errors.contains(&error) {
                            errors.push(error);
                        }
                    }
                }
                Outcome::Done(Ok(result)) => results.push(result),
                Outcome::Done(Err(error)) => {
                    failed.get_or_insert(error);
                }
            }
        }
        if errors.is_empty()
            && failed.is_none()
            && let Err(error) = consume(results)
        {
            failed = Some(error);
        }
    }
    // The configuration is judged first: a broken environment is the
    // cause to report, whatever the work met before it was read.
    match (errors.is_empty(), failed) {
        (false, _) => Err(Stop::Config(ConfigErrors(errors))),
        (true, Some(error)) => Err(Stop::Work(error)),
        (true, None) => Ok(()),
    }
}
