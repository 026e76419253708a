//! `mlinfra destroy`: the plan of what is deleted and kept, consent, then the
//! stacks deleted in reverse dependency order.

use std::io::{BufRead, IsTerminal};

use crate::apply::progress::Progress;
use crate::cli::Session;
use crate::cli::args::DestroyArgs;
use crate::cli::session::runtime;
use crate::destroy::{self, DestroyError, DestroyPlan};
use crate::error::Result;
use crate::exit::Exit;
use crate::output::{Format, Printer};

pub fn run(session: &Session, args: &DestroyArgs) -> Result<Exit> {
    let (env, rendered) = session.prepare(&args.env)?;
    let printer = &session.printer;
    runtime()?.block_on(async {
        let clients = session.connect(&env, &args.aws).await?;
        let mut plan = destroy::plan(&clients, &env, &rendered).await?;
        if plan.stacks.is_empty() {
            printer.print(&plan, args.format)?;
            return Ok(Exit::Clean);
        }
        // JSON readers get one document: the plan, or the outcome.
        if args.format == Format::Human {
            printer.print(&plan, args.format)?;
        }
        consent(printer, &plan, args)?;
        let progress = Progress::for_printer(printer);
        destroy::execute(&clients, &plan, &progress).await?;
        plan.done = true;
        Ok(printer.print(&plan, args.format)?)
    })
}

/// Whoever runs destroy says so: on a terminal by answering (protected
/// environments by typing their name), in CI by flags.
fn consent(
    printer: &Printer,
    plan: &DestroyPlan,
    args: &DestroyArgs,
) -> std::result::Result<(), DestroyError> {
    let why = || {
        let stacks = plan.protected_stacks();
        if stacks.is_empty() {
            "termination_protection = true in its configuration".to_string()
        } else {
            format!("termination protection on {}", stacks.join(", "))
        }
    };
    if !plan.protected && args.allow_destroy_protected {
        return Err(DestroyError::UnusedAllowance(plan.env.clone()));
    }
    if args.yes {
        if plan.protected && !args.allow_destroy_protected {
            return Err(DestroyError::Protected {
                env: plan.env.clone(),
                why: why(),
            });
        }
        if plan.protected {
            printer.notice(&format!(
                "--allow-destroy-protected: termination protection is turned off on {} to delete it",
                plan.protected_stacks().join(", ")
            ));
        }
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(if plan.protected {
            DestroyError::Protected {
                env: plan.env.clone(),
                why: why(),
            }
        } else {
            DestroyError::NeedsYes
        });
    }
    let (question, expected) = if plan.protected {
        (
            format!(
                "{} is protected ({}). Deleting it turns termination protection off. Type the environment's \
                 name to delete its stacks: ",
                plan.env,
                why()
            ),
            plan.env.as_str(),
        )
    } else {
        (
            format!(
                "Delete these stacks of {} (account {})? Only 'yes' is accepted: ",
                plan.env, plan.account_id
            ),
            "yes",
        )
    };
    printer.prompt(&question);
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == expected {
        Ok(())
    } else {
        Err(DestroyError::Declined)
    }
}
