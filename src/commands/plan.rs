//! `mlinfra plan`: change sets, classified; the plan file for `apply --plan`.

use crate::cli::Session;
use crate::cli::args::PlanArgs;
use crate::cli::session::runtime;
use crate::cloud;
use crate::error::Result;
use crate::exit::Exit;
use crate::plan::{self, PlanError, PlanOptions};

pub fn run(session: &Session, args: &PlanArgs) -> Result<Exit> {
    let (env, rendered) = session.prepare(&args.env)?;
    let printer = &session.printer;
    runtime()?.block_on(async {
        let clients = cloud::connect(&env, args.aws.endpoint_url.as_deref()).await?;
        let options = PlanOptions {
            allow_data_loss: args.allow_data_loss.clone(),
        };
        let plan = plan::plan(&clients, &env, &rendered, &options, printer).await?;
        let exit = printer.print(&plan, args.format)?;
        match &args.out {
            Some(path) => {
                super::render::write_file(path, &plan::document::to_json(&plan))?;
            }
            None => {
                if plan.change_sets().next().is_some() {
                    plan::discard_all(&clients, &plan)
                        .await
                        .map_err(PlanError::from)?;
                    printer.notice(
                        "change sets deleted (keep them for `apply --plan` with `plan --out plan.json`)",
                    );
                }
            }
        }
        Ok(exit)
    })
}
