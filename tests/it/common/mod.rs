//! Helpers shared by the integration test binaries.

use std::path::PathBuf;

/// The repository root (the example project lives here too).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A tool from the project's Python virtual environment. Fails loudly when the
/// environment is missing: these tests never skip silently.
pub fn venv_tool(name: &str) -> PathBuf {
    let venv = std::env::var_os("MLINFRA_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv"));
    let tool = venv.join("bin").join(name);
    assert!(
        tool.exists(),
        "{} is missing: run scripts/python-tools.sh (or the README's test command, scripts/test.sh)",
        tool.display()
    );
    tool
}

/// The `mlinfra` binary built for these tests.
pub fn mlinfra_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mlinfra"))
}

/// insta settings: snapshots live in the top-level `snapshots/` folder.
pub fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo_root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

pub mod linters;
pub mod moto;
pub mod proxy;

/// The `mlinfra` binary as a test runs it: from the repository root (the
/// example project), with no project or colour settings inherited from the
/// caller's shell, and no standard input.
pub struct Cli(std::process::Command);

impl Default for Cli {
    fn default() -> Self {
        Self::new()
    }
}

impl Cli {
    pub fn new() -> Self {
        let mut command = std::process::Command::new(mlinfra_bin());
        command
            .current_dir(repo_root())
            .env_remove("MLINFRA_PROJECT")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("MLINFRA_LOG")
            .stdin(std::process::Stdio::null());
        Self(command)
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.0.args(args);
        self
    }

    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        self.0.envs(vars);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.0.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.0.env_remove(key);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<std::path::Path>) -> Self {
        self.0.current_dir(dir);
        self
    }

    pub fn run(mut self) -> std::process::Output {
        self.0.output().expect("mlinfra runs")
    }

    /// Started, with stdout and stderr piped: for a test that signals it.
    pub fn spawn(mut self) -> std::process::Child {
        self.0
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("mlinfra starts")
    }
}

pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// What a user sees of one run, for snapshots: the exit code, stdout and
/// stderr together, so none of them can change unnoticed.
pub fn transcript(output: &std::process::Output) -> String {
    format!(
        "exit code: {}\n--- stdout\n{}--- stderr\n{}",
        output
            .status
            .code()
            .map_or_else(|| "killed".to_string(), |c| c.to_string()),
        stdout(output),
        stderr(output)
    )
}

/// Fails unless the run exited with `code`, showing everything it printed.
#[track_caller]
pub fn assert_exit_code(output: &std::process::Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{}", transcript(output));
}

/// Fails unless stderr holds `part`, showing stderr.
#[track_caller]
pub fn assert_stderr_has(output: &std::process::Output, part: &str) {
    let text = stderr(output);
    assert!(text.contains(part), "{part:?} not in stderr:\n{text}");
}

/// What a reader sees of Markdown: its text and code spans, in order, as a
/// CommonMark parser (with GitHub's tables and strikethrough) reads them, and
/// how many emphasised runs it found.
pub fn commonmark_reading(markdown: &str) -> (String, usize) {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let mut text = String::new();
    let mut emphasis = 0;
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_GFM;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::Html(t) | Event::InlineHtml(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => text.push(' '),
            Event::Start(Tag::Emphasis | Tag::Strikethrough) => emphasis += 1,
            _ => {}
        }
    }
    (text, emphasis)
}

/// Copies the example's training code into a project directory, so that a
/// copy of the example environments (whose `source_dir` names it) validates.
pub fn copy_example_code(project: &std::path::Path) {
    for (path, bytes) in mlinfra::project::EXAMPLE_SOURCES {
        let target = project.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, bytes).unwrap();
    }
}

/// A new project made by `init` in a temporary directory: the scaffold's
/// abstract base and its deployable `dev` and `prod` (an `ml.m5.large`
/// endpoint and an `ml.g4dn.xlarge` training job, in us-east-1).
pub fn scaffolded() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let init = Cli::new()
        .args(["init"])
        .args([dir.path()])
        .args(["--name", "demo"])
        .run();
    assert!(init.status.success(), "{init:?}");
    dir
}
