//! Price tables: SageMaker's on-demand hourly prices of one region, dated.
//! A project's own `prices/<region>.json` (written by `mlinfra prices
//! update`) wins over the table shipped in the binary (`data/prices/`); an
//! environment's `[prices]` win over both. A region without a table prices
//! nothing, rather than borrowing another region's prices.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Env;
use crate::project::Project;

/// The tables shipped in the binary, by region.
const SHIPPED: &[(&str, &str)] = &[
    (
        "us-east-1",
        include_str!("../../data/prices/us-east-1.json"),
    ),
    (
        "eu-west-1",
        include_str!("../../data/prices/eu-west-1.json"),
    ),
];

/// The folder of a project's own tables.
pub const PROJECT_DIR: &str = "prices";

pub const FORMAT_VERSION: u32 = 1;

/// One region's table as written to disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceFile {
    pub format_version: u32,
    pub region: String,
    /// When the prices were read: `YYYY-MM-DD` (`prices update`), a month
    /// for the shipped tables.
    pub date: String,
    pub source: String,
    /// Real-time inference instances, USD per hour.
    pub hosting: BTreeMap<String, f64>,
    /// Training instances, USD per hour.
    pub training: BTreeMap<String, f64>,
}

impl PriceFile {
    pub fn text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a price table serialises");
        text.push('\n');
        text
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    #[error("{path}: cannot read: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}:{column}: not a price table: {message} (rewrite it with `mlinfra prices update --region {region}`)"
    )]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
        region: String,
    },
    #[error(
        "{path}: the table is for region {found}, but its name says {region}; rename it or run `mlinfra prices update --region {region}`"
    )]
    WrongRegion {
        path: PathBuf,
        region: String,
        found: String,
    },
}

/// Where an estimate's prices come from: shown with every estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableOrigin {
    pub region: String,
    /// `None` when no table covers the region.
    pub date: Option<String>,
    /// `shipped`, or the project file's path.
    pub table: Option<String>,
}

impl TableOrigin {
    /// `us-east-1 prices of 2025-01-15 (shipped table)`.
    pub fn describe(&self) -> String {
        match (&self.date, &self.table) {
            (Some(date), Some(table)) => {
                format!("{} prices of {date} ({table} table)", self.region)
            }
            _ => format!(
                "no price table for {}: run `mlinfra prices update --region {}`",
                self.region, self.region
            ),
        }
    }
}

/// What an instance is priced for: the two differ per type and region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Hosting,
    Training,
}

/// The prices an estimate of one environment uses.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    pub origin: TableOrigin,
    hosting: BTreeMap<String, f64>,
    training: BTreeMap<String, f64>,
    /// The environment's `[prices]`: for hosting and training alike.
    overrides: BTreeMap<String, f64>,
    /// Expected traffic of serverless variants by `endpoint name/variant`:
    /// not a price, but what the serverless rate is multiplied by.
    pub serverless_traffic: BTreeMap<String, crate::config::serving::Traffic>,
}

impl PriceTable {
    /// The shipped table of the environment's region, with its `[prices]` on top.
    pub fn for_env(env: &Env) -> Self {
        Self::from_file(&env.region, shipped(&env.region), "shipped".into(), env)
    }

    /// The project's own table of the environment's region when there is
    /// one, else the shipped one; the environment's `[prices]` on top.
    pub fn load(project: &Project, env: &Env) -> Result<Self, PriceError> {
        let Project::Dir(dir) = project else {
            return Ok(Self::for_env(env));
        };
        let path = project_file(dir, &env.region);
        match read(&path, &env.region)? {
            Some(file) => Ok(Self::from_file(
                &env.region,
                Some(file),
                path.display().to_string(),
                env,
            )),
            None => Ok(Self::for_env(env)),
        }
    }

    fn from_file(region: &str, file: Option<PriceFile>, table: String, env: &Env) -> Self {
        let (origin, hosting, training) = match file {
            Some(file) => (
                TableOrigin {
                    region: region.to_string(),
                    date: Some(file.date),
                    table: Some(table),
                },
                file.hosting,
                file.training,
            ),
            None => (
                TableOrigin {
                    region: region.to_string(),
                    date: None,
                    table: None,
                },
                BTreeMap::new(),
                BTreeMap::new(),
            ),
        };
        let serverless_traffic = env
            .endpoints
            .iter()
            .flat_map(|e| {
                e.all_variants().filter_map(move |v| {
                    let traffic = v.serverless.as_ref()?.traffic.clone()?;
                    Some((format!("{}/{}", e.endpoint_name, v.name), traffic))
                })
            })
            .collect();
        Self {
            origin,
            hosting,
            training,
            overrides: env.prices.clone(),
            serverless_traffic,
        }
    }

    /// USD per hour of one instance for `purpose`.
    pub fn price(&self, purpose: Use, instance_type: &str) -> Option<f64> {
        if let Some(usd) = self.overrides.get(instance_type) {
            return Some(*usd);
        }
        match purpose {
            Use::Hosting => &self.hosting,
            Use::Training => &self.training,
        }
        .get(instance_type)
        .copied()
    }

    /// USD per hour of one endpoint instance.
    pub fn hourly(&self, instance_type: &str) -> Option<f64> {
        self.price(Use::Hosting, instance_type)
    }
}

/// `DIR/prices/<region>.json`.
pub fn project_file(dir: &Path, region: &str) -> PathBuf {
    dir.join(PROJECT_DIR).join(format!("{region}.json"))
}

/// The shipped table of `region`, if the binary carries one.
pub fn shipped(region: &str) -> Option<PriceFile> {
    SHIPPED
        .iter()
        .find(|(r, _)| *r == region)
        .map(|(_, text)| serde_json::from_str(text).expect("shipped price tables parse"))
}

/// A project's table of `region`; `None` when there is no such file.
pub fn read(path: &Path, region: &str) -> Result<Option<PriceFile>, PriceError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PriceError::Unreadable {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let file: PriceFile = serde_json::from_str(&text).map_err(|e| PriceError::Invalid {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string(),
        region: region.to_string(),
    })?;
    if file.region != region {
        return Err(PriceError::WrongRegion {
            path: path.to_path_buf(),
            region: region.to_string(),
            found: file.region,
        });
    }
    Ok(Some(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The instance types the example, the scaffold and the tests use, in
    /// the regions they use, are priced by the shipped tables.
    #[test]
    fn shipped_tables_price_what_the_projects_use() {
        let used = [
            "ml.t2.medium",
            "ml.m5.large",
            "ml.m5.xlarge",
            "ml.m5.2xlarge",
            "ml.c5.xlarge",
            "ml.c5.2xlarge",
            "ml.c5.4xlarge",
            "ml.g4dn.xlarge",
            "ml.g4dn.12xlarge",
            "ml.g5.xlarge",
            "ml.g5.2xlarge",
            "ml.p3.2xlarge",
            "ml.p4d.24xlarge",
        ];
        for (region, _) in SHIPPED {
            let table = shipped(region).unwrap();
            assert_eq!(&table.region, region);
            assert_eq!(table.format_version, FORMAT_VERSION);
            for t in used {
                assert!(table.hosting.contains_key(t), "{region}: hosting {t}");
                assert!(
                    table.training.contains_key(t) || t == "ml.t2.medium",
                    "{region}: training {t}"
                );
            }
            assert!(
                table.hosting.contains_key("ml.inf2.xlarge"),
                "{region}: ml.inf2.xlarge"
            );
            for (t, usd) in table.hosting.iter().chain(&table.training) {
                assert!(*usd > 0.0 && *usd < 200.0, "{region}: {t} at {usd}");
            }
        }
    }

    #[test]
    fn a_region_without_a_table_prices_nothing() {
        let origin = TableOrigin {
            region: "ap-south-1".into(),
            date: None,
            table: None,
        };
        assert_eq!(
            origin.describe(),
            "no price table for ap-south-1: run `mlinfra prices update --region ap-south-1`"
        );
        assert!(shipped("ap-south-1").is_none());
    }
}
