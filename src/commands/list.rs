//! `mlinfra list`: the deployable environments and their stacks.

use serde::Serialize;

use crate::cli::Session;
use crate::cli::args::ListArgs;
use crate::error::Result;
use crate::exit::Exit;
use crate::output::{self, Printer, Report};
use crate::stacks::{self, StackSpec};

#[derive(Debug, Serialize)]
struct Listed {
    env: String,
    account_id: String,
    region: String,
    stacks: Vec<StackSpec>,
}

struct Listing(Vec<Listed>);

/// Bumped when the JSON of `list` changes shape.
pub const FORMAT_VERSION: u32 = 1;

impl Report for Listing {
    fn kind(&self) -> &'static str {
        "environment list"
    }

    fn json(&self) -> String {
        output::versioned_json(
            FORMAT_VERSION,
            serde_json::json!({ "environments": self.0 }),
        )
    }

    fn human(&self, _: &Printer) -> String {
        output::table(
            &[
                "ENVIRONMENT",
                "ACCOUNT",
                "REGION",
                "STACKS (in deploy order)",
            ],
            self.0.iter().map(|env| {
                let names: Vec<&str> = env.stacks.iter().map(|s| s.name.as_str()).collect();
                [
                    env.env.clone(),
                    env.account_id.clone(),
                    env.region.clone(),
                    names.join(", "),
                ]
            }),
        )
    }
}

pub fn run(session: &Session, args: &ListArgs) -> Result<Exit> {
    let listing = Listing(
        session
            .all_environments()?
            .iter()
            .map(|env| Listed {
                env: env.name.clone(),
                account_id: env.account_id.clone(),
                region: env.region.clone(),
                stacks: stacks::stacks(env),
            })
            .collect(),
    );
    Ok(session.printer.print(&listing, args.format)?)
}
