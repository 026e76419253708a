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

pub mod moto;
