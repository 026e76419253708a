//! The validated parts of a training job beyond its instance: input channels,
//! training code, metric definitions and hyperparameter tuning. Each enum
//! carries AWS's spelling (`aws()`), accepted case-insensitively when read.

use serde::{Deserialize, Serialize};

use super::location::S3Location;

/// Defines `enum` with AWS spellings; `parse` accepts any letter case.
macro_rules! aws_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [&'static str] = &[$($text),+];

            pub fn aws(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                $(if text.eq_ignore_ascii_case($text) { return Some($name::$variant); })+
                None
            }
        }
    };
}

aws_enum!(
    /// How a channel's data reaches the container.
    InputMode { File = "File", FastFile = "FastFile", Pipe = "Pipe" }
);
aws_enum!(
    /// Whether each instance gets all of a channel or a shard of its objects.
    Distribution { FullyReplicated = "FullyReplicated", ShardedByS3Key = "ShardedByS3Key" }
);
aws_enum!(Compression { None = "None", Gzip = "Gzip" });
aws_enum!(Goal { Maximize = "Maximize", Minimize = "Minimize" });
aws_enum!(Strategy { Bayesian = "Bayesian", Random = "Random", Hyperband = "Hyperband" });
aws_enum!(
    Scaling {
        Auto = "Auto",
        Linear = "Linear",
        Logarithmic = "Logarithmic",
        ReverseLogarithmic = "ReverseLogarithmic",
    }
);

/// One input channel: `/opt/ml/input/data/{name}` (or `SM_CHANNEL_{NAME}`) in the container.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Channel {
    pub name: String,
    pub location: S3Location,
    pub content_type: Option<String>,
    pub input_mode: InputMode,
    pub distribution: Distribution,
    pub compression: Compression,
}

/// The channel name SageMaker's SDK gives the code package under network isolation.
pub const CODE_CHANNEL: &str = "code";
/// The package's file name, as the SDK names it: the container finds it at
/// `/opt/ml/input/data/code/sourcedir.tar.gz` under isolation.
pub const PACKAGE_FILE: &str = "sourcedir.tar.gz";

/// The script a framework image runs and where its package comes from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainingCode {
    pub entry_point: String,
    pub source: CodeSource,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum CodeSource {
    /// A project directory packaged by mlinfra, uploaded by `apply`.
    Package {
        /// The directory, relative to the project.
        dir: String,
        sha256: String,
        /// `code/{job}/{sha256}/sourcedir.tar.gz` in the output's zone.
        location: S3Location,
        /// The package validation built, for `plan --out` and `apply`.
        #[serde(skip)]
        built: BuiltPackage,
    },
    /// A tar.gz someone else uploaded.
    S3 { bucket: String, key: String },
}

impl CodeSource {
    pub fn uri(&self) -> String {
        match self {
            CodeSource::Package { location, .. } => location.uri(),
            CodeSource::S3 { bucket, key } => format!("s3://{bucket}/{key}"),
        }
    }

    pub fn bucket(&self) -> &str {
        match self {
            CodeSource::Package { location, .. } => &location.bucket,
            CodeSource::S3 { bucket, .. } => bucket,
        }
    }

    pub fn key(&self) -> &str {
        match self {
            CodeSource::Package { location, .. } => &location.key,
            CodeSource::S3 { key, .. } => key,
        }
    }
}

/// The bytes of a package as validation built them (and hashed into
/// `sha256`), so that later steps of the same command use them instead of
/// reading and packing the directory again. Not part of the environment's
/// value: never written to a plan file (which keeps packages beside it),
/// and any two compare equal.
#[derive(Clone, Default)]
pub struct BuiltPackage(pub Option<std::sync::Arc<Vec<u8>>>);

impl PartialEq for BuiltPackage {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for BuiltPackage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(bytes) => write!(f, "BuiltPackage({} bytes)", bytes.len()),
            None => f.write_str("BuiltPackage(not built)"),
        }
    }
}

/// A metric SageMaker reads from the job's log with a regular expression.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Metric {
    pub name: String,
    pub regex: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tuning {
    pub objective_metric: String,
    pub goal: Goal,
    pub strategy: Strategy,
    pub max_jobs: u32,
    pub max_parallel_jobs: u32,
    pub early_stopping: bool,
    pub ranges: Vec<Range>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Range {
    pub name: String,
    pub kind: RangeKind,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum RangeKind {
    Continuous {
        min: f64,
        max: f64,
        scaling: Scaling,
    },
    Integer {
        min: i64,
        max: i64,
        scaling: Scaling,
    },
    Categorical {
        values: Vec<String>,
    },
}
