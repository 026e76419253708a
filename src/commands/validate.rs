//! `mlinfra validate`: load, validate and render; one summary line per
//! environment, or with `--format json` the environments and every error.

use serde::Serialize;

use crate::cli::Session;
use crate::cli::args::ValidateArgs;
use crate::config::each::Weight;
use crate::config::{ConfigErrors, Env};
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::output::{self, Format, Printer, Report};
use crate::render::{self, Engine};

/// Bumped when the JSON of `validate` changes shape.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct Validation {
    format_version: u32,
    valid: bool,
    environments: Vec<Valid>,
    errors: Vec<Problem>,
}

#[derive(Serialize)]
struct Valid {
    name: String,
    account_id: String,
    region: String,
    summary: String,
}

#[derive(Serialize)]
struct Problem {
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    key: String,
    message: String,
}

impl Report for Validation {
    fn kind(&self) -> &'static str {
        "validation"
    }

    fn exit(&self) -> Exit {
        if self.valid { Exit::Clean } else { Exit::Error }
    }

    fn human(&self, _: &Printer) -> String {
        self.environments
            .iter()
            .map(|e| format!("{}\n", e.summary))
            .collect()
    }

    fn json(&self) -> String {
        output::json_text(self)
    }
}

fn problems(errors: &ConfigErrors) -> Vec<Problem> {
    errors
        .0
        .iter()
        .map(|e| Problem {
            file: e.location.as_ref().map(|l| l.file.display().to_string()),
            line: e.location.as_ref().map(|l| l.line),
            column: e.location.as_ref().map(|l| l.column),
            key: e.key.to_string(),
            message: e.message.clone(),
        })
        .collect()
}

pub fn run(session: &Session, args: &ValidateArgs) -> Result<Exit> {
    // A project's own templates are its code and may be broken, so they are
    // rendered for every environment; the built-in ones are not rendered.
    let overrides = Engine::for_overrides(&session.project)?;
    // Only a line per environment is kept: the environments themselves are
    // dropped as soon as they are summed up.
    let mut environments = Vec::new();
    let weight = if overrides.is_some() {
        Weight::Render
    } else {
        Weight::Validate
    };
    let checked = session.each_environment(
        &args.selection,
        weight,
        |env| {
            if let Some(engine) = &overrides {
                render::render_env_text(engine, env, None)?;
            }
            Ok(Valid {
                name: env.name.clone(),
                account_id: env.account_id.clone(),
                region: env.region.clone(),
                summary: summary(env),
            })
        },
        |batch| {
            environments.extend(batch);
            Ok(())
        },
    );
    match checked {
        Err(Error::Config(errors)) if args.format == Format::Json => {
            let report = Validation {
                format_version: FORMAT_VERSION,
                valid: false,
                environments: Vec::new(),
                errors: problems(&errors),
            };
            return Ok(session.printer.print(&report, args.format)?);
        }
        other => other?,
    }
    let report = Validation {
        format_version: FORMAT_VERSION,
        valid: true,
        environments,
        errors: Vec::new(),
    };
    Ok(session.printer.print(&report, args.format)?)
}

/// One line per environment: what it will create, for a quick sanity read.
pub fn summary(env: &Env) -> String {
    let endpoints: Vec<String> = env
        .endpoints
        .iter()
        .map(|e| {
            let variants: Vec<String> = e
                .all_variants()
                .map(|v| match (&v.serverless, &v.autoscaling) {
                    (Some(s), _) => format!(
                        "serverless {} MB, up to {} concurrent",
                        s.memory_mb, s.max_concurrency
                    ),
                    (None, Some(a)) => {
                        format!("{}, autoscaling {}–{}", v.instance_type, a.min, a.max)
                    }
                    (None, None) => format!("{} × {}", v.initial_instance_count, v.instance_type),
                })
                .collect();
            format!("{} ({})", e.name, variants.join("; "))
        })
        .collect();
    let jobs: Vec<String> = env
        .training
        .iter()
        .map(|j| {
            format!(
                "{} ({}{})",
                j.name,
                j.instance_type,
                if j.spot.is_some() { ", spot" } else { "" }
            )
        })
        .collect();
    let or_none = |items: Vec<String>| {
        if items.is_empty() {
            "none".to_string()
        } else {
            items.join(", ")
        }
    };
    format!(
        "{}: valid — account {} in {}; {} zones; training: {}; endpoints: {}; termination protection {}",
        env.name,
        env.account_id,
        env.region,
        env.data_lake.zones.len(),
        or_none(jobs),
        or_none(endpoints),
        if env.termination_protection {
            "on"
        } else {
            "off"
        },
    )
}
