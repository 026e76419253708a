#!/usr/bin/env bash
# Benchmark: `validate --all` and `render --all` (to files and to stdout) of 1,
# 100 and 1,000 generated environments with the release binary, against the
# floor of writing the same bytes to the same files from a separate process;
# hyperfine's median of several runs, and the peak memory of one run.
# Output goes to tmpfs when there is one.
#
#   benches/render.sh [runs]          (default 15 runs; 1,000 environments: a third)
#
# Needs: cargo, rustc, jq, /usr/bin/time; hyperfine is installed when missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
runs="${1:-15}"

need_hyperfine
build_release
work="$(scratch)"
trap 'rm -rf "$work"' EXIT
rustc -O --edition 2021 -o "$work/write_floor" "$root/benches/tools/write_floor.rs"

echo "mlinfra $("$bin" --version | cut -d' ' -f2), $(nproc) cores, scratch on $(df -T "$work" | awk 'NR==2 { print $2 }')"
for n in 1 100 1000; do
  r=$runs
  [ "$n" -ge 1000 ] && r=$(( runs / 3 > 5 ? runs / 3 : 5 ))
  project="$work/p$n"
  gen_project "$project" "$n"
  "$bin" --project "$project" render --all --out "$work/reference" 2>/dev/null
  # Four stacks per environment; each pipeline's definition is written
  # beside its stack as a readable companion (*.pipeline.json).
  count=$(find "$work/reference" -name '*.json' ! -name '*.pipeline.json' | wc -l)
  [ "$count" -eq $((4 * n)) ] || { echo "expected $((4 * n)) templates, found $count" >&2; exit 1; }
  files=$(find "$work/reference" -type f | wc -l)
  bytes=$(find "$work/reference" -type f -print0 | xargs -0 cat | wc -c)
  "$work/write_floor" pack "$work/reference" "$work/pack"
  rm -rf "$work/reference"

  echo
  echo "$n environments: $count templates ($files files), $((bytes / 1024)) KiB"
  measure "validate --all" "$r" "" "$bin --project $project validate --all"
  measure "render --all --out" "$r" "rm -rf $work/out" "$bin --project $project render --all --out $work/out"
  render_ms=$median_ms
  measure "write floor: the same files, same bytes" "$r" "rm -rf $work/out" "$work/write_floor unpack $work/pack $work/out"
  floor_ms=$median_ms
  if one_core; then
    # Both sides on the same one core: the goal must hold without parallelism.
    pin="taskset -c 0"
    measure "render --all --out, one core" "$r" "rm -rf $work/out" "$bin --project $project render --all --out $work/out"
    render_one_ms=$median_ms
    measure "write floor, one core" "$r" "rm -rf $work/out" "$work/write_floor unpack $work/pack $work/out"
    floor_one_ms=$median_ms
    pin=""
  fi
  measure "render --all to stdout" "$r" "" "$bin --project $project render --all"
  awk -v a="$render_ms" -v b="$floor_ms" 'BEGIN { printf "  render --out / write floor: %.2f×\n", a / b }'
  if one_core; then
    awk -v a="$render_one_ms" -v b="$floor_one_ms" 'BEGIN { printf "  render --out / write floor, one core: %.2f×\n", a / b }'
  fi
  rm -rf "$work/out"
  echo "  peak memory: render --all --out $(( $(peak_kib "$bin" --project "$project" render --all --out "$work/out") / 1024 )) MiB," \
    "render --all to stdout $(( $(peak_kib "$bin" --project "$project" render --all) / 1024 )) MiB," \
    "validate --all $(( $(peak_kib "$bin" --project "$project" validate --all) / 1024 )) MiB"
  rm -rf "$work/out" "$work/pack" "$project"
done
