//! Configuration errors: always a file, line, column and key path, so a user
//! can jump straight to the mistake.

use std::fmt;

use super::locate::{KeyPath, Location};
use crate::project::{SourceError, SourceFile};

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// `None` only when there is no file to point at (the environment does not exist).
    pub location: Option<Location>,
    pub key: KeyPath,
    pub message: String,
}

impl ConfigError {
    pub fn at(file: &SourceFile, offset: usize, key: KeyPath, message: String) -> Self {
        Self::located(Location::in_file(file, offset), key, message)
    }

    pub fn located(location: Location, key: KeyPath, message: String) -> Self {
        Self {
            location: Some(location),
            key,
            message,
        }
    }

    pub fn without_position(message: String) -> Self {
        Self {
            location: None,
            key: KeyPath::root(),
            message,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(at) => {
                write!(
                    f,
                    "{}:{}:{}: {}: {}",
                    at.file.display(),
                    at.line,
                    at.column,
                    self.key,
                    self.message
                )?;
                match at.snippet() {
                    Some(snippet) => write!(f, "\n{snippet}"),
                    None => Ok(()),
                }
            }
            None => f.write_str(&self.message),
        }
    }
}

/// Every problem found in one environment, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn one(error: ConfigError) -> Self {
        Self(vec![error])
    }

    pub fn first(&self) -> &ConfigError {
        &self.0[0]
    }
}

/// A file or folder that cannot be read or listed: an error with no position.
impl From<SourceError> for ConfigErrors {
    fn from(error: SourceError) -> Self {
        Self::one(ConfigError::without_position(error.to_string()))
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
