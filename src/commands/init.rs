//! `mlinfra init DIR`: a new project whose environments validate at once.

use crate::cli::Session;
use crate::cli::args::InitArgs;
use crate::error::{Error, Result};
use crate::exit::Exit;

pub fn run(session: &Session, args: &InitArgs) -> Result<Exit> {
    let dir = &args.dir;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => std::fs::canonicalize(dir)
            .unwrap_or_else(|_| dir.to_path_buf())
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
            .ok_or_else(|| {
                Error::Usage("cannot derive a project name from the directory; pass --name".into())
            })?,
    };
    let written = crate::scaffold::init(dir, &name)?;
    let mut text = String::new();
    for path in written {
        text.push_str(&format!("created {}\n", path.display()));
    }
    text.push_str(&format!(
        "next: set the account ids, then `mlinfra --project {} validate --all`\n",
        dir.display()
    ));
    session.out(&text)?;
    Ok(Exit::Clean)
}
