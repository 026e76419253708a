//! Reads an environment and the files it `extends`, checks each file on its
//! own (syntax, types, unknown keys: positions are exact there), then merges
//! them: tables merge key by key, any other value in the derived file wins.

use serde::Deserialize;

use super::error::{ConfigError, ConfigErrors};
use super::locate::{KeyPath, Locator};
use super::raw::RawConfig;
use crate::project::{Project, SourceFile};

/// Deeper `extends` chains are almost certainly a mistake.
const MAX_EXTENDS_DEPTH: usize = 8;

/// An environment's files (most derived first) and their merged content.
#[derive(Debug)]
pub struct Loaded {
    pub name: String,
    pub files: Vec<SourceFile>,
    pub raw: RawConfig,
}

pub fn load(project: &Project, name: &str) -> Result<Loaded, ConfigErrors> {
    let mut files: Vec<SourceFile> = Vec::new();
    let mut tables: Vec<toml::Table> = Vec::new();
    let mut chain: Vec<String> = Vec::new();
    let mut next = Some(name.to_string());

    while let Some(current) = next.take() {
        if chain.contains(&current) {
            chain.push(current);
            let (file, text_offset) = extends_position(files.last());
            return Err(ConfigErrors::one(ConfigError::at(
                file,
                text_offset,
                KeyPath::root().key("extends"),
                format!("circular `extends`: {}", chain.join(" → ")),
            )));
        }
        if chain.len() > MAX_EXTENDS_DEPTH {
            let (file, offset) = extends_position(files.last());
            return Err(ConfigErrors::one(ConfigError::at(
                file,
                offset,
                KeyPath::root().key("extends"),
                format!("`extends` chain deeper than {MAX_EXTENDS_DEPTH} files"),
            )));
        }
        chain.push(current.clone());
        let file = project.read_environment(&current).map_err(|e| {
            match files.last() {
                // The parent is missing: point at the `extends` that names it.
                Some(child) => {
                    let (file, offset) = extends_position(Some(child));
                    ConfigErrors::one(ConfigError::at(
                        file,
                        offset,
                        KeyPath::root().key("extends"),
                        e.to_string(),
                    ))
                }
                None => ConfigErrors::one(ConfigError::without_position(e.to_string())),
            }
        })?;
        let raw = parse_layer(&file)?;
        let table: toml::Table = toml::from_str(&file.text).map_err(|e| toml_error(&file, &e))?;
        if let Some(parent) = &raw.extends {
            if !is_plain_name(parent) {
                let (f, offset) = extends_position(Some(&file));
                return Err(ConfigErrors::one(ConfigError::at(
                    f,
                    offset,
                    KeyPath::root().key("extends"),
                    format!("expected the name of a file in environments/ without `.toml`, got {parent:?}"),
                )));
            }
            next = Some(parent.clone());
        }
        files.push(file);
        tables.push(table);
    }

    let mut merged = toml::Table::new();
    for table in tables.into_iter().rev() {
        merge(&mut merged, table);
    }
    // `abstract` marks one file, it is not inherited.
    merged.remove("abstract");
    if let Some(flag) = toml::from_str::<RawConfig>(&files[0].text).ok().and_then(|r| r.is_abstract) {
        merged.insert("abstract".into(), toml::Value::Boolean(flag));
    }
    let raw = RawConfig::deserialize(toml::Value::Table(merged)).map_err(|e| {
        let locator = Locator::new(&files);
        ConfigErrors::one(ConfigError::located(
            locator.locate(&KeyPath::root()),
            KeyPath::root(),
            format!("merged configuration is invalid: {}", e.message()),
        ))
    })?;
    Ok(Loaded { name: name.to_string(), files, raw })
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn parse_layer(file: &SourceFile) -> Result<RawConfig, ConfigErrors> {
    toml::from_str::<RawConfig>(&file.text).map_err(|e| toml_error(file, &e))
}

fn toml_error(file: &SourceFile, error: &toml::de::Error) -> ConfigErrors {
    let offset = error.span().map_or(0, |s| s.start);
    let key = Locator::path_at(file, offset);
    ConfigErrors::one(ConfigError::at(file, offset, key, error.message().trim().to_string()))
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
        let mut base: toml::Table =
            toml::from_str("[env]\nproject = \"a\"\ntags = { team = \"x\" }\n[data_lake]\nzones = [\"raw\"]\n").unwrap();
        let over: toml::Table =
            toml::from_str("[env]\ntags = { owner = \"y\" }\n[data_lake]\nzones = [\"curated\"]\n").unwrap();
        merge(&mut base, over);
        assert_eq!(base["env"]["project"].as_str(), Some("a"));
        assert_eq!(base["env"]["tags"]["team"].as_str(), Some("x"));
        assert_eq!(base["env"]["tags"]["owner"].as_str(), Some("y"));
        assert_eq!(base["data_lake"]["zones"].as_array().unwrap().len(), 1);
    }
}
