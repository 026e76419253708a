#!/usr/bin/env bash
# The main job on the built-in example project, with no AWS account: render
# and check every environment, then plan, apply, re-plan (a no-op) and check
# drift of `dev` against a local AWS emulator (moto's server, from the
# project's Python environment), started here on a free loopback port and
# stopped at the end.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/python-tools.sh
cargo build --release --quiet
mlinfra() { "$root/target/release/mlinfra" --example "$@"; }

port=$("$root/.venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log="$(mktemp)"
"$root/.venv/bin/python" scripts/moto-server.py -H 127.0.0.1 -p "$port" > "$log" 2>&1 &
moto=$!
trap 'kill "$moto" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  "$root/.venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null && break
  sleep 0.2
done

export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN

step() { printf '\n\033[1m$ mlinfra %s\033[0m\n' "$*"; }
step render --all --out build/;   mlinfra render --all --out build/
step check --all;                 mlinfra check --all
step plan --env dev;              mlinfra plan --env dev || [ $? -eq 2 ]
step apply --env dev --yes;       mlinfra apply --env dev --yes
step plan --env dev;              mlinfra plan --env dev
step drift --env dev
echo "(moto's CloudFormation skips bucket versioning, public access block and bucket"
echo " keys, so drift rightly reports them against the emulator)"
mlinfra drift --env dev || [ $? -eq 2 ]
step status --env dev;            mlinfra status --env dev
step cost --env prod;             mlinfra cost --env prod
