//! `mlinfra plan`: change sets, classified; the plan file for `apply --plan`.

use crate::cli::Session;
use crate::cli::args::PlanArgs;
use crate::cli::session::runtime;
use std::path::Path;

use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::plan::{self, PlanError, PlanOptions};
use crate::report::Plans;

pub fn run(session: &Session, args: &PlanArgs) -> Result<Exit> {
    let Some(name) = &args.env else {
        return run_all(session, args);
    };
    let (env, rendered) = session.prepare(name)?;
    if let Some(path) = &args.out {
        writable(path)?;
    }
    let printer = &session.printer;
    runtime()?.block_on(async {
        let clients = session.connect(&env, &args.aws).await?;
        let options = PlanOptions {
            allow_data_loss: args.allow_data_loss.clone(),
            project: Some(session.project.clone()),
        };
        let waiting = printer.spinner(&format!("planning {name}"));
        let plan = plan::plan(&clients, &env, &rendered, &options, printer).await?;
        drop(waiting);
        let again = format!("mlinfra plan --env {name} --format markdown");
        let comment = session.comment(plan, "plan", name, again);
        let exit = printer.print(&comment, args.format)?;
        let plan = comment.report;
        match &args.out {
            // A blocked plan is not one to apply: no file, no change sets.
            Some(path) if plan.is_blocked() => {
                plan::discard_all(&clients, &plan)
                    .await
                    .map_err(PlanError::from)?;
                printer.notice(&format!(
                    "the plan is blocked: {} not written, change sets deleted",
                    path.display()
                ));
            }
            Some(path) => {
                let file = plan::document::PlanFile {
                    reviewed: plan::reviewed::Reviewed::new(&env, &rendered),
                    plan,
                };
                std::fs::write(path, plan::document::file_json(&file)).map_err(|source| {
                    Error::Write {
                        path: path.clone(),
                        source,
                    }
                })?;
                // Apply may run where only the plan's artifacts are.
                crate::code::keep_beside(path, &crate::code::uploads(&session.project, &env)?)
                    .map_err(|source| Error::Write {
                        path: crate::code::kept_beside(path),
                        source,
                    })?;
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

/// `plan --all`: every deployable environment validated and rendered before
/// the first AWS call, planned one after another, reported together.
fn run_all(session: &Session, args: &PlanArgs) -> Result<Exit> {
    let names: Vec<String> = session
        .all_environments()?
        .into_iter()
        .map(|env| env.name.clone())
        .collect();
    let prepared = names
        .iter()
        .map(|name| session.prepare(name))
        .collect::<Result<Vec<_>>>()?;
    let printer = &session.printer;
    let options = PlanOptions {
        allow_data_loss: args.allow_data_loss.clone(),
        project: Some(session.project.clone()),
    };
    let plans = runtime()?.block_on(async {
        let mut plans = Vec::new();
        for (env, rendered) in &prepared {
            let clients = session.connect(env, &args.aws).await?;
            let waiting = printer.spinner(&format!("planning {}", env.name));
            let plan = plan::plan(&clients, env, rendered, &options, printer).await?;
            drop(waiting);
            if plan.change_sets().next().is_some() {
                plan::discard_all(&clients, &plan)
                    .await
                    .map_err(PlanError::from)?;
            }
            plans.push(plan);
        }
        Ok::<_, Error>(plans)
    })?;
    let again = "mlinfra plan --all --format markdown".to_string();
    Ok(printer.print(
        &session.comment(Plans(plans), "plan", "all", again),
        args.format,
    )?)
}

/// Checks where the plan will be written before any change set exists: a
/// bad `--out` must not leave change sets behind that nothing refers to.
fn writable(path: &Path) -> Result<()> {
    let refuse = |why: &str| Error::Usage(format!("--out {}: {why}", path.display()));
    if path.is_dir() {
        return Err(refuse("is a directory; name a file, e.g. plan.json"));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(refuse("its directory does not exist"));
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| refuse(&format!("cannot be written ({e})")))?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}
