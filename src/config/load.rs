//! Reads an environment and the files it `extends`, checks each file on its
//! own (syntax, types, unknown keys: positions are exact there), then merges
//! them: tables merge key by key, any other value in the derived file wins.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use super::error::{ConfigError, ConfigErrors};
use super::locate::{KeyPath, Locator};
use super::raw::RawConfig;
use crate::project::{Project, SourceError, SourceFile};

/// Deeper `extends` chains are almost certainly a mistake.
const MAX_EXTENDS_DEPTH: usize = 8;

/// An environment's files (most derived first) and their merged content.
#[derive(Debug)]
pub struct Loaded {
    pub name: String,
    pub files: Vec<SourceFile>,
    pub raw: RawConfig,
}

/// One file, read and checked once however many environments extend it.
#[derive(Debug)]
struct Layer {
    file: SourceFile,
    table: toml::Table,
    raw: RawConfig,
}

enum LayerError {
    Read(SourceError),
    /// `table` is the file's content when only the typed check failed.
    Invalid {
        errors: ConfigErrors,
        table: Option<toml::Table>,
    },
}

/// Loads the environments of one project, sharing each file's read and parse
/// between them: with many environments extending one base, the base is read
/// and parsed once, not once per environment.
pub struct Loader<'p> {
    project: &'p Project,
    layers: HashMap<String, Arc<Layer>>,
    /// Source directories packaged once however many environments name them.
    pub(super) packager: crate::code::Packager<'p>,
}

impl<'p> Loader<'p> {
    pub fn new(project: &'p Project) -> Self {
        Self {
            project,
            layers: HashMap::new(),
            packager: crate::code::Packager::new(project),
        }
    }

    pub fn project(&self) -> &'p Project {
        self.project
    }

    /// Only files that load are kept: an error is reported where it is met.
    fn layer(&mut self, name: &str) -> Result<Arc<Layer>, LayerError> {
        if let Some(layer) = self.layers.get(name) {
            return Ok(Arc::clone(layer));
        }
        let file = self
            .project
            .read_environment(name)
            .map_err(LayerError::Read)?;
        let (table, raw) = parse_layer(&file)?;
        tracing::debug!(file = %file.display_path.display(), bytes = file.text.len(), "parsed environment file");
        let layer = Arc::new(Layer { file, table, raw });
        self.layers.insert(name.to_string(), Arc::clone(&layer));
        Ok(layer)
    }

    /// Whether `name`'s own file marks it abstract (a base for `extends`).
    /// Only the file's own flag decides. A file that is TOML but not a valid
    /// layer counts as deployable: loading it then reports its errors with
    /// every other environment's. The file is parsed once: loading the
    /// environment reuses it.
    fn own_abstract_flag(&mut self, name: &str) -> Result<bool, LayerError> {
        match self.layer(name) {
            Ok(layer) => Ok(layer.raw.is_abstract == Some(true)),
            Err(LayerError::Invalid {
                table: Some(table), ..
            }) => Ok(table.get("abstract").and_then(toml::Value::as_bool) == Some(true)),
            Err(other) => Err(other),
        }
    }

    /// Whether `name` is an abstract base; a file that cannot be read is
    /// not, so that loading it reports why.
    pub(super) fn is_abstract(&mut self, name: &str) -> bool {
        self.own_abstract_flag(name).unwrap_or(false)
    }

    /// Drops an environment's own parsed file once it is loaded: only the
    /// bases it extends are worth keeping. A file that is also a base is
    /// parsed again when an environment extends it.
    pub(super) fn forget(&mut self, name: &str) {
        self.layers.remove(name);
    }

    /// The deployable environments (abstract bases left out), sorted.
    pub fn deployable(&mut self) -> Result<Vec<String>, ConfigErrors> {
        let names = self
            .project
            .environment_names()
            .map_err(ConfigErrors::from)?;
        let mut deployable = Vec::new();
        for name in names {
            let is_abstract = match self.own_abstract_flag(&name) {
                Ok(flag) => flag,
                Err(LayerError::Read(e)) => return Err(e.into()),
                Err(LayerError::Invalid { errors, .. }) => return Err(errors),
            };
            if !is_abstract {
                deployable.push(name);
            }
        }
        Ok(deployable)
    }

    /// `--env NAME` that names no file: the deployable environments, and the
    /// nearest of them. Abstract bases are not offered: they cannot be deployed.
    fn not_found(&mut self, name: &str, error: crate::project::SourceError) -> String {
        let crate::project::SourceError::NotFound { path, .. } = &error else {
            return error.to_string();
        };
        let Ok(deployable) = self.deployable() else {
            return error.to_string();
        };
        let near = super::suggest::did_you_mean(name, deployable.iter().map(String::as_str));
        format!(
            "{}: environment `{name}` not found{near} (deployable: {})",
            path.display(),
            deployable.join(", ")
        )
    }

    /// Reads an environment and the chain of files it `extends`, and merges them.
    #[tracing::instrument(level = "debug", name = "load", skip(self))]
    pub fn load(&mut self, name: &str) -> Result<Loaded, ConfigErrors> {
        let mut layers: Vec<Arc<Layer>> = Vec::new();
        let mut chain: Vec<String> = Vec::new();
        let mut next = Some(name.to_string());

        while let Some(current) = next.take() {
            let last = layers.last().map(|l| &l.file);
            if chain.contains(&current) {
                chain.push(current);
                let (file, text_offset) = extends_position(last);
                return Err(ConfigErrors::one(ConfigError::at(
                    file,
                    text_offset,
                    KeyPath::root().key("extends"),
                    format!("circular `extends`: {}", chain.join(" → ")),
                )));
            }
            if chain.len() > MAX_EXTENDS_DEPTH {
                let (file, offset) = extends_position(last);
                return Err(ConfigErrors::one(ConfigError::at(
                    file,
                    offset,
                    KeyPath::root().key("extends"),
                    format!("`extends` chain deeper than {MAX_EXTENDS_DEPTH} files"),
                )));
            }
            let layer = match self.layer(&current) {
                Ok(layer) => layer,
                Err(LayerError::Invalid { errors, .. }) => return Err(errors),
                Err(LayerError::Read(e)) => {
                    return Err(match layers.last() {
                        // The parent is missing: point at the `extends` that names it.
                        Some(child) => {
                            let (file, offset) = extends_position(Some(&child.file));
                            ConfigErrors::one(ConfigError::at(
                                file,
                                offset,
                                KeyPath::root().key("extends"),
                                e.to_string(),
                            ))
                        }
                        None => ConfigErrors::one(ConfigError::without_position(
                            self.not_found(name, e),
                        )),
                    });
                }
            };
            chain.push(current);
            if let Some(parent) = &layer.raw.extends {
                if !is_plain_name(parent) {
                    let (f, offset) = extends_position(Some(&layer.file));
                    return Err(ConfigErrors::one(ConfigError::at(
                        f,
                        offset,
                        KeyPath::root().key("extends"),
                        format!(
                            "expected the name of a file in environments/ without `.toml`, got {parent:?}"
                        ),
                    )));
                }
                next = Some(parent.clone());
            }
            layers.push(layer);
        }

        let (root, derived) = layers.split_last().expect("a chain has a file");
        let mut merged = root.table.clone();
        for layer in derived.iter().rev() {
            merge(&mut merged, layer.table.clone());
        }
        // `abstract` marks one file, it is not inherited.
        merged.remove("abstract");
        if let Some(flag) = layers[0].raw.is_abstract {
            merged.insert("abstract".into(), toml::Value::Boolean(flag));
        }
        let raw = RawConfig::deserialize(toml::Value::Table(merged));
        let files: Vec<SourceFile> = layers.iter().map(|l| l.file.clone()).collect();
        let raw = raw.map_err(|e| {
            let locator = Locator::new(&files);
            ConfigErrors::one(ConfigError::located(
                locator.locate(&KeyPath::root()),
                KeyPath::root(),
                format!("merged configuration is invalid: {}", e.message()),
            ))
        })?;
        Ok(Loaded {
            name: name.to_string(),
            files,
            raw,
        })
    }
}

/// Reads one environment and the files it `extends`, and merges them.
pub fn load(project: &Project, name: &str) -> Result<Loaded, ConfigErrors> {
    Loader::new(project).load(name)
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// One file as a table (for merging) and typed (to catch unknown keys and wrong
/// types per file). The table is parsed once; only when the typed view fails
/// is the text parsed again, straight into `RawConfig`, for an exact position.
fn parse_layer(file: &SourceFile) -> Result<(toml::Table, RawConfig), LayerError> {
    let table: toml::Table = toml::from_str(&file.text).map_err(|e| LayerError::Invalid {
        errors: toml_error(file, &e),
        table: None,
    })?;
    match RawConfig::deserialize(toml::Value::Table(table.clone())) {
        Ok(raw) => Ok((table, raw)),
        Err(_) => match toml::from_str::<RawConfig>(&file.text) {
            Err(e) => Err(LayerError::Invalid {
                errors: toml_error(file, &e),
                table: Some(table),
            }),
            Ok(raw) => Ok((table, raw)),
        },
    }
}

fn toml_error(file: &SourceFile, error: &toml::de::Error) -> ConfigErrors {
    let offset = error.span().map_or(0, |s| s.start);
    let key = Locator::path_at(file, offset);
    let mut message = super::suggest::plain(error.message().trim());
    // toml says only "duplicate key"; the span holds the key's text.
    if message == "duplicate key"
        && let Some(name) = error.span().and_then(|s| file.text.get(s))
    {
        message = format!("duplicate key `{name}`");
    }
    ConfigErrors::one(ConfigError::at(file, offset, key, message))
}

/// Where `extends` is written in `file` (its value), for errors about the chain.
fn extends_position(file: Option<&SourceFile>) -> (&SourceFile, usize) {
    let file = file.expect("an extends error always has a file that extends");
    let offset = toml::de::DeTable::parse(&file.text)
        .ok()
        .and_then(|t| {
            t.get_ref()
                .iter()
                .find(|(k, _)| k.get_ref() == "extends")
                .map(|(_, v)| v.span().start)
        })
        .unwrap_or(0);
    (file, offset)
}

/// Deep merge: nested tables combine, every other value in `over` replaces.
pub fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(existing)), toml::Value::Table(incoming)) => {
                merge(existing, incoming)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::merge;

    #[test]
    fn tables_merge_and_scalars_and_arrays_are_replaced() {
        let mut base: toml::Table = toml::from_str(
            "[env]\nproject = \"a\"\ntags = { team = \"x\" }\n[data_lake]\nzones = [\"raw\"]\n",
        )
        .unwrap();
        let over: toml::Table =
            toml::from_str("[env]\ntags = { owner = \"y\" }\n[data_lake]\nzones = [\"curated\"]\n")
                .unwrap();
        merge(&mut base, over);
        assert_eq!(base["env"]["project"].as_str(), Some("a"));
        assert_eq!(base["env"]["tags"]["team"].as_str(), Some("x"));
        assert_eq!(base["env"]["tags"]["owner"].as_str(), Some("y"));
        assert_eq!(base["data_lake"]["zones"].as_array().unwrap().len(), 1);
    }
}
