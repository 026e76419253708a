//! Environment configuration: load (files, `extends`), validate, and the typed `Env`.

pub mod env;
pub mod error;
pub mod instances;
pub mod load;
pub mod locate;
pub mod names;
pub mod policies;
pub mod raw;
pub mod rules;
pub mod validate;

pub use env::Env;
pub use error::{ConfigError, ConfigErrors};

use crate::project::Project;

/// Loads and validates one environment.
pub fn load_env(project: &Project, name: &str) -> Result<Env, ConfigErrors> {
    let loaded = load::load(project, name)?;
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
    validate::validate(&loaded)
}

/// The deployable environments of a project (abstract bases left out), sorted.
pub fn deployable_environments(project: &Project) -> Result<Vec<String>, ConfigErrors> {
    let names = project
        .environment_names()
        .map_err(|e| ConfigErrors::one(ConfigError::without_position(e.to_string())))?;
    let mut deployable = Vec::new();
    for name in names {
        // Only the file's own `abstract` flag decides; loading the whole chain
        // here would be repeated by every command that then loads it.
        let file = project
            .read_environment(&name)
            .map_err(|e| ConfigErrors::one(ConfigError::without_position(e.to_string())))?;
        match toml::from_str::<toml::Table>(&file.text) {
            Ok(table) => {
                if table.get("abstract").and_then(toml::Value::as_bool) != Some(true) {
                    deployable.push(name);
                }
            }
            // A broken file: loading it reports the error with its position.
            Err(_) => {
                load::load(project, &name)?;
            }
        }
    }
    Ok(deployable)
}
