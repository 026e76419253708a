# Shared by the benchmark scripts: the release binary, generated projects,
# hyperfine and the median of its runs. Sourced, not run.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
# MLINFRA_BIN measures a binary already built (no cargo build then).
bin="${MLINFRA_BIN:-$target/release/mlinfra}"

# Extra cargo arguments go in $BENCH_CARGO_ARGS, e.g. `--config
# profile.release.package.aws-sdk-sagemaker.opt-level=0` for a quicker
# release build: no AWS client runs in render or validate.
build_release() {
  [ -n "${MLINFRA_BIN:-}" ] && return
  # shellcheck disable=SC2086
  (cd "$root" && cargo build --release --quiet ${BENCH_CARGO_ARGS:-})
}

# hyperfine runs every measurement; install it when it is missing.
need_hyperfine() {
  command -v hyperfine >/dev/null && return
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "installing hyperfine (apt-get)" >&2
    apt-get update -qq >&2 && apt-get install -y -qq hyperfine >&2
  fi
  command -v hyperfine >/dev/null || {
    echo "hyperfine is missing: install it (apt-get install hyperfine, or cargo install hyperfine)" >&2
    exit 1
  }
}

# A scratch folder on tmpfs when there is one: the figures are then the
# program's, not the disk's.
scratch() {
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    mktemp -d /dev/shm/mlinfra-bench.XXXXXX
  else
    mktemp -d
  fi
}

# gen_project DIR N: the example's base.toml and N environments extending it,
# each with its own account, region, tags, spot wait and autoscaling bounds.
gen_project() {
  local dir="$1" n="$2" width=${#2}
  mkdir -p "$dir/environments"
  cp "$root/environments/base.toml" "$dir/environments/base.toml"
  # The base's training job packages the example's code from the project.
  cp -r "$root/training" "$dir/training"
  local regions=(us-east-1 us-west-2 eu-west-1 eu-central-1 ap-southeast-2)
  local i name region
  for ((i = 0; i < n; i++)); do
    name=$(printf "e%0${width}d" "$i")
    # SageMaker pulls images only from ECR in its own region.
    region=${regions[$((i % ${#regions[@]}))]}
    cat > "$dir/environments/$name.toml" <<TOML
extends = "base"

[env]
account_id = "$(printf '%012d' $((100000000000 + i)))"
region = "$region"
termination_protection = $([ $((i % 2)) -eq 0 ] && echo true || echo false)
tags = { stage = "$name" }

[training.dogbreed]
image = "763104351884.dkr.ecr.$region.amazonaws.com/pytorch-training:2.1.0-gpu-py310"
spot = { max_wait = "$((2 + i % 5))h" }

[endpoints.dogbreed]
image = "763104351884.dkr.ecr.$region.amazonaws.com/pytorch-inference:2.1.0-cpu-py310"
autoscaling = { min = 1, max = $((2 + i % 4)), target_invocations_per_instance = $((50 + i)), scale_in_cooldown = "5m", scale_out_cooldown = "30s" }
TOML
  done
}

# measure LABEL RUNS PREPARE COMMAND: hyperfine's median and spread, in ms,
# printed as one line and kept in $median_ms. With $pin set (e.g. `taskset
# -c 0`), hyperfine itself runs under it and its commands inherit the one
# core, so no measurement pays for starting `taskset`.
measure() {
  local label="$1" runs="$2" prepare="$3" command="$4" json
  json="$(mktemp)"
  # shellcheck disable=SC2086
  ${pin:-} hyperfine --style none --shell=none --warmup 2 --runs "$runs" \
    ${prepare:+--prepare "$prepare"} --export-json "$json" "$command" >/dev/null
  read -r median_ms min_ms max_ms cpu_ms < <(jq -r \
    '.results[0] | [.median, .min, .max, .user + .system] | map(. * 1000 * 100 | round / 100) | @tsv' "$json")
  rm -f "$json"
  # CPU time (user + system, mean) says more than wall time on a busy machine.
  printf '  %-46s median %8.2f ms   (min %.2f, max %.2f, CPU %.2f ms, %d runs)\n' \
    "$label" "$median_ms" "$min_ms" "$max_ms" "$cpu_ms" "$runs"
}

# one_core: true when the machine has more than one core and taskset can pin
# a process to one of them.
one_core() {
  command -v taskset >/dev/null && [ "$(nproc)" -gt 1 ]
}

# peak_kib COMMAND...: the maximum resident set size of one run, in KiB.
peak_kib() {
  local out
  out="$(mktemp)"
  /usr/bin/time -f '%M' -o "$out" "$@" >/dev/null 2>&1
  tail -n 1 "$out"
  rm -f "$out"
}
