//! Environment configuration: load (files, `extends`), validate, and the typed `Env`.

pub mod each;
pub mod env;
pub mod error;
pub mod fleet;
pub mod images;
pub mod instances;
pub mod load;
pub mod locate;
pub mod location;
pub mod names;
pub mod network;
pub mod policies;
pub mod policy_document;
pub mod raw;
pub mod rules;
pub mod serving;
pub mod serving_policies;
pub mod suggest;
pub mod training;
pub mod validate;

pub use env::{Access, Env};
pub use error::{ConfigError, ConfigErrors};
pub use load::Loader;

use crate::project::Project;

/// Loads and validates one environment.
pub fn load_env(project: &Project, name: &str) -> Result<Env, ConfigErrors> {
    Loader::new(project).env(name)
}

/// The deployable environments of a project (abstract bases left out), sorted.
pub fn deployable_environments(project: &Project) -> Result<Vec<String>, ConfigErrors> {
    Loader::new(project).deployable()
}

impl Loader<'_> {
    /// Loads and validates one environment.
    pub fn env(&mut self, name: &str) -> Result<Env, ConfigErrors> {
        let loaded = self.load(name)?;
        if loaded.raw.is_abstract == Some(true) {
            let key = locate::KeyPath::root().key("abstract");
            let at = locate::Locator::new(&loaded.files).locate(&key);
            return Err(ConfigErrors::one(ConfigError::located(
                at,
                key,
                format!(
                    "environment `{name}` is abstract (a base for `extends`), not deployable on its own"
                ),
            )));
        }
        validate::validate(&loaded, &mut self.packager)
    }

    /// Loads and validates environments, reporting the errors of all of them.
    pub fn envs(&mut self, names: &[String]) -> Result<Vec<Env>, ConfigErrors> {
        let mut envs = Vec::with_capacity(names.len());
        let mut errors = Vec::new();
        for name in names {
            match self.env(name) {
                Ok(env) => envs.push(env),
                // A mistake in a shared base is one mistake, however many
                // environments extend it.
                Err(e) => {
                    for error in e.0 {
                        if !errors.contains(&error) {
                            errors.push(error);
                        }
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(envs)
        } else {
            Err(ConfigErrors(errors))
        }
    }
}
