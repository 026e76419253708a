#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs the pinned Python tools
# (moto's server, cfn-lint, checkov) into .venv, then runs every Rust test —
# snapshots, CLI, linters over every rendered template, emulator integration
# and fault injection. One cargo invocation, so nothing compiles twice.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/python-tools.sh
export MLINFRA_VENV="$root/.venv"
cargo test --locked "$@"
