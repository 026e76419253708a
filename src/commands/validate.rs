//! `mlinfra validate`: load, validate and render; one summary line per environment.

use crate::cli::Session;
use crate::cli::args::Selection;
use crate::config::Env;
use crate::error::Result;
use crate::exit::Exit;
use crate::render::{self, Engine};

pub fn run(session: &Session, selection: &Selection) -> Result<Exit> {
    let envs = session.environments(selection)?;
    // A project's own templates are its code and may be broken, so they are
    // rendered for every environment. The built-in ones render every valid
    // configuration (the test suite renders each shape), so validating the
    // configuration is enough and stays fast.
    let engine = Engine::new(&session.project)?;
    for env in &envs {
        if engine.has_overrides() {
            render::render_env_text(&engine, env, None)?;
        }
        session.out(&format!("{}\n", summary(env)))?;
    }
    Ok(Exit::Clean)
}

/// One line per environment: what it will create, for a quick sanity read.
pub fn summary(env: &Env) -> String {
    let endpoints: Vec<String> = env
        .endpoints
        .iter()
        .map(|e| {
            let variants: Vec<String> = e
                .all_variants()
                .map(|v| match &v.autoscaling {
                    Some(a) => format!("{}, autoscaling {}–{}", v.instance_type, a.min, a.max),
                    None => format!("{} × {}", v.initial_instance_count, v.instance_type),
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
