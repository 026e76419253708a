#!/usr/bin/env bash
# Builds mlinfra for Linux x86_64 from this checkout and runs its
# `pipeline --deploy`: the delivery stack is created or updated, and that
# binary uploaded to the stack's artifact bucket with its SHA-256, which the
# pipeline's builds verify (see docs/ci-cd.md). Arguments are passed on.
#
# Usage: scripts/publish-binary.sh --connection-arn ARN --repository OWNER/NAME [--yes] [...]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --target x86_64-unknown-linux-gnu
exec target/x86_64-unknown-linux-gnu/release/mlinfra pipeline --deploy "$@"
