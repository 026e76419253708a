#!/usr/bin/env bash
# Creates the project-local Python virtual environment with the pinned tools the
# test suite drives: moto's server (AWS emulator), cfn-lint, checkov (with
# policy_sentry) and botocore's service models. python-requirements.txt is a
# lock of every package with its hashes, compiled from python-requirements.in:
#   pip-compile --generate-hashes --allow-unsafe --strip-extras \
#     -o scripts/python-requirements.txt scripts/python-requirements.in
# Idempotent: a venv whose lock already matches is reused.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
req="$root/scripts/python-requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
# A venv left half-built by an interrupted run is started afresh.
python3 -m venv --clear "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$req"
echo "$want" > "$stamp"
