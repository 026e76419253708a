//! `mlinfra apply`: execute change sets in dependency order.

use std::path::Path;

use crate::apply::{self, ApplyError, ApplyOptions, RequireApproval, progress::Progress};
use crate::cli::Session;
use crate::cli::args::ApplyArgs;
use crate::cli::session::runtime;
use crate::config::Env;
use crate::error::Result;
use crate::exit::Exit;
use crate::plan::document;
use crate::render::RenderedStack;
use crate::stacks::Layer;

pub fn run(session: &Session, args: &ApplyArgs) -> Result<Exit> {
    // Refuse before loading anything when nobody can confirm.
    apply::check_confirmable(args.plan.is_some(), args.yes)?;
    let (env, rendered) = match &args.plan {
        Some(path) => reviewed(session, &args.env, path, args.stack)?,
        None => {
            let (env, mut rendered) = session.prepare(&args.env)?;
            if let Some(layer) = args.stack {
                rendered.retain(|stack| stack.spec.layer == layer);
            }
            (env, rendered)
        }
    };
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
        project: session
            .project
            .is_present()
            .then(|| session.project.clone()),
        code: match &args.plan {
            // Without a checkout, the packages reviewed with the plan.
            Some(path) if !session.project.is_present() => crate::code::kept_uploads(path, &env)?,
            _ => crate::code::uploads(&session.project, &env)?,
        },
        // One stack's apply; the fleet's templates need every stack.
        without_fleet: args.stack.is_some(),
    };
    let printer = &session.printer;
    runtime()?.block_on(async {
        let clients = session.connect(&env, &args.aws).await?;
        let progress = Progress::for_printer(printer);
        apply::run(&clients, &env, &rendered, &options, &progress, printer).await?;
        Ok(Exit::Clean)
    })
}

/// The environment and templates a plan file was reviewed with. Without a
/// project checkout (a pipeline's apply stage gets the plan file alone) they
/// come from the file; with one, the checkout must render exactly them. A
/// plan made with `--stack` is applied to that stack alone.
fn reviewed(
    session: &Session,
    name: &str,
    path: &Path,
    stack: Option<Layer>,
) -> Result<(Env, Vec<RenderedStack>)> {
    let file = document::read_file(path).map_err(ApplyError::from)?;
    if stack.is_some() && stack != file.stack {
        return Err(ApplyError::WrongPlan(format!(
            "{}: the plan is for {}, not --stack {}; apply it without --stack, or plan that stack",
            path.display(),
            file.stack
                .map_or_else(|| "every stack".to_string(), |s| format!("--stack {s}")),
            stack.map(Layer::as_str).unwrap_or_default()
        ))
        .into());
    }
    let reviewed = file.reviewed;
    if reviewed.env.name != name {
        return Err(ApplyError::WrongPlan(format!(
            "{}: the plan is for environment `{}`, not `{name}`",
            path.display(),
            reviewed.env.name
        ))
        .into());
    }
    if !session.project.is_present() {
        session.printer.detail(&format!(
            "no project at {}: applying the settings and templates reviewed in {}",
            session.project.label(),
            path.display()
        ));
        let rendered = reviewed.rendered();
        return Ok((reviewed.env, rendered));
    }
    let (env, mut rendered) = session.prepare(name)?;
    if let Some(layer) = file.stack {
        rendered.retain(|stack| stack.spec.layer == layer);
    }
    let differences = reviewed.differences(&env, &rendered);
    if !differences.is_empty() {
        return Err(ApplyError::CheckoutDiffers(differences).into());
    }
    Ok((env, rendered))
}
