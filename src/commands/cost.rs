//! `mlinfra cost`: endpoints per month, training per run, from the rendered templates.

use serde::Serialize;

use crate::cli::Session;
use crate::cli::args::CostArgs;
use crate::cost::{self, CostEstimate, PriceTable};
use crate::error::Result;
use crate::exit::Exit;
use crate::output::{self, Printer, Report};
use crate::render::{self, Engine};

#[derive(Debug, Serialize)]
struct EnvCost {
    env: String,
    region: String,
    estimate: CostEstimate,
}

struct Costs(Vec<EnvCost>);

/// Bumped when the JSON of `cost` changes shape.
pub const FORMAT_VERSION: u32 = 1;

impl Report for Costs {
    fn kind(&self) -> &'static str {
        "cost estimate"
    }

    fn human(&self, _: &Printer) -> String {
        self.0
            .iter()
            .map(|c| format!("{}\n{}", c.env, cost::render_human(&c.estimate, None)))
            .collect()
    }

    fn json(&self) -> String {
        output::versioned_json(
            FORMAT_VERSION,
            serde_json::json!({ "environments": self.0 }),
        )
    }
}

pub fn run(session: &Session, args: &CostArgs) -> Result<Exit> {
    let engine = Engine::new(&session.project)?;
    let mut costs = Vec::new();
    for env in session.environments(&args.selection)? {
        let stacks = render::render_env(&engine, &env)?;
        let prices = PriceTable::load(&session.project, &env)?;
        costs.push(EnvCost {
            estimate: cost::estimate_rendered(&stacks, &prices),
            env: env.name,
            region: env.region,
        });
    }
    Ok(session.printer.print(&Costs(costs), args.format)?)
}
