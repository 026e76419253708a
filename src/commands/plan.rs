//! `mlinfra plan`: change sets, classified; the plan file for `apply --plan`.

use crate::cli::Session;
use crate::cli::args::PlanArgs;
use crate::cli::session::runtime;
use std::path::Path;

use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::plan::{self, PlanError, PlanOptions};

pub fn run(session: &Session, args: &PlanArgs) -> Result<Exit> {
    let (env, rendered) = session.prepare(&args.env)?;
    if let Some(path) = &args.out {
        writable(path)?;
    }
    let printer = &session.printer;
    runtime()?.block_on(async {
        let clients = session.connect(&env, &args.aws).await?;
        let options = PlanOptions {
            allow_data_loss: args.allow_data_loss.clone(),
        };
        let plan = plan::plan(&clients, &env, &rendered, &options, printer).await?;
        let exit = printer.print(&plan, args.format)?;
        match &args.out {
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
