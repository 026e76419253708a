#!/usr/bin/env bash
# Benchmark: render 100 generated environments (400 templates) end to end with
# the release binary — load, extends merge, validation, tera rendering,
# canonical JSON, files written — and report the median wall time and the
# peak memory (max RSS) over several runs.
#
#   benches/render-100.sh [runs]      (default 7 runs)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-7}"
cd "$root"
cargo build --release --quiet
bin="$root/target/release/mlinfra"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/environments"
cp environments/base.toml "$work/environments/base.toml"
regions=(us-east-1 us-west-2 eu-west-1 eu-central-1 ap-southeast-2)
for i in $(seq 0 99); do
  n=$(printf '%03d' "$i")
  region=${regions[$((i % ${#regions[@]}))]}
  account=$(printf '%012d' $((100000000000 + i)))
  {
    echo 'extends = "base"'
    echo
    echo '[env]'
    echo "account_id = \"$account\""
    echo "region = \"$region\""
    echo "termination_protection = $([ $((i % 2)) -eq 0 ] && echo true || echo false)"
    echo "tags = { stage = \"e$n\" }"
    echo
    echo '[training.dogbreed]'
    echo "spot = { max_wait = \"$((2 + i % 5))h\" }"
    echo
    echo '[endpoints.dogbreed]'
    echo "autoscaling = { min = 1, max = $((2 + i % 4)), target_invocations_per_instance = $((50 + i)), scale_in_cooldown = \"5m\", scale_out_cooldown = \"30s\" }"
  } > "$work/environments/e$n.toml"
done

# Runs the render `runs` times writing under $1; prints the figures.
measure() {
  local out="$1"
  times=()
  cpu=()
  peak=0
  for _ in $(seq 1 "$runs"); do
    rm -rf "$out"
    start=$(date +%s%N)
    /usr/bin/time -f '%M %U %S' -o "$work/rss" "$bin" --project "$work" render --all --out "$out" 2>/dev/null
    end=$(date +%s%N)
    times+=("$(( (end - start) / 1000000 ))")
    read -r rss user sys < <(tail -n 1 "$work/rss")
    cpu+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%d", (u + s) * 1000 }')")
    [ "$rss" -gt "$peak" ] && peak=$rss
  done
  count=$(find "$out" -name '*.json' | wc -l)
  [ "$count" -eq 400 ] || { echo "expected 400 templates, found $count" >&2; exit 1; }
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  cpu_median=$(printf '%s\n' "${cpu[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  echo "  wall time: median ${median} ms (runs, ms: ${times[*]})"
  echo "  CPU time (user + system): median ${cpu_median} ms (10 ms resolution)"
  echo "  peak memory: $((peak / 1024)) MiB (max RSS ${peak} KiB)"
}

echo "render 100 environments (400 templates, files written), $runs runs each"
echo "output on disk ($(df -T "$work" | awk 'NR==2 { print $2 }'), $work):"
measure "$work/out"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  shm="$(mktemp -d /dev/shm/mlinfra-bench.XXXXXX)"
  trap 'rm -rf "$work" "$shm"' EXIT
  echo "output on tmpfs (the same work without the disk's file-creation cost):"
  measure "$shm/out"
fi
