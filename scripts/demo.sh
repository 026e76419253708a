#!/usr/bin/env bash
# The main job on the built-in example project, with no AWS account: render
# and check every environment, then plan, apply, re-plan (a no-op) and check
# drift of `dev` against a local AWS emulator — the project's launcher
# scripts/moto-server.py, moto's server with its CloudFormation gaps filled —
# started here on a free loopback port and stopped at the end. A fresh apply
# has no drift; then changes made behind the tool's back (AdministratorAccess
# attached to the execution role; prod's autoscaling maximum raised, on a
# second emulator in prod's account) are caught by drift with exit 2.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/python-tools.sh
cargo build --release --quiet
python="$root/.venv/bin/python"
mlinfra() { "$root/target/release/mlinfra" --example "$@"; }

logs="$(mktemp -d)"
servers=()
stop_emulators() {
  local pid
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 1
  # A server still busy after SIGTERM holds nothing worth keeping.
  for pid in "${servers[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$logs"
}
trap stop_emulators EXIT

# Starts the launcher for ACCOUNT and sets AWS_ENDPOINT_URL once it answers as
# the launcher: a stock moto_server lacks the fixes the stacks need, so the
# demo refuses it rather than fail later with "No export named …".
emulator() {
  local account=$1 port
  port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  MOTO_ACCOUNT_ID="$account" MOTO_IAM_LOAD_MANAGED_POLICIES=true \
    "$python" scripts/moto-server.py -H 127.0.0.1 -p "$port" > "$logs/moto-$account.log" 2>&1 &
  servers+=($!)
  for _ in $(seq 1 150); do
    if "$python" - "$port" 2>/dev/null <<'EOF'
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/mlinfra-emulator") as r:
    sys.exit(0 if r.headers.get("x-mlinfra-emulator") == "scripts/moto-server.py" else 1)
EOF
    then
      export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
      return
    fi
    sleep 0.2
  done
  echo "the emulator on port $port does not answer as scripts/moto-server.py (a stock moto_server?):" >&2
  cat "$logs/moto-$account.log" >&2
  exit 1
}

# An out-of-band change, made with the emulator's AWS API as a person would.
behind_the_back() {
  "$python" - "$@" <<'EOF'
import sys, boto3
endpoint, what = sys.argv[1], sys.argv[2]
kw = dict(endpoint_url=endpoint, region_name="us-east-1")
if what == "attach-admin":
    boto3.client("iam", **kw).attach_role_policy(
        RoleName=sys.argv[3], PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
elif what == "raise-scaling-max":
    autoscaling = boto3.client("application-autoscaling", **kw)
    target = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"][0]
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=target["ResourceId"],
        ScalableDimension=target["ScalableDimension"], MaxCapacity=int(sys.argv[3]))
EOF
}

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
step() { printf '\n\033[1m$ mlinfra %s\033[0m\n' "$*"; }
note() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
# Drift must find what it should: 0 (in sync) or 2 (drift found).
drift_expect() {
  local want=$1 got=0
  shift
  step drift "$@"
  mlinfra drift "$@" || got=$?
  if [ "$got" -ne "$want" ]; then
    echo "drift exited $got, expected $want" >&2
    exit 1
  fi
}

step render --all --out build/;   mlinfra render --all --out build/
step check --all;                 mlinfra check --all

emulator 123456789012
step plan --env dev;              mlinfra plan --env dev || [ $? -eq 2 ]
step apply --env dev --yes;       mlinfra apply --env dev --yes
step plan --env dev;              mlinfra plan --env dev
drift_expect 0 --env dev
note "behind the tool's back: aws iam attach-role-policy --role-name dogbreed-dev-sagemaker-execution --policy-arn arn:aws:iam::aws:policy/AdministratorAccess"
behind_the_back "$AWS_ENDPOINT_URL" attach-admin dogbreed-dev-sagemaker-execution
drift_expect 2 --env dev
step status --env dev;            mlinfra status --env dev

note "prod, in its own account (345678901234): autoscaling 1–3, termination protection and a stack policy on its data stack"
emulator 345678901234
step apply --env prod --yes --approve-broadening
mlinfra apply --env prod --yes --approve-broadening
drift_expect 0 --env prod
note "behind the tool's back: aws application-autoscaling register-scalable-target ... --max-capacity 10"
behind_the_back "$AWS_ENDPOINT_URL" raise-scaling-max 10
drift_expect 2 --env prod
step cost --env prod;             mlinfra cost --env prod
