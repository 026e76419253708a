#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs the pinned Python tools
# (moto's server, cfn-lint, checkov) into .venv, checks formatting and lints,
# then runs every Rust test — snapshots, CLI, linters over every rendered
# template, emulator integration and fault injection — in one cargo
# invocation, so nothing compiles twice.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# The Python tools install while Rust compiles: only the tests need them.
tools_log="$(mktemp)"
scripts/python-tools.sh >"$tools_log" 2>&1 &
tools=$!
# Whatever stops this script, the install is waited for, never left running.
trap 'wait "$tools" 2>/dev/null || true; rm -f "$tools_log"' EXIT

cargo fmt --all --check
# clippy-driver compiles the project's own crates for the test build, so
# linting costs no second build: `cargo clippy` would check every dependency
# again in its own profile. The build below and the run after it use the same
# flags, so the run compiles nothing.
export RUSTC_WORKSPACE_WRAPPER="$(command -v clippy-driver)"
export CLIPPY_ARGS="-Dwarnings"
cargo test --locked --all-targets --no-run

if ! wait "$tools"; then
  cat "$tools_log" >&2
  echo "scripts/python-tools.sh failed: the tests need its virtual environment" >&2
  exit 1
fi
cat "$tools_log"
export MLINFRA_VENV="$root/.venv"
# The emulator and linter tests spend a share of their time waiting on the
# processes they start: one test thread more than cores keeps the cores busy.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-$(($(nproc) + 1))}"
cargo test --locked --all-targets "$@"
