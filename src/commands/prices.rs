//! `mlinfra prices update`: SageMaker's on-demand prices of each region from
//! the AWS Price List API, written to the project's `prices/<region>.json`
//! (dated), which `cost` and `plan` then use instead of the shipped tables.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::Session;
use crate::cli::args::{PricesArgs, PricesCommand, PricesUpdateArgs};
use crate::cli::session::runtime;
use crate::cloud::pricing;
use crate::config::{rules, suggest};
use crate::cost::table::{self, PriceFile};
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::output::{self, Printer, Report};
use crate::project::Project;

pub fn run(session: &Session, args: &PricesArgs) -> Result<Exit> {
    match &args.command {
        PricesCommand::Update(args) => update(session, args),
    }
}

#[derive(Debug, Serialize)]
struct Written {
    region: String,
    date: String,
    path: PathBuf,
    hosting: usize,
    training: usize,
}

struct Updated(Vec<Written>);

/// Bumped when the JSON of `prices update` changes shape.
const FORMAT_VERSION: u32 = 1;

impl Report for Updated {
    fn kind(&self) -> &'static str {
        "price tables"
    }

    fn json(&self) -> String {
        output::versioned_json(FORMAT_VERSION, serde_json::json!({ "tables": self.0 }))
    }

    fn human(&self, _: &Printer) -> String {
        self.0
            .iter()
            .map(|w| {
                format!(
                    "{}: {} hosting and {} training instance prices of {} written to {}\n",
                    w.region,
                    w.hosting,
                    w.training,
                    w.date,
                    w.path.display()
                )
            })
            .collect()
    }
}

fn update(session: &Session, args: &PricesUpdateArgs) -> Result<Exit> {
    let Project::Dir(dir) = &session.project else {
        return Err(Error::Usage(
            "`prices update` writes prices/<region>.json into a project: use --project DIR, not --example"
                .into(),
        ));
    };
    let regions = regions(session, &args.regions)?;
    let date = today();
    let source = format!(
        "AWS Price List API ({}, {} on demand), read {date}",
        pricing::SERVICE_CODE,
        "hosting and training instances"
    );
    // Every region is read before any file is written: a failure leaves
    // every table as it was.
    let fetched = runtime()?.block_on(async {
        let client = pricing::client(&session.connection(&args.aws)).await?;
        let mut fetched = Vec::new();
        for region in &regions {
            let waiting = session
                .printer
                .spinner(&format!("reading prices of {region}"));
            let prices = pricing::sagemaker_prices(&client, region).await?;
            drop(waiting);
            if prices.hosting.is_empty() && prices.training.is_empty() {
                return Err(Error::Usage(format!(
                    "the AWS Price List API lists no SageMaker instance prices for {region} \
                     ({} products read); nothing was written",
                    prices.products
                )));
            }
            fetched.push(PriceFile {
                format_version: table::FORMAT_VERSION,
                region: region.clone(),
                date: date.clone(),
                source: source.clone(),
                hosting: prices.hosting,
                training: prices.training,
            });
        }
        Ok::<_, Error>(fetched)
    })?;
    let mut written = Vec::new();
    for file in fetched {
        let path = table::project_file(dir, &file.region);
        write(&path, &file.text())?;
        written.push(Written {
            region: file.region,
            date: file.date,
            path,
            hosting: file.hosting.len(),
            training: file.training.len(),
        });
    }
    Ok(session.printer.print(&Updated(written), args.format)?)
}

/// The regions asked for, each a known AWS region; else the regions of the
/// project's deployable environments.
fn regions(session: &Session, asked: &[String]) -> Result<Vec<String>> {
    let mut regions: Vec<String> = if asked.is_empty() {
        session
            .all_environments()?
            .into_iter()
            .map(|env| env.region)
            .collect()
    } else {
        for region in asked {
            if !rules::REGIONS.contains(&region.as_str()) {
                let hint = suggest::closest(region, rules::REGIONS.iter().copied())
                    .map(|near| format!("; did you mean `{near}`?"))
                    .unwrap_or_else(|| " (for example us-east-1, eu-west-1)".into());
                return Err(Error::Usage(format!(
                    "--region {region}: not a known AWS region{hint}"
                )));
            }
        }
        asked.to_vec()
    };
    regions.sort();
    regions.dedup();
    Ok(regions)
}

/// Today's date in UTC, `YYYY-MM-DD`.
fn today() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()[..10].to_string()
}

/// Written beside its target and renamed into place: a reader never sees
/// half a table.
fn write(path: &Path, text: &str) -> Result<()> {
    let failed = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, text).map_err(failed)?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        failed(e)
    })
}
