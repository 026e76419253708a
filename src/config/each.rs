//! Environments loaded, validated and handed on one at a time, on every
//! core: a command over a thousand environments holds a window of them, not
//! the project. Every configuration error of every environment is reported
//! together, and before any other.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, mpsc};

use super::error::{ConfigError, ConfigErrors};
use super::{Env, Loader};
use crate::project::Project;

/// Results handed to the caller at a time, and environments that may be
/// ahead of the oldest one not yet handed over: enough to keep every core
/// busy, few enough that memory does not grow with the project.
const BATCH: usize = 64;

/// Which environments: one by name (an abstract base is refused), or every
/// deployable one (abstract bases are passed over).
pub enum Chosen<'a> {
    One(&'a str),
    Deployable,
}

/// How much work each environment is, which decides how many threads pay.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// Validation alone.
    Validate,
    /// Validation and rendering.
    Render,
}

impl Weight {
    /// Environments per thread below which a thread costs more than it
    /// saves: a thread starts with its own loader, so it parses the shared
    /// bases and builds the code packages again, and warms its own memory.
    fn min_per_thread(self) -> usize {
        match self {
            Weight::Validate => 32,
            Weight::Render => 8,
        }
    }
}

/// Why a pass over the environments stopped.
#[derive(Debug)]
pub enum Stop<E> {
    /// The configuration errors of every environment, each once.
    Config(ConfigErrors),
    /// The first error of the caller's own work, or of `consume`.
    Work(E),
}

/// What one environment came to.
enum Outcome<T, E> {
    /// An abstract base, or an environment read only for its errors.
    Skipped,
    Invalid(ConfigErrors),
    Done(Result<T, E>),
}

/// Loads and validates the chosen environments, runs `work` on each valid
/// one on a worker thread, and gives `consume` the results in name order, a
/// batch at a time. Once any environment is invalid or any work fails,
/// `work` and `consume` are no longer called: the rest are only validated,
/// so that every configuration error is reported together, before any other.
pub fn each_env<T, E>(
    project: &Project,
    chosen: Chosen<'_>,
    weight: Weight,
    work: impl Fn(&Env) -> Result<T, E> + Sync,
    consume: impl FnMut(Vec<T>) -> Result<(), E>,
) -> Result<(), Stop<E>>
where
    T: Send,
    E: Send,
{
    let names = match chosen {
        Chosen::One(name) => vec![name.to_string()],
        Chosen::Deployable => project
            .environment_names()
            .map_err(|e| Stop::Config(e.into()))?,
    };
    let skip_abstract = matches!(chosen, Chosen::Deployable);
    let one = |loader: &mut Loader<'_>, name: &str, wanted: bool| -> Outcome<T, E> {
        if skip_abstract && loader.is_abstract(name) {
            return Outcome::Skipped;
        }
        let loaded = loader.env(name);
        loader.forget(name);
        match loaded {
            Err(invalid) => Outcome::Invalid(invalid),
            Ok(_) if !wanted => Outcome::Skipped,
            Ok(env) => Outcome::Done(work(&env)),
        }
    };
    let mut sink = Sink {
        errors: Vec::new(),
        failed: None,
        batch: Vec::with_capacity(BATCH),
        consume,
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(names.len() / weight.min_per_thread()).max(1);
    // Every thread takes the next name as it frees up, each with its own
    // loader for the whole pass; results are handed on in name order by
    // this thread, which works too and never sleeps while there is work. A
    // helper waits while it is a window ahead of the oldest result not yet
    // handed on, which bounds what is held. With one thread, this one does
    // everything in order and nothing waits.
    let next = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    let handed = (Mutex::new(0usize), Condvar::new());
    std::thread::scope(|scope| {
        let (results, received) = mpsc::channel();
        for _ in 1..threads {
            let results = results.clone();
            let (names, one, next, stopped, handed) = (&names, &one, &next, &stopped, &handed);
            scope.spawn(move || {
                let mut loader = Loader::new(project);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(name) = names.get(i) else { break };
                    let (count, turn) = handed;
                    drop(
                        turn.wait_while(count.lock().unwrap_or_else(|e| e.into_inner()), |h| {
                            i >= *h + BATCH
                        })
                        .unwrap_or_else(|e| e.into_inner()),
                    );
                    let outcome = one(&mut loader, name, !stopped.load(Ordering::Relaxed));
                    if results.send((i, outcome)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(results);
        let mut order = InOrder {
            early: BTreeMap::new(),
            oldest: 0,
        };
        let mut hand_on = |order: &mut InOrder<Outcome<T, E>>, i: usize, outcome| {
            order.early.insert(i, outcome);
            let before = order.oldest;
            while let Some(outcome) = order.early.remove(&order.oldest) {
                sink.take(outcome);
                if !sink.wanted() {
                    stopped.store(true, Ordering::Relaxed);
                }
                order.oldest += 1;
            }
            if order.oldest != before {
                let (count, turn) = &handed;
                *count.lock().unwrap_or_else(|e| e.into_inner()) = order.oldest;
                turn.notify_all();
            }
        };
        let mut loader = Loader::new(project);
        loop {
            while let Ok((i, outcome)) = received.try_recv() {
                hand_on(&mut order, i, outcome);
            }
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(name) = names.get(i) else { break };
            // Too far ahead: the helpers' results come first.
            while i >= order.oldest + BATCH {
                let (j, outcome) = received.recv().expect("a helper holds the oldest result");
                hand_on(&mut order, j, outcome);
            }
            let outcome = one(&mut loader, name, !stopped.load(Ordering::Relaxed));
            hand_on(&mut order, i, outcome);
        }
        for (i, outcome) in received {
            hand_on(&mut order, i, outcome);
        }
    });
    sink.finish()
}

/// Results that came back before an older one.
struct InOrder<O> {
    early: BTreeMap<usize, O>,
    oldest: usize,
}

/// Where outcomes go, in name order.
struct Sink<T, E, C> {
    errors: Vec<ConfigError>,
    failed: Option<E>,
    batch: Vec<T>,
    consume: C,
}

impl<T, E, C: FnMut(Vec<T>) -> Result<(), E>> Sink<T, E, C> {
    /// Whether work is still wanted: nothing is invalid and nothing failed.
    fn wanted(&self) -> bool {
        self.errors.is_empty() && self.failed.is_none()
    }

    fn take(&mut self, outcome: Outcome<T, E>) {
        match outcome {
            Outcome::Skipped => {}
            // A mistake in a shared base is one mistake, however many
            // environments extend it.
            Outcome::Invalid(invalid) => {
                for error in invalid.0 {
                    if !self.errors.contains(&error) {
                        self.errors.push(error);
                    }
                }
            }
            Outcome::Done(Ok(result)) if self.wanted() => {
                self.batch.push(result);
                if self.batch.len() == BATCH {
                    self.flush();
                }
            }
            Outcome::Done(Ok(_)) => {}
            Outcome::Done(Err(error)) => {
                self.failed.get_or_insert(error);
            }
        }
    }

    fn flush(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        if self.wanted()
            && let Err(error) = (self.consume)(batch)
        {
            self.failed = Some(error);
        }
    }

    /// The configuration is judged first: a broken environment is the cause
    /// to report, whatever the work met before it was read.
    fn finish(mut self) -> Result<(), Stop<E>> {
        if !self.batch.is_empty() {
            self.flush();
        }
        match (self.errors.is_empty(), self.failed) {
            (false, _) => Err(Stop::Config(ConfigErrors(self.errors))),
            (true, Some(error)) => Err(Stop::Work(error)),
            (true, None) => Ok(()),
        }
    }
}
