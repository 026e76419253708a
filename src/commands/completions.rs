//! `mlinfra completions SHELL`: the shell's registration script. The script
//! calls `mlinfra` back on every Tab (`COMPLETE=SHELL mlinfra -- WORDS…`,
//! clap's dynamic completion), so candidates come from the project at hand:
//! `--env` offers its deployable environments, as `list` shows them.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::Shells;

use crate::cli::Session;
use crate::cli::args::{Cli, CompletionsArgs};
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::project::Project;

/// The variable that turns a run into a completion request.
pub const COMPLETE_VAR: &str = "COMPLETE";

pub fn run(session: &Session, args: &CompletionsArgs) -> Result<Exit> {
    let name = args.shell.to_string();
    let shells = Shells::builtins();
    let shell = shells
        .completer(&name)
        .ok_or_else(|| Error::Usage(format!("no dynamic completion for {name}")))?;
    let mut script = Vec::new();
    shell
        .write_registration(COMPLETE_VAR, "mlinfra", "mlinfra", "mlinfra", &mut script)
        .map_err(Error::Stdout)?;
    session.out(&String::from_utf8_lossy(&script))?;
    Ok(Exit::Clean)
}

/// The command line as completion sees it: every `--env` completes to the
/// project's deployable environments.
pub fn command() -> clap::Command {
    // Subcommands build their arguments only when they run; completion
    // looks at every one, so all are built first.
    let mut command = Cli::command();
    command.build();
    with_env_names(command)
}

fn with_env_names(command: clap::Command) -> clap::Command {
    let command = if command.get_arguments().any(|a| a.get_id() == "env") {
        command.mut_arg("env", |arg| arg.add(ArgValueCandidates::new(candidates)))
    } else {
        command
    };
    let subcommands: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    subcommands
        .iter()
        .fold(command, |c, name| c.mut_subcommand(name, with_env_names))
}

fn candidates() -> Vec<CompletionCandidate> {
    let project = project_of(std::env::args_os(), std::env::var_os("MLINFRA_PROJECT"));
    env_names(&project)
        .into_iter()
        .map(CompletionCandidate::new)
        .collect()
}

/// The deployable environments of `project`; nothing when it cannot be read
/// (a Tab press is no place for an error message).
pub fn env_names(project: &Project) -> Vec<String> {
    crate::config::deployable_environments(project).unwrap_or_default()
}

/// The project the words being completed name (`--project DIR`,
/// `--project=DIR`, `--example`), else `MLINFRA_PROJECT`, else here.
pub fn project_of(args: impl IntoIterator<Item = OsString>, from_env: Option<OsString>) -> Project {
    let args: Vec<OsString> = args.into_iter().collect();
    // The words typed follow the `--` the registration script puts after
    // the completer's own name.
    let words = match args.iter().position(|a| a == "--") {
        Some(i) => &args[i + 1..],
        None => &args[..],
    };
    let mut dir = from_env.map(PathBuf::from);
    let mut words = words.iter();
    while let Some(word) = words.next() {
        let text = word.to_string_lossy();
        if text == "--example" {
            return Project::Example;
        } else if text == "--project" {
            dir = words.next().map(PathBuf::from).or(dir);
        } else if let Some(value) = text.strip_prefix("--project=") {
            dir = Some(PathBuf::from(value));
        }
    }
    Project::Dir(dir.unwrap_or_else(|| PathBuf::from(".")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<OsString> {
        text.split(' ').map(OsString::from).collect()
    }

    #[test]
    fn the_project_comes_from_the_words_then_the_variable() {
        let dir = |p: &str| Project::Dir(PathBuf::from(p));
        assert_eq!(
            project_of(words("mlinfra -- mlinfra --project a plan --env"), None),
            dir("a")
        );
        assert_eq!(
            project_of(words("mlinfra -- mlinfra --project=b plan --env"), None),
            dir("b")
        );
        assert_eq!(
            project_of(words("mlinfra -- mlinfra --example plan --env"), None),
            Project::Example
        );
        assert_eq!(
            project_of(words("mlinfra -- mlinfra plan --env"), Some("c".into())),
            dir("c")
        );
        assert_eq!(project_of(words("mlinfra -- mlinfra plan"), None), dir("."));
    }

    #[test]
    fn every_env_argument_completes_to_environment_names() {
        let command = command();
        let mut with = Vec::new();
        for sub in command.get_subcommands() {
            for arg in sub.get_arguments().filter(|a| a.get_id() == "env") {
                assert!(
                    arg.get::<ArgValueCandidates>().is_some(),
                    "`{} --env` has no candidates",
                    sub.get_name()
                );
                with.push(sub.get_name().to_string());
            }
        }
        assert!(with.contains(&"plan".to_string()), "{with:?}");
        assert!(with.contains(&"validate".to_string()), "{with:?}");
    }
}
