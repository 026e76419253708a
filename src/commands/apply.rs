//! `mlinfra apply`: execute change sets in dependency order.

use crate::apply::{self, ApplyOptions, RequireApproval, progress::Progress};
use crate::cli::Session;
use crate::cli::args::ApplyArgs;
use crate::cli::session::runtime;
use crate::cloud;
use crate::error::Result;
use crate::exit::Exit;

pub fn run(session: &Session, args: &ApplyArgs) -> Result<Exit> {
    // Refuse before loading anything when nobody can confirm.
    apply::check_confirmable(args.plan.is_some(), args.yes)?;
    let (env, rendered) = session.prepare(&args.env)?;
    let options = ApplyOptions {
        plan_file: args.plan.clone(),
        yes: args.yes,
        allow_data_loss: args.allow_data_loss.clone(),
        recreate_rolled_back: args.recreate_rolled_back,
        require_approval: args
            .require_approval
            .unwrap_or_else(|| RequireApproval::default_for(&env)),
        approve_broadening: args.approve_broadening,
        remove_protection: args.remove_protection,
        code: crate::code::uploads(&session.project, &env)?,
    };
    let printer = &session.printer;
    runtime()?.block_on(async {
        let clients = cloud::connect(&env, args.aws.endpoint_url.as_deref()).await?;
        let progress = Progress::for_printer(printer);
        apply::run(&clients, &env, &rendered, &options, &progress, printer).await?;
        Ok(Exit::Clean)
    })
}
