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
    if let Some(path) = &args.discard {
        return discard(session, args, path);
    }
    let Some(name) = &args.env else {
        return run_all(session, args);
    };
    let (env, mut rendered) = session.prepare(name)?;
    if let Some(layer) = args.stack {
        rendered.retain(|stack| stack.spec.layer == layer);
    }
    if let Some(path) = &args.out {
        writable(path)?;
    }
    let printer = &session.printer;
    runtime()?.block_on(async {
        let clients = session.connect(&env, &args.aws).await?;
        let options = PlanOptions {
            allow_data_loss: args.allow_data_loss.clone(),
            project: Some(session.project.clone()),
            // One stack's plan; the fleet's templates need every stack.
            without_fleet: args.stack.is_some(),
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
                let mut reviewed = plan::reviewed::Reviewed::new(&env, &rendered);
                if let (Some(fleet), Some(_)) = (&env.fleet, &plan.fleet) {
                    reviewed = reviewed.with_fleet(&crate::fleet::render(&env, fleet, &rendered)?);
                }
                let file = plan::document::PlanFile {
                    reviewed,
                    plan,
                    stack: args.stack,
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
        without_fleet: false,
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

/// `plan --discard plan.json`: the change sets a kept plan holds are
/// deleted (with the empty stack a never-executed create leaves), and so are
/// the code packages kept beside it, which serve only that plan's apply. The
/// plan file stays: it is the record of what was reviewed, and `apply --plan`
/// refuses it from now on (its change sets are gone).
fn discard(session: &Session, args: &PlanArgs, path: &Path) -> Result<Exit> {
    let file = plan::document::read_file(path).map_err(crate::apply::ApplyError::from)?;
    let env = file.reviewed.env;
    if let Some(name) = &args.env
        && name != &env.name
    {
        return Err(Error::Usage(format!(
            "{}: the plan is for environment `{}`, not `{name}`",
            path.display(),
            env.name
        )));
    }
    let printer = &session.printer;
    let (mut deleted, mut gone) = (Vec::new(), Vec::new());
    runtime()?.block_on(async {
        let clients = session.connect(&env, &args.aws).await?;
        for stack in &file.plan.stacks {
            let Some(change_set) = &stack.change_set else {
                continue;
            };
            let label = format!("{}: change set {}", stack.stack, change_set.name);
            // Executed, deleted before, or its stack deleted: nothing left to remove.
            let gone_codes = [
                "ChangeSetNotFound",
                "ChangeSetNotFoundException",
                "ValidationError",
            ];
            match clients.cfn.describe_change_set(&change_set.id).await {
                Ok(_) => {
                    plan::discard(&clients, change_set)
                        .await
                        .map_err(PlanError::from)?;
                    deleted.push(label);
                }
                Err(e) if e.has_code(&gone_codes) => gone.push(label),
                Err(e) => return Err(Error::from(PlanError::from(e))),
            }
        }
        Ok::<_, Error>(())
    })?;
    let code = crate::code::kept_beside(path);
    let removed_code = code.is_dir();
    if removed_code {
        std::fs::remove_dir_all(&code).map_err(|source| Error::Write {
            path: code.clone(),
            source,
        })?;
    }
    let mut text = format!(
        "Discarded the plan {} of {}: {} change set(s) deleted",
        path.display(),
        env.name,
        deleted.len()
    );
    if !gone.is_empty() {
        text.push_str(&format!(", {} already gone", gone.len()));
    }
    text.push_str(
        ".
",
    );
    for line in &deleted {
        text.push_str(&format!(
            "  - deleted {line}
"
        ));
    }
    for line in &gone {
        text.push_str(&format!(
            "  - already gone: {line}
"
        ));
    }
    if removed_code {
        text.push_str(&format!(
            "  - removed {}
",
            code.display()
        ));
    }
    printer.detail("the plan file stays as a record; apply refuses it now");
    session.out(&text)?;
    Ok(Exit::Clean)
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
