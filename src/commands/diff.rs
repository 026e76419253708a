//! `mlinfra diff`: rendered against deployed templates, structurally.

use crate::cli::Session;
use crate::cli::args::DiffArgs;
use crate::cli::session::runtime;
use crate::diff::{self, StackDiff};
use crate::error::Result;
use crate::exit::Exit;
use crate::output::{self, Printer, Report};
use crate::plan::PlanError;

struct Diffs(Vec<StackDiff>);

/// Bumped when the JSON of `diff` changes shape.
pub const FORMAT_VERSION: u32 = 1;

impl Report for Diffs {
    fn kind(&self) -> &'static str {
        "diff"
    }

    fn exit(&self) -> Exit {
        if self.0.iter().any(StackDiff::has_differences) {
            Exit::Changes
        } else {
            Exit::Clean
        }
    }

    fn human(&self, _: &Printer) -> String {
        diff::render_human(&self.0)
    }

    fn json(&self) -> String {
        output::versioned_json(FORMAT_VERSION, serde_json::json!({ "stacks": self.0 }))
    }

    fn markdown(&self) -> Option<String> {
        Some(diff::render_markdown(&self.0))
    }
}

pub fn run(session: &Session, args: &DiffArgs) -> Result<Exit> {
    let (env, mut rendered) = session.prepare(&args.env)?;
    if let Some(layer) = args.stack {
        rendered.retain(|stack| stack.spec.layer == layer);
    }
    runtime()?.block_on(async {
        let clients = session.connect(&env, &args.aws).await?;
        let diffs = diff::diff_stacks(&clients.cfn, &rendered)
            .await
            .map_err(PlanError::from)?;
        let again = format!("mlinfra diff --env {} --format markdown", args.env);
        let comment = session.comment(Diffs(diffs), "diff", &args.env, again);
        Ok(session.printer.print(&comment, args.format)?)
    })
}
