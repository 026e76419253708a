#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs the pinned Python tools
# (moto's server, cfn-lint, checkov) into .venv, checks formatting and lints,
# then runs every Rust test — snapshots, CLI, linters over every rendered
# template, emulator integration and fault injection — in one cargo
# invocation, so nothing compiles twice.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/python-tools.sh
export MLINFRA_VENV="$root/.venv"
cargo fmt --all --check
# clippy-driver compiles the project's own crates for the test build, so
# linting costs no second build: `cargo clippy` would check every dependency
# again in its own profile.
RUSTC_WORKSPACE_WRAPPER="$(command -v clippy-driver)" \
  CLIPPY_ARGS="-Dwarnings" \
  cargo test --locked --all-targets "$@"
