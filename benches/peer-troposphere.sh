#!/usr/bin/env bash
# Peer comparison: `mlinfra render --all --out` against troposphere building
# the same four stacks per environment from the same TOML files
# (peer/troposphere_stacks.py), 100 environments, measured in one run with
# hyperfine. Before timing, every template of both is compared: the figures
# are for the same JSON.
#
#   MLINFRA_VENV=/path/to/venv benches/peer-troposphere.sh [runs] [environments]
#
# troposphere is installed into $MLINFRA_VENV (default .venv), not into the
# test requirements. Needs: cargo, jq; hyperfine is installed when missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
runs="${1:-15}"
count="${2:-100}"
venv="${MLINFRA_VENV:-$root/.venv}"
python="$venv/bin/python"
[ -x "$python" ] || { echo "no Python virtual environment at $venv (set MLINFRA_VENV)" >&2; exit 1; }
"$python" -c 'import troposphere' 2>/dev/null || "$venv/bin/pip" install --quiet troposphere

need_hyperfine
build_release
work="$(scratch)"
trap 'rm -rf "$work"' EXIT
gen_project "$work/project" "$count"
peer="$root/benches/peer/troposphere_stacks.py"

"$bin" --project "$work/project" render --all --out "$work/mlinfra" 2>/dev/null
"$python" "$peer" "$work/project" "$work/troposphere"
"$python" - "$work/mlinfra" "$work/troposphere" <<'PY'
import json, pathlib, sys
a, b = map(pathlib.Path, sys.argv[1:])
# The four stacks per environment; each pipeline's readable companion
# (*.pipeline.json beside the training stack) is not a template.
stacks = lambda d: sorted(p.relative_to(d) for p in d.rglob("*.json") if not p.name.endswith(".pipeline.json"))
files, peer = stacks(a), stacks(b)
assert files == peer, "the two renderings name different files"
different = [str(f) for f in files if json.loads((a / f).read_text()) != json.loads((b / f).read_text())]
if different:
    sys.exit(f"troposphere's templates differ from mlinfra's: {different[:5]}")
print(f"{len(files)} templates, the same JSON from both")
PY
rm -rf "$work/mlinfra" "$work/troposphere"

echo "$count environments, $("$python" -c 'import importlib.metadata as m; print("troposphere", m.version("troposphere"))'), Python $("$python" -c 'import platform; print(platform.python_version())'), $(nproc) cores"
measure "mlinfra render --all --out" "$runs" "rm -rf $work/out" "$bin --project $work/project render --all --out $work/out"
ours=$median_ms
measure "troposphere (same stacks, same files)" "$runs" "rm -rf $work/out" "$python $peer $work/project $work/out"
theirs=$median_ms
measure "python start and troposphere import alone" "$runs" "" "$python -c import\ troposphere.applicationautoscaling,troposphere.cloudwatch,troposphere.iam,troposphere.kms,troposphere.s3,troposphere.sagemaker"
awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "  mlinfra takes %.3f of troposphere'"'"'s time (%.1f× faster)\n", a / b, b / a }'
# The goal holds on one core too: both again, pinned to the same core.
if one_core; then
  pin="taskset -c 0"
  measure "mlinfra render --all --out, one core" "$runs" "rm -rf $work/out" \
    "$bin --project $work/project render --all --out $work/out"
  ours=$median_ms
  measure "troposphere, one core" "$runs" "rm -rf $work/out" \
    "$python $peer $work/project $work/out"
  theirs=$median_ms
  pin=""
  awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "  on one core, mlinfra takes %.3f of troposphere'"'"'s time (%.1f× faster)\n", a / b, b / a }'
fi
